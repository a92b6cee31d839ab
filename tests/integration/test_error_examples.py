"""Every error the specs show is what the mock says.

The test walks each spec's documented 4xx examples and, for each, sends the mock a request that provokes
that error (the table below), then compares the body with the example. An example without a trigger fails
the walk, so a new example must come with the request that shows it; a mock message reworded without its
example (or the reverse) fails the comparison.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest

from contracts.errorshape import ErrorShape
from contracts.loaders import ADMIN_SPEC, VENDOR_SPECS, load_spec
from contracts.model import contract
from mockserver.app import create_app
from mockserver.settings import Credentials, Settings
from tests.fixtures.mockline_http import client_for, valid

RYNG = {"x-access-token": "mockline"}
PUSH = "/ryng/rest-api/v1/progressive/queue/12/transactional"
LEAD = {"jsonData": [{"number": "+919812345678"}]}
DIYALOG = {"Auth-Token": "mockline"}
RINGOTEL = {"Authorization": "Bearer mockline"}
EVENTS = "/ringme/api/ver1.0/client/12/agent/local/136/event/"
SUBSCRIPTION = {"url": "https://crm.example.com/e", "event_type": "agent-login", "method": "GET"}
CLIENT = {"grant_type": "client_credentials", "client_id": "mockline", "client_secret": "mockline"}

Trigger = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]


async def _cancelled_twice(client: httpx.AsyncClient) -> httpx.Response:
    """A ringme event delivery, pending on the manual clock, cancelled once and then again."""
    auth = await _ringme_token(client)
    target = {**SUBSCRIPTION, "url": "http://127.0.0.1:9/agent-events"}
    assert (await client.post(EVENTS, headers=auth, json=target)).status_code == 201
    login = await client.post("/__admin/ringme/clients/12/agents/local/136/login", json={"source": "api"})
    assert login.status_code == 200, login.text
    delivery = (await client.get("/__admin/deliveries")).json()["deliveries"][-1]["id"]
    assert (await client.post(f"/__admin/deliveries/{delivery}/cancel")).status_code == 200
    return await client.post(f"/__admin/deliveries/{delivery}/cancel")


async def _ringme_token(client: httpx.AsyncClient, form: dict[str, str] = CLIENT) -> dict[str, str]:
    grant = await client.post("/ringme/oauth/token", data=form)
    return {"Authorization": f"Bearer {grant.json()['access_token']}"}


async def _ringme(client: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> httpx.Response:
    return await client.request(method, url, headers=await _ringme_token(client), **kwargs)


async def _expired(client: httpx.AsyncClient) -> httpx.Response:
    auth = await _ringme_token(client)
    await client.post("/__admin/clock/advance", json={"seconds": 3601})
    return await client.get(EVENTS, headers=auth)


async def _call_api_only(client: httpx.AsyncClient) -> httpx.Response:
    auth = await _ringme_token(client, {**CLIENT, "client_id": "widget", "client_secret": "w"})
    return await client.get(EVENTS, headers=auth)


async def _cap_reached(client: httpx.AsyncClient) -> httpx.Response:
    auth = await _ringme_token(client)
    for _ in range(10):
        assert (await client.post(EVENTS, headers=auth, json=SUBSCRIPTION)).status_code == 201
    return await client.post(EVENTS, headers=auth, json=SUBSCRIPTION)


async def _rate_limited(client: httpx.AsyncClient) -> httpx.Response:
    body = {"customerData": LEAD}
    for _ in range(60):
        assert (await client.post(PUSH, headers=RYNG, json=body)).status_code == 200
    return await client.post(PUSH, headers=RYNG, json=body)


async def _forwarded(client: httpx.AsyncClient) -> httpx.Response:
    made = await client.post("/diyalog/CreateInteraction", headers=DIYALOG, json={"customerId": "221122121"})
    assert made.status_code == 200, made.text
    await client.post("/__admin/clock/advance", json={"seconds": 600})  # an agent picks it up
    return await client.delete("/diyalog/2121212121212", headers=DIYALOG)


async def _unknown_contact(client: httpx.AsyncClient) -> httpx.Response:
    call = {
        "call_id": "1729693708182-2d1c3de3d3772cdc1f",
        "activity_type": "inbound",
        "caller_number": "+12125550143",
        "called_number": "+12025550199",
        "call_start": 1729693708182,
        "user_id": "u-1001",
    }
    made = await client.post("/ringotel/activities", headers=RINGOTEL, json=call)
    activity = made.json()["activity_id"]
    return await client.post(
        f"/ringotel/activities/{activity}/assign", headers=RINGOTEL, json={"contact_id": "c-9999"}
    )


# (api, example name) -> how to make the mock answer that example
TRIGGERS: dict[tuple[str, str], Trigger] = {
    ("ryng", "missing-number"): lambda c: c.post(
        PUSH, headers=RYNG, json={"customerData": {"jsonData": [{"priority": 1}]}}
    ),
    ("ryng", "unknown-field"): lambda c: c.post(
        PUSH, headers=RYNG, json={"maxDisposeTime": 30, "customerData": LEAD}
    ),
    ("ryng", "bad-agent-mapping"): lambda c: c.post(
        PUSH, headers=RYNG, json={"agentMapping": "round-robin", "customerData": LEAD}
    ),
    ("ryng", "global-without-agents"): lambda c: c.post(
        PUSH, headers=RYNG, json={"agentMapping": "global", "customerData": LEAD}
    ),
    ("ryng", "unauthorized-token"): lambda c: c.post(PUSH, json={"customerData": LEAD}),
    ("ryng", "rate-limited"): _rate_limited,
    ("diyalog", "invalid-body"): lambda c: c.post(
        "/diyalog/CreateInteraction", headers=DIYALOG, json={"interactionType": "chat"}
    ),
    ("diyalog", "bad-token"): lambda c: c.post("/diyalog/checkauthtoken", json={}),
    ("diyalog", "unknown-interaction"): lambda c: c.delete("/diyalog/2121212129999", headers=DIYALOG),
    ("diyalog", "forwarded"): _forwarded,
    ("ringotel-crm", "missing-field"): lambda c: c.get("/ringotel/contacts/search", headers=RINGOTEL),
    ("ringotel-crm", "bad-credentials"): lambda c: c.get("/ringotel/users"),
    ("ringotel-crm", "unknown-id"): lambda c: c.patch(
        "/ringotel/activities/a-9999", headers=RINGOTEL, json={"subject": "x"}
    ),
    ("ringotel-crm", "unknown-contact"): _unknown_contact,
    ("ringme", "invalid-request"): lambda c: c.post(
        "/ringme/oauth/token", data={"grant_type": "client_credentials"}
    ),
    ("ringme", "invalid-grant"): lambda c: c.post(
        "/ringme/oauth/token",
        data={"grant_type": "authorization_code", "client_id": "mockline", "code": "nope"},
    ),
    ("ringme", "missing-field"): lambda c: c.post("/ringme/oauth/token", data={"client_id": "mockline"}),
    ("ringme", "invalid-client"): lambda c: c.post(
        "/ringme/oauth/token", data={**CLIENT, "client_secret": "wrong"}
    ),
    ("ringme", "bad-method"): lambda c: _ringme(c, "POST", EVENTS, json={**SUBSCRIPTION, "method": "PUT"}),
    ("ringme", "expired-token"): _expired,
    ("ringme", "call-api-only"): _call_api_only,
    ("ringme", "unknown-event"): lambda c: _ringme(c, "GET", f"{EVENTS}999"),
    ("ringme", "cap-reached"): _cap_reached,
    (ADMIN_SPEC, "bad-advance"): lambda c: c.post("/__admin/clock/advance", json={"seconds": -5}),
    (ADMIN_SPEC, "api-not-served"): lambda c: c.get("/__admin/ringme/clients/12/agents"),
    (ADMIN_SPEC, "not-pending"): _cancelled_twice,
    (ADMIN_SPEC, "foreign-host"): lambda c: c.get(
        "/__admin/requests", headers={"host": "rebound.example.com:8000"}
    ),
    (ADMIN_SPEC, "cross-site"): lambda c: c.post(
        "/__admin/reset", headers={"host": "127.0.0.1:8000", "origin": "https://evil.example.com"}
    ),
}


def documented_errors() -> Iterator[tuple[str, int, str, Any]]:
    """(api, status, example name, body) of every 4xx example in every spec, each once: an example name
    documented with two bodies comes twice (and fails the one-wording test)."""
    seen = set()
    for api in (*VENDOR_SPECS, ADMIN_SPEC):
        document = contract(api).document
        for item in document["paths"].values():
            for operation in item.values():
                if not isinstance(operation, dict):
                    continue
                for code, response in operation.get("responses", {}).items():
                    if not code.startswith("4"):
                        continue
                    for content in (response.get("content") or {}).values():
                        for name, example in (content.get("examples") or {}).items():
                            key = (api, int(code), name, json.dumps(example["value"], sort_keys=True))
                            if key not in seen:
                                seen.add(key)
                                yield api, int(code), name, example["value"]


DOCUMENTED = list(documented_errors())


def test_every_documented_error_example_has_a_trigger_and_one_wording() -> None:
    names = {(api, name) for api, _, name, _ in DOCUMENTED}
    assert sorted(names - set(TRIGGERS)) == [], "documented errors nobody provokes"
    assert sorted(set(TRIGGERS) - names) == [], "triggers for errors no spec documents"
    wording: dict[tuple[str, str], Any] = {}
    for api, status, name, body in DOCUMENTED:
        assert wording.setdefault((api, name), body) == body, f"{api} example {name} has two bodies"
        shape = ErrorShape.from_document(load_spec(api)) or ErrorShape.problem_details()
        if shape.message_field in body:  # an error in the API's own envelope, worded by the mock
            assert shape.envelope_problems(body, status) == [], f"{api} example {name}"


def _app(api: str, name: str) -> Any:
    """A mock on the manual clock, rate limited only for the rate-limit example, with a ringme
    application that may use the Call API only, and, for the admin's "not served" 404, without ringme."""
    settings = Settings(
        clock="manual",
        seed=7,
        rate_limit=name == "rate-limited",
        apis=("ryng",) if name == "api-not-served" else (),
        credentials={"ringme": Credentials(clients=(("mockline", "mockline"), ("widget", "w")))},
        config={
            "ringme": {"applications": {"widget": {"access": "call_api"}}},
            "ryng": {"scheduled_call": False},
        },
    )
    return create_app(settings, http_client=httpx.AsyncClient())


