"""``mockline lint``: the rules every spec of ours keeps, checked on the document itself.

Each finding names the spec, a JSON pointer into it, the rule broken and what was seen. Rules:

- ``openapi-valid``: the document is valid OpenAPI 3.0 (openapi-spec-validator);
- ``operation-id``: every operation, callback and webhook has an operationId, unique in the document;
- ``summary``: every operation has a summary;
- ``error-response``: every operation documents at least one 4xx or 5xx response;
- ``named-example``: every request body, response and callback body with a schema has a named example;
- ``example-valid``: every example validates against its schema, formats included;
- ``provenance``: ``x-provenance`` is ``seed``, ``vendor-docs`` or ``inferred: <reason>``;
- ``constraint-provenance``: in a vendor's spec, a schema that says ``required``, ``additionalProperties:
  false``, ``enum``, ``format``, ``minProperties`` or ``maxProperties`` carries ``x-provenance`` (its own, or that of the schema it is an
  ``allOf``/``anyOf``/``oneOf``/``not``/``items`` part of): these are the constraints most easily added
  where the vendor is silent, so each says whether the vendor states it;
- ``retry-rule``: every callback and webhook carries a well-formed ``x-retry``;
- ``error-template``: ``x-mockline.errors`` exists, and the error it produces fits each documented
  response of that status: the validation status on every operation, the auth-failure status on those
  that require credentials (an operation with ``security: []`` never fails authentication);
- ``link``: every OpenAPI Link on a response resolves: it names an existing operation by ``operationId``,
  each parameter it fills is one of that operation's (``name`` or ``in.name``), each runtime expression
  is well-formed and names what exists (a parameter of the source operation, a pointer into the answer
  that its documented examples have), and a ``requestBody`` goes to an operation that takes one, naming
  only fields its JSON body has;
- ``message-example``: an Example Object that says which message it shows (``x-mockline-message: KEY``)
  names a message of ``x-mockline.messages``, and one text of its value is that message, placeholders
  filled in: a text the mock answers with and the example that shows it cannot drift apart;
- ``credential-field``: ``x-mockline-credential`` (a payload field the receiver checks as a credential,
  Ringotel's ``api_token``) is ``true``, marks a field of a callback or webhook payload, and that callback
  documents the 4xx with which its receiver refuses a wrong one (``verify-receiver`` expects it);
- ``traceability``: every pointer in TRACEABILITY.md resolves;
- ``descriptor``: the Ringotel integration descriptor's hooks match operations and fields of the spec;
- the behavioural contracts beside the specs (``<api>.arazzo.yaml``) keep the rules of
  :mod:`contracts.arazzo_lint` (Arazzo structure, operationIds and runtime expressions resolve).
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openapi_spec_validator import OpenAPIV30SpecValidator

from contracts import arazzo, model, patterns
from contracts.errorshape import fill_template
from contracts.oas30 import (
    Direction,
    UnresolvableRef,
    escape_token,
    pointer_to,
    resolve_pointer,
    to_json_schema,
)

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
_PROVENANCE = re.compile(r"^(seed|vendor-docs)(: .+)?$|^inferred: \S.*$")
_FORMATS = model.FORMAT_CHECKER


@dataclass(frozen=True)
class Finding:
    spec: str
    where: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.spec}#{self.where}: [{self.rule}] {self.message}"


@dataclass(frozen=True)
class _Op:
    pointer: str
    definition: Mapping[str, Any]
    kind: str  # operation | callback | webhook
    security: tuple[Mapping[str, Any], ...] = ()  # an operation's, else the document's (the model's)


def lint_document(name: str, document: Mapping[str, Any]) -> list[Finding]:
    findings: list[Finding] = []
    findings += _openapi_valid(name, document)
    try:
        spec = model.from_document(name, document)
    except model.UnresolvableRef as exc:
        return [*findings, Finding(name, "/", "openapi-valid", str(exc))]
    ops = list(_operations(spec))
    findings += _operation_rules(name, ops)
    findings += _examples(name, document, ops)
    findings += _provenance(name, document, "")
    findings += _constraint_provenance(name, document)
    findings += _error_template(name, document, ops)
    findings += _links(name, spec)
    findings += _message_examples(name, document, spec.messages, "")
    findings += _credential_fields(name, document, spec)
    return findings


def _credential_fields(name: str, document: Mapping[str, Any], spec: model.Contract) -> list[Finding]:
    """Each ``x-mockline-credential`` is ``true`` on a callback's payload field, and each callback with
    such a field documents how its receiver refuses a wrong one (rule ``credential-field``)."""
    out: list[Finding] = []
    reached = {where for callback in spec.callbacks for where in callback.credentials_written_at}
    for pointer, value in _marks(document, model.CREDENTIAL, ""):
        if value is not True:
            out.append(
                Finding(
                    name,
                    f"{pointer}/{model.CREDENTIAL}",
                    "credential-field",
                    f"{model.CREDENTIAL} must be true, not {value!r}",
                )
            )
        elif pointer not in reached:
            out.append(
                Finding(
                    name,
                    pointer,
                    "credential-field",
                    f"{model.CREDENTIAL} marks a field of no callback or webhook payload: no receiver is "
                    "sent it",
                )
            )
    for callback in spec.callbacks:
        if callback.credential_fields and not callback.credential_refusal:
            fields = ", ".join(callback.credential_fields)
            out.append(
                Finding(
                    name,
                    f"{callback.pointer}/responses",
                    "credential-field",
                    f"the receiver checks {fields} ({model.CREDENTIAL}), but no 4xx answer says how it "
                    "refuses a wrong one",
                )
            )
    return list(dict.fromkeys(out))


def _marks(node: Any, key: str, pointer: str) -> Iterator[tuple[str, Any]]:
    """(pointer, value) of each object of ``node`` that holds ``key``."""
    if isinstance(node, Mapping):
        if key in node:
            yield pointer, node[key]
        for child_key, value in node.items():
            yield from _marks(value, key, f"{pointer}/{escape_token(str(child_key))}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _marks(value, key, f"{pointer}/{index}")


def _message_examples(name: str, node: Any, messages: Mapping[str, str], pointer: str) -> list[Finding]:
    """Each Example Object marked ``x-mockline-message`` shows that message (rule ``message-example``)."""
    out: list[Finding] = []
    if isinstance(node, Mapping):
        key = node.get("x-mockline-message")
        if key is not None:
            out += _message_shown(name, pointer, str(key), node.get("value"), messages)
        for child_key, value in node.items():
            out += _message_examples(name, value, messages, f"{pointer}/{escape_token(str(child_key))}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out += _message_examples(name, value, messages, f"{pointer}/{index}")
    return out


def _message_shown(
    name: str, pointer: str, key: str, value: Any, messages: Mapping[str, str]
) -> list[Finding]:
    if key not in messages:
        return [Finding(name, pointer, "message-example", f"x-mockline.messages states no message {key!r}")]
    pattern = _message_pattern(messages[key])
    if any(pattern.fullmatch(text) for text in _texts(value)):
        return []
    return [
        Finding(
            name,
            pointer,
            "message-example",
            f"no text of this example is message {key!r} ({messages[key]!r}, placeholders filled in)",
        )
    ]


def _message_pattern(template: str) -> re.Pattern[str]:
    """The texts a message template gives: its words as written, each ``{placeholder}`` any text."""
    parts = []
    for literal, field_name, _spec, _conversion in string.Formatter().parse(template):
        parts.append(re.escape(literal))
        if field_name is not None:
            parts.append(".+?")
    return re.compile("".join(parts), re.DOTALL)


def _texts(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)


_LOCATIONS = ("path", "query", "header", "cookie")
_EXPRESSION = re.compile(
    r"^\$(url|method|statusCode"
    r"|request\.(path|query|header)\.[A-Za-z0-9_.~!#$&'*+^`|-]+"
    r"|(request|response)\.body(#(/[^/]*)*)?"
    r"|response\.header\.[A-Za-z0-9_.~!#$&'*+^`|-]+)$"
)


def _links(name: str, spec: model.Contract) -> list[Finding]:
    """Every Link Object on an operation's responses resolves (rule ``link``)."""
    out: list[Finding] = []
    for op in spec.operations:
        for status, response in (op.definition.get("responses") or {}).items():
            for link_name, link in ((response or {}).get("links") or {}).items():
                where = (
                    f"{op.pointer}/responses/{escape_token(str(status))}/links/{escape_token(str(link_name))}"
                )
                out += [Finding(name, where, "link", m) for m in _link_problems(spec, op, response, link)]
    return out


