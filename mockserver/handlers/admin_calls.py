"""Control plane: every call a dialer engine holds, with its state and history (GET /__admin/calls)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mockserver.core.dialer import Dialer
from mockserver.exchange import Call, Reply
from mockserver.handlers import HandlerSet

if TYPE_CHECKING:
    from mockserver.runtime import Runtime

handlers = HandlerSet("mockline-admin")

FILTERS = ("api", "callID", "state", "style", "queueID", "campaignID", "number", "agentUsername")


@handlers.operation("listCalls")
def list_calls(call: Call, rt: Runtime) -> Reply:
    q = call.query
    wanted = {k: q.get(k) for k in FILTERS if k != "api"}
    found: list[dict[str, Any]] = []
    for name, engine in rt.engines.items():
        if isinstance(engine, Dialer) and q.get("api") in (None, name):
            found.extend(engine.calls(**wanted))
    offset = int(q.get("offset", 0))
    limit = int(q.get("limit", 1000))
    return Reply(200, {"total": len(found), "calls": found[offset : offset + limit]})
