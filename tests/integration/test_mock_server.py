"""The mock answers every operation as its contract says, in each vendor's own words when input is bad."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from contracts.loaders import VENDOR_SPECS, load_spec
from mockserver.app import create_app
from mockserver.core.store import SQLiteStore
from mockserver.settings import Settings
from tests.fixtures import serving
from tests.fixtures.mockline_http import PREFIX, client_for, new_app, valid

BASIC = "Basic " + base64.b64encode(b"mockline:mockline").decode()
STATIC_AUTH: dict[str, dict[str, str]] = {
    "ryng": {"x-access-token": "mockline"},
    "diyalog": {"Auth-Token": "mockline"},
    "ringotel-crm": {"Authorization": BASIC},
    "mockline-admin": {},
}
PUSH = "/ryng/rest-api/v1/progressive/queue/12/transactional"
GOOD_PUSH = {
    "agentMapping": "all-agents",
    "customerData": {"jsonData": [{"number": "+919812345678", "priority": 2}]},
}


async def auth_for(client: httpx.AsyncClient, api: str) -> dict[str, str]:
    if api != "ringme":
        return STATIC_AUTH[api]
    grant = await client.post(
        "/ringme/oauth/token",
        data={"grant_type": "client_credentials", "client_id": "mockline", "client_secret": "mockline"},
    )
    return {"Authorization": f"Bearer {grant.json()['access_token']}"}


def _operations(api: str) -> list[tuple[str, str, str, Mapping[str, Any]]]:
    doc = load_spec(api)
    out = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and "operationId" in op:
                out.append((api, method.upper(), path, op))
    return out


ALL_OPERATIONS = [
    op
    for api in (*VENDOR_SPECS, "mockline-admin")
    for op in _operations(api)
    # A stream (GET /__admin/events) never ends by itself: tests/integration/test_admin_live.py reads it.
    if "text/event-stream" not in str(op[3].get("responses", {}).get("200", {}).get("content", {}))
]


def _deref(doc: Mapping[str, Any], node: Any) -> Any:
    while isinstance(node, Mapping) and "$ref" in node:
        target: Any = doc
        for part in node["$ref"][2:].split("/"):
            target = target[part.replace("~1", "/")]
        node = target
    return node


def _sample(doc: Mapping[str, Any], param: Mapping[str, Any]) -> Any:
    if "example" in param:
        return param["example"]
    for example in (param.get("examples") or {}).values():
        return example["value"]
    schema = _deref(doc, param.get("schema", {}))
    if "example" in schema:
        return schema["example"]
    if "enum" in schema:
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    return schema.get("minimum", 1) if schema.get("type") in {"integer", "number"} else "1"


def example_request(api: str, method: str, path: str, op: Mapping[str, Any]) -> dict[str, Any]:
    """The first documented example of an operation, as keyword arguments for httpx."""
    doc = load_spec(api)
    params = [_deref(doc, p) for p in [*doc["paths"][path].get("parameters", []), *op.get("parameters", [])]]
    url = PREFIX[api] + path
    query = {}
    for param in params:
        if param["in"] == "path":
            url = url.replace("{" + param["name"] + "}", str(_sample(doc, param)))
        elif param["in"] == "query" and param.get("required"):
            query[param["name"]] = _sample(doc, param)
    request: dict[str, Any] = {"method": method, "url": url, "params": query}
    content = _deref(doc, op.get("requestBody", {})).get("content", {})
    for media_type in ("application/json", "application/x-www-form-urlencoded", "text/plain"):
        if media_type in content:
            example = next(iter(content[media_type]["examples"].values()))["value"]
            if media_type == "application/json":
                request["json"] = example
            elif media_type == "text/plain":
                request["content"] = example
            else:
                request["data"] = example
            break
    else:
        if "multipart/form-data" in content:
            request["files"] = {"file": ("call.mp3", b"ID3 fake audio", "audio/mpeg")}
    return request


@pytest.mark.parametrize(
    ("api", "method", "path", "op"),
    ALL_OPERATIONS,
    ids=[f"{a}.{o['operationId']}" for a, _, _, o in ALL_OPERATIONS],
)
def test_every_operation_answers_its_documented_example_with_a_valid_response(
    api: str, method: str, path: str, op: Mapping[str, Any]
) -> None:
    async def scenario() -> httpx.Response:
        async with client_for(new_app()) as client:
            request = example_request(api, method, path, op)
            request["headers"] = await auth_for(client, api)
            return await client.request(**request)

    response = asyncio.run(scenario())
    valid(api, response)
    # Nothing to look up, no credentials in the body: the documented example must succeed.
    if "{" not in path and op["operationId"] != "issueToken":
        assert response.status_code < 400, response.text


def test_a_newcomer_pushes_a_lead_over_a_real_socket_and_finds_it_in_the_journal() -> None:
    app = create_app(Settings(clock="manual"), http_client=httpx.AsyncClient())
    with serving(app) as base, httpx.Client(base_url=base) as client:
        pushed = client.post(PUSH, json=GOOD_PUSH, headers=STATIC_AUTH["ryng"])
        assert pushed.status_code == 200
        assert pushed.json() == {"error": False, "message": "Appending Queue..."}
        journal = client.get("/__admin/requests", params={"operationId": "pushTransactional"}).json()[
            "requests"
        ]
    assert [(e["method"], e["path"], e["status"]) for e in journal] == [("POST", PUSH, 200)]
    assert journal[0]["body"] == GOOD_PUSH


BAD_INPUT = [
    # (name, api, request, status, body the vendor would send)
    (
        "ryng-no-token",
        "ryng",
        {"method": "POST", "url": PUSH, "json": GOOD_PUSH},
        403,
        {"error": True, "message": "Unauthorized Token"},
    ),
    (
        "ryng-wrong-token",
        "ryng",
        {"method": "POST", "url": PUSH, "json": GOOD_PUSH, "headers": {"x-access-token": "nope"}},
        403,
        {"error": True, "message": "Unauthorized Token"},
    ),
    (
        "ryng-missing-number",
        "ryng",
        {
            "method": "POST",
            "url": PUSH,
            "json": {"customerData": {"jsonData": [{"priority": 1}]}},
            "headers": STATIC_AUTH["ryng"],
        },
        400,
        {
            "error": True,
            "message": "customerData.jsonData[0].number is required",
        },
    ),
    (
        "ryng-wrong-type",
        "ryng",
        {
            "method": "POST",
            "url": PUSH,
            "json": {"customerData": {"jsonData": [{"number": "+919812345678", "priority": "high"}]}},
            "headers": STATIC_AUTH["ryng"],
        },
        400,
        {
            "error": True,
            "message": "customerData.jsonData[0].priority must be an integer, not 'high'",
        },
    ),
    (
        "ryng-path-not-integer",
        "ryng",
        {
            "method": "POST",
            "url": "/ryng/rest-api/v1/progressive/queue/abc/transactional",
            "json": GOOD_PUSH,
            "headers": STATIC_AUTH["ryng"],
        },
        400,
        {"error": True, "message": "path parameter queueID must be an integer, not 'abc'"},
    ),
    (
        "ryng-not-json",
        "ryng",
        {
            "method": "POST",
            "url": PUSH,
            "content": b"{not json",
            "headers": {**STATIC_AUTH["ryng"], "content-type": "application/json"},
        },
        400,
        None,
    ),
    (
        "ryng-not-utf8",
        "ryng",
        {
            "method": "POST",
            "url": PUSH,
            "content": b'{"a": "\xff"}',
            "headers": {**STATIC_AUTH["ryng"], "content-type": "application/json"},
        },
        400,
        {"error": True, "message": "the body is not valid UTF-8"},
    ),
    (
        "ryng-nested-too-deeply",
        "ryng",
        {
            "method": "POST",
            "url": PUSH,
            "content": b"[" * 100_000 + b"]" * 100_000,
            "headers": {**STATIC_AUTH["ryng"], "content-type": "application/json"},
        },
        400,
        {
            "error": True,
            "message": "the body is application/json nested more than 64 levels deep;"
            " at most 64 are accepted",
        },
    ),
    (  # json reads NaN (not JSON) as a float the schema validator saw as null: "must be ..., not null"
        "ryng-nan-is-not-a-json-number",
        "ryng",
        {
            "method": "POST",
            "url": PUSH,
            "content": b'{"customerData": {"jsonData": [{"number": "+919812345678", "priority": NaN}]}}',
            "headers": {**STATIC_AUTH["ryng"], "content-type": "application/json"},
        },
        400,
        {
            "error": True,
            "message": "customerData.jsonData[0].priority is NaN, which is not valid JSON"
            " (NaN and Infinity are not JSON numbers)",
        },
    ),
    (
        "diyalog-infinity-is-not-a-json-number",
        "diyalog",
        {
            "method": "POST",
            "url": "/diyalog/CreateInteraction",
            "content": b'{"customerId": -Infinity}',
            "headers": {**STATIC_AUTH["diyalog"], "content-type": "application/json"},
        },
        400,
        {
            "success": False,
            "errorMessage": "customerId is -Infinity, which is not valid JSON"
            " (NaN and Infinity are not JSON numbers)",
        },
    ),
    (
        "admin-clock-advance-by-infinity",
        "mockline-admin",
        {
            "method": "POST",
            "url": "/__admin/clock/advance",
            "content": b'{"seconds": Infinity}',
            "headers": {"content-type": "application/json"},
        },
        400,
        {
            "type": "about:blank",
            "title": "Bad Request",
            "status": 400,
            "detail": "seconds is Infinity, which is not valid JSON (NaN and Infinity are not JSON numbers)",
        },
    ),
    (
        "admin-clock-advance-past-a-double",
        "mockline-admin",
        {
            "method": "POST",
            "url": "/__admin/clock/advance",
            "content": b'{"seconds": 1e400}',
            "headers": {"content-type": "application/json"},
        },
        400,
        {
            "type": "about:blank",
            "title": "Bad Request",
            "status": 400,
            "detail": "seconds is 1e400, a number too large for a double (at most about 1.8e308)",
        },
    ),
    (
        "ryng-wrong-content-type",
        "ryng",
        {
            "method": "POST",
            "url": PUSH,
            "content": b"number=1",
            "headers": {**STATIC_AUTH["ryng"], "content-type": "text/csv"},
        },
        400,
        {"error": True, "message": "the body is text/csv; send one of: application/json"},
    ),
    (
        "diyalog-no-token",
        "diyalog",
        {"method": "POST", "url": "/diyalog/CreateInteraction", "json": {"customerId": "5321234567"}},
        401,
        None,
    ),
    (
        "diyalog-bad-body",
        "diyalog",
        {
            "method": "POST",
            "url": "/diyalog/CreateInteraction",
            "json": {"customerId": 5},
            "headers": STATIC_AUTH["diyalog"],
        },
        400,
        None,
    ),
    (
        "ringotel-wrong-password",
        "ringotel-crm",
        {
            "method": "GET",
            "url": "/ringotel/users",
            "headers": {"Authorization": "Basic " + base64.b64encode(b"mockline:x").decode()},
        },
        403,
        None,
    ),
    (  # more digits than Python's int() reads: was a 500
        "ringotel-limit-of-5000-digits",
        "ringotel-crm",
        {
            "method": "GET",
            "url": "/ringotel/contacts",
            "params": {"limit": "9" * 5000},
            "headers": STATIC_AUTH["ringotel-crm"],
        },
        400,
        None,
    ),
    (
        "ringotel-bad-body",
        "ringotel-crm",
        {
            "method": "POST",
            "url": "/ringotel/contacts",
            "json": {"phone": 12},
            "headers": STATIC_AUTH["ringotel-crm"],
        },
        400,
        None,
    ),
    (
        "ringme-no-token",
        "ringme",
        {"method": "GET", "url": "/ringme/api/ver1.0/client/12/agent/local/136/event/"},
        401,
        None,
    ),
]


@pytest.mark.parametrize(
    ("name", "api", "request_kwargs", "status", "expected"), BAD_INPUT, ids=[b[0] for b in BAD_INPUT]
)
def test_bad_input_gets_the_vendors_own_error(
    name: str, api: str, request_kwargs: dict[str, Any], status: int, expected: Any
) -> None:
    async def scenario() -> httpx.Response:
        async with client_for(new_app()) as client:
            return await client.request(**request_kwargs)

    response = asyncio.run(scenario())
    assert response.status_code == status, response.text
    valid(api, response)
    body = response.json()
    if expected is not None:
        assert body == expected
    elif api == "diyalog":
        assert body["success"] is False and body["errorMessage"]
    elif api == "ryng":
        assert body["error"] is True and body["message"].startswith("the body is not valid application/json")
    else:
        assert response.headers["content-type"] == "application/problem+json"
        assert body["status"] == status and body["detail"]


def test_a_rejected_request_changes_no_state_and_is_journaled_with_its_errors() -> None:
    async def scenario() -> tuple[httpx.Response, list[dict[str, Any]]]:
        async with client_for(new_app()) as client:
            before = (await client.get("/ringotel/contacts", headers=STATIC_AUTH["ringotel-crm"])).json()
            await client.post("/ringotel/contacts", json={"phone": 12}, headers=STATIC_AUTH["ringotel-crm"])
            after = await client.get("/ringotel/contacts", headers=STATIC_AUTH["ringotel-crm"])
            assert after.json() == before
            journal = (await client.get("/__admin/requests", params={"status": 400})).json()["requests"]
            return after, journal

    _, journal = asyncio.run(scenario())
    assert [e["operationId"] for e in journal] == ["createContact"]
    assert journal[0]["validation_errors"] == ["phone must be a string, not 12"]
    assert journal[0]["body"] == {"phone": 12}


def _transcript(seed: int) -> list[bytes]:
    async def scenario() -> list[bytes]:
        out = []
        async with client_for(new_app(seed=seed)) as client:
            dynamic = {**STATIC_AUTH["ryng"], "Prefer": "dynamic=true"}
            for _ in range(3):
                out.append((await client.post(PUSH, json=GOOD_PUSH, headers=dynamic)).content)
            out.append((await client.get("/ringotel/users", headers=STATIC_AUTH["ringotel-crm"])).content)
            out.append((await client.get("/ringotel/contacts", headers=STATIC_AUTH["ringotel-crm"])).content)
            token = await auth_for(client, "ringme")
            out.append(token["Authorization"].encode())
            out.append((await client.get("/__admin/requests")).content)
        return out

    return asyncio.run(scenario())


def test_the_same_seed_gives_the_same_bytes_and_another_seed_does_not() -> None:
    first, again, other = _transcript(11), _transcript(11), _transcript(12)
    assert first == again
    assert first != other


def test_prefer_code_returns_that_documented_response() -> None:
    async def scenario() -> list[httpx.Response]:
        async with client_for(new_app()) as client:
            headers = STATIC_AUTH["ryng"]
            return [
                await client.post(PUSH, json=GOOD_PUSH, headers={**headers, "Prefer": "code=500"}),
                await client.post(PUSH, json=GOOD_PUSH, headers={**headers, "Prefer": "code=418"}),
                await client.post(PUSH, json=GOOD_PUSH, headers={**headers, "Prefer": "code=403"}),
            ]

    failed, undocumented, forbidden = asyncio.run(scenario())
    assert (failed.status_code, failed.json()) == (500, {"error": True, "message": "Failed to Create Queue"})
    assert undocumented.status_code == 400
    assert (
        "code=418 is not a documented response of pushTransactional; documented: 200, 400, 403, 429, 500"
        in undocumented.json()["message"]
    )
    assert (forbidden.status_code, forbidden.json()) == (
        403,
        {"error": True, "message": "Unauthorized Token"},
    )
    for response in (failed, undocumented, forbidden):
        valid("ryng", response)


def test_prefer_example_returns_that_named_example() -> None:
    doc = load_spec("mockline-admin")
    examples = doc["paths"]["/faults"]["get"]["responses"]["200"]["content"]["application/json"]["examples"]

    async def scenario() -> tuple[httpx.Response, httpx.Response]:
        async with client_for(new_app()) as client:
            named = await client.get("/__admin/faults", headers={"Prefer": "example=none"})
            unknown = await client.get("/__admin/faults", headers={"Prefer": "example=nope"})
            return named, unknown

    named, unknown = asyncio.run(scenario())
    assert named.json() == examples["none"]["value"]
    assert unknown.status_code == 400
    assert (
        "example=nope names no example of getFaults; its examples are: cross-site, foreign-host, internal-error, none"
        in unknown.json()["detail"]
    )


def test_faults_fail_a_chosen_share_of_requests_reproducibly_and_add_latency() -> None:
    rule = {"faults": [{"api": "ryng", "operationId": "pushTransactional", "error_rate": 0.5, "status": 500}]}

    async def scenario() -> list[int]:
        async with client_for(new_app()) as client:
            assert (await client.put("/__admin/faults", json=rule)).status_code == 200
            codes = [
                (await client.post(PUSH, json=GOOD_PUSH, headers=STATIC_AUTH["ryng"])).status_code
                for _ in range(40)
            ]
            untouched = await client.get("/ringotel/users", headers=STATIC_AUTH["ringotel-crm"])
            assert untouched.status_code == 200
            return codes

    first, second = asyncio.run(scenario()), asyncio.run(scenario())
    assert first == second, "the seed must make fault draws repeatable"
    assert set(first) == {200, 500}
    assert 8 <= first.count(500) <= 32

    async def slow() -> float:
        async with client_for(new_app()) as client:
            await client.put("/__admin/faults", json={"faults": [{"api": "ryng", "latency_ms": 120}]})
            started = time.perf_counter()
            await client.post(PUSH, json=GOOD_PUSH, headers=STATIC_AUTH["ryng"])
            return time.perf_counter() - started

    assert asyncio.run(slow()) >= 0.12


def test_ryng_rate_limit_is_sixty_a_minute_per_token_on_the_mock_clock() -> None:
    async def scenario() -> tuple[list[int], httpx.Response, int, int]:
        app = create_app(Settings(clock="manual", rate_limit=True), http_client=httpx.AsyncClient())
        async with client_for(app) as client:
            codes = [
                (await client.post(PUSH, json=GOOD_PUSH, headers=STATIC_AUTH["ryng"])).status_code
                for _ in range(61)
            ]
            limited = await client.post(PUSH, json=GOOD_PUSH, headers=STATIC_AUTH["ryng"])
            other_token = (
                await client.post(PUSH, json=GOOD_PUSH, headers={"x-access-token": "other"})
            ).status_code
            await client.post("/__admin/clock/advance", json={"seconds": 60})
            after = (await client.post(PUSH, json=GOOD_PUSH, headers=STATIC_AUTH["ryng"])).status_code
            return codes, limited, other_token, after

    codes, limited, other_token, after = asyncio.run(scenario())
    assert codes[:60] == [200] * 60 and codes[60] == 429
    assert limited.json()["error"] is True and "at most 60 requests per 60 s" in limited.json()["message"]
    valid("ryng", limited)
    assert other_token == 403
    assert after == 200


def test_an_expired_ringme_token_is_refused_after_3600_clock_seconds() -> None:
    async def scenario() -> tuple[int, int, dict[str, Any]]:
        async with client_for(new_app()) as client:
            auth = await auth_for(client, "ringme")
            url = "/ringme/api/ver1.0/client/12/agent/local/136/event/"
            fresh = (await client.get(url, headers=auth)).status_code
            await client.post("/__admin/clock/advance", json={"seconds": 3600})
            expired = await client.get(url, headers=auth)
            valid("ringme", expired)
            return fresh, expired.status_code, expired.json()

    fresh, expired, body = asyncio.run(scenario())
    assert (fresh, expired) == (200, 401)
    assert "expired" in body["detail"]


def test_sqlite_state_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    subscription = {"url": "https://hooks.example.com/agents", "event_type": "agent-login", "method": "POST"}
    url = "/ringme/api/ver1.0/client/12/agent/local/136/event/"

    async def create() -> dict[str, Any]:
        store = SQLiteStore(path)
        app = create_app(
            Settings(clock="manual", rate_limit=False), store=store, http_client=httpx.AsyncClient()
        )
        async with client_for(app) as client:
            created = await client.post(url, json=subscription, headers=await auth_for(client, "ringme"))
            assert created.status_code == 201
            body: dict[str, Any] = created.json()
        store.close()
        return body

    async def read_back() -> list[dict[str, Any]]:
        store = SQLiteStore(path)
        app = create_app(
            Settings(clock="manual", rate_limit=False), store=store, http_client=httpx.AsyncClient()
        )
        async with client_for(app) as client:
            listed = await client.get(url, headers=await auth_for(client, "ringme"))
            valid("ringme", listed)
        store.close()
        found: list[dict[str, Any]] = listed.json()
        return found

    created = asyncio.run(create())
    assert asyncio.run(read_back()) == [created]


def test_reset_restores_the_seeded_state() -> None:
    async def scenario() -> tuple[bytes, bytes, list[str]]:
        async with client_for(new_app()) as client:
            crm = STATIC_AUTH["ringotel-crm"]
            seeded = (await client.get("/ringotel/contacts", headers=crm)).content
            await client.post(
                "/ringotel/contacts", json={"phone": "+12025550123", "firstname": "Ada"}, headers=crm
            )
            assert (await client.get("/ringotel/contacts", headers=crm)).content != seeded
            await client.post("/__admin/reset")
            restored = (await client.get("/ringotel/contacts", headers=crm)).content
            journal = (await client.get("/__admin/requests")).json()["requests"]
            return seeded, restored, [e["operationId"] for e in journal]

    seeded, restored, journaled = asyncio.run(scenario())
    assert restored == seeded
    assert journaled == ["resetState", "listContacts"]  # what came before the reset is forgotten


def test_unknown_paths_and_methods_answer_in_the_vendor_shape() -> None:
    async def scenario() -> tuple[httpx.Response, httpx.Response]:
        async with client_for(new_app()) as client:
            missing = await client.get("/ryng/rest-api/v1/nothing", headers=STATIC_AUTH["ryng"])
            wrong = await client.delete(PUSH, headers=STATIC_AUTH["ryng"])
            return missing, wrong

    missing, wrong = asyncio.run(scenario())
    assert (missing.status_code, missing.json()["error"]) == (404, True)
    assert (wrong.status_code, wrong.headers["allow"]) == (405, "POST")
    assert json.loads(wrong.content) == {
        "error": True,
        "message": "DELETE is not allowed on /rest-api/v1/progressive/queue/{queueID}/transactional; use POST",
    }
