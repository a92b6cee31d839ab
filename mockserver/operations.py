"""Each API's operations, compiled once from its spec: routes, parameters, body schemas, security.

Connexion loads and resolves the document (``$ref`` followed); everything the request path needs is
precomputed here so that serving a request does no spec walking.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from contracts.errorshape import ErrorShape
from mockserver.schemas import CompiledSchema

_PARAM = re.compile(r"\{([^}/]+)\}")


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str  # path | query | header | cookie
    required: bool
    schema: Mapping[str, Any]
    compiled: CompiledSchema

    @functools.cached_property
    def where(self) -> str:
        """How a problem report names this parameter: ``path.queueID``."""
        return f"{self.location}.{self.name}"


@dataclass(frozen=True)
class Body:
    required: bool
    media: Mapping[str, CompiledSchema]  # media type -> schema of the body under that type

    def accepts(self, media_type: str) -> CompiledSchema | None:
        if media_type in self.media:
            return self.media[media_type]
        major = media_type.split("/", 1)[0] + "/*"
        return self.media.get(major) or self.media.get("*/*")


@dataclass
class Operation:
    api: str
    operation_id: str
    method: str
    path: str
    parameters: tuple[Parameter, ...]
    body: Body | None
    security: list[dict[str, list[str]]]
    responses: Mapping[str, Any]
    callbacks: Mapping[str, Any]
    definition: Mapping[str, Any]
    _media_types: dict[int, str | None] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def success_status(self) -> int:
        codes = sorted(int(c) for c in self.responses if c.isdigit() and c.startswith("2"))
        return codes[0] if codes else 200

    @functools.cached_property
    def callback_specs(self) -> tuple[CallbackSpec, ...]:
        """The callbacks this operation declares, compiled once."""
        return tuple(callback_specs(self))

    def documented(self, status: int) -> Mapping[str, Any] | None:
        return self.responses.get(str(status)) or self.responses.get(f"{str(status)[0]}XX")

    def media_type(self, status: int) -> str | None:
        """The first media type documented for this status (looked up once per status)."""
        known = self._media_types
        if status not in known:
            content = (self.documented(status) or {}).get("content", {})
            known[status] = next(iter(content), None)
        return known[status]


@dataclass
class Route:
    template: str
    operations: dict[str, Operation] = field(default_factory=dict)  # method -> operation

    def __post_init__(self) -> None:
        self.names = tuple(_PARAM.findall(self.template))  # the parameters, as the spec spells them
        regex, last = "", 0
        for found in _PARAM.finditer(self.template):
            regex += re.escape(self.template[last : found.start()]) + "([^/]+)"
            last = found.end()
        self.pattern = re.compile(regex + re.escape(self.template[last:]))


@dataclass
class Api:
    name: str
    prefix: str
    document: Mapping[str, Any]  # resolved
    raw: Mapping[str, Any]
    locale: str
    errors: ErrorShape
    rate_limit: Mapping[str, Any] | None
    security_schemes: Mapping[str, Any]
    routes: list[Route]
    operations: dict[str, Operation]

    def match(self, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            found = route.pattern.fullmatch(path)
            if found:
                return route, dict(zip(route.names, found.groups(), strict=True))
        return None


def compile_api(
    name: str, document: Mapping[str, Any], raw: Mapping[str, Any], *, prefix: str | None = None
) -> Api:
    """``prefix``: where the API is served; by default the spec's ``x-mockline.prefix``, else ``/name``."""
    mock = document.get("x-mockline", {})
    if prefix is None:
        prefix = mock.get("prefix") or f"/{name}"
    style = ErrorShape.from_document(document) or ErrorShape.problem_details()
    global_security = document.get("security", [])
    routes: list[Route] = []
    operations: dict[str, Operation] = {}
    for template, item in document.get("paths", {}).items():
        route = Route(template)
        shared = item.get("parameters", [])
        for method in ("get", "put", "post", "delete", "patch", "head", "options"):
            op = item.get(method)
            if op is None:
                continue
            operation = Operation(
                api=name,
                # a spec of ours always names its operations; any other may not (then: "GET /pets/{id}")
                operation_id=op.get("operationId") or f"{method.upper()} {template}",
                method=method.upper(),
                path=template,
                parameters=_parameters([*shared, *op.get("parameters", [])]),
                body=_body(op.get("requestBody")),
                security=op.get("security", global_security),
                responses=op.get("responses", {}),
                callbacks=op.get("callbacks", {}),
                definition=op,
            )
            route.operations[operation.method] = operation
            operations[operation.operation_id] = operation
        routes.append(route)
    # Static segments win over templated ones: /CreateInteraction before /{interactionId}.
    routes.sort(key=lambda r: (r.template.count("{"), -len(r.template)))
    return Api(
        name=name,
        prefix=prefix.rstrip("/"),
        document=document,
        raw=raw,
        locale=mock.get("locale", "en_US"),
        errors=style,
        rate_limit=mock.get("rate_limit"),
        security_schemes=document.get("components", {}).get("securitySchemes", {}),
        routes=routes,
        operations=operations,
    )


