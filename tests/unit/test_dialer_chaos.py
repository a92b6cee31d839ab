"""Chaos for callback receivers: duplicates, extra delay and reordering, off unless configured."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from mockserver.core.clock import ManualClock
from mockserver.core.outbox import Answer, Chaos, Outbox, Outgoing, RetryRule
from mockserver.core.store import MemoryStore
from mockserver.core.timeline import Timeline
from mockserver.runtime import chaos_from
from mockserver.settings import Settings


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[float, Any]] = []
        self.clock: ManualClock | None = None

    async def send(self, outgoing: Outgoing) -> Answer:
        assert self.clock is not None
        self.sent.append((self.clock.now().timestamp(), outgoing.payload["n"]))
        return Answer(status=200)


def outbox(chaos: Chaos, seed: int = 1) -> tuple[Outbox, Timeline, Recorder]:
    clock = ManualClock()
    timeline = Timeline(clock, MemoryStore())
    recorder = Recorder()
    recorder.clock = clock
    return Outbox(timeline, recorder, chaos=chaos, rng=random.Random(seed)), timeline, recorder


def send(box: Outbox, n: int, url: str = "http://127.0.0.1:9/hook") -> None:
    box.enqueue(api="ryng", callback="terminal", outgoing=Outgoing("POST", url, {"n": n}), retry=RetryRule())


def test_chaos_is_off_by_default_and_leaves_no_trace() -> None:
    assert chaos_from(Settings())[0].enabled is False
    box, timeline, recorder = outbox(Chaos())
    for n in range(5):
        send(box, n)
    asyncio.run(timeline.advance(0))
    assert [n for _, n in recorder.sent] == [0, 1, 2, 3, 4]
    assert all("chaos" not in d and "duplicate_of" not in d for d in box.deliveries())


def test_duplicates_go_twice_and_say_so() -> None:
    box, timeline, recorder = outbox(Chaos(duplicate_rate=1.0))
    send(box, 7)
    asyncio.run(timeline.advance(0))
    first, twin = box.deliveries()
    assert twin["duplicate_of"] == first["id"] and twin["chaos"] == [f"duplicate of {first['id']}"]
    assert [n for _, n in recorder.sent] == [7, 7]
    assert {d["state"] for d in box.deliveries()} == {"delivered"}


def test_extra_delay_is_between_one_second_and_the_maximum() -> None:
    box, timeline, recorder = outbox(Chaos(delay_rate=1.0, max_delay_seconds=20))
    start = timeline.clock.now().timestamp()
    for n in range(10):
        send(box, n)
    asyncio.run(timeline.advance(0.5))
    assert recorder.sent == []
    asyncio.run(timeline.advance(30))
    assert len(recorder.sent) == 10
    assert all(1.0 <= at - start <= 20.0 for at, _ in recorder.sent)
    assert all(d["chaos"][0].startswith("delayed ") for d in box.deliveries())


def test_reordering_holds_a_delivery_back_until_after_the_next_one() -> None:
    box, timeline, recorder = outbox(Chaos(reorder_rate=1.0, max_delay_seconds=30))
    send(box, 1)
    box.chaos.reorder_rate = 0.0
    send(box, 2)
    send(box, 3, url="http://127.0.0.1:9/other")  # another receiver is not affected
    asyncio.run(timeline.advance(1))
    order = [n for _, n in recorder.sent]
    assert sorted(order) == [1, 2, 3] and order.index(2) < order.index(1)


def test_a_held_delivery_goes_anyway_after_the_maximum_delay() -> None:
    box, timeline, recorder = outbox(Chaos(reorder_rate=1.0, max_delay_seconds=15))
    send(box, 1)
    asyncio.run(timeline.advance(14))
    assert recorder.sent == []
    asyncio.run(timeline.advance(2))
    assert [n for _, n in recorder.sent] == [1]


def test_the_same_seed_gives_the_same_chaos() -> None:
    def run(seed: int) -> list[Any]:
        box, timeline, recorder = outbox(Chaos(duplicate_rate=0.3, delay_rate=0.3, reorder_rate=0.3), seed)
        for n in range(30):
            send(box, n)
        asyncio.run(timeline.advance(120))
        return recorder.sent

    assert run(5) == run(5)
    assert run(5) != run(6)


def test_chaos_comes_from_the_config_file_and_refuses_bad_rates() -> None:
    chaos, _ = chaos_from(Settings(config={"chaos": {"duplicate_rate": 0.1, "max_delay_seconds": 5}}))
    assert (chaos.duplicate_rate, chaos.max_delay_seconds, chaos.enabled) == (0.1, 5.0, True)
    with pytest.raises(ValueError, match="between 0 and 1"):
        Chaos(reorder_rate=1.5)
