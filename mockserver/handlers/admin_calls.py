"""Control plane: every call a dialer engine holds, with its state and history (GET /__admin/calls)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mockserver.core.dialer import Dialer
from mockserver.core.pages import cursor_value
from mockserver.exchange import Call, Reply
from mockserver.handlers import HandlerSet

if TYPE_CHECKING:
    from mockserver.runtime import Runtime

handlers = HandlerSet("mockline-admin")

FILTERS = ("api", "callID", "state", "style", "queueID", "campaignID", "number", "agentUsername")


@handlers.operation("listCalls")
def list_calls(call: Call, rt: Runtime) -> Reply:
    """A page of calls, oldest first, from the one dialer asked for (or the first served)."""
    q = call.query
    wanted = {k: q.get(k) for k in FILTERS if k != "api"}
    dialers = [
        engine
        for name, engine in sorted(rt.engines.items())
        if isinstance(engine, Dialer) and q.get("api") in (None, name)
    ]
    if not dialers:
        return Reply(200, {"total": 0, "calls": [], "next_cursor": None})
    dialer = dialers[0]
    page = dialer.call_page(cursor_value(q.get("cursor"), 0), call.query_int("limit"), **wanted)
    return Reply(200, {"total": dialer.count_calls(), "calls": page.items, "next_cursor": page.next_cursor})
