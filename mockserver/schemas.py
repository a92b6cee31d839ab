"""OpenAPI 3.0 schemas turned into JSON Schema, compiled once, checked in microseconds.

``contracts.oas30.to_json_schema`` rewrites a resolved OpenAPI 3.0 schema into plain Draft 4, and
``CompiledSchema`` builds a jsonschema-rs validator from it that also checks formats (``uri``, ``email``,
``date-time``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema
import jsonschema_rs

from contracts.oas30 import Direction, to_json_schema


@dataclass(frozen=True)
class Problem:
    """One way an instance breaks its schema: where (``body.customerData.jsonData[0].number``) and why."""

    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


class CompiledSchema:
    def __init__(self, schema: Mapping[str, Any], direction: Direction = "request") -> None:
        self.source = schema
        self.json_schema = to_json_schema(schema, direction)
        self._validator = jsonschema_rs.Draft4Validator(self.json_schema, validate_formats=True)
        self._exact_validator: Any = None
        self._large_bounds = _has_large_bound(self.json_schema)

    def is_valid(self, instance: Any) -> bool:
        if self._large_bounds and _has_big_int(instance):
            return not self.problems(instance)
        return bool(self._validator.is_valid(instance))

    def problems(self, instance: Any, root: str = "body") -> list[Problem]:
        found = []
        if self._large_bounds and _has_big_int(instance):
            # jsonschema-rs compares integers past 2**53 as floats (2**63 passes a maximum of 2**63 - 1);
            # such bodies are rare, so the exact pure-Python validator checks them instead.
            for exact in self._exact().iter_errors(instance):
                refused = exact.validator_value if exact.validator == "not" else None
                found.append(
                    Problem(_pointer_to_path(root, exact.absolute_path), _said(refused, exact.message))
                )
        elif not self._validator.is_valid(instance):
            for error in self._validator.iter_errors(instance):
                refused = getattr(error.kind, "schema", None) if type(error.kind).__name__ == "Not" else None
                found.append(
                    Problem(_pointer_to_path(root, error.instance_path), _said(refused, error.message))
                )
        if len(found) > 1:
            found.sort(key=lambda p: (p.location, p.message))
        return found

    def _exact(self) -> Any:
        if self._exact_validator is None:
            self._exact_validator = jsonschema.Draft4Validator(
                self.json_schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
            )
        return self._exact_validator


def _said(refused: Any, message: str) -> str:
    """A rule written as ``not: {title: <the rule in words>, ...}`` is reported by its title, not by the
    refused schema printed whole."""
    if isinstance(refused, Mapping) and isinstance(refused.get("title"), str):
        return str(refused["title"])
    return message


_EXACT_FLOAT_LIMIT = 2**53


def _has_large_bound(schema: Any) -> bool:
    """Whether a numeric bound is past 2**53, where jsonschema-rs compares integers imprecisely."""
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key in {"minimum", "maximum", "multipleOf"} and isinstance(value, int | float):
                if abs(value) >= _EXACT_FLOAT_LIMIT:
                    return True
            elif key == "enum" and isinstance(value, list):
                if any(isinstance(v, int) and abs(v) >= _EXACT_FLOAT_LIMIT for v in value):
                    return True
            elif _has_large_bound(value):
                return True
    elif isinstance(schema, list):
        return any(_has_large_bound(item) for item in schema)
    return False


def _has_big_int(instance: Any) -> bool:
    if isinstance(instance, int):
        return not isinstance(instance, bool) and abs(instance) > _EXACT_FLOAT_LIMIT
    if isinstance(instance, dict):
        return any(_has_big_int(v) for v in instance.values())
    if isinstance(instance, list):
        return any(_has_big_int(v) for v in instance)
    return False


def _pointer_to_path(root: str, path: Any) -> str:
    out = root
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class CoercionError(ValueError):
    """A parameter's text could not be read as the type its schema asks for."""


def coerce(text: str | list[str], schema: Mapping[str, Any]) -> Any:
    """Read a path, query, header or form value as the type its schema declares."""
    kind = schema.get("type")
    if kind == "array":
        items = text if isinstance(text, list) else text.split(",")
        return [coerce(item, schema.get("items", {})) for item in items]
    if isinstance(text, list):
        text = text[-1]
    if kind == "integer":
        try:
            return int(text)
        except ValueError:
            raise CoercionError(f"{text!r} is not an integer") from None
    if kind == "number":
        try:
            return float(text) if any(c in text for c in ".eE") else int(text)
        except ValueError:
            raise CoercionError(f"{text!r} is not a number") from None
    if kind == "boolean":
        lowered = text.lower()
        if lowered in {"true", "1"}:
            return True
        if lowered in {"false", "0"}:
            return False
        raise CoercionError(f"{text!r} is not a boolean (true or false)")
    return text
