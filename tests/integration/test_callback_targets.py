"""Callback targets over real sockets: the mock served by uvicorn on 127.0.0.1, pushes naming callback
URLs, the clock advanced over HTTP, and what arrived (or did not) read back from /__admin."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from contracts.pytest_plugin import MockServer
from mockserver.app import create_app
from mockserver.settings import Settings
from tests.fixtures import free_port, serving
from tests.integration.dialer_support import Receiver

PUSH = "/ryng/rest-api/v1/progressive/queue/5/transactional"
TOKEN = {"x-access-token": "mockline"}
ANSWER = "+919999555000"  # answered at once: a connect callback, then a terminal one


@contextmanager
def served(settings_port: int | None = None, **settings: Any) -> Iterator[httpx.Client]:
    """The mock on 127.0.0.1 at the port its settings name, as ``mockline serve`` runs it (or, given
    ``settings_port``, at another port than its settings name, as an embedding harness might)."""
    port = free_port()
    named = settings_port or port
    app = create_app(Settings(host="127.0.0.1", port=named, clock="manual", rate_limit=False, **settings))
    with serving(app, port) as url, httpx.Client(base_url=url, timeout=10) as client:
        yield client


def push(client: httpx.Client | MockServer, **urls: str) -> None:
    body = {"customerData": {**urls, "jsonData": [{"number": ANSWER}]}}
    http = client.client if isinstance(client, MockServer) else client
    r = http.post(PUSH, json=body, headers=TOKEN)
    assert r.status_code == 200, r.text


def advance(client: httpx.Client, seconds: float = 3600) -> None:
    client.post("/__admin/clock/advance", json={"seconds": seconds}).raise_for_status()


def deliveries(client: httpx.Client, **params: str) -> list[dict[str, Any]]:
    r = client.get("/__admin/deliveries", params=params)
    r.raise_for_status()
    found: list[dict[str, Any]] = r.json()["deliveries"]
    return found


def calls(client: httpx.Client) -> list[dict[str, Any]]:
    r = client.get("/__admin/calls")
    r.raise_for_status()
    # Not the default state's call scheduled for tomorrow: a reset would make it again.
    found: list[dict[str, Any]] = [c for c in r.json()["calls"] if c["state"] != "scheduled"]
    return found


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "0.0.0.0"])
def test_a_callback_to_the_mock_s_own_reset_resets_nothing_and_fails_with_the_reason(host: str) -> None:
    with Receiver() as receiver, served() as mock:
        port = mock.base_url.port
        push(
            mock,
            connectCallbackUrl=f"http://{host}:{port}/__admin/reset",
            terminalCallbackUrl=receiver.url("/t"),
        )
        advance(mock)
        assert len(calls(mock)) == 1, "the call is still there: nothing was reset"
        (connect,) = deliveries(mock, callback="connect")
        assert connect["state"] == "failed"
        assert "own listening address" in connect["error"]
        assert len(connect["attempts"]) == 1, "a refused target is not retried"
        assert "own listening address" in connect["attempts"][0]["error"]
        (terminal,) = deliveries(mock, callback="terminal")
        assert terminal["state"] == "delivered" and receiver.at("/t"), "other targets are untouched"
        journal = mock.get("/__admin/requests").json()["requests"]
        assert not any(entry.get("path") == "/__admin/reset" for entry in journal)


def test_a_mock_served_elsewhere_than_its_settings_say_learns_its_address_from_its_connections() -> None:
    with served(settings_port=free_port()) as mock:
        push(mock, connectCallbackUrl=f"http://localhost:{mock.base_url.port}/__admin/reset")
        advance(mock)
        assert len(calls(mock)) == 1, "nothing was reset"
        (connect,) = deliveries(mock, callback="connect")
        assert connect["state"] == "failed" and "own listening address" in connect["error"]


def test_the_pytest_plugin_s_mock_refuses_callbacks_to_itself(mock_server: MockServer) -> None:
    push(mock_server, connectCallbackUrl=f"{mock_server.url}/__admin/reset")
    mock_server.advance(3600)
    assert len(calls(mock_server.client)) == 1
    (connect,) = mock_server.deliveries(callback="connect")
    assert connect["state"] == "failed" and "own listening address" in connect["error"]


def test_an_ftp_callback_fails_at_once_with_one_attempt_and_no_retries() -> None:
    with served() as mock:
        push(mock, terminalCallbackUrl="ftp://127.0.0.1/terminal")
        advance(mock)
        advance(mock, 86_400)
        (terminal,) = deliveries(mock, callback="terminal")
        assert terminal["state"] == "failed" and terminal["next_attempt_at"] is None
        assert len(terminal["attempts"]) == 1
        assert "ftp:// is not allowed, only http and https" in terminal["error"]


def test_a_delivered_attempt_keeps_the_receiver_s_answer() -> None:
    with Receiver() as receiver, served() as mock:
        push(mock, terminalCallbackUrl=receiver.url("/t"))
        advance(mock)
        (terminal,) = deliveries(mock, callback="terminal")
        (attempt,) = terminal["attempts"]
        assert attempt["status"] == 200 and attempt["latency_ms"] > 0
        assert attempt["response_headers"]["content-length"] == "0"
        assert attempt["response_body"] == ""


@pytest.mark.parametrize(
    ("allow", "host", "delivered"),
    [
        (("127.0.0.0/8",), "127.0.0.1", True),
        (("10.0.0.0/8", "127.0.0.1"), "127.0.0.1", True),
        (("10.0.0.0/8",), "127.0.0.1", False),
        (("localhost",), "localhost", True),
        (("localhost",), "127.0.0.1", False),
        (("crm.example.com",), "127.0.0.1", False),
    ],
)
def test_callback_allow_restricts_targets_to_the_hosts_and_networks_named(
    allow: tuple[str, ...], host: str, delivered: bool
) -> None:
    with Receiver() as receiver, served(callback_allow=allow) as mock:
        push(mock, terminalCallbackUrl=f"http://{host}:{receiver.port}/t")
        advance(mock)
        (terminal,) = deliveries(mock, callback="terminal")
        assert terminal["state"] == ("delivered" if delivered else "failed")
        assert bool(receiver.at("/t")) is delivered
        if not delivered:
            assert len(terminal["attempts"]) == 1
            assert "not an allowed callback target" in terminal["error"]
            assert ", ".join(allow) in terminal["error"]


def test_callback_allow_never_lets_a_callback_reach_the_mock_itself() -> None:
    with served(callback_allow=("127.0.0.0/8",)) as mock:
        push(mock, connectCallbackUrl=f"http://127.0.0.1:{mock.base_url.port}/__admin/reset")
        advance(mock)
        assert len(calls(mock)) == 1
        (connect,) = deliveries(mock, callback="connect")
        assert connect["state"] == "failed" and "own listening address" in connect["error"]
