"""The event bus (``core/events.py``) as Server-Sent Events: ``GET /__admin/events`` and the dashboard.

A stream subscribes to the bus, then wakes at most ``FLUSHES_PER_SECOND`` times a second, turns what was
queued into small JSON summaries (ids and states, never whole records) and writes them in one chunk.
The request path only ever appends to the queue; all the formatting happens here, batched.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from starlette.types import Receive, Send

from mockserver import jsonbody
from mockserver.core.clock import iso
from mockserver.core.events import KINDS, Event, EventBus

FLUSHES_PER_SECOND = 10
HEARTBEAT_SECONDS = 15.0
MEDIA_TYPE = "text/event-stream"


def summary(kind: str, data: Any, when: Callable[[datetime], str] = iso) -> dict[str, Any]:
    """What a stream says about one event. Records are read defensively: fields may be missing.
    ``when`` writes a request's time (``frame`` passes one that remembers the last it wrote)."""
    if not isinstance(data, dict) and not isinstance(data, Mapping):  # a dict, nearly always: no ABC check
        return {}
    if kind == "request":
        at = data.get("at")
        return {
            "id": data.get("id"),
            "at": when(at) if isinstance(at, datetime) else at,
            "api": data.get("api"),
            "method": data.get("method"),
            "path": data.get("path"),
            "status": data.get("status"),
            "operationId": data.get("operationId"),
            "errors": len(data.get("validation_errors") or ()),
        }
    if kind == "delivery":
        attempts = data.get("attempts") or []
        last = attempts[-1] if attempts and isinstance(attempts[-1], Mapping) else {}
        return {
            "id": data.get("id"),
            "api": data.get("api"),
            "callback": data.get("callback"),
            "event": data.get("event"),
            "callID": data.get("callID"),
            "state": data.get("state"),
            "attempts": len(attempts),
            "status": last.get("status"),
        }
    if kind == "call":
        return {"callID": data.get("callID"), "state": data.get("state"), "number": data.get("number")}
    if kind == "agent":
        return {
            "client_id": data.get("client_id"),
            "agent_type": data.get("agent_type"),
            "agent_id": data.get("agent_id"),
            "status": data.get("status"),
        }
    return dict(data)  # clock: already a small summary


def frame(events: Iterable[Event], dropped: int) -> bytes:
    parts: list[bytes] = []
    if dropped:
        parts.append(b"event: dropped\ndata: " + jsonbody.encode({"dropped": dropped}) + b"\n\n")
    when = _remembering(iso)  # the requests of one instant of a manual clock share one text
    heads = _HEADS
    for kind, data in events:
        head = heads.get(kind) or b"event: " + kind.encode() + b"\ndata: "
        parts.append(head + jsonbody.encode(summary(kind, data, when)) + b"\n\n")
    return b"".join(parts)


_HEADS = {kind: b"event: " + kind.encode() + b"\ndata: " for kind in KINDS}


def _remembering(write: Callable[[datetime], str]) -> Callable[[datetime], str]:
    """``write``, remembering the last moment it was given (a manual clock hands out one object per
    instant)."""
    last: datetime | None = None
    text = ""

    def written(moment: datetime) -> str:
        nonlocal last, text
        if moment is not last:
            last, text = moment, write(moment)
        return text

    return written


class EventStream:
    """A reply body that streams: the middleware hands it ``send`` and ``receive`` instead of encoding it."""

    media_type = MEDIA_TYPE

    def __init__(self, bus: EventBus, kinds: Iterable[str] | None = None) -> None:
        self.bus = bus
        self.kinds = list(kinds) if kinds else None

    async def respond(self, status: int, send: Send, receive: Receive) -> None:
        headers = [
            (b"content-type", MEDIA_TYPE.encode()),
            (b"cache-control", b"no-cache"),
            (b"x-accel-buffering", b"no"),
        ]
        subscription = self.bus.subscribe(self.kinds)
        gone = asyncio.Event()

        async def watch() -> None:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    gone.set()
                    return

        watcher = asyncio.create_task(watch())
        try:
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send(
                {"type": "http.response.body", "body": b"retry: 2000\n: connected\n\n", "more_body": True}
            )
            idle = 0.0
            while not gone.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(subscription.ready.wait(), timeout=1.0)
                if gone.is_set():
                    break
                events, dropped = subscription.drain()
                if events or dropped:
                    idle = 0.0
                    chunk = frame(events, dropped)
                else:
                    idle += 1.0
                    if idle < HEARTBEAT_SECONDS:
                        continue
                    idle, chunk = 0.0, b": keep-alive\n\n"
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await asyncio.sleep(1 / FLUSHES_PER_SECOND)  # what arrives meanwhile goes in the next chunk
        except OSError:
            pass  # the client went away mid-write
        finally:
            self.bus.unsubscribe(subscription)
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await watcher
