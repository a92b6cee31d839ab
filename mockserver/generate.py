"""Instances of a (resolved) OpenAPI schema, filled with fake values that fit each field's name.

Used where no engine answers an operation: the response is the spec's example, or (with
``Prefer: dynamic=true``) an instance generated here. Generated instances validate against their schema:
bounds (exclusive ones and ``multipleOf`` too), lengths, counts, formats and patterns are kept. A schema
that contains itself keeps a ``$ref`` below its first copy (``contracts.model.resolve``); given the
(resolved) ``document``, such a ``$ref`` is followed, and past a few turns only what is required is made.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Any

from contracts import model
from mockserver.core.fakes import Fakes

_NAME_RULES: list[tuple[re.Pattern[str], Callable[[Fakes, datetime], Any]]] = [
    (re.compile(r"(e-?mail|username)$", re.I), lambda f, _: f.email()),
    (re.compile(r"(number|num|phone|mobile|customerid|msisdn)$", re.I), lambda f, _: f.phone()),
    (re.compile(r"(recording).*url$", re.I), lambda f, _: f.recording_url()),
    (re.compile(r"(url|uri|logo)$", re.I), lambda f, _: f.url()),
    (re.compile(r"^first_?name$", re.I), lambda f, _: f.first_name()),
    (re.compile(r"^last_?name$", re.I), lambda f, _: f.last_name()),
    (re.compile(r"company|organi[sz]ation_?name", re.I), lambda f, _: f.company()),
    (re.compile(r"job_?title|title$", re.I), lambda f, _: f.job_title()),
    (re.compile(r"disposition", re.I), lambda f, _: f.disposition()),
    (re.compile(r"(notes|description|message|subject)$", re.I), lambda f, _: f.sentence()),
    (re.compile(r"name$", re.I), lambda f, _: f.name()),
    (re.compile(r"(created|started|ended|disposed|time|date|_at)$", re.I), lambda f, now: f.timestamp(now)),
    (re.compile(r"(id|sid|token)$", re.I), lambda f, _: str(f.integer(1000, 9_999_999))),
]


_LEAN_DEPTH = 3  # $refs followed into a recursive schema before only required fields and items are made
_GIVE_UP_DEPTH = 24  # a recursion even that cannot end (a required field that contains itself)


def generate(
    schema: Mapping[str, Any],
    fakes: Fakes,
    now: datetime,
    name: str = "",
    document: Mapping[str, Any] | None = None,
) -> Any:
    """An instance of ``schema``; ``document`` is where a ``$ref`` left in a recursive schema points."""
    return _Drawing(fakes, now, document).value(schema, name, 0)


@dataclass(frozen=True)
class _Drawing:
    """What every value of one instance is drawn with: the fakes (and their seeded random source), the
    moment, and the resolved document a recursive schema's ``$ref`` points into."""

    fakes: Fakes
    now: datetime
    document: Mapping[str, Any] | None

    def value(self, schema: Mapping[str, Any], name: str, depth: int) -> Any:
        fakes, document = self.fakes, self.document
        if model.recursion_ref(schema) is not None:
            target = model.recursion_target(document, schema)
            if target is None or depth >= _GIVE_UP_DEPTH:
                return None
            return self.value(target, name, depth + 1)
        if "allOf" in schema:
            return self.value(_merged(schema, document), name, depth)
        for key in ("oneOf", "anyOf"):
            if schema.get(key):
                branch = schema[key][0]
                rest = {k: v for k, v in schema.items() if k not in {key, "discriminator"}}
                value = self.value({"allOf": [rest, branch]} if _constrains(rest) else branch, name, depth)
                tag = model.discriminator_tag(document, schema.get("discriminator"), branch)
                if tag is not None and isinstance(value, dict):
                    value[tag[0]] = tag[1]
                return value
        if "enum" in schema:
            choices = [v for v in schema["enum"] if v is not None]
            return fakes.rng.choice(choices) if choices else None
        kind = schema.get("type") or ("object" if "properties" in schema else "string")
        if kind == "object":
            return self.object(schema, depth)
        if kind == "array":
            return self.array(schema, name, depth)
        if kind == "integer":
            return _integer(schema, fakes, name)
        if kind == "number":
            return _number(schema, fakes)
        if kind == "boolean":
            return fakes.rng.random() < 0.5
        return _string(schema, fakes, self.now, name)

    def object(self, schema: Mapping[str, Any], depth: int) -> dict[str, Any]:
        props: Mapping[str, Any] = schema.get("properties", {})
        required = [str(n) for n in schema.get("required") or ()]
        lean = depth >= _LEAN_DEPTH
        out = {
            key: self.value(sub, key, depth)
            for key, sub in props.items()
            if not sub.get("writeOnly") and (not lean or key in required)
        }
        extra = schema.get("additionalProperties")
        extra_schema: Mapping[str, Any] = extra if isinstance(extra, Mapping) else {}
        for key in required:
            if key not in out and key not in props:
                out[key] = self.value(extra_schema, key, depth)
        fewest = int(schema.get("minProperties", 0))
        if len(out) < fewest:  # declared properties left out first (those leading back into a cycle last)
            left_out = [k for k, sub in props.items() if k not in out and not sub.get("writeOnly")]
            left_out.sort(key=lambda k: model.recursion_ref(props[k]) is not None)
            for key in left_out[: fewest - len(out)]:
                out[key] = self.value(props[key], key, depth)
        if extra is not False:
            count = 0
            while len(out) < fewest:
                count += 1
                key = f"key{count}"
                if key not in out:
                    out[key] = self.value(extra_schema, key, depth)
        most = schema.get("maxProperties")
        if isinstance(most, int):
            for key in [k for k in out if k not in required][::-1]:
                if len(out) <= most:
                    break
                del out[key]
        return out

    def array(self, schema: Mapping[str, Any], name: str, depth: int) -> list[Any]:
        lean = depth >= _LEAN_DEPTH
        most = schema.get("maxItems")
        fewest = 0 if lean else 1
        low = int(schema.get("minItems", fewest if most is None else min(fewest, int(most))))
        high = low if lean else max(low, min(int(schema.get("maxItems", 2)), 3))
        count = self.fakes.rng.randint(low, high)
        items = schema.get("items", {})
        values = [self.value(items, name, depth) for _ in range(count)]
        if schema.get("uniqueItems"):
            seen: dict[str, Any] = {}
            for value in values:
                seen.setdefault(json.dumps(value, sort_keys=True, default=str), value)
            tries = 0
            while len(seen) < count and tries < 20 * count:
                tries += 1
                value = self.value(items, name, depth)
                seen.setdefault(json.dumps(value, sort_keys=True, default=str), value)
            values = list(seen.values())
        return values


