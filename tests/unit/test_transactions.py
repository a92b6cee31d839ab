"""The store's unit of work, and the timeline's atomic steps built on it (no HTTP)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mockserver.core.clock import ManualClock
from mockserver.core.store import MemoryStore, SQLiteStore, StateStore, TransactionError
from mockserver.core.timeline import Timeline


class Boom(Exception):
    pass


@pytest.fixture(params=["memory", "sqlite"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], StateStore]:
    if request.param == "memory":
        shared = MemoryStore()
        return lambda: shared
    return lambda: SQLiteStore(tmp_path / "state.sqlite")


def test_a_transaction_commits_every_write_together(make_store: Callable[[], StateStore]) -> None:
    store = make_store()
    with store.transaction():
        store.put("calls", "1", {"state": "dialing"})
        with store.transaction():  # an inner block joins the outer one
            store.put("jobs", "7", {"seq": 7})
        assert store.next_id("call") == 1
    reopened = make_store()
    assert reopened.get("calls", "1") == {"state": "dialing"}
    assert reopened.get("jobs", "7") == {"seq": 7}
    assert reopened.last_id("call") == 1


def test_a_failed_transaction_leaves_nothing_behind(make_store: Callable[[], StateStore]) -> None:
    store = make_store()
    store.put("calls", "1", {"state": "waiting"})
    store.put("jobs", "1", {"seq": 1})
    store.next_id("call")
    with pytest.raises(Boom), store.transaction():
        store.delete("jobs", "1")
        store.put("calls", "1", {"state": "dialing"})
        store.put("calls", "2", {"state": "waiting"})
        assert store.next_id("call") == 2
        with store.transaction():
            store.put("calls", "3", {"state": "waiting"})
        raise Boom
    for seen in (store, make_store()):
        assert seen.get("jobs", "1") == {"seq": 1}
        assert seen.get("calls", "1") == {"state": "waiting"}
        assert seen.get("calls", "2") is None and seen.get("calls", "3") is None
        assert seen.last_id("call") == 1
        assert seen.last_id("other") == 0


def test_a_cleared_store_comes_back_when_the_clear_is_rolled_back(
    make_store: Callable[[], StateStore],
) -> None:
    store = make_store()
    store.put("calls", "1", {"state": "waiting"})
    with pytest.raises(Boom), store.transaction():
        store.clear()
        store.put("calls", "9", {"state": "new"})
        raise Boom
    assert store.get("calls", "1") == {"state": "waiting"} and store.get("calls", "9") is None


def test_a_transaction_cannot_span_an_await_of_another_task() -> None:
    store = MemoryStore()

    async def main() -> None:
        opened = asyncio.Event()
        release = asyncio.Event()

        async def holder() -> None:
            with store.transaction():
                opened.set()
                await release.wait()

        task = asyncio.create_task(holder())
        await opened.wait()
        with pytest.raises(TransactionError), store.transaction():
            pass
        release.set()
        await task
        with store.transaction():  # free again
            store.put("a", "1", {})

    asyncio.run(main())


def test_a_step_that_fails_keeps_its_job_and_none_of_its_writes(make_store: Callable[[], StateStore]) -> None:
    store = make_store()
    timeline = Timeline(ManualClock(), store)
    calls: list[dict[str, Any]] = []

    def step(args: dict[str, Any]) -> None:
        store.put("calls", "1", {"state": "dialing"})
        timeline.schedule_in(5, "step", {"n": 2})
        calls.append(args)
        if args["n"] == 1:
            raise Boom

    timeline.register("step", step)
    timeline.schedule_in(1, "step", {"n": 1})
    with pytest.raises(Boom):
        asyncio.run(timeline.advance(10))
    assert calls == [{"n": 1}]
    assert store.get("calls", "1") is None
    jobs = list(store.values("jobs"))
    assert [j["args"] for j in jobs] == [{"n": 1}], "the job is still there, and nothing it scheduled"
    # after a restart (a fresh timeline over the same state) the step runs again, wholly
    again = Timeline(ManualClock(), make_store())
    again.register("step", lambda args: calls.append(args))
    asyncio.run(again.advance(10))
    assert calls == [{"n": 1}, {"n": 1}] and again.pending() == 0


def test_a_waiting_job_commits_its_effects_with_its_removal(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "state.sqlite")
    timeline = Timeline(ManualClock(), store)
    seen: list[dict[str, Any]] = []

    async def wait_then(args: dict[str, Any]) -> Callable[[], None]:
        seen.append(args)
        # while it waits, the job is still stored, claimed by this timeline (committed: a kill now
        # leaves it to run again)
        job = SQLiteStore(tmp_path / "state.sqlite").get("jobs", "1")
        assert job is not None and job["claim"]["by"] == timeline.owner
        await asyncio.sleep(0)
        return lambda: store.put("results", "1", {"done": True})

    timeline.register("wait", wait_then, concurrent=True)
    timeline.schedule_in(0, "wait", {"x": 1})
    asyncio.run(timeline.advance(1))
    reopened = SQLiteStore(tmp_path / "state.sqlite")
    assert reopened.get("results", "1") == {"done": True}
    assert reopened.get("jobs", "1") is None
    assert seen == [{"x": 1}]
