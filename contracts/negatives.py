"""Negative cases that reach every rule: one request per ``anyOf`` / ``oneOf`` branch, ``not`` and ``format``.

Schemathesis' negative mode mutates schemas at random: a run may never send non-base64 text to a
``format: byte`` field (its validators do not know that format) nor satisfy a ``not`` on purpose (Ryng's
``agentMapping: global`` without ``agents``). This module derives those cases deterministically, from the
contract model alone (``contracts.model``): for every operation's request body (JSON or form) and
parameters it starts from a *valid* request (the spec's example, else an instance generated from the
schema with the run's seed) and changes it so that exactly one rule breaks:

- ``anyOf`` / ``oneOf``: for each branch, an instance of that branch with one of its constraints broken
  (the most specific first: a nested field, then ``required``, ``enum``, bounds, last the type) so that
  no branch holds; and for a ``oneOf``, a value that two branches accept, when one exists;
- ``not``: the instance changed until it satisfies the ``not``'s schema;
- ``format``: the field given a value that breaks the format (non-base64 text for ``byte``, a date-time
  with month 13, text that is no URI, an e-mail address without ``@``, an integer past the int64 range).

A case is kept only when it is *proven* to break exactly that rule: the derived request must fail the
operation's schema (checked with ``jsonschema``, formats included) and the same request must pass the
schema with that one keyword taken out (for a ``format``: with a valid value of that format in its place).
A rule for which no such request can be derived is reported as not applicable, with the reason.

:func:`phase` is ``mockline verify``'s ``negative`` phase: it sends each case through the run's
:class:`~contracts.traffic.Traffic` and expects the documented client error in the vendor's error shape.
Its valid requests address what the server has: an id in the path comes from a resource the phase created
through the spec's OpenAPI links (:func:`contracts.pairing.create`, as the ``links`` phase creates one),
else from the parameter's example. A refusal proves its rule only when the valid request it came from got
past the server's input checks (:func:`settle`); a case left unjudged (that request refused, a 429, the
credential failure status) is an :class:`~contracts.reporting.model.Inconclusive` of scope ``rule``, so
the run is not called conformant about it.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from contracts import bounded, model, patterns
from contracts.oas30 import UnresolvableRef, resolve_pointer
from contracts.reporting.model import Violation

PHASE = "negative"
CHECK = "negative"
_MAX_DEPTH = 12
_RATE_LIMITED_TRIES = 3

# A value that breaks each format the specs use, and one that keeps it. A format with no invalid value
# (any text is a valid ``password``; any bytes a valid ``binary`` file) has no negative case.
INVALID_FORMAT_VALUES: dict[str, Any] = {
    "byte": "@@ not base64! @@",
    "date-time": "2026-13-45T25:61:00Z",
    "date": "2026-02-30",
    "uri": "not a uri",
    "uri-reference": "http://[not-a-host",
    "email": "mockline.example.com",
    "uuid": "not-a-uuid",
    "ipv4": "256.1.1.1",
    "int64": 2**63,
    "int32": 2**31,
}
VALID_FORMAT_VALUES: dict[str, Any] = {
    "byte": "bW9ja2xpbmU=",
    "date-time": "2026-11-30T09:00:00Z",
    "date": "2026-11-30",
    "uri": "https://example.com/mockline",
    "uri-reference": "https://example.com/mockline",
    "email": "mockline@example.com",
    "uuid": "123e4567-e89b-42d3-a456-426614174000",
    "ipv4": "192.0.2.1",
    "int64": 1,
    "int32": 1,
}
NO_INVALID_VALUE = {"password": "any text is a valid password", "binary": "any bytes are a valid file"}

_JSON = ("application/json",)
_FORM = "application/x-www-form-urlencoded"


# ---- validation --------------------------------------------------------------------------------------------


def _validator(schema: Any) -> Any:
    return patterns.Draft4(model.to_json_schema(schema, "request"), format_checker=model.FORMAT_CHECKER)


def is_valid(schema: Any, instance: Any) -> bool:
    """Whether ``instance`` follows the (resolved OpenAPI 3.0) ``schema``, formats included."""
    return bool(_validator(schema).is_valid(instance))


# ---- instances ------------------------------------------------------------------------------------------------


def generate(schema: Mapping[str, Any], rng: random.Random, depth: int = 0) -> Any:
    """A value for ``schema``: its example or default when it has one, else one built from its keywords
    (required properties only). Not always valid (``satisfy`` and the validator decide)."""
    if depth > _MAX_DEPTH:
        return None
    for key in ("example", "default"):
        if key in schema:
            return copy.deepcopy(schema[key])
    if schema.get("enum"):
        return copy.deepcopy(schema["enum"][0])
    for key in ("allOf", "anyOf", "oneOf"):
        if schema.get(key):
            value = generate(schema[key][0], rng, depth + 1)
            if key == "allOf":
                for sub in schema[key][1:]:
                    value = satisfy(sub, value, rng, depth + 1)
            return value
    kind = schema.get("type")
    fmt = schema.get("format")
    if kind == "object" or (kind is None and ("properties" in schema or "required" in schema)):
        properties = schema.get("properties") or {}
        return {
            name: generate(properties.get(name) or {}, rng, depth + 1)
            for name in schema.get("required") or []
        }
    if kind == "array":
        items = schema.get("items") or {}
        return [generate(items, rng, depth + 1) for _ in range(int(schema.get("minItems", 1) or 1))]
    if kind == "integer" or kind == "number":
        if fmt in VALID_FORMAT_VALUES and isinstance(VALID_FORMAT_VALUES[fmt], int):
            value = VALID_FORMAT_VALUES[fmt]
        else:
            value = 1
        low, high = schema.get("minimum"), schema.get("maximum")
        if low is not None and value < low:
            value = int(low) + (1 if schema.get("exclusiveMinimum") else 0)
        if high is not None and value > high:
            value = int(high) - (1 if schema.get("exclusiveMaximum") else 0)
        return value
    if kind == "boolean":
        return True
    if kind == "string":
        if isinstance(fmt, str) and fmt in VALID_FORMAT_VALUES:
            return VALID_FORMAT_VALUES[fmt]
        if "pattern" in schema:
            sampled = patterns.sample(str(schema["pattern"]), rng)
            if sampled is not None:
                return sampled
        text = "mockline-" + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(6))
        low, high = int(schema.get("minLength", 0)), schema.get("maxLength")
        text = text.ljust(low, "x")
        return text[: int(high)] if high is not None else text
    return "mockline"


def satisfy(schema: Mapping[str, Any], value: Any, rng: random.Random, depth: int = 0) -> Any:
    """``value`` changed as little as this can manage until it follows ``schema``; None when it cannot."""
    if depth > _MAX_DEPTH:
        return None
    if is_valid(schema, value):
        return value
    value = copy.deepcopy(value)
    for sub in schema.get("allOf") or []:
        value = satisfy(sub, value, rng, depth + 1)
        if value is None:
            return None
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            for branch in schema[key]:
                found = satisfy(branch, value, rng, depth + 1)
                if found is not None and is_valid({key: schema[key]}, found):
                    value = found
                    break
    kind = schema.get("type")
    if kind == "object" or "properties" in schema or "required" in schema:
        if not isinstance(value, dict):
            value = generate(schema, rng, depth + 1) if kind == "object" else value
        if isinstance(value, dict):
            properties = schema.get("properties") or {}
            for name in schema.get("required") or []:
                if name not in value:
                    value[name] = generate(properties.get(name) or {}, rng, depth + 1)
            for name, sub in properties.items():
                if name in value:
                    fixed = satisfy(sub, value[name], rng, depth + 1)
                    if fixed is None:
                        return None
                    value[name] = fixed
    if "not" in schema and is_valid(schema["not"], value):
        value = next((c for c in violations(schema["not"], value, rng, depth + 1)), None)
        if value is None:
            return None
    if not is_valid(schema, value) and (
        "enum" in schema or kind in {"string", "integer", "number", "boolean"}
    ):
        value = generate(schema, rng, depth + 1)
    return value if is_valid(schema, value) else None


def _other_type_values(schema: Mapping[str, Any]) -> list[Any]:
    kind = schema.get("type")
    samples = {"string": "mockline", "integer": 7, "boolean": True, "object": {}, "array": []}
    return [v for k, v in samples.items() if k != kind and not (k == "integer" and kind == "number")]


def violations(schema: Mapping[str, Any], value: Any, rng: random.Random, depth: int = 0) -> Iterator[Any]:
    """Values close to ``value`` that break ``schema``, the most specific change first: a nested field,
    a required property left out, a value outside ``enum`` or the bounds, a broken format, the type."""
    if depth > _MAX_DEPTH:
        return
    candidates: list[Any] = []
    if isinstance(value, dict):
        for name, sub in (schema.get("properties") or {}).items():
            if name in value:
                for bad in violations(sub, value[name], rng, depth + 1):
                    candidates.append({**value, name: bad})
        extra = schema.get("additionalProperties")
        if extra is False:
            candidates.append({**value, "mocklineUnexpected": "x"})
        elif isinstance(extra, Mapping):
            for bad in violations(extra, generate(extra, rng, depth + 1), rng, depth + 1):
                candidates.append({**value, "mocklineExtra": bad})
        for name in schema.get("required") or []:
            if name in value:
                candidates.append({k: v for k, v in value.items() if k != name})
        if schema.get("minProperties"):
            candidates.append({})
    if isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, Mapping) and value:
            for bad in violations(items, value[0], rng, depth + 1):
                candidates.append([bad, *value[1:]])
        if schema.get("minItems"):
            candidates.append([])
    if "enum" in schema:
        candidates += [
            "mockline-not-listed",
            max([v for v in schema["enum"] if isinstance(v, int)], default=0) + 1,
        ]
    if isinstance(value, str):
        if "pattern" in schema:
            candidates += ["", "!", " mockline "]
        if schema.get("minLength"):
            candidates.append("")
        if schema.get("maxLength") is not None:
            candidates.append("x" * (int(schema["maxLength"]) + 1))
    if isinstance(value, int | float) and not isinstance(value, bool):
        if schema.get("minimum") is not None:
            candidates.append(int(schema["minimum"]) - 1)
        if schema.get("maximum") is not None:
            candidates.append(int(schema["maximum"]) + 1)
    fmt = schema.get("format")
    if isinstance(fmt, str) and fmt in INVALID_FORMAT_VALUES:
        candidates.append(INVALID_FORMAT_VALUES[fmt])
    if "not" in schema:
        forced = satisfy(schema["not"], value, rng, depth + 1)
        if forced is not None:
            candidates.append(forced)
    for sub in schema.get("allOf") or []:
        candidates += list(violations(sub, value, rng, depth + 1))
    for keyword in ("anyOf", "oneOf"):
        # Break every branch that holds, one after the other, keeping what the earlier changes did.
        branches = schema.get(keyword) or []
        changed = value
        for branch in branches:
            if is_valid(branch, changed):
                changed = next(iter(violations(branch, changed, rng, depth + 1)), None)
                if changed is None:
                    break
        if changed is not None and branches and not any(is_valid(b, changed) for b in branches):
            candidates.append(changed)
    candidates += _other_type_values(schema)
    for candidate in candidates:
        if not is_valid(schema, candidate):
            yield candidate


# ---- where the rules are ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One rule in a request schema: where it is written, where it sits in the resolved schema and in
    the instance."""

    kind: str  # "format" | "anyOf" | "oneOf" | "not"
    pointer: str  # RFC 6901, in the raw document (every $ref followed), of the keyword
    schema_path: tuple[str | int, ...]  # keys from the request schema (resolved) to the keyword's holder
    instance_path: tuple[str | int, ...]  # where in the instance the holder applies
    schema: Mapping[str, Any]  # the holder (resolved)
    about: str = ""  # what a ``not`` forbids: its title, else the name of the schema it refers to


