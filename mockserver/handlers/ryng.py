"""Ryng's eight endpoints: read the request, hand it to the dialer, answer as Ryng documents.

The dialer (``mockserver.core.dialer``) does the work in clock time; these handlers only resolve the
callback routes a request registers and map the dialer's refusals to Ryng's 500 messages.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from mockserver.core.dialer import (
    Dialer,
    DialerError,
    NotCancellable,
    Routes,
    UnknownCall,
)
from mockserver.core.dialer_intake import SLICE, Steps
from mockserver.core.fakes import Fakes
from mockserver.errors import ApiError
from mockserver.exchange import Call, Reply
from mockserver.handlers import HandlerSet

if TYPE_CHECKING:
    from mockserver.runtime import Runtime

API = "ryng"
handlers = HandlerSet(API)


def said(rt: Runtime, key: str, **values: Any) -> str:
    """Ryng's words for ``key``, from the spec's ``x-mockline.messages``."""
    return rt.apis[API].contract.message(key, **values)


def build_engine(runtime: Runtime) -> Dialer:
    locale = runtime.apis[API].locale  # built only when Ryng is served (engines.build_engines)
    seed = runtime.settings.seed

    def make_fakes(salt: str) -> Fakes:
        return Fakes(seed, locale, salt=f"ryng:{salt}")

    return Dialer(
        clock=runtime.clock,
        store=runtime.store,
        timeline=runtime.timeline,
        outbox=runtime.outbox,
        make_fakes=make_fakes,
        seed=seed,
        config=runtime.settings.section(API),
        default_mapping=_default_mapping(runtime),
        scheduled_call=_cancellable_example(runtime),
    )


def _default_mapping(runtime: Runtime) -> str:
    """The ``agentMapping`` a request that names none gets: the ``default`` the spec gives that field,
    one value on every operation whose JSON body takes it."""
    operations = runtime.apis[API].contract.operations
    defaults = {str(d) for op in operations if (d := op.body_default("agentMapping")) is not None}
    if len(defaults) != 1:
        raise ValueError(f"{API}: agentMapping must have one default in the spec, not {sorted(defaults)}")
    return defaults.pop()


def _cancellable_example(runtime: Runtime) -> int | None:
    """The call id cancelCall's documented example names: the default state holds that call, scheduled
    and not tried yet, so the documented request succeeds against the default state."""
    if API not in runtime.apis or not runtime.settings.section(API).get("scheduled_call", True):
        return None
    parameter = runtime.apis[API].contract.operation("cancelCall").parameter("callID", "path")
    shown = [value for value in (parameter.examples if parameter else []) if isinstance(value, int)]
    return shown[0] if shown else None


def engine(rt: Runtime) -> Dialer:
    return cast(Dialer, rt.engines[API])


CALLBACKS = ("connect", "terminal")


def routes(call: Call, rt: Runtime) -> Routes:
    """The callback URLs this request registers, with each callback's operationId and retry rule."""
    out: dict[str, dict[str, Any]] = {}
    for spec in call.operation.callback_specs:
        if spec.name in CALLBACKS and spec.method == "POST":
            url = spec.url_of(call.body, call.query, call.headers)
            if isinstance(url, str) and url:
                out[spec.name] = {"url": url, "operationId": spec.operation_id, "retry": spec.retry_rule}
    return out


def _ok(message: str, data: dict[str, Any] | None = None, **headers: Any) -> Reply:
    """Ryng's answer, plus ``x-mockline-*`` headers for what the dialer did: how many calls it made, and
    the id of a queue or campaign it made (Ryng's answers carry no ids; one the path names is not repeated)."""
    body: dict[str, Any] = {"error": False, "message": message}
    if data is not None:
        body["data"] = data
    return Reply(200, body, headers={_header(k): str(v) for k, v in headers.items()})


@functools.cache
def _header(key: str) -> str:
    return "x-mockline-" + key.replace("_", "-")


