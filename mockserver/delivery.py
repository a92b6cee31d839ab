"""Sends one due callback or webhook and reports the answer; never raises.

``StreamTransport`` (the default) keeps HTTP/1.1 connections alive per origin (up to 32 each). It writes
each request from parts it checked, and h11's parser reads every answer: interim ``1xx`` answers,
chunked bodies and their trailers, ``connection: close`` and a peer that hangs up included.
bench/senders.py measured it against aiohttp's client and httpcore and chose it (see docs/callbacks.md).
``HttpxTransport`` is used when the caller injects an ``httpx.AsyncClient``.

Both check the target first (``mockserver/targets.py``): a URL the rules refuse comes back as a final
answer (no retry) with the reason, and no connection is made.
"""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
import time
from collections import defaultdict
from collections.abc import Iterable
from typing import cast
from urllib.parse import SplitResult, quote, unquote

import h11
import httpx

from contracts.model import form_encode
from mockserver.core.outbox import Answer, Outgoing
from mockserver.errors import MocklineError
from mockserver.targets import Refused, TargetPolicy

USER_AGENT = "mockline-callbacks/0.1"
MAX_CONNECTIONS_PER_HOST = 32
BODY_KEPT = 2048  # bytes of each answer's body kept on the attempt record
BODY_READ_LIMIT = 1 << 20  # an answer longer than this is not read to its end: the connection is dropped

Origin = tuple[str, str, int]
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
TARGET_SAFE = "!$%&'()*+,/:;=?@[]~"  # kept as they are in a request target; anything else is %-escaped
_SENT = h11.Request(method="POST", target="/", headers=[("host", "callback"), ("content-length", "0")])


def encode(outgoing: Outgoing) -> tuple[str, bytes, str | None]:
    """The request target's query, the body and its content type, as the outgoing's encoding says."""
    if outgoing.encoding == "json":
        return "", json.dumps(dict(outgoing.payload), ensure_ascii=False).encode(), "application/json"
    text = form_encode(outgoing.payload)  # the one encoder the checkers use too: booleans as true/false
    if outgoing.encoding == "form":
        return "", text.encode(), "application/x-www-form-urlencoded"
    return text, b"", None


def basic_credentials(url: SplitResult) -> str | None:
    """``user:password@`` of a URL as a Basic ``authorization`` value, percent-decoded as curl does."""
    if url.username is None and url.password is None:
        return None
    pair = f"{unquote(url.username or '')}:{unquote(url.password or '')}"
    return "Basic " + base64.b64encode(pair.encode()).decode("ascii")


def answer_of(
    status: int, headers: Iterable[tuple[bytes, bytes]], body: bytes, size: int, started: float
) -> Answer:
    """An answer as the attempt record keeps it: repeated header names joined with ``, ``."""
    kept: dict[str, str] = {}
    for name, value in headers:
        key, text = name.decode("latin-1").lower(), value.decode("latin-1")
        kept[key] = f"{kept[key]}, {text}" if key in kept else text
    return Answer(
        status=status,
        latency_ms=round((time.perf_counter() - started) * 1000, 3),
        headers=kept,
        body=body[:BODY_KEPT].decode("utf-8", "replace"),
        body_truncated=size > BODY_KEPT,
    )


class _Wire(asyncio.Protocol):
    """One connection: bytes in are fed to h11; bytes that arrive while no request is out mean the
    connection can no longer be trusted to pair answers with requests, so it is dropped."""

    def __init__(self) -> None:
        self.h11 = h11.Connection(h11.CLIENT)
        self.transport: asyncio.Transport | None = None
        self.busy = False
        self.usable = True
        self.reused = False
        self.heard = False  # any byte of an answer to the request now out
        self._eof = False
        self._waiter: asyncio.Future[None] | None = None
        self._loop = asyncio.get_running_loop()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if not self.busy:
            self.close()
            return
        self.heard = True
        self.h11.receive_data(data)
        self._wake()

    def eof_received(self) -> bool | None:
        self._peer_closed()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._peer_closed()

    def _peer_closed(self) -> None:
        self.usable = False
        if not self._eof:
            self._eof = True
            if self.busy:
                self.h11.receive_data(b"")
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def expect_answer(self) -> None:
        """Tell h11 a request is out, so that it reads what comes back as that request's answer.

        Its reader needs only the request's method, and only to tell HEAD or CONNECT from the rest: a
        callback is never either, so one constant request stands for all (the bytes really sent are
        built by ``StreamTransport.send``); validating each request's headers again cost ~40% of the
        sender's time."""
        self.h11.send(_SENT)
        self.h11.send(h11.EndOfMessage())

    async def more(self) -> None:
        """Wait for bytes (or the end of the connection) that h11 has not seen."""
        if self._eof:
            raise ConnectionResetError("the receiver closed the connection")
        self._waiter = self._loop.create_future()
        await self._waiter
        self._waiter = None

    def close(self) -> None:
        self.usable = False
        if self.transport is not None:
            self.transport.close()


