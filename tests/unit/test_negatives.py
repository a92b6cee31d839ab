"""The negative-case generator (contracts/negatives.py): every case it derives is invalid and every request
it derives them from is valid - judged by openapi-core, a validator independent of the one the generator
proves its cases with - and it reaches the rules the specs write inside anyOf, oneOf, not and format."""

from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path
from typing import Any

import pytest
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest
from openapi_core.validation.request.validators import (
    V30RequestBodyValidator,
    V30RequestParametersValidator,
)

from contracts import model, negatives
from contracts.loaders import load_spec

CLINIC = Path(__file__).resolve().parents[1] / "fixtures" / "specs" / "third_party" / "pet-clinic.yaml"
SPECS = ["ryng", "diyalog", "ringotel-crm", "ringme", str(CLINIC)]


def _errors(api: OpenAPI, case: negatives.Case, *, baseline: bool) -> list[str]:
    """What openapi-core finds wrong with the case's request (or the one it was derived from)."""
    body = case.baseline_body if baseline else case.body
    parameters = case.baseline_parameters if baseline else case.parameters
    path = case.operation.path
    for (where, name), value in parameters.items():
        if where == "path":
            path = path.replace("{" + name + "}", model.form_value(value))
    query = {name: model.form_value(v) for (where, name), v in parameters.items() if where == "query"}
    headers = {name: model.form_value(v) for (where, name), v in parameters.items() if where == "header"}
    data = None
    if case.media_type is not None:
        text = json.dumps(body) if "json" in case.media_type else model.form_encode(body)
        data = text.encode()
    request = MockRequest(
        "http://localhost",
        case.operation.method.lower(),
        path,
        args=query,
        headers=headers,
        data=data,
        content_type=case.media_type or "application/json",
    )
    found: list[str] = []
    for validator in (V30RequestBodyValidator, V30RequestParametersValidator):
        found += [type(error).__name__ for error in validator(api.spec).iter_errors(request)]
    return found


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: Path(s).stem)
def test_each_case_is_invalid_and_each_request_it_came_from_valid(spec: str) -> None:
    raw = load_spec(spec)
    raw.pop("servers", None)
    api = OpenAPI.from_dict(raw)
    cases, _ = negatives.derive(model.contract(spec), seed=1)
    assert cases
    for case in cases:
        assert _errors(api, case, baseline=True) == [], (case.label, case.rule)
        assert _errors(api, case, baseline=False), (case.label, case.rule, case.change)


def _case(spec: str, rule: str) -> negatives.Case:
    cases, _ = negatives.derive(model.contract(spec), seed=1)
    return next(c for c in cases if c.rule == rule)


def test_ryngs_global_mapping_without_agents_is_sent_on_purpose() -> None:
    case = _case("ryng", "negative /components/schemas/PushTransactionalRequest/not (not)")
    assert case.body["agentMapping"] == "global" and "agents" not in case.body
    assert "agents" in case.baseline_body  # only the agents were taken away
    assert {k: v for k, v in case.baseline_body.items() if k != "agents"} == case.body
    assert case.about == "agents is required when agentMapping is global"


def test_each_format_the_specs_use_gets_an_invalid_value() -> None:
    byte = _case(
        "diyalog",
        "negative /components/schemas/CreateDocumentRequest/properties/base64FileContent/format (format byte)",
    )
    with pytest.raises(binascii.Error):
        base64.b64decode(byte.body["base64FileContent"], validate=True)
    int64 = _case(
        "ringotel-crm",
        "negative /components/schemas/ActivityCreate/properties/call_start/oneOf/0/format (format int64)",
    )
    assert int64.body["call_start"] == 2**63
    email = _case(
        "ringotel-crm", "negative /components/schemas/ContactCreate/properties/email/format (format email)"
    )
    assert "@" not in email.body["email"]
    stamp = _case(
        str(CLINIC),
        "negative /components/schemas/NewAppointment/properties/startsAt/format (format date-time)",
    )
    assert stamp.body["startsAt"] != stamp.baseline_body["startsAt"]
    path_id = _case("ringme", "negative /components/parameters/EventId/schema/format (format int64)")
    assert path_id.parameters[("path", "event_id")] == 2**63
    _, skipped = negatives.derive(model.contract("ringme"), seed=1)
    password = [s for s in skipped if s.rule.endswith("(format password)")]
    assert password and password[0].reason == "any text is a valid password"


def test_every_branch_of_a_one_of_is_broken_so_that_none_holds() -> None:
    cases, skipped = negatives.derive(model.contract("diyalog"), seed=1)
    rules = {c.rule for c in cases}
    pointer = "/components/schemas/AttachedData/oneOf"
    assert {f"negative {pointer} (oneOf branch 0)", f"negative {pointer} (oneOf branch 1)"} <= rules
    # A list and a map are never both: no value matches two branches, and that is said, not passed.
    assert any(s.rule == f"negative {pointer} (oneOf: two branches hold)" for s in skipped)


