"""Callbacks and webhooks of a spec as small OpenAPI documents openapi-core can validate.

openapi-core validates requests to a document's ``paths`` but has no API for ``callbacks`` (nor for
``x-webhooks``, our 3.0 spelling of 3.1 ``webhooks``). So each callback or webhook operation is lifted into
a synthetic document with one path, ``/<operationId>``, that shares the original ``components``: every
``$ref`` keeps working and a payload is validated exactly as the spec says.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

from contracts import model

SYNTHETIC_HOST = "http://callback.invalid"


@dataclass(frozen=True, eq=False)
class CallbackKind:
    """One kind of callback or webhook a spec's vendor sends: a ``model.Callback`` as the checkers use it."""

    callback: model.Callback
    components: Mapping[str, Any] = field(repr=False, hash=False, compare=False)

    @property
    def api(self) -> str:
        return self.callback.api

    @property
    def operation_id(self) -> str:
        return self.callback.operation_id

    @property
    def name(self) -> str:
        return self.callback.name

    @property
    def method(self) -> str:
        return self.callback.method

    @property
    def source(self) -> str | None:
        return self.callback.source

    @property
    def operation(self) -> Mapping[str, Any]:
        return self.callback.operation.definition

    @property
    def path(self) -> str:
        return f"/{self.operation_id}"

    @property
    def success_status(self) -> list[int]:
        return list(self.callback.retry.success_status)

    def body_spec(self) -> tuple[str, model.Media] | None:
        body = self.callback.operation.request_body
        for media_type, media in (body.content if body else {}).items():
            return media_type, media
        return None

    def schema(self) -> Mapping[str, Any] | None:
        return self.callback.payload_schema

    def query_parameters(self) -> list[model.Parameter]:
        return [p for p in self.callback.operation.parameters if p.location == "query"]

    def examples(self) -> dict[str, Any]:
        """Named example payloads: a JSON or form body, or a query string's fields for a GET."""
        found = self.body_spec()
        if found is not None:
            return dict(found[1].examples)
        params = self.query_parameters()
        named = {
            p.name: [e.get("value") for e in (p.definition.get("examples") or {}).values()] for p in params
        }
        count = max((len(v) for v in named.values()), default=0)
        if not count:
            return {}
        return {
            f"example-{index + 1}": {
                name: values[min(index, len(values) - 1)] for name, values in named.items() if values
            }
            for index in range(count)
        }

    def required_fields(self) -> list[str]:
        return list((self.schema() or {}).get("required", []))

    def encode(self, payload: Any) -> tuple[str, dict[str, str], bytes | None]:
        """(query string, headers, body) that carry ``payload`` the way the vendor sends it."""
        return self.callback.encode(payload)

    def event_of(self, payload: Any) -> str:
        """What a person would call this delivery: the payload's event, or the kind's name."""
        if isinstance(payload, Mapping):
            for key in ("event", "event_type", "eventType", "agent_status"):
                if isinstance(payload.get(key), str):
                    return str(payload[key])
        return self.name


def kinds(spec: str | Path | model.Contract) -> list[CallbackKind]:
    """Every callback and webhook of a spec, one per registration (Ryng's connect callback is six)."""
    return list(_kinds(spec if isinstance(spec, model.Contract) else model.contract(spec)))


@functools.lru_cache(maxsize=64)
def _kinds(found: model.Contract) -> tuple[CallbackKind, ...]:
    components = found.document.get("components") or {}
    return tuple(CallbackKind(callback, components) for callback in found.callbacks)


def all_kinds(specs: list[str] | None = None) -> list[CallbackKind]:
    return [kind for spec in model.contracts(specs) for kind in kinds(spec)]


def synthetic_document(kind: CallbackKind) -> dict[str, Any]:
    """A document whose one operation is the callback, sharing the spec's components."""
    operation = {k: v for k, v in kind.operation.items() if k not in {"callbacks", "security", "x-retry"}}
    operation.setdefault("responses", {"200": {"description": "received"}})
    return {
        "openapi": "3.0.3",
        "info": {"title": f"{kind.api} {kind.operation_id}", "version": "1"},
        "servers": [{"url": SYNTHETIC_HOST}],
        "paths": {kind.path: {kind.method.lower(): operation}},
        "components": kind.components,
    }


@functools.lru_cache(maxsize=128)
def _openapi(kind: CallbackKind) -> Any:
    from openapi_core import OpenAPI

    return OpenAPI.from_dict(synthetic_document(kind))


class _Request:
    """The request protocol openapi-core validates."""

    def __init__(
        self, kind: CallbackKind, query: str, headers: Mapping[str, str], body: bytes | None
    ) -> None:
        from openapi_core.datatypes import RequestParameters
        from werkzeug.datastructures import Headers, ImmutableMultiDict

        self.host_url = SYNTHETIC_HOST
        self.path = kind.path
        self.full_url_pattern = SYNTHETIC_HOST + kind.path
        self.method = kind.method.lower()
        self.body = body
        self.content_type = headers.get("content-type", "")
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(parse_qs(query, keep_blank_values=True)),
            header=Headers(dict(headers)),
            cookie=ImmutableMultiDict(),
            path={},
        )


