"""What ``--spec`` assumes of a document that is not one of ours, and what it refuses."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml

from mockserver.anyspec import SpecError, load_foreign, parse_entry
from mockserver.app import create_app
from mockserver.schemas import CompiledSchema
from mockserver.settings import Credentials, Settings

MINIMAL: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "t", "version": "1"},
    "components": {"securitySchemes": {"cookieKey": {"type": "apiKey", "in": "cookie", "name": "sid"}}},
    "security": [{"cookieKey": []}],
    "paths": {
        "/things/{id}": {
            "get": {  # no operationId: a foreign spec may leave it out
                "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "responses": {
                    "200": {"description": "ok", "content": {"application/json": {"example": {"id": 1}}}}
                },
            }
        }
    },
}


def write(tmp_path: Path, name: str, document: Any) -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return str(path)


def get(app: Any, url: str, headers: dict[str, str] | None = None) -> httpx.Response:
    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mock") as c:
            return await c.get(url, headers=headers or {})

    return asyncio.run(go())


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("a.yaml", ("a.yaml", None)),
        ("a.yaml=/things", ("a.yaml", "/things")),
        ("a.yaml=things/", ("a.yaml", "/things")),
        ("a.yaml=", ("a.yaml", "")),
    ],
)
def test_an_entry_is_a_path_and_perhaps_a_prefix(entry: str, expected: tuple[str, str | None]) -> None:
    path, prefix = parse_entry(entry)
    assert (str(path), prefix) == expected


@pytest.mark.parametrize("entry", ["=/x", "a.yaml=/x y", "a.yaml=/x?y"])
def test_a_malformed_entry_is_refused(entry: str) -> None:
    with pytest.raises(SpecError, match="--spec"):
        parse_entry(entry)


def test_documents_that_cannot_be_served_are_refused_with_the_reason(tmp_path: Path) -> None:
    swagger = write(tmp_path, "old.yaml", {"swagger": "2.0", "info": {}, "paths": {}})
    with pytest.raises(SpecError, match=r"OpenAPI 3\.0 documents; this one is Swagger 2\.0"):
        load_foreign((swagger,), {})
    with pytest.raises(SpecError, match="no spec named"):
        load_foreign((str(tmp_path / "missing.yaml"),), {})
    ours = write(tmp_path, "ryng.yaml", MINIMAL)
    with pytest.raises(SpecError, match="one of mockline's own specs"):
        load_foreign((ours,), {})
    one, two = write(tmp_path, "one.yaml", MINIMAL), write(tmp_path, "two.yaml", MINIMAL)
    with pytest.raises(SpecError, match="the prefix '/' is one's"):
        load_foreign((one, two), {})
    with pytest.raises(SpecError, match="the prefix '/ryng' is ryng's"):
        load_foreign((f"{one}=/ryng",), {"/ryng": "ryng"})
    assert [(s.name, s.prefix) for s in load_foreign((one, f"{two}=/two"), {"/ryng": "ryng"})] == [
        ("one", ""),
        ("two", "/two"),
    ]


def test_an_invalid_document_or_a_dangling_ref_is_refused_with_where(tmp_path: Path) -> None:
    no_info = write(tmp_path, "bad.yaml", {"openapi": "3.0.3", "paths": {"/x": {"get": {"responses": {}}}}})
    with pytest.raises(SpecError, match=r"not a valid OpenAPI 3\.0 document") as caught:
        load_foreign((no_info,), {})
    assert '/: "info" is a required property' in str(caught.value)
    assert "/paths/~1x/get/responses: {} has less than 1 property" in str(caught.value)
    dangling = {
        **MINIMAL,
        "paths": {"/x": {"get": {"responses": {"200": {"$ref": "#/components/responses/No"}}}}},
    }
    with pytest.raises(SpecError, match="'/components/responses/No' does not resolve"):
        load_foreign((write(tmp_path, "dangling.yaml", dangling),), {})


def test_the_banner_says_any_key_is_taken(tmp_path: Path) -> None:
    from mockserver.cli import banner

    app = create_app(Settings(clock="manual", specs=(write(tmp_path, "things.yaml", MINIMAL) + "=/t",)))
    line = next(
        line for line in banner(app.runtime.settings, app.runtime.apis).splitlines() if "things" in line
    )
    assert "http://127.0.0.1:8000/t " in line and line.endswith("auth: any sid cookie")


def test_a_spec_without_operation_ids_is_served_and_any_cookie_key_is_taken(tmp_path: Path) -> None:
    app = create_app(Settings(clock="manual", specs=(write(tmp_path, "things.yaml", MINIMAL) + "=/t",)))
    assert sorted(app.runtime.apis["things"].operations) == ["GET /things/{id}"]
    assert get(app, "/t/things/3", {"cookie": "other=1; sid=whatever"}).json() == {"id": 1}
    refused = get(app, "/t/things/3")
    assert refused.status_code == 401 and "no sid cookie was sent" in refused.json()["detail"]
    assert get(app, "/t/things/x", {"cookie": "sid=1"}).status_code == 400


def test_configured_credentials_replace_the_open_door_and_unknown_names_are_refused(tmp_path: Path) -> None:
    spec = write(tmp_path, "things.yaml", MINIMAL)
    closed = create_app(
        Settings(clock="manual", specs=(spec,), credentials={"things": Credentials(api_keys=("k",))})
    )
    assert get(closed, "/things/1", {"cookie": "sid=nope"}).status_code == 401
    assert get(closed, "/things/1", {"cookie": "sid=k"}).status_code == 200
    with pytest.raises(SpecError, match="credentials for thnigs: no API of that name"):
        create_app(Settings(clock="manual", specs=(spec,), credentials={"thnigs": Credentials()}))


def test_uuid_is_a_checked_format() -> None:
    uuid = CompiledSchema({"type": "string", "format": "uuid"})
    assert uuid.problems("123e4567-e89b-12d3-a456-426614174000") == []
    assert [p.message for p in uuid.problems("123e4567-e89b-12d3-a456", "header.X-Id")] == [
        "must be a UUID, not '123e4567-e89b-12d3-a456'"
    ]


# ---- documents as real-world specs write them (tests/fixtures/specs/audit-*.yaml) ------------------------
# Each answer is judged by openapi-core, which reads the document on its own (schemas, formats, required
# response headers), or against values written out here; never by the mock's own validators.

SPECS = Path(__file__).resolve().parents[1] / "fixtures" / "specs"
FORMATS = jsonschema.Draft4Validator.FORMAT_CHECKER


def app_for(name: str, seed: int = 1) -> Any:
    return create_app(Settings(clock="manual", seed=seed, specs=(str(SPECS / name),)))


def call(app: Any, method: str, url: str, **kwargs: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mock") as c:
            return await c.request(method, url, **kwargs)

    return asyncio.run(go())


def judge(name: str) -> Any:
    """openapi-core's reading of the document, served at http://mock (its own ``servers`` left out)."""
    from openapi_core import Config, OpenAPI
    from openapi_core.deserializing.media_types.util import json_loads

    document = yaml.safe_load((SPECS / name).read_text(encoding="utf-8"))
    document["servers"] = [{"url": "http://mock"}]
    problems = Config(extra_media_type_deserializers={"application/problem+json": json_loads})
    return OpenAPI.from_dict(document, config=problems)