def _parameters(items: list[Mapping[str, Any]]) -> tuple[Parameter, ...]:
    merged: dict[tuple[str, str], Mapping[str, Any]] = {}
    for item in items:
        merged[(item["name"], item["in"])] = item  # operation-level overrides path-level
    out = []
    for (param_name, location), item in merged.items():
        schema = item.get("schema", {})
        out.append(
            Parameter(
                name=param_name,
                location=location,
                required=bool(item.get("required", location == "path")),
                schema=schema,
                compiled=CompiledSchema(schema),
            )
        )
    return tuple(out)


def _body(request_body: Mapping[str, Any] | None) -> Body | None:
    if not request_body:
        return None
    media = {
        media_type: CompiledSchema(content.get("schema", {}))
        for media_type, content in request_body.get("content", {}).items()
    }
    return Body(required=bool(request_body.get("required", False)), media=media)


@dataclass
class CallbackSpec:
    """One callback operation declared on an API operation: where it goes, how, and its retry rule."""

    name: str  # the key under `callbacks` (connect, terminal, agentEvent)
    operation_id: str
    expression: str  # runtime expression for the URL
    method: str
    encoding: str  # json | form | query
    retry: Mapping[str, Any]
    schema: CompiledSchema | None

    @functools.cached_property
    def url_of(self) -> Expression:
        """The callback's URL expression, compiled: a function of the request's body, query, headers."""
        return compile_expression(self.expression)

    @functools.cached_property
    def retry_rule(self) -> dict[str, Any]:
        return dict(self.retry)


def callback_specs(operation: Operation) -> list[CallbackSpec]:
    out = []
    for name, path_items in operation.callbacks.items():
        for expression, item in path_items.items():
            for method in ("post", "get", "put", "patch", "delete"):
                op = item.get(method)
                if op is None:
                    continue
                encoding, schema = _callback_payload(op)
                out.append(
                    CallbackSpec(
                        name=name,
                        operation_id=op.get("operationId", f"{operation.operation_id}.{name}.{method}"),
                        expression=expression,
                        method=method.upper(),
                        encoding=encoding,
                        retry=op.get("x-retry", {}),
                        schema=CompiledSchema(schema) if schema is not None else None,
                    )
                )
    return out


def _callback_payload(op: Mapping[str, Any]) -> tuple[str, Mapping[str, Any] | None]:
    content = (op.get("requestBody") or {}).get("content", {})
    if "application/json" in content:
        return "json", content["application/json"].get("schema")
    if "application/x-www-form-urlencoded" in content:
        return "form", content["application/x-www-form-urlencoded"].get("schema")
    query = [p for p in op.get("parameters", []) if p.get("in") == "query"]
    if query:
        schema = {
            "type": "object",
            "properties": {p["name"]: p.get("schema", {}) for p in query},
            "required": [p["name"] for p in query if p.get("required")],
        }
        if not schema["required"]:
            del schema["required"]
        return "query", schema
    return "json", None


Expression = Callable[[Any, Mapping[str, Any], Mapping[str, str]], Any]


@functools.lru_cache(maxsize=1024)
def compile_expression(expression: str) -> Expression:
    """A runtime expression parsed once, as a function of the request's body, query and headers."""
    inner = expression.strip()
    if inner.startswith("{") and inner.endswith("}"):
        inner = inner[1:-1]
    if inner.startswith("$request.body#"):
        parts = tuple(
            p.replace("~1", "/").replace("~0", "~") for p in inner[len("$request.body#") :].split("/")[1:]
        )

        def from_body(body: Any, _query: Mapping[str, Any], _headers: Mapping[str, str]) -> Any:
            value = body
            for part in parts:
                if isinstance(value, dict) and part in value:
                    value = value[part]
                elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                    value = value[int(part)]
                else:
                    return None
            return value

        return from_body
    if inner.startswith("$request.query."):
        name = inner[len("$request.query.") :]
        return lambda _body, query, _headers: query.get(name)
    if inner.startswith("$request.header."):
        header = inner[len("$request.header.") :].lower()
        return lambda _body, _query, headers: headers.get(header)
    return lambda _body, _query, _headers: None