Locate = Callable[[tuple[str | int, ...]], str]  # schema path -> where that node is written (pointer)


def targets(
    resolved: Mapping[str, Any],
    locate: Locate,
    schema_path: tuple[str | int, ...] = (),
    instance_path: tuple[str | int, ...] = (),
) -> Iterator[Target]:
    """Every ``format``, ``anyOf``, ``oneOf`` and ``not`` of a request schema (not those inside a ``not``,
    which means their opposite). ``locate`` names where each is written in the raw document."""
    if not isinstance(resolved, Mapping) or len(schema_path) > 3 * _MAX_DEPTH:
        return
    if isinstance(resolved.get("format"), str):
        yield Target("format", f"{locate(schema_path)}/format", schema_path, instance_path, resolved)
    for keyword in ("anyOf", "oneOf", "not"):
        if keyword in resolved:
            pointer = f"{locate(schema_path)}/{keyword}"
            about = ""
            if keyword == "not" and isinstance(resolved["not"], Mapping):
                # Its title, else the name of the schema it is written as (a $ref to components).
                written = locate((*schema_path, "not"))
                named = written.rsplit("/", 1)[-1] if written != pointer else ""
                about = str(resolved["not"].get("title") or named)
            yield Target(keyword, pointer, schema_path, instance_path, resolved, about)
    for name, sub in (resolved.get("properties") or {}).items():
        yield from targets(sub, locate, (*schema_path, "properties", name), (*instance_path, name))
    if isinstance(resolved.get("items"), Mapping):
        yield from targets(resolved["items"], locate, (*schema_path, "items"), (*instance_path, 0))
    for keyword in ("allOf", "anyOf", "oneOf"):
        for index, sub in enumerate(resolved.get(keyword) or []):
            yield from targets(sub, locate, (*schema_path, keyword, index), instance_path)


