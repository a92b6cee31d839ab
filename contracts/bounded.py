"""How much of an answer mockline's contract tools read, and for how long.

``verify``, ``verify-receiver`` and ``drive`` talk to servers their users do not control: a half-built
implementation, a staging box. Every answer they read is read within two bounds:

- at most :data:`MAX_ANSWER_BYTES` of body, counted once its ``Content-Encoding`` is undone (a gzip bomb
  stops there too); the rest is left unread and the connection dropped;
- the whole answer within the request's timeout: the body's reads stop when the timeout has passed since
  the request was sent, however steadily its bytes trickle in (a read timeout alone never passes when a
  byte comes every second). The head (status line and headers) is read by the HTTP library, each read
  waiting at most the timeout; ``drive``, on asyncio, bounds the head too.

An answer past a bound, or one that breaks off (fewer bytes than its ``Content-Length``, a connection
closed mid-body), is raised as the HTTP library's own kind of error, in words that say what happened, so
that every place that already handles that library's errors handles these: :class:`AnswerError` and
:class:`AnswerTimeout` (a ``httpx.ReadTimeout``) for httpx, :class:`RequestsAnswerError` for requests.

- httpx (mockline's own phases, the OAuth2 token, ``verify-receiver``, ``drive``): :func:`client` and
  :func:`async_client` make clients whose response hook reads every body so.
- requests (Schemathesis' requests, its probes included, and the checks' own): while
  :func:`requests_bounded` runs, every ``requests`` ``HTTPAdapter`` reads its answers so. Schemathesis
  makes its sessions itself, its probes' outside any hook it offers; an adapter's ``send`` is the one
  place all of its requests pass. An event stream is left to Schemathesis, which reads one for at most
  the timeout and 20 events.
"""

from __future__ import annotations

import contextlib
import threading
import time
import weakref
from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import DecodeError, HTTPError, ReadTimeoutError

from contracts.errors import ContractsError

MAX_ANSWER_BYTES = 16 * 1024 * 1024  # of one answer's body, decoded
_CHUNK = 64 * 1024


class AnswerError(ContractsError, httpx.TransportError):
    """An httpx answer past :data:`MAX_ANSWER_BYTES`, or one that broke off mid-body."""


class AnswerTimeout(ContractsError, httpx.ReadTimeout):
    """An httpx answer not whole within its request's timeout."""


class RequestsAnswerError(ContractsError, requests.RequestException):
    """A requests answer past :data:`MAX_ANSWER_BYTES` or its timeout, or one that broke off mid-body."""


_CAP = f"{MAX_ANSWER_BYTES // (1024 * 1024)} MiB"  # as the messages say it


