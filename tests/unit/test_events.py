"""The event bus: bounded queues that drop the oldest, store writes seen only while someone listens;
and the access log's lines."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import orjson

from mockserver.accesslog import AccessLog
from mockserver.core.events import EventBus
from mockserver.core.store import MemoryStore
from mockserver.sse import frame, summary


def test_a_full_queue_drops_its_oldest_events_and_counts_them() -> None:
    bus = EventBus(queue_size=3)
    sub = bus.subscribe()
    for n in range(5):
        bus.publish("clock", {"n": n})
    events, dropped = sub.drain()
    assert [d["n"] for _, d in events] == [2, 3, 4]
    assert dropped == 2
    assert sub.drain() == ([], 0)


def test_a_subscription_gets_only_the_kinds_it_asked_for() -> None:
    bus = EventBus()
    calls = bus.subscribe(["call"])
    everything = bus.subscribe()
    bus.publish("request", {"id": 1})
    bus.publish("call", {"callID": 1})
    assert [k for k, _ in calls.drain()[0]] == ["call"]
    assert [k for k, _ in everything.drain()[0]] == ["request", "call"]


def test_store_writes_are_watched_only_while_someone_subscribes() -> None:
    bus = EventBus()
    store = MemoryStore()
    bus.watch_store(store)
    assert "put" not in vars(store)  # nobody listens: the store's own method, untouched
    sub = bus.subscribe()
    store.put("ryng:calls", "1", {"callID": 1, "state": "waiting"})
    store.put("unwatched", "1", {"x": 1})
    store.put("deliveries", "4", {"id": 4, "state": "pending"})
    assert [k for k, _ in sub.drain()[0]] == ["call", "delivery"]
    assert store.get("unwatched", "1") == {"x": 1}
    bus.unsubscribe(sub)
    assert "put" not in vars(store)
    store.put("ryng:calls", "2", {"callID": 2})
    assert store.get("ryng:calls", "2") == {"callID": 2}


def test_summaries_read_records_defensively() -> None:
    assert summary("delivery", {"id": 3}) == {
        "id": 3,
        "api": None,
        "callback": None,
        "event": None,
        "callID": None,
        "state": None,
        "attempts": 0,
        "status": None,
    }
    assert summary("delivery", {"id": 3, "attempts": [{"at": "x"}, {"status": 502}]})["status"] == 502
    assert summary("call", None) == {}
    text = frame([("call", {"callID": 1, "state": "waiting"})], dropped=4).decode()
    assert text.startswith('event: dropped\ndata: {"dropped":4}\n\n')
    assert 'event: call\ndata: {"callID":1,"state":"waiting","number":null}\n\n' in text


ENTRY = {
    "at": datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
    "method": "POST",
    "path": "/ryng/x",
    "query": "a=1",
    "status": 400,
    "operationId": "pushTransactional",
    "validation_errors": ("body.agents: is required", "body.x: bad"),
}


def test_the_access_log_says_one_line_per_request_in_text_and_json() -> None:
    out = io.StringIO()
    log = AccessLog("text", out)
    log.write(ENTRY, 0.00123)
    log.write({**ENTRY, "operationId": None, "validation_errors": ()}, 0.0)
    log.flush()
    lines = out.getvalue().splitlines()
    assert lines[0] == "2026-01-05T09:00:00.000Z POST /ryng/x?a=1 400 pushTransactional 1.23ms errors=2"
    assert lines[1].endswith(" - 0.00ms errors=0")
    out = io.StringIO()
    log = AccessLog("json", out)
    log.write(ENTRY, 0.5)
    log.flush()
    assert orjson.loads(out.getvalue()) == {
        "at": "2026-01-05T09:00:00.000Z",
        "method": "POST",
        "path": "/ryng/x?a=1",
        "status": 400,
        "operationId": "pushTransactional",
        "duration_ms": 500.0,
        "validation_errors": 2,
    }


def test_an_attempt_shows_what_the_sender_recorded_and_nothing_it_did_not() -> None:
    from mockserver.dashboard.pages import attempt_view

    full = attempt_view(
        {
            "at": "2026-01-05T09:00:00.000Z",
            "status": 502,
            "latency_ms": 12.5,
            "response_headers": {"content-type": "text/plain"},
            "response_body": "bad gateway",
            "response_body_truncated": True,
        },
        (200,),
    )
    assert full["ok"] is False and full["latency"] == 12.5 and full["excerpt"] == "bad gateway"
    assert full["headers"] == {"content-type": "text/plain"} and full["truncated"] is True
    bare = attempt_view({"at": "2026-01-05T09:00:00.000Z", "status": 200}, (200,))
    assert bare["ok"] is True
    assert (bare["latency"], bare["excerpt"], bare["headers"], bare["truncated"]) == (None, None, None, False)
    failed = attempt_view({"at": "x", "error": "connection refused"}, (200,))
    assert failed["ok"] is False and failed["status"] is None and failed["error"] == "connection refused"


def test_the_access_log_formats_each_instant_as_the_clock_does() -> None:
    from datetime import timedelta

    from mockserver.core.clock import iso

    log = AccessLog("text", io.StringIO())
    start = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    moments = [
        start,
        start,
        start + timedelta(microseconds=999_999),
        start + timedelta(seconds=61, microseconds=5_000),
    ]
    moments += [start - timedelta(microseconds=1), start + timedelta(days=400, milliseconds=7)]
    assert [log.line({**ENTRY, "at": m}, 0).split(" ")[0] for m in moments] == [iso(m) for m in moments]