def _link_problems(
    spec: model.Contract, source: model.Operation, response: Mapping[str, Any], link: Mapping[str, Any]
) -> Iterator[str]:
    target_id = link.get("operationId")
    if not target_id:
        yield "name the target by operationId (verify and Schemathesis follow operationId links)"
        return
    target = spec.by_id.get(str(target_id))
    if target is None:
        yield f"operationId {target_id!r} names no operation of this spec"
        return
    params = link.get("parameters") or {}
    for key, expression in params.items():
        location, _, param = str(key).rpartition(".")
        if location and location not in _LOCATIONS:
            yield f"parameter {key!r}: {location!r} is not a parameter location ({', '.join(_LOCATIONS)})"
        elif not any(p.name == param and location in ("", p.location) for p in target.parameters):
            yield f"parameter {key!r} is not a parameter of {target_id}"
        yield from _expression_problems(expression, source, response, f"parameter {key!r}")
    if "requestBody" in link:
        body = link["requestBody"]
        media = next(
            (
                m
                for t, m in (target.request_body.content if target.request_body else {}).items()
                if "json" in t
            ),
            None,
        )
        if media is None:
            yield f"requestBody: {target_id} takes no JSON request body"
        elif isinstance(body, Mapping):
            known = set((media.schema or {}).get("properties") or {})
            for field_name, value in body.items():
                if known and field_name not in known:
                    yield f"requestBody: {field_name!r} is not a field of {target_id}'s body"
                yield from _expression_problems(value, source, response, f"requestBody {field_name!r}")
        else:
            yield from _expression_problems(body, source, response, "requestBody")


