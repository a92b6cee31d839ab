"""Diyalog queueing services, the bank's side: interactions, token checks and documents."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mockserver.core.fakes import Fakes
from mockserver.core.queue import QueueEngine
from mockserver.exchange import Call, Reply
from mockserver.handlers import HandlerSet

if TYPE_CHECKING:
    from mockserver.runtime import Runtime

API = "diyalog"
handlers = HandlerSet(API)


def build_engine(rt: Runtime) -> QueueEngine:
    locale = rt.apis[API].locale
    return QueueEngine(
        clock=rt.clock,
        store=rt.store,
        timeline=rt.timeline,
        make_fakes=lambda: Fakes(rt.settings.seed, locale, salt="diyalog:queue"),
        config=rt.settings.section(API),
        say=rt.apis[API].contract.message,
    )


def engine(rt: Runtime) -> QueueEngine:
    found = rt.engines[API]
    assert isinstance(found, QueueEngine)
    return found


@handlers.operation("createInteraction")
def create_interaction(call: Call, rt: Runtime) -> Reply:
    record = engine(rt).create(call.body)
    return Reply(200, {"success": True, "result": {"interactionId": record["interactionId"]}})


@handlers.operation("deleteInteraction")
def delete_interaction(call: Call, rt: Runtime) -> Reply:
    engine(rt).withdraw(str(call.path_params["interactionId"]))
    return Reply(200, {"success": True, "errorMessage": None})


@handlers.operation("checkAuthToken")
def check_auth_token(call: Call, rt: Runtime) -> Reply:
    return Reply(200, engine(rt).check_device_token(call.body), "text/plain")


@handlers.operation("checkToken")
def check_token(call: Call, rt: Runtime) -> Reply:
    q = call.query
    session_id, token, user_no = str(q["sessionId"]), str(q["token"]), str(q["userNo"])
    problem = engine(rt).check_session_token(session_id, token, user_no)
    if problem is not None:
        return Reply(200, {"success": False, "errorMessage": problem})
    return Reply(
        200, {"success": True, "errorMessage": None, "result": {"sessionId": session_id, "userNo": user_no}}
    )


@handlers.operation("createDocument")
def create_document(call: Call, rt: Runtime) -> Reply:
    record = engine(rt).store_document(call.body)
    return Reply(200, {"success": True, "documentId": record["documentId"], "errorMessage": None})
