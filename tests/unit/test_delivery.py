"""The delivery transports against real loopback servers: answers, keep-alive, encodings, failures."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
import pytest

from mockserver.core.outbox import Answer, Outgoing, Transport
from mockserver.delivery import HttpxTransport, StreamTransport


@dataclass
class Seen:
    requests: list[bytes] = field(default_factory=list)
    connections: int = 0


Reply = Callable[[int], bytes]  # request number -> raw HTTP answer


def fixed(raw: bytes) -> Reply:
    return lambda _n: raw


@asynccontextmanager
async def server(
    reply: Reply, *, close_after: bool = False, delay: float = 0.0
) -> AsyncIterator[tuple[str, Seen]]:
    seen = Seen()
    writers: list[asyncio.StreamWriter] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.connections += 1
        writers.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                seen.requests.append(head + await reader.readexactly(length))
                await asyncio.sleep(delay)
                writer.write(reply(len(seen.requests)))
                await writer.drain()
                if close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    listening = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = listening.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        listening.close()
        for writer in writers:
            writer.close()
        await asyncio.sleep(0.01)  # let handlers still running see their connections closed


OK = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
PAYLOAD = {"callID": 7, "event": "call-ended", "notes": None}


def transports() -> list[Callable[[], Transport]]:
    return [lambda: StreamTransport(2.0), lambda: HttpxTransport(httpx.AsyncClient(), 2.0)]


async def closed(transport: Transport) -> None:
    if isinstance(transport, StreamTransport):
        await transport.close()
    elif isinstance(transport, HttpxTransport):
        await transport.client.aclose()
        await asyncio.sleep(0.01)  # let the event loop finish closing httpx's sockets


@pytest.mark.parametrize("make", transports(), ids=["stream", "httpx"])
def test_json_post_is_sent_whole_and_its_status_reported(make: Callable[[], Transport]) -> None:
    async def scenario() -> tuple[Answer, Seen]:
        async with server(fixed(b"HTTP/1.1 500 Oops\r\ncontent-length: 0\r\n\r\n")) as (base, seen):
            transport = make()
            answer = await transport.send(Outgoing("POST", f"{base}/terminal?tenant=7", PAYLOAD))
            await closed(transport)
            return answer, seen

    answer, seen = asyncio.run(scenario())
    assert answer == Answer(status=500)
    head, _, body = seen.requests[0].partition(b"\r\n\r\n")
    assert head.startswith(b"POST /terminal?tenant=7 HTTP/1.1\r\n")
    assert b"content-type: application/json" in head.lower()
    assert body == b'{"callID": 7, "event": "call-ended", "notes": null}'


@pytest.mark.parametrize("make", transports(), ids=["stream", "httpx"])
def test_get_carries_the_payload_in_the_query_and_form_in_the_body(make: Callable[[], Transport]) -> None:
    data = {"agent_id": "136", "agent_status": "available", "extension_name": "000*094@ringme.ru"}

    async def scenario() -> Seen:
        async with server(fixed(OK)) as (base, seen):
            transport = make()
            assert await transport.send(Outgoing("GET", f"{base}/agents", data, "query")) == Answer(
                status=200
            )
            assert await transport.send(Outgoing("POST", f"{base}/agents", data, "form")) == Answer(
                status=200
            )
            await closed(transport)
            return seen

    seen = asyncio.run(scenario())
    assert seen.requests[0].startswith(
        b"GET /agents?agent_id=136&agent_status=available&extension_name=000%2A094%40ringme.ru HTTP/1.1"
    )
    assert seen.requests[1].endswith(
        b"\r\n\r\nagent_id=136&agent_status=available&extension_name=000%2A094%40ringme.ru"
    )
    assert b"application/x-www-form-urlencoded" in seen.requests[1]


def test_connections_are_kept_alive_and_reused() -> None:
    async def scenario() -> Seen:
        async with server(fixed(OK)) as (base, seen):
            transport = StreamTransport(2.0)
            for _ in range(5):
                assert await transport.send(Outgoing("POST", f"{base}/t", PAYLOAD)) == Answer(status=200)
            await closed(transport)
            return seen

    seen = asyncio.run(scenario())
    assert (len(seen.requests), seen.connections) == (5, 1)


def test_a_server_that_closes_or_streams_its_answer_is_read_correctly() -> None:
    chunked = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"
    to_close = b"HTTP/1.1 202 Accepted\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"

    async def scenario() -> tuple[list[Answer], Seen, Seen]:
        transport = StreamTransport(2.0)
        async with (
            server(fixed(chunked)) as (base, chunks),
            server(fixed(to_close), close_after=True) as (other, closes),
        ):
            answers = [await transport.send(Outgoing("POST", f"{base}/t", PAYLOAD)) for _ in range(2)]
            answers += [await transport.send(Outgoing("POST", f"{other}/t", PAYLOAD)) for _ in range(2)]
            await closed(transport)
            return answers, chunks, closes

    answers, chunks, closes = asyncio.run(scenario())
    assert answers == [Answer(status=200)] * 2 + [Answer(status=202)] * 2
    assert chunks.connections == 1 and closes.connections == 2


@pytest.mark.parametrize("make", transports(), ids=["stream", "httpx"])
def test_refused_connections_and_timeouts_are_answers_not_exceptions(make: Callable[[], Transport]) -> None:
    async def scenario() -> tuple[Answer, Answer]:
        async with server(fixed(OK)) as (base, _):
            gone = base  # nothing listens there once the server is gone
        transport = make()
        refused = await transport.send(Outgoing("POST", f"{gone}/t", PAYLOAD))
        async with server(fixed(OK), delay=0.5) as (slow, _):
            quick = (
                StreamTransport(0.1)
                if isinstance(transport, StreamTransport)
                else HttpxTransport(httpx.AsyncClient(), 0.1)
            )
            timed_out = await quick.send(Outgoing("POST", f"{slow}/t", PAYLOAD))
        await closed(transport)
        await closed(quick)
        return refused, timed_out

    refused, timed_out = asyncio.run(scenario())
    assert refused == Answer(error="connection refused")
    assert timed_out == Answer(error="timed out after 0.1 s")


def test_only_http_urls_are_delivered() -> None:
    answer = asyncio.run(StreamTransport(1.0).send(Outgoing("POST", "ftp://example.com/x", PAYLOAD)))
    assert answer.error is not None and "only http and https" in answer.error