def _expression_problems(
    expression: Any, source: model.Operation, response: Mapping[str, Any], what: str
) -> Iterator[str]:
    if isinstance(expression, Mapping):
        for key, value in expression.items():
            yield from _expression_problems(value, source, response, f"{what}/{key}")
        return
    if not isinstance(expression, str) or not expression.startswith("$"):
        return  # a constant
    if not _EXPRESSION.match(expression):
        yield f"{what}: {expression!r} is not a runtime expression ($request.path.NAME, $response.body#/POINTER, ...)"
        return
    head, _, rest = expression.partition("#")
    parts = head.split(".")
    if parts[0] == "$request" and parts[1] in ("path", "query", "header"):
        wanted = ".".join(parts[2:])
        names = {
            p.name.lower() if parts[1] == "header" else p.name
            for p in source.parameters
            if p.location == parts[1]
        }
        if (wanted.lower() if parts[1] == "header" else wanted) not in names:
            yield f"{what}: {expression!r}: {source.operation_id} has no {parts[1]} parameter {wanted!r}"
    if head == "$response.body" and rest:
        for media_type, media in (response.get("content") or {}).items():
            for example_name, example in (media.get("examples") or {}).items():
                value = example.get("value") if isinstance(example, Mapping) else None
                if value is not None and not _resolves(value, rest):
                    yield (
                        f"{what}: {expression!r} finds nothing in the documented answer "
                        f"{example_name!r} ({media_type})"
                    )


def _resolves(value: Any, pointer: str) -> bool:
    try:
        arazzo.pointer(value, pointer)
    except arazzo.Unresolved:
        return False
    return True


def _openapi_valid(name: str, document: Mapping[str, Any]) -> list[Finding]:
    if not str(document.get("openapi", "")).startswith("3.0."):
        return [
            Finding(name, "/openapi", "openapi-valid", f"must be 3.0.x, found {document.get('openapi')!r}")
        ]
    out = []
    for error in OpenAPIV30SpecValidator(document).iter_errors():
        where = pointer_to(error.absolute_path) or "/"
        out.append(Finding(name, where, "openapi-valid", error.message[:300]))
    return out