@pytest.mark.parametrize(
    ("api", "status", "name", "body"), DOCUMENTED, ids=[f"{a}-{s}-{n}" for a, s, n, _ in DOCUMENTED]
)
def test_the_mock_says_each_documented_error_as_the_spec_shows_it(
    api: str, status: int, name: str, body: Any
) -> None:
    trigger = TRIGGERS[(api, name)]

    async def scenario() -> httpx.Response:
        async with client_for(_app(api, name)) as client:
            return await trigger(client)

    response = asyncio.run(scenario())
    assert (response.status_code, response.json()) == (status, body)
    if api != ADMIN_SPEC:
        valid(api, response)


def test_429_says_in_retry_after_when_the_mock_clock_opens_the_next_window() -> None:
    async def scenario() -> tuple[httpx.Response, int, httpx.Response]:
        async with client_for(_app("ryng", "rate-limited")) as client:
            await client.post("/__admin/clock/advance", json={"seconds": 18})  # 18 s into a window
            limited = await _rate_limited(client)
            await client.post("/__admin/clock/advance", json={"seconds": 41})
            still = (await client.post(PUSH, headers=RYNG, json={"customerData": LEAD})).status_code
            await client.post("/__admin/clock/advance", json={"seconds": 1})
            after = await client.post(PUSH, headers=RYNG, json={"customerData": LEAD})
            return limited, still, after

    limited, still, after = asyncio.run(scenario())
    assert limited.status_code == 429 and limited.headers["retry-after"] == "42"
    valid("ryng", limited)
    assert still == 429, "one second before the window turns the token is still over its limit"
    assert after.status_code == 200 and "retry-after" not in after.headers