def assert_conforms(name: str, method: str, url: str, answer: httpx.Response) -> None:
    from openapi_core.testing import MockRequest, MockResponse

    path, _, query = url.partition("?")
    request = MockRequest("http://mock", method.lower(), path, args=dict(httpx.QueryParams(query)))
    content_type = answer.headers.get("content-type", "").split(";")[0] or None
    response = MockResponse(
        answer.content, status_code=answer.status_code, content_type=content_type, headers=answer.headers
    )
    judge(name).validate_response(request, response)  # raises, naming what does not conform


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_recursive_schema_is_served_and_its_answers_generated(seed: int) -> None:
    app = app_for("audit-recursive.yaml", seed)  # failed to start: a $ref left in a cycle
    for url in ("/tree", "/chain"):
        answer = call(app, "GET", url)
        assert answer.status_code == 200, answer.text
        assert_conforms("audit-recursive.yaml", "GET", url, answer)
    nested = {"value": 1, "next": {"value": 2, "next": {"value": 3, "next": {"value": 4}}}}
    assert call(app, "POST", "/chain", json=nested).status_code == 201
    deep_wrong = {"value": 1, "next": {"value": 2, "next": {"value": "three"}}}
    refused = call(app, "POST", "/chain", json=deep_wrong)
    assert refused.status_code == 400
    assert refused.json()["detail"] == "next.next.value must be an integer, not 'three'"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_ecma_patterns_python_reads_otherwise_are_served(seed: int) -> None:
    # (?<year>...) and \p{L} are ECMA-262, as OpenAPI says patterns are: the document is valid
    app = app_for("audit-ecma-regex.yaml", seed)  # was refused: "... is not a 'regex'"
    taken = call(app, "POST", "/months", json={"month": "2024-05", "word": "Ünïcödé"})
    assert taken.status_code == 200, taken.text
    assert re.fullmatch(r"[0-9]{4}-[0-9]{2}", taken.json()["month"])  # the pattern, written out
    short = call(app, "POST", "/months", json={"month": "2024-5"})
    assert short.status_code == 400 and "month must match the pattern" in short.json()["detail"]
    digits = call(app, "POST", "/months", json={"month": "2024-05", "word": "abc1"})
    assert digits.status_code == 400 and "word must match the pattern" in digits.json()["detail"]