def _operations(spec: model.Contract) -> Iterator[_Op]:
    """Each operation followed by the callbacks it registers, then the webhooks (the model's walk)."""
    for op in spec.operations:
        yield _Op(op.pointer, op.definition, "operation", op.security)
        for callback in spec.callbacks:
            if callback.registered_at == op.pointer:
                yield _Op(callback.pointer, callback.operation.definition, "callback")
    for webhook in spec.webhooks:
        yield _Op(webhook.pointer, webhook.operation.definition, "webhook")


def _operation_rules(name: str, ops: list[_Op]) -> list[Finding]:
    out: list[Finding] = []
    seen: dict[str, str] = {}
    for op in ops:
        op_id = op.definition.get("operationId")
        if not op_id:
            out.append(Finding(name, op.pointer, "operation-id", f"this {op.kind} has no operationId"))
        elif op_id in seen and seen[op_id] != op.pointer:
            out.append(
                Finding(
                    name, op.pointer, "operation-id", f"operationId {op_id!r} is also used at {seen[op_id]}"
                )
            )
        else:
            seen[str(op_id)] = op.pointer
        if not op.definition.get("summary"):
            out.append(Finding(name, op.pointer, "summary", f"{op_id or 'this operation'} has no summary"))
        if op.kind == "operation":
            codes = [str(c) for c in op.definition.get("responses", {})]
            if not any(c[0] in "45" for c in codes):
                out.append(
                    Finding(
                        name,
                        op.pointer,
                        "error-response",
                        f"{op_id} documents no 4xx or 5xx response ({codes})",
                    )
                )
        else:
            out += _retry_rule(name, op)
    return out


def _retry_rule(name: str, op: _Op) -> list[Finding]:
    rule = op.definition.get("x-retry")
    where = f"{op.pointer}/x-retry"
    if not isinstance(rule, Mapping):
        return [
            Finding(
                name, op.pointer, "retry-rule", f"{op.kind} {op.definition.get('operationId')} has no x-retry"
            )
        ]
    problems = []
    attempts = rule.get("attempts")
    if not isinstance(attempts, int) or isinstance(attempts, bool) or attempts < 1:
        problems.append(f"attempts must be a whole number >= 1, not {attempts!r}")
    interval = rule.get("interval_seconds")
    if not isinstance(interval, int | float) or isinstance(interval, bool) or interval < 0:
        problems.append(f"interval_seconds must be a number >= 0, not {interval!r}")
    statuses = rule.get("success_status", [200])
    if not isinstance(statuses, list) or not statuses or not all(isinstance(s, int) for s in statuses):
        problems.append(f"success_status must be a non-empty list of status codes, not {statuses!r}")
    return [Finding(name, where, "retry-rule", p) for p in problems]


def _examples(name: str, document: Mapping[str, Any], ops: list[_Op]) -> list[Finding]:
    out: list[Finding] = []
    for op in ops:
        body = op.definition.get("requestBody") or {}
        base = f"{op.pointer}/requestBody"
        for media_type, media in (body.get("content") or {}).items():
            out += _media_examples(
                name, document, f"{base}/content/{escape_token(media_type)}", media, "request", True
            )
        for code, response in (op.definition.get("responses") or {}).items():
            where = f"{op.pointer}/responses/{code}"
            for media_type, media in (response.get("content") or {}).items():
                needs_named = op.kind == "operation"
                out += _media_examples(
                    name,
                    document,
                    f"{where}/content/{escape_token(media_type)}",
                    media,
                    "response",
                    needs_named,
                )
        for index, param in enumerate(op.definition.get("parameters") or []):
            schema = param.get("schema")
            for label, value in _example_values(param):
                out += _validate(
                    name, document, f"{op.pointer}/parameters/{index}", label, value, schema, "request"
                )
    for schema_name, schema in ((document.get("components") or {}).get("schemas") or {}).items():
        for pointer, sub in _schemas_with_example(schema, f"/components/schemas/{escape_token(schema_name)}"):
            out += _validate(name, document, pointer, "example", sub["example"], sub, "response")
    return out


