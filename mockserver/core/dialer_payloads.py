"""Callback bodies built from a call's real state, in the two shapes Ryng sends, and the call as the
control plane shows it.

Queue style (createQueue, appendToQueue, pushTransactional): one connect callback when a call is handed to
an agent, one terminal callback per call. Campaign style (createCampaign, appendCampaign,
makePreviewCall): connect callbacks at three milestones, one terminal callback per call. Ryng's campaign
pages show numeric status codes ("2", leg status 5) for an answered call; its queue pages show words.
Unanswered calls use words in both styles (Ryng publishes no numeric codes for them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mockserver.core.clock import iso_at
from mockserver.core.dialer_plan import ANSWERED

_CAMPAIGN_CALL_STATUS = "2"
_CAMPAIGN_LEG_STATUS = 5
_FOLLOW_UP = {"Call Back Later", "Follow Up Scheduled"}


ATTEMPT_FIELDS = ("n", "callLogID", "agent", "outcome", "dialed", "leg0_up", "connected", "ended", "talktime")
"""A finished attempt is stored as a list of these (a list is half the size of a dict)."""


def pack(attempt: Mapping[str, Any]) -> list[Any]:
    return [attempt[k] for k in ATTEMPT_FIELDS]


def unpack(packed: list[Any]) -> dict[str, Any]:
    return dict(zip(ATTEMPT_FIELDS, packed, strict=True))


def iso_or_none(ts: float | None) -> str | None:
    return None if ts is None else iso_at(ts)


def _names(names: Mapping[str, str] | None, fields: Mapping[str, str]) -> dict[str, Any]:
    """Shared, not copied: nothing changes a payload once it is built, and 100,000 calls add up."""
    out: dict[str, Any] = {}
    if names:
        out["customFieldNames"] = names
    out["customFields"] = fields
    return out


def _agent(agent: Mapping[str, Any] | None) -> dict[str, Any]:
    if agent is None:
        return {}
    return {"agentID": agent["id"], "agentUsername": agent["username"], "agentNum": agent["number"]}


def queue_connect(
    call: Mapping[str, Any], agent: Mapping[str, Any], queue: Mapping[str, Any]
) -> dict[str, Any]:
    return {
        "queueID": call["queueID"],
        "queueName": queue.get("name") or f"queue::{call['queueID']}",
        "callID": call["callID"],
        **_agent(agent),
        "customerNum": call["number"],
        "callbackType": "connect",
        "event": "customer-connected",
        "callCreated": iso_at(call["created"]),
        "callStarted": iso_at(call["current"]["dialed"]),
        "callDirection": "outbound",
        "legDirection": call["settings"]["legDirection"],
        **_names(call["settings"]["names"], call["customFields"]),
    }


def campaign_connect(call: Mapping[str, Any], agent: Mapping[str, Any], event: str) -> dict[str, Any]:
    return {
        "callID": call["callID"],
        "callbackType": "connect",
        "event": event,
        **_agent(agent),
        "customerNum": call["number"],
        "callCreated": iso_at(call["created"]),
        "callStarted": iso_or_none(call["current"]["connected"]),
        "callDirection": "outbound",
        **_names(call["settings"]["names"], call["customFields"]),
    }


def leg_details(call: Mapping[str, Any], attempt: Mapping[str, Any], *, numeric: bool) -> dict[str, Any]:
    """Leg 0 is the leg rung first: the agent's with ``agent-first``, the customer's otherwise."""
    outcome = attempt["outcome"]
    completed: Any = _CAMPAIGN_LEG_STATUS if numeric else "completed"
    first_up = attempt["leg0_up"]
    legs: dict[str, Any] = {
        "leg0Status": completed if first_up is not None else outcome,
        "leg0Duration": round(attempt["ended"] - first_up) if first_up is not None else 0,
    }
    if call["settings"]["legDirection"] == "agent-first":
        legs["leg1Status"] = completed if outcome == ANSWERED else outcome
        legs["leg1Duration"] = attempt["talktime"]
    elif first_up is not None:
        legs["leg1Status"] = completed if attempt["connected"] is not None else "no-answer"
        legs["leg1Duration"] = attempt["talktime"]
    return legs


def terminal(
    call: Mapping[str, Any],
    agent: Mapping[str, Any] | None,
    *,
    queue: Mapping[str, Any] | None,
    virtual_number: str,
) -> dict[str, Any]:
    """The terminal callback: the last attempt's times, legs and outcome, and the disposition. Written as
    one literal in the queue style's order, less the three fields a campaign's lacks (every call sends
    one: a million in a big campaign)."""
    attempt = unpack(call["attempts"][-1])
    outcome = attempt["outcome"]
    answered = outcome == ANSWERED
    campaign = queue is None
    ended = attempt["ended"]
    disposed = call["disposed"]
    settings = call["settings"]
    if campaign:
        started = iso_or_none(attempt["connected"])
        status = _CAMPAIGN_CALL_STATUS if answered else outcome
        scheduled = None  # a campaign's body has no scheduledDate (dropped below)
    else:
        started = iso_at(attempt["dialed"])
        status = "completed" if answered else outcome
        scheduled = iso_at(call["scheduled"])
    body: dict[str, Any] = {
        "queueID": call["queueID"],
        "callID": call["callID"],
        "callLogID": attempt["callLogID"],
        "callbackType": "terminal",
        "event": "call-ended",
        **_agent(agent),
        "customerNum": call["number"],
        "virtualNum": virtual_number,
        "callCreated": iso_at(call["created"]),
        "callStarted": started,
        "callEnded": iso_at(ended),
        "callDisposed": iso_or_none(disposed),
        "callbackTime": follow_up_time(call["disposition"], disposed),
        "scheduledDate": scheduled,
        "callDirection": "outbound",
        "legDirection": settings["legDirection"],
        "talktime": attempt["talktime"],
        "callDuration": round(ended - attempt["dialed"]),
        "parentDisposition": None,
        "disposition": call["disposition"],
        "notes": call["notes"] or "",
        "status": status,
        "recordingUrl": _recording(call, attempt) if answered else None,
        "legDetails": leg_details(call, attempt, numeric=campaign),
    }
    if campaign:
        del body["queueID"], body["scheduledDate"], body["legDirection"]
    names = settings["names"]
    if names:
        body["customFieldNames"] = names
    body["customFields"] = call["customFields"]
    return body


def follow_up_time(disposition: str | None, disposed: float | None) -> str | None:
    """Dispositions that schedule a follow-up get one a day later."""
    if disposition not in _FOLLOW_UP or disposed is None:
        return None
    return iso_at(disposed + 86_400)


def _recording(call: Mapping[str, Any], attempt: Mapping[str, Any]) -> str:
    return f"https://recordings.example.com/ryng/{call['callID']}/{attempt['callLogID']}.mp3"


def history(call: Mapping[str, Any]) -> list[dict[str, Any]]:
    out = []
    for line in call["history"].split("\n"):
        offset, event, *detail = line.split(" ", 2)
        entry: dict[str, Any] = {"at": iso_at(call["created"] + float(offset)), "event": event}
        if detail:
            entry["detail"] = detail[0]
        out.append(entry)
    return out


def public_call(call: Mapping[str, Any]) -> dict[str, Any]:
    """A call as ``GET /__admin/calls`` shows it (specs/mockline-admin.yaml, CallRecord)."""
    attempts = [*map(unpack, call["attempts"]), *([call["current"]] if call["current"] else [])]
    return {
        "callID": call["callID"],
        "api": "ryng",
        "style": call["style"],
        "source": call["settings"]["source"],
        "queueID": call["queueID"],
        "campaignID": call["campaignID"],
        "number": call["number"],
        "priority": call["priority"],
        "state": call["state"],
        "agentUsername": call["agent"],
        "eligibleAgents": call["eligible"],
        **{k: call["settings"][k] for k in ("legDirection", "maxRetries", "retryInterval", "maxDispose")},
        "created": iso_at(call["created"]),
        "scheduled": iso_at(call["scheduled"]),
        "attempts": [
            {
                "attempt": a["n"],
                "callLogID": a["callLogID"],
                "agentUsername": a["agent"],
                "outcome": a["outcome"],
                "dialed": iso_at(a["dialed"]),
                "connected": iso_or_none(a["connected"]),
                "ended": iso_or_none(a["ended"]),
                "talktime": a["talktime"],
            }
            for a in attempts
        ],
        "history": history(call),
        "disposition": call["disposition"],
        "notes": call["notes"],
        "callbacks": {name: route["url"] for name, route in (call["settings"]["routes"] or {}).items()},
        "customFields": call["customFields"],
    }