def test_a_pattern_that_is_not_ecma_is_refused_at_start_with_where_it_is(tmp_path: Path) -> None:
    python_only = {
        **MINIMAL,
        "paths": {
            "/x": {
                "get": {
                    "parameters": [
                        {"name": "q", "in": "query", "schema": {"type": "string", "pattern": "(?P<n>a)"}}
                    ],
                    "responses": {"204": {"description": "ok"}},
                }
            }
        },
    }
    with pytest.raises(SpecError) as caught:  # was jsonschema-rs's own error, naming no place
        load_foreign((write(tmp_path, "py.yaml", python_only),), {})
    assert (
        "is not a valid OpenAPI 3.0 document: /paths/~1x/get/parameters/0/schema/pattern: '(?P<n>a)' is not"
        " an ECMA-262 regular expression (as OpenAPI patterns are)"
    ) in str(caught.value)


def test_a_pattern_key_in_data_is_not_read_as_a_pattern(tmp_path: Path) -> None:
    # a default, an enum value and an example are data: a "pattern" key in them is no regular expression
    data = {"pattern": "(?P<n>a)"}
    schema = {
        "type": "object",
        "default": data,
        "enum": [data],
        "example": data,
        "properties": {"pattern": {"type": "string", "pattern": "^[a-z]+$"}},  # a property named so
    }
    document = {
        **MINIMAL,
        "paths": {
            "/x": {
                "post": {
                    "requestBody": {"content": {"application/json": {"schema": schema}}},
                    "responses": {"204": {"description": "ok"}},
                }
            }
        },
    }
    load_foreign((write(tmp_path, "data.yaml", document),), {})  # was refused: "(?P<n>a)" not ECMA-262
    document["paths"]["/x"]["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"][
        "pattern"
    ]["pattern"] = "(?P<n>a)"
    with pytest.raises(SpecError, match="properties/pattern/pattern: '\\(\\?P<n>a\\)' is not an ECMA-262"):
        load_foreign((write(tmp_path, "data2.yaml", document),), {})


def test_bodies_that_are_not_json_and_answers_with_only_default_or_headers() -> None:
    app = app_for("audit-bodies.yaml")
    anything = call(app, "GET", "/anything")  # only `default` documented: was a 500
    assert anything.status_code == 200, anything.text
    assert_conforms("audit-bodies.yaml", "GET", "/anything", anything)
    blob = call(
        app,
        "PUT",
        "/blobs",
        content=b"\x89PNG\x00\x01\xff",
        headers={"content-type": "application/octet-stream"},
    )
    assert blob.status_code == 204, blob.text  # was a 500: bytes given to the JSON validator
    octets = {"content-type": "application/octet-stream"}
    assert call(app, "PUT", "/blobs", content=b"", headers=octets).status_code == 204  # no bytes: a file
    empty_note = call(app, "POST", "/notes", content=b"", headers={"content-type": "text/plain"})
    assert (empty_note.status_code, empty_note.json()["detail"]) == (400, "the body must not be empty")
    assert call(app, "PUT", "/blobs").json()["detail"] == "the body is required"
    note = call(app, "POST", "/notes", content=b"hello", headers={"content-type": "text/plain"})
    assert note.status_code == 201
    assert_conforms("audit-bodies.yaml", "POST", "/notes", note)  # Location is a required header
    assert jsonschema.Draft4Validator({"type": "string", "format": "uri"}, format_checker=FORMATS).is_valid(
        note.headers["location"]
    )
    assert int(note.headers["x-rate-remaining"]) >= 0


