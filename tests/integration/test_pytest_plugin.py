"""The pytest plugin as a user meets it: a test file using ``mock_server`` and ``callback_sink``, run by pytest."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from contracts.listen import ListenOptions, Recorder, create_listener
from contracts.pytest_plugin import CallbackSink

pytestmark = pytest.mark.slow

USER_TESTS = """
import contextlib
import threading
import time

import httpx
import pytest

RYNG_AUTH = {"x-access-token": "mockline"}


def test_the_mock_answers_and_journals(mock_server):
    url = mock_server.url_for("ryng") + "/rest-api/v1/preview/call"
    response = httpx.post(url, headers=RYNG_AUTH, json={"agentID": 31, "campaignID": 318})
    # Agent 31 is one of the mock's default agents and free in a reset mock: the call starts.
    assert response.status_code == 200, response.text
    assert response.json()["message"].startswith("Call Initiated With SID ")
    assert [e["operationId"] for e in mock_server.requests(api="ryng")] == ["makePreviewCall"]
    assert mock_server.clock.mode == "manual"


def test_each_test_starts_from_a_reset_mock(mock_server):
    assert mock_server.requests() == []
    before = mock_server.clock.now()
    mock_server.advance(90)
    assert (mock_server.clock.now() - before).total_seconds() == 90


def test_a_delivery_reaches_the_sink_and_is_validated(callback_sink):
    payload = {"callID": 5012, "callLogID": 88210, "callbackType": "terminal", "event": "call-ended"}
    assert httpx.post(callback_sink.url, json=payload).status_code == 200
    [entry] = callback_sink.assert_received(event="call-ended", count=1, callID=5012)
    assert entry["api"] == "ryng" and entry["valid"] is True


def test_more_matching_deliveries_than_count_is_a_failure(callback_sink):
    payload = {"callID": 5012, "callLogID": 88210, "callbackType": "terminal", "event": "call-ended"}
    for _ in range(2):
        assert httpx.post(callback_sink.url, json=payload).status_code == 200
    # "exactly count": two matches are not one, and the wait for the count gives up after ``within``.
    with pytest.raises(AssertionError, match=r"expected 1 deliveries .*; got 2 of 2 received"):
        callback_sink.assert_received(event="call-ended", count=1, callID=5012, within=0.1)
    assert len(callback_sink.assert_received(event="call-ended", count=2, callID=5012, within=0.1)) == 2
    assert len(callback_sink.assert_received(event="call-ended", callID=5012, within=0.1)) == 2


@contextlib.contextmanager
def posted_later(url, payload, seconds=0.3):
    timer = threading.Timer(seconds, httpx.post, args=(url,), kwargs={"json": payload})
    timer.start()
    try:
        yield
    finally:
        timer.join()  # the post is done before the test ends, whatever the test found


def test_count_0_fails_when_a_matching_delivery_arrives_within_the_window(callback_sink):
    payload = {"callID": 5012, "callLogID": 88210, "callbackType": "terminal", "event": "call-ended"}
    with posted_later(callback_sink.url, payload):
        started = time.monotonic()
        with pytest.raises(AssertionError, match=r"expected 0 deliveries .*; got 1 of 1 received after"):
            callback_sink.assert_received(event="call-ended", count=0, callID=5012, within=3)
        # it failed when the delivery came (posted after 0.3 s): not before, and not at the window's end
        assert 0.25 < time.monotonic() - started < 3


def test_count_1_fails_when_a_duplicate_arrives_within_the_window(callback_sink):
    payload = {"callID": 5012, "callLogID": 88210, "callbackType": "terminal", "event": "call-ended"}
    assert httpx.post(callback_sink.url, json=payload).status_code == 200
    with posted_later(callback_sink.url, payload):
        with pytest.raises(AssertionError, match=r"expected 1 deliveries .*; got 2 of 2 received after"):
            callback_sink.assert_received(event="call-ended", count=1, callID=5012, within=3)


def test_count_waits_the_window_out_and_no_count_does_not(callback_sink):
    payload = {"callID": 5012, "callLogID": 88210, "callbackType": "terminal", "event": "call-ended"}
    started = time.monotonic()
    assert callback_sink.assert_received(event="call-ended", count=0, within=0.2) == []
    assert time.monotonic() - started >= 0.2
    assert httpx.post(callback_sink.url, json=payload).status_code == 200
    started = time.monotonic()
    assert len(callback_sink.assert_received(event="call-ended", count=1, within=0.2)) == 1
    assert time.monotonic() - started >= 0.2
    started = time.monotonic()
    assert len(callback_sink.assert_received(event="call-ended", within=5)) == 1  # one is enough: at once
    assert time.monotonic() - started < 1
    assert httpx.post(callback_sink.url, json=payload).status_code == 200
    started = time.monotonic()
    with pytest.raises(AssertionError, match=r"got 2 of 2 received after"):  # too many: at once
        callback_sink.assert_received(event="call-ended", count=1, within=5)
    assert time.monotonic() - started < 1


def test_the_sink_starts_empty(callback_sink):
    assert callback_sink.received() == []


def test_a_failed_assertion_lists_near_misses(callback_sink):
    payload = {"callID": 5012, "callLogID": 88210, "callbackType": "terminal", "event": "call-ended"}
    httpx.post(callback_sink.url, json=payload)
    httpx.post(callback_sink.url, json={"callID": "not-a-number", "event": "call-ended"})
    callback_sink.assert_received(event="call-ended", count=1, callID=7, within=0.1)
