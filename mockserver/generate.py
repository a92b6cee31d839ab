"""Instances of a (resolved) OpenAPI schema, filled with fake values that fit each field's name.

Used where no engine answers an operation: the response is the spec's example, or (with
``Prefer: dynamic=true``) an instance generated here. Generated instances validate against their schema.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

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


def generate(schema: Mapping[str, Any], fakes: Fakes, now: datetime, name: str = "") -> Any:
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            for key, value in part.items():
                if key == "properties":
                    merged.setdefault("properties", {}).update(value)
                elif key == "required":
                    merged.setdefault("required", []).extend(value)
                else:
                    merged[key] = value
        return generate(merged, fakes, now, name)
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return generate(schema[key][0], fakes, now, name)
    if "enum" in schema:
        return fakes.rng.choice([v for v in schema["enum"] if v is not None])
    kind = schema.get("type") or ("object" if "properties" in schema else "string")
    if kind == "object":
        props = schema.get("properties", {})
        return {key: generate(sub, fakes, now, key) for key, sub in props.items() if not sub.get("writeOnly")}
    if kind == "array":
        low = int(schema.get("minItems", 1))
        high = max(low, min(int(schema.get("maxItems", 2)), 3))
        return [
            generate(schema.get("items", {}), fakes, now, name) for _ in range(fakes.rng.randint(low, high))
        ]
    if kind == "integer":
        low = int(schema.get("minimum", 1))
        high = int(schema.get("maximum", max(low, 99_999)))
        if re.search(r"(duration|talktime|seconds|time)$", name, re.I):
            high = int(min(high, max(low, 900)))
        return fakes.rng.randint(low, high)
    if kind == "number":
        floor = float(schema.get("minimum", 0))
        return round(fakes.rng.uniform(floor, float(schema.get("maximum", floor + 1000))), 2)
    if kind == "boolean":
        return fakes.rng.random() < 0.5
    return _string(schema, fakes, now, name)


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
    if "pattern" not in schema:
        for rule, make in _NAME_RULES:
            if name and rule.search(name):
                value = make(fakes, now)
                if isinstance(value, str) and _fits(value, schema):
                    return value
    if "pattern" in schema:
        return _from_pattern(schema["pattern"], fakes)
    return _fit_length(fakes.faker.word(), schema)


def _fits(value: str, schema: Mapping[str, Any]) -> bool:
    return int(schema.get("minLength", 0)) <= len(value) <= int(schema.get("maxLength", 10**9))


def _fit_length(value: str, schema: Mapping[str, Any]) -> str:
    low, high = int(schema.get("minLength", 0)), int(schema.get("maxLength", 10**9))
    while len(value) < low:
        value += "x"
    return value[:high]


def _from_pattern(pattern: str, fakes: Fakes) -> str:
    """Strings for the simple patterns our specs use; a phone-like pattern gets a real number."""
    if "+" in pattern and "\\d" in pattern:
        return fakes.phone()
    if re.fullmatch(r"\^?\\d\{(\d+)(,\d*)?\}\$?", pattern):
        count = int(re.findall(r"\d+", pattern)[0])
        return "".join(str(fakes.rng.randint(0, 9)) for _ in range(count))
    return fakes.faker.word()
