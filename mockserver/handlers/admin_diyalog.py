"""Control plane for the Diyalog queue: interactions, the agent pool and stored documents."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mockserver.core import pages
from mockserver.core.pages import cursor_value
from mockserver.core.queue import document_summary, public_interaction
from mockserver.errors import ApiError
from mockserver.exchange import Call, Reply
from mockserver.handlers import HandlerSet
from mockserver.handlers.diyalog import engine

if TYPE_CHECKING:
    from mockserver.core.queue import QueueEngine
    from mockserver.runtime import Runtime

handlers = HandlerSet("mockline-admin")


def _queue(rt: Runtime) -> QueueEngine:
    if "diyalog" not in rt.engines:
        raise ApiError(404, "The diyalog API is not served by this mock (see --api).")
    return engine(rt)


@handlers.operation("listDiyalogInteractions")
def list_diyalog_interactions(call: Call, rt: Runtime) -> Reply:
    q = call.query
    page = _queue(rt).interaction_page(
        cursor_value(q.get("cursor"), 0), call.query_int("limit"), q.get("state")
    )
    items = [public_interaction(i) for i in page.items]
    return Reply(200, {"interactions": items, "next_cursor": page.next_cursor})


@handlers.operation("getDiyalogInteraction")
def get_diyalog_interaction(call: Call, rt: Runtime) -> Reply:
    return Reply(200, public_interaction(_queue(rt).interaction(str(call.path_params["interactionId"]))))


@handlers.operation("listDiyalogAgents")
def list_diyalog_agents(call: Call, rt: Runtime) -> Reply:
    page = pages.of_list(_queue(rt).agents(), *_window(call))
    agents = [{k: a[k] for k in ("agent_id", "name", "state", "interaction")} for a in page.items]
    return Reply(200, {"agents": agents, "next_cursor": page.next_cursor})


@handlers.operation("listDiyalogDocuments")
def list_diyalog_documents(call: Call, rt: Runtime) -> Reply:
    page = pages.of_list(_queue(rt).documents(), *_window(call))
    return Reply(
        200, {"documents": [document_summary(d) for d in page.items], "next_cursor": page.next_cursor}
    )


def _window(call: Call) -> tuple[int, int]:
    """Start and size of a page of a small list (agents, documents): the cursor is a position."""
    return cursor_value(call.query.get("cursor"), 0), call.query_int("limit")


@handlers.operation("getDiyalogDocument")
def get_diyalog_document(call: Call, rt: Runtime) -> Reply:
    record = _queue(rt).document(str(call.path_params["documentId"]))
    return Reply(200, {**document_summary(record), "base64FileContent": record["base64FileContent"]})
