"""Whole dialer scenarios over HTTP: requests to the mock, callbacks to a real receiver on 127.0.0.1."""

from __future__ import annotations

import asyncio
import functools
import itertools
from collections import Counter
from datetime import datetime
from typing import Any

import httpx
import pytest
from openapi_core import OpenAPI
from openapi_core.exceptions import OpenAPIError

from contracts.loaders import load_spec
from contracts.openapi_http import OpenAPIRequest
from mockserver.core.dialer_plan import LONG_CALL_SECONDS, MAGIC_NUMBERS
from tests.integration.dialer_support import Mock, Receiver, callbacks, rows, urls

ANSWER = "+919999555000"  # answered at once, one-minute call
BUSY = "+919999555001"
NO_ANSWER = "+919999555002"
BUSY_TWICE = "+919999555003"
LONG = "+919999555004"
HANGS_UP = "+919999555005"
FAILS = "+919999555006"


@functools.cache
def _callback_validator(operation_id: str) -> OpenAPI:
    """openapi-core over specs/ryng.yaml's callback operation, lifted into a one-path document that shares
    the spec's components. Deliveries are checked by this independent validator, never by the schemas
    the mock compiled for itself (which already checked them before sending)."""
    document = load_spec("ryng")
    for item in document["paths"].values():
        for operation in item.values():
            for callback in (
                (operation.get("callbacks") or {}).values() if isinstance(operation, dict) else ()
            ):
                for expression in callback.values():
                    post = expression.get("post") or {}
                    if post.get("operationId") == operation_id:
                        lifted = {
                            "openapi": "3.0.3",
                            "info": {"title": operation_id, "version": "1"},
                            "servers": [{"url": "http://receiver.test"}],
                            "paths": {"/callback": {"post": post}},
                            "components": document.get("components") or {},
                        }
                        return OpenAPI.from_dict(lifted)
    raise KeyError(operation_id)


def spec_problems(operation_id: str, payload: Any) -> list[str]:
    """Why ``payload``, POSTed as JSON, is not a valid ``operation_id`` callback (empty when it is)."""
    request = httpx.Request("POST", "http://receiver.test/callback", json=payload)
    try:
        _callback_validator(operation_id).validate_request(OpenAPIRequest(request))
    except OpenAPIError as exc:
        causes = [exc] if exc.__cause__ is None else [exc, exc.__cause__]
        details = [str(e) for c in causes for e in getattr(c, "schema_errors", None) or []]
        return [str(c) for c in causes] + details
    return []


def test_the_independent_validator_rejects_a_delivery_that_breaks_the_spec() -> None:
    """The check the scenarios rely on can fail: a wrong type and a missing field are both caught."""
    valid = {"callID": 1, "callLogID": 2, "callbackType": "terminal", "event": "call-ended"}
    assert spec_problems("pushTransactionalTerminalCallback", {**valid, "callID": "one"}) != []
    assert spec_problems("pushTransactionalConnectCallback", {}) != []
    assert spec_problems("createCampaignTerminalCallback", "not an object") != []


def ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def push_body(receiver: Receiver, numbers: list[str], **settings: Any) -> dict[str, Any]:
    return {**settings, "customerData": {**urls(receiver), "jsonData": rows(numbers)}}


