"""OpenAPI 3.0 schema objects as plain JSON Schema Draft 4, and JSON pointers.

OpenAPI 3.0 schemas are a dialect of Draft 4: ``nullable`` instead of a null type, ``readOnly`` fields a
request need not send, ``format: binary`` for uploaded files, and keywords (``example``, ``x-*``) that JSON
Schema does not know. Both the mock (to validate requests) and the contract checks (to validate examples
and responses) convert with ``to_json_schema``, so the two can never disagree on what a schema means. ``format: byte``
(base64) stays in the schema and is checked by ``EXTRA_FORMATS`` / ``FORMAT_CHECKER``.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

import jsonschema

from contracts.errors import ContractsError

Direction = Literal["request", "response"]

_DROP = {"example", "examples", "discriminator", "xml", "externalDocs", "deprecated", "readOnly", "writeOnly"}
_BINARY_FORMATS = {"binary"}  # raw bytes: any content is valid, so nothing to check
# OpenAPI's integer formats are ranges; JSON Schema validators ignore them unless told.
_INTEGER_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


def is_base64(value: object) -> bool:
    """``format: byte``: base64 as RFC 4648 writes it (standard alphabet, padded, no line breaks).
    A value that is not a string is left to the ``type`` keyword, as JSON Schema does for formats."""
    if not isinstance(value, str):
        return True
    try:
        base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return False
    return True


_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def is_uuid(value: object) -> bool:
    """``format: uuid`` (not a Draft 4 format): the 8-4-4-4-12 hex form, as RFC 9562 writes it."""
    return not isinstance(value, str) or _UUID.fullmatch(value) is not None


# Formats OpenAPI defines (``byte``) or specs use (``uuid``) that Draft 4 does not check; integer formats
# become bounds in to_json_schema.
EXTRA_FORMATS: dict[str, Callable[[str], bool]] = {"byte": is_base64, "uuid": is_uuid}


def _format_checker() -> jsonschema.FormatChecker:
    checker = jsonschema.FormatChecker(formats=())
    checker.checkers = dict(jsonschema.Draft7Validator.FORMAT_CHECKER.checkers)
    for name, check in EXTRA_FORMATS.items():
        checker.checks(name)(check)
    return checker


# JSON Schema's formats (uri, email, date-time, ...) and OpenAPI's own: every pure-Python validator of a
# request or example uses this one, so none of them can disagree on what a format allows.
FORMAT_CHECKER = _format_checker()


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
    if out.get("type") == "integer" and schema.get("format") in _INTEGER_RANGES:
        low, high = _INTEGER_RANGES[schema["format"]]
        out["minimum"] = max(out.get("minimum", low), low)
        out["maximum"] = min(out.get("maximum", high), high)
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


class UnresolvableRef(ContractsError, LookupError):
    """A ``$ref`` or a pointer names nothing in its document (``$ref``s are resolved by contracts.model)."""


def escape_token(token: object) -> str:
    """RFC 6901: one reference token as a pointer writes it (``~`` as ``~0``, ``/`` as ``~1``)."""
    return str(token).replace("~", "~0").replace("/", "~1")


def unescape_token(token: str) -> str:
    """RFC 6901: the key or index a pointer's reference token names (``~1`` is ``/``, ``~0`` is ``~``)."""
    return token.replace("~1", "/").replace("~0", "~")


def pointer_to(tokens: Iterable[object]) -> str:
    """RFC 6901: the pointer to the node reached by ``tokens`` from the root (``("paths", "/users")`` is
    ``/paths/~1users``)."""
    return "".join("/" + escape_token(token) for token in tokens)


def child(node: Any, token: str) -> Any:
    """One step of a pointer: the member ``token`` of an object, or the item at index ``token`` of an
    array; raises ``UnresolvableRef`` where there is none."""
    if isinstance(node, Mapping):
        if token in node:
            return node[token]
    elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
        return node[int(token)]
    raise UnresolvableRef(f"no {token!r} there")


def resolve_pointer(document: Any, pointer: str) -> Any:
    """RFC 6901: ``/paths/~1users/get`` in ``document``; raises ``UnresolvableRef`` naming the first missing step."""
    node = document
    if pointer in {"", "/"}:
        return node
    for raw in pointer.lstrip("/").split("/"):
        try:
            node = child(node, unescape_token(raw))
        except UnresolvableRef as exc:
            raise UnresolvableRef(f"{pointer!r} does not resolve: {exc}") from None
    return node
