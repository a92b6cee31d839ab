"""``mockline listen``: validate, print, record, and fail the first attempts on request."""

from __future__ import annotations

import asyncio
import copy
import gzip
import io
import json
import time
import zlib
from collections.abc import Iterator

import httpx
import pytest

from contracts.listen import ListenOptions, create_listener
from mockserver.cli import main

RYNG_TERMINAL = {"callID": 5012, "callLogID": 88210, "callbackType": "terminal", "event": "call-ended"}
RINGME_LOGIN = {"agent_id": "136", "agent_status": "available", "agent_type": "local", "event_source": "api"}


def client(options: ListenOptions, out: io.StringIO) -> httpx.Client:
    from starlette.testclient import TestClient

    return TestClient(create_listener(options, out=out), base_url="http://listen")


@pytest.fixture
def out() -> io.StringIO:
    return io.StringIO()


def test_valid_and_invalid_deliveries_are_printed_and_recorded(out: io.StringIO) -> None:
    with client(ListenOptions(specs=["ryng", "ringme"]), out) as http:
        assert http.post("/hooks/terminal", json=RYNG_TERMINAL).status_code == 200
        assert http.post("/hooks/terminal", json={**RYNG_TERMINAL, "callID": "x"}).status_code == 200
        assert http.get("/agent", params=RINGME_LOGIN).status_code == 200
        received = http.get("/received").json()["received"]
        assert [(e["api"], e["valid"]) for e in received] == [
            ("ryng", True),
            ("ryng", False),
            ("ringme", True),
        ]
        assert received[0]["event"] == "call-ended" and received[2]["kind"] == "deliverAgentEventByGet"
        assert any("callID" in p and "integer" in p for p in received[1]["problems"])
        assert (
            http.get("/received", params={"api": "ringme"}).json()["received"][0]["payload"] == RINGME_LOGIN
        )
        assert http.delete("/received").status_code == 200
        assert http.get("/received").json()["received"] == []
    printed = out.getvalue()
    assert (
        "POST /hooks/terminal -> 200  ryng terminal callback of appendCampaign or createCampaign or "
        "makePreviewCall (name the operation in the URL's path to tell) (event call-ended, attempt 1): valid"
        in printed
    )
    assert "INVALID" in printed and "why: callID: 'x' is not of type 'integer'" in printed


def test_the_first_attempts_fail_so_that_retries_can_be_watched(out: io.StringIO) -> None:
    with client(ListenOptions(specs=["ryng"], fail_first=2), out) as http:
        statuses = [http.post("/t", json=RYNG_TERMINAL).status_code for _ in range(3)]
        other = http.post("/t", json={**RYNG_TERMINAL, "callID": 1}).status_code
        attempts = [e["attempt"] for e in http.get("/received").json()["received"]]
    assert statuses == [500, 500, 200] and other == 500
    assert attempts == [1, 2, 3, 1]


def test_a_timed_out_attempt_hangs_past_the_senders_timeout(out: io.StringIO) -> None:
    from tests.fixtures.verify import serving

    app = create_listener(ListenOptions(specs=["ryng"], timeout_first=1, hang_seconds=2), out=out)
    with serving(app) as url:
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(url + "/t", json=RYNG_TERMINAL, timeout=0.3)
        assert httpx.post(url + "/t", json=RYNG_TERMINAL).status_code == 200
        entries = httpx.get(url + "/received").json()["received"]
    assert [e["answered"] for e in entries] == ["no answer for 2 s", 200]


def test_cli_listen_rejects_a_bad_port(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["listen", "--port", "0"]) == 2
    assert "not a port number" in capsys.readouterr().err


def test_payload_of_a_form_delivery_is_parsed(out: io.StringIO) -> None:
    with client(ListenOptions(specs=["ringme"]), out) as http:
        http.post("/agent", data=RINGME_LOGIN)
        [entry] = http.get("/received").json()["received"]
    assert entry["kind"] == "deliverAgentEventByPost", json.dumps(entry)
    assert entry["payload"]["agent_status"] == "available"


README_PUSH = {
    "agentMapping": "global",
    "agents": ["asha.verma@example.com"],
    "customerData": {"jsonData": [{"number": "+919845555000", "customField1": "Asha"}]},
}


