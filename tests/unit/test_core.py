"""The engine's foundations without HTTP: clock, stores, timeline and outbox."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from mockserver.app import _payload_check, create_app
from mockserver.core.clock import DEFAULT_EPOCH, ManualClock, ScaledClock, iso
from mockserver.core.outbox import COLLECTION, Answer, CallIndex, Outbox, Outgoing, RetryRule
from mockserver.core.store import MemoryStore, SQLiteStore, StateStore, open_store
from mockserver.core.timeline import Timeline, UnknownJobKind
from mockserver.settings import Settings


class Scripted:
    """A transport that answers from a script and records what it was asked to send."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.sent: list[Outgoing] = []

    async def send(self, outgoing: Outgoing) -> Answer:
        self.sent.append(outgoing)
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def test_iso_is_utc_with_milliseconds_like_the_vendors() -> None:
    assert iso(DEFAULT_EPOCH + timedelta(microseconds=123456)) == "2026-01-05T09:00:00.123Z"


def test_manual_clock_moves_only_forward_and_only_when_told() -> None:
    clock = ManualClock()
    assert clock.now() == DEFAULT_EPOCH
    assert clock.advance(90) == DEFAULT_EPOCH + timedelta(seconds=90)
    with pytest.raises(ValueError, match="only moves forward"):
        clock.advance(-1)


def test_scaled_clock_runs_faster_than_real_time() -> None:
    clock = ScaledClock(start=DEFAULT_EPOCH, scale=3600)
    later = clock.now() + timedelta(seconds=60)
    assert clock.seconds_until(later) <= 60 / 3600
    clock.advance(60)
    assert clock.now() >= later


@pytest.fixture(params=["memory", "sqlite"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], StateStore]:
    if request.param == "memory":
        shared = MemoryStore()
        return lambda: shared
    return lambda: SQLiteStore(tmp_path / "state.sqlite")


def test_stores_keep_documents_and_sequences(make_store: Callable[[], StateStore]) -> None:
    store = make_store()
    store.put("calls", "1", {"callID": 1, "state": "queued"})
    assert store.next_id("call") == 1 and store.next_id("call") == 2
    reopened = make_store()
    assert reopened.get("calls", "1") == {"callID": 1, "state": "queued"}
    assert reopened.next_id("call") == 3
    assert reopened.delete("calls", "1") and not reopened.delete("calls", "1")
    assert reopened.count("calls") == 0


def test_open_store_reads_the_state_flag(tmp_path: Path) -> None:
    assert isinstance(open_store("memory"), MemoryStore)
    assert isinstance(open_store(f"sqlite:{tmp_path}/s.db"), SQLiteStore)
    with pytest.raises(ValueError, match="'memory', 'sqlite:PATH' or 'redis://HOST:PORT/DB', not 'foo://x'"):
        open_store("foo://x")


def test_timeline_runs_jobs_in_due_order_each_at_its_own_time() -> None:
    clock = ManualClock()
    timeline = Timeline(clock, MemoryStore())
    seen: list[tuple[str, str]] = []
    timeline.register("note", lambda args: seen.append((args["name"], iso(clock.now()))))
    timeline.schedule_in(120, "note", {"name": "second"})
    timeline.schedule_in(60, "note", {"name": "first"})
    timeline.schedule_in(600, "note", {"name": "later"})
    assert asyncio.run(timeline.advance(300)) == 2
    assert seen == [("first", "2026-01-05T09:01:00.000Z"), ("second", "2026-01-05T09:02:00.000Z")]
    assert iso(clock.now()) == "2026-01-05T09:05:00.000Z" and timeline.pending() == 1


def test_timeline_refuses_a_kind_no_engine_registered() -> None:
    with pytest.raises(UnknownJobKind, match="no handler registered for job kind 'nope'"):
        Timeline(ManualClock(), MemoryStore()).schedule_in(1, "nope", {})


def test_pending_jobs_and_the_clock_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    first = Timeline(ManualClock(), SQLiteStore(path))
    first.register("note", lambda args: None)
    first.schedule_in(3600, "note", {"name": "after restart"})
    asyncio.run(first.advance(600))

    clock = ManualClock()
    second = Timeline(clock, SQLiteStore(path))
    ran: list[str] = []
    second.register("note", lambda args: ran.append(args["name"]))
    assert iso(clock.now()) == "2026-01-05T09:10:00.000Z", "time goes on from where it stood"
    asyncio.run(second.advance(3000))
    assert ran == ["after restart"]


def _outbox(transport: Scripted, store: StateStore | None = None, **kwargs: Any) -> tuple[Outbox, Timeline]:
    timeline = Timeline(ManualClock(), store or MemoryStore())
    return Outbox(timeline, transport, **kwargs), timeline


TERMINAL_RULE = RetryRule(attempts=3, interval_seconds=60)


def _enqueue(outbox: Outbox, rule: RetryRule = TERMINAL_RULE) -> dict[str, Any]:
    return outbox.enqueue(
        api="ryng",
        callback="terminal",
        outgoing=Outgoing("POST", "http://127.0.0.1:9/t", {"callID": 1}),
        retry=rule,
    )


def test_a_failing_receiver_gets_exactly_the_attempts_the_rule_allows() -> None:
    transport = Scripted(Answer(status=500), Answer(error="connection refused"), Answer(status=503))
    outbox, timeline = _outbox(transport)
    record = _enqueue(outbox)
    asyncio.run(timeline.advance(3600))
    stored = outbox.store.get(COLLECTION, str(record["id"]))
    assert stored is not None and stored["state"] == "failed"
    assert stored["attempts"] == [
        {"at": "2026-01-05T09:00:00.000Z", "status": 500},
        {"at": "2026-01-05T09:01:00.000Z", "error": "connection refused"},
        {"at": "2026-01-05T09:02:00.000Z", "status": 503},
    ]
    assert len(transport.sent) == 3