def _merged(schema: Mapping[str, Any], document: Mapping[str, Any] | None) -> dict[str, Any]:
    """An ``allOf`` as one schema: the schema's own keywords and each part's (nested ``allOf``s too); a
    property two parts declare must satisfy both."""
    merged: dict[str, Any] = {}
    parts = [{k: v for k, v in schema.items() if k != "allOf"}, *schema["allOf"]]
    for part in parts:
        if model.recursion_ref(part) is not None:
            part = model.recursion_target(document, part) or {}
        if "allOf" in part:
            part = _merged(part, document)
        for key, value in part.items():
            if key == "properties":
                properties = merged.setdefault("properties", {})
                for prop, sub in value.items():
                    properties[prop] = {"allOf": [properties[prop], sub]} if prop in properties else sub
            elif key == "required":
                merged.setdefault("required", []).extend(value)
            else:
                merged[key] = value
    return merged


_ANNOTATIONS = {"description", "title", "example", "externalDocs", "deprecated", "nullable", "xml"}


def _constrains(schema: Mapping[str, Any]) -> bool:
    return any(key not in _ANNOTATIONS and not key.startswith("x-") for key in schema)


def _integer(schema: Mapping[str, Any], fakes: Fakes, name: str) -> int:
    minimum, maximum = schema.get("minimum"), schema.get("maximum")
    top = None
    if maximum is not None:
        top = math.ceil(maximum) - 1 if schema.get("exclusiveMaximum") is True else math.floor(maximum)
    if minimum is not None:
        low = math.floor(minimum) + 1 if schema.get("exclusiveMinimum") is True else math.ceil(minimum)
    else:
        low = 1 if top is None or top >= 1 else top - 99_998
    high = max(low, 99_999) if top is None else top
    if re.search(r"(duration|talktime|seconds|time)$", name, re.I):
        high = int(min(high, max(low, 900)))
    step = schema.get("multipleOf")
    if isinstance(step, float) and step > 0 and math.isfinite(step):
        # The whole multiples of p/q (in lowest terms) are the multiples of p: 1.5 takes 3, 6, 9...
        step = Fraction(repr(step)).numerator
    if isinstance(step, int) and step > 0:
        first, last = -(-low // step), high // step
        if first > last:  # no multiple in the range drawn from: reach one on a side the schema leaves open
            if top is None:
                last = first
            elif minimum is None:
                first = last
        return (fakes.rng.randint(first, last) if first <= last else first) * step
    return fakes.rng.randint(low, high) if low <= high else low


def _number(schema: Mapping[str, Any], fakes: Fakes) -> float:
    minimum, maximum = schema.get("minimum"), schema.get("maximum")
    floor = (
        float(minimum)
        if minimum is not None
        else (0.0 if maximum is None or maximum >= 0 else maximum - 1000.0)
    )
    ceiling = float(maximum) if maximum is not None else floor + 1000
    low_open, high_open = schema.get("exclusiveMinimum") is True, schema.get("exclusiveMaximum") is True

    def fits(value: float) -> bool:  # the schema's own bounds: an open side has none
        above = minimum is None or (value > minimum if low_open else value >= minimum)
        below = maximum is None or (value < maximum if high_open else value <= maximum)
        return bool(above and below)

    step = schema.get("multipleOf")
    if isinstance(step, int | float) and step > 0:
        first, last = math.ceil(floor / step), math.floor(ceiling / step)
        # A side the schema leaves open reaches past the range drawn from, to a multiple (two: an
        # exclusive bound on the other side may refuse the first).
        if maximum is None:
            last = max(last, first + 1)
        if minimum is None:
            first = min(first, last - 1)
        tries: list[int] = [fakes.rng.randint(first, last) for _ in range(8)]
        tries += range(first, min(last, first + 63) + 1)  # and the first multiples, in order
        for k in tries:
            value = round(k * step, 12)
            if fits(value) and value / step == int(value / step):
                return value
        return float(first * step)
    value = round(fakes.rng.uniform(floor, ceiling), 2)
    return value if fits(value) else (floor + ceiling) / 2


def _string(schema: Mapping[str, Any], fakes: Fakes, now: datetime, name: str) -> str:
    fmt = schema.get("format")
    if fmt == "date-time":
        return fakes.timestamp(now)
    if fmt == "date":
        return now.date().isoformat()
    if fmt in {"uri", "url"}:
        return fakes.recording_url() if "record" in name.lower() else fakes.url()
    if fmt == "email":
        return fakes.email()
    if fmt in {"binary", "byte"}:
        return ""
    if fmt == "uuid":
        return str(uuid.UUID(int=fakes.rng.getrandbits(128), version=4))
    if fmt == "ipv4":
        return ".".join(str(fakes.rng.randint(1, 254)) for _ in range(4))
    if fmt == "ipv6":
        return ":".join(f"{fakes.rng.randint(0, 0xFFFF):x}" for _ in range(8))
    if fmt == "hostname":
        return f"{fakes.faker.domain_word()}.example.com"
    if "pattern" not in schema:
        for rule, make in _NAME_RULES:
            if name and rule.search(name):
                value = make(fakes, now)
                if isinstance(value, str) and _fits(value, schema):
                    return value
    if "pattern" in schema:
        return _from_pattern(str(schema["pattern"]), schema, fakes)
    return _fit_length(fakes.faker.word(), schema)


def _fits(value: str, schema: Mapping[str, Any]) -> bool:
    return int(schema.get("minLength", 0)) <= len(value) <= int(schema.get("maxLength", 10**9))


def _fit_length(value: str, schema: Mapping[str, Any]) -> str:
    low, high = int(schema.get("minLength", 0)), int(schema.get("maxLength", 10**9))
    while len(value) < low:
        value += "x"
    return value[:high]


_DRAWS = 8  # strings drawn from a pattern before one is cut to the schema's lengths


def _from_pattern(pattern: str, schema: Mapping[str, Any], fakes: Fakes) -> str:
    """A string the pattern matches, of the schema's lengths: a real number for a phone-like pattern that
    one matches, else one drawn from the pattern itself (read in ECMA-262 syntax, as OpenAPI writes
    patterns; drawn again until its length fits, else cut or filled to fit), else a word."""
    if "+" in pattern and "\\d" in pattern:
        phone = fakes.phone()
        if _fits(phone, schema) and _matches(pattern, phone):
            return phone
    if re.fullmatch(r"\^?\\d\{(\d+)(,\d*)?\}\$?", pattern):
        count = int(re.findall(r"\d+", pattern)[0])
        digits = "".join(str(fakes.rng.randint(0, 9)) for _ in range(count))
        if _fits(digits, schema):
            return digits
    drawn = None
    for _ in range(_DRAWS):
        drawn = model.sample_pattern(pattern, fakes.rng)
        if drawn is None or _fits(drawn, schema):
            break
    return _fit_length(drawn if drawn is not None else fakes.faker.word(), schema)


def _matches(pattern: str, value: str) -> bool:
    """Whether the pattern (ECMA-262, unanchored) matches; False for one Python cannot read as ECMA does."""
    try:
        return model.compiled_pattern(pattern).search(value) is not None
    except ValueError:
        return False