def _idna(url: SplitResult) -> str:
    host = cast(str, url.hostname)
    try:
        name = host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise ValueError(f"the host {host!r} cannot be written in ASCII") from exc
    return name if url.port is None else f"{name}:{url.port}"


class _Closed(MocklineError):
    """A reused connection was closed by the receiver before any byte of an answer: send again."""


class StreamTransport:
    def __init__(
        self,
        timeout_seconds: float,
        max_connections_per_host: int = MAX_CONNECTIONS_PER_HOST,
        *,
        policy: TargetPolicy | None = None,
    ) -> None:
        self.timeout = timeout_seconds
        self.policy = policy or TargetPolicy()
        self._generation = self.policy.generation
        self._idle: dict[Origin, list[_Wire]] = defaultdict(list)
        self._slots: dict[Origin, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(max_connections_per_host)
        )
        self._tls = ssl.create_default_context()
        self._targets: dict[str, tuple[SplitResult, Origin, str]] = {}

    async def send(self, outgoing: Outgoing) -> Answer:
        try:
            url, origin, prefix = self._target(outgoing.url)
        except Refused as exc:
            return Answer(error=str(exc), final=True)
        except ValueError as exc:
            return Answer(error=f"cannot deliver to {outgoing.url!r}: {exc}", final=True)
        if outgoing.method not in METHODS:
            return Answer(error=f"cannot deliver with the method {outgoing.method}", final=True)
        if self._generation != self.policy.generation:  # the mock learnt a new address of its own:
            self._generation = self.policy.generation  # connections opened before are checked again
            self._drop_idle()
        query, body, content_type = encode(outgoing)
        path = url.path or "/"
        target = path + "?" + "&".join(p for p in (url.query, query) if p) if (url.query or query) else path
        typed = f"content-type: {content_type}\r\n" if content_type else ""
        head = f"{outgoing.method} {quote(target, safe=TARGET_SAFE)} HTTP/1.1\r\n{prefix}{typed}"
        request = f"{head}content-length: {len(body)}\r\n\r\n".encode("ascii") + body
        async with self._slots[origin]:
            started = time.perf_counter()
            try:
                async with asyncio.timeout(self.timeout):
                    return await self._exchange(origin, request, started)
            except Refused as exc:
                return Answer(error=str(exc), final=True)
            except TimeoutError:
                return Answer(error=f"timed out after {self.timeout:g} s")
            except h11.ProtocolError as exc:
                return Answer(error=f"the receiver's answer is not valid HTTP/1.1: {exc}")
            except OSError as exc:
                return Answer(error=_describe(exc))

    def _target(self, text: str) -> tuple[SplitResult, Origin, str]:
        """A URL checked by the policy, its origin, and the header lines every request to it starts with
        (host, user-agent, authorization), remembered per URL. The request is written from checked
        parts (a target with every unsafe character escaped, a host of printable ASCII) as it is; h11
        reads every answer (see ``_Wire.expect_answer``)."""
        known = self._targets.get(text)
        if known is None:
            url = self.policy.check_url(text)
            scheme, host = url.scheme.lower(), cast(str, url.hostname)
            origin: Origin = (scheme, host, url.port or (443 if scheme == "https" else 80))
            authority = url.netloc.rpartition("@")[2]
            if not authority.isascii():
                authority = _idna(url)
            if not authority.isprintable() or " " in authority:
                raise ValueError("the host has characters a Host header cannot carry")
            credentials = basic_credentials(url)
            prefix = f"host: {authority}\r\nuser-agent: {USER_AGENT}\r\n" + (
                f"authorization: {credentials}\r\n" if credentials else ""
            )
            if len(self._targets) >= 4096:
                self._targets.clear()
            known = self._targets[text] = (url, origin, prefix)
        return known

    async def _exchange(self, origin: Origin, request: bytes, started: float) -> Answer:
        idle = self._idle[origin]
        while idle:
            wire = idle.pop()
            if not wire.usable:
                continue
            try:
                return await self._round_trip(origin, wire, request, started)
            except _Closed:  # the receiver closed a kept-alive connection before answering: the request
                break  # goes again once, on a fresh connection (the other idle ones are likely as stale)
        return await self._round_trip(origin, await self._connect(origin), request, started)

    async def _connect(self, origin: Origin) -> _Wire:
        scheme, host, port = origin
        addresses = await self.policy.resolve(host, port)
        loop = asyncio.get_running_loop()
        failure: OSError | None = None
        for ip in addresses:  # connect to the addresses the policy checked, never a second lookup
            try:
                _, wire = await loop.create_connection(
                    _Wire,
                    ip,
                    port,
                    ssl=self._tls if scheme == "https" else None,
                    server_hostname=host if scheme == "https" else None,
                )
                return wire
            except OSError as exc:
                failure = exc
        raise failure or OSError(f"{host} has no address")

    async def _round_trip(self, origin: Origin, wire: _Wire, request: bytes, started: float) -> Answer:
        conn = wire.h11
        if not wire.usable:  # closed by the receiver between its opening and now
            raise _Closed if wire.reused else ConnectionResetError("the receiver closed the connection")
        wire.busy, wire.heard = True, False
        try:
            wire.expect_answer()
            assert wire.transport is not None
            wire.transport.write(request)
            status, headers, kept, size = 0, [], bytearray(), 0
            event: object = h11.NEED_DATA  # nothing can have come yet: an idle connection holds no bytes
            while True:
                if event is h11.NEED_DATA:
                    try:
                        await wire.more()
                    except ConnectionResetError:
                        if wire.reused and not wire.heard:
                            raise _Closed from None
                        raise
                try:
                    event = conn.next_event()
                except h11.RemoteProtocolError:
                    if wire.reused and not wire.heard:
                        raise _Closed from None
                    raise
                if event is h11.NEED_DATA:
                    continue
                elif isinstance(event, h11.Response):
                    status, headers = event.status_code, list(event.headers)
                elif isinstance(event, h11.Data):
                    if len(kept) < BODY_KEPT:
                        kept += event.data[: BODY_KEPT - len(kept)]
                    size += len(event.data)
                    if size > BODY_READ_LIMIT:
                        wire.close()
                        break
                elif isinstance(event, h11.EndOfMessage):
                    break
                elif isinstance(event, h11.ConnectionClosed):
                    raise ConnectionResetError("the receiver closed the connection before it answered")
                # an h11.InformationalResponse (100, 103, ...) is not the answer: read on
            answer = answer_of(status, headers, bytes(kept), size, started)
        except BaseException:  # a timeout or an error mid-exchange: the connection is unusable
            wire.close()
            raise
        wire.busy = False
        reusable = conn.our_state is h11.DONE and conn.their_state is h11.DONE and not conn.trailing_data[0]
        if wire.usable and reusable:
            conn.start_next_cycle()
            wire.reused = True
            self._idle[origin].append(wire)
        else:
            wire.close()
        return answer

    def _drop_idle(self) -> None:
        for wires in self._idle.values():
            for wire in wires:
                wire.close()
        self._idle.clear()

    async def close(self) -> None:
        self._drop_idle()
        await asyncio.sleep(0)  # let the transports finish closing