@pytest.mark.parametrize(
    ("media", "body", "detail"),
    [
        ("form", {"user": "bob", "remember": "maybe"}, "remember must be true or false, not 'maybe'"),
        ("multipart", {"title": "hi", "pages": "many"}, "pages must be an integer, not 'many'"),
    ],
)
def test_a_form_field_of_the_wrong_type_is_named(media: str, body: dict[str, str], detail: str) -> None:
    app = app_for("audit-bodies.yaml")
    if media == "form":
        refused = call(app, "POST", "/login", data=body)
    else:
        refused = call(app, "POST", "/uploads", data=body, files={"file": ("a.bin", b"\x00\x01")})
    assert refused.status_code == 400
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["detail"] == detail  # was "the body is not valid ...: must be ...", no field


TRACE = {"X-Trace": "123e4567-e89b-12d3-a456-426614174000"}


@pytest.mark.parametrize(
    ("query", "status", "detail"),
    [
        ("limit=5&tags=red,green", 200, None),  # style form, explode false: one value, comma-separated
        ("limit=5&tags=blue", 200, None),
        (
            "limit=5&tags=red,purple",
            400,
            "query parameter tags[1] must be one of red, green, blue, not 'purple'",
        ),
        ("limit=5&tags=red,green,blue", 400, "query parameter tags must list at most 2 items"),
        ("limit=5&ids=1&ids=2", 200, None),  # style form, explode true (the default): repeated
        ("limit=5&filter%5Bowner%5D=bob&filter%5BminAge%5D=3", 200, None),  # deepObject
        ("limit=5&filter%5BminAge%5D=-3", 400, "query parameter filter.minAge must be at least 0, not -3"),
        (
            "limit=5&filter%5BminAge%5D=old",
            400,
            "query parameter filter.minAge must be an integer, not 'old'",
        ),
        (
            "limit=5&filter%5Bbogus%5D=1",
            400,
            "query parameter filter.bogus is not a known field (use one of owner, minAge)",
        ),
        ("limit=%205", 400, "query parameter limit must be an integer, not ' 5'"),
        ("limit=1_0", 400, "query parameter limit must be an integer, not '1_0'"),
        ("limit=5&where=owner,bob", 200, None),  # style form, explode false: names and values, joined
        ("limit=5&where=owner,bob,role,admin", 200, None),
        ("limit=5&where=", 200, None),  # an empty object
        (  # was 200: role dropped
            "limit=5&where=owner,bob,role",
            400,
            "query parameter where must be names and values in pairs (name,value,...), not 'owner,bob,role'",
        ),
        (  # was 200: counted as not sent
            "limit=5&where=owner",
            400,
            "query parameter where must be names and values in pairs (name,value,...), not 'owner'",
        ),
        ("limit=5&where=role,boss", 400, "query parameter where.role must be one of admin, user, not 'boss'"),
    ],
)
def test_query_parameters_are_read_in_their_style(query: str, status: int, detail: str | None) -> None:
    answer = call(app_for("audit-parameters.yaml"), "GET", f"/search?{query}", headers=TRACE)
    assert (answer.status_code, answer.json().get("detail")) == (status, detail)


GENERATED = [
    ("audit-composition.yaml", "GET", "/pets", None),
    ("audit-composition.yaml", "GET", "/labels", None),
    ("audit-composition.yaml", "GET", "/shapes", None),
    (
        "audit-composition.yaml",
        "POST",
        "/pets",
        {"kind": "dog", "name": "Rex", "goodBoy": True, "size": None},
    ),
    ("audit-composition.yaml", "POST", "/accounts", {"login": "bob1", "password": "secret123"}),
    ("audit-bounds.yaml", "GET", "/numbers", None),
    ("audit-bounds.yaml", "GET", "/regex", None),
    ("audit-parameters.yaml", "GET", "/users/123e4567-e89b-12d3-a456-426614174000", None),
    ("audit-parameters.yaml", "GET", "/codes/ABC-1234", None),
    ("audit-parameters.yaml", "GET", "/orders/9223372036854775807", None),
]


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
@pytest.mark.parametrize(("spec", "method", "url", "body"), GENERATED)
def test_generated_answers_conform_to_the_document(
    spec: str, method: str, url: str, body: Any, seed: int
) -> None:
    answer = call(app_for(spec, seed), method, url, json=body)
    assert 200 <= answer.status_code < 300, answer.text
    assert_conforms(spec, method, url, answer)


