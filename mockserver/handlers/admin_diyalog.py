"""Control plane for the Diyalog queue: interactions, the agent pool and stored documents."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
    found = _queue(rt).interactions(call.query.get("state"))
    return Reply(200, {"interactions": [public_interaction(i) for i in found]})


@handlers.operation("getDiyalogInteraction")
def get_diyalog_interaction(call: Call, rt: Runtime) -> Reply:
    return Reply(200, public_interaction(_queue(rt).interaction(str(call.path_params["interactionId"]))))


@handlers.operation("listDiyalogAgents")
def list_diyalog_agents(call: Call, rt: Runtime) -> Reply:
    agents = [{k: a[k] for k in ("agent_id", "name", "state", "interaction")} for a in _queue(rt).agents()]
    return Reply(200, {"agents": agents})


@handlers.operation("listDiyalogDocuments")
def list_diyalog_documents(call: Call, rt: Runtime) -> Reply:
    return Reply(200, {"documents": [document_summary(d) for d in _queue(rt).documents()]})


@handlers.operation("getDiyalogDocument")
def get_diyalog_document(call: Call, rt: Runtime) -> Reply:
    record = _queue(rt).document(str(call.path_params["documentId"]))
    return Reply(200, {**document_summary(record), "base64FileContent": record["base64FileContent"]})
