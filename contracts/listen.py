"""A callback and webhook receiver for development (``mockline listen``).

Every request (any method, any path but ``/received``) is labelled by the callback it was registered for -
the operation its path names (``/pushTransactional/connect``), else the callback's name (``/connect``) -
never by the first schema its payload happens to fit; then validated with openapi-core against that
callback, printed readably (valid or not, and why) and recorded.
``GET /received`` lists what arrived (``?event=``, ``?kind=``, ``?api=`` filter it), ``DELETE /received``
forgets it. To watch retries arrive, the first N attempts of each distinct delivery can be answered
with a 500 (``fail_first``) or left hanging past the sender's timeout (``timeout_first``).

Whatever arrives is answered and recorded, never with a 500 of its own: a body that is not JSON, not UTF-8,
nested past 64 levels or holding NaN, an unknown content-encoding (gzip and deflate are decoded), a
method no callback uses. Memory is bounded: a body past ``max_body_bytes`` is answered 413 unread, and the
newest ``max_received`` deliveries (and at most ``max_held_bytes`` of what they were sent) are kept, the
oldest dropped and counted.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
import threading
import zlib
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, request_response

from contracts import callbacks, model
from contracts.callbacks import CallbackKind

MAX_RECEIVED = 10_000  # deliveries kept; the oldest are dropped past it
MAX_BODY_BYTES = 1 << 20  # a body past this is answered 413 and not read
MAX_HELD_BYTES = 64 << 20  # what the deliveries kept were sent (bodies, queries, headers), together
MAX_DEPTH = 64  # JSON nesting read (the mock refuses a body nested deeper, too)
CLIP = 300  # characters of a problem or a payload value kept for a person to read


@dataclass
class ListenOptions:
    specs: list[str] = field(default_factory=list)  # empty: every vendor spec
    fail_first: int = 0  # answer 500 to the first N attempts of each delivery
    timeout_first: int = 0  # then hang past the sender's timeout for the next N attempts
    hang_seconds: float = 15.0
    status: int = 200  # what a received delivery is answered with
    quiet: bool = False
    max_received: int = MAX_RECEIVED
    max_body_bytes: int = MAX_BODY_BYTES
    max_held_bytes: int = MAX_HELD_BYTES


class Recorder:
    """The newest deliveries received, oldest first: at most ``max_entries`` of them, and at most
    ``max_bytes`` of what they were sent (bodies, query strings and headers) together, the newest always
    kept; older ones are dropped and counted in ``dropped``. Safe to read from another thread."""

    def __init__(self, max_entries: int = MAX_RECEIVED, max_bytes: int = MAX_HELD_BYTES) -> None:
        self.max_entries = max(1, max_entries)
        self.max_bytes = max_bytes
        self.dropped = 0
        self._entries: deque[dict[str, Any]] = deque()
        self._sizes: deque[int] = deque()  # what each entry holds of what was sent, in bytes
        self._held = 0
        self._next_id = 1
        self._attempts: OrderedDict[str, int] = OrderedDict()  # the newest deliveries' attempt counts
        self._lock = threading.Lock()

    def add(self, entry: dict[str, Any], size: int) -> dict[str, Any]:
        """Keep ``entry``, which holds about ``size`` bytes of what was sent."""
        held = size
        with self._lock:
            entry["id"] = self._next_id
            self._next_id += 1
            self._entries.append(entry)
            self._sizes.append(held)
            self._held += held
            while len(self._entries) > self.max_entries or (
                self._held > self.max_bytes and len(self._entries) > 1
            ):
                self._entries.popleft()
                self._held -= self._sizes.popleft()
                self.dropped += 1
        return entry

    def attempt(self, key: str) -> int:
        """Count one more attempt of the delivery ``key``; return its number (1 for the first). The counts
        of as many distinct deliveries as are kept are remembered, the least recently attempted forgotten."""
        with self._lock:
            self._attempts[key] = self._attempts.pop(key, 0) + 1
            while len(self._attempts) > self.max_entries:
                self._attempts.popitem(last=False)
            return self._attempts[key]

    def entries(self, **filters: Any) -> list[dict[str, Any]]:
        """Copies of the entries kept, oldest first; a filter matches its field as text, and ``kind``
        matches any callback the delivery could be (``kinds``) when its URL left the choice open."""
        wanted = {k: str(v) for k, v in filters.items() if v is not None}

        def matches(entry: Mapping[str, Any], key: str, value: str) -> bool:
            if key == "kind" and value in (entry.get("kinds") or []):
                return True
            return str(entry.get(key)) == value

        with self._lock:
            return [dict(e) for e in self._entries if all(matches(e, k, v) for k, v in wanted.items())]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._sizes.clear()
            self._attempts.clear()
            self._held = 0
            self._next_id = 1
            self.dropped = 0


def clip(text: str, limit: int = CLIP) -> str:
    """``text`` cut at ``limit`` characters, saying how long it was."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


