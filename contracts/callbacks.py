"""Callbacks and webhooks of a spec as small OpenAPI documents openapi-core can validate.

openapi-core validates requests to a document's ``paths`` but has no API for ``callbacks`` (nor for
``x-webhooks``, our 3.0 spelling of 3.1 ``webhooks``). So each callback or webhook operation is lifted into
a synthetic document with one path, ``/<operationId>``, that shares the original ``components``: every
``$ref`` keeps working and a payload is validated exactly as the spec says.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode

from contracts.loaders import VENDOR_SPECS, load_spec

SYNTHETIC_HOST = "http://callback.invalid"


@dataclass(frozen=True)
class CallbackKind:
    """One kind of callback or webhook a spec's vendor sends."""

    api: str
    operation_id: str  # of the callback operation itself
    name: str  # callback key ("terminal") or webhook event ("StartCallActivity")
    method: str
    source: str | None  # operationId that registers it; None for a webhook
    operation: Mapping[str, Any] = field(repr=False, hash=False, compare=False)
    document: Mapping[str, Any] = field(repr=False, hash=False, compare=False)

    @property
    def path(self) -> str:
        return f"/{self.operation_id}"

    @property
    def retry(self) -> Mapping[str, Any]:
        return self.operation.get("x-retry") or {"attempts": 1, "success_status": [200]}

    @property
    def success_status(self) -> list[int]:
        return [int(s) for s in self.retry.get("success_status", [200])]

    def body_spec(self) -> tuple[str, Mapping[str, Any]] | None:
        body = resolve(self.document, self.operation.get("requestBody"))
        for media_type, media in ((body or {}).get("content") or {}).items():
            return media_type, media
        return None

    def schema(self) -> Mapping[str, Any] | None:
        found = self.body_spec()
        return resolve(self.document, found[1].get("schema")) if found else None

    def query_parameters(self) -> list[Mapping[str, Any]]:
        params = [resolve(self.document, p) for p in self.operation.get("parameters", [])]
        return [p for p in params if p.get("in") == "query"]

    def examples(self) -> dict[str, Any]:
        """Named example payloads: a JSON or form body, or a query string's fields for a GET."""
        found = self.body_spec()
        if found is not None:
            media = found[1]
            named = {
                name: resolve(self.document, ex).get("value")
                for name, ex in (media.get("examples") or {}).items()
            }
            if not named and "example" in media:
                named = {"example": media["example"]}
            return named
        params = self.query_parameters()
        if not params:
            return {}
        count = max(len(p.get("examples") or {}) for p in params) or 1
        out: dict[str, Any] = {}
        for index in range(count):
            values = {}
            for param in params:
                examples = [
                    resolve(self.document, e).get("value") for e in (param.get("examples") or {}).values()
                ]
                if examples:
                    values[param["name"]] = examples[min(index, len(examples) - 1)]
            out[f"example-{index + 1}"] = values
        return out

    def required_fields(self) -> list[str]:
        if self.body_spec() is not None:
            return list((self.schema() or {}).get("required", []))
        return [p["name"] for p in self.query_parameters() if p.get("required")]

    def encode(self, payload: Any) -> tuple[str, dict[str, str], bytes | None]:
        """(query string, headers, body) that carry ``payload`` the way the vendor sends it."""
        found = self.body_spec()
        if found is None:
            return urlencode({k: _text(v) for k, v in (payload or {}).items()}), {}, None
        media_type = found[0]
        if media_type == "application/x-www-form-urlencoded":
            body = urlencode({k: _text(v) for k, v in (payload or {}).items()}).encode()
        else:
            body = json.dumps(payload).encode()
        return "", {"content-type": media_type}, body

    def event_of(self, payload: Any) -> str:
        """What a person would call this delivery: the payload's event, or the kind's name."""
        if isinstance(payload, Mapping):
            for key in ("event", "event_type", "eventType", "agent_status"):
                if isinstance(payload.get(key), str):
                    return str(payload[key])
        return self.name


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def resolve(document: Mapping[str, Any], value: Any) -> Any:
    for _ in range(10):
        if not (isinstance(value, Mapping) and "$ref" in value):
            break
        node: Any = document
        for part in str(value["$ref"]).lstrip("#/").split("/"):
            node = node.get(part.replace("~1", "/").replace("~0", "~")) if isinstance(node, Mapping) else None
        value = node
    return value