def test_only_the_success_status_counts_as_received() -> None:
    transport = Scripted(Answer(status=201), Answer(status=200))
    outbox, timeline = _outbox(transport)
    record = _enqueue(outbox)
    asyncio.run(timeline.advance(600))
    stored = outbox.store.get(COLLECTION, str(record["id"]))
    assert stored is not None and stored["state"] == "delivered"
    assert [a.get("status") for a in stored["attempts"]] == [201, 200]


def test_the_outbox_fails_what_its_check_rejects_without_sending_it() -> None:
    transport = Scripted(Answer(status=200))
    outbox, timeline = _outbox(transport, check=lambda record: ["payload.callID: 1 is not of type 'string'"])
    record = _enqueue(outbox)
    asyncio.run(timeline.advance(600))
    assert record["state"] == "failed" and "payload does not match the spec" in record["error"]
    assert transport.sent == []


TERMINAL_CALLBACK = "appendCampaignTerminalCallback"
TERMINAL_PAYLOAD = {
    "callID": 5012,
    "callLogID": 88210,
    "callbackType": "terminal",
    "event": "call-ended",
    "agentID": 31,
    "agentUsername": "meera@example.com",
    "customerNum": "+919845012345",
    "callCreated": "2024-03-04T05:30:00.000Z",
    "callStarted": "2024-03-04T05:31:12.000Z",
    "callDirection": "outbound",
    "talktime": 318,
    "disposition": "Interested",
}


def _spec_checked_outbox(transport: Scripted) -> tuple[Outbox, Timeline]:
    apis = create_app(Settings(clock="manual", apis=("ryng",))).runtime.apis
    return _outbox(transport, check=_payload_check(apis))


def _enqueue_terminal(outbox: Outbox, payload: dict[str, Any]) -> dict[str, Any]:
    return outbox.enqueue(
        api="ryng",
        callback="terminal",
        outgoing=Outgoing("POST", "http://127.0.0.1:9/t", payload),
        retry=TERMINAL_RULE,
        meta={"operationId": TERMINAL_CALLBACK},
    )


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ({**TERMINAL_PAYLOAD, "callID": "5012"}, "payload.callID must be an integer, not '5012'"),
        ({k: v for k, v in TERMINAL_PAYLOAD.items() if k != "callLogID"}, "payload.callLogID is required"),
    ],
)
def test_a_payload_that_breaks_the_spec_never_leaves(payload: dict[str, Any], problem: str) -> None:
    transport = Scripted(Answer(status=200))
    outbox, timeline = _spec_checked_outbox(transport)
    record = _enqueue_terminal(outbox, payload)
    asyncio.run(timeline.advance(600))
    stored = outbox.store.get(COLLECTION, str(record["id"]))
    assert stored is not None and stored["state"] == "failed"
    assert stored["error"] == f"payload does not match the spec: {problem}"
    assert transport.sent == [] and stored["attempts"] == []


def test_a_payload_that_follows_the_spec_is_delivered() -> None:
    transport = Scripted(Answer(status=200))
    outbox, timeline = _spec_checked_outbox(transport)
    record = _enqueue_terminal(outbox, TERMINAL_PAYLOAD)
    asyncio.run(timeline.advance(600))
    stored = outbox.store.get(COLLECTION, str(record["id"]))
    assert stored is not None and stored["state"] == "delivered" and "error" not in stored
    assert [sent.payload for sent in transport.sent] == [TERMINAL_PAYLOAD]


class Killed(BaseException):
    """Stands for kill -9: nothing after it runs, not even an exception handler that catches Exception."""


class DiesWhileSending(Scripted):
    async def send(self, outgoing: Outgoing) -> Answer:
        self.sent.append(outgoing)
        raise Killed


def test_an_attempt_a_kill_interrupted_goes_again_after_the_restart_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    dying = DiesWhileSending(Answer(status=200))
    outbox, timeline = _outbox(dying, SQLiteStore(path))
    record = _enqueue(outbox)
    with pytest.raises(Killed):
        asyncio.run(timeline.advance(0))
    assert len(dying.sent) == 1, "the attempt went out"

    transport = Scripted(Answer(status=200))
    restarted, restarted_timeline = _outbox(transport, SQLiteStore(path))
    assert restarted_timeline.pending() == 1, "the attempt's job was not removed without its outcome"
    asyncio.run(restarted_timeline.advance(0))
    stored = restarted.store.get(COLLECTION, str(record["id"]))
    assert stored is not None and stored["state"] == "delivered" and len(transport.sent) == 1
    assert stored["attempts"] == [{"at": "2026-01-05T09:00:00.000Z", "status": 200, "after_restart": True}]
    assert restarted_timeline.pending() == 0
    # a later restart finds nothing in flight: no attempt is marked again
    _again, again_timeline = _outbox(Scripted(Answer(status=200)), SQLiteStore(path))
    assert again_timeline.pending() == 0


def test_the_call_index_finds_a_calls_deliveries_and_nothing_else() -> None:
    index = CallIndex()
    for delivery_id, call_id in [(1, 7), (2, 8), (3, 7), (5, "abc"), (6, 7), (4, 9)]:
        index.add(delivery_id, call_id)
    assert list(index.ids(7)) == [1, 3, 6]
    assert list(index.ids("7")) == [1, 3, 6], "callIDs compare as text, as the control plane's filters do"
    assert list(index.ids(7, after=3)) == [6]
    assert list(index.ids("abc")) == [5] and list(index.ids(10)) == []
    index.add(3, 8)  # an id given again (after a reset) takes its new call
    assert list(index.ids(7)) == [1, 6] and list(index.ids(8)) == [2, 3]
