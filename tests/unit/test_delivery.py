"""The delivery transports against crafted raw servers on 127.0.0.1: each answer is written byte for byte,
so that interim answers, chunked trailers, closes and stray bytes come exactly when a test says."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
import pytest

from mockserver.core.outbox import Answer, Outgoing, Transport
from mockserver.delivery import BODY_KEPT, HttpxTransport, StreamTransport


@dataclass
class Seen:
    requests: list[bytes] = field(default_factory=list)
    connections: int = 0


Reply = Callable[[int], bytes | None]  # request number (from 1) -> raw bytes to write; None: hang up


def fixed(raw: bytes) -> Reply:
    return lambda _n: raw


def numbered(n: int) -> bytes:
    """An answer that says which request it answers."""
    body = f"answer {n}".encode()
    return b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)


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
                raw = reply(len(seen.requests))
                if raw is None:
                    break
                writer.write(raw)
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


def status_and_body(answer: Answer) -> tuple[int | None, str | None, str | None]:
    return answer.status, answer.body, answer.error


def send_all(reply: Reply, urls: list[str], **options: bool) -> tuple[list[Answer], Seen]:
    """Each path in ``urls`` sent in turn through one StreamTransport to one crafted server."""

    async def scenario() -> tuple[list[Answer], Seen]:
        async with server(reply, **options) as (base, seen):
            transport = StreamTransport(2.0)
            answers = [await transport.send(Outgoing("POST", base + url, PAYLOAD)) for url in urls]
            await closed(transport)
            return answers, seen

    return asyncio.run(scenario())


@pytest.mark.parametrize("make", transports(), ids=["stream", "httpx"])
def test_json_post_is_sent_whole_and_its_answer_recorded(make: Callable[[], Transport]) -> None:
    raw = b"HTTP/1.1 500 Oops\r\ncontent-type: text/plain\r\nx-trace: a\r\nx-trace: b\r\ncontent-length: 4\r\n\r\nbusy"

    async def scenario() -> tuple[Answer, Seen]:
        async with server(fixed(raw)) as (base, seen):
            transport = make()
            answer = await transport.send(Outgoing("POST", f"{base}/terminal?tenant=7", PAYLOAD))
            await closed(transport)
            return answer, seen

    answer, seen = asyncio.run(scenario())
    assert (answer.status, answer.error, answer.body, answer.body_truncated) == (500, None, "busy", False)
    assert answer.headers is not None
    assert (answer.headers["content-type"], answer.headers["x-trace"]) == ("text/plain", "a, b")
    assert answer.latency_ms is not None and answer.latency_ms > 0
    head, _, body = seen.requests[0].partition(b"\r\n\r\n")
    assert head.startswith(b"POST /terminal?tenant=7 HTTP/1.1\r\n")
    assert b"content-type: application/json" in head.lower()
    assert body == b'{"callID": 7, "event": "call-ended", "notes": null}'


@pytest.mark.parametrize("make", transports(), ids=["stream", "httpx"])
def test_get_carries_the_payload_in_the_query_and_form_in_the_body(make: Callable[[], Transport]) -> None:
    data = {"agent_id": "136", "agent_status": "available", "extension_name": "000*094@ringme.ru"}

    async def scenario() -> tuple[list[Answer], Seen]:
        async with server(fixed(OK)) as (base, seen):
            transport = make()
            answers = [
                await transport.send(Outgoing("GET", f"{base}/agents", data, "query")),
                await transport.send(Outgoing("POST", f"{base}/agents", data, "form")),
            ]
            await closed(transport)
            return answers, seen

    answers, seen = asyncio.run(scenario())
    assert [a.status for a in answers] == [200, 200]
    assert seen.requests[0].startswith(
        b"GET /agents?agent_id=136&agent_status=available&extension_name=000%2A094%40ringme.ru HTTP/1.1"
    )
    assert seen.requests[1].endswith(
        b"\r\n\r\nagent_id=136&agent_status=available&extension_name=000%2A094%40ringme.ru"
    )
    assert b"application/x-www-form-urlencoded" in seen.requests[1]


@pytest.mark.parametrize("make", transports(), ids=["stream", "httpx"])
def test_booleans_go_into_forms_and_queries_as_the_checkers_read_them(make: Callable[[], Transport]) -> None:
    data = {"busy": True, "paused": False, "left_out": None}

    async def scenario() -> Seen:
        async with server(fixed(OK)) as (base, seen):
            transport = make()
            await transport.send(Outgoing("GET", f"{base}/q", data, "query"))
            await transport.send(Outgoing("POST", f"{base}/f", data, "form"))
            await closed(transport)
            return seen

    seen = asyncio.run(scenario())
    assert seen.requests[0].startswith(b"GET /q?busy=true&paused=false HTTP/1.1")
    assert seen.requests[1].endswith(b"\r\n\r\nbusy=true&paused=false")


def test_connections_are_kept_alive_and_reused() -> None:
    answers, seen = send_all(numbered, ["/t"] * 5)
    assert [a.body for a in answers] == [f"answer {n}" for n in range(1, 6)]
    assert (len(seen.requests), seen.connections) == (5, 1)


def test_interim_answers_are_not_taken_for_the_answer_nor_left_for_the_next_delivery() -> None:
    def reply(n: int) -> bytes:
        if n == 1:
            return (
                b"HTTP/1.1 100 Continue\r\n\r\n"
                b"HTTP/1.1 103 Early Hints\r\nlink: </style.css>; rel=preload\r\n\r\n"
                b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 4\r\n\r\nfail"
            )
        return numbered(n)

    answers, seen = send_all(reply, ["/first", "/second"])
    assert [status_and_body(a) for a in answers] == [(500, "fail", None), (200, "answer 2", None)]
    assert answers[0].headers == {"content-length": "4"}, "the final answer's headers, not the 103's"
    assert seen.connections == 1


@pytest.mark.parametrize("make", transports(), ids=["stream", "httpx"])
def test_url_userinfo_goes_as_basic_credentials_and_never_into_host(make: Callable[[], Transport]) -> None:
    async def scenario() -> Seen:
        async with server(fixed(OK)) as (base, seen):
            transport = make()
            netloc = base.removeprefix("http://")
            answer = await transport.send(Outgoing("POST", f"http://us%40er:p%3Ass@{netloc}/t", PAYLOAD))
            assert answer.status == 200
            await closed(transport)
            return seen

    seen = asyncio.run(scenario())
    head = seen.requests[0].partition(b"\r\n\r\n")[0].decode()
    lines = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in head.split("\r\n")[1:])}
    assert "@" not in lines["host"] and lines["host"].startswith("127.0.0.1:")
    assert lines["authorization"] == "Basic " + base64.b64encode(b"us@er:p:ss").decode()


def test_chunked_answers_and_their_trailers_are_read_to_the_end() -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
        b"3;ext=1\r\nabc\r\n4\r\ndefg\r\n0\r\nx-checksum: 42\r\nx-more: yes\r\n\r\n"
    )

    answers, seen = send_all(lambda n: chunked if n == 1 else numbered(n), ["/t", "/t", "/t"])
    assert [status_and_body(a) for a in answers] == [
        (200, "abcdefg", None),
        (200, "answer 2", None),
        (200, "answer 3", None),
    ]
    assert seen.connections == 1, "the trailers were read, so the connection stays in step"


def test_connection_close_answers_open_a_new_connection_each_time() -> None:
    def reply(n: int) -> bytes:
        body = f"closing {n}".encode()
        return b"HTTP/1.1 202 Accepted\r\nconnection: close\r\ncontent-length: %d\r\n\r\n%s" % (
            len(body),
            body,
        )

    answers, seen = send_all(reply, ["/t"] * 3, close_after=True)
    assert [status_and_body(a) for a in answers] == [(202, f"closing {n}", None) for n in (1, 2, 3)]
    assert seen.connections == 3


def test_an_answer_that_runs_to_the_end_of_the_connection_is_read_whole() -> None:
    answers, seen = send_all(
        lambda n: b"HTTP/1.0 200 OK\r\n\r\nuntil close %d" % n, ["/t", "/t"], close_after=True
    )
    assert [a.body for a in answers] == ["until close 1", "until close 2"]
    assert seen.connections == 2


def test_a_kept_alive_connection_the_receiver_closed_is_replaced_and_nothing_is_lost() -> None:
    # The server answers request 1, then hangs up on request 2 without a byte: the sender cannot tell
    # this from a close that crossed its request, so it sends again on a fresh connection.
    answers, seen = send_all(lambda n: None if n == 2 else numbered(n), ["/a", "/b", "/c"])
    assert [status_and_body(a) for a in answers] == [
        (200, "answer 1", None),
        (200, "answer 3", None),
        (200, "answer 4", None),
    ]
    paths = [r.split(b" ")[1] for r in seen.requests]
    assert paths == [b"/a", b"/b", b"/b", b"/c"]
    assert seen.connections == 2


def test_a_receiver_that_closes_after_each_answer_without_saying_so() -> None:
    answers, seen = send_all(numbered, ["/a", "/b", "/c"], close_after=True)
    assert [a.body for a in answers] == ["answer 1", "answer 2", "answer 3"]
    assert seen.connections == 3 and len(seen.requests) == 3


def test_bytes_after_an_answer_are_never_read_as_the_next_delivery_s_answer() -> None:
    stray = b"HTTP/1.1 500 Stray\r\ncontent-length: 0\r\n\r\n"
    answers, seen = send_all(lambda n: numbered(n) + stray if n == 1 else numbered(n), ["/a", "/b"])
    assert [status_and_body(a) for a in answers] == [(200, "answer 1", None), (200, "answer 2", None)]
    assert seen.connections == 2, "a connection holding unasked-for bytes is not reused"


def test_only_the_first_2_kib_of_a_long_body_is_kept() -> None:
    body = ("é" * 3000).encode()  # two bytes each: 6,000 bytes
    raw = b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)
    answers, seen = send_all(lambda n: raw if n == 1 else numbered(n), ["/a", "/b"])
    assert answers[0].body == "é" * (BODY_KEPT // 2) and answers[0].body_truncated
    assert answers[1].body == "answer 2" and seen.connections == 1


def test_an_answer_that_is_not_http_is_an_error_not_an_exception() -> None:
    answers, _ = send_all(fixed(b"SSH-2.0-OpenSSH_9.6\r\n\r\n"), ["/t"])
    assert answers[0].status is None and answers[0].error is not None
    assert "not valid HTTP/1.1" in answers[0].error


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


@pytest.mark.parametrize("make", transports(), ids=["stream", "httpx"])
def test_only_http_and_https_urls_are_delivered_and_the_refusal_is_final(
    make: Callable[[], Transport],
) -> None:
    async def scenario() -> list[Answer]:
        transport = make()
        answers = [
            await transport.send(Outgoing("POST", url, PAYLOAD))
            for url in ("ftp://127.0.0.1/x", "file:///etc/passwd", "http:///no-host", "http://h:99999/")
        ]
        await closed(transport)
        return answers

    for answer in asyncio.run(scenario()):
        assert answer.final and answer.status is None and answer.error is not None
    ftp = asyncio.run(scenario())[0].error
    assert ftp is not None and "ftp:// is not allowed, only http and https" in ftp