def _media_examples(
    name: str,
    document: Mapping[str, Any],
    where: str,
    media: Mapping[str, Any],
    direction: Direction,
    needs_named: bool,
) -> list[Finding]:
    schema = media.get("schema")
    out: list[Finding] = []
    values = list(_example_values(media))
    if schema is not None and needs_named and not media.get("examples"):
        out.append(
            Finding(
                name, where, "named-example", "this body has a schema but no named example under examples"
            )
        )
    for label, value in values:
        out += _validate(name, document, where, label, value, schema, direction)
    return out


def _example_values(holder: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    if "example" in holder:
        yield "example", holder["example"]
    for example_name, example in (holder.get("examples") or {}).items():
        if isinstance(example, Mapping) and "value" in example:
            yield f"examples/{example_name}", example["value"]


def _validate(
    name: str,
    document: Mapping[str, Any],
    where: str,
    label: str,
    value: Any,
    schema: Any,
    direction: Direction,
) -> list[Finding]:
    if schema is None:
        return []
    try:
        resolved = to_json_schema(model.resolve(document, schema), direction)
    except model.UnresolvableRef as exc:
        return [Finding(name, where, "openapi-valid", str(exc))]
    validator = patterns.Draft4(resolved, format_checker=_FORMATS)
    out = []
    for error in sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path)):
        at = "/".join(str(p) for p in error.absolute_path) or "(root)"
        out.append(Finding(name, f"{where}/{label}", "example-valid", f"at {at}: {error.message[:240]}"))
    return out


