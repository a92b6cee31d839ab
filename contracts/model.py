"""One contract model: a spec loaded once, its references resolved once, read as typed objects.

Everything that reads an OpenAPI document - the mock (routing, validators, callbacks, errors), ``lint``,
verify's checks, ``listen``, ``verify-receiver``, ``drive`` and the pytest plugin - reads it through this
module. It owns the one reference resolver (``referencing``, the library jsonschema itself uses), the one
operation walker (``Contract.operations``), the one callback walker (``Contract.callbacks``, registered
callbacks and ``x-webhooks`` alike) and the one wire encoder and decoder for form and query values
(``form_value``, ``form_decode``).

Vendor facts that are not OpenAPI (the mock prefix, error shape, messages, token lifetimes, caps, rate
limits, the default retry rule) are read from the spec's ``x-mockline`` object, never written in code;
so is which payload field a callback's receiver checks as a credential (``x-mockline-credential`` on the
field's schema: ``Callback.credential_fields``).

This is the one module of ``contracts/`` the mock may import (ARCHITECTURE.md); so it re-exports the few
spec helpers the mock needs (names of the shipped specs, the OpenAPI 3.0 to JSON Schema conversion, the
error shape, the 3.1 export) and imports nothing of ours but ``loaders``, ``oas30``, ``errorshape`` and
``export``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, urlencode, urlsplit
from urllib.request import url2pathname

from referencing import Registry, Resource
from referencing.exceptions import Unresolvable

from contracts.errorshape import ErrorShape
from contracts.loaders import (
    ADMIN_SPEC,
    VENDOR_SPECS,
    SpecNotFound,
    load_spec,
    spec_names,
    spec_path,
    to_yaml,
)
from contracts.oas30 import (
    EXTRA_FORMATS,
    FORMAT_CHECKER,
    Direction,
    UnresolvableRef,
    child,
    escape_token,
    pointer_to,
    resolve_pointer,
    to_json_schema,
    unescape_token,
)
from contracts.patterns import Draft4 as ECMADraft4Validator
from contracts.patterns import compiled as compiled_pattern
from contracts.patterns import is_regex_complaint
from contracts.patterns import not_ecma as not_ecma_patterns
from contracts.patterns import sample as sample_pattern

__all__ = [
    "ADMIN_SPEC",
    "CREDENTIAL",
    "EXTRA_FORMATS",
    "FORMAT_CHECKER",
    "VENDOR_SPECS",
    "Callback",
    "Contract",
    "Direction",
    "ECMADraft4Validator",
    "ErrorShape",
    "Media",
    "Operation",
    "Parameter",
    "RateLimit",
    "RequestBody",
    "Response",
    "RetryRule",
    "SpecNotFound",
    "UnresolvableRef",
    "child",
    "compiled_pattern",
    "contract",
    "contracts",
    "discriminator_tag",
    "escape_token",
    "form_decode",
    "form_encode",
    "form_value",
    "from_document",
    "is_regex_complaint",
    "load_spec",
    "not_ecma_patterns",
    "pointer_to",
    "recursion_ref",
    "recursion_target",
    "resolve",
    "resolve_pointer",
    "sample_pattern",
    "shown_examples",
    "spec_names",
    "spec_path",
    "to_json_schema",
    "to_json_schema_within",
    "to_openapi_31",
    "to_yaml",
    "unescape_token",
    "written_at",
]

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
FORM = "application/x-www-form-urlencoded"
Encoding = Literal["json", "form", "query"]
_BASE = "urn:mockline:spec"


# ---- the one reference resolver ----------------------------------------------------------------------


def resolve(document: Mapping[str, Any], node: Any = None, *, base: str | None = None) -> Any:
    """A copy of ``node`` (default: the whole document) with every ``$ref`` replaced by what it names.

    Local references (``#/components/...``) and, when ``base`` is the document's file URI, references to
    sibling files are looked up by ``referencing``; a reference that names nothing raises
    ``UnresolvableRef`` naming it. A schema that contains itself stays a ``$ref`` below its first copy
    (such a schema cannot be written out; the spec rules forbid one in our specs).
    """
    registry: Registry[Any] = Registry(retrieve=_retrieve).with_resource(  # type: ignore[call-arg]
        base or _BASE, Resource.opaque(document)
    )
    resolver = registry.resolver(base_uri=base or _BASE)
    return _inline(document if node is None else node, resolver, ())


def recursion_ref(node: Any) -> str | None:
    """The local reference ``resolve`` left in ``node``, a schema that contains itself
    (``#/components/schemas/Node``); None for any other node."""
    ref = node.get("$ref") if isinstance(node, Mapping) else None
    return ref if isinstance(ref, str) and ref.startswith("#/") else None


def recursion_target(document: Mapping[str, Any] | None, node: Any) -> Mapping[str, Any] | None:
    """What the reference ``resolve`` left in ``node`` (``recursion_ref``) names in the resolved
    ``document``; None when ``node`` holds none, it names nothing, or there is no document."""
    ref = recursion_ref(node)
    if document is None or ref is None:
        return None
    try:
        found = resolve_pointer(document, ref[1:])
    except UnresolvableRef:
        return None
    return found if isinstance(found, Mapping) else None


def to_json_schema_within(
    schema: Any, document: Mapping[str, Any] | None, direction: Direction = "request"
) -> Any:
    """``to_json_schema``, and what each reference left in a schema that contains itself names (in the
    resolved ``document``), converted likewise and placed at that same pointer under the result's root,
    where a validator following the reference looks it up."""
    root = to_json_schema(schema, direction)
    pending = sorted(_recursion_refs(root))
    if not pending or not isinstance(root, dict) or document is None:
        return root
    placed: set[str] = set()
    while pending:
        ref = pending.pop()
        if ref in placed:
            continue
        placed.add(ref)
        target = recursion_target(document, {"$ref": ref})
        if target is None:
            continue  # left as it is: the validator says what it cannot find
        converted = to_json_schema(target, direction)
        *steps, last = [unescape_token(token) for token in ref[2:].split("/")]
        node = root
        for step in steps:
            node = node.setdefault(step, {})
        node[last] = converted
        pending += sorted(_recursion_refs(converted) - placed)
    return root


def discriminator_tag(
    document: Mapping[str, Any] | None, discriminator: Any, branch: Mapping[str, Any]
) -> tuple[str, str] | None:
    """(property, value) by which a ``discriminator`` names one ``oneOf``/``anyOf`` branch of the resolved
    ``document``: the branch's key in the ``mapping`` (whose values are references or component names),
    else the name of the component schema the branch is; None when it names none."""
    if not isinstance(discriminator, Mapping) or not isinstance(discriminator.get("propertyName"), str):
        return None
    prop = discriminator["propertyName"]
    schemas = ((document or {}).get("components") or {}).get("schemas") or {}
    ref = recursion_ref(branch)
    for key, target in (discriminator.get("mapping") or {}).items():
        target = str(target)
        named = (
            schemas.get(target)
            if not target.startswith("#")
            else recursion_target(document, {"$ref": target})
        )
        if target == ref or named == branch:
            return prop, str(key)
    for component, candidate in schemas.items():
        if ref == "#/components/schemas/" + escape_token(str(component)) or candidate == branch:
            return prop, str(component)
    return None


def _recursion_refs(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, Mapping):
        ref = recursion_ref(node)
        if ref is not None:
            found.add(ref)
        for value in node.values():
            found |= _recursion_refs(value)
    elif isinstance(node, list):
        for item in node:
            found |= _recursion_refs(item)
    return found


def _retrieve(uri: str) -> Resource[Any]:
    if not uri.startswith("file://"):
        raise UnresolvableRef(f"only local and file references are supported, not {uri!r}")
    return Resource.opaque(load_spec(Path(url2pathname(urlsplit(uri).path))))


def _inline(node: Any, resolver: Any, trail: tuple[str, ...]) -> Any:
    if isinstance(node, Mapping):
        ref = node.get("$ref")
        if isinstance(ref, str):
            if ref in trail:
                return dict(node)  # recursive: left as the reference
            if len(trail) > 64:
                raise UnresolvableRef(f"$ref chain deeper than 64 levels at {ref!r}")
            try:
                found = resolver.lookup(ref)
            except Unresolvable as exc:
                target = ref.partition("#")[2] or ref
                raise UnresolvableRef(f"$ref {ref!r}: {target!r} does not resolve") from exc
            return _inline(found.contents, found.resolver, (*trail, ref))
        return {k: _inline(v, resolver, trail) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(v, resolver, trail) for v in node]
    return node


def to_openapi_31(document: Mapping[str, Any]) -> dict[str, Any]:
    """The 3.1 export of a 3.0 document (``contracts.export``), given the callbacks this model's walk
    finds (where each registered callback's Path Item is written under its operation)."""
    from contracts.export import to_openapi_31 as export

    items = [
        f"{c.registered_at}/callbacks/{escape_token(c.name)}/{escape_token(c.expression or '')}"
        for c in from_document("export", document).callbacks
        if not c.is_webhook
    ]
    return export(document, list(dict.fromkeys(items)))


# ---- the one wire encoder for form and query values ----------------------------------------------------


def form_value(value: Any) -> str:
    """How one value is written into a form body or a query string: booleans as ``true``/``false`` (as
    JSON and every vendor we mock spell them), numbers and text as written, ``None`` as empty."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, Mapping | list):
        return json.dumps(value, separators=(",", ":"))  # a nested value travels as its JSON text
    return str(value)


def form_encode(fields: Mapping[str, Any]) -> str:
    """``a=1&b=true``: the fields of a form body or query string (``None`` fields left out)."""
    return urlencode({str(k): form_value(v) for k, v in fields.items() if v is not None})


def form_decode(text: str, schema: Mapping[str, Any] | None = None) -> dict[str, str | list[str]]:
    """The fields of a form body or query string, as text (blank ones kept): a field sent more than once
    is its last value, or every value where the object ``schema`` declares that property an array."""
    properties = (schema or {}).get("properties") or {}
    return {
        name: values if (properties.get(name) or {}).get("type") == "array" else values[-1]
        for name, values in parse_qs(text, keep_blank_values=True).items()
    }


# ---- typed objects -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Media:
    media_type: str
    schema: Mapping[str, Any] | None
    examples: Mapping[str, Any]  # name -> value (a single ``example`` is named "example")


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str  # path | query | header | cookie
    required: bool
    schema: Mapping[str, Any]
    definition: Mapping[str, Any] = field(repr=False, compare=False)

    @property
    def examples(self) -> list[Any]:
        """The values the parameter's examples show (``shown_examples``)."""
        return shown_examples(self.definition, self.schema)

    @property
    def default(self) -> Any:
        """The value a server takes when the parameter is not sent (its schema's ``default``); None when
        the spec gives none."""
        return self.schema.get("default")

    @property
    def style(self) -> str:
        """How the value is written (OpenAPI's ``style``): ``form`` by default in the query and cookies,
        ``simple`` in the path and headers."""
        default = "form" if self.location in ("query", "cookie") else "simple"
        return str(self.definition.get("style", default))

    @property
    def explode(self) -> bool:
        """OpenAPI's ``explode``: true by default for the ``form`` style only."""
        return bool(self.definition.get("explode", self.style == "form"))


def shown_examples(definition: Mapping[str, Any], schema: Mapping[str, Any] | None = None) -> list[Any]:
    """The values a Parameter or Header Object's examples show, in document order: its ``example``, each
    of its named ``examples``' values, then its schema's ``example``."""
    shown = [definition["example"]] if "example" in definition else []
    named = definition.get("examples") or {}
    shown += [e["value"] for e in named.values() if isinstance(e, Mapping) and "value" in e]
    if schema is not None and "example" in schema:
        shown.append(schema["example"])
    return shown


@dataclass(frozen=True)
class RequestBody:
    required: bool
    content: Mapping[str, Media]  # media type -> its schema and examples


@dataclass(frozen=True)
class Response:
    status: str  # "200", "4XX", "default"
    description: str
    content: Mapping[str, Media]
    headers: Mapping[str, Any]


@dataclass(frozen=True)
class RetryRule:
    """How often a callback is tried and what counts as received (the spec's ``x-retry``)."""

    attempts: int
    interval_seconds: float
    success_status: tuple[int, ...]

    @classmethod
    def read(cls, rule: Mapping[str, Any] | None, default: RetryRule) -> RetryRule:
        rule = rule or {}
        return cls(
            attempts=int(rule.get("attempts", default.attempts)),
            interval_seconds=float(rule.get("interval_seconds", default.interval_seconds)),
            success_status=tuple(int(s) for s in rule.get("success_status", default.success_status)),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "attempts": self.attempts,
            "interval_seconds": self.interval_seconds,
            "success_status": list(self.success_status),
        }


# A spec that says nothing (no ``x-retry``, no ``x-mockline.retry``): one attempt, 2xx is received.
NO_RETRY = RetryRule(attempts=1, interval_seconds=60.0, success_status=(200, 201, 202, 204))


@dataclass(frozen=True)
class RateLimit:
    requests: int
    window_seconds: int
    per: str  # the header (or "ip") whose value is counted


@dataclass(frozen=True, eq=False)  # one object per spec element: compared and hashed by identity
class Operation:
    api: str
    operation_id: str
    method: str  # upper case
    path: str  # the template as the spec writes it
    parameters: tuple[Parameter, ...]  # path-level merged with the operation's (the operation's win)
    request_body: RequestBody | None
    responses: Mapping[str, Response]
    security: tuple[Mapping[str, Any], ...]  # the operation's, else the document's
    definition: Mapping[str, Any] = field(repr=False, compare=False)  # resolved
    pointer: str = field(repr=False, compare=False, default="")  # RFC 6901, in the raw document

    @property
    def success_status(self) -> int:
        codes = sorted(int(c) for c in self.responses if c.isdigit() and c.startswith("2"))
        return codes[0] if codes else 200

    def parameter(self, name: str, location: str | None = None) -> Parameter | None:
        for p in self.parameters:
            if p.name == name and (location is None or p.location == location):
                return p
        return None

    def example_of(self, name: str) -> Any:
        """The first value the examples of parameter ``name`` show; ``LookupError`` when they show none."""
        parameter = self.parameter(name)
        shown = parameter.examples if parameter is not None else []
        if not shown:
            raise LookupError(f"{self.api}: {self.operation_id}'s parameter {name} shows no example")
        return shown[0]

    def body_default(self, name: str) -> Any:
        """The ``default`` the JSON request body's schema gives its top-level property ``name``; None when
        it gives none (or the operation takes no JSON body)."""
        media = self.request_body.content.get("application/json") if self.request_body else None
        prop = (((media.schema if media else None) or {}).get("properties") or {}).get(name)
        return prop.get("default") if isinstance(prop, Mapping) else None


@dataclass(frozen=True, eq=False)  # one object per spec element: compared and hashed by identity
class Callback:
    """A callback (sent to a URL an operation's request carried) or a webhook (``x-webhooks``)."""

    api: str
    name: str  # the key under ``callbacks`` (``connect``) or the webhook's event (``StartCallActivity``)
    source: str | None  # operationId of the operation that registers it; None for a webhook
    expression: str | None  # the runtime expression of its URL; None for a webhook
    operation: Operation  # the request the vendor sends (its path is the expression or the event)
    encoding: Encoding  # how the payload travels: a JSON body, a form body, or the query string
    retry: RetryRule
    pointer: str = field(repr=False, compare=False, default="")  # where it is written in the raw document
    registered_at: str = field(repr=False, compare=False, default="")  # pointer of the registering operation
    # The payload fields the receiver checks as a credential (``x-mockline-credential: true`` on their
    # schema), as RFC 6901 pointers into the payload (``/api_token``), and where each such schema is written
    # in the raw document.
    credential_fields: tuple[str, ...] = ()
    credentials_written_at: tuple[str, ...] = field(repr=False, compare=False, default=())

    @property
    def operation_id(self) -> str:
        return self.operation.operation_id

    @property
    def credential_refusal(self) -> tuple[int, ...]:
        """The statuses with which the receiver refuses a wrong credential, as the callback documents them:
        its 401 or 403 when it documents either, else every 4xx it documents; empty when it documents
        none (then any 4xx is a refusal)."""
        documented = sorted(
            int(c) for c in self.operation.responses if c.isdigit() and c.startswith("4") and len(c) == 3
        )
        return tuple(c for c in documented if c in (401, 403)) or tuple(documented)

    @property
    def method(self) -> str:
        return self.operation.method

    @property
    def is_webhook(self) -> bool:
        return self.source is None

    @property
    def media_type(self) -> str | None:
        body = self.operation.request_body
        return next(iter(body.content), None) if body else None

    @property
    def payload_schema(self) -> Mapping[str, Any] | None:
        """The payload as one object schema: the body's, or the query parameters' gathered into one."""
        body = self.operation.request_body
        if body is not None:
            media = body.content.get("application/json") or body.content.get(FORM)
            media = media or next(iter(body.content.values()), None)
            return media.schema if media else None
        query = [p for p in self.operation.parameters if p.location == "query"]
        if not query:
            return None
        schema: dict[str, Any] = {"type": "object", "properties": {p.name: p.schema for p in query}}
        required = [p.name for p in query if p.required]
        if required:
            schema["required"] = required
        return schema

    def encode(self, payload: Mapping[str, Any] | None) -> tuple[str, dict[str, str], bytes | None]:
        """(query string, headers, body) that carry ``payload`` the way the vendor sends it."""
        if self.encoding == "json":
            return "", {"content-type": self.media_type or "application/json"}, json.dumps(payload).encode()
        fields = dict(payload or {})
        if self.encoding == "query":
            return form_encode(fields), {}, None
        return "", {"content-type": FORM}, form_encode(fields).encode()


@dataclass(frozen=True, eq=False)  # one object per spec element: compared and hashed by identity
class Contract:
    """One spec, read once."""

    name: str
    raw: Mapping[str, Any] = field(repr=False)
    document: Mapping[str, Any] = field(repr=False)  # every $ref resolved
    prefix: str
    locale: str
    errors: ErrorShape  # the vendor's, else RFC 9457 problem details
    states_errors: bool  # whether the spec states an error shape of its own
    rate_limit: RateLimit | None
    security_schemes: Mapping[str, Any]
    messages: Mapping[str, str]  # x-mockline.messages: the words the mock answers with, by what they answer
    token_lifetimes: Mapping[str, int]  # x-mockline.tokens: grant kind -> seconds
    limits: Mapping[str, int]  # x-mockline.limits: capped resource -> each account's cap
    default_retry: RetryRule
    operations: tuple[Operation, ...]
    callbacks: tuple[Callback, ...]  # registered callbacks first, then webhooks, in document order
    mock: Mapping[str, Any] = field(repr=False)  # the whole x-mockline object

    @functools.cached_property
    def by_id(self) -> dict[str, Operation]:
        return {op.operation_id: op for op in self.operations}

    def operation(self, operation_id: str) -> Operation:
        try:
            return self.by_id[operation_id]
        except KeyError:
            raise LookupError(f"{self.name} has no operation {operation_id!r}") from None

    def callbacks_of(self, operation_id: str) -> tuple[Callback, ...]:
        return tuple(c for c in self.callbacks if c.source == operation_id)

    @property
    def webhooks(self) -> tuple[Callback, ...]:
        return tuple(c for c in self.callbacks if c.is_webhook)

    def message(self, key: str, **values: Any) -> str:
        """The words for ``key`` (``x-mockline.messages``), placeholders filled in."""
        try:
            text = self.messages[key]
        except KeyError:
            raise LookupError(f"{self.name} states no message {key!r} in x-mockline.messages") from None
        return text.format(**values) if values else text

    def token_lifetime(self, grant: str = "access") -> int:
        try:
            return int(self.token_lifetimes[grant])
        except KeyError:
            raise LookupError(
                f"{self.name} states no token lifetime {grant!r} in x-mockline.tokens"
            ) from None

    def limit(self, resource: str) -> int:
        """Each account's cap on ``resource`` (``x-mockline.limits``)."""
        try:
            return int(self.limits[resource])
        except KeyError:
            raise LookupError(f"{self.name} states no limit {resource!r} in x-mockline.limits") from None


# ---- building the model: the one operation walker and the one callback walker ----------------------------


def _examples(media: Mapping[str, Any]) -> dict[str, Any]:
    named = {
        name: ex.get("value") for name, ex in (media.get("examples") or {}).items() if isinstance(ex, Mapping)
    }
    if not named and "example" in media:
        named = {"example": media["example"]}
    return named


def _content(content: Mapping[str, Any] | None) -> dict[str, Media]:
    return {
        media_type: Media(media_type, media.get("schema"), _examples(media))
        for media_type, media in (content or {}).items()
        if isinstance(media, Mapping)
    }


def _parameters(items: list[Any]) -> tuple[Parameter, ...]:
    merged: dict[tuple[str, str], Mapping[str, Any]] = {}
    for item in items:
        if isinstance(item, Mapping) and "name" in item and "in" in item:
            merged[(str(item["name"]), str(item["in"]))] = item  # the operation's override the path's
    return tuple(
        Parameter(
            name=name,
            location=location,
            required=bool(item.get("required", location == "path")),
            schema=item.get("schema") or {},
            definition=item,
        )
        for (name, location), item in merged.items()
    )


def _operation(
    api: str,
    method: str,
    path: str,
    op: Mapping[str, Any],
    shared: list[Any],
    security: list[Any],
    pointer: str,
    fallback_id: str = "",
) -> Operation:
    body = op.get("requestBody")
    return Operation(
        api=api,
        # a spec of ours always names its operations; any other may not (then: "GET /pets/{id}")
        operation_id=str(op.get("operationId") or fallback_id or f"{method.upper()} {path}"),
        method=method.upper(),
        path=path,
        parameters=_parameters([*shared, *(op.get("parameters") or [])]),
        request_body=(
            RequestBody(bool(body.get("required", False)), _content(body.get("content")))
            if isinstance(body, Mapping)
            else None
        ),
        responses={
            str(status): Response(
                str(status), str(r.get("description", "")), _content(r.get("content")), r.get("headers") or {}
            )
            for status, r in (op.get("responses") or {}).items()
            if isinstance(r, Mapping)
        },
        security=tuple(op.get("security", security) or ()),
        definition=op,
        pointer=pointer,
    )


def path_operations(item: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(method, operation) of one path item, in the order HTTP methods are listed above."""
    for method in METHODS:
        op = item.get(method)
        if isinstance(op, Mapping):
            yield method, op


def _encoding(op: Operation) -> Encoding:
    content = op.request_body.content if op.request_body else {}
    if any(t == "application/json" or t.endswith("+json") for t in content):
        return "json"
    if FORM in content:
        return "form"
    if any(p.location == "query" for p in op.parameters):
        return "query"
    return "json"


def _retry(op: Mapping[str, Any], operation: Operation, default: RetryRule) -> RetryRule:
    """The callback's ``x-retry``; what it leaves out comes from the spec's default, and its success
    statuses, when neither names them, from the 2xx answers the callback documents."""
    rule = RetryRule.read(op.get("x-retry"), default)
    if "success_status" in (op.get("x-retry") or {}) or default is not NO_RETRY:
        return rule
    documented = tuple(int(c) for c in operation.responses if c.isdigit() and c.startswith("2"))
    return RetryRule(rule.attempts, rule.interval_seconds, documented or rule.success_status)


CREDENTIAL = "x-mockline-credential"  # on a payload field's schema: the receiver checks it as a credential


def _marked(schema: Any, keys: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], tuple[str, ...]]]:
    """(the field's keys in the payload, the schema's keys below ``schema``) of each property, at any
    depth of objects (``allOf`` parts included), whose schema says ``x-mockline-credential: true``."""
    if not isinstance(schema, Mapping):
        return
    for name, prop in (schema.get("properties") or {}).items():
        here = (*keys, "properties", str(name))
        if isinstance(prop, Mapping) and prop.get(CREDENTIAL) is True:
            yield (str(name),), here
        for inner, where in _marked(prop, here):
            yield (str(name), *inner), where
    for index, part in enumerate(schema.get("allOf") or []):
        yield from _marked(part, (*keys, "allOf", str(index)))


def _credentials(
    raw: Mapping[str, Any], parts: tuple[str, ...], op: Mapping[str, Any], operation: Operation
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The credential fields of the payload the callback operation ``op`` (written at ``parts``) sends, as
    pointers into it, and where each marked schema is written in ``raw``."""
    found: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
    body = operation.request_body
    if body is not None:
        for media_type, media in body.content.items():
            root = (*parts, "requestBody", "content", media_type, "schema")
            found += [(field, (*root, *keys)) for field, keys in _marked(media.schema)]
    else:
        for index, item in enumerate(op.get("parameters") or []):
            if not isinstance(item, Mapping) or item.get("in") != "query":
                continue
            root = (*parts, "parameters", str(index), "schema")
            schema = item.get("schema") or {}
            if schema.get(CREDENTIAL) is True:
                found.append(((str(item.get("name")),), root))
            found += [((str(item.get("name")), *f), (*root, *k)) for f, k in _marked(schema)]
    fields = dict.fromkeys(pointer_to(field) for field, _ in found)
    written = dict.fromkeys(_written_at(raw, where) for _, where in found)
    return tuple(fields), tuple(written)


def _callback(
    api: str,
    name: str,
    source: str | None,
    expression: str | None,
    method: str,
    op: Mapping[str, Any],
    raw: Mapping[str, Any],
    parts: tuple[str, ...],
    default_retry: RetryRule,
    fallback_id: str,
    registered_at: str = "",
) -> Callback:
    pointer = _written_at(raw, parts)
    operation = _operation(api, method, expression or name, op, [], [], pointer, fallback_id)
    fields, written = _credentials(raw, parts, op, operation)
    return Callback(
        api=api,
        name=name,
        source=source,
        expression=expression,
        operation=operation,
        encoding=_encoding(operation),
        retry=_retry(op, operation, default_retry),
        pointer=pointer,
        registered_at=registered_at,
        credential_fields=fields,
        credentials_written_at=written,
    )


def _written_at(raw: Mapping[str, Any], parts: tuple[str, ...]) -> str:
    """Where the node at ``parts`` is written in the raw document: a pointer that follows every local
    ``$ref`` on the way (a callback shared by reference is written once, whoever registers it)."""
    node: Any = raw
    pointer = ""
    for part in (*parts, None):
        if isinstance(node, Mapping) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#"):
            pointer = node["$ref"][1:]
            try:
                node = resolve_pointer(raw, pointer)
            except UnresolvableRef:
                return pointer_to(parts)
        if part is None:
            break
        if isinstance(node, Mapping):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]  # an index into a list (a parameter, an allOf branch)
        else:
            node = None
        pointer = f"{pointer}/{escape_token(part)}"
    return pointer


def written_at(raw: Mapping[str, Any], parts: tuple[str, ...]) -> str:
    """Where the node at ``parts`` (keys from the document's root, ``$ref``s as if resolved) is written
    in the raw document: an RFC 6901 pointer, every local ``$ref`` on the way followed."""
    return _written_at(raw, parts)


def _facts(block: Any) -> dict[str, Any]:
    """The entries of an ``x-mockline`` map (``messages``, ``tokens``, ``limits``), without its ``x-``
    keys (its ``x-provenance``)."""
    return {str(k): v for k, v in (block or {}).items() if not str(k).startswith("x-")}


def _rate_limit(name: str, rate: Any) -> RateLimit | None:
    """``x-mockline.rate_limit``: every number is the vendor's, so none has a default here."""
    if rate is None:
        return None
    try:
        return RateLimit(int(rate["requests"]), int(rate["window_seconds"]), str(rate["per"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(
            f"{name}: x-mockline.rate_limit must give requests, window_seconds and per, not {rate!r}"
        ) from exc


def from_document(name: str, raw: Mapping[str, Any], *, base: str | None = None) -> Contract:
    """The model of a document already loaded (``raw``, references as written)."""
    document: Mapping[str, Any] = resolve(raw, base=base)
    mock = document.get("x-mockline") or {}
    errors = ErrorShape.from_document(document)
    rate = mock.get("rate_limit")
    default_retry = RetryRule.read(mock["retry"], NO_RETRY) if mock.get("retry") else NO_RETRY
    global_security = list(document.get("security") or [])
    operations: list[Operation] = []
    callbacks: list[Callback] = []
    for path, item in (document.get("paths") or {}).items():
        shared = list(item.get("parameters") or [])
        for method, op in path_operations(item):
            pointer = f"/paths/{escape_token(path)}/{method}"
            operation = _operation(name, method, path, op, shared, global_security, pointer)
            operations.append(operation)
            for key, expressions in (op.get("callbacks") or {}).items():
                for expression, cb_item in (expressions or {}).items():
                    for cb_method, cb_op in path_operations(cb_item or {}):
                        callbacks.append(
                            _callback(
                                name,
                                key,
                                operation.operation_id,
                                expression,
                                cb_method,
                                cb_op,
                                raw,
                                ("paths", path, method, "callbacks", key, expression, cb_method),
                                default_retry,
                                f"{operation.operation_id}.{key}.{cb_method}",
                                pointer,
                            )
                        )
    for event, item in (document.get("x-webhooks") or {}).items():
        for method, op in path_operations(item or {}):
            callbacks.append(
                _callback(
                    name,
                    event,
                    None,
                    None,
                    method,
                    op,
                    raw,
                    ("x-webhooks", event, method),
                    default_retry,
                    f"{event}Webhook",
                )
            )
    return Contract(
        name=name,
        raw=raw,
        document=document,
        prefix=str(mock.get("prefix") or f"/{name}").rstrip("/"),
        locale=str(mock.get("locale", "en_US")),
        errors=errors or ErrorShape.problem_details(),
        states_errors=errors is not None,
        rate_limit=_rate_limit(name, rate),
        security_schemes=(document.get("components") or {}).get("securitySchemes") or {},
        messages={k: str(v) for k, v in _facts(mock.get("messages")).items()},
        token_lifetimes={k: int(v) for k, v in _facts(mock.get("tokens")).items()},
        limits={k: int(v) for k, v in _facts(mock.get("limits")).items()},
        default_retry=default_retry,
        operations=tuple(operations),
        callbacks=tuple(callbacks),
        mock=mock,
    )


@functools.lru_cache(maxsize=32)
def _cached(path: Path, mtime: float, name: str) -> Contract:
    return from_document(name, load_spec(path), base=path.resolve().as_uri())


def contract(name_or_path: str | Path) -> Contract:
    """The model of a shipped spec (``ryng``) or of any OpenAPI 3.0 file, built once per file version."""
    path = spec_path(name_or_path)
    return _cached(path, path.stat().st_mtime, path.stem)


def contracts(names: list[str] | None = None) -> list[Contract]:
    """The models of the named specs, every vendor spec when none is named."""
    return [contract(n) for n in (names or list(VENDOR_SPECS))]