def test_prefer_code_and_example_returns_that_example_and_names_the_others() -> None:
    raw = load_spec("ryng")
    examples = raw["components"]["responses"]["ValidationError"]["content"]["application/json"]["examples"]

    async def scenario() -> list[httpx.Response]:
        async with client_for(_app("ryng", "")) as client:
            body = {"customerData": LEAD}
            return [
                await client.post(PUSH, headers={**RYNG, "Prefer": f"code=400, example={name}"}, json=body)
                for name in (*examples, "nope")
            ] + [await client.post(PUSH, headers={**RYNG, "Prefer": "code=429"}, json=body)]

    *named, unknown, limited = asyncio.run(scenario())
    for name, response in zip(examples, named, strict=True):
        assert (response.status_code, response.json()) == (400, examples[name]["value"])
    assert unknown.status_code == 400
    assert unknown.json()["message"] == (
        "Prefer: example=nope names no example of the 400 response of pushTransactional;"
        f" its examples are: {', '.join(examples)}"
    )
    assert limited.status_code == 429 and limited.headers["retry-after"] == "60"
    valid("ryng", limited)


def test_prefer_dynamic_on_a_stateful_operation_answers_from_the_schema_and_changes_nothing() -> None:
    async def scenario() -> tuple[httpx.Response, httpx.Response, Any, Any]:
        async with client_for(_app("ryng", "")) as client:
            body = {"customerData": LEAD}
            dynamic = await client.post(PUSH, headers={**RYNG, "Prefer": "dynamic=true"}, json=body)
            calls = (await client.get("/__admin/calls")).json()
            real = await client.post(PUSH, headers=RYNG, json=body)
            after = (await client.get("/__admin/calls")).json()
            return dynamic, real, calls, after

    dynamic, real, calls, after = asyncio.run(scenario())
    assert dynamic.status_code == 200 and valid("ryng", dynamic)
    assert "x-mockline-calls" not in dynamic.headers, "the dialer must not have seen the request"
    assert calls["calls"] == []
    assert real.headers["x-mockline-calls"] and len(after["calls"]) == 1
