"""``mockline listen``: validate, print, record, and fail the first attempts on request."""

from __future__ import annotations

import copy
import io
import json

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
