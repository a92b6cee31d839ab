"""Control plane for the mock Ringotel CRM: activities as stored, and uploaded recordings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mockserver.core.pages import cursor_value
from mockserver.errors import ApiError
from mockserver.exchange import Call, Reply
from mockserver.handlers import HandlerSet
from mockserver.handlers.ringotel import engine

if TYPE_CHECKING:
    from mockserver.core.crm import CrmEngine
    from mockserver.runtime import Runtime

handlers = HandlerSet("mockline-admin")


def _crm(rt: Runtime) -> CrmEngine:
    if "ringotel-crm" not in rt.engines:
        raise ApiError(404, "The ringotel-crm API is not served by this mock (see --api).")
    return engine(rt)


@handlers.operation("listCrmActivities")
def list_crm_activities(call: Call, rt: Runtime) -> Reply:
    q = call.query
    page = _crm(rt).activity_page(cursor_value(q.get("cursor"), 0), call.query_int("limit"))
    return Reply(200, {"activities": page.items, "next_cursor": page.next_cursor})


@handlers.operation("getCrmActivity")
def get_crm_activity(call: Call, rt: Runtime) -> Reply:
    return Reply(200, _crm(rt).activity(str(call.path_params["activity_id"])))


@handlers.operation("getCrmRecording")
def get_crm_recording(call: Call, rt: Runtime) -> Reply:
    _meta, content = _crm(rt).recording(str(call.path_params["activity_id"]))
    return Reply(200, content, "application/octet-stream")