def test_the_readme_transactional_push_is_labelled_by_the_operation_that_registered_it(
    mock_server, callback_sink
) -> None:
    base = callback_sink.base_url
    body = copy.deepcopy(README_PUSH)
    body["customerData"]["connectCallbackUrl"] = base + "/pushTransactional/connect"
    body["customerData"]["terminalCallbackUrl"] = base + "/pushTransactional/terminal"
    answer = mock_server.client.post(
        "/ryng/rest-api/v1/progressive/queue/12/transactional",
        json=body,
        headers={"x-access-token": "mockline"},
    )
    assert answer.status_code == 200, answer.text
    mock_server.advance(600)
    entries = callback_sink.assert_received(api="ryng", count=2)
    assert [(e["kind"], e["registered_by"], e["label"], e["valid"]) for e in entries] == [
        (
            "pushTransactionalConnectCallback",
            ["pushTransactional"],
            "pushTransactional's connect callback",
            True,
        ),
        (
            "pushTransactionalTerminalCallback",
            ["pushTransactional"],
            "pushTransactional's terminal callback",
            True,
        ),
    ]


def test_a_path_naming_only_the_callback_never_picks_the_first_schema_that_fits(out: io.StringIO) -> None:
    queue_terminal = {"queueID": 12, "callID": 1, "callLogID": 2}
    with client(ListenOptions(specs=["ryng"]), out) as http:
        http.post("/terminal", json=queue_terminal)
        http.post("/appendToQueue/terminal", json=queue_terminal)
        http.post("/appendCampaign/terminal", json=queue_terminal)  # a queue payload where a campaign's goes
        first, named, wrong = http.get("/received").json()["received"]
    # three operations register a queue's terminal callback, with one schema: the path alone cannot tell
    assert first["registered_by"] == ["appendToQueue", "createQueue", "pushTransactional"]
    assert first["valid"] and "name the operation in the URL's path" in first["label"]
    assert (named["kind"], named["registered_by"], named["valid"]) == (
        "appendToQueueTerminalCallback",
        ["appendToQueue"],
        True,
    )
    # labelled by the registration its URL names, and invalid for it (not relabelled as a queue's)
    assert (wrong["kind"], wrong["valid"]) == ("appendCampaignTerminalCallback", False)


# ---------------------------------------------------------------------------------------------------------
# Hostile and odd deliveries: each answered (never a 500), recorded, and judged invalid saying why


TERMINAL_URL = "/createCampaign/terminal"  # where RYNG_TERMINAL is valid
JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(
    ("method", "path", "headers", "body", "why"),
    [
        ("POST", TERMINAL_URL, JSON, b"{not json", "the body is not JSON"),
        ("POST", TERMINAL_URL, JSON, b'{"callID": "\xff\xfe"}', "the body is not UTF-8"),
        ("POST", TERMINAL_URL, JSON, b"[" * 100_000 + b"]" * 100_000, "nested more than 64 levels"),
        ("POST", TERMINAL_URL, JSON, b"[" * 70 + b"]" * 70, "nested more than 64 levels"),
        ("POST", TERMINAL_URL, JSON, b'{"callID": NaN, "callLogID": 1}', "NaN is not JSON"),
        ("POST", TERMINAL_URL, JSON, b'{"callID": 1e400, "callLogID": 1}', "too large for a double"),
        ("POST", TERMINAL_URL, JSON, b'{"callID": "\\ud800"}', "'\\ud800' is not of type 'integer'"),
        ("POST", TERMINAL_URL, {}, json.dumps(RYNG_TERMINAL).encode(), "no content-type header"),
        ("POST", TERMINAL_URL, {**JSON, "content-encoding": "br"}, b"\x1b\x00", "content-encoding br"),
        ("POST", TERMINAL_URL, {**JSON, "content-encoding": "gzip"}, b"not gzip", "not valid gzip"),
        ("OPTIONS", TERMINAL_URL, {}, b"", "sent with OPTIONS"),
        (
            "POST",
            "/agent",
            {"content-type": "application/x-www-form-urlencoded"},
            b"agent_id=\xff",
            "not UTF-8",
        ),
    ],
    ids=[
        "not-json",
        "not-utf8",
        "nested-100000",
        "nested-70",
        "nan",
        "1e400",
        "lone-surrogate",
        "no-content-type",
        "brotli",
        "bad-gzip",
        "options",
        "form-not-utf8",
    ],
)
def test_a_hostile_delivery_is_answered_recorded_and_judged_invalid_saying_why(
    out: io.StringIO, method: str, path: str, headers: dict[str, str], body: bytes, why: str
) -> None:
    with client(ListenOptions(specs=["ryng", "ringme"]), out) as http:
        answer = http.request(method, path, headers=headers, content=body)
        assert answer.status_code == 200, answer.text
        listed = http.get("/received")  # the delivery must not make the list unreadable
        assert listed.status_code == 200, listed.text
        [entry] = listed.json()["received"]
        again = http.post(TERMINAL_URL, json=RYNG_TERMINAL)  # and the listener still works
        assert again.status_code == 200 and again.json()["valid"] is True
    assert entry["valid"] is False
    assert any(why in problem for problem in entry["problems"]), entry["problems"]
    assert "why: " in out.getvalue()