"""


def test_fixtures_work_in_a_users_test_file(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=8, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*expected 1 deliveries with event='call-ended', valid=True, callID=7; got 0 of 2 received*",
            "*nearest deliveries:*",
            "*#1 POST /callbacks ryng *event='call-ended' valid=True: callID is 5012, not 7*",
            "*valid=False*",
            "*invalid because*callID*",
        ]
    )


# ---------------------------------------------------------------------------------------------------------
# assert_received's semantics, straight on the sink (its deliveries sent through the listener in process)

RINGOTEL_START = {
    "method": "StartCallActivity",
    "api_token": "7c1e0b5a-93f4-4d2e-8a61-2f0c9b7d4e11",
    "params": {
        "connection_name": "Acme PBX",
        "extension": "101",
        "user_id": "1718029384756",
        "connection_id": "58231",
        "activity_type": "inbound",
        "domain": "acme.ringotel.example",
        "call_start": 1729693708182,
        "called_number": "+12025550199",
        "caller_number": "+12125550143",
        "call_id": "1729693708182-2d1c3de3d3772cdc1f",
    },
}
QUEUE_TERMINAL = {
    "queueID": 12,
    "callID": 7741,
    "callLogID": 90312,
    "callbackType": "terminal",
    "event": "call-ended",
}


@pytest.fixture
def sink() -> Iterator[tuple[CallbackSink, Any]]:
    from starlette.testclient import TestClient

    recorder = Recorder()
    app = create_listener(ListenOptions(quiet=True), recorder=recorder)
    with TestClient(app, base_url="http://sink") as http:
        yield CallbackSink(SimpleNamespace(url="http://sink"), recorder), http  # type: ignore[arg-type]


def test_a_dict_field_matches_the_nested_values_it_names(sink: tuple[CallbackSink, Any]) -> None:
    callbacks, http = sink
    http.post("/callbacks", json=RINGOTEL_START)
    [entry] = callbacks.assert_received(
        event="StartCallActivity", params={"call_id": RINGOTEL_START["params"]["call_id"]}
    )
    assert entry["valid"] is True
    with pytest.raises(
        AssertionError, match=r"params\.call_id is '1729693708182-2d1c3de3d3772cdc1f', not 'other'"
    ):
        callbacks.assert_received(params={"call_id": "other"}, within=0)


def test_kind_matches_any_registration_the_url_leaves_open(sink: tuple[CallbackSink, Any]) -> None:
    callbacks, http = sink
    http.post("/callbacks", json=QUEUE_TERMINAL)  # a queue's terminal: three operations register it
    for kind in ("appendToQueueTerminalCallback", "pushTransactionalTerminalCallback"):
        assert len(callbacks.assert_received(kind=kind, count=1, within=0)) == 1
    assert len(callbacks.received(kind="pushTransactionalTerminalCallback")) == 1
    with pytest.raises(AssertionError, match="kind is"):
        callbacks.assert_received(kind="pushTransactionalConnectCallback", within=0)


def test_fields_compare_as_the_payload_holds_them(sink: tuple[CallbackSink, Any]) -> None:
    callbacks, http = sink
    http.post("/callbacks", json=QUEUE_TERMINAL)
    assert callbacks.assert_received(callID="7741", within=0)  # forms and queries carry text: "7741" is 7741
    with pytest.raises(AssertionError, match="queueName is missing"):
        callbacks.assert_received(queueName="<missing>", within=0)
    with pytest.raises(AssertionError, match="queueID is 12, not True"):
        callbacks.assert_received(queueID=True, within=0)


def test_a_text_payload_is_named_as_text_in_a_failure(sink: tuple[CallbackSink, Any]) -> None:
    callbacks, http = sink
    http.post("/callbacks", content=b"call ended", headers={"content-type": "text/plain"})
    with pytest.raises(AssertionError, match=r"callID: the payload is text, not fields: 'call ended'"):
        callbacks.assert_received(valid=False, callID=7741, within=0)


def test_a_failure_message_clips_long_values(sink: tuple[CallbackSink, Any]) -> None:
    callbacks, http = sink
    http.post("/callbacks", json={**QUEUE_TERMINAL, "notes": "n" * 100_000})
    with pytest.raises(AssertionError) as failed:
        callbacks.assert_received(notes="short", valid=None, within=0)
    assert "notes is 'nnn" in str(failed.value) and len(str(failed.value)) < 2_000


def test_a_count_or_window_below_zero_is_refused(sink: tuple[CallbackSink, Any]) -> None:
    callbacks, _ = sink
    with pytest.raises(ValueError, match="count"):
        callbacks.assert_received(count=-1, within=0)
    with pytest.raises(ValueError, match="within"):
        callbacks.assert_received(within=-1)


@pytest.mark.parametrize("count", [None, 1])
def test_a_delivery_in_at_the_end_of_the_window_counts(
    sink: tuple[CallbackSink, Any], monkeypatch: pytest.MonkeyPatch, count: int | None
) -> None:
    from contracts import pytest_plugin

    callbacks, http = sink
    clock = SimpleNamespace(now=100.0)

    def sleep(seconds: float) -> None:
        clock.now += seconds
        if clock.now >= 101.0 and not callbacks.received():  # in exactly as the window closes
            http.post("/callbacks", json=QUEUE_TERMINAL)

    monkeypatch.setattr(pytest_plugin, "time", SimpleNamespace(monotonic=lambda: clock.now, sleep=sleep))
    assert len(callbacks.assert_received(event="call-ended", count=count, within=1.0)) == 1
    assert clock.now == pytest.approx(101.0)
