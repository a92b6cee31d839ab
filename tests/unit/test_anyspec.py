"""What ``--spec`` assumes of a document that is not one of ours, and what it refuses."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
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
