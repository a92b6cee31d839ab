"""What the outbox keeps of each answer, and how a refused target ends its delivery (no HTTP here)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from mockserver.core.clock import ManualClock
from mockserver.core.outbox import COLLECTION, Answer, Outbox, Outgoing, RetryRule
from mockserver.core.store import MemoryStore, SQLiteStore, StateStore
from mockserver.core.timeline import Timeline
from tests.unit.test_core import Scripted

RULE = RetryRule(attempts=3, interval_seconds=60)


def run(store: StateStore, *answers: Answer) -> tuple[dict[str, object], Scripted, Timeline]:
    transport = Scripted(*answers)
    timeline = Timeline(ManualClock(), store)
    outbox = Outbox(timeline, transport)
    record = outbox.enqueue(
        api="ryng",
        callback="terminal",
        outgoing=Outgoing("POST", "http://127.0.0.1:9/t", {"callID": 1}),
        retry=RULE,
    )
    asyncio.run(timeline.advance(3600))
    stored = store.get(COLLECTION, str(record["id"]))
    assert stored is not None
    return stored, transport, timeline


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_each_attempt_keeps_status_latency_headers_and_the_start_of_the_body(
    kind: str, tmp_path: Path
) -> None:
    store: StateStore = MemoryStore() if kind == "memory" else SQLiteStore(tmp_path / "state.sqlite")
    busy = Answer(
        status=503, latency_ms=4.5, headers={"retry-after": "60"}, body="x" * 2048, body_truncated=True
    )
    fine = Answer(status=200, latency_ms=1.25, headers={"content-length": "0"}, body="")
    stored, _, _ = run(store, busy, fine)
    assert stored["state"] == "delivered"
    assert stored["attempts"] == [
        {
            "at": "2026-01-05T09:00:00.000Z",
            "status": 503,
            "latency_ms": 4.5,
            "response_headers": {"retry-after": "60"},
            "response_body": "x" * 2048,
            "response_body_truncated": True,
        },
        {
            "at": "2026-01-05T09:01:00.000Z",
            "status": 200,
            "latency_ms": 1.25,
            "response_headers": {"content-length": "0"},
            "response_body": "",
        },
    ]


def test_a_refused_target_fails_its_delivery_at_once_with_the_reason() -> None:
    reason = "cannot deliver to 'ftp://x/': ftp:// is not allowed, only http and https URLs"
    stored, transport, timeline = run(MemoryStore(), Answer(error=reason, final=True))
    assert stored["state"] == "failed" and stored["error"] == reason
    assert stored["attempts"] == [{"at": "2026-01-05T09:00:00.000Z", "error": reason}]
    assert stored["next_attempt_at"] is None
    assert len(transport.sent) == 1 and timeline.next_due() is None


def test_an_ordinary_error_is_still_retried_by_the_rule() -> None:
    stored, transport, _ = run(MemoryStore(), Answer(error="connection refused"))
    assert stored["state"] == "failed" and len(transport.sent) == 3
    assert "error" not in stored, "only a refused target puts its reason on the delivery itself"