async def read_body(request: Request, limit: int) -> tuple[bytes, str | None, bool]:
    """The body, or why it was not read whole, and whether that is for its size (more than ``limit``
    bytes, announced or arriving; else the sender hung up before its end)."""
    refusal = f"the body is more than {limit} bytes; mockline listen reads at most {limit} (--max-body-bytes)"
    announced = request.headers.get("content-length", "")
    if announced.isdigit() and int(announced) > limit:
        return b"", refusal, True
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                return b"", refusal, True
            chunks.append(chunk)
    except ClientDisconnect:
        return b"", f"the sender closed the connection after {size} bytes of the body, before its end", False
    return b"".join(chunks), None, False


def decode_body(body: bytes, encoding: str, limit: int) -> tuple[bytes, str | None, bool]:
    """The body with its content-encoding undone (gzip, deflate), never inflated past ``limit``; else
    why it cannot be read, and whether that is for its size."""
    codings = [c.strip().lower() for c in encoding.split(",") if c.strip()] if body else []
    for coding in reversed(codings):  # the last applied is the first undone
        if coding == "identity":
            continue
        if coding not in {"gzip", "x-gzip", "deflate"}:
            return (
                body,
                f"content-encoding {coding} is not one mockline listen decodes (gzip, deflate)",
                False,
            )
        try:  # deflate is zlib-wrapped (RFC 9110), though some senders send it raw
            inflater = zlib.decompressobj(31 if "gzip" in coding else 15)
            out = inflater.decompress(body, limit + 1)
        except zlib.error as exc:
            try:
                if "gzip" in coding:
                    raise
                inflater = zlib.decompressobj(-15)
                out = inflater.decompress(body, limit + 1)
            except zlib.error:
                return body, f"the body is not valid {coding}: {exc}", False
        if len(out) > limit:
            return (
                b"",
                f"the body inflates to more than {limit} bytes; mockline listen reads at most {limit}",
                True,
            )
        if not inflater.eof:
            return body, f"the body is not valid {coding}: it ends before its last block", False
        body = out
    return body, None, False


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        current, level = stack.pop()
        if isinstance(current, (dict, list)):
            deepest = max(deepest, level)
            if level <= MAX_DEPTH:
                stack += [
                    (v, level + 1) for v in (current.values() if isinstance(current, dict) else current)
                ]
    return deepest


def _not_json_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (NaN and Infinity are not JSON numbers)")


def _finite(text: str) -> float:
    number = float(text)
    if number in (float("inf"), float("-inf")):
        raise ValueError(f"{text} is a number too large for a double (at most about 1.8e308)")
    return number


def _not_utf8(body: bytes, what: str = "the body") -> str | None:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return _not_utf8_at(body, exc, what)
    return None


def _not_utf8_at(body: bytes, exc: UnicodeDecodeError, what: str = "the body") -> str:
    return f"{what} is not UTF-8 (byte 0x{body[exc.start : exc.start + 1].hex()} at offset {exc.start})"