class _Budget:
    """One answer's body as it is read: its bytes against the cap, the time against the deadline."""

    def __init__(self, timeout: float | None, started: float, headers: Mapping[str, str]) -> None:
        self.timeout = timeout
        self.deadline = started + timeout if timeout else None
        self.encoding = str(headers.get("content-encoding") or "").strip().lower()
        if self.encoding == "identity":
            self.encoding = ""
        length = str(headers.get("content-length") or "").strip()
        self.declared = int(length) if length.isdigit() else None
        self.count = 0  # bytes of body read, decoded

    def remaining(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()

    def add(self, chunk: bytes) -> str | None:
        """Count ``chunk``; why reading stops here (too much, too late), or None."""
        self.count += len(chunk)
        if self.count > MAX_ANSWER_BYTES:
            return self.too_large()
        remaining = self.remaining()
        if remaining is not None and remaining <= 0:
            return self.late(self.count)
        return None

    def too_large(self) -> str:
        decoded = f" once its {self.encoding} encoding is undone" if self.encoding else ""
        return f"the answer's body went past {_CAP}{decoded}: mockline reads no more of an answer"

    def _so_far(self, raw: int) -> str:
        if self.declared is not None and not self.encoding:
            return f"{raw} of the {self.declared} bytes its Content-Length declares"
        return f"{self.count} bytes of its body"

    def late(self, raw: int) -> str:
        return f"no whole answer within the {self.timeout:g} s timeout: {self._so_far(raw)} had come"

    def broke_off(self, raw: int) -> str:
        return f"the answer broke off after {self._so_far(raw)}"

    def undecodable(self, error: object) -> str:
        return f"the answer's body is not the {self.encoding} its Content-Encoding declares ({error})"


# --- httpx ----------------------------------------------------------------------------------------------


class _Hooks:
    """The request and response hooks of one client: when each request left, and its body read within
    bounds. The timeout is each request's own read timeout (a request may be given its own)."""

    def __init__(self) -> None:
        self.started: weakref.WeakKeyDictionary[httpx.Request, float] = weakref.WeakKeyDictionary()

    def sent(self, request: httpx.Request) -> None:
        self.started[request] = time.monotonic()

    def budget(self, response: httpx.Response) -> _Budget:
        request = response.request
        timeouts = request.extensions.get("timeout")
        timeout = timeouts.get("read") if isinstance(timeouts, dict) else None
        budget = _Budget(timeout, self.started.get(request, time.monotonic()), response.headers)
        remaining = budget.remaining()
        if isinstance(timeouts, dict) and remaining is not None:
            # httpcore takes the body's read timeout from here when its first read starts: no read then
            # waits past the deadline (the reads themselves are checked against it as they come).
            request.extensions["timeout"] = {**timeouts, "read": max(remaining, 0.001)}
        return budget

    def failed(self, response: httpx.Response, budget: _Budget, exc: Exception) -> Exception:
        request, raw = response.request, response.num_bytes_downloaded
        if isinstance(exc, AnswerError | AnswerTimeout):
            return exc
        if isinstance(exc, httpx.TimeoutException):
            return AnswerTimeout(budget.late(raw), request=request)
        if isinstance(exc, httpx.DecodingError):
            return AnswerError(budget.undecodable(exc), request=request)
        return AnswerError(f"{budget.broke_off(raw)} ({exc})", request=request)

    def read(self, response: httpx.Response) -> None:
        budget = self.budget(response)
        parts: list[bytes] = []
        try:
            for chunk in response.iter_bytes():  # as each read decodes: no waiting for a whole chunk
                self._add(response, budget, chunk, parts)
        except httpx.HTTPError as exc:
            response.close()
            raise self.failed(response, budget, exc) from exc
        response._content = b"".join(parts)  # what Response.read() keeps: read() answers it from here

    async def aread(self, response: httpx.Response) -> None:
        budget = self.budget(response)
        parts: list[bytes] = []
        try:
            async for chunk in response.aiter_bytes():
                self._add(response, budget, chunk, parts)
        except httpx.HTTPError as exc:
            await response.aclose()
            raise self.failed(response, budget, exc) from exc
        response._content = b"".join(parts)

    async def asent(self, request: httpx.Request) -> None:
        self.sent(request)

    @staticmethod
    def _add(response: httpx.Response, budget: _Budget, chunk: bytes, parts: list[bytes]) -> None:
        stop = budget.add(chunk)
        if stop is None:
            parts.append(chunk)
        elif budget.count > MAX_ANSWER_BYTES:
            raise AnswerError(stop, request=response.request)
        else:
            raise AnswerTimeout(stop, request=response.request)


def client(timeout: float, **kwargs: Any) -> httpx.Client:
    """An ``httpx.Client`` (redirects not followed, as httpx's default) that reads every answer within
    bounds; ``timeout`` is each request's whole answer."""
    hooks = _Hooks()
    return httpx.Client(
        timeout=timeout, event_hooks={"request": [hooks.sent], "response": [hooks.read]}, **kwargs
    )


def async_client(timeout: float, **kwargs: Any) -> httpx.AsyncClient:
    """:func:`client` on asyncio."""
    hooks = _Hooks()
    return httpx.AsyncClient(
        timeout=timeout, event_hooks={"request": [hooks.asent], "response": [hooks.aread]}, **kwargs
    )


# --- requests -------------------------------------------------------------------------------------------


def _total(timeout: Any) -> float | None:
    """The seconds a requests ``timeout`` gives the whole answer: a number, a (connect, read) pair's read,
    a urllib3 ``Timeout``'s total or read."""
    if isinstance(timeout, int | float):
        return float(timeout)
    if isinstance(timeout, tuple):
        return _total(timeout[1]) if len(timeout) == 2 else None
    for name in ("total", "read_timeout"):
        value = getattr(timeout, name, None)
        if isinstance(value, int | float):
            return float(value)
    return None


def _read_body(response: requests.Response, budget: _Budget) -> None:
    """Read ``response``'s body into it (as ``Response.content`` does), within bounds."""
    raw = response.raw
    sock = getattr(getattr(raw, "connection", None), "sock", None)  # urllib3's connection, while it reads
    parts: list[bytes] = []
    try:
        while True:
            remaining = budget.remaining()
            if sock is not None and remaining is not None:
                sock.settimeout(max(remaining, 0.001))  # no read waits past the deadline
            chunk = raw.read1(_CHUNK, decode_content=True)  # whatever has come, not a whole _CHUNK
            if not chunk:
                break
            stop = budget.add(chunk)
            if stop is not None:
                raise RequestsAnswerError(stop, request=response.request, response=response)
            parts.append(chunk)
    except RequestsAnswerError:
        response.close()
        raise
    except HTTPError as exc:  # urllib3's: a read that timed out, a body cut short, one that does not decode
        response.close()
        if isinstance(exc, ReadTimeoutError):
            message = budget.late(raw.tell())
        elif isinstance(exc, DecodeError):
            message = budget.undecodable(exc.args[-1] if exc.args else exc)
        else:
            message = f"{budget.broke_off(raw.tell())} ({exc})"
        raise RequestsAnswerError(message, request=response.request) from exc
    response._content = b"".join(parts)  # what Response.content keeps: .content answers it from here
    response._content_consumed = True
    raw.release_conn()


_lock = threading.Lock()
_users = 0
_plain_send = HTTPAdapter.send


def _bounded_send(
    self: HTTPAdapter,
    request: requests.PreparedRequest,
    stream: bool = False,
    timeout: Any = None,
    verify: bool | str = True,
    cert: Any = None,
    proxies: Any = None,
) -> requests.Response:
    started = time.monotonic()
    response = _plain_send(self, request, stream, timeout, verify, cert, proxies)
    if stream and "text/event-stream" in response.headers.get("content-type", ""):
        return response  # Schemathesis reads an event stream itself: 20 events at most, within the timeout
    _read_body(response, _Budget(_total(timeout), started, response.headers))
    return response


@contextlib.contextmanager
def requests_bounded() -> Iterator[None]:
    """While this runs, every requests ``HTTPAdapter`` (Schemathesis' sessions, made by Schemathesis)
    reads its answers within bounds; nested and concurrent runs share it."""
    global _users
    with _lock:
        if _users == 0:
            HTTPAdapter.send = _bounded_send  # type: ignore[method-assign]
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0:
                HTTPAdapter.send = _plain_send  # type: ignore[method-assign]
