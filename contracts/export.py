"""Our OpenAPI 3.0.3 specs, written out as OpenAPI 3.1 documents.

The 3.0.3 files stay the source (Connexion loads only 3.0); this derives a 3.1 document from one, for
tools that read 3.1 and render its top-level ``webhooks``:

- ``openapi: 3.1.0``;
- ``x-webhooks`` (our 3.0 spelling) becomes ``webhooks``; a callback Path Item marked
  ``x-webhook: NAME`` (events a subscription registers, such as ringme's agent events) moves to
  ``components/pathItems/NAME``, and the webhook ``NAME`` and every callback that was or referred to it
  point there (one Path Item, so its operationIds stay unique);
- schemas (those of ``x-webhooks`` too) become JSON Schema 2020-12: ``nullable: true`` becomes a ``null``
  type (and a ``null`` in its ``enum``), or, on a schema with no type, ``anyOf: [the schema, null]``; a
  schema's ``example`` becomes ``examples: [...]``, boolean ``exclusiveMinimum`` / ``exclusiveMaximum``
  become numbers (or go, with no ``minimum`` / ``maximum`` to make exclusive), ``format: binary`` becomes
  ``contentMediaType`` and ``format: byte`` ``contentEncoding: base64``. ``nullable`` beside a ``$ref``
  (which 3.0 says is ignored, as the mock ignores it) still adds the ``null`` alternative: the 3.1
  document takes a null the mock refuses.

Media-type and parameter ``example``/``examples`` keep their 3.0 form, which 3.1 shares.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from contracts.oas30 import child, resolve_pointer, unescape_token

VERSION = "3.1.0"
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SCHEMA_VALUES = ("items", "not", "additionalProperties", "contains", "propertyNames")
# Maps whose keys are names the author chose (a component, a callback, a header may be named ``example``);
# elsewhere ``example`` and ``examples`` hold data, not schemas.
_NAMED = frozenset({"schemas", "responses", "parameters", "requestBodies", "headers", "callbacks", "links"})
# Kept beside the ``anyOf`` a nullable schema with no type becomes: they describe the whole value.
_ANNOTATIONS = frozenset(
    {"description", "title", "examples", "default", "readOnly", "writeOnly", "deprecated"}
)


def to_openapi_31(document: Mapping[str, Any], callback_items: Sequence[str]) -> dict[str, Any]:
    """A 3.1 document saying what the 3.0 ``document`` says; the argument is left unchanged.
    ``callback_items``: the pointers of the callbacks' Path Items (``contracts.model.to_openapi_31``
    finds them with the contract model's walk; call that one)."""
    out: dict[str, Any] = copy.deepcopy(dict(document))
    out["openapi"] = VERSION
    webhooks: dict[str, Any] = dict(out.pop("x-webhooks", None) or {})
    for schema in [*_schemas(out), *(s for item in webhooks.values() for s in _schemas(item))]:
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
    callbacks = [(p, item) for p in pointers if isinstance(item := _through_refs(document, p), dict)]
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


def _through_refs(document: Mapping[str, Any], pointer: str) -> Any:
    """What ``pointer`` names, each ``$ref`` met on the way followed (a callback registered as
    ``{$ref: '#/components/callbacks/NAME'}`` has its Path Items there)."""
    node: Any = document
    for raw in pointer.split("/")[1:]:
        for _ in range(64):  # a chain of references is followed; a cycle stops here
            ref = node.get("$ref") if isinstance(node, Mapping) else None
            if not (isinstance(ref, str) and ref.startswith("#")):
                break
            node = resolve_pointer(document, ref[1:])
        node = child(node, unescape_token(raw))
    return node


def _schemas(node: Any, pointer: str = "") -> Iterator[dict[str, Any]]:
    """Every schema written in the document: components/schemas entries and each ``schema`` value."""
    if isinstance(node, dict):
        named = pointer.rpartition("/")[2] in _NAMED
        for key, value in node.items():
            if (key in {"example", "examples"} and not named) or str(key).startswith("x-"):
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
        elif isinstance(schema.get(bound), bool):  # false, or true with no limit to make exclusive
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
    # No type of its own (a oneOf, an allOf, a $ref...): either the schema as it is, or null. (A null
    # alternative added to a oneOf would fail where another alternative also takes null, and one added to
    # an anyOf where a sibling such as enum refuses it.)
    moved = {k: schema.pop(k) for k in list(schema) if k not in _ANNOTATIONS}
    schema["anyOf"] = [moved, {"type": "null"}]
