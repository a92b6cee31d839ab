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
from contracts.model import ECMADraft4Validator, resolve, to_json_schema_within, to_openapi_31
from mockserver.anyspec import SpecError, load_foreign
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


# ---- foreign documents (``serve --spec``): what the export must also get right ------------------------

FIXTURES = Path(__file__).parents[1] / "fixtures" / "specs"


def _document(**parts: Any) -> dict[str, Any]:
    return {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {}, **parts}


def _accepts_alike(
    source: Mapping[str, Any], exported: Mapping[str, Any], name: str, values: list[Any]
) -> None:
    """The component schema ``name`` takes and refuses each value in 2020-12 as its 3.0 form does (read
    as Draft 4 by ``to_json_schema``, which the server validates with)."""
    before = ECMADraft4Validator(to_json_schema_within(resolve(source)["components"]["schemas"][name], None))
    after = jsonschema.Draft202012Validator(
        {"components": exported["components"], "$ref": f"#/components/schemas/{name}"}
    )
    for value in values:
        assert before.is_valid(value) == after.is_valid(value), (name, value)


def test_a_callback_given_by_reference_exports(tmp_path: Path) -> None:
    target = tmp_path / "out.yaml"
    assert (
        main(["export", str(FIXTURES / "callback-component-ref.yaml"), "--openapi", "3.1", "-o", str(target)])
        == 0
    )
    written = yaml.safe_load(target.read_text(encoding="utf-8"))
    assert [e.message for e in OpenAPIV31SpecValidator(written).iter_errors()] == []
    callbacks = written["paths"]["/subscriptions"]["post"]["callbacks"]
    assert callbacks == {"event": {"$ref": "#/components/callbacks/event"}}


def test_a_marked_callback_given_by_reference_becomes_the_webhook() -> None:
    item = {
        "x-webhook": "event",
        "post": {"operationId": "deliver", "responses": {"200": {"description": "ok"}}},
    }
    operation = {
        "operationId": "subscribe",
        "responses": {"201": {"description": "ok"}},
        "callbacks": {"event": {"$ref": "#/components/callbacks/event"}},
    }
    source = _document(
        paths={"/subscriptions": {"post": operation}},
        components={"callbacks": {"event": {"{$request.body#/url}": item}}},
    )
    exported = to_openapi_31(source)
    assert [e.message for e in OpenAPIV31SpecValidator(exported).iter_errors()] == []
    assert exported["webhooks"] == {"event": {"$ref": "#/components/pathItems/event"}}
    assert exported["components"]["pathItems"]["event"]["post"]["operationId"] == "deliver"
    shared = {"$ref": "#/components/pathItems/event"}
    assert exported["components"]["callbacks"]["event"] == {"{$request.body#/url}": shared}


def test_ecma_patterns_python_reads_otherwise_are_exported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # (?<year>...) is ECMA-262, as 3.1's JSON Schema (like 3.0) says patterns are; the 3.1 validator reads
    # patterns with Python's re, which refuses it.
    target = tmp_path / "out.yaml"
    assert (
        main(["export", str(FIXTURES / "audit-ecma-regex.yaml"), "--openapi", "3.1", "-o", str(target)]) == 0
    )
    assert "(?<year>" in target.read_text(encoding="utf-8")
    # A pattern that is no ECMA-262 regular expression is still refused.
    broken = tmp_path / "broken.yaml"
    schema = {"type": "string", "pattern": "(?P<x>a)["}
    broken.write_text(json.dumps(_document(components={"schemas": {"S": schema}})), encoding="utf-8")
    assert main(["export", str(broken), "--openapi", "3.1"]) == 1
    assert capsys.readouterr().err == (
        "mockline export: not valid OpenAPI 3.1: /components/schemas/S/pattern: '(?P<x>a)[' is not an"
        " ECMA-262 regular expression (as OpenAPI patterns are)\n"
    )


# serve --spec and export judge a document's patterns with one walk (``contracts.patterns.in_document``):
# each ``pattern`` of a schema and each ``patternProperties`` key, never a value that is data.
PYTHON_ONLY = {"type": "string", "pattern": "(?P<n>a)"}  # Python's named group: no ECMA-262 pattern
DATA = {"type": "string", "pattern": "(?P<n>a)["}  # a value shaped like a schema, in a default or example


def _with_query_schema(schema: dict[str, Any], **parameter: Any) -> dict[str, Any]:
    query = {"name": "q", "in": "query", "schema": schema, **parameter}
    operation = {"parameters": [query], "responses": {"204": {"description": "ok"}}}
    return _document(paths={"/x": {"get": operation}})


def _with_body_schema(schema: dict[str, Any], **media: Any) -> dict[str, Any]:
    content = {"application/json": {"schema": schema, **media}}
    operation = {"requestBody": {"content": content}, "responses": {"204": {"description": "ok"}}}
    return _document(paths={"/x": {"post": operation}})


