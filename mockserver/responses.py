"""Replies built from the spec alone: a named example, the first example, or a generated instance."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from contracts import model
from mockserver.errors import ApiError
from mockserver.exchange import Call, Reply
from mockserver.generate import generate
from mockserver.operations import Operation

if TYPE_CHECKING:
    from mockserver.runtime import Runtime

_NO_BODY = (204, 304)  # statuses HTTP sends without a body, whatever a ``default`` response documents


def examples_of(operation: Operation, status: int) -> dict[str, tuple[str, Any]]:
    """Named examples of one documented response: name -> (media type, value)."""
    response = operation.documented(status) or {}
    out: dict[str, tuple[str, Any]] = {}
    for media_type, content in response.get("content", {}).items():
        for name, example in (content.get("examples") or {}).items():
            if isinstance(example, Mapping) and "value" in example:
                out.setdefault(name, (media_type, example["value"]))
        if "example" in content:
            out.setdefault("default", (media_type, content["example"]))
    return out


def find_example(operation: Operation, name: str) -> tuple[int, str, Any] | None:
    for code in operation.responses:
        if code.isdigit() and name in (found := examples_of(operation, int(code))):
            media_type, value = found[name]
            return int(code), media_type, value
    return None


def spec_reply(call: Call, runtime: Runtime, status: int | None = None) -> Reply:
    """The documented response ``status`` (default: the operation's success status)."""
    operation = call.operation
    status = status or operation.success_status
    response = operation.documented(status)
    if response is None:
        raise ApiError(500, f"{operation.operation_id} documents no {status} response")
    content = response.get("content", {})
    headers = documented_headers(call, runtime, status)
    if not content or status in _NO_BODY:
        return Reply(status, headers=headers)
    dynamic = call.prefer.get("dynamic") == "true" or runtime.settings.dynamic_responses
    examples = examples_of(operation, status)
    if examples and not dynamic:
        media_type, value = next(iter(examples.values()))
        return Reply(status, value, media_type, headers)
    media_type, media = next(iter(content.items()))
    schema = media.get("schema")
    if schema is None:
        return Reply(status, None, media_type, headers)
    fakes = runtime.fakes_for(call.api)
    document = runtime.apis[call.api].document
    return Reply(status, generate(schema, fakes, runtime.clock.now(), document=document), media_type, headers)


def documented_headers(call: Call, runtime: Runtime, status: int) -> dict[str, str]:
    """The headers the response documented for ``status`` declares, each from its example, else generated
    from its schema (``Content-Type`` is the answer's own: OpenAPI says a declared one is ignored). A
    response that declares none costs one dict lookup."""
    declared = call.operation.headers_of(status)
    if not declared:
        return {}
    api = call.api
    out: dict[str, str] = {}
    for name, header in declared.items():
        schema = header.get("schema") or {}
        shown = model.shown_examples(header, schema)
        if shown:
            value = shown[0]
        else:
            fakes = runtime.fakes_for(api)
            value = generate(schema, fakes, runtime.clock.now(), name, runtime.apis[api].document)
        if value is not None:
            out[name.lower()] = _header_text(value)
    return out


def _header_text(value: Any) -> str:
    """A header's value as OpenAPI's ``simple`` style writes it: booleans as JSON, lists comma-joined."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_header_text(v) for v in value)
    return str(value)


def named_example(call: Call, runtime: Runtime, status: int, name: str) -> Reply:
    """``Prefer: code=STATUS, example=NAME``: that example of that documented response."""
    examples = examples_of(call.operation, status)
    if name not in examples:
        api = runtime.apis[call.api]
        raise ApiError(
            api.errors.validation_status,
            f"Prefer: example={name} names no example of the {status} response of"
            f" {call.operation_id}; its examples are: {', '.join(examples) or 'none'}",
        )
    media_type, value = examples[name]
    return Reply(status, value, media_type, reply_headers(call, runtime, status))


def error_reply(call: Call, runtime: Runtime, status: int, message: str, *, preferred: bool = False) -> Reply:
    """A documented error status, as the vendor words errors (or as its example, if it has one).

    A validation error is worded from the request, so its examples only answer when a ``Prefer`` header
    asked for the status (``preferred``)."""
    examples = examples_of(call.operation, status)
    api = runtime.apis[call.api]
    headers = reply_headers(call, runtime, status)
    if examples and (preferred or status != api.errors.validation_status):
        media_type, value = next(iter(examples.values()))
        return Reply(status, value, media_type, headers)
    return Reply(
        status,
        api.errors.body(status, message, ApiError(status, message).title),
        api.errors.media_type,
        headers,
    )


def reply_headers(call: Call, runtime: Runtime, status: int) -> dict[str, str]:
    """The headers of an answer given from the spec: those its response declares, and a 429's
    ``Retry-After`` (the mock's own, over a declared one)."""
    headers = documented_headers(call, runtime, status)
    if status == 429:
        headers.update(retry_headers(runtime, call.api, status))
    return headers


def retry_headers(runtime: Runtime, api: str, status: int) -> dict[str, str]:
    """A 429 says when to try again: the API's rate-limit window, in seconds of the mock clock."""
    if status != 429:
        return {}
    rate = runtime.apis[api].rate_limit  # an API without a rate limit (a 429 fault): a minute
    window = rate.window_seconds if rate is not None else 60
    return {"retry-after": str(int(window))}
