"""Ringotel's reference CRM contract, answered by a seeded CRM: the hooks Ringotel calls during a call."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from contracts.model import ADMIN_SPEC
from mockserver.core.crm import CrmEngine
from mockserver.core.fakes import Fakes
from mockserver.errors import ApiError
from mockserver.exchange import Call, Reply
from mockserver.handlers import HandlerSet

if TYPE_CHECKING:
    from contracts.model import Contract
    from mockserver.runtime import Runtime

API = "ringotel-crm"
handlers = HandlerSet(API)


def build_engine(rt: Runtime) -> CrmEngine:
    locale = rt.apis[API].locale
    contract = rt.apis[API].contract
    return CrmEngine(
        clock=rt.clock,
        store=rt.store,
        make_fakes=lambda: Fakes(rt.settings.seed, locale, salt="ringotel-crm:crm"),
        config=rt.settings.section(API),
        opened_status=_body_default(contract, "createActivity", "status"),
        closed_status=_body_default(contract, "stopCallActivity", "status"),
        contact_fields=_answered_fields(contract, "createContact"),
        activity_fields=_answered_fields(contract, "createActivity"),
    )


def _body_default(contract: Contract, operation_id: str, field: str) -> str:
    """The ``default`` the operation's JSON body schema gives ``field`` (the spec must give one)."""
    default = contract.operation(operation_id).body_default(field)
    if default is None:
        raise ValueError(f"{API}: {operation_id}'s body must give {field} a default")
    return str(default)


def _recording_path(rt: Runtime, activity_id: str) -> str:
    """Where the control plane serves an uploaded recording: its prefix and ``getCrmRecording``'s path,
    as mockline-admin.yaml writes them."""
    admin = rt.apis[ADMIN_SPEC]
    path = admin.contract.operation("getCrmRecording").path
    return admin.prefix + path.format(activity_id=quote(activity_id, safe=""))


def _answered_fields(contract: Contract, operation_id: str) -> tuple[str, ...]:
    """The properties of the record the operation answers with (the spec's Contact or Activity schema)."""
    op = contract.operation(operation_id)
    media = op.responses[str(op.success_status)].content["application/json"]
    return tuple((media.schema or {}).get("properties") or ())


def engine(rt: Runtime) -> CrmEngine:
    found = rt.engines[API]
    assert isinstance(found, CrmEngine)
    return found


def _page(call: Call) -> tuple[int, int]:
    """``limit`` and ``offset`` as sent, else as the operation's spec defaults them."""
    return call.query_int("limit"), call.query_int("offset")


def _activity_reply(rt: Runtime, status: int, record: dict[str, Any]) -> Reply:
    return Reply(status, engine(rt).public_activity(record))


@handlers.operation("issueToken")
def issue_token(call: Call, rt: Runtime) -> Reply:
    creds = rt.settings.credentials_for(API)
    pair = (str(call.body["client_id"]), str(call.body["client_secret"]))
    if pair not in creds.clients:
        raise ApiError(403, "The client_id or client_secret is wrong.")
    lifetime = creds.token_lifetime_seconds or rt.apis[API].contract.token_lifetime()
    grant = rt.tokens_for(API).issue(pair[0], lifetime, scope="")
    return Reply(200, {k: grant[k] for k in ("access_token", "token_type", "expires_in")})


@handlers.operation("listUsers")
def list_users(call: Call, rt: Runtime) -> Reply:
    return Reply(200, {"records": engine(rt).users(*_page(call))})


@handlers.operation("listOrganizations")
def list_organizations(call: Call, rt: Runtime) -> Reply:
    return Reply(200, {"records": engine(rt).organizations(*_page(call))})


@handlers.operation("listContacts")
def list_contacts(call: Call, rt: Runtime) -> Reply:
    return Reply(200, {"records": engine(rt).contacts(*_page(call))})


@handlers.operation("findContact")
def find_contact(call: Call, rt: Runtime) -> Reply:
    found = engine(rt).find_contact(str(call.query["phone"]))
    return Reply(200, {"records": [] if found is None else [found]})


@handlers.operation("createContact")
def create_contact(call: Call, rt: Runtime) -> Reply:
    return Reply(201, engine(rt).create_contact(call.body))


@handlers.operation("updateContact")
def update_contact(call: Call, rt: Runtime) -> Reply:
    return Reply(200, engine(rt).update_contact(str(call.path_params["contact_id"]), call.body))


@handlers.operation("createActivity")
def create_activity(call: Call, rt: Runtime) -> Reply:
    return _activity_reply(rt, 201, engine(rt).create_activity(call.body))


@handlers.operation("updateActivity")
def update_activity(call: Call, rt: Runtime) -> Reply:
    return _activity_reply(
        rt, 200, engine(rt).update_activity(str(call.path_params["activity_id"]), call.body)
    )


@handlers.operation("assignActivity")
def assign_activity(call: Call, rt: Runtime) -> Reply:
    activity_id = str(call.path_params["activity_id"])
    return _activity_reply(rt, 200, engine(rt).assign_activity(activity_id, str(call.body["contact_id"])))


@handlers.operation("stopCallActivity")
def stop_call_activity(call: Call, rt: Runtime) -> Reply:
    return _activity_reply(rt, 200, engine(rt).stop_activity(str(call.path_params["activity_id"]), call.body))


@handlers.operation("updateCallRecording")
def update_call_recording(call: Call, rt: Runtime) -> Reply:
    crm = engine(rt)
    activity_id = str(call.path_params["activity_id"])
    if call.media_type == "multipart/form-data":
        upload = call.files.get("file")
        if upload is not None:
            name, kind, content = upload.filename, upload.content_type, upload.content
        else:
            name, kind, content = "recording", "application/octet-stream", str(call.body["file"]).encode()
        host = call.headers.get("host") or f"{rt.settings.host}:{rt.settings.port}"
        url = f"http://{host}{_recording_path(rt, activity_id)}"
        record = crm.upload_recording(activity_id, name, kind, content, url)
    else:
        record = crm.link_recording(activity_id, str(call.body["recording_url"]))
    return _activity_reply(rt, 200, record)