def _document(schema: dict[str, Any], example: Any) -> model.Contract:
    raw = {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/things": {
                "post": {
                    "operationId": "createThing",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": schema, "example": example}},
                    },
                    "responses": {"201": {"description": "made"}, "400": {"description": "bad"}},
                }
            }
        },
    }
    return model.from_document("t", raw)


def test_a_one_of_whose_branches_overlap_gets_a_value_that_matches_two() -> None:
    schema = {
        "type": "object",
        "properties": {
            "n": {"oneOf": [{"type": "integer", "maximum": 10}, {"type": "integer", "minimum": 5}]}
        },
    }
    cases, _ = negatives.derive(_document(schema, {"n": 1}), seed=1)
    two = next(c for c in cases if c.what == "oneOf: two branches hold")
    assert 5 <= two.body["n"] <= 10
    branches = [c for c in cases if c.what.startswith("oneOf branch")]
    assert len(branches) == 2
    for case in branches:  # no branch holds: every integer is at most 10 or at least 5, so not an integer
        value = case.body["n"]
        assert not isinstance(value, int) or isinstance(value, bool), value


def test_each_any_of_branch_is_broken_and_the_rest_of_the_body_kept() -> None:
    schema = {
        "type": "object",
        "required": ["name"],
        "properties": {"name": {"type": "string"}, "email": {"type": "string"}, "phone": {"type": "string"}},
        "anyOf": [{"required": ["email"]}, {"required": ["phone"]}],
    }
    cases, _ = negatives.derive(_document(schema, {"name": "a", "email": "x"}), seed=1)
    broken = [c for c in cases if c.what.startswith("anyOf branch")]
    assert [c.what for c in broken] == ["anyOf branch 0", "anyOf branch 1"]
    for case in broken:
        assert case.body.get("name") == "a" and "email" not in case.body and "phone" not in case.body


def test_a_rule_no_request_can_break_alone_is_not_applicable_never_a_case() -> None:
    # The not forbids what the type already forbids: nothing breaks the not alone.
    schema = {"type": "object", "properties": {"n": {"type": "integer", "not": {"type": "string"}}}}
    cases, skipped = negatives.derive(_document(schema, {"n": 1}), seed=1)
    assert cases == []
    assert [s.rule for s in skipped] == [
        "negative /paths/~1things/post/requestBody/content/application~1json/schema/properties/n/not (not)"
    ]


def test_derivation_is_deterministic() -> None:
    first, _ = negatives.derive(model.contract("ryng"), seed=7)
    second, _ = negatives.derive(model.contract("ryng"), seed=7)
    assert [(c.rule, c.body, c.parameters) for c in first] == [(c.rule, c.body, c.parameters) for c in second]


def _sent(status: int, body: Any, content_type: str) -> negatives.Sent:
    sent = negatives.Sent("POST", "http://127.0.0.1:1/diyalog/CreateDocument", {"Auth-Token": "t"}, b"{}")
    sent.status = status
    sent.response_headers = {"content-type": content_type}
    sent.response_body = json.dumps(body).encode()
    return sent


def test_judge_wants_the_documented_client_error_in_the_vendors_shape() -> None:
    contract = model.contract("diyalog")
    rule = (
        "negative /components/schemas/CreateDocumentRequest/properties/base64FileContent/format (format byte)"
    )
    case = _case("diyalog", rule)
    status = contract.errors.validation_status
    good_body = contract.errors.body(status, "base64FileContent must be base64 text", "Bad Request")
    assert negatives.judge(case, _sent(status, good_body, contract.errors.media_type), contract).ok is True

    accepted = negatives.judge(case, _sent(200, {"success": True}, "application/json"), contract)
    assert accepted.ok is False and accepted.violation is not None
    assert accepted.violation.rule == rule and accepted.violation.got.startswith("HTTP 200")
    assert accepted.violation.curl.startswith("curl -X POST") and "byte" in accepted.violation.expected

    wrong_shape = negatives.judge(case, _sent(status, {"err": "no"}, contract.errors.media_type), contract)
    assert wrong_shape.ok is False and "missing" in (
        wrong_shape.violation.message if wrong_shape.violation else ""
    )
    crashed = negatives.judge(case, _sent(500, good_body, contract.errors.media_type), contract)
    assert crashed.ok is False

    assert negatives.judge(case, _sent(429, {}, "application/json"), contract).ok is None
    refused = negatives.judge(case, _sent(contract.errors.auth_status, {}, "application/json"), contract)
    assert refused.ok is None and "credentials" in refused.reason


def test_a_path_value_the_parameters_schema_shows_is_not_made_up() -> None:
    # the phase read a parameter's examples itself and missed its schema's example (Parameter.examples has it)
    raw = {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/things/{id}": {
                "get": {
                    "operationId": "getThing",
                    "parameters": [
                        {
                            "name": "id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "pattern": r"^(?<kind>t)-\d+$", "example": "t-1"},
                        }
                    ],
                    "responses": {"200": {"description": "found"}, "404": {"description": "none"}},
                }
            }
        },
    }
    (operation,) = model.from_document("t", raw).operations
    assert negatives._made_up(operation, None) == []
