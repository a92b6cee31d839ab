"""Our OpenAPI 3.0.3 specs, written out as OpenAPI 3.1 documents.

The 3.0.3 files stay the source (Connexion loads only 3.0); this derives a 3.1 document from one, for
tools that read 3.1 and render its top-level ``webhooks``:

- ``openapi: 3.1.0``;
- ``x-webhooks`` (our 3.0 spelling) becomes ``webhooks``; a callback Path Item marked
  ``x-webhook: NAME`` (events a subscription registers, such as ringme's agent events) moves to
  ``components/pathItems/NAME``, and the webhook ``NAME`` and every callback that was or referred to it
  point there (one Path Item, so its operationIds stay unique);
- schemas become JSON Schema 2020-12: ``nullable: true`` becomes a ``null`` type (or a ``null``
  alternative), a schema's ``example`` becomes ``examples: [...]``, boolean ``exclusiveMinimum`` /
  ``exclusiveMaximum`` become numbers, ``format: binary`` becomes ``contentMediaType`` and
  ``format: byte`` ``contentEncoding: base64``.

Media-type and parameter ``example``/``examples`` keep their 3.0 form, which 3.1 shares.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from contracts.oas30 import resolve_pointer

VERSION = "3.1.0"
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SCHEMA_VALUES = ("items", "not", "additionalProperties", "contains", "propertyNames")


def to_openapi_31(document: Mapping[str, Any], callback_items: Sequence[str]) -> dict[str, Any]:
    """A 3.1 document saying what the 3.0 ``document`` says; the argument is left unchanged.
    ``callback_items``: the pointers of the callbacks' Path Items (``contracts.model.to_openapi_31``
    finds them with the contract model's walk; call that one)."""
    out: dict[str, Any] = copy.deepcopy(dict(document))
    out["openapi"] = VERSION
    webhooks: dict[str, Any] = dict(out.pop("x-webhooks", None) or {})
    for schema in _schemas(out):
        _convert(schema)
    shared = _share_marked_callbacks(out, callback_items)
    webhooks.update({name: {"$ref": ref} for name, ref in shared.items() if name not in webhooks})
    if webhooks:
        out["webhooks"] = webhooks
    return out


def _share_marked_callbacks(document: dict[str, Any], pointers: Sequence[str]) -> dict[str, str]:
    """Move each Path Item marked ``x-webhook: NAME`` to ``components/pathItems/NAME`` (a 3.1 place for
    it), and point every callback that is, or refers to, that Path Item there; NAME -> its reference."""
    refs: dict[str, str] = {}
    items = document.setdefault("components", {}).get("pathItems") or {}
    by_pointer: dict[str, str] = {}
    callbacks = [(p, item) for p in pointers if isinstance(item := resolve_pointer(document, p), dict)]
    for pointer, path_item in callbacks:
        name = path_item.get("x-webhook")
        if isinstance(name, str):
            items.setdefault(name, {k: v for k, v in path_item.items() if k != "x-webhook"})
            refs[name] = f"#/components/pathItems/{name}"
            by_pointer[pointer] = refs[name]
    for pointer, path_item in callbacks:
        target = by_pointer.get(pointer) or by_pointer.get(str(path_item.get("$ref", ""))[1:])
        if target:
            path_item.clear()
            path_item["$ref"] = target
    if items:
        document["components"]["pathItems"] = items
    elif not document["components"]:
        del document["components"]
    return refs


def _schemas(node: Any, pointer: str = "") -> Iterator[dict[str, Any]]:
    """Every schema written in the document: components/schemas entries and each ``schema`` value."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in {"example", "examples"} or str(key).startswith("x-"):
                continue
            where = f"{pointer}/{key}"
            if key == "schema" or pointer == "/components/schemas":
                if isinstance(value, dict):
                    yield value
            else:
                yield from _schemas(value, where)
    elif isinstance(node, list):
        for value in node:
            yield from _schemas(value, pointer)


def _convert(schema: dict[str, Any]) -> None:
    """Rewrite one 3.0 schema object, and those nested in it, as 2020-12 in place."""
    for key in _SCHEMA_LISTS:
        for part in schema.get(key) or []:
            if isinstance(part, dict):
                _convert(part)
    for key in _SCHEMA_VALUES:
        if isinstance(schema.get(key), dict):
            _convert(schema[key])
    for sub in (schema.get("properties") or {}).values():
        if isinstance(sub, dict):
            _convert(sub)
    if "example" in schema:
        schema["examples"] = [schema.pop("example")]
    for bound, limit in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if schema.get(bound) is True and limit in schema:
            schema[bound] = schema.pop(limit)
        elif schema.get(bound) is False:
            del schema[bound]
    if schema.get("format") == "binary":
        del schema["format"]
        schema["contentMediaType"] = "application/octet-stream"
    elif schema.get("format") == "byte":
        del schema["format"]
        schema["contentEncoding"] = "base64"
    if schema.pop("nullable", False) is True:
        _allow_null(schema)


def _allow_null(schema: dict[str, Any]) -> None:
    kind = schema.get("type")
    if isinstance(kind, str):
        schema["type"] = [kind, "null"]
        if "enum" in schema and None not in schema["enum"]:
            schema["enum"] = [*schema["enum"], None]
        return
    alternatives = schema.get("oneOf") or schema.get("anyOf")
    if alternatives is not None:
        alternatives.append({"type": "null"})
        return
    # No type of its own (e.g. an allOf): either the schema as it is, or null.
    moved = {k: schema.pop(k) for k in list(schema) if k not in {"description", "title", "examples"}}
    schema["anyOf"] = [moved, {"type": "null"}]
