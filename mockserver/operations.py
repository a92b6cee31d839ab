"""Each API's operations, compiled once from its spec: routes, parameters, body schemas, security.

The spec is read through the contract model (``contracts.model``: references resolved once, operations
and callbacks walked once); everything the request path needs is compiled here from that model, so that
serving a request does no spec walking.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from contracts import model
from contracts.model import ErrorShape
from mockserver.schemas import CompiledSchema

_PARAM = re.compile(r"\{([^}/]+)\}")
_DELIMITERS = {"form": ",", "spaceDelimited": " ", "pipeDelimited": "|"}


@dataclass(frozen=True)
class Parameter:
    """A parameter as the contract model reads it (``spec``), with its schema compiled once."""

    spec: model.Parameter
    compiled: CompiledSchema

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def location(self) -> str:
        """path | query | header | cookie"""
        return self.spec.location

    @property
    def required(self) -> bool:
        return self.spec.required

    @property
    def schema(self) -> Mapping[str, Any]:
        return self.spec.schema

    @functools.cached_property
    def where(self) -> str:
        """How a problem report names this parameter: ``path.queueID``."""
        return f"{self.location}.{self.name}"

    @functools.cached_property
    def delimiter(self) -> str | None:
        """How an array query parameter that is not exploded joins its items in one value (None: exploded,
        one item a value), from its ``style`` and ``explode``."""
        return None if self.spec.explode else _DELIMITERS.get(self.spec.style)


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
    callbacks: tuple[model.Callback, ...]
    definition: Mapping[str, Any]
    # the API's resolved document: where a $ref left in a recursive schema points
    document: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    _media_types: dict[int, str | None] = field(default_factory=dict, init=False, repr=False, compare=False)
    _headers: dict[int, Mapping[str, Any]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @property
    def success_status(self) -> int:
        codes = sorted(int(c) for c in self.responses if c.isdigit() and c.startswith("2"))
        return codes[0] if codes else 200

    @functools.cached_property
    def callback_specs(self) -> tuple[CallbackSpec, ...]:
        """The callbacks this operation declares, compiled once."""
        return tuple(callback_spec(c, self.document) for c in self.callbacks)

    def documented(self, status: int) -> Mapping[str, Any] | None:
        """The response documented for ``status``: its own, its range's (``4XX``), else ``default``."""
        return self.listed(status) or self.responses.get("default")

    def listed(self, status: int) -> Mapping[str, Any] | None:
        """The response documented for ``status`` by its own code or its range's (``4XX``), not ``default``."""
        return self.responses.get(str(status)) or self.responses.get(f"{str(status)[0]}XX")

    def headers_of(self, status: int) -> Mapping[str, Any]:
        """The headers the response documented for ``status`` declares, name -> header object, without
        ``Content-Type`` (OpenAPI: a declared one is ignored); looked up once per status."""
        known = self._headers
        if status not in known:
            declared = (self.documented(status) or {}).get("headers") or {}
            known[status] = {
                name: header
                for name, header in declared.items()
                if isinstance(header, Mapping) and name.lower() != "content-type"
            }
        return known[status]

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
    rate_limit: model.RateLimit | None
    security_schemes: Mapping[str, Any]
    routes: list[Route]
    operations: dict[str, Operation]
    webhooks: tuple[model.Callback, ...]
    contract: model.Contract = field(repr=False)  # the spec, read once: vendor messages, token lifetimes

    def match(self, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            found = route.pattern.fullmatch(path)
            if found:
                return route, dict(zip(route.names, found.groups(), strict=True))
        return None


def compile_api(spec: model.Contract, *, prefix: str | None = None) -> Api:
    """``prefix``: where the API is served; by default the spec's ``x-mockline.prefix``, else ``/name``."""
    routes: dict[str, Route] = {}
    operations: dict[str, Operation] = {}
    for op in spec.operations:
        operation = Operation(
            api=spec.name,
            operation_id=op.operation_id,
            method=op.method,
            path=op.path,
            parameters=tuple(_parameter(p, spec.document) for p in op.parameters),
            body=_body(op.request_body, spec.document),
            security=[dict(s) for s in op.security],
            responses=op.definition.get("responses", {}),
            callbacks=spec.callbacks_of(op.operation_id),
            definition=op.definition,
            document=spec.document,
        )
        routes.setdefault(op.path, Route(op.path)).operations[operation.method] = operation
        operations[operation.operation_id] = operation
    # Static segments win over templated ones: /CreateInteraction before /{interactionId}.
    ordered = sorted(routes.values(), key=lambda r: (r.template.count("{"), -len(r.template)))
    return Api(
        name=spec.name,
        prefix=spec.prefix if prefix is None else prefix.rstrip("/"),
        document=spec.document,
        raw=spec.raw,
        locale=spec.locale,
        errors=spec.errors,
        rate_limit=spec.rate_limit,
        security_schemes=spec.security_schemes,
        routes=ordered,
        operations=operations,
        webhooks=spec.webhooks,
        contract=spec,
    )


def _parameter(param: model.Parameter, document: Mapping[str, Any]) -> Parameter:
    return Parameter(spec=param, compiled=CompiledSchema(param.schema, document=document))


def _body(request_body: model.RequestBody | None, document: Mapping[str, Any]) -> Body | None:
    if request_body is None:
        return None
    media = {t: CompiledSchema(m.schema or {}, document=document) for t, m in request_body.content.items()}
    return Body(required=request_body.required, media=media)


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


def callback_spec(callback: model.Callback, document: Mapping[str, Any] | None = None) -> CallbackSpec:
    schema = callback.payload_schema
    return CallbackSpec(
        name=callback.name,
        operation_id=callback.operation_id,
        expression=callback.expression or "",
        method=callback.method,
        encoding=callback.encoding,
        retry=callback.retry.as_dict(),
        schema=CompiledSchema(schema, document=document) if schema is not None else None,
    )


Expression = Callable[[Any, Mapping[str, Any], Mapping[str, str]], Any]


@functools.lru_cache(maxsize=1024)
def compile_expression(expression: str) -> Expression:
    """A runtime expression parsed once, as a function of the request's body, query and headers."""
    inner = expression.strip()
    if inner.startswith("{") and inner.endswith("}"):
        inner = inner[1:-1]
    if inner.startswith("$request.body#"):
        parts = tuple(model.unescape_token(p) for p in inner[len("$request.body#") :].split("/")[1:])

        def from_body(body: Any, _query: Mapping[str, Any], _headers: Mapping[str, str]) -> Any:
            value = body
            try:
                for part in parts:
                    value = model.child(value, part)
            except model.UnresolvableRef:
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
