"""The specs accept what the vendors really send, and keep the rules they enforce.

Each check runs on the shipped spec (it must pass) and on a copy carrying the defect the spec once had
(it must fail). Schemas are checked with the jsonschema library after the OpenAPI-to-JSON-Schema
conversion the whole project shares; the mock is then asked over HTTP.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping
from typing import Any

import jsonschema

from contracts.loaders import load_spec, specs_dir
from contracts.model import resolve, to_json_schema
from tests.fixtures.mockline_http import client_for, new_app, valid

CREATE_ACTIVITY = "/activities"
STOP_ACTIVITY = "/activities/{activity_id}/stop"
RINGME_CREATE = (
    "/api/ver1.0/client/{client_id}/agent/local/{agent_id}/event/",
    "/api/ver1.0/client/{client_id}/agent/remote/{agent_id}/event/",
)
# Values a Ringotel call has; the descriptor writes each inside quotes, so they all arrive as strings.
RINGOTEL_CALL = {
    "call_id": "1729693708182-2d1c3de3d3772cdc1f",
    "activity_type": "inbound",
    "caller_number": "+12125550143",
    "called_number": "+12025550199",
    "call_start": "1729693708182",
    "call_end": "1729693835182",
    "call_duration": "127",
    "call_cause": "0",
    "status": "completed",
    "user_id": "u-1001",
    "extension": "101",
    "domain": "acme.ringotel.example",
    "contact_id": "c-2002",
    "activity_id": "a-5001",
    "subject": "Inbound call",
    "notes": "Called back",
}


def _errors(document: Mapping[str, Any], schema: Any, value: Any) -> list[str]:
    resolved = to_json_schema(resolve(document, schema), "request")
    validator = jsonschema.Draft4Validator(resolved)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(value)]


def _descriptor() -> dict[str, Any]:
    text = (specs_dir() / "ringotel-crm.integration.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _fill(template: Any) -> Any:
    """The body Ringotel builds from a descriptor template: each `$name$` leaf replaced by its text."""
    if isinstance(template, dict):
        return {k: _fill(v) for k, v in template.items()}
    if isinstance(template, list):
        return [_fill(v) for v in template]
    return re.sub(r"\$([^$]+)\$", lambda m: RINGOTEL_CALL.get(m.group(1), "x"), str(template))


def descriptor_body_problems(document: Mapping[str, Any]) -> list[str]:
    """CreateActivity and StopCallActivity, as the descriptor makes Ringotel send them, fit the spec."""
    problems = []
    hooks = _descriptor()["API"]
    for hook, path in (("CreateActivity", CREATE_ACTIVITY), ("StopCallActivity", STOP_ACTIVITY)):
        body = _fill(hooks[hook]["request_parameters"])
        op = document["paths"][path][hooks[hook]["request_method"].lower()]
        schema = op["requestBody"]["content"]["application/json"]["schema"]
        problems += [f"{hook} {e}" for e in _errors(document, schema, body)]
    return problems


def test_what_ringotels_descriptor_sends_fits_the_crm_spec() -> None:
    assert descriptor_body_problems(load_spec("ringotel-crm")) == []


def test_a_spec_typing_the_quoted_numbers_as_integers_only_fails_that_check() -> None:
    document = load_spec("ringotel-crm")
    integer = {"type": "integer", "minimum": 0}
    document["components"]["schemas"]["ActivityCreate"]["properties"]["call_start"] = integer
    document["components"]["schemas"]["ActivityStop"]["properties"]["call_end"] = integer
    problems = descriptor_body_problems(document)
    assert any(p.startswith("CreateActivity ['call_start']") for p in problems), problems
    assert any(p.startswith("StopCallActivity ['call_end']") for p in problems), problems


def test_the_mock_crm_takes_quoted_numbers_and_answers_integers() -> None:
    async def scenario() -> None:
        body = _fill(_descriptor()["API"]["CreateActivity"]["request_parameters"])
        stop = _fill(_descriptor()["API"]["StopCallActivity"]["request_parameters"])
        async with client_for(new_app()) as client:
            created = await client.post("/ringotel/activities", json=body, auth=("mockline", "mockline"))
            activity = valid("ringotel-crm", created).json()
            assert created.status_code == 201 and activity["call_start"] == 1729693708182
            stopped = await client.post(
                f"/ringotel/activities/{activity['activity_id']}/stop",
                json=stop,
                auth=("mockline", "mockline"),
            )
            closed = valid("ringotel-crm", stopped).json()
            assert (closed["call_end"], closed["call_duration"]) == (1729693835182, 127)

    asyncio.run(scenario())


def ringme_create_statuses(document: Mapping[str, Any]) -> list[set[str]]:
    return [
        {c for c in document["paths"][path]["post"]["responses"] if c.startswith("2")}
        for path in RINGME_CREATE
    ]


def test_ringme_create_answers_200_and_201_are_both_documented() -> None:
    assert ringme_create_statuses(load_spec("ringme")) == [{"200", "201"}, {"200", "201"}]
    document = load_spec("ringme")
    for path in RINGME_CREATE:
        del document["paths"][path]["post"]["responses"]["200"]
    assert ringme_create_statuses(document) != [{"200", "201"}, {"200", "201"}]


def test_ryngs_rules_hold_now_that_generators_keep_the_properties() -> None:
    document = load_spec("ryng")
    push = {"$ref": "#/components/schemas/PushTransactionalRequest"}
    rows = {"jsonData": [{"number": "+919845012345"}]}
    assert (
        _errors(document, push, {"agentMapping": "global", "agents": ["a@example.com"], "customerData": rows})
        == []
    )
    assert _errors(document, push, {"agentMapping": "inline", "customerData": rows}) == []
    assert _errors(document, push, {"agentMapping": "global", "customerData": rows}) != []
    queue_data = {"$ref": "#/components/schemas/QueueCustomerData"}
    assert _errors(document, queue_data, rows) == []
    assert _errors(document, queue_data, {"campaignID": 7}) == []
    assert _errors(document, queue_data, {"terminalCallbackUrl": "https://crm.example.com/t"}) != []


def test_the_mock_refuses_each_rule_by_its_title() -> None:
    async def scenario() -> None:
        async with client_for(new_app()) as client:
            answer = await client.post(
                "/ryng/rest-api/v1/progressive/queue/12/transactional",
                headers={"x-access-token": "mockline"},
                json={"agentMapping": "global", "customerData": {"jsonData": [{"number": "+919845012345"}]}},
            )
            assert answer.status_code == 400
            assert answer.json() == {
                "error": True,
                "message": "agents is required when agentMapping is global",
            }
            answer = await client.post(
                "/ryng/rest-api/v1/progressive/queue/12/calls",
                headers={"x-access-token": "mockline"},
                json={"customerData": {"terminalCallbackUrl": "https://crm.example.com/t"}},
            )
            assert answer.status_code == 400
            assert answer.json()["message"] == "jsonData or campaignID is required"

    asyncio.run(scenario())
