"""The pytest plugin as a user meets it: a test file using ``mock_server`` and ``callback_sink``, run by pytest."""

from __future__ import annotations

import pytest

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