def read_json(body: bytes) -> tuple[Any, str | None, bool]:
    """The JSON value of a body, or why it is not one and whether validating it is pointless or unsafe (not
    UTF-8, not JSON, or nested too deep for a validator or a JSON encoder to walk)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"{_not_utf8_at(body, exc)}; JSON is UTF-8", True
    try:
        value = json.loads(text, parse_constant=_not_json_constant, parse_float=_finite)
    except RecursionError:
        return (
            None,
            f"the body is JSON nested more than {MAX_DEPTH} levels deep; at most {MAX_DEPTH} are read",
            True,
        )
    except json.JSONDecodeError as exc:  # nothing a validator would add: it quotes the body back
        return text, f"the body is not JSON: {exc}", True
    except ValueError as exc:  # NaN, Infinity, 1e400: the validator still reads the rest
        return text, str(exc), False
    if _depth(value) > MAX_DEPTH:
        return (
            None,
            f"the body is JSON nested more than {MAX_DEPTH} levels deep; at most {MAX_DEPTH} are read",
            True,
        )
    return value, None, False


def parse_payload(
    kind: CallbackKind | None,
    query: str,
    media_type: str,
    body: bytes,
    read: tuple[Any, str | None, bool] | None = None,
) -> Any:
    """What a person reads as the delivery: the query's fields for a callback sent as a query string (a
    body beside it is not what the vendor sends), else the body as its content-type says. ``read``: what
    ``read_json`` made of a JSON body already, if it was asked."""
    if (kind is not None and kind.callback.encoding == "query") or not body:
        return model.form_decode(query) or None
    text = body.decode("utf-8", "replace")
    if media_type.endswith("json"):
        value, why, _ = read if read is not None else read_json(body)
        return value if why is None else text
    if media_type == "application/x-www-form-urlencoded":
        return model.form_decode(text)
    return text


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
    if isinstance(payload, Mapping) and payload:
        shown = ", ".join(f"{k}={clip(repr(v), 80)}" for k, v in list(payload.items())[:8])
        more = f", ... ({len(payload)} fields)" if len(payload) > 8 else ""
        lines.append(f"    {shown}{more}")
    elif payload:
        lines.append(f"    {clip(repr(payload) if isinstance(payload, list) else str(payload), 200)}")
    return "\n".join(lines)


class _AnyMethod:
    """An endpoint as a plain ASGI app, which Starlette routes whatever the method (a function endpoint
    gets only the methods listed; a method no callback uses should be recorded, not answered 405)."""

    def __init__(self, endpoint: Callable[[Request], Any]) -> None:
        self.app = request_response(endpoint)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


def _print(text: str, out: TextIO) -> None:
    try:
        print(text, file=out, flush=True)
    except UnicodeEncodeError:  # a terminal that cannot show a character, or a lone surrogate from JSON
        print(text.encode("ascii", "backslashreplace").decode("ascii"), file=out, flush=True)


class _JSON(JSONResponse):
    """JSON as ASCII: a payload's lone surrogate (``"\\ud800"`` is valid JSON) stays an escape."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode()


