"""OpenAPI 3.0 schemas turned into JSON Schema, compiled once, checked in microseconds.

``contracts.model.to_json_schema`` rewrites a resolved OpenAPI 3.0 schema into plain Draft 4, and
``CompiledSchema`` builds a jsonschema-rs validator from it that also checks formats (``uri``, ``email``,
``date-time``, and OpenAPI's ``byte``). A schema that contains itself keeps a ``$ref`` below its first copy
(``contracts.model.resolve``): given the resolved ``document``, what such a ``$ref`` names is carried along,
converted, at the same pointer, so that the validator can follow it.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema_rs

from contracts.model import (
    EXTRA_FORMATS,
    FORMAT_CHECKER,
    Direction,
    ECMADraft4Validator,
    to_json_schema_within,
)
from mockserver.errors import MocklineError
from mockserver.messages import Failure, word


@dataclass(frozen=True)
class Problem:
    """One way an instance breaks its schema: where (``body.customerData.jsonData[0].number``) and what is
    wrong with it, said of the field (``is required``). ``str()`` is the sentence a client reads:
    ``customerData.jsonData[0].number is required``."""

    location: str
    message: str

    def __str__(self) -> str:
        return f"{field_name(self.location)} {self.message}" if self.location else self.message


_PARAMETER_PLACES = {
    "path": "path parameter",
    "query": "query parameter",
    "header": "header",
    "cookie": "cookie",
}


def field_name(location: str) -> str:
    """How a message names a place: a body field by its own path, a parameter by its kind and name."""
    if location == "body":
        return "the body"
    head, dot, rest = location.partition(".")
    if head == "body" and dot:
        return rest
    if head in _PARAMETER_PLACES and dot:
        return f"{_PARAMETER_PLACES[head]} {rest}"
    return location


_EXTRA_FORMATS = dict(EXTRA_FORMATS)  # ``byte`` and ``uuid``, which Draft 4 does not check: the model's


class CompiledSchema:
    def __init__(
        self,
        schema: Mapping[str, Any],
        direction: Direction = "request",
        document: Mapping[str, Any] | None = None,
    ) -> None:
        self.source = schema
        self.document = document  # where a $ref left in a recursive schema points (a part compiled apart too)
        self.json_schema = to_json_schema_within(schema, document, direction)
        self._validator = jsonschema_rs.Draft4Validator(
            self.json_schema, validate_formats=True, formats=_EXTRA_FORMATS
        )
        self._exact_validator: Any = None
        self._large_bounds = _has_large_bound(self.json_schema)

    def is_valid(self, instance: Any) -> bool:
        if self._large_bounds and _has_big_int(instance):
            return not self.problems(instance)
        return bool(self._validator.is_valid(instance))

    def problems(self, instance: Any, root: str = "body") -> list[Problem]:
        found: list[Problem] = []
        if self._large_bounds and _has_big_int(instance):
            # jsonschema-rs compares integers past 2**53 as floats (2**63 passes a maximum of 2**63 - 1);
            # such bodies are rare, so the exact pure-Python validator checks them instead.
            failures = [failure_of_python_error(error) for error in self._exact().iter_errors(instance)]
        elif not self._validator.is_valid(instance):
            failures = [_from_rust(error) for error in self._validator.iter_errors(instance)]
        else:
            failures = []
        for failure in failures:
            for worded in word(failure, self.json_schema, self.source):
                where = "" if worded.whole else _pointer_to_path(root, worded.path)
                problem = Problem(where, worded.text)
                if problem not in found:
                    found.append(problem)
        if len(found) > 1:
            found.sort(key=lambda p: (p.location, p.message))
        return found

    def _exact(self) -> Any:
        if self._exact_validator is None:
            self._exact_validator = ECMADraft4Validator(self.json_schema, format_checker=FORMAT_CHECKER)
        return self._exact_validator


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


def _from_rust(error: Any) -> Failure:
    """A jsonschema-rs error as a ``Failure`` (its ``kind`` carries the keyword's details)."""
    kind = error.kind
    detail = kind.as_dict()
    branches: tuple[tuple[Failure, ...], ...] = ()
    if "context" in detail:
        branches = tuple(tuple(_from_rust(e) for e in branch) for branch in detail.pop("context"))
    return Failure(
        keyword=kind.name,
        instance=error.instance,
        instance_path=tuple(error.instance_path),
        schema_path=tuple(error.schema_path),
        detail=detail,
        branches=branches,
    )


def failure_of_python_error(
    error: Any, base: tuple[str | int, ...] = (), at: tuple[str | int, ...] = ()
) -> Failure:
    """A ``jsonschema`` error as a ``Failure``; the sub-errors of an anyOf are grouped by branch. (The pure
    Python validator checks what jsonschema-rs cannot: huge integers, and the config file.)"""
    schema_path = (*base, *error.relative_schema_path)
    instance_path = (*at, *error.relative_path)
    branches: dict[int, list[Failure]] = {}
    for sub in error.context or ():
        index = sub.relative_schema_path[0]
        branches.setdefault(index, []).append(failure_of_python_error(sub, schema_path, instance_path))
    return Failure(
        keyword=str(error.validator),
        instance=error.instance,
        instance_path=instance_path,
        schema_path=schema_path,
        branches=tuple(tuple(v) for _, v in sorted(branches.items())),
    )


def _pointer_to_path(root: str, path: Any) -> str:
    out = root
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class CoercionError(MocklineError, ValueError):
    """A parameter's text could not be read as the type its schema asks for. ``location`` names the form
    field, when the text was one (``body.maxRetries``)."""

    location = "body"


_INTEGER = re.compile(r"[+-]?[0-9]+")
_NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


def coerce(text: str | list[str], schema: Mapping[str, Any]) -> Any:
    """Read a path, query, header or form value as the type its schema declares."""
    kind = schema.get("type")
    if kind == "array":
        items = text if isinstance(text, list) else text.split(",")
        return [coerce(item, schema.get("items", {})) for item in items]
    if isinstance(text, list):
        text = text[-1]
    if kind == "integer":
        if not _INTEGER.fullmatch(text):  # int() also takes " 5", "1_0" and other scripts' digits
            raise CoercionError(f"must be an integer, not {text!r}")
        return _int(text, "an integer")
    if kind == "number":
        if not _NUMBER.fullmatch(text) or not math.isfinite(float(text)):
            raise CoercionError(f"must be a number, not {text!r}")
        return float(text) if any(c in text for c in ".eE") else _int(text, "a number")
    if kind == "boolean":
        lowered = text.lower()
        if lowered in {"true", "1"}:
            return True
        if lowered in {"false", "0"}:
            return False
        raise CoercionError(f"must be true or false, not {text!r}")
    return text


def _int(digits: str, kind: str) -> int:
    """Digits (and a sign) as an int: Python reads at most ``sys.get_int_max_str_digits()`` of them (4,300),
    and more are a bad value, not an error of the mock."""
    try:
        return int(digits)
    except ValueError:
        count = len(digits.lstrip("+-"))
        raise CoercionError(
            f"must be {kind} of at most {sys.get_int_max_str_digits()} digits, not one of {count}"
        ) from None