def _schemas_with_example(schema: Any, pointer: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    if not isinstance(schema, Mapping):
        return
    if "example" in schema and "$ref" not in schema:
        yield pointer, schema
    for key, sub in (schema.get("properties") or {}).items():
        yield from _schemas_with_example(sub, f"{pointer}/properties/{escape_token(key)}")
    if isinstance(schema.get("items"), Mapping):
        yield from _schemas_with_example(schema["items"], f"{pointer}/items")


def _provenance(name: str, node: Any, pointer: str) -> list[Finding]:
    out: list[Finding] = []
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key == "x-provenance":
                if not isinstance(value, str) or not _PROVENANCE.match(value):
                    out.append(
                        Finding(
                            name,
                            f"{pointer}/x-provenance",
                            "provenance",
                            f"must be 'seed', 'vendor-docs' or 'inferred: <reason>', not {value!r}",
                        )
                    )
            elif key not in {"example", "examples"}:
                out += _provenance(name, value, f"{pointer}/{escape_token(str(key))}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out += _provenance(name, value, f"{pointer}/{index}")
    return out


_CONSTRAINTS = ("required", "enum", "format", "minProperties", "maxProperties")
_OWN_SPECS = frozenset({"mockline-admin"})  # ours: every constraint in them is our own decision


def _constraint_provenance(name: str, document: Mapping[str, Any]) -> list[Finding]:
    if name in _OWN_SPECS:
        return []
    out: list[Finding] = []
    for pointer, schema in _schema_roots(document, ""):
        out += _constraints_marked(name, schema, pointer, None)
    return out


def _schema_roots(node: Any, pointer: str) -> Iterator[tuple[str, Any]]:
    """Every schema written in the document: components/schemas entries and each ``schema`` value."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            key = str(key)
            if key in {"example", "examples"} or key.startswith("x-"):
                continue
            where = f"{pointer}/{escape_token(key)}"
            if key == "schema" or pointer == "/components/schemas":
                yield where, value
            else:
                yield from _schema_roots(value, where)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _schema_roots(value, f"{pointer}/{index}")


def _constraints_marked(name: str, schema: Any, pointer: str, inherited: str | None) -> list[Finding]:
    if not isinstance(schema, Mapping) or "$ref" in schema:
        return []
    provenance = schema.get("x-provenance") or inherited
    added = [k for k in _CONSTRAINTS if k in schema]
    if schema.get("additionalProperties") is False:
        added.append("additionalProperties: false")
    out = []
    if added and not provenance:
        out.append(
            Finding(
                name,
                pointer,
                "constraint-provenance",
                f"{', '.join(added)} with no x-provenance: say whether the vendor states it "
                "(seed, vendor-docs) or it is ours (inferred: <reason>)",
            )
        )
    for key in ("allOf", "anyOf", "oneOf"):
        for index, part in enumerate(schema.get(key) or []):
            out += _constraints_marked(name, part, f"{pointer}/{key}/{index}", provenance)
    for key in ("not", "items"):
        out += _constraints_marked(name, schema.get(key), f"{pointer}/{key}", provenance)
    for prop, sub in (schema.get("properties") or {}).items():
        out += _constraints_marked(name, sub, f"{pointer}/properties/{escape_token(str(prop))}", None)
    out += _constraints_marked(
        name, schema.get("additionalProperties"), f"{pointer}/additionalProperties", None
    )
    return out


def _error_template(name: str, document: Mapping[str, Any], ops: list[_Op]) -> list[Finding]:
    mock = document.get("x-mockline")
    if not isinstance(mock, Mapping) or not isinstance(mock.get("errors"), Mapping):
        return [
            Finding(
                name,
                "/x-mockline",
                "error-template",
                "x-mockline.errors (the vendor's error shape) is missing",
            )
        ]
    errors = mock["errors"]
    template = errors.get("template")
    media_type = errors.get("media_type", "application/json")
    if not isinstance(template, Mapping):
        return [
            Finding(name, "/x-mockline/errors/template", "error-template", "must be a JSON object template")
        ]
    auth = errors.get("auth_failure") or {}
    validation = {int(errors.get("validation_status", 400)): "Invalid request: body.name: is required"}
    secured = dict(validation)
    if auth.get("status"):
        secured[int(auth["status"])] = str(auth.get("message", "Unauthorized"))
    out: list[Finding] = []
    for op in ops:
        if op.kind != "operation":
            continue
        # Credentials are required when every alternative asks for some ({} makes them optional).
        statuses = secured if op.security and all(op.security) else validation
        for status, message in statuses.items():
            response = (op.definition.get("responses") or {}).get(str(status)) or {}
            media = (response.get("content") or {}).get(media_type)
            if response and media is None:
                found = ", ".join(response.get("content") or {}) or "no body"
                out.append(
                    Finding(
                        name,
                        f"{op.pointer}/responses/{status}",
                        "error-template",
                        f"the mock answers {status} as {media_type}, but this response documents {found}",
                    )
                )
                continue
            if media is not None:
                filled = fill_template(template, {"message": message, "status": status, "title": "Error"})
                where = f"{op.pointer}/responses/{status}/content/{escape_token(media_type)}"
                for finding in _validate(
                    name, document, where, "x-mockline-error", filled, media.get("schema"), "response"
                ):
                    out.append(Finding(name, finding.where, "error-template", finding.message))
    return out


def lint_traceability(path: Path, specs_dir: Path) -> list[Finding]:
    """Every `file#/pointer` cell of the traceability table must resolve in that file."""
    import json

    import yaml

    out: list[Finding] = []
    cache: dict[str, Any] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        for target in re.findall(r"`([\w.-]+\.(?:yaml|json))#([^`]*)`", line):
            file_name, pointer = target
            if file_name not in cache:
                source = specs_dir / file_name
                if not source.is_file():
                    out.append(
                        Finding(path.name, f"line {number}", "traceability", f"{file_name} does not exist")
                    )
                    continue
                text = source.read_text(encoding="utf-8")
                cache[file_name] = json.loads(text) if file_name.endswith(".json") else yaml.safe_load(text)
            try:
                resolve_pointer(cache[file_name], pointer)
            except UnresolvableRef as exc:
                out.append(
                    Finding(path.name, f"line {number}", "traceability", f"{file_name}#{pointer}: {exc}")
                )
    return out


def lint_descriptor(
    descriptor: Mapping[str, Any], document: Mapping[str, Any], name: str = "ringotel-crm"
) -> list[Finding]:
    """Each Ringotel hook must call an operation of the spec, with fields the spec knows."""
    out: list[Finding] = []
    routes = [
        (op.method, re.compile(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(op.path))), op.definition)
        for op in model.from_document(name, document).operations
    ]
    for hook, spec in (descriptor.get("API") or {}).items():
        where = f"/API/{hook}"
        method = str(spec.get("request_method", "")).upper()
        path = str(spec.get("request_path", "")).split("?", 1)[0]
        concrete = re.sub(r"\$[^$]+\$", "x", path)
        matches = [op for m, rx, op in routes if m == method and rx.fullmatch(concrete)]
        if not matches:
            out.append(
                Finding(
                    f"{name}.integration.json",
                    where,
                    "descriptor",
                    f"{method} {path} is no operation of the spec",
                )
            )
            continue
        op = matches[0]
        params = spec.get("request_parameters")
        if isinstance(params, Mapping) and params:
            content: Mapping[str, Any] = (op.get("requestBody") or {}).get("content", {})
            schema = _first_schema(content)
            for key in _missing_keys(params, schema):
                out.append(
                    Finding(
                        f"{name}.integration.json",
                        f"{where}/request_parameters",
                        "descriptor",
                        f"{key!r} is not a field of the request body",
                    )
                )
        response_map = spec.get("response_map")
        if isinstance(response_map, Mapping) and response_map:
            ok: Mapping[str, Any] = next(
                (r for c, r in (op.get("responses") or {}).items() if str(c).startswith("2")), {}
            )
            schema = _first_schema(ok.get("content") or {})
            for key in _missing_keys(response_map, schema):
                out.append(
                    Finding(
                        f"{name}.integration.json",
                        f"{where}/response_map",
                        "descriptor",
                        f"{key!r} is not a field of the response",
                    )
                )
    return out


def _first_schema(content: Mapping[str, Any]) -> Mapping[str, Any]:
    for media in content.values():
        schema: Mapping[str, Any] = media.get("schema") or {}
        return schema
    return {}


def _missing_keys(template: Any, schema: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    if isinstance(template, list) and template:
        yield from _missing_keys(template[0], schema.get("items", {}), prefix + "[]")
    elif isinstance(template, Mapping):
        props = _properties(schema)
        for key, value in template.items():
            if key not in props:
                yield f"{prefix}{key}"
            else:
                yield from _missing_keys(value, props[key], f"{prefix}{key}.")


def _properties(schema: Mapping[str, Any]) -> dict[str, Any]:
    props = dict(schema.get("properties") or {})
    for key in ("allOf", "oneOf", "anyOf"):
        for part in schema.get(key) or []:
            props.update(_properties(part))
    return props


def lint_shipped(names: list[str] | None = None) -> list[Finding]:
    """Every rule over the specs that ship with mockline (or the named ones), plus traceability."""
    import json

    from contracts.loaders import load_spec, spec_names, specs_dir

    chosen = names or spec_names()
    findings = [f for name in chosen for f in lint_document(name, load_spec(name))]
    folder = specs_dir()
    descriptor = folder / "ringotel-crm.integration.json"
    if "ringotel-crm" in chosen and descriptor.is_file():
        findings += lint_descriptor(
            json.loads(descriptor.read_text(encoding="utf-8")), load_spec("ringotel-crm")
        )
    if names is None:
        findings += lint_traceability(folder / "TRACEABILITY.md", folder)
    for name in chosen:
        workflows = folder / f"{name}.arazzo.yaml"
        if workflows.is_file():
            findings += lint_workflows(workflows)
    return findings


def lint_workflows(path: Path) -> list[Finding]:
    """The rules of :mod:`contracts.arazzo_lint` over one Arazzo document, as findings."""
    from contracts.arazzo_lint import lint

    return [Finding(path.name, where, rule, message) for where, rule, message in lint(path)]
