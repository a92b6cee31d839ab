"""Validation messages are built from the schema that was broken, and read the same from both validators."""

from __future__ import annotations

from typing import Any

import pytest

from mockserver.schemas import CompiledSchema, _has_big_int

RULE: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "mode": {"type": "string", "enum": ["shared", "own", "any"]},
        "people": {"type": "array", "minItems": 1, "items": {"type": "string"}},
        "wait": {"type": "integer", "minimum": 0, "maximum": 2**62},
        "link": {"type": "string", "format": "uri"},
    },
    "allOf": [
        {
            "anyOf": [
                {"properties": {"mode": {"not": {"enum": ["shared"]}}}},
                {"required": ["people"]},
            ]
        }
    ],
}

CASES = [
    ({"mode": "shared"}, ["people is required when mode is shared"]),
    ({"mode": "none"}, ["mode must be one of shared, own, any, not 'none'"]),
    ({"mood": "own"}, ["mood is not a known field (did you mean mode?)"]),
    ({"zzz": 1}, ["zzz is not a known field (use one of mode, people, wait, link)"]),
    ({"people": []}, ["people must not be empty"]),
    ({"wait": -1}, ["wait must be at least 0, not -1"]),
    ({"wait": "5"}, ["wait must be an integer, not '5'"]),
    ({"link": "nowhere"}, ["link must be an absolute URI, not 'nowhere'"]),
    ({"people": [3]}, ["people[0] must be a string, not 3"]),
]


@pytest.mark.parametrize(("body", "expected"), CASES, ids=[e[0] for _, e in CASES])
def test_each_broken_rule_is_said_of_its_field_from_the_schema(body: Any, expected: list[str]) -> None:
    assert [str(p) for p in CompiledSchema(RULE).problems(body)] == expected


HUGE = 2**63

HUGE_CASES = [
    *(
        ({**body, "wait": HUGE}, [*expected, f"wait must be at most {2**62}, not {HUGE}"])
        for body, expected in CASES
        if "wait" not in body
    ),
    ({"wait": -HUGE}, [f"wait must be at least 0, not {-HUGE}"]),
    ({"wait": [HUGE]}, [f"wait must be an integer, not [{HUGE}]"]),
]


@pytest.mark.parametrize(("body", "expected"), HUGE_CASES, ids=[e[0] for _, e in HUGE_CASES])
def test_the_exact_validator_for_huge_integers_says_the_same(body: Any, expected: list[str]) -> None:
    assert _has_big_int(body), "a body without a huge integer is judged by the fast validator"
    words = [str(p) for p in CompiledSchema(RULE).problems(body)]
    assert sorted(words) == sorted(expected)


def test_a_rule_asking_for_one_of_several_fields_names_them_all() -> None:
    either = {
        "type": "object",
        "properties": {"inner": {"type": "object", "anyOf": [{"required": ["a"]}, {"required": ["b"]}]}},
    }
    assert [str(p) for p in CompiledSchema(either).problems({"inner": {}})] == [
        "inner.a or inner.b is required"
    ]


def test_a_schema_may_word_its_own_rule() -> None:
    worded = {
        **RULE,
        "allOf": [{**RULE["allOf"][0], "x-mockline": {"message": "name the people to share with"}}],
    }
    assert [str(p) for p in CompiledSchema(worded).problems({"mode": "shared"})] == [
        "name the people to share with"
    ]


def test_parameters_and_the_whole_body_are_named_as_such() -> None:
    compiled = CompiledSchema({"type": "integer", "minimum": 1})
    assert [str(p) for p in compiled.problems(0, "path.queueID")] == [
        "path parameter queueID must be at least 1, not 0"
    ]
    assert [str(p) for p in compiled.problems("x")] == ["the body must be an integer, not 'x'"]


def test_a_form_field_that_is_not_its_type_is_named() -> None:
    from mockserver.middleware import _typed_form
    from mockserver.schemas import CoercionError, Problem

    schema = {"properties": {"retries": {"type": "integer"}, "note": {"type": "string"}}}
    assert _typed_form({"retries": ["3"], "note": ["x"]}, schema) == {"retries": 3, "note": "x"}
    with pytest.raises(CoercionError) as refused:
        _typed_form({"retries": ["three"]}, schema)
    assert (
        str(Problem(refused.value.location, str(refused.value))) == "retries must be an integer, not 'three'"
    )