def test_transactional_push_gives_a_connect_per_assignment_and_a_terminal_per_record() -> None:
    async def scenario() -> None:
        with Receiver() as receiver:
            async with Mock(seed=3) as mock:
                records = [
                    {"number": ANSWER, "priority": 2, "customField1": "Priya Nair", "customField2": "Web"},
                    {"number": BUSY_TWICE, "customField1": "Arjun Mehta"},
                    {"number": LONG, "customField1": "Kavya Reddy"},
                    {"number": HANGS_UP},
                    {"number": "+919845012345"},
                ]
                body = {
                    "agentMapping": "global",
                    "agents": ["meera@example.com", "rahul@example.com"],
                    "legDirection": "agent-first",
                    "maxRetries": 2,
                    "retryInterval": 10,
                    "maxDispose": 30,
                    "customerData": {**urls(receiver), "jsonData": records},
                }
                r = await mock.ryng("POST", "/progressive/queue/12/transactional", json=body)
                assert r.status_code == 200
                assert r.json() == {"error": False, "message": "Appending Queue..."}
                await mock.advance(4 * 3600)
                got = callbacks(receiver)
                calls = {c["callID"]: c for c in await mock.calls()}

                assert len(calls) == 5
                terminal_ids = [p["callID"] for p in got["terminal"]]
                assert sorted(terminal_ids) == sorted(calls), "one terminal callback per record"
                answered = sum(1 for c in calls.values() for a in c["attempts"] if a["outcome"] == "answered")
                assert len(got["connect"]) == answered, "one connect callback per assignment to an agent"
                assert {p["callID"] for p in got["connect"]} <= set(terminal_ids)
                for payload in got["connect"]:
                    assert spec_problems("pushTransactionalConnectCallback", payload) == []
                    assert payload["queueID"] == 12 and payload["event"] == "customer-connected"
                for payload in got["terminal"]:
                    assert spec_problems("pushTransactionalTerminalCallback", payload) == []
                    call = calls[payload["callID"]]
                    assert payload["customerNum"] == call["number"]
                    assert payload["callLogID"] == call["attempts"][-1]["callLogID"]
                    assert payload["agentUsername"] in {"meera@example.com", "rahul@example.com"}
                    times = [payload["callCreated"], payload["callStarted"], payload["callEnded"]]
                    if payload["callDisposed"]:
                        times.append(payload["callDisposed"])
                    assert [ts(t) for t in times] == sorted(ts(t) for t in times)
                by_number = {p["customerNum"]: p for p in got["terminal"]}
                first = by_number[ANSWER]
                assert first["customFields"] == {"customField1": "Priya Nair", "customField2": "Web"}
                assert first["status"] == "completed" and first["talktime"] == 60
                assert first["recordingUrl"].endswith(".mp3") and first["disposition"]
                assert first["legDetails"]["leg1Duration"] == 60
                assert by_number[LONG]["talktime"] == LONG_CALL_SECONDS
                deliveries = await mock.deliveries(api="ryng")
                assert {d["state"] for d in deliveries} == {"delivered"}
                assert all(d["operationId"].startswith("pushTransactional") for d in deliveries)

    asyncio.run(scenario())


def test_a_receiver_answering_500_gets_three_terminal_and_two_connect_attempts_60_s_apart() -> None:
    async def scenario() -> None:
        with Receiver(statuses={"/connect": 500, "/terminal": 500}) as receiver:
            async with Mock() as mock:
                r = await mock.ryng(
                    "POST", "/progressive/queue/5/transactional", json=push_body(receiver, [ANSWER])
                )
                assert r.status_code == 200
                await mock.advance(3600)
                got = callbacks(receiver)
                assert len(got["terminal"]) == 3 and len(got["connect"]) == 2
                assert all(p == got["terminal"][0] for p in got["terminal"]), "the same payload each time"
                for callback, expected in (("terminal", 3), ("connect", 2)):
                    (delivery,) = await mock.deliveries(callback=callback)
                    assert delivery["state"] == "failed"
                    assert [a["status"] for a in delivery["attempts"]] == [500] * expected
                    times = [ts(a["at"]) for a in delivery["attempts"]]
                    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
                    assert gaps == [60.0] * (expected - 1)
                    assert delivery["event"] in {"call-ended", "customer-connected"}

    asyncio.run(scenario())


def test_refused_connections_are_retried_by_the_same_rules() -> None:
    async def scenario() -> None:
        with Receiver() as receiver:
            dead = receiver.url("/x").replace(str(receiver.port), "1")  # nothing listens on port 1
            async with Mock() as mock:
                body = {"customerData": {"terminalCallbackUrl": dead, "jsonData": rows([ANSWER])}}
                await mock.ryng("POST", "/progressive/queue/5/transactional", json=body)
                await mock.advance(3600)
                (delivery,) = await mock.deliveries(callback="terminal")
                assert delivery["state"] == "failed" and len(delivery["attempts"]) == 3
                assert all("error" in a for a in delivery["attempts"])

    asyncio.run(scenario())


