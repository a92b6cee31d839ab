"""`mockline export SPEC --openapi 3.1`: a valid 3.1 document with real webhooks, its schemas JSON
Schema 2020-12 that still accept every documented example; the 3.0.3 source left as it was."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from openapi_spec_validator import OpenAPIV31SpecValidator

from contracts.loaders import load_spec, spec_names
from contracts.model import to_openapi_31
from mockserver.cli import main

METHODS = ("get", "put", "post", "delete", "patch")


@pytest.mark.parametrize("name", spec_names())
def test_every_spec_exports_to_a_valid_31_document(name: str) -> None:
    source = load_spec(name)
    exported = to_openapi_31(source)
    assert exported["openapi"] == "3.1.0"
    assert [e.message for e in OpenAPIV31SpecValidator(exported).iter_errors()] == []
    assert source == load_spec(name), "the 3.0.3 source must not change"


def test_ringotel_and_ringme_events_become_top_level_webhooks() -> None:
    ringotel = to_openapi_31(load_spec("ringotel-crm"))
    assert sorted(ringotel["webhooks"]) == ["StartCallActivity", "StopCallActivity"]
    assert "x-webhooks" not in ringotel
    ringme = to_openapi_31(load_spec("ringme"))
    shared = {"$ref": "#/components/pathItems/agentEvent"}
    assert ringme["webhooks"] == {"agentEvent": shared}
    event = ringme["components"]["pathItems"]["agentEvent"]
    assert {event["get"]["operationId"], event["post"]["operationId"]} == {
        "deliverAgentEventByGet",
        "deliverAgentEventByPost",
    }
    assert "x-webhook" not in json.dumps(ringme), "the export marker stays in the source"
    # The callbacks are still documented where the subscriptions register them, as the same Path Item.
    registering = [
        (path, method)
        for path, item in ringme["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and "agentEvent" in (op.get("callbacks") or {})
    ]
    assert len(registering) == 4
    for path, method in registering:
        assert ringme["paths"][path][method]["callbacks"]["agentEvent"] == {"{$request.body#/url}": shared}


def _schemas(node: Any, key: str = "") -> Iterator[Mapping[str, Any]]:
    if isinstance(node, Mapping):
        if key == "schema" or "type" in node or "properties" in node:
            yield node
        for k, v in node.items():
            if k not in {"example", "examples"} and not str(k).startswith("x-"):
                yield from _schemas(v, str(k))
    elif isinstance(node, list):
        for v in node:
            yield from _schemas(v, key)


@pytest.mark.parametrize("name", spec_names())
def test_no_30_only_keywords_remain_in_the_schemas(name: str) -> None:
    exported = to_openapi_31(load_spec(name))
    for schema in _schemas(exported):
        assert "nullable" not in schema, schema
        assert not isinstance(schema.get("exclusiveMinimum"), bool), schema
        assert schema.get("format") not in {"binary", "byte"}, schema


def test_nullable_fields_take_null_in_31() -> None:
    exported = to_openapi_31(load_spec("ringotel-crm"))
    call_end = exported["components"]["schemas"]["Activity"]["properties"]["call_end"]
    assert call_end["type"] == ["integer", "null"]


def _examples(document: Mapping[str, Any]) -> Iterator[tuple[str, Any, Any]]:
    """(where, schema, value) for every media-type example of every operation, callback and webhook."""
    items = [(f"paths {p}", i) for p, i in (document.get("paths") or {}).items()]
    items += [(f"webhooks {n}", i) for n, i in (document.get("webhooks") or {}).items() if "$ref" not in i]
    path_items = (document.get("components") or {}).get("pathItems") or {}
    items += [(f"pathItems {n}", i) for n, i in path_items.items()]
    while items:
        where, item = items.pop()
        for method in METHODS:
            op = item.get(method)
            if not op:
                continue
            for callback in (op.get("callbacks") or {}).values():
                items += [(f"{where} callback", i) for i in callback.values() if "$ref" not in i]
            bodies = [op.get("requestBody") or {}, *(op.get("responses") or {}).values()]
            for body in bodies:
                body = _deref(document, body)
                for media in (body.get("content") or {}).values():
                    for name, example in (media.get("examples") or {}).items():
                        example = _deref(document, example)
                        yield f"{where} {method} {name}", media.get("schema"), example["value"]


def _deref(document: Mapping[str, Any], node: Any) -> Any:
    while isinstance(node, Mapping) and "$ref" in node:
        for part in node["$ref"][2:].split("/"):
            document = document[part.replace("~1", "/").replace("~0", "~")]
        node = document
    return node


@pytest.mark.parametrize("name", spec_names())
def test_every_documented_example_fits_the_31_schemas(name: str) -> None:
    exported = to_openapi_31(load_spec(name))
    checked = 0
    for where, schema, value in _examples(exported):
        if schema is None:
            continue
        root = {"components": exported.get("components", {}), "allOf": [schema]}
        errors = [e.message for e in jsonschema.Draft202012Validator(root).iter_errors(value)]
        assert errors == [], where
        checked += 1
    assert checked > 0


def test_an_unconverted_nullable_would_fail_that_check() -> None:
    # Proof that the example check above can fail: the 3.0 form read as 2020-12 refuses a null.
    schema = {"type": "integer", "nullable": True}
    assert not jsonschema.Draft202012Validator(schema).is_valid(None)
    converted = to_openapi_31({"openapi": "3.0.3", "components": {"schemas": {"S": dict(schema)}}})
    assert jsonschema.Draft202012Validator(converted["components"]["schemas"]["S"]).is_valid(None)


def test_export_command_writes_yaml_or_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "ringme.yaml"
    assert main(["export", "ringme", "--openapi", "3.1", "-o", str(target)]) == 0
    written = yaml.safe_load(target.read_text(encoding="utf-8"))
    assert written["openapi"] == "3.1.0" and "agentEvent" in written["webhooks"]
    assert "*id" not in target.read_text(encoding="utf-8"), "no YAML aliases in the output"
    as_json = tmp_path / "ringotel.json"
    assert main(["export", "ringotel-crm", "--openapi", "3.1", "-o", str(as_json)]) == 0
    assert "StopCallActivity" in json.loads(as_json.read_text(encoding="utf-8"))["webhooks"]
    assert main(["export", "ryng", "--openapi", "3.1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("openapi: 3.1.0")
    # A YAML 1.2 reader (Redocly, Spectral) must not take a number-like string for a number.
    assert "virtualNum: '08047112233'" in out


def test_export_command_refuses_an_unknown_spec(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "nowhere", "--openapi", "3.1"]) == 2
    assert "no spec named 'nowhere'" in capsys.readouterr().err
