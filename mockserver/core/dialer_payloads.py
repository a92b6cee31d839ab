"""Callback bodies built from a call's real state, in the two shapes Ryng sends.

Queue style (createQueue, appendToQueue, pushTransactional): one connect callback when a call is handed to
an agent, one terminal callback per call. Campaign style (createCampaign, appendCampaign,
makePreviewCall): connect callbacks at three milestones, one terminal callback per call. Ryng's campaign
pages show numeric status codes ("2", leg status 5) for an answered call; its queue pages show words.
Unanswered calls use words in both styles (Ryng publishes no numeric codes for them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mockserver.core.clock import iso
from mockserver.core.dialer_plan import ANSWERED

_CAMPAIGN_CALL_STATUS = "2"
_CAMPAIGN_LEG_STATUS = 5
_FOLLOW_UP = {"Call Back Later", "Follow Up Scheduled"}


def _names(names: Mapping[str, str] | None, fields: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if names:
        out["customFieldNames"] = dict(names)
    out["customFields"] = dict(fields)
    return out


def _agent(agent: Mapping[str, Any] | None) -> dict[str, Any]:
    if agent is None:
        return {}
    return {"agentID": agent["id"], "agentUsername": agent["username"], "agentNum": agent["number"]}


def queue_connect(
    call: Mapping[str, Any],
    agent: Mapping[str, Any],
    queue: Mapping[str, Any],
    names: Mapping[str, str] | None,
) -> dict[str, Any]:
    attempt = call["current"]
    return {
        "queueID": call["queueID"],
        "queueName": queue.get("name") or f"queue::{call['queueID']}",
        "callID": call["callID"],
        **_agent(agent),
        "customerNum": call["number"],
        "callbackType": "connect",
        "event": "customer-connected",
        "callCreated": call["created"],
        "callStarted": attempt["dialed"],
        "callDirection": "outbound",
        "legDirection": call["legDirection"],
        **_names(names, call["customFields"]),
    }


def campaign_connect(
    call: Mapping[str, Any], agent: Mapping[str, Any], event: str, names: Mapping[str, str] | None
) -> dict[str, Any]:
    attempt = call["current"]
    return {
        "callID": call["callID"],
        "callbackType": "connect",
        "event": event,
        **_agent(agent),
        "customerNum": call["number"],
        "callCreated": call["created"],
        "callStarted": attempt.get("connected"),
        "callDirection": "outbound",
        **_names(names, call["customFields"]),
    }


def leg_details(call: Mapping[str, Any], attempt: Mapping[str, Any], *, numeric: bool) -> dict[str, Any]:
    """Leg 0 is the leg rung first: the agent's with ``agent-first``, the customer's otherwise."""
    outcome = attempt["outcome"]
    ended = attempt["ended_ts"]
    completed: Any = _CAMPAIGN_LEG_STATUS if numeric else "completed"
    first_up = attempt.get("leg0_up_ts")
    legs: dict[str, Any] = {}
    if call["legDirection"] == "agent-first":
        legs["leg0Status"] = completed if first_up is not None else outcome
        legs["leg0Duration"] = round(ended - first_up) if first_up is not None else 0
        legs["leg1Status"] = completed if outcome == ANSWERED else outcome
        legs["leg1Duration"] = attempt["talktime"]
    else:
        legs["leg0Status"] = completed if first_up is not None else outcome
        legs["leg0Duration"] = round(ended - first_up) if first_up is not None else 0
        if first_up is not None:
            legs["leg1Status"] = completed if attempt.get("connected") else "no-answer"
            legs["leg1Duration"] = attempt["talktime"]
    return legs


def terminal(
    call: Mapping[str, Any],
    agent: Mapping[str, Any] | None,
    *,
    queue: Mapping[str, Any] | None,
    names: Mapping[str, str] | None,
    virtual_number: str,
) -> dict[str, Any]:
    """The terminal callback: the last attempt's times, legs and outcome, and the disposition."""
    attempt = call["attempts"][-1]
    result = call["result"]
    answered = attempt["outcome"] == ANSWERED
    campaign = queue is None
    if answered:
        status: Any = _CAMPAIGN_CALL_STATUS if campaign else "completed"
    else:
        status = attempt["outcome"]
    body: dict[str, Any] = {}
    if not campaign:
        body["queueID"] = call["queueID"]
    body.update(
        {
            "callID": call["callID"],
            "callLogID": attempt["callLogID"],
            "callbackType": "terminal",
            "event": "call-ended",
            **_agent(agent),
            "customerNum": call["number"],
            "virtualNum": virtual_number,
            "callCreated": call["created"],
            "callStarted": attempt.get("connected") if campaign else attempt["dialed"],
            "callEnded": attempt["ended"],
            "callDisposed": result.get("disposed"),
            "callbackTime": result.get("callbackTime"),
        }
    )
    if not campaign:
        body["scheduledDate"] = call["scheduled"]
    body["callDirection"] = "outbound"
    if not campaign:
        body["legDirection"] = call["legDirection"]
    body.update(
        {
            "talktime": attempt["talktime"],
            "callDuration": round(attempt["ended_ts"] - attempt["dialed_ts"]),
            "parentDisposition": None,
            "disposition": result.get("disposition"),
            "notes": result.get("notes") or "",
            "status": status,
            "recordingUrl": _recording(call, attempt) if answered else None,
            "legDetails": leg_details(call, attempt, numeric=campaign),
            **_names(names, call["customFields"]),
        }
    )
    return body


def follow_up_time(disposition: str | None, disposed_ts: float, tz: Any) -> str | None:
    """Dispositions that schedule a follow-up get one a day later."""
    from datetime import datetime

    if disposition not in _FOLLOW_UP:
        return None
    return iso(datetime.fromtimestamp(disposed_ts + 86_400, tz=tz))


def _recording(call: Mapping[str, Any], attempt: Mapping[str, Any]) -> str:
    return f"https://recordings.example.com/ryng/{call['callID']}/{attempt['callLogID']}.mp3"