def test_a_wrong_content_type_is_recorded_with_the_text_and_why(out: io.StringIO) -> None:
    with client(ListenOptions(specs=["ryng"]), out) as http:
        http.post(TERMINAL_URL, content=json.dumps(RYNG_TERMINAL), headers={"content-type": "text/plain"})
        [entry] = http.get("/received").json()["received"]
    assert entry["valid"] is False and entry["payload"] == json.dumps(RYNG_TERMINAL)
    assert any("text/plain" in p and "application/json" in p for p in entry["problems"])


def test_a_gzip_body_is_decoded_then_judged(out: io.StringIO) -> None:
    body = gzip.compress(json.dumps(RYNG_TERMINAL).encode())
    with client(ListenOptions(specs=["ryng"]), out) as http:
        answer = http.post(TERMINAL_URL, content=body, headers={**JSON, "content-encoding": "gzip"})
        [entry] = http.get("/received").json()["received"]
    assert answer.status_code == 200 and entry["valid"] is True, entry["problems"]
    assert entry["payload"] == RYNG_TERMINAL and entry["headers"]["content-encoding"] == "gzip"


@pytest.mark.parametrize("wbits", [15, -15], ids=["zlib-wrapped", "raw"])
def test_a_deflate_body_is_decoded_either_way_it_is_sent(out: io.StringIO, wbits: int) -> None:
    deflater = zlib.compressobj(wbits=wbits)
    body = deflater.compress(json.dumps(RYNG_TERMINAL).encode()) + deflater.flush()
    with client(ListenOptions(specs=["ryng"]), out) as http:
        http.post(TERMINAL_URL, content=body, headers={**JSON, "content-encoding": "deflate"})
        [entry] = http.get("/received").json()["received"]
    assert entry["valid"] is True and entry["payload"] == RYNG_TERMINAL, entry["problems"]


def test_a_gzip_bomb_is_not_inflated_past_the_body_limit(out: io.StringIO) -> None:
    bomb = gzip.compress(b"[" + b"0," * 50_000_000 + b"0]")  # 100 MB of JSON in about 100 KB
    with client(ListenOptions(specs=["ryng"], max_body_bytes=1_000_000), out) as http:
        answer = http.post(TERMINAL_URL, content=bomb, headers={**JSON, "content-encoding": "gzip"})
        [entry] = http.get("/received").json()["received"]
    assert answer.status_code == 413
    assert entry["valid"] is False and entry["payload"] is None
    assert any("more than 1000000 bytes" in p for p in entry["problems"]), entry["problems"]


def test_a_body_past_the_limit_is_answered_413_unread_and_recorded(out: io.StringIO) -> None:
    from tests.fixtures.verify import serving

    huge = json.dumps({**RYNG_TERMINAL, "pad": "x" * 12_000_000}).encode()

    def chunks() -> Iterator[bytes]:  # no content-length: chunked transfer
        for start in range(0, len(huge), 65_536):
            yield huge[start : start + 65_536]

    app = create_listener(ListenOptions(specs=["ryng"]), out=out)
    with serving(app) as url:
        announced = httpx.post(url + TERMINAL_URL, content=huge, headers=JSON, timeout=30)
        streamed = _post_streamed(url + TERMINAL_URL, chunks())
        entries = httpx.get(url + "/received").json()["received"]
        assert httpx.post(url + TERMINAL_URL, json=RYNG_TERMINAL).json()["valid"] is True
    assert announced.status_code == 413 and "1048576" in announced.json()["error"]
    assert streamed == 413
    assert [(e["valid"], e["payload"]) for e in entries] == [(False, None), (False, None)]
    assert all("more than 1048576 bytes" in e["problems"][0] for e in entries), entries
    assert len(out.getvalue()) < 5_000  # nothing of the 12 MB is printed


