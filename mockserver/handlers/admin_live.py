"""Control plane: acting on deliveries (retry, cancel, bulk retry), pausing the realtime clock, and the
live event stream (GET /__admin/events)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mockserver.exchange import Call, Reply
from mockserver.handlers import HandlerSet
from mockserver.handlers.admin import clock_state
from mockserver.sse import EventStream

if TYPE_CHECKING:
    from mockserver.runtime import Runtime

handlers = HandlerSet("mockline-admin")

FILTERS = ("api", "callID", "event", "callback")


@handlers.operation("retryDelivery")
async def retry_delivery(call: Call, rt: Runtime) -> Reply:
    delivery_id = int(call.path_params["delivery_id"])
    rt.outbox.retry(delivery_id)
    await rt.timeline.run_due()  # "now" means now with a manual clock too
    return Reply(200, rt.store.get("deliveries", str(delivery_id)))


@handlers.operation("cancelDelivery")
def cancel_delivery(call: Call, rt: Runtime) -> Reply:
    record = rt.outbox.cancel(int(call.path_params["delivery_id"]))
    return Reply(200, record)


@handlers.operation("retryDeliveries")
async def retry_deliveries(call: Call, rt: Runtime) -> Reply:
    q = call.query
    filters: dict[str, Any] = {k: q.get(k) for k in FILTERS}
    state = str(q.get("state", "failed"))
    retried: list[int] = []
    for record in list(rt.outbox.deliveries(state=state, **filters)):
        if not rt.outbox.can_retry(record):
            continue  # never sent (its payload did not match the spec): nothing to retry
        rt.outbox.retry(int(record["id"]))
        retried.append(int(record["id"]))
    if retried:
        await rt.timeline.run_due()
    return Reply(200, {"retried": retried, "count": len(retried)})


@handlers.operation("pauseClock")
def pause_clock(call: Call, rt: Runtime) -> Reply:
    pause = getattr(rt.clock, "pause", None)
    if pause is not None:  # a manual clock never moves by itself: nothing to pause
        pause()
    state = clock_state(rt)
    rt.events.publish("clock", state)
    return Reply(200, state)


@handlers.operation("resumeClock")
def resume_clock(call: Call, rt: Runtime) -> Reply:
    resume = getattr(rt.clock, "resume", None)
    if resume is not None:
        resume()
    rt.timeline.wakeup.set()
    state = clock_state(rt)
    rt.events.publish("clock", state)
    return Reply(200, state)


@handlers.operation("streamEvents")
def stream_events(call: Call, rt: Runtime) -> Reply:
    types = call.query.get("types")
    kinds = str(types).split(",") if types else None
    return Reply(200, EventStream(rt.events, kinds), EventStream.media_type)
