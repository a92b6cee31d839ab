"""Diyalog queueing services, the bank's side: interactions, token checks and documents."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from contracts.model import Contract, Operation
from mockserver.core.fakes import Fakes
from mockserver.core.queue import PREFERENCE_KEYS, Defaults, QueueEngine, Verdicts, routing_of
from mockserver.exchange import Call, Reply
from mockserver.handlers import HandlerSet

if TYPE_CHECKING:
    from mockserver.runtime import Runtime

API = "diyalog"
handlers = HandlerSet(API)


def build_engine(rt: Runtime) -> QueueEngine:
    locale = rt.apis[API].locale
    contract = rt.apis[API].contract
    return QueueEngine(
        clock=rt.clock,
        store=rt.store,
        timeline=rt.timeline,
        make_fakes=lambda: Fakes(rt.settings.seed, locale, salt="diyalog:queue"),
        config=rt.settings.section(API),
        say=contract.message,
        defaults=_defaults(contract),
        verdicts=_verdicts(contract),
    )


def _defaults(contract: Contract) -> Defaults:
    """The default state diyalog.yaml's examples show, so that a documented request succeeds against it:
    the agents createInteraction's examples route to (``PREFERENCE_KEYS`` of their attachedData, in
    order), the device token of each checkAuthToken example, the session token checkToken's parameter
    examples name, and as the first interaction id the one deleteInteraction's example withdraws."""
    agents: list[str] = []
    for example in _request_examples(contract.operation("createInteraction")):
        routing = routing_of(example.get("attachedData"))
        agents += [routing[k] for k in PREFERENCE_KEYS if k in routing and routing[k] not in agents]
    fields = ("dlgToken", "deviceId", "customerNo", "deviceHash")
    devices = tuple(
        {k: str(example[k]) for k in fields if k in example}
        for example in _request_examples(contract.operation("checkAuthToken"))
    )
    check = contract.operation("checkToken")
    session = {name: str(check.example_of(name)) for name in ("sessionId", "token", "userNo")}
    first = str(contract.operation("deleteInteraction").example_of("interactionId"))
    if not first.isdigit():
        raise ValueError(f"{API}: deleteInteraction's interactionId example is not a number: {first!r}")
    return Defaults(tuple(agents), devices, session, int(first))


def _verdicts(contract: Contract) -> Verdicts:
    """checkAuthToken's verdict words: the values of its plain-text answer's examples, by example name,
    each one the verdict schema lists."""
    media = contract.operation("checkAuthToken").responses["200"].content["text/plain"]
    listed = (media.schema or {}).get("enum")
    names = {
        "validated": "validated",
        "invalid_token": "invalid-token",
        "expired_token": "expired-token",
        "invalid_device": "invalid-device-id",
    }
    words: dict[str, str] = {}
    for field, name in names.items():
        word = media.examples.get(name)
        if not isinstance(word, str) or (listed is not None and word not in listed):
            raise ValueError(f"{API}: checkAuthToken's example {name!r} shows no listed verdict: {word!r}")
        words[field] = word
    return Verdicts(**words)


def _request_examples(operation: Operation) -> list[Mapping[str, Any]]:
    media = operation.request_body.content.get("application/json") if operation.request_body else None
    return [v for v in (media.examples if media else {}).values() if isinstance(v, Mapping)]


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