def _post_streamed(url: str, body: Iterator[bytes]) -> int:
    """The status a chunked upload is answered with, read even when the server stops reading it early."""
    import socket

    host, port = url.removeprefix("http://").split("/", 1)[0].split(":")
    path = "/" + url.removeprefix("http://").split("/", 1)[1]
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        head = f"POST {path} HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\n"
        sock.sendall((head + "transfer-encoding: chunked\r\n\r\n").encode())
        try:
            for chunk in body:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server stopped reading: its answer is already on the way
        answer = sock.recv(4096).split(b" ", 2)
    return int(answer[1])


def test_a_sender_that_hangs_up_mid_body_is_recorded(out: io.StringIO) -> None:
    import socket

    from tests.fixtures.verify import serving

    with serving(create_listener(ListenOptions(specs=["ryng"]), out=out)) as url:
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            head = f"POST {TERMINAL_URL} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
            sock.sendall((head + "content-length: 1000\r\n\r\n").encode() + b'{"callID": 5012')
        deadline = time.monotonic() + 10
        while (
            not (entries := httpx.get(url + "/received").json()["received"]) and time.monotonic() < deadline
        ):
            time.sleep(0.05)
    [entry] = entries
    assert entry["valid"] is False and entry["payload"] is None
    assert "the sender closed the connection after 15 bytes of the body" in entry["problems"][0]


def test_a_chunked_body_is_read_whole(out: io.StringIO) -> None:
    from tests.fixtures.verify import serving

    text = json.dumps(RYNG_TERMINAL).encode()
    with serving(create_listener(ListenOptions(specs=["ryng"]), out=out)) as url:
        answer = httpx.post(url + TERMINAL_URL, content=iter([text[:10], text[10:]]), headers=JSON)
    assert answer.status_code == 200 and answer.json()["valid"] is True


def test_hundreds_of_concurrent_deliveries_are_each_recorded_once(out: io.StringIO) -> None:
    from tests.fixtures.verify import serving

    async def send_all(url: str) -> list[int]:
        limits = httpx.Limits(max_connections=300)
        async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
            sent = [http.post(TERMINAL_URL, json={**RYNG_TERMINAL, "callID": n}) for n in range(300)]
            return [r.status_code for r in await asyncio.gather(*sent)]

    with serving(create_listener(ListenOptions(specs=["ryng"], quiet=True), out=out)) as url:
        statuses = asyncio.run(send_all(url))
        entries = httpx.get(url + "/received").json()["received"]
    assert statuses == [200] * 300
    assert [e["id"] for e in entries] == list(range(1, 301))
    assert sorted(e["payload"]["callID"] for e in entries) == list(range(300))


def test_printed_problems_and_payloads_are_clipped(out: io.StringIO) -> None:
    with client(ListenOptions(specs=["ryng"]), out) as http:
        http.post(TERMINAL_URL, json=list(range(100_000)))
        http.post(TERMINAL_URL, json={**RYNG_TERMINAL, "notes": "n" * 100_000})
        entries = http.get("/received").json()["received"]
    assert all(len(p) <= 400 for e in entries for p in e["problems"])
    assert len(out.getvalue()) < 5_000


# ---------------------------------------------------------------------------------------------------------
# A long run: the newest deliveries are kept, the oldest dropped and counted


def test_past_max_received_the_oldest_deliveries_are_dropped_and_counted(out: io.StringIO) -> None:
    with client(ListenOptions(specs=["ryng", "ringme"], max_received=3), out) as http:
        for n in range(4):
            http.post(TERMINAL_URL, json={**RYNG_TERMINAL, "callID": n})
        http.get("/agent", params=RINGME_LOGIN)
        listed = http.get("/received").json()
        ryng = http.get("/received", params={"api": "ryng"}).json()
    assert [e["id"] for e in listed["received"]] == [3, 4, 5]
    assert [e["payload"].get("callID") for e in listed["received"]] == [2, 3, None]
    assert (listed["dropped"], listed["max_received"]) == (2, 3)
    assert [e["id"] for e in ryng["received"]] == [3, 4] and ryng["dropped"] == 2


def test_the_bodies_held_are_bounded_too(out: io.StringIO) -> None:
    big = {**RYNG_TERMINAL, "notes": "n" * 400_000}
    with client(ListenOptions(specs=["ryng"], max_held_bytes=1_000_000, quiet=True), out) as http:
        for n in range(5):
            http.post(TERMINAL_URL, json={**big, "callID": n})
        listed = http.get("/received").json()
    assert [e["id"] for e in listed["received"]] == [4, 5] and listed["dropped"] == 3


