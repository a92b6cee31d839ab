"""OpenAPI 3.0 schemas turned into JSON Schema, compiled once, checked in microseconds.

OpenAPI 3.0 schema objects are a dialect of JSON Schema Draft 4: ``nullable`` instead of a null type,
``readOnly`` fields that a request must not be required to send, ``format: binary`` for uploaded files.
``to_json_schema`` rewrites a resolved schema into plain Draft 4, and ``compile_schema`` builds a
jsonschema-rs validator that also checks formats (``uri``, ``email``, ``date-time``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import jsonschema_rs

Direction = Literal["request", "response"]

_DROP = {"example", "examples", "discriminator", "xml", "externalDocs", "deprecated", "readOnly", "writeOnly"}
_BINARY_FORMATS = {"binary", "byte"}


def to_json_schema(schema: Any, direction: Direction = "request") -> Any:
    if isinstance(schema, list):
        return [to_json_schema(item, direction) for item in schema]
    if not isinstance(schema, Mapping):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _DROP or key == "nullable" or key.startswith("x-"):
            continue
        if key == "format" and value in _BINARY_FORMATS:
            continue
        if key == "properties":
            out[key] = {name: to_json_schema(sub, direction) for name, sub in value.items()}
        elif key in {"items", "additionalProperties", "not"} and isinstance(value, Mapping):
            out[key] = to_json_schema(value, direction)
        elif key in {"allOf", "oneOf", "anyOf"}:
            out[key] = [to_json_schema(sub, direction) for sub in value]
        else:
            out[key] = value
    if "required" in out and "properties" in schema:
        hidden = "readOnly" if direction == "request" else "writeOnly"
        required = [n for n in out["required"] if not schema["properties"].get(n, {}).get(hidden)]
        if required:
            out["required"] = required
        else:
            del out["required"]
    if schema.get("nullable"):
        out = _allow_null(out)
    return out


def _allow_null(schema: dict[str, Any]) -> dict[str, Any]:
    if "enum" in schema and None not in schema["enum"]:
        schema = {**schema, "enum": [*schema["enum"], None]}
    kind = schema.get("type")
    if isinstance(kind, str):
        return {**schema, "type": [kind, "null"]}
    if kind is None and any(k in schema for k in ("oneOf", "anyOf", "allOf")):
        return {"anyOf": [schema, {"type": "null"}]}
    return schema


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

    def is_valid(self, instance: Any) -> bool:
        return bool(self._validator.is_valid(instance))

    def problems(self, instance: Any, root: str = "body") -> list[Problem]:
        found = []
        for error in self._validator.iter_errors(instance):
            found.append(Problem(_pointer_to_path(root, error.instance_path), error.message))
        return sorted(found, key=lambda p: (p.location, p.message))


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