def test_generated_answers_keep_what_openapi_core_does_not_check() -> None:
    # the discriminator names the branch generated; a writeOnly field is never answered
    for seed in range(1, 6):
        pets = call(app_for("audit-composition.yaml", seed), "GET", "/pets").json()
        assert all(pet["kind"] == ("cat" if "indoor" in pet else "dog") for pet in pets)
        account = call(
            app_for("audit-composition.yaml", seed),
            "POST",
            "/accounts",
            json={"login": "bob1", "password": "p4ssw0rd"},
        ).json()
        assert "password" not in account and set(account) == {"id", "login", "createdAt"}


# ---- what the reviewer found in today's changes ------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "detail"),
    [  # Python's int() refuses text of more than 4,300 digits: was a 500 (a ValueError, not a CoercionError)
        ("at=" + "1" * 5000, "query parameter at must be an integer of at most 4300 digits, not one of 5000"),
        (
            "at=-" + "1" * 5000,
            "query parameter at must be an integer of at most 4300 digits, not one of 5000",
        ),
        (
            "ratio=" + "0" * 5000 + "1",
            "query parameter ratio must be a number of at most 4300 digits, not one of 5001",
        ),
    ],
)
def test_a_number_too_long_to_read_is_a_bad_request_naming_the_parameter(query: str, detail: str) -> None:
    answer = call(app_for("audit-bounds.yaml"), "GET", f"/bounded?{query}")
    assert (answer.status_code, answer.json()["detail"]) == (400, detail)
    assert call(app_for("audit-bounds.yaml"), "GET", "/bounded?at=" + "1" * 4300).status_code == 400  # > max
    assert call(app_for("audit-bounds.yaml"), "GET", "/bounded?at=" + "0" * 4299 + "7").status_code == 204


@pytest.mark.parametrize("code", ["42", "0", "abc", "999", "600", "99", "4_04", "+404", "2e2", ""])
def test_a_prefer_code_that_is_no_http_status_is_refused(code: str) -> None:
    # GET /anything documents only `default`, which answered these (HTTP status 42, 999; 200 for 0 and abc)
    answer = call(app_for("audit-bodies.yaml"), "GET", "/anything", headers={"Prefer": f"code={code}"})
    assert answer.status_code == 400, answer.text
    assert answer.json()["detail"] == (
        f"Prefer: code={code} is not an HTTP status (a number from 100 to 599)"
    )


def test_default_answers_a_prefer_code_it_covers_as_the_document_says() -> None:
    # OpenAPI: `default` documents every status the operation does not list. It answers 200-599 from its own
    # content (not the problem-details error shape, which the document does not state); a 1xx is no answer.
    app = app_for("audit-bodies.yaml")
    for code in (201, 404, 503):
        answer = call(app, "GET", "/anything", headers={"Prefer": f"code={code}"})
        assert answer.status_code == code, answer.text
        assert set(answer.json()) == {"ok"} and isinstance(answer.json()["ok"], bool)
        assert_conforms("audit-bodies.yaml", "GET", "/anything", answer)
    no_content = call(app, "GET", "/anything", headers={"Prefer": "code=204"})
    assert (no_content.status_code, no_content.content) == (204, b"")  # a 204 carries no body
    informational = call(app, "GET", "/anything", headers={"Prefer": "code=101"})
    assert informational.status_code == 400
    assert informational.json()["detail"] == (
        "Prefer: code=101 is not a documented response of anything; documented: default (200-599)"
    )
    listed = call(app, "GET", "/receipts", headers={"Prefer": "code=500"})  # no default: refused as before
    assert listed.status_code == 400
    assert listed.json()["detail"] == (
        "Prefer: code=500 is not a documented response of getReceipt; documented: 200, 404, 429"
    )