def kinds(spec: str | Mapping[str, Any], api: str | None = None) -> list[CallbackKind]:
    """Every callback (registered by an operation) and webhook (``x-webhooks``) of a spec."""
    document = load_spec(spec) if isinstance(spec, str) else spec
    name = api or (spec if isinstance(spec, str) else str(document.get("info", {}).get("title", "api")))
    found: dict[str, CallbackKind] = {}
    for item in (document.get("paths") or {}).values():
        for operation in item.values():
            if not isinstance(operation, Mapping):
                continue
            for key, callback in (operation.get("callbacks") or {}).items():
                for path_item in (resolve(document, callback) or {}).values():
                    for method, op in (path_item or {}).items():
                        if isinstance(op, Mapping) and "operationId" in op:
                            kind = CallbackKind(
                                name,
                                op["operationId"],
                                key,
                                method.upper(),
                                operation.get("operationId"),
                                op,
                                document,
                            )
                            found.setdefault(kind.operation_id, kind)
    for event, path_item in (document.get("x-webhooks") or {}).items():
        for method, op in (path_item or {}).items():
            if isinstance(op, Mapping):
                op_id = op.get("operationId") or f"{event}Webhook"
                found.setdefault(op_id, CallbackKind(name, op_id, event, method.upper(), None, op, document))
    return list(found.values())


def all_kinds(specs: list[str] | None = None) -> list[CallbackKind]:
    return [kind for spec in (specs or list(VENDOR_SPECS)) for kind in kinds(spec)]


def synthetic_document(kind: CallbackKind) -> dict[str, Any]:
    """A document whose one operation is the callback, sharing the spec's components."""
    operation = {k: v for k, v in kind.operation.items() if k not in {"callbacks", "security"}}
    operation.setdefault("responses", {"200": {"description": "received"}})
    return {
        "openapi": "3.0.3",
        "info": {"title": f"{kind.api} {kind.operation_id}", "version": "1"},
        "servers": [{"url": SYNTHETIC_HOST}],
        "paths": {kind.path: {kind.method.lower(): operation}},
        "components": kind.document.get("components") or {},
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
    try:
        _openapi(kind).validate_request(_Request(kind, query, lowered, body))
    except Exception as exc:
        return _explain(exc)
    return []


def _explain(exc: BaseException) -> list[str]:
    found: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        for error in getattr(current, "schema_errors", None) or []:
            where = "/".join(str(p) for p in getattr(error, "absolute_path", []))
            found.append(f"{where or 'body'}: {error.message}" if hasattr(error, "message") else str(error))
        for error in getattr(current, "errors", None) or []:
            if isinstance(error, BaseException):
                found += _explain(error)
        current = current.__cause__ or current.__context__
    if not found:
        found.append(str(exc) or type(exc).__name__)
    return list(dict.fromkeys(found))


def classify(
    candidates: list[CallbackKind], method: str, query: str, headers: Mapping[str, str], body: bytes | None
) -> tuple[CallbackKind | None, list[str]]:
    """The kind this request is (the first it validates as), else the closest one and why it is not."""
    best: tuple[CallbackKind | None, list[str]] = (
        None,
        ["no callback or webhook of this spec is sent with " + method],
    )
    best_score = 10**6
    sent = str(headers.get("content-type", "")).split(";", 1)[0].strip().lower()
    for kind in candidates:
        if kind.method != method.upper():
            continue
        found = problems(kind, query, headers, body)
        if not found:
            return kind, []
        # A payload in another media type than the kind's is a poor match, however few its problems.
        declared = kind.body_spec()
        score = len(found) + (100 if declared is not None and declared[0] != sent else 0)
        if score < best_score:
            best, best_score = (kind, found), score
    return best