def test_a_campaign_call_gives_its_three_milestones_in_order_then_the_terminal() -> None:
    async def scenario() -> None:
        with Receiver() as receiver:
            async with Mock() as mock:
                names = {"customField1Name": "Name", "customField2Name": "Policy"}
                body = {
                    "name": "March renewals",
                    "agentMapping": "global",
                    "agents": ["meera@example.com"],
                    "customFieldNames": names,
                    "customerData": {
                        **urls(receiver),
                        "jsonData": [{"number": ANSWER, "customField1": "Priya", "customField2": "Motor"}],
                    },
                }
                r = await mock.ryng("POST", "/campaign", json=body)
                assert r.json() == {"error": False, "message": "Processing Campaign...", "data": {}}
                await mock.advance(600)
                got = callbacks(receiver)
                assert [p["event"] for p in got["connect"]] == [
                    "agent-connected",
                    "customer-connected",
                    "call-ended",
                ]
                assert got["connect"][0]["callStarted"] is None
                assert got["connect"][1]["callStarted"] is not None
                (final,) = got["terminal"]
                assert final["callbackType"] == "terminal" and final["status"] == "2"
                assert final["customFieldNames"] == names
                assert final["customFields"] == {"customField1": "Priya", "customField2": "Motor"}
                assert "queueID" not in final
                for payload in got["connect"]:
                    assert spec_problems("createCampaignConnectCallback", payload) == []
                assert spec_problems("createCampaignTerminalCallback", final) == []
                order = [d["event"] for d in await mock.deliveries()]
                assert order == ["agent-connected", "customer-connected", "call-ended", "call-ended"]

    asyncio.run(scenario())


EXPECTED = {
    "555000": (["answered"], "agent"),
    "555001": (["busy"] * 3, None),
    "555002": (["no-answer"] * 3, None),
    "555003": (["busy", "busy", "answered"], "agent"),
    "555004": (["answered"], "agent"),
    "555005": (["answered"], "customer"),
    "555006": (["failed"] * 3, None),
}


def test_every_magic_number_is_tested() -> None:
    assert {m.suffix for m in MAGIC_NUMBERS} == set(EXPECTED)


@pytest.mark.parametrize("suffix", sorted(EXPECTED))
def test_magic_number_gives_its_documented_sequence(suffix: str) -> None:
    outcomes, hangup_by = EXPECTED[suffix]

    async def scenario() -> None:
        with Receiver() as receiver:
            async with Mock() as mock:
                number = f"+91987{suffix}"
                body = push_body(receiver, [number], maxRetries=2, retryInterval=5)
                await mock.ryng("POST", "/progressive/queue/7/transactional", json=body)
                await mock.advance(4 * 3600)
                (call,) = await mock.calls()
                assert [a["outcome"] for a in call["attempts"]] == outcomes
                (final,) = receiver.at("/terminal")
                assert final["status"] == ("completed" if outcomes[-1] == "answered" else outcomes[-1])
                assert len(receiver.at("/connect")) == outcomes.count("answered")
                hangups = [h.get("detail") for h in call["history"] if h["event"] == "hangup"]
                assert hangups == ([hangup_by] if hangup_by else [])
                if suffix == "555004":
                    assert final["talktime"] == LONG_CALL_SECONDS
                if suffix == "555005":
                    assert final["talktime"] < 30
                if outcomes[-1] != "answered":
                    assert call["state"] == "unreachable"
                    assert final["disposition"] is None and final["recordingUrl"] is None
                    assert spec_problems("pushTransactionalTerminalCallback", final) == []

    asyncio.run(scenario())