def create_listener(
    options: ListenOptions | None = None,
    *,
    recorder: Recorder | None = None,
    out: TextIO | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Starlette:
    """The receiver as an ASGI app; ``app.state.recorder`` holds what it received."""
    options = options or ListenOptions()
    recorder = recorder or Recorder(options.max_received, options.max_held_bytes)
    candidates = callbacks.all_kinds(options.specs or None)
    now = clock or (lambda: datetime.now(UTC))

    async def received(request: Request) -> Response:
        if request.method == "DELETE":
            recorder.clear()
            return JSONResponse({"cleared": True})
        q = request.query_params
        found = recorder.entries(event=q.get("event"), kind=q.get("kind"), api=q.get("api"))
        return _JSON({"received": found, "dropped": recorder.dropped, "max_received": recorder.max_entries})

    def judge(
        method: str,
        path: str,
        query: str,
        headers: dict[str, str],
        body: bytes,
        unread: str | None,
        media_type: str,
        read: tuple[Any, str | None, bool] | None,
    ) -> tuple[list[CallbackKind], list[str]]:
        """The registrations a delivery is for and why it is invalid. ``unread``: why its body could not be
        taken in (too big, an encoding not undone). A body that cannot be read is not validated (nothing a
        validator says of it would be truer), and a validator's own failure is reported, never a 500.
        ``read``: ``read_json`` of a JSON body that was taken in."""
        why, validate = unread, unread is None
        if validate and read is not None:
            _, why, pointless = read
            validate = not pointless  # NaN is still validated: the validator reads it as a number
        elif validate and body and media_type == "application/x-www-form-urlencoded":
            why = _not_utf8(body, "the form body")
            validate = why is None
        problems: list[str] = []
        if validate:
            try:
                found, problems = callbacks.classify(candidates, method, path, query, headers, body or None)
                return found, ([why] if why else []) + problems
            except Exception as exc:
                problems = [f"mockline listen could not validate this delivery: {type(exc).__name__}: {exc}"]
        found = callbacks.registered_for(candidates, method, path)
        if not found and not problems:
            problems = [f"no callback or webhook of this spec is sent with {method}"]
        return found, ([why] if why else []) + problems

    async def receive(request: Request) -> Response:
        query = request.url.query
        headers = {k.lower(): v for k, v in request.headers.items()}
        media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        raw, unread, too_big = await read_body(request, options.max_body_bytes)
        body = b""
        if unread is None:
            body, unread, too_big = decode_body(
                raw, headers.get("content-encoding", ""), options.max_body_bytes
            )
        read = read_json(body) if unread is None and body and media_type.endswith("json") else None
        found, problems = judge(
            request.method, request.url.path, query, headers, body, unread, media_type, read
        )
        kind = found[0] if found else None
        payload = parse_payload(kind, query, media_type, b"" if unread else body, read)
        key = hashlib.sha256(f"{request.method} {request.url.path}?{query}\n".encode() + raw).hexdigest()
        attempt = recorder.attempt(key)
        answered = options.status
        if too_big:
            answered = 413
        elif attempt <= options.fail_first:
            answered = 500
        elif attempt <= options.fail_first + options.timeout_first:
            answered = 0  # hangs
        kept_headers = {k: v for k, v in headers.items() if k not in {"host", "content-length", "connection"}}
        size = len(body) + len(query) + sum(len(k) + len(v) for k, v in kept_headers.items())
        entry = recorder.add(
            {
                "at": now().isoformat(timespec="seconds"),
                "method": request.method,
                "path": request.url.path,
                "query": query,
                "headers": kept_headers,
                "api": kind.api if kind else None,
                "kind": kind.operation_id if kind else None,
                "kinds": list(dict.fromkeys(k.operation_id for k in found)),
                "callback": kind.name if kind else None,
                "registered_by": sorted({k.source for k in found if k.source}),
                "label": callbacks.label(found),
                "event": kind.event_of(payload) if kind else None,
                "payload": payload,
                "bytes": len(body),
                "valid": kind is not None and not problems,
                "problems": [clip(p) for p in problems],
                "attempt": attempt,
                "answered": answered or f"no answer for {options.hang_seconds:g} s",
            },
            size,
        )
        if not options.quiet:
            _print(describe(entry), out or sys.stdout)
        if answered == 0:
            await asyncio.sleep(options.hang_seconds)
            return Response(status_code=504)
        if answered == 413:  # the rest of the body is left unread: the connection cannot be reused
            return JSONResponse(
                {"error": f"mockline listen: {unread}"}, status_code=413, headers={"connection": "close"}
            )
        if answered == 500:
            return JSONResponse(
                {"error": "mockline listen: failing this attempt on purpose"}, status_code=500
            )
        return JSONResponse(
            {"received": True, "id": entry["id"], "valid": entry["valid"]}, status_code=answered
        )

    app = Starlette(
        routes=[
            Route("/received", received, methods=["GET", "DELETE"]),
            Route("/{path:path}", _AnyMethod(receive)),  # one no callback uses is recorded, and said so
        ]
    )
    app.state.recorder = recorder
    return app
