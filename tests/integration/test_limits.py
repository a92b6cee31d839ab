"""Bad or big input over a real socket: never a 500, never a stall (docs/limits.md).

The mock is served as ``mockline serve`` serves it (``mockserver.listener``), with timeouts of a second
so that each limit shows quickly; raw sockets send what an HTTP library would not.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from typing import Any

import httpx
import orjson
import pytest
from starlette.types import Receive, Scope, Send

from contracts.loaders import load_spec
from mockserver import jsonbody
from tests.integration.limits_support import (
    PUSH,
    TOKEN,
    body_of,
    connect,
    limited,
    read_answer,
    status_of,
)

JSON = {**TOKEN, "content-type": "application/json"}


def _raw(port: int, request: bytes) -> bytes:
    with contextlib.closing(connect(port)) as sock:
        sock.sendall(request)
        return read_answer(sock)


# ---- paths outside every API ----------------------------------------------------------------------


@pytest.mark.slow
def test_paths_outside_the_apis_and_the_control_plane_get_a_json_404_never_a_500() -> None:
    with limited(apis=("ryng",)) as served, httpx.Client(base_url=served.base) as client:
        for method, path in [
            ("GET", "/nothing/here"),
            ("POST", "/nothing"),
            ("DELETE", "/ryngx/rest-api"),
            ("GET", "/ringme/api/ver1.0/client/12/limits/"),  # an API left out with --api
            ("GET", "/diyalog/CheckToken"),
        ]:
            answer = client.request(method, path)
            assert answer.status_code == 404, (method, path, answer.text)
            assert answer.headers["content-type"] == "application/problem+json"
            problem = answer.json()
            assert problem["status"] == 404 and problem["title"] == "Not Found"
            assert path in problem["detail"] and "/ryng" in problem["detail"]
        # What is served still is: the dashboard at / (which takes no POST), the control plane, the specs.
        assert client.get("/").status_code == 200 and "text/html" in client.get("/").headers["content-type"]
        assert client.post("/").status_code == 405
        assert client.get("/__admin/health").status_code == 200
        assert client.get("/ryng/openapi.json").status_code == 200


@pytest.mark.slow
def test_a_fallback_app_takes_over_what_nothing_else_serves() -> None:
    async def dashboard(scope: Scope, receive: Receive, send: Send) -> None:
        body = f"dashboard at {scope['path']}".encode()
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]}
        )
        await send({"type": "http.response.body", "body": body})

    with limited(fallback=dashboard) as served, httpx.Client(base_url=served.base) as client:
        assert client.get("/elsewhere").text == "dashboard at /elsewhere"
        assert "text/html" in client.get("/").headers["content-type"]  # the built-in dashboard comes first
        assert client.get("/__admin/health").json()["status"] == "ok"
        assert client.get("/ryng/nope").json() == {
            "error": True,
            "message": "No operation of the ryng API matches /nope",
        }


# ---- nesting --------------------------------------------------------------------------------------


def _nested(depth: int) -> bytes:
    return b'{"customerData": {"jsonData": [' + b"[" * depth + b"]" * depth + b"]}}"


@pytest.mark.slow
def test_json_nested_at_any_depth_is_a_400_in_the_vendors_shape() -> None:
    with limited() as served, httpx.Client(base_url=served.base, timeout=30) as client:
        for depth in [62, 63, 100, 254, 255, 256, 300, 1023, 1024, 1025, 5000, 200_000]:
            answer = client.post(PUSH, content=_nested(depth), headers=JSON)
            assert answer.status_code == 400, (depth, answer.text)
            body = answer.json()
            assert set(body) == {"error", "message"} and body["error"] is True
            # The body nests three levels around the array: 62 + 3 is within MAX_DEPTH (64) and the
            # schema refuses the array; from 63 on the reader refuses the nesting.
            if depth + 3 <= jsonbody.MAX_DEPTH:
                assert "nested more than" not in body["message"], depth
                assert "jsonData[0]" in body["message"], depth
            else:
                assert f"nested more than {jsonbody.MAX_DEPTH} levels deep" in body["message"], depth


@pytest.mark.slow
def test_deep_nesting_is_refused_in_each_apis_shape() -> None:
    deep = b"[" * 300 + b"]" * 300
    with limited() as served, httpx.Client(base_url=served.base) as client:
        admin = client.post(
            "/__admin/clock/advance", content=deep, headers={"content-type": "application/json"}
        )
        assert admin.status_code == 400
        assert admin.headers["content-type"] == "application/problem+json"
        assert "nested more than" in admin.json()["detail"]
        diyalog = client.post(
            "/diyalog/CreateInteraction",
            content=b'{"a": ' + deep + b"}",
            headers={"content-type": "application/json", "auth-token": "mockline"},
        )
        assert diyalog.status_code == 400
        assert diyalog.json()["success"] is False and "nested more than" in diyalog.json()["errorMessage"]
        # The journal reads what it kept without trouble.
        assert client.get("/__admin/requests").status_code == 200


# ---- the request head -----------------------------------------------------------------------------


@pytest.mark.slow
def test_a_one_megabyte_header_is_refused_with_431_and_the_connection_closed() -> None:
    with limited() as served:
        big = _raw(
            served.port, b"GET /ryng/x HTTP/1.1\r\nhost: a\r\nx-big: " + b"a" * 1_000_000 + b"\r\n\r\n"
        )
        near = b"GET /__admin/health HTTP/1.1\r\nhost: a\r\nconnection: close\r\nx-big: " + b"a" * 60_000
        fits = _raw(served.port, near + b"\r\n\r\n")
        over = _raw(served.port, near + b"a" * 6_000 + b"\r\n\r\n")  # complete, but past 64 KiB
    assert status_of(big) == 431
    assert json.loads(body_of(big)) == {
        "error": True,
        "message": "The request line and headers are larger than 65536 bytes",
    }
    assert status_of(fits) == 200
    assert status_of(over) == 431
    assert b"application/problem+json" in over  # /__admin: the control plane's shape


def _trickle_a_head(sock: socket.socket) -> None:
    """Send a request head a header line every quarter second, ten seconds' worth unless cut off, and
    check it is: answered 408 for the 1 s header limit, long before the trickle would have ended."""
    started = time.monotonic()
    sock.sendall(b"GET /__admin/health HTTP/1.1\r\n")
    with contextlib.suppress(OSError):  # the server closes while we trickle
        for _ in range(40):
            sock.sendall(b"x-slow: 1\r\n")
            time.sleep(0.25)
    answer = read_answer(sock)
    waited = time.monotonic() - started
    assert status_of(answer) == 408
    assert json.loads(body_of(answer))["detail"] == "The request headers did not arrive within 1 s"
    assert waited < 9


@pytest.mark.slow
def test_a_head_sent_slowly_is_cut_off_with_408() -> None:
    with limited() as served, contextlib.closing(connect(served.port)) as sock:
        _trickle_a_head(sock)


@pytest.mark.slow
def test_a_second_head_sent_slowly_on_a_kept_alive_connection_is_cut_off_with_408() -> None:
    # The header timer of a kept-alive connection starts with the next request's first bytes (a head that
    # arrives whole starts none): here the first request is answered, then the second trickles in; it is
    # cut off by the header limit, not left to the 30 s idle timeout.
    with limited(idle_timeout_seconds=30.0) as served, contextlib.closing(connect(served.port)) as sock:
        sock.sendall(b"GET /__admin/health HTTP/1.1\r\nhost: a\r\n\r\n")
        first = b""
        while b"\r\n\r\n" not in first or len(body_of(first)) < _length(first):
            first += sock.recv(65536)
        assert status_of(first) == 200
        _trickle_a_head(sock)


def _length(answer: bytes) -> int:
    for line in answer.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


@pytest.mark.slow
def test_idle_connections_are_closed() -> None:
    with limited() as served:
        with contextlib.closing(connect(served.port)) as sock:
            assert read_answer(sock) == b""  # connected, sent nothing: closed without a word
        with contextlib.closing(connect(served.port)) as sock:
            sock.sendall(b"GET /__admin/health HTTP/1.1\r\nhost: a\r\n\r\n")
            answer = read_answer(sock)  # kept alive, then idle: closed
        assert status_of(answer) == 200


# ---- the body -------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_body_announced_past_the_cap_is_refused_before_it_is_sent() -> None:
    head = (
        f"POST {PUSH} HTTP/1.1\r\nhost: a\r\nx-access-token: mockline\r\ncontent-type: application/json\r\n"
    )
    with limited() as served:
        started = time.monotonic()
        answer = _raw(served.port, (head + "content-length: 200000000\r\n\r\n").encode())
        waited = time.monotonic() - started
    assert status_of(answer) == 413
    assert json.loads(body_of(answer)) == {"error": True, "message": "The request body is larger than 20 MiB"}
    assert b"connection: close" in answer
    assert waited < 0.9  # at once: no body timeout (1 s) was needed


@pytest.mark.slow
def test_a_body_that_does_not_arrive_is_answered_408_in_the_vendors_shape() -> None:
    head = (
        f"POST {PUSH} HTTP/1.1\r\nhost: a\r\nx-access-token: mockline\r\ncontent-type: application/json\r\n"
    )
    with limited() as served:
        answer = _raw(served.port, (head + 'content-length: 1000\r\n\r\n{"customerData": ').encode())
        journal = httpx.get(served.base + "/__admin/requests").json()["requests"]
    assert status_of(answer) == 408
    assert json.loads(body_of(answer)) == {
        "error": True,
        "message": "The request body did not arrive within 1 s",
    }
    assert journal[-1]["status"] == 408 and journal[-1]["operationId"] == "pushTransactional"


@pytest.mark.slow
def test_a_client_that_stops_reading_its_answer_is_disconnected() -> None:
    filler = orjson.dumps({"faults": [{"api": "x" * 200}] * 40_000})  # 8 MB, kept by the journal
    with limited() as served:
        refused = httpx.put(
            served.base + "/__admin/faults", content=filler, headers={"content-type": "application/json"}
        )
        assert refused.status_code == 400
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        with contextlib.closing(sock):
            sock.settimeout(10)
            sock.connect(("127.0.0.1", served.port))
            sock.sendall(b"GET /__admin/requests HTTP/1.1\r\nhost: a\r\n\r\n")
            time.sleep(4)  # read nothing for longer than the 1 s send timeout
            answer = read_answer(sock)
    head, _, body = answer.partition(b"\r\n\r\n")
    announced = int(next(line for line in head.split(b"\r\n") if line.startswith(b"content-length"))[15:])
    assert announced > 8_000_000
    assert len(body) < announced  # the server gave up on us


# ---- a big push -----------------------------------------------------------------------------------


def _rows(count: int) -> list[dict[str, Any]]:
    return [{"number": f"+9198{i:08d}", "customField1": f"Lead {i}"} for i in range(count)]


def _bound() -> int:
    schemas = load_spec("ryng")["components"]["schemas"]
    bounds = {
        schemas[name]["properties"]["jsonData"]["maxItems"]
        for name in schemas
        if name.endswith("CustomerData")
    }
    (bound,) = bounds
    return int(bound)


def test_the_push_bound_is_the_specs_and_at_least_100000() -> None:
    assert _bound() >= 100_000


@pytest.mark.slow
def test_a_push_past_the_bound_gets_rygns_400_and_makes_no_call() -> None:
    bound = _bound()
    body = orjson.dumps({"customerData": {"jsonData": _rows(bound + 1)}})
    with limited(config={"ryng": {"scheduled_call": False}}) as served:
        answer = httpx.post(served.base + PUSH, content=body, headers=JSON, timeout=120)
        calls = httpx.get(served.base + "/__admin/calls", params={"limit": 1}).json()["calls"]
    assert answer.status_code == 400
    refusal = answer.json()
    assert set(refusal) == {"error", "message"} and refusal["error"] is True
    assert "customerData.jsonData" in refusal["message"]
    assert f"has {bound + 1} items; at most {bound} are accepted" in refusal["message"]
    assert calls == []


@pytest.mark.slow
def test_a_csv_sheet_past_the_bound_makes_its_campaign_but_no_call() -> None:
    bound = _bound()
    sheet = "number,Name\n" + "".join(f"+9198{i:08d},Lead {i}\n" for i in range(bound + 1))
    with limited() as served:
        answer = httpx.post(
            served.base + "/ryng/rest-api/v1/campaign",
            headers=TOKEN,
            files={"campaign-sheet": ("leads.csv", sheet, "text/csv")},
            data={"agents": "asha.verma@example.com"},
            timeout=120,
        )
    assert answer.status_code == 200, answer.text
    assert answer.headers["x-mockline-calls"] == "0"
    assert answer.headers["x-mockline-warning"] == (
        f"campaign-sheet: the sheet has more than {bound} leads; at most {bound} are taken"
    )


@pytest.mark.slow
def test_other_requests_are_answered_while_a_push_of_the_largest_size_is_taken_in() -> None:
    bound = _bound()
    body = orjson.dumps({"customerData": {"jsonData": _rows(bound)}})
    calls_seen: list[int] = []  # calls the mock held when each health check came back
    result: dict[str, Any] = {}
    with limited(body_timeout_seconds=60) as served:
        store = served.app.runtime.store

        def push() -> None:
            with httpx.Client(timeout=120) as client:
                result["answer"] = client.post(served.base + PUSH, content=body, headers=JSON)

        pusher = threading.Thread(target=push)
        with httpx.Client(base_url=served.base, timeout=30) as client:
            pusher.start()
            while pusher.is_alive():
                assert client.get("/__admin/health").status_code == 200
                calls_seen.append(store.count("ryng:calls"))
            pusher.join()
    answer = result["answer"]
    assert answer.status_code == 200 and answer.headers["x-mockline-calls"] == str(bound)
    # Some health checks were answered while the push's calls were being made, part of them there.
    assert any(0 < seen < bound for seen in calls_seen), calls_seen[-20:]