def test_retries_respect_max_retries_and_retry_interval() -> None:
    async def scenario() -> None:
        with Receiver() as receiver:
            async with Mock() as mock:
                body = push_body(receiver, [NO_ANSWER], maxRetries=3, retryInterval=7)
                await mock.ryng("POST", "/progressive/queue/7/transactional", json=body)
                await mock.advance(6 * 3600)
                (call,) = await mock.calls()
                attempts = call["attempts"]
                assert len(attempts) == 4
                for before, after in itertools.pairwise(attempts):
                    assert (ts(after["dialed"]) - ts(before["ended"])).total_seconds() >= 7 * 60

                # Queue settings are the defaults when a push leaves them out.
                r = await mock.ryng(
                    "POST",
                    "/progressive/queue",
                    json={"maxRetries": 1, "retryInterval": 3, "customerData": {"jsonData": rows([BUSY])}},
                )
                assert r.json()["message"] == "Queue Created! Processing Calls..."
                queue_id = int(r.headers["x-mockline-queue-id"])
                await mock.ryng(
                    "POST", f"/progressive/queue/{queue_id}/transactional", json=push_body(receiver, [FAILS])
                )
                await mock.advance(3600)
                queued = await mock.calls(queueID=queue_id)
                assert len(queued) == 2  # the BUSY lead the queue was made with, and the FAILS one pushed
                for call in queued:
                    assert len(call["attempts"]) == 2 and call["retryInterval"] == 3
                    gap = ts(call["attempts"][1]["dialed"]) - ts(call["attempts"][0]["ended"])
                    assert gap.total_seconds() >= 180

    asyncio.run(scenario())


def test_round_robin_is_fair_within_one_and_across_pushes() -> None:
    async def scenario() -> None:
        async with Mock() as mock:
            agents = ["a@example.com", "b@example.com", "c@example.com"]
            body = {
                "agentMapping": "global",
                "agents": agents,
                "customerData": {"jsonData": rows([ANSWER] * 10)},
            }
            await mock.ryng("POST", "/progressive/queue/3/transactional", json=body)
            for _ in range(5):  # one record at a time carries on where the last push stopped
                one = {
                    "agentMapping": "global",
                    "agents": agents,
                    "customerData": {"jsonData": rows([ANSWER])},
                }
                await mock.ryng("POST", "/progressive/queue/3/transactional", json=one)
            await mock.advance(3 * 3600)
            counts = Counter(c["agentUsername"] for c in await mock.calls())
            assert set(counts) == set(agents)
            assert max(counts.values()) - min(counts.values()) <= 1

    asyncio.run(scenario())


def test_priority_orders_waiting_calls_bigger_first() -> None:
    async def scenario() -> None:
        config = {"ryng": {"agents": [{"username": "solo@example.com", "number": "+919800000001"}]}}
        async with Mock(config=config) as mock:
            records = [
                {"number": "+919811555000", "priority": 1},
                {"number": "+919822555000", "priority": 9},
                {"number": "+919833555000", "priority": 5},
                {"number": "+919844555000"},
            ]
            await mock.ryng(
                "POST", "/progressive/queue/3/transactional", json={"customerData": {"jsonData": records}}
            )
            await mock.advance(3600)
            calls = sorted(await mock.calls(), key=lambda c: c["attempts"][0]["dialed"])
            assert [c["priority"] for c in calls] == [9, 5, 1, 0]
            assert {c["agentUsername"] for c in calls} == {"solo@example.com"}

    asyncio.run(scenario())


def test_an_agent_is_busy_while_talking_and_for_max_dispose_after() -> None:
    async def scenario() -> None:
        config = {"ryng": {"agents": [{"username": "solo@example.com", "number": "+919800000001"}]}}
        async with Mock(config=config) as mock:
            body = {"maxDispose": 45, "customerData": {"jsonData": rows([ANSWER, ANSWER])}}
            await mock.ryng("POST", "/progressive/queue/3/transactional", json=body)
            await mock.advance(3600)
            first, second = await mock.calls()
            gap = (ts(second["attempts"][0]["dialed"]) - ts(first["attempts"][0]["ended"])).total_seconds()
            disposed = next(h for h in first["history"] if h["event"] == "disposed")
            assert 0 < gap <= 45
            assert second["attempts"][0]["dialed"] == disposed["at"]

    asyncio.run(scenario())