def _locator(raw: Mapping[str, Any], parts: tuple[str, ...]) -> Locate:
    def locate(schema_path: tuple[str | int, ...]) -> str:
        return model.written_at(raw, (*parts, *(str(p) for p in schema_path)))

    return locate


def _get(instance: Any, path: Sequence[str | int]) -> tuple[bool, Any]:
    node = instance
    for part in path:
        if isinstance(part, int) and isinstance(node, list) and part < len(node):
            node = node[part]
            continue
        if isinstance(part, str) and isinstance(node, dict) and part in node:
            node = node[part]
            continue
        return False, None
    return True, node


def _put(instance: Any, path: Sequence[str | int], value: Any) -> Any:
    """A copy of ``instance`` with ``value`` at ``path`` (missing objects and arrays made on the way)."""
    if not path:
        return copy.deepcopy(value)
    root = copy.deepcopy(instance)
    if root is None:
        root = [] if isinstance(path[0], int) else {}
    node = root
    for index, part in enumerate(path):
        last = index == len(path) - 1
        following = path[index + 1] if not last else None
        if isinstance(part, int):
            if not isinstance(node, list):
                return None
            while len(node) <= part:
                node.append(None)
            if last:
                node[part] = copy.deepcopy(value)
            else:
                if not isinstance(node[part], dict | list):
                    node[part] = [] if isinstance(following, int) else {}
                node = node[part]
        else:
            if not isinstance(node, dict):
                return None
            if last:
                node[part] = copy.deepcopy(value)
            else:
                if not isinstance(node.get(part), dict | list):
                    node[part] = [] if isinstance(following, int) else {}
                node = node[part]
    return root


def _without(
    schema: Mapping[str, Any], path: Sequence[str | int], keyword: str, also: Mapping[str, Any] | None = None
) -> Any:
    """A copy of ``schema`` with ``keyword`` of the holder at ``path`` removed (and ``also`` required of
    the holder in its place, through its ``allOf``)."""
    root = copy.deepcopy(dict(schema))
    node: Any = root
    for part in path:
        node = node[part]
    node.pop(keyword, None)
    if also is not None:
        node["allOf"] = [*node.get("allOf", []), dict(also)]
    return root


# ---- cases ------------------------------------------------------------------------------------------------------


@dataclass
class Case:
    """One request that breaks one rule, and the valid request it was derived from."""

    operation: model.Operation
    rule: str  # "negative <pointer> (<what>)": what the report names
    pointer: str
    what: str  # "format byte", "anyOf branch 1", "oneOf: two branches hold", "not"
    change: str  # in words: what was changed
    body: Any = None
    media_type: str | None = None
    parameters: dict[tuple[str, str], Any] = field(default_factory=dict)  # (in, name) -> value
    baseline_body: Any = None
    baseline_parameters: dict[tuple[str, str], Any] = field(default_factory=dict)
    about: str = ""  # what the broken rule forbids, when the spec names it

    @property
    def label(self) -> str:
        return f"{self.operation.method} {self.operation.path}"


@dataclass(frozen=True)
class Live:
    """What one operation's valid request takes from the server rather than from the spec: the path values
    of a resource the run created (an OpenAPI link's, :func:`contracts.pairing.create`), and body fields
    (those the link fills in, the run's own OAuth2 client at the token URL)."""

    path: Mapping[str, Any] = field(default_factory=dict)  # path parameter name -> value
    body: Mapping[str, Any] = field(default_factory=dict)  # body field -> value


@dataclass
class Skipped:
    """A rule no request could be derived for."""

    operation: model.Operation
    rule: str
    reason: str

    @property
    def label(self) -> str:
        return f"{self.operation.method} {self.operation.path}"


def _rule(pointer: str, what: str) -> str:
    return f"negative {pointer} ({what})"