def test_the_headers_and_queries_held_count_too(out: io.StringIO) -> None:
    with client(ListenOptions(specs=["ringme"], max_held_bytes=1_000_000, quiet=True), out) as http:
        for n in range(5):
            http.get(
                "/agent", params={**RINGME_LOGIN, "pad": str(n) * 50_000}, headers={"x-pad": "p" * 300_000}
            )
        listed = http.get("/received").json()
    assert [e["id"] for e in listed["received"]] == [4, 5] and listed["dropped"] == 3


def test_attempts_are_counted_in_bounded_memory() -> None:
    from contracts.listen import Recorder

    recorder = Recorder(max_entries=10)
    for n in range(1_000):
        recorder.attempt(str(n))
    assert recorder.attempt("999") == 2 and len(recorder._attempts) <= 1_000 // 10


def test_cli_listen_rejects_a_cap_below_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["listen", "--port", "9", "--max-received", "0"]) == 2
    assert "--max-received" in capsys.readouterr().err
    assert main(["listen", "--port", "9", "--max-body-bytes", "0"]) == 2
    assert "--max-body-bytes" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------------------
# The truth of the label and the verdict


def test_an_invalid_delivery_to_a_url_naming_no_registration_is_not_pinned_on_one(out: io.StringIO) -> None:
    with client(ListenOptions(specs=["ryng", "ringme"]), out) as http:
        http.get("/agent", params={**RINGME_LOGIN, "agent_status": "sleepy"})
        http.post("/deliverAgentEventByPost", json=RINGME_LOGIN)  # JSON where ringme posts a form
        http.post("/terminal", json={"queueID": 12, "callID": "x"})
        by_get, by_post, terminal = http.get("/received").json()["received"]
    ringme = [
        "createLocalAgentEvent",
        "createRemoteAgentEvent",
        "updateLocalAgentEvent",
        "updateRemoteAgentEvent",
    ]
    assert by_get["registered_by"] == ringme and "name the operation" in by_get["label"]
    assert by_post["registered_by"] == ringme and not by_post["valid"]
    assert terminal["registered_by"] == ["appendToQueue", "createQueue", "pushTransactional"]
    assert "name the operation" in terminal["label"] and not terminal["valid"]
    assert "agentEvent callback of createLocalAgentEvent or" in out.getvalue()


def test_a_query_parameter_problem_names_the_parameter(out: io.StringIO) -> None:
    with client(ListenOptions(specs=["ringme"]), out) as http:
        http.get("/createLocalAgentEvent/agent", params={**RINGME_LOGIN, "agent_status": "sleepy"})
        [entry] = http.get("/received").json()["received"]
    assert entry["problems"] == ["agent_status: 'sleepy' is not one of ['available', 'logged_out']"]


@pytest.mark.parametrize("by", ["GET", "POST"])
def test_a_field_sent_twice_is_not_one_value(out: io.StringIO, by: str) -> None:
    twice = "agent_id=136&agent_status=available&agent_type=local&event_source=api&agent_status=sleepy"
    with client(ListenOptions(specs=["ringme"]), out) as http:
        if by == "GET":
            http.get("/agent?" + twice)
        else:
            http.post("/agent", content=twice, headers={"content-type": "application/x-www-form-urlencoded"})
        [entry] = http.get("/received").json()["received"]
    assert entry["valid"] is False
    assert any("agent_status is sent 2 times" in p for p in entry["problems"]), entry["problems"]


def test_a_query_webhooks_payload_is_its_query_even_with_a_body(out: io.StringIO) -> None:
    with client(ListenOptions(specs=["ringme"]), out) as http:
        http.request("GET", "/agent", params=RINGME_LOGIN, json={"agent_status": "logged_out"})
        [entry] = http.get("/received").json()["received"]
    assert entry["kind"] == "deliverAgentEventByGet" and entry["valid"] is True
    assert entry["payload"] == RINGME_LOGIN and entry["event"] == "available"


def test_a_connect_payload_at_a_terminal_url_is_judged_as_a_terminal(out: io.StringIO) -> None:
    connect = {"queueID": 12, "callID": 1, "callbackType": "connect", "event": "customer-connected"}
    with client(ListenOptions(specs=["ryng"]), out) as http:
        http.post("/pushTransactional/terminal", json=connect)
        [entry] = http.get("/received").json()["received"]
    assert (entry["kind"], entry["valid"]) == ("pushTransactionalTerminalCallback", False)
    assert "callbackType: 'connect' is not one of ['terminal']" in entry["problems"]