def test_leg_direction_decides_which_leg_rings_first() -> None:
    async def scenario() -> None:
        with Receiver() as receiver:
            async with Mock() as mock:
                for direction, queue in (("agent-first", 1), ("customer-first", 2)):
                    body = push_body(receiver, [ANSWER], legDirection=direction)
                    await mock.ryng("POST", f"/progressive/queue/{queue}/transactional", json=body)
                await mock.advance(3600)
                for call in await mock.calls():
                    events = [h["event"] for h in call["history"] if h["event"].startswith("dialing")]
                    if call["legDirection"] == "agent-first":
                        assert events == ["dialing-agent", "dialing-customer"]
                    else:
                        assert events == ["dialing-customer", "dialing-agent"]
                finals = {p["legDirection"]: p for p in receiver.at("/terminal")}
                customer_first = finals["customer-first"]["legDetails"]
                agent_first = finals["agent-first"]["legDetails"]
                assert customer_first["leg1Duration"] == agent_first["leg1Duration"] == 60
                assert customer_first["leg0Duration"] > 60 and agent_first["leg0Duration"] > 60

    asyncio.run(scenario())


def test_inline_and_all_agents_mappings() -> None:
    async def scenario() -> None:
        async with Mock() as mock:
            records = [
                {"number": ANSWER, "agentsAssigned": ["x@example.com"]},
                {"number": ANSWER, "agentsAssigned": ["y@example.com", "z@example.com"]},
            ]
            await mock.ryng(
                "POST",
                "/progressive/queue/3/calls",
                json={"agentMapping": "inline", "customerData": {"jsonData": records}},
            )
            await mock.ryng(
                "POST", "/progressive/queue/3/calls", json={"customerData": {"jsonData": rows([ANSWER])}}
            )
            await mock.advance(3600)
            first, second, third = await mock.calls()
            assert first["agentUsername"] == "x@example.com"
            assert second["agentUsername"] in {"y@example.com", "z@example.com"}
            assert third["eligibleAgents"] is None and third["state"] == "completed"

    asyncio.run(scenario())


def test_cancel_call_cancels_only_calls_not_yet_attempted() -> None:
    async def scenario() -> None:
        with Receiver() as receiver:
            config = {"ryng": {"agents": [{"username": "solo@example.com", "number": "+919800000001"}]}}
            async with Mock(config=config) as mock:
                r = await mock.ryng("POST", "/progressive/call/999/cancel")
                assert (r.status_code, r.json()) == (
                    500,
                    {"error": True, "message": "Call ID does not exist"},
                )
                await mock.ryng(
                    "POST", "/progressive/queue/3/transactional", json=push_body(receiver, [ANSWER, ANSWER])
                )
                await mock.advance(1)
                first, second = await mock.calls()
                assert first["state"] == "dialing" and second["state"] == "waiting"
                r = await mock.ryng("POST", f"/progressive/call/{second['callID']}/cancel")
                assert r.json() == {"error": False, "message": "Call Cancelled", "data": {}}
                r = await mock.ryng("POST", f"/progressive/call/{first['callID']}/cancel")
                assert r.status_code == 500 and r.json()["error"] is True
                await mock.advance(3600)
                first, second = await mock.calls()
                assert (first["state"], second["state"]) == ("completed", "cancelled")
                assert second["attempts"] == []
                assert [p["callID"] for p in receiver.at("/terminal")] == [first["callID"]]

    asyncio.run(scenario())