def _show(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _where(path: Sequence[str | int], root: str) -> str:
    out = root
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _diff(before: Any, after: Any, where: str) -> str:
    """What changed from ``before`` to ``after``, field by field when both are objects."""
    if not isinstance(before, dict) or not isinstance(after, dict):
        return f"{where} = {_show(after)}"
    parts = [f"{where}.{k} = {_show(v)}" for k, v in after.items() if k not in before or before[k] != v]
    parts += [f"{where}.{k} left out" for k in before if k not in after]
    return "; ".join(parts) or f"{where} unchanged"


def as_form(value: Any, schema: Mapping[str, Any]) -> Any:
    """What a server reads from a form body: each field as text, typed again as its schema says where
    the text allows (``maxRetries=2`` is the integer 2; ``agents=true`` the text ``"true"``)."""
    if not isinstance(value, dict):
        return value
    properties = schema.get("properties") or {}
    out: dict[str, Any] = {}
    for name, item in value.items():
        text = model.form_value(item)
        kind = (properties.get(name) or {}).get("type")
        try:
            out[name] = int(text) if kind == "integer" else float(text) if kind == "number" else text
        except ValueError:
            out[name] = text
        if kind == "boolean" and text in {"true", "false"}:
            out[name] = text == "true"
    return out


def _derive(
    target: Target, schema: Mapping[str, Any], baseline: Any, rng: random.Random, root: str
) -> Iterator[tuple[str, str, Any] | tuple[str, str, None, str]]:
    """(what, change, instance) per case of one target; (what, reason, None, reason) when none holds."""
    present, current = _get(baseline, target.instance_path)
    where = _where(target.instance_path, root)
    holder = target.schema
    if target.kind == "format":
        fmt = str(holder["format"])
        what = f"format {fmt}"
        if fmt in NO_INVALID_VALUE:
            yield what, "", None, NO_INVALID_VALUE[fmt]
            return
        if fmt not in INVALID_FORMAT_VALUES:
            yield what, "", None, f"no value known to break format {fmt}"
            return
        bad = INVALID_FORMAT_VALUES[fmt]
        good = current if present else satisfy(holder, VALID_FORMAT_VALUES[fmt], rng)
        control = _put(baseline, target.instance_path, good)
        instance = _put(baseline, target.instance_path, bad)
        if good is None or control is None or instance is None or not is_valid(schema, control):
            yield what, "", None, f"{where} cannot be given a valid {fmt} value in a valid request"
        elif is_valid(schema, instance):
            yield what, "", None, f"{where} = {_show(bad)} still follows the schema"
        else:
            yield what, f"{where} = {_show(bad)}", instance
        return
    if target.kind == "not":
        sub = holder["not"]
        start = current if present else None
        forced = satisfy(sub, start, rng) if start is not None else satisfy(sub, generate(sub, rng), rng)
        instance = _put(baseline, target.instance_path, forced) if forced is not None else None
        control_schema = _without(schema, target.schema_path, "not")
        if instance is None:
            yield "not", "", None, f"no value of {where} satisfies the not"
        elif is_valid(schema, instance) or not is_valid(control_schema, instance):
            yield "not", "", None, f"no request breaks the not at {where} alone"
        else:
            yield "not", _diff(current if present else None, forced, where), instance
        return
    keyword = target.kind
    branches: list[Mapping[str, Any]] = list(holder[keyword])
    control_schema = _without(schema, target.schema_path, keyword)
    for index, branch in enumerate(branches):
        what = f"{keyword} branch {index}"
        others = [b for j, b in enumerate(branches) if j != index]
        base = current if present else generate(branch, rng)
        # Best a value of this branch alone, so that breaking it leaves no other branch holding.
        start = satisfy({"allOf": [branch, {"not": {"anyOf": others}}]}, base, rng) if others else None
        if start is None and present and is_valid(branch, current):
            start = current
        if start is None:
            start = satisfy(branch, current if present else generate(branch, rng), rng)
        if start is None:
            yield what, "", None, f"no value of {where} follows branch {index}"
            continue
        for candidate in violations(branch, start, rng):
            if any(is_valid(other, candidate) for other in branches):
                continue
            instance = _put(baseline, target.instance_path, candidate)
            if instance is not None and not is_valid(schema, instance) and is_valid(control_schema, instance):
                yield what, f"{where} = {_show(candidate)} (no branch holds)", instance
                break
        else:
            yield what, "", None, f"no change to branch {index}'s value at {where} breaks every branch alone"
    if keyword == "oneOf":
        what = "oneOf: two branches hold"
        # The control: the same schema with this oneOf read as an anyOf (two branches may hold).
        as_any = _without(schema, target.schema_path, "oneOf", also={"anyOf": branches})
        for i in range(len(branches)):
            for j in range(i + 1, len(branches)):
                both = {"allOf": [branches[i], branches[j]]}
                value = satisfy(both, current if present else generate(branches[i], rng), rng)
                if value is None:
                    continue
                instance = _put(baseline, target.instance_path, value)
                if instance is not None and not is_valid(schema, instance) and is_valid(as_any, instance):
                    yield what, f"{where} = {_show(value)} (branches {i} and {j} both hold)", instance
                    return
        yield what, "", None, f"no value of {where} follows two branches at once"


def _baseline_body(media: model.Media, rng: random.Random) -> Any:
    schema = media.schema or {}
    for value in media.examples.values():
        if is_valid(schema, value):
            return copy.deepcopy(value)
    return satisfy(schema, generate(schema, rng), rng)


def _parameter_value(parameter: model.Parameter, rng: random.Random) -> Any:
    for value in parameter.examples:
        if is_valid(parameter.schema, value):
            return value
    return satisfy(parameter.schema, generate(parameter.schema, rng), rng)


def _parameter_locator(
    raw: Mapping[str, Any], operation: model.Operation, parameter: model.Parameter
) -> Locate:
    """Where a parameter's schema is written: in the operation's list, else in its path item's."""
    method = operation.method.lower()
    for holder in (("paths", operation.path, method, "parameters"), ("paths", operation.path, "parameters")):
        for index in range(256):
            parts = (*holder, str(index))
            try:
                node = resolve_pointer(raw, model.written_at(raw, parts))
            except UnresolvableRef:
                break
            if isinstance(node, Mapping) and (node.get("name"), node.get("in")) == (
                parameter.name,
                parameter.location,
            ):
                return _locator(raw, (*parts, "schema"))
    return _locator(raw, ("paths", operation.path, method, "parameters", parameter.name, "schema"))


def _body_locator(raw: Mapping[str, Any], operation: model.Operation, media_type: str) -> Locate:
    return _locator(
        raw,
        ("paths", operation.path, operation.method.lower(), "requestBody", "content", media_type, "schema"),
    )


def derive(
    contract: model.Contract, seed: int = 0, live: Mapping[str, Live] | None = None
) -> tuple[list[Case], list[Skipped]]:
    """Every negative case of ``contract``'s operations, and the rules no case could be derived for;
    ``live`` gives, by operationId, values an operation's valid request takes from the server."""
    cases: list[Case] = []
    skipped: list[Skipped] = []
    for operation in contract.operations:
        found, left = derive_operation(contract, operation, seed, (live or {}).get(operation.operation_id))
        cases += found
        skipped += left
    return cases, skipped


def derive_operation(
    contract: model.Contract, operation: model.Operation, seed: int = 0, live: Live | None = None
) -> tuple[list[Case], list[Skipped]]:
    """The negative cases of one operation and the rules no case could be derived for. Its valid request
    takes ``live``'s path values and body fields where they keep it valid; the seed's draws are the same
    with or without them."""
    cases: list[Case] = []
    skipped: list[Skipped] = []
    raw = contract.raw
    rng = random.Random(f"{seed}:{operation.operation_id}")
    parameters = {
        (p.location, p.name): _parameter_value(p, rng)
        for p in operation.parameters
        if p.required or p.location == "path"
    }
    for p in operation.parameters:
        # An id that exists on the server (a resource the run created) over the example or a made-up one.
        known = live is not None and p.location == "path" and p.name in live.path
        if known and live is not None and is_valid(p.schema, live.path[p.name]):
            parameters[(p.location, p.name)] = live.path[p.name]
    body: Any = None
    media: model.Media | None = None
    if operation.request_body is not None:
        content = operation.request_body.content
        media_type = next((t for t in content if t in _JSON or t.endswith("+json")), None)
        if media_type is None and _FORM in content:
            media_type = _FORM
        if media_type is not None:
            media = content[media_type]
            body = _baseline_body(media, rng)
            if live is not None and live.body and isinstance(body, dict):
                # The fields a link fills in (Ryng's logID) or the run's own OAuth2 client, where the
                # request stays valid with them.
                merged = {**body, **live.body}
                if media.schema is None or is_valid(media.schema, merged):
                    body = merged
    if any(value is None for value in parameters.values()):
        for target_op in _all_rules(raw, operation, media):
            skipped.append(Skipped(operation, target_op, "no valid value for a required parameter"))
        return cases, skipped
    if media is not None and media.schema is not None:
        schema = media.schema
        found = list(targets(schema, _body_locator(raw, operation, media.media_type)))
        if found and (body is None or not is_valid(schema, body)):
            for target in found:
                skipped.append(
                    Skipped(operation, _rule(target.pointer, target.kind), "no valid body to derive from")
                )
        elif found:
            for target in found:

                def formless(instance: Any, change: str) -> str | None:
                    if media.media_type == _FORM and is_valid(schema, as_form(instance, schema)):
                        return f"{change} is valid once sent as a form"
                    return None

                derived = _derived(operation, target, schema, body, rng, "body", skipped, formless)
                for rule, what, change, instance in derived:
                    cases.append(
                        Case(
                            operation,
                            rule,
                            target.pointer,
                            what,
                            change,
                            body=instance,
                            media_type=media.media_type,
                            parameters=dict(parameters),
                            baseline_body=body,
                            baseline_parameters=dict(parameters),
                            about=target.about,
                        )
                    )
    for parameter in operation.parameters:
        if parameter.location not in {"path", "query", "header"}:
            continue
        key = (parameter.location, parameter.name)
        value = parameters.get(key)
        if value is None:
            value = _parameter_value(parameter, rng)
        found = list(targets(parameter.schema, _parameter_locator(raw, operation, parameter)))
        for target in found:
            where = f"{parameter.location} {parameter.name}"
            derived = _derived(operation, target, parameter.schema, value, rng, where, skipped, _unsent)
            for rule, what, change, instance in derived:
                cases.append(
                    Case(
                        operation,
                        rule,
                        target.pointer,
                        what,
                        change,
                        body=body if media is not None else None,
                        media_type=media.media_type if media is not None else None,
                        parameters={**parameters, key: instance},
                        baseline_body=body if media is not None else None,
                        baseline_parameters={**parameters, key: value},
                    )
                )
    return cases, skipped


def _derived(
    operation: model.Operation,
    target: Target,
    schema: Mapping[str, Any],
    value: Any,
    rng: random.Random,
    where: str,
    skipped: list[Skipped],
    refuse: Callable[[Any, str], str | None],
) -> Iterator[tuple[str, str, str, Any]]:
    """(rule, what, change, instance) of each case ``_derive`` makes for one target; a case it cannot
    make, or one ``refuse`` says cannot be sent (why), goes to ``skipped`` instead."""
    for derived in _derive(target, schema, value, rng, where):
        what, change, instance = derived[0], derived[1], derived[2]
        rule = _rule(target.pointer, what)
        why = str(derived[3]) if instance is None else refuse(instance, change)  # type: ignore[misc]
        if why:
            skipped.append(Skipped(operation, rule, why))
            continue
        yield rule, what, change, instance


def _unsent(instance: Any, _change: str) -> str | None:
    """A parameter's case that is no scalar cannot be sent."""
    return "a structured parameter value is not sent" if isinstance(instance, dict | list) else None


def _all_rules(raw: Mapping[str, Any], operation: model.Operation, media: model.Media | None) -> list[str]:
    found = []
    if media is not None and media.schema is not None:
        locate = _body_locator(raw, operation, media.media_type)
        found += [_rule(t.pointer, t.kind) for t in targets(media.schema, locate)]
    return found


# ---- the verify phase ------------------------------------------------------------------------------------------


@dataclass
class Sent:
    method: str
    url: str
    headers: dict[str, str]
    content: bytes | None
    status: int = 0
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: bytes = b""
    renewed: bool = False  # sent again with a new OAuth2 token after a refusal

    @property
    def curl(self) -> str:
        from contracts.checks import curl_command

        return curl_command(self.method, self.url, self.headers, self.content)


def build_request(
    case: Case, base_url: str, credentials: Mapping[str, str], *, baseline: bool = False
) -> Sent | None:
    """The case's request (or the valid one it was derived from); None when its URL cannot be written."""
    from contracts.urls import request_url

    parameters = case.baseline_parameters if baseline else case.parameters
    body = case.baseline_body if baseline else case.body
    operation = case.operation
    path_values = {name: value for (where, name), value in parameters.items() if where == "path"}
    url = request_url(base_url, operation.path, path_values)
    if url is None:
        return None
    query = {name: value for (where, name), value in parameters.items() if where == "query"}
    if query:
        url += "?" + model.form_encode(query)
    headers = dict(credentials)
    for (where, name), value in parameters.items():
        if where == "header":
            headers[name] = model.form_value(value)
    content: bytes | None = None
    if case.media_type is not None:
        headers["Content-Type"] = case.media_type
        if case.media_type == _FORM and isinstance(body, Mapping):
            content = model.form_encode(body).encode()
        else:
            content = json.dumps(body).encode()
    return Sent(operation.method, url, headers, content)


def _send(client: httpx.Client, sent: Sent, label: str, traffic: Any, timeout: float) -> Sent:
    for _attempt in range(_RATE_LIMITED_TRIES):
        if traffic is not None:
            traffic.before_request()  # paced, and held while a Retry-After runs
        response = client.request(
            sent.method, sent.url, headers=sent.headers, content=sent.content, timeout=timeout
        )
        if traffic is not None:
            traffic.after_response(
                operation=label,
                method=sent.method,
                url=sent.url,
                request_headers=sent.headers,
                request_body=sent.content,
                status=response.status_code,
                response_headers=response.headers.items(),
                response_body=response.content,
                elapsed=response.elapsed.total_seconds(),
            )
        sent.status = response.status_code
        sent.response_headers = {k.lower(): v for k, v in response.headers.items()}
        sent.response_body = response.content
        if response.status_code != 429 or traffic is None:
            break
    return sent


def refusal_statuses(operation: model.Operation, contract: model.Contract) -> tuple[set[int], bool]:
    """The client errors an operation documents for a bad request (not its auth failure or 429), and
    whether any 4xx is documented (``4XX`` or ``default``)."""
    auth = contract.errors.auth_status
    codes = {int(c) for c in operation.responses if c.isdigit() and c.startswith("4")} - {auth, 429}
    if auth == 401:
        codes.discard(403)  # a refusal of permission says nothing about the body
    wildcard = "4XX" in operation.responses or "default" in operation.responses
    if not codes and not wildcard:
        codes = {contract.errors.validation_status}
    return codes, wildcard


def refuses_credentials(status: int, contract: model.Contract) -> bool:
    """Whether ``status`` is what this API answers for refused credentials (401 or 403 when the spec states
    no error shape of its own)."""
    return status == contract.errors.auth_status or (not contract.states_errors and status in {401, 403})


@dataclass
class Verdict:
    ok: bool | None  # None: not judged, with the reason (inconclusive, once settled)
    reason: str = ""
    violation: Violation | None = None


def judge(case: Case, sent: Sent, contract: model.Contract) -> Verdict:
    """How the answer to one negative case fares: a documented client error in the vendor's shape."""
    from contracts.checks import describe

    status = sent.status
    if status == 429:
        return Verdict(None, f"answered 429 (rate limited) {_RATE_LIMITED_TRIES} times")
    if refuses_credentials(status, contract):
        # Not "the credentials were refused": a server may answer this status for an id or a resource
        # the credentials may not reach (a 403 for an id it does not have), and nothing tells which.
        return Verdict(
            None,
            f"answered HTTP {status}, the status this API gives a request whose credentials it refuses, "
            "which judges nothing of this rule",
        )
    codes, wildcard = refusal_statuses(case.operation, contract)
    documented = status in codes or (wildcard and 400 <= status < 500)
    wanted = ", ".join(str(c) for c in sorted(codes)) + (" or another 4xx" if wildcard else "")
    got = describe(status, sent.response_headers, sent.response_body)
    problems: list[str] = []
    if documented and contract.states_errors:
        media_type = sent.response_headers.get("content-type", "").split(";")[0].strip().lower()
        response = case.operation.responses.get(str(status))
        other_shapes = set(response.content) if response is not None else set()
        if media_type == contract.errors.media_type:
            try:
                body = json.loads(sent.response_body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                body = None
            problems = contract.errors.envelope_problems(body, status)
        elif media_type not in other_shapes - {contract.errors.media_type}:
            problems = [f"Content-Type {media_type or 'none'}, not {contract.errors.media_type}"]
    if documented and not problems:
        return Verdict(True)
    if 200 <= status < 300:
        title = f"accepted a request that breaks {case.what}: {case.change}"
    elif not documented:
        title = f"answered {status}, not a documented client error, to a request that breaks {case.what}"
    else:
        title = f"refused a request that breaks {case.what} outside the vendor's error shape"
    violation = Violation(
        operation=case.label,
        rule=case.rule,
        title=title,
        expected=(
            f"HTTP {wanted} in the vendor's error shape: {case.change} breaks {case.pointer} "
            f"({case.what}{': ' + case.about if case.about else ''})"
        ),
        got=got,
        message="; ".join(problems) or f"{case.change} breaks {case.pointer}",
        curl=sent.curl,
        phase=PHASE,
    )
    return Verdict(False, violation=violation)


def _documented_server_error(operation: model.Operation, status: int) -> bool:
    return status >= 500 and (
        str(status) in operation.responses or f"{status // 100}XX" in operation.responses
    )


def settle(
    case: Case, sent: Sent, verdict: Verdict, valid: Sent | None, contract: model.Contract, why: str = ""
) -> Verdict:
    """The verdict on a case once the valid request it was derived from has been answered (``valid``;
    None when it got no answer, ``why`` says why). A refusal proves the rule only when the valid request,
    which differs from the case by that rule alone, got past the server's checks of its input: it was
    accepted (2xx), or answered a 5xx the operation documents (Ryng's busy agent), not the case's client
    error. Otherwise nothing is judged, and the reason says what came back."""
    if verdict.ok is False:
        return verdict
    got = f"HTTP {valid.status}" if valid is not None else f"no answer{f': {why}' if why else ''}"
    if verdict.ok is None:
        reason = verdict.reason
        if sent.renewed:
            reason += " (sent again with a new OAuth2 token: the same)"
        if valid is not None and 200 <= valid.status < 300 and refuses_credentials(sent.status, contract):
            return Verdict(None, f"{reason}; the valid request it was derived from was accepted ({got})")
        return Verdict(None, f"{reason}; the valid request it was derived from got {got}")
    if valid is not None and (
        200 <= valid.status < 300 or _documented_server_error(case.operation, valid.status)
    ):
        return verdict
    return Verdict(None, f"the valid request it was derived from was not accepted either ({got})")


class _Session:
    """The phase's requests, with the run's credentials. An OAuth2 token the server refuses (a workflow
    moved the server's clock past its life) is renewed once from the run's client credentials, as any
    client does, and the refused request sent again with it."""

    def __init__(
        self,
        client: httpx.Client,
        credentials: Mapping[str, str],
        traffic: Any,
        timeout: float,
        contract: model.Contract,
        report: Any,
        renew: Callable[[], Mapping[str, str] | None] | None,
    ) -> None:
        self.client = client
        self.credentials = dict(credentials)
        self.traffic = traffic
        self.timeout = timeout
        self.contract = contract
        self.report = report
        self._renew = renew
        self._previous: dict[str, str] = {}
        self.renewed = False

    def send(self, sent: Sent, label: str) -> Sent:
        _send(self.client, sent, label, self.traffic, self.timeout)
        self.report.requests += 1
        if refuses_credentials(sent.status, self.contract) and self.renew():
            kept = {k: v for k, v in sent.headers.items() if k not in self._previous}
            sent.headers = {**kept, **self.credentials}
            sent.renewed = True
            _send(self.client, sent, label, self.traffic, self.timeout)
            self.report.requests += 1
        return sent

    def renew(self) -> bool:
        """A new token, once a phase; whether there is one."""
        if self._renew is None or self.renewed:
            return False
        self.renewed = True
        fresh = self._renew()
        if fresh is None:
            return False
        self._previous, self.credentials = self.credentials, dict(fresh)
        return True


def _token_request(
    contract: model.Contract, document: Mapping[str, Any], options: Any, base_url: str
) -> dict[str, Live]:
    """The operation at the spec's OAuth2 token URL, when the run was given an OAuth2 client: its valid
    request asks a token for that client (the spec's example client is not one the server knows)."""
    kind, _, rest = str(getattr(options, "auth", None) or "").partition(":")
    client_id, colon, secret = rest.partition(":")
    if kind.lower() != "oauth2" or not colon:
        return {}
    from contracts.runner import VerifyError, token_url

    try:
        url = token_url(document, base_url, getattr(options, "token_url", None)).rstrip("/")
    except VerifyError:
        return {}
    grant = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    return {
        op.operation_id: Live(body=grant)
        for op in contract.operations
        if op.method == "POST" and base_url.rstrip("/") + op.path.rstrip("/") == url
    }


def _creates(contract: model.Contract) -> dict[str, list[Any]]:
    """operationId -> the OpenAPI links (:class:`contracts.pairing.Link`) whose create gives it a path
    value."""
    from contracts import pairing

    found: dict[str, list[Any]] = {}
    for link in pairing.links(contract):
        names = {p.name for p in link.target.parameters if p.location == "path"}
        if any(str(name).rpartition(".")[2] in names for name in link.parameters):
            found.setdefault(link.target.operation_id, []).append(link)
    return found


class _Renewing:
    """The links phase's player (:class:`contracts.pairing.Player`) with the phase's credentials."""

    def __init__(self, session: _Session, player: Any) -> None:
        self.session = session
        self.player = player

    def request(self, op: model.Operation, path_values: Mapping[str, Any], body: Any) -> Any:
        before = self.player.sent
        try:
            self.player.headers = dict(self.session.credentials)
            answer = self.player.request(op, path_values, body)
            if (
                answer is not None
                and refuses_credentials(answer.status, self.session.contract)
                and self.session.renew()
            ):
                self.player.headers = dict(self.session.credentials)
                answer = self.player.request(op, path_values, body)
        finally:
            self.session.report.requests += self.player.sent - before
        return answer


# A resource the phase created serves the next operation its links lead to while it is known intact:
# after reads and updates (GET, HEAD, PUT, PATCH) whose valid requests were accepted. An action (a POST:
# stop, end, cancel) may leave it in a state the next one refuses, a DELETE removes it. Each create is one
# more resource on the server, which may cap them (ringme: 10 agent event subscriptions an account).
_KEEPS_RESOURCE = frozenset({"GET", "HEAD", "PUT", "PATCH"})


def _resource(
    operation: model.Operation,
    links: Sequence[Any],
    pool: dict[str, Any],
    session: _Session,
    base_url: str,
) -> tuple[Live | None, str | None, list[str]]:
    """Path values and body fields of a resource the server has, for ``operation``: handed by the first
    of ``links`` whose source created one, in ``pool`` already or created now (as the links phase creates
    one: :func:`contracts.pairing.create`, which goes into ``pool``). Also the source's operationId, and
    why each create gave nothing."""
    from contracts import pairing
    from contracts.traffic import Traffic

    names = {p.name for p in operation.parameters if p.location == "path"}
    notes: list[str] = []
    for link in links:
        source = link.source.operation_id
        created = pool.get(source)
        if created is None:
            traffic = session.traffic if session.traffic is not None else Traffic()
            player = pairing.Player(
                base_url, session.credentials, session.timeout, traffic, client=session.client
            )
            try:
                made = pairing.create(link, _Renewing(session, player))
            except httpx.HTTPError as exc:
                notes.append(f"{source} got no answer: {exc}")
                continue
            if isinstance(made, str):
                notes.append(made)
                continue
            created = pool[source] = made
        values, body = created.handed(link)
        path = {name: value for name, value in values.items() if name in names and value is not None}
        if not path:
            notes.append(f"{source}'s answer holds nothing link {link.name} takes")
            continue
        return Live(path, dict(body) if isinstance(body, Mapping) else {}), source, notes
    return None, None, notes


def _made_up(operation: model.Operation, live: Live | None) -> list[str]:
    """The path parameters whose value is neither the server's (``live``) nor one the spec gives."""
    out = []
    for p in operation.parameters:
        if p.location != "path":
            continue
        if live is not None and p.name in live.path and is_valid(p.schema, live.path[p.name]):
            continue
        if not any(is_valid(p.schema, value) for value in p.examples):
            out.append(p.name)
    return out


def _inconclusive(report: Any, case: Case, reason: str) -> None:
    from contracts.reporting.model import Inconclusive

    name = f"{case.label} {case.rule}"
    if not any((i.scope, i.name, i.reason) == ("rule", name, reason) for i in report.inconclusive):
        report.inconclusive.append(Inconclusive(scope="rule", name=name, reason=reason))


def phase(
    report: Any,
    options: Any,
    document: Mapping[str, Any],
    base_url: str,
    headers: Mapping[str, str],
    seed: int,
    traffic: Any = None,
    *,
    problem: Callable[[str], Any],
    tested: Callable[[str, str, bool, list[Violation]], Any],
) -> Iterator[Any]:
    """The ``negative`` phase of ``mockline verify``: events for the runner, results into ``report``.

    Operation by operation. One whose path takes an id that a create answers (an OpenAPI link) first gets
    a resource of its own, created as the links phase creates one, so that its valid request addresses
    what the server has (else the path value is the spec's example, else made up). Then every case; then
    each valid request the cases came from, once and last, so that no case meets a resource that a valid
    request already changed (stopped, ended, deleted). A case neither judged nor underivable (the valid
    request was not accepted, a 429, a refusal with the credential failure status) is inconclusive.
    """
    from contracts.runner import renewal  # the runner imports this module

    contract = model.from_document(str(document.get("info", {}).get("title", "api")), document)
    creates = _creates(contract)
    fixed = _token_request(contract, document, options, base_url)
    with bounded.client(options.request_timeout) as client:
        session = _Session(
            client,
            headers,
            traffic,
            options.request_timeout,
            contract,
            report,
            renewal(document, options, traffic),
        )
        pool: dict[str, Any] = {}  # operationId of a create -> what it created (pairing.Created)
        for operation in contract.operations:
            live = fixed.get(operation.operation_id)
            cases, skipped = derive_operation(contract, operation, seed, live)
            notes: list[str] = []
            source = None
            if cases and operation.operation_id in creates:
                made, source, notes = _resource(
                    operation, creates[operation.operation_id], pool, session, base_url
                )
                if made is not None:
                    live = Live(
                        {**(live.path if live else {}), **made.path},
                        {**(live.body if live else {}), **made.body},
                    )
                    cases, skipped = derive_operation(contract, operation, seed, live)
            for item in skipped:
                report.record(item.label, CHECK, None)
                yield problem(f"{item.label}: {item.rule}: not applicable: {item.reason}")
            made_up = _made_up(operation, live)
            if made_up:
                why = "; ".join(notes) or "no OpenAPI link leads here and the spec gives no example"
                notes = [f"its {', '.join(made_up)} was made up ({why})"]
            accepted = yield from _play(
                cases, notes, session, contract, base_url, problem=problem, tested=tested
            )
            if source is not None and not (accepted and operation.method in _KEEPS_RESOURCE):
                pool.pop(source, None)


def _play(
    cases: Sequence[Case],
    notes: Sequence[str],
    session: _Session,
    contract: model.Contract,
    base_url: str,
    *,
    problem: Callable[[str], Any],
    tested: Callable[[str, str, bool, list[Violation]], Any],
) -> Generator[Any, None, bool]:
    """One operation's cases, then the valid requests they came from; each case judged or inconclusive.
    Returns whether valid requests were sent and each was accepted (2xx)."""
    report = session.report
    answered: list[tuple[Case, Sent, Verdict]] = []
    for case in cases:
        sent = build_request(case, base_url, session.credentials)
        if sent is None:
            report.record(case.label, CHECK, None)
            yield problem(f"{case.label}: {case.rule}: not applicable: its URL cannot be written")
            continue
        try:
            session.send(sent, case.label)
        except httpx.HTTPError as exc:
            message = f"{case.label}: {case.rule}: no answer: {exc}"
            report.errors.append(message)
            yield problem(message)
            continue
        answered.append((case, sent, judge(case, sent, contract)))
    baselines: dict[tuple[Any, ...], tuple[Sent | None, str]] = {}
    for case, sent, verdict in answered:
        if verdict.ok is not False:
            valid, why = None, "its URL cannot be written"
            request = build_request(case, base_url, session.credentials, baseline=True)
            if request is not None:
                key = (request.method, request.url, request.content, tuple(sorted(request.headers.items())))
                if key not in baselines:
                    try:
                        baselines[key] = (session.send(request, case.label), "")
                    except httpx.HTTPError as exc:
                        baselines[key] = (None, str(exc))
                valid, why = baselines[key]
            verdict = settle(case, sent, verdict, valid, contract, why)
            if verdict.ok is None and notes and (valid is None or not 200 <= valid.status < 300):
                verdict = Verdict(None, f"{verdict.reason}; {'; '.join(notes)}")
        if verdict.ok is None:
            report.record(case.label, CHECK, None)
            _inconclusive(report, case, verdict.reason)
            yield problem(f"{case.label}: {case.rule}: not judged: {verdict.reason} (inconclusive)")
            continue
        new = report.judged(case.label, CHECK, bool(verdict.ok), verdict.violation)
        yield tested(PHASE, f"{case.label} {case.rule}", bool(verdict.ok), new)
    return bool(baselines) and all(
        valid is not None and 200 <= valid.status < 300 for valid, _ in baselines.values()
    )
