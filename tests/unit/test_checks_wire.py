"""verify's judgement of "accepted negative data" on form bodies: a JSON type is no offence on the
wire, where every form value is text; any other offence still counts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis

from contracts import checks
from contracts.loaders import load_spec

SHEET = b"number,customField1\n+919812345678,Asha\n"


@pytest.fixture
def campaign() -> Iterator[Any]:
    schema = schemathesis.openapi.from_dict(load_spec("ryng"))
    checks.bind(
        schema,
        checks.VerifyContext(document=schema.raw_schema, base_url="http://127.0.0.1:9", credentials={}),
    )
    try:
        yield schema["/rest-api/v1/campaign"]["POST"]
    finally:
        checks.unbind(schema)


def test_a_form_body_whose_only_offence_is_a_json_type_is_not_negative_on_the_wire(campaign: Any) -> None:
    case = campaign.Case(body={"campaign-sheet": SHEET, "agents": True}, media_type="multipart/form-data")
    assert checks._negative_on_the_wire(case) is False


def test_a_form_body_missing_a_required_field_is_still_negative(campaign: Any) -> None:
    case = campaign.Case(body={"agents": "asha.verma@example.com"}, media_type="multipart/form-data")
    assert checks._negative_on_the_wire(case) is True


def test_a_json_body_of_the_wrong_type_is_still_negative(campaign: Any) -> None:
    case = campaign.Case(body={"name": "Leads", "agents": True}, media_type="application/json")
    assert checks._negative_on_the_wire(case) is True


def _form_operation(pattern: str) -> Any:
    body = {"type": "object", "properties": {"code": {"type": "string", "pattern": pattern}}}
    document = {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/codes": {
                "post": {
                    "requestBody": {"content": {"application/x-www-form-urlencoded": {"schema": body}}},
                    "responses": {"204": {"description": "ok"}},
                }
            }
        },
    }
    schema = schemathesis.openapi.from_dict(document)
    checks.bind(
        schema, checks.VerifyContext(document=document, base_url="http://127.0.0.1:9", credentials={})
    )
    return schema


def test_a_form_field_is_judged_by_its_pattern_as_ecma_reads_it() -> None:
    # Python's jsonschema read (?<year>...) with re and stopped on re.error; and its ^...$ let a final
    # newline through, which the server's ECMA reading refuses.
    schema = _form_operation(r"^(?<year>\d{4})$")
    try:
        operation = schema["/codes"]["POST"]
        form = "application/x-www-form-urlencoded"
        assert checks._negative_on_the_wire(operation.Case(body={"code": "2024"}, media_type=form)) is False
        assert checks._negative_on_the_wire(operation.Case(body={"code": "2024\n"}, media_type=form)) is True
    finally:
        checks.unbind(schema)