def test_preview_call_is_made_then_ended_with_the_agents_disposition_and_notes() -> None:
    async def scenario() -> None:
        with Receiver() as receiver:
            async with Mock() as mock:
                agents = mock.app.runtime.engines["ryng"].agents()  # type: ignore[attr-defined]
                agent_id = agents[0]["id"]
                r = await mock.ryng(
                    "POST",
                    "/preview/call",
                    json={"agentID": agent_id, "campaignID": 318, "customerNumber": LONG, **urls(receiver)},
                )
                assert r.status_code == 200
                assert r.json()["message"].startswith("Call Initiated With SID ")
                data = r.json()["data"]
                busy = await mock.ryng("POST", "/preview/call", json={"agentID": agent_id, "campaignID": 318})
                assert (busy.status_code, busy.json()["message"]) == (500, "Failed to start call.")
                unknown = await mock.ryng("POST", "/preview/call", json={"agentID": 9999, "campaignID": 318})
                assert unknown.status_code == 500
                await mock.advance(120)
                (call,) = await mock.calls(style="preview")
                assert call["state"] == "talking"
                wrong = await mock.ryng(
                    "PATCH",
                    f"/preview/call/{data['callID']}",
                    json={"logID": data["logID"] + 1, "dispositionName": "Interested", "notes": ""},
                )
                assert (wrong.status_code, wrong.json()["message"]) == (500, "Failed to dispose of call.")
                r = await mock.ryng(
                    "PATCH",
                    f"/preview/call/{data['callID']}",
                    json={"logID": data["logID"], "dispositionName": "Interested", "notes": "Wants a quote"},
                )
                assert r.json() == {"error": False, "message": "Call disposed and ended.", "data": {}}
                await mock.advance(60)
                events = [p["event"] for p in receiver.at("/connect")]
                assert events == ["agent-connected", "customer-connected", "call-ended"]
                (final,) = receiver.at("/terminal")
                assert (final["callID"], final["callLogID"]) == (data["callID"], data["logID"])
                assert (final["disposition"], final["notes"]) == ("Interested", "Wants a quote")
                assert 0 < final["talktime"] < 120
                assert spec_problems("makePreviewCallTerminalCallback", final) == []
                again = await mock.ryng(
                    "PATCH",
                    f"/preview/call/{data['callID']}",
                    json={"logID": data["logID"], "dispositionName": "Interested", "notes": ""},
                )
                assert again.status_code == 500
                # The agent is free again.
                r = await mock.ryng("POST", "/preview/call", json={"agentID": agent_id, "campaignID": 318})
                assert r.status_code == 200

    asyncio.run(scenario())


def test_csv_campaign_with_in_file_agents_then_a_queue_from_that_campaign() -> None:
    async def scenario() -> None:
        with Receiver() as receiver:
            async with Mock() as mock:
                sheet = (
                    "number,agent,Name,Policy\n"
                    f"{ANSWER},meera@example.com,Priya Nair,Term\n"
                    f"{HANGS_UP},rahul@example.com,Arjun Mehta,Motor\n"
                )
                r = await mock.ryng(
                    "POST",
                    "/campaign",
                    files={"campaign-sheet": ("leads.csv", sheet.encode(), "text/csv")},
                    data={"agents": "in-file", "campaign-name": "Sheet"},
                )
                assert r.status_code == 200, r.text
                campaign_id = int(r.headers["x-mockline-campaign-id"])
                calls = await mock.calls(campaignID=campaign_id)
                assert [c["agentUsername"] or c["eligibleAgents"] for c in calls] == [
                    ["meera@example.com"],
                    ["rahul@example.com"],
                ]
                assert calls[0]["customFields"] == {"customField1": "Priya Nair", "customField2": "Term"}
                body = {
                    "agentMapping": "inline",
                    "customerData": {"campaignID": campaign_id, **urls(receiver)},
                }
                r = await mock.ryng("POST", "/progressive/queue", json=body)
                assert r.status_code == 200
                missing = await mock.ryng(
                    "POST", "/progressive/queue", json={"customerData": {"campaignID": 999}}
                )
                assert (missing.status_code, missing.json()["message"]) == (500, "Failed to Create Queue")
                await mock.advance(3600)
                queued = await mock.calls(style="queue")
                assert [c["eligibleAgents"] for c in queued] == [["meera@example.com"], ["rahul@example.com"]]
                terminals = receiver.at("/terminal")
                assert len(terminals) == 2  # one terminal callback per lead of the sheet
                for payload in terminals:
                    assert payload["customFieldNames"] == {
                        "customField1Name": "Name",
                        "customField2Name": "Policy",
                    }
                    assert spec_problems("createQueueTerminalCallback", payload) == []

    asyncio.run(scenario())


