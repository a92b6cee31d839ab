"""The control plane under /__admin: journal, deliveries, clock, faults, reset."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mockserver import __version__
from mockserver.core.clock import iso
from mockserver.core.pages import cursor_value
from mockserver.exchange import Call, Reply
from mockserver.handlers import HandlerSet

if TYPE_CHECKING:
    from mockserver.runtime import Runtime

handlers = HandlerSet("mockline-admin")


@handlers.operation("getHealth")
def get_health(call: Call, rt: Runtime) -> Reply:
    apis = [{"name": a.name, "prefix": a.prefix, "docs": f"{a.prefix}/ui/"} for a in rt.apis.values()]
    body = {
        "status": "ok",
        "version": __version__,
        "seed": rt.settings.seed,
        "clock": rt.clock.mode,
        "apis": apis,
    }
    return Reply(200, body)


@handlers.operation("resetState")
def reset_state(call: Call, rt: Runtime) -> Reply:
    rt.reset()
    rt.events.publish("clock", clock_state(rt))
    return Reply(200, {"reset": True, "now": iso(rt.clock.now())})


@handlers.operation("listRequests")
def list_requests(call: Call, rt: Runtime) -> Reply:
    q = call.query
    before = q.get("cursor")
    page = rt.journal.page(
        int(before) if before else None,
        call.query_int("limit"),
        api=q.get("api"),
        operationId=q.get("operationId"),
        status=q.get("status"),
    )
    return Reply(200, {"requests": page.items, "next_cursor": page.next_cursor})


@handlers.operation("getFaults")
def get_faults(call: Call, rt: Runtime) -> Reply:
    return Reply(200, {"faults": rt.faults.rules()})


@handlers.operation("putFaults")
def put_faults(call: Call, rt: Runtime) -> Reply:
    rt.faults.replace(call.body["faults"])
    return Reply(200, {"faults": rt.faults.rules()})


def clock_state(rt: Runtime, **extra: Any) -> dict[str, Any]:
    due = rt.timeline.next_due()
    return {
        "now": iso(rt.clock.now()),
        "mode": rt.clock.mode,
        "time_scale": getattr(rt.clock, "scale", 1),
        "paused": bool(getattr(rt.clock, "paused", False)),
        "pending_jobs": rt.timeline.pending(),
        "next_due": iso(due) if due else None,
        **extra,
    }


@handlers.operation("getClock")
def get_clock(call: Call, rt: Runtime) -> Reply:
    return Reply(200, clock_state(rt))


@handlers.operation("advanceClock")
async def advance_clock(call: Call, rt: Runtime) -> Reply:
    ran = await rt.timeline.advance(float(call.body["seconds"]))
    state = clock_state(rt, ran=ran)
    rt.events.publish("clock", state)
    return Reply(200, state)


@handlers.operation("listDeliveries")
def list_deliveries(call: Call, rt: Runtime) -> Reply:
    q = call.query
    page = rt.outbox.delivery_page(
        cursor_value(q.get("cursor"), 0),
        call.query_int("limit"),
        api=q.get("api"),
        callID=q.get("callID"),
        event=q.get("event"),
        callback=q.get("callback"),
        state=q.get("state"),
    )
    return Reply(200, {"deliveries": page.items, "next_cursor": page.next_cursor})
