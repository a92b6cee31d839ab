"""The Diyalog queue engine without HTTP: routing, pick-up over the clock, withdrawals, token checks."""

from __future__ import annotations

import asyncio

import pytest

from mockserver.core.clock import ManualClock
from mockserver.core.fakes import Fakes
from mockserver.core.queue import (
    Conflict,
    Defaults,
    NotFound,
    QueueEngine,
    QueueError,
    Verdicts,
    routing_of,
)
from mockserver.core.store import MemoryStore
from mockserver.core.timeline import Timeline


def say(key: str, **values: object) -> str:
    """Stands in for diyalog.yaml's messages (what the handler hands in): the key and its values."""
    return f"{key} {sorted(values.items())}" if values else key


# Stand in for what diyalog.yaml's examples show and its verdict words (what the handler hands in).
DEFAULTS = Defaults(
    agents=("123456", "654321"),
    device_tokens=({"dlgToken": "dlg.t", "deviceId": "d", "customerNo": "c", "deviceHash": "h"},),
    session_token={"sessionId": "s", "token": "k", "userNo": "u"},
    first_interaction=2121212121212,
)
VERDICTS = Verdicts("Validated", "InvalidToken", "ExpiredToken", "InvalidDeviceId")


def build(config: dict[str, object] | None = None) -> tuple[QueueEngine, Timeline]:
    clock = ManualClock()
    store = MemoryStore()
    timeline = Timeline(clock, store)
    engine = QueueEngine(
        clock=clock,
        store=store,
        timeline=timeline,
        make_fakes=lambda: Fakes(1, "tr_TR"),
        config=config or {},
        say=say,
        defaults=DEFAULTS,
        verdicts=VERDICTS,
    )
    engine.reset()
    return engine, timeline


def test_routing_reads_both_published_attached_data_shapes() -> None:
    assert routing_of([{"TRX": "Diyalog"}, {"PrimaryProjectManagerId": "1"}]) == {
        "TRX": "Diyalog",
        "PrimaryProjectManagerId": "1",
    }
    assert routing_of({"TRX": "x"}) == {"TRX": "x"}
    assert routing_of(None) == {}


def test_agents_take_interactions_in_order_and_taken_ones_cannot_be_withdrawn() -> None:
    engine, timeline = build({"agents": 1, "pickup_seconds": 5, "handle_seconds": 50})
    first = engine.create({"customerId": "1"})["interactionId"]
    second = engine.create({"customerId": "2"})["interactionId"]
    assert engine.interaction(second)["state"] == "queued"
    asyncio.run(timeline.advance(5))
    assert engine.interaction(first)["state"] == "with_agent"
    with pytest.raises(Conflict):
        engine.withdraw(first)
    asyncio.run(timeline.advance(50))
    assert engine.interaction(first)["state"] == "completed"
    assert engine.interaction(second)["state"] == "offered"
    engine.withdraw(second)
    asyncio.run(timeline.advance(5))
    assert engine.interaction(second)["state"] == "withdrawn"
    assert engine.agents()[0]["state"] == "idle"
    with pytest.raises(NotFound):
        engine.withdraw("nope")


def test_token_verdicts_and_documents() -> None:
    engine, _ = build(
        {"device_tokens": [{"dlgToken": "t", "deviceId": "d", "customerNo": "c", "valid_seconds": 10}]}
    )
    body = {"dlgToken": "t", "deviceId": "d", "customerNo": "c", "deviceHash": "h"}
    assert engine.check_device_token(body) == "Validated"
    assert engine.check_device_token({**body, "deviceId": "x"}) == "InvalidDeviceId"
    engine.clock.advance(10)
    assert engine.check_device_token(body) == "ExpiredToken"
    assert engine.check_session_token("s", "unknown", "u") == "session_token_invalid"
    stored = engine.store_document({"fileName": "a.txt", "base64FileContent": "aGk="})
    assert stored["size"] == 2 and engine.document(stored["documentId"])["fileName"] == "a.txt"
    with pytest.raises(QueueError):
        engine.store_document({"fileName": "a.txt", "base64FileContent": "*"})