T = TypeVar("T")
_PAUSE = 0.001  # a timer, not sleep(0): requests that arrived during a slice run before the next one


def _taken_in(steps: Steps[T], answer: Callable[[T], Reply], failed: str) -> Reply | Awaitable[Reply]:
    """Take a request's records in. The first slice is taken now, and a request with no more is answered
    at once; a bigger one goes on a slice at a time, serving other requests in between."""
    reply = _slice(steps, answer, failed)
    return reply if reply is not None else _rest_of(steps, answer, failed)


async def _rest_of(steps: Steps[T], answer: Callable[[T], Reply], failed: str) -> Reply:
    while True:
        await asyncio.sleep(_PAUSE)
        reply = _slice(steps, answer, failed)
        if reply is not None:
            return reply


def _slice(steps: Steps[T], answer: Callable[[T], Reply], failed: str) -> Reply | None:
    """One slice of records; the answer once the last is in (None while more remain)."""
    try:
        next(steps)
    except StopIteration as done:
        return answer(done.value)
    except DialerError:
        raise ApiError(500, failed) from None
    return None


def _one_slice(call: Call) -> bool:
    """A request whose records are taken in at once (most are: a transactional push is one record)."""
    data = call.body.get("customerData") or {}
    return "campaignID" not in data and len(data.get("jsonData") or ()) <= SLICE


def _max_records(operation: Any) -> int | None:
    """The most records one request may carry: ``maxItems`` of ``customerData.jsonData`` in the spec
    (also applied to the leads of a CSV sheet)."""
    schema = operation.body.accepts("application/json") if operation.body else None
    data = ((schema.source if schema else {}).get("properties") or {}).get("customerData") or {}
    limit = ((data.get("properties") or {}).get("jsonData") or {}).get("maxItems")
    return int(limit) if isinstance(limit, int) else None


def _is_upload(call: Call) -> bool:
    return call.media_type == "multipart/form-data"


def _campaign_upload(
    call: Call, rt: Runtime, campaign_id: int | None
) -> Steps[tuple[int, list[int], str | None]]:
    """A CSV sheet, as a file part (or, leniently, as a plain form field). Like Ryng, the mock accepts
    the upload before reading it; a sheet it cannot use makes no calls, and a header says why."""
    body = call.body if isinstance(call.body, dict) else {}
    upload = call.files.get("campaign-sheet")
    sheet = upload.content.decode("utf-8", "replace") if upload else str(body.get("campaign-sheet") or "")
    return engine(rt).intake.campaign_sheet_steps(
        campaign_id,
        sheet,
        body.get("agents"),
        body.get("campaign-name"),
        call.operation_id,
        max_rows=_max_records(call.operation),
    )


def _sheet_answer(rt: Runtime, with_id: bool) -> Callable[[tuple[int, list[int], str | None]], Reply]:
    def answer(done: tuple[int, list[int], str | None]) -> Reply:
        campaign_id, calls, problem = done
        headers: dict[str, Any] = {"calls": len(calls)}
        if with_id:
            headers = {"campaign_id": campaign_id, **headers}
        if problem:
            headers["warning"] = f"campaign-sheet: {problem}"
        return _ok(said(rt, "campaign_processing"), {}, **headers)

    return answer


@handlers.operation("createCampaign")
def create_campaign(call: Call, rt: Runtime) -> Reply | Awaitable[Reply]:
    if _is_upload(call):
        return _taken_in(
            _campaign_upload(call, rt, None), _sheet_answer(rt, True), said(rt, "campaign_failed")
        )
    steps = engine(rt).intake.create_campaign_steps(call.body, routes(call, rt), call.operation_id)
    return _taken_in(
        steps,
        lambda done: _ok(said(rt, "campaign_processing"), {}, campaign_id=done[0], calls=len(done[1])),
        said(rt, "campaign_failed"),
    )


