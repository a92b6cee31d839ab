"""Sends one due callback or webhook and reports the answer; never raises.

``StreamTransport`` (the default) speaks HTTP/1.1 over asyncio streams with keep-alive connections per
host: httpx, the alternative, topped out near 600 requests/s on this machine, below the outbox's needs
(see bench/dialer.py). ``HttpxTransport`` is used when the caller injects an ``httpx.AsyncClient``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from collections import defaultdict
from urllib.parse import urlencode, urlsplit

import httpx

from mockserver.core.outbox import Answer, Outgoing

USER_AGENT = "mockline-callbacks/0.1"
MAX_CONNECTIONS_PER_HOST = 32

Origin = tuple[str, str, int]
Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


def encode(outgoing: Outgoing) -> tuple[str, bytes, str | None]:
    """The request target's query, the body and its content type, as the outgoing's encoding says."""
    fields = {k: v for k, v in outgoing.payload.items() if v is not None}
    if outgoing.encoding == "json":
        return "", json.dumps(dict(outgoing.payload), ensure_ascii=False).encode(), "application/json"
    text = urlencode({k: str(v) for k, v in fields.items()})
    if outgoing.encoding == "form":
        return "", text.encode(), "application/x-www-form-urlencoded"
    return text, b"", None


class StreamTransport:
    def __init__(
        self, timeout_seconds: float, max_connections_per_host: int = MAX_CONNECTIONS_PER_HOST
    ) -> None:
        self.timeout = timeout_seconds
        self._idle: dict[Origin, list[Connection]] = defaultdict(list)
        self._slots: dict[Origin, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(max_connections_per_host)
        )
        self._tls = ssl.create_default_context()

    async def send(self, outgoing: Outgoing) -> Answer:
        url = urlsplit(outgoing.url)
        if url.scheme not in {"http", "https"} or not url.hostname:
            return Answer(error=f"cannot deliver to {outgoing.url!r}: only http and https URLs are supported")
        origin: Origin = (url.scheme, url.hostname, url.port or (443 if url.scheme == "https" else 80))
        query, body, content_type = encode(outgoing)
        target = (
            (url.path or "/") + "?" + "&".join(p for p in (url.query, query) if p)
            if (url.query or query)
            else (url.path or "/")
        )
        head = [f"{outgoing.method} {target} HTTP/1.1", f"host: {url.netloc}", f"user-agent: {USER_AGENT}"]
        if content_type:
            head.append(f"content-type: {content_type}")
        head.append(f"content-length: {len(body)}")
        request = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        async with self._slots[origin]:
            try:
                async with asyncio.timeout(self.timeout):
                    return await self._exchange(origin, request)
            except TimeoutError:
                return Answer(error=f"timed out after {self.timeout:g} s")
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                return Answer(error=_describe(exc))

    async def _exchange(self, origin: Origin, request: bytes) -> Answer:
        while self._idle[origin]:
            reader, writer = self._idle[origin].pop()
            if reader.at_eof() or writer.is_closing():
                writer.close()
                continue
            try:
                return await self._round_trip(origin, reader, writer, request)
            except (ConnectionError, asyncio.IncompleteReadError):
                writer.close()  # the server closed a kept-alive connection: try a fresh one
            except BaseException:  # a timeout cancels us mid-exchange: the connection is unusable
                writer.close()
                raise
        scheme, host, port = origin
        reader, writer = await asyncio.open_connection(
            host, port, ssl=self._tls if scheme == "https" else None, limit=2**20
        )
        try:
            return await self._round_trip(origin, reader, writer, request)
        except BaseException:
            writer.close()
            raise

    async def _round_trip(
        self, origin: Origin, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
    ) -> Answer:
        writer.write(request)
        await writer.drain()
        status_line = await reader.readuntil(b"\r\n")
        parts = status_line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
            raise ValueError(f"the receiver did not answer HTTP: {status_line[:60]!r}")
        status = int(parts[1])
        headers: dict[bytes, bytes] = {}
        while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        keep = parts[0] == b"HTTP/1.1" and headers.get(b"connection", b"").lower() != b"close"
        if b"content-length" in headers:
            await reader.readexactly(int(headers[b"content-length"]))
        elif headers.get(b"transfer-encoding", b"").lower() == b"chunked":
            await _skip_chunks(reader)
        elif status >= 200 and status not in (204, 304):
            await reader.read()  # the body runs to the end of the connection
            keep = False
        if keep:
            self._idle[origin].append((reader, writer))
        else:
            writer.close()
        return Answer(status=status)

    async def close(self) -> None:
        writers = [writer for connections in self._idle.values() for _, writer in connections]
        self._idle.clear()
        for writer in writers:
            writer.close()
        for writer in writers:
            with contextlib.suppress(OSError):
                await writer.wait_closed()


async def _skip_chunks(reader: asyncio.StreamReader) -> None:
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        await reader.readexactly(size + 2)
        if size == 0:
            return


def _describe(exc: BaseException) -> str:
    cause: BaseException | None = exc
    while cause is not None:  # httpx wraps the refusal two or three levels deep
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, asyncio.IncompleteReadError):
        return "the receiver closed the connection before it answered"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class HttpxTransport:
    def __init__(self, client: httpx.AsyncClient, timeout_seconds: float) -> None:
        self.client = client
        self.timeout = timeout_seconds

    async def send(self, outgoing: Outgoing) -> Answer:
        query, body, content_type = encode(outgoing)
        url = outgoing.url + (("&" if "?" in outgoing.url else "?") + query if query else "")
        headers = {"user-agent": USER_AGENT, **({"content-type": content_type} if content_type else {})}
        try:
            response = await self.client.request(
                outgoing.method, url, content=body or None, headers=headers, timeout=self.timeout
            )
        except httpx.TimeoutException:
            return Answer(error=f"timed out after {self.timeout:g} s")
        except httpx.HTTPError as exc:
            return Answer(
                error=_describe(exc.__cause__ or exc)
                if isinstance(exc, httpx.ConnectError)
                else f"{type(exc).__name__}: {exc}"
            )
        return Answer(status=response.status_code)