def problems(kind: CallbackKind, query: str, headers: Mapping[str, str], body: bytes | None) -> list[str]:
    """Why this request is not a valid ``kind`` (empty when it is)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    declared = kind.body_spec()
    if body and declared is not None and not lowered.get("content-type", "").strip():
        return [f"no content-type header: this callback's body is {declared[0]}"]
    try:
        _openapi(kind).validate_request(_Request(kind, query, lowered, body))
    except Exception as exc:
        return _explain(exc) + _repeated(kind, query, body)
    return _repeated(kind, query, body)


def _repeated(kind: CallbackKind, query: str, body: bytes | None) -> list[str]:
    """A form or query field that is one value in the spec but sent more than once (openapi-core reads
    only one of them, so the verdict would be on a value the payload shown does not hold)."""
    if kind.callback.encoding == "query":
        text = query
        single = {p.name for p in kind.query_parameters() if (p.schema or {}).get("type") != "array"}
    elif kind.callback.encoding == "form" and body:
        text = body.decode("utf-8", "replace")
        properties = (kind.schema() or {}).get("properties") or {}
        single = {name for name, schema in properties.items() if (schema or {}).get("type") != "array"}
    else:
        return []
    return [
        f"{name} is sent {len(values)} times ({', '.join(map(repr, values))}); the spec's {name} is one value"
        for name, values in parse_qs(text, keep_blank_values=True).items()
        if name in single and len(values) > 1
    ]


def _explain(exc: BaseException) -> list[str]:
    found: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    subject = "body"  # what a schema error with no path is about: the body, or the parameter being read
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        name = getattr(current, "name", None)  # a parameter's error names the parameter
        if isinstance(name, str) and getattr(current, "location", None):
            subject = name
        for error in getattr(current, "schema_errors", None) or []:
            where = "/".join(str(p) for p in getattr(error, "absolute_path", []))
            found.append(f"{where or subject}: {error.message}" if hasattr(error, "message") else str(error))
        for error in getattr(current, "errors", None) or []:
            if isinstance(error, BaseException):
                found += _explain(error)
        current = current.__cause__ or current.__context__
    if not found:
        try:
            found.append(str(exc) or type(exc).__name__)
        except Exception:  # openapi-core's messages quote the body as UTF-8, which it may not be
            found.append(f"{type(exc).__name__}: the body could not be read as its content-type says")
    return list(dict.fromkeys(found))


def registered_for(candidates: list[CallbackKind], method: str, path: str) -> list[CallbackKind]:
    """The callbacks a delivery to ``path`` can be, by what its URL names: the operation that registered
    it (``/pushTransactional/connect``) or the callback operation itself, else the callback's name
    (``/connect``), else any callback sent with this method. The payload's shape never decides this."""
    segments = {unquote(s).lower() for s in path.split("/") if s}
    same = [k for k in candidates if k.method == method.upper()]
    by_operation = [
        k for k in same if (k.source or "").lower() in segments or k.operation_id.lower() in segments
    ]
    if by_operation:
        return [k for k in by_operation if k.name.lower() in segments] or by_operation
    return [k for k in same if k.name.lower() in segments] or same


def classify(
    candidates: list[CallbackKind],
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes | None,
) -> tuple[list[CallbackKind], list[str]]:
    """The registrations this delivery is for, and why it is not valid (empty when it is).

    Candidates are narrowed by the delivery's path first (``registered_for``); the payload is then
    validated against what remains. Every registration it is valid for is returned, in document order, so
    a caller can say when the URL leaves the choice open; an invalid one returns the closest registration,
    with every other the path leaves open that the payload misses in the same way, and its problems.
    """
    narrowed = registered_for(candidates, method, path)
    if not narrowed:
        return [], ["no callback or webhook of this spec is sent with " + method]
    sent = str(headers.get("content-type", "")).split(";", 1)[0].strip().lower()
    fitting: list[CallbackKind] = []
    closest: tuple[int, CallbackKind, list[str]] | None = None
    verdicts: dict[str, list[str]] = {}  # one validation per callback operation
    for kind in narrowed:
        if kind.operation_id not in verdicts:
            verdicts[kind.operation_id] = problems(kind, query, headers, body)
        found = verdicts[kind.operation_id]
        if not found:
            fitting.append(kind)
            continue
        # A payload in another media type than the kind's is a poor match, however few its problems.
        declared = kind.body_spec()
        score = len(found) + (100 if declared is not None and declared[0] != sent else 0)
        if closest is None or score < closest[0]:
            closest = (score, kind, found)
    if fitting:
        return fitting, []
    assert closest is not None
    # Every registration the path leaves open that the payload misses alike is named, not just the first.
    kind, found = closest[1], closest[2]
    return [k for k in narrowed if k.name == kind.name and verdicts[k.operation_id] == found], found


def label(found: list[CallbackKind]) -> str:
    """How a person names what a delivery is: ``pushTransactional's connect callback``, or the choices."""
    if not found:
        return "unknown callback"
    first = found[0]
    if first.source is None:
        return f"{first.name} webhook"
    sources = list(dict.fromkeys(k.source for k in found if k.source))
    if len(sources) == 1:
        return f"{sources[0]}'s {first.name} callback"
    return f"{first.name} callback of {' or '.join(sources)} (name the operation in the URL's path to tell)"
