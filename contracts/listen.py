"""A callback and webhook receiver for development (``mockline listen``).

Every request (any method, any path but ``/received``) is labelled by the callback it was registered for -
the operation its path names (``/pushTransactional/connect``), else the callback's name (``/connect``) -
never by the first schema its payload happens to fit; then validated with openapi-core against that
callback, printed readably (valid or not, and why) and recorded.
``GET /received`` lists what arrived (``?event=``, ``?kind=``, ``?api=`` filter it), ``DELETE /received``
forgets it. To watch retries arrive, the first N attempts of each distinct delivery can be answered
with a 500 (``fail_first``) or left hanging past the sender's timeout (``timeout_first``).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from contracts import callbacks, model
from contracts.callbacks import CallbackKind


@dataclass
class ListenOptions:
    specs: list[str] = field(default_factory=list)  # empty: every vendor spec
    fail_first: int = 0  # answer 500 to the first N attempts of each delivery
    timeout_first: int = 0  # then hang past the sender's timeout for the next N attempts
    hang_seconds: float = 15.0
    status: int = 200  # what a received delivery is answered with
    quiet: bool = False


class Recorder:
    """The deliveries received so far, newest last. Safe to read from another thread."""

    def __init__(self) -> None:
        self._entries: list[dict[str, Any]] = []
        self._attempts: dict[str, int] = {}
        self._lock = threading.Lock()

    def add(self, entry: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            entry["id"] = len(self._entries) + 1
            self._entries.append(entry)
        return entry

    def attempt(self, key: str) -> int:
        """Count one more attempt of the delivery ``key``; return its number (1 for the first)."""
        with self._lock:
            self._attempts[key] = self._attempts.get(key, 0) + 1
            return self._attempts[key]

    def entries(self, **filters: Any) -> list[dict[str, Any]]:
        wanted = {k: str(v) for k, v in filters.items() if v is not None}
        with self._lock:
            return [dict(e) for e in self._entries if all(str(e.get(k)) == v for k, v in wanted.items())]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._attempts.clear()


def parse_payload(kind: CallbackKind | None, query: str, media_type: str, body: bytes) -> Any:
    if body:
        text = body.decode("utf-8", "replace")
        if media_type.endswith("json"):
            try:
                return json.loads(text)
            except ValueError:
                return text
        if media_type == "application/x-www-form-urlencoded":
            return model.form_decode(text)
        return text
    return model.form_decode(query) or None


def describe(entry: Mapping[str, Any]) -> str:
    """One delivery as a few readable lines."""
    verdict = "valid" if entry["valid"] else "INVALID"
    kind = f"{entry['api']} {entry['label']}" if entry.get("kind") else "unknown callback"
    lines = [
        f"[{entry['at']}] {entry['method']} {entry['path']} -> {entry['answered']}  {kind} "
        f"(event {entry['event']}, attempt {entry['attempt']}): {verdict}"
    ]
    for problem in entry["problems"]:
        lines.append(f"    why: {problem}")
    payload = entry.get("payload")
    if isinstance(payload, Mapping):
        shown = ", ".join(f"{k}={v!r}" for k, v in list(payload.items())[:8])
        more = f", ... ({len(payload)} fields)" if len(payload) > 8 else ""
        lines.append(f"    {shown}{more}")
    elif payload:
        lines.append(f"    {str(payload)[:200]}")
    return "\n".join(lines)


def create_listener(
    options: ListenOptions | None = None,
    *,
    recorder: Recorder | None = None,
    out: TextIO | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Starlette:
    """The receiver as an ASGI app; ``app.state.recorder`` holds what it received."""
    options = options or ListenOptions()
    recorder = recorder or Recorder()
    candidates = callbacks.all_kinds(options.specs or None)
    now = clock or (lambda: datetime.now(UTC))

    async def received(request: Request) -> Response:
        if request.method == "DELETE":
            recorder.clear()
            return JSONResponse({"cleared": True})
        q = request.query_params
        found = recorder.entries(event=q.get("event"), kind=q.get("kind"), api=q.get("api"))
        return JSONResponse({"received": found})

    async def receive(request: Request) -> Response:
        body = await request.body()
        query = request.url.query
        headers = {k.lower(): v for k, v in request.headers.items()}
        media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        found, problems = callbacks.classify(
            candidates, request.method, request.url.path, query, headers, body or None
        )
        kind = found[0] if found else None
        payload = parse_payload(kind, query, media_type, body)
        key = hashlib.sha256(f"{request.method} {request.url.path}?{query}\n".encode() + body).hexdigest()
        attempt = recorder.attempt(key)
        answered = options.status
        if attempt <= options.fail_first:
            answered = 500
        elif attempt <= options.fail_first + options.timeout_first:
            answered = 0  # hangs
        entry = recorder.add(
            {
                "at": now().isoformat(timespec="seconds"),
                "method": request.method,
                "path": request.url.path,
                "query": query,
                "headers": {
                    k: v for k, v in headers.items() if k not in {"host", "content-length", "connection"}
                },
                "api": kind.api if kind else None,
                "kind": kind.operation_id if kind else None,
                "callback": kind.name if kind else None,
                "registered_by": sorted({k.source for k in found if k.source}),
                "label": callbacks.label(found),
                "event": kind.event_of(payload) if kind else None,
                "payload": payload,
                "valid": kind is not None and not problems,
                "problems": problems,
                "attempt": attempt,
                "answered": answered or f"no answer for {options.hang_seconds:g} s",
            }
        )
        if not options.quiet:
            print(describe(entry), file=out or sys.stdout, flush=True)
        if answered == 0:
            await asyncio.sleep(options.hang_seconds)
            return Response(status_code=504)
        if answered == 500:
            return JSONResponse(
                {"error": "mockline listen: failing this attempt on purpose"}, status_code=500
            )
        return JSONResponse(
            {"received": True, "id": entry["id"], "valid": entry["valid"]}, status_code=answered
        )

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    app = Starlette(
        routes=[
            Route("/received", received, methods=["GET", "DELETE"]),
            Route("/{path:path}", receive, methods=methods),
        ]
    )
    app.state.recorder = recorder
    return app