def test_the_same_seed_gives_the_same_journal() -> None:
    async def run(seed: int) -> tuple[list[Any], list[Any], list[Any]]:
        with Receiver() as receiver:
            async with Mock(seed=seed) as mock:
                numbers = [f"+9198450{i:05d}" for i in range(12)]
                body = {
                    "agentMapping": "global",
                    "agents": ["a@example.com", "b@example.com"],
                    "customerData": {**urls(receiver), "jsonData": rows(numbers)},
                }
                await mock.ryng("POST", "/progressive/queue/3/transactional", json=body)
                await mock.ryng(
                    "POST",
                    "/campaign",
                    json={"customerData": {**urls(receiver), "jsonData": rows(numbers[:4])}},
                )
                await mock.advance(8 * 3600)
                deliveries = [
                    {k: v for k, v in d.items() if k != "url"}
                    | {"attempts": [a["at"] for a in d["attempts"]]}
                    for d in await mock.deliveries()
                ]
                journal = (await mock.client.get("/__admin/requests", params={"limit": 10000})).json()[
                    "requests"
                ]
                journal = [{k: v for k, v in e.items() if k not in {"duration_ms", "body"}} for e in journal]
                calls = [{k: v for k, v in c.items() if k != "callbacks"} for c in await mock.calls()]
                return calls, deliveries, journal  # everything but the receiver's port

    first = asyncio.run(run(11))
    again = asyncio.run(run(11))
    other = asyncio.run(run(12))
    assert first == again
    assert first[0] != other[0]


def test_an_unusable_sheet_is_accepted_like_ryng_does_but_makes_no_calls() -> None:
    async def scenario() -> None:
        async with Mock() as mock:
            r = await mock.ryng(
                "POST",
                "/campaign/44",
                files={"campaign-sheet": ("leads.png", b"\x89PNG\r\n\x1a\n\x00\x00\rIHDR", "image/png")},
            )
            assert r.json() == {"error": False, "message": "Processing Campaign...", "data": {}}
            assert r.headers["x-mockline-calls"] == "0"
            assert r.headers["x-mockline-warning"].startswith("campaign-sheet: ")
            assert await mock.calls() == []

    asyncio.run(scenario())


def test_the_default_state_holds_the_scheduled_call_that_cancel_calls_example_names() -> None:
    """A fresh mock answers the spec's documented cancelCall request with success, once; left alone, the
    call turns waiting when it falls due the next day and is dialled. Without it, a tenant has no call."""
    document = load_spec("ryng")
    example = document["paths"]["/rest-api/v1/progressive/call/{callID}/cancel"]["parameters"][0]["example"]

    async def scenario() -> None:
        async with Mock(config={"ryng": {"scheduled_call": True}}) as mock:
            (call,) = await mock.calls()
            assert (call["callID"], call["state"], call["attempts"]) == (example, "scheduled", [])
            await mock.advance(86_400 - 1)
            assert (await mock.calls())[0]["state"] == "scheduled"
            await mock.advance(3600)
            (call,) = await mock.calls()
            assert call["state"] != "scheduled" and call["attempts"]
        async with Mock(config={"ryng": {"scheduled_call": True}}) as mock:
            r = await mock.ryng("POST", f"/progressive/call/{example}/cancel")
            assert r.json() == {"error": False, "message": "Call Cancelled", "data": {}}
            r = await mock.ryng("POST", f"/progressive/call/{example}/cancel")
            assert r.status_code == 500 and r.json()["error"] is True
            await mock.advance(2 * 86_400)
            (call,) = await mock.calls()
            assert (call["state"], call["attempts"]) == ("cancelled", [])
        async with Mock() as mock:
            assert await mock.calls() == []

    asyncio.run(scenario())