def test_a_large_body_is_checked_in_steps_against_a_recursive_schema() -> None:
    # over 1 MiB, longest array over 5,000 items: its items are checked apart, by a schema that keeps a $ref
    # below its first copy of Node (was a 500: "Pointer '/components/schemas/Node' does not exist")
    app = app_for("audit-recursive.yaml")
    children: list[dict[str, Any]] = [
        {"name": f"child-{i:05}-" + "x" * 180, "children": [{"name": "leaf", "children": []}]}
        for i in range(6000)
    ]
    tree = {"name": "root", "children": children}
    body = json.dumps(tree).encode()
    assert len(body) > 1024 * 1024
    stored = call(app, "POST", "/tree", content=body, headers={"content-type": "application/json"})
    assert stored.status_code == 204, stored.text
    children[5500]["children"][0]["children"] = [{"name": 5}]
    children[7]["children"][0]["children"] = [{"children": []}]
    wrong = json.dumps(tree).encode()
    refused = call(app, "POST", "/tree", content=wrong, headers={"content-type": "application/json"})
    assert refused.status_code == 400, refused.text
    assert refused.json()["detail"] == (
        "children[5500].children[0].children[0].name must be a string, not 5;"
        " children[7].children[0].children[0].name is required"
    )


def test_an_array_query_parameter_knows_its_delimiter_from_compile_time() -> None:
    from contracts import model
    from mockserver.operations import compile_api

    document = yaml.safe_load((SPECS / "audit-parameters.yaml").read_text(encoding="utf-8"))
    for name, style, explode in [("a", "form", None), ("b", "form", False), ("c", "spaceDelimited", False)]:
        param: dict[str, Any] = {"name": name, "in": "query", "style": style, "schema": {"type": "array"}}
        if explode is not None:
            param["explode"] = explode
        document["paths"]["/search"]["get"]["parameters"].append(param)
    document["paths"]["/search"]["get"]["parameters"].append(
        {"name": "d", "in": "query", "style": "pipeDelimited", "explode": False, "schema": {"type": "array"}}
    )
    api = compile_api(model.from_document("parameters", document))
    by_name = {p.name: p for p in api.operations["search"].parameters}
    assert [by_name[n].delimiter for n in "abcd"] == [None, ",", " ", "|"]
    assert [by_name[n].delimiter for n in ("tags", "ids")] == [",", None]
    assert "delimiter" in vars(by_name["tags"])  # worked out once, then kept


def test_answers_from_examples_and_errors_send_the_headers_their_response_declares() -> None:
    # X-Request-Id and ETag are required headers: Prefer: example=, code= with example=, and an error status
    # answered with or without its example were sent without them
    app = app_for("audit-bodies.yaml")
    cases = [
        ({"Prefer": "example=large"}, 200),
        ({"Prefer": "code=200, example=small"}, 200),
        ({"Prefer": "code=404"}, 404),
        ({"Prefer": "code=429"}, 429),
        ({}, 200),
    ]
    for headers, status in cases:
        answer = call(app, "GET", "/receipts", headers=headers)
        assert answer.status_code == status, answer.text
        assert_conforms("audit-bodies.yaml", "GET", "/receipts", answer)
        assert str(uuid.UUID(answer.headers["x-request-id"])) == answer.headers["x-request-id"]
        if status == 200:
            assert answer.headers["etag"] == '"r1"'
    assert call(app, "GET", "/receipts", headers={"Prefer": "example=large"}).json() == {"total": 1000}
    assert call(app, "GET", "/receipts", headers={"Prefer": "code=429"}).headers["retry-after"] == "60"


def test_a_spec_served_at_the_root_leaves_the_dashboard_its_paths_unless_it_has_them(tmp_path: Path) -> None:
    # At the root (no =PREFIX) the API claimed every path: the dashboard answered 404 in the API's shape.
    rooted = {**MINIMAL, "security": []}
    app = create_app(Settings(clock="manual", specs=(write(tmp_path, "things.yaml", rooted),)))
    assert get(app, "/things/1").json() == {"id": 1}  # the API's own paths are its
    for page in ("/", "/dashboard/calls", "/favicon.ico"):
        answer = get(app, page)
        assert answer.status_code == 200 and "problem" not in answer.headers["content-type"], page
    assert get(app, "/nothing").status_code == 404  # and what neither has is the API's 404
    home = {
        "get": {"responses": {"200": {"description": "ok", "content": {"text/plain": {"example": "hi"}}}}}
    }
    owning = {**rooted, "paths": {**rooted["paths"], "/": home}}
    app = create_app(Settings(clock="manual", specs=(write(tmp_path, "home.yaml", owning),)))
    assert get(app, "/").text == "hi"  # a path the API documents stays the API's
    assert get(app, "/dashboard/calls").status_code == 200