def _describe(exc: BaseException) -> str:
    cause: BaseException | None = exc
    while cause is not None:  # httpx wraps the refusal two or three levels deep
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        cause = cause.__cause__ or cause.__context__
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class HttpxTransport:
    def __init__(
        self, client: httpx.AsyncClient, timeout_seconds: float, *, policy: TargetPolicy | None = None
    ) -> None:
        self.client = client
        self.timeout = timeout_seconds
        self.policy = policy or TargetPolicy()

    async def send(self, outgoing: Outgoing) -> Answer:
        try:
            url = self.policy.check_url(outgoing.url)
            await self.policy.resolve(
                cast(str, url.hostname), url.port or (443 if url.scheme == "https" else 80)
            )
        except Refused as exc:
            return Answer(error=str(exc), final=True)
        except OSError as exc:
            return Answer(error=_describe(exc))
        query, body, content_type = encode(outgoing)
        target = outgoing.url + (("&" if "?" in outgoing.url else "?") + query if query else "")
        headers = {"user-agent": USER_AGENT, **({"content-type": content_type} if content_type else {})}
        started = time.perf_counter()
        try:
            response = await self.client.request(
                outgoing.method, target, content=body or None, headers=headers, timeout=self.timeout
            )
        except httpx.TimeoutException:
            return Answer(error=f"timed out after {self.timeout:g} s")
        except httpx.HTTPError as exc:
            return Answer(
                error=_describe(exc.__cause__ or exc)
                if isinstance(exc, httpx.ConnectError)
                else f"{type(exc).__name__}: {exc}"
            )
        content = response.content
        return answer_of(response.status_code, response.headers.raw, content, len(content), started)