def _exported(
    tmp_path: Path, document: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    source = tmp_path / "source.yaml"
    source.write_text(yaml.safe_dump(document), encoding="utf-8")
    code = main(["export", str(source), "--openapi", "3.1", "-o", str(tmp_path / "out.yaml")])
    return code, capsys.readouterr().err


def _served(tmp_path: Path, document: dict[str, Any]) -> str:
    """Empty when ``serve --spec`` takes the document, else why not."""
    source = tmp_path / "served.yaml"
    source.write_text(yaml.safe_dump(document), encoding="utf-8")
    try:
        load_foreign((str(source),), {})
    except SpecError as exc:
        return str(exc)
    return ""


@pytest.mark.parametrize(
    ("document", "where"),
    [
        (_with_query_schema(PYTHON_ONLY), "/paths/~1x/get/parameters/0/schema/pattern"),
        (
            _document(
                components={"schemas": {"M": {"type": "object", "patternProperties": {"(?P<n>a)": {}}}}}
            ),
            "/components/schemas/M/patternProperties/(?P<n>a)",
        ),
        (
            _document(
                paths={
                    "/x": {
                        "get": {
                            "responses": {
                                "default": {
                                    "description": "any",
                                    "content": {"application/json": {"schema": PYTHON_ONLY}},
                                }
                            }
                        }
                    }
                }
            ),
            "/paths/~1x/get/responses/default/content/application~1json/schema/pattern",
        ),
    ],
)
def test_export_refuses_a_pattern_that_is_not_ecma_naming_where_it_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], document: dict[str, Any], where: str
) -> None:
    # Python's re reads (?P<n>a), so the 3.1 validator took it; the mock's validator (ECMA-262) does not
    code, err = _exported(tmp_path, document, capsys)
    assert code == 1
    assert err == (
        f"mockline export: not valid OpenAPI 3.1: {where}: '(?P<n>a)' is not an ECMA-262 regular expression"
        " (as OpenAPI patterns are)\n"
    )
    assert not (tmp_path / "out.yaml").exists()


@pytest.mark.parametrize(
    "document",
    [
        _with_query_schema({"type": "string", "pattern": r"^(?<year>\d{4})$"}),
        _with_query_schema({"type": "string", "pattern": r"\p{L}+"}),
        _document(components={"schemas": {"M": {"type": "object", "patternProperties": {r"^\p{L}+$": {}}}}}),
        _with_query_schema({"type": "string", "default": "a", "example": "a"}, example=DATA),
        _with_body_schema({"type": "object", "default": DATA, "example": DATA}, example=DATA),
        _with_body_schema({"type": "object"}, examples={"one": {"value": DATA}}),
    ],
    ids=["named group", "letter class", "patternProperties", "parameter example", "schema data", "examples"],
)
def test_ecma_patterns_are_taken_and_data_is_not_read_as_a_pattern_by_export_and_serve(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], document: dict[str, Any]
) -> None:
    code, err = _exported(tmp_path, document, capsys)
    assert (code, err) == (0, "")
    if "patternProperties" not in str(document):  # OpenAPI 3.0 has no patternProperties: serve refuses it
        assert _served(tmp_path, document) == ""


@pytest.mark.parametrize(
    "document",
    [
        _with_query_schema(PYTHON_ONLY),
        _with_body_schema({"type": "object", "properties": {"example": PYTHON_ONLY}}),
        _document(components={"schemas": {"default": PYTHON_ONLY}}),
    ],
    ids=["parameter", "a property named example", "a component named default"],
)
def test_serve_and_export_name_the_same_pattern(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], document: dict[str, Any]
) -> None:
    code, err = _exported(tmp_path, document, capsys)
    assert code == 1
    finding = err.removeprefix("mockline export: not valid OpenAPI 3.1: ").rstrip("\n")
    assert finding.endswith("'(?P<n>a)' is not an ECMA-262 regular expression (as OpenAPI patterns are)")
    assert f"is not a valid OpenAPI 3.0 document: {finding}" in _served(tmp_path, document)


def test_inline_schemas_of_x_webhooks_become_2020_12() -> None:
    body = {"type": "object", "properties": {"a": {"type": "integer", "nullable": True, "example": 3}}}
    hook = {
        "post": {
            "requestBody": {"content": {"application/json": {"schema": body}}},
            "responses": {"200": {"description": "ok"}},
        }
    }
    exported = to_openapi_31(_document(**{"x-webhooks": {"event": hook}}))
    schema = exported["webhooks"]["event"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert jsonschema.Draft202012Validator(schema).is_valid({"a": None})
    assert schema["properties"]["a"] == {"type": ["integer", "null"], "examples": [3]}


def test_a_boolean_exclusive_bound_without_its_limit_says_nothing() -> None:
    source = _document(
        components={"schemas": {"B": {"type": "integer", "exclusiveMinimum": True, "exclusiveMaximum": True}}}
    )
    exported = to_openapi_31(source)
    assert [e.message for e in OpenAPIV31SpecValidator(exported).iter_errors()] == []
    _accepts_alike(source, exported, "B", [0, 1, -1, 2, "x"])


def test_a_component_schema_named_example_is_converted() -> None:
    schemas = {
        "example": {"type": "string", "nullable": True},
        "examples": {"type": "integer", "nullable": True},
    }
    source = _document(components={"schemas": schemas})
    exported = to_openapi_31(source)
    for name in schemas:
        _accepts_alike(source, exported, name, [None, "x", 1])


def test_a_nullable_one_of_takes_null_even_when_a_branch_does() -> None:
    schemas = {
        "Maybe": {"oneOf": [{"type": "string", "nullable": True}, {"type": "integer"}], "nullable": True},
        "Listed": {"anyOf": [{"type": "string"}], "enum": ["a", "b"], "nullable": True},
    }
    source = _document(components={"schemas": schemas})
    exported = to_openapi_31(source)
    for name in schemas:
        _accepts_alike(source, exported, name, [None, "a", "c", 1, 1.5])