@handlers.operation("appendCampaign")
def append_campaign(call: Call, rt: Runtime) -> Reply | Awaitable[Reply]:
    campaign_id = int(call.path_params["campaignID"])
    if _is_upload(call):
        return _taken_in(
            _campaign_upload(call, rt, campaign_id), _sheet_answer(rt, False), said(rt, "campaign_failed")
        )
    steps = engine(rt).intake.append_campaign_steps(
        campaign_id, call.body, routes(call, rt), call.operation_id
    )
    return _taken_in(
        steps,
        lambda calls: _ok(said(rt, "campaign_processing"), {}, calls=len(calls)),
        said(rt, "campaign_failed"),
    )


@handlers.operation("makePreviewCall")
def make_preview_call(call: Call, rt: Runtime) -> Reply:
    body = call.body
    try:
        started = engine(rt).make_preview_call(
            int(body["agentID"]),
            int(body["campaignID"]),
            body.get("customerNumber"),
            body.get("customerName"),
            routes(call, rt),
        )
    except DialerError:
        raise ApiError(500, said(rt, "preview_failed")) from None
    return _ok(
        said(rt, "preview_started", sid=started["sid"]),
        {"callID": started["callID"], "logID": started["logID"]},
    )


@handlers.operation("endPreviewCall")
def end_preview_call(call: Call, rt: Runtime) -> Reply:
    body = call.body
    try:
        engine(rt).end_preview_call(
            int(call.path_params["callID"]), int(body["logID"]), body["dispositionName"], body["notes"]
        )
    except DialerError:
        raise ApiError(500, said(rt, "disposal_failed")) from None
    return _ok(said(rt, "preview_disposed"), {})


@handlers.operation("createQueue")
def create_queue(call: Call, rt: Runtime) -> Reply | Awaitable[Reply]:
    def answer(done: tuple[int, list[int]]) -> Reply:
        return _ok(said(rt, "queue_created"), {}, queue_id=done[0], calls=len(done[1]))

    if not _one_slice(call):
        steps = engine(rt).intake.create_queue_steps(call.body, routes(call, rt), call.operation_id)
        return _taken_in(steps, answer, said(rt, "queue_failed"))
    try:
        return answer(engine(rt).intake.create_queue(call.body, routes(call, rt), call.operation_id))
    except DialerError:
        raise ApiError(500, said(rt, "queue_failed")) from None


@handlers.operation("appendToQueue")
def append_to_queue(call: Call, rt: Runtime) -> Reply | Awaitable[Reply]:
    return _add_to_queue(call, rt)


@handlers.operation("pushTransactional")
def push_transactional(call: Call, rt: Runtime) -> Reply | Awaitable[Reply]:
    return _add_to_queue(call, rt)


def _add_to_queue(call: Call, rt: Runtime) -> Reply | Awaitable[Reply]:
    queue_id = int(call.path_params["queueID"])
    if not _one_slice(call):
        steps = engine(rt).intake.add_to_queue_steps(queue_id, call.body, routes(call, rt), call.operation_id)
        return _taken_in(
            steps,
            lambda calls: _ok(said(rt, "queue_appended"), None, calls=len(calls)),
            said(rt, "queue_failed"),
        )
    try:
        calls = engine(rt).intake.add_to_queue(queue_id, call.body, routes(call, rt), call.operation_id)
    except DialerError:
        raise ApiError(500, said(rt, "queue_failed")) from None
    return _ok(said(rt, "queue_appended"), None, calls=len(calls))


@handlers.operation("cancelCall")
def cancel_call(call: Call, rt: Runtime) -> Reply:
    try:
        engine(rt).cancel(int(call.path_params["callID"]))
    except UnknownCall:
        raise ApiError(500, said(rt, "call_unknown")) from None
    except NotCancellable:
        raise ApiError(500, said(rt, "call_not_cancellable")) from None
    return _ok(said(rt, "call_cancelled"), {})
