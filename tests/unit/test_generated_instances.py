"""Generated instances validate against their schema (``mockserver.generate``'s promise), judged by
jsonschema with format checking, over several seeds: schemas where the draw used to fail or break a rule."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import jsonschema
import pytest

from contracts import model
from mockserver.core.fakes import Fakes
from mockserver.generate import generate

NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
SEEDS = range(1, 13)


def judged(schema: dict[str, Any], instance: Any, root: dict[str, Any] | None = None) -> None:
    """Raises, naming the rule, when ``instance`` breaks ``schema`` (Draft 4, formats checked); ``root``
    is the document a ``$ref`` in it points into."""
    whole = {**(root or {}), **schema}
    jsonschema.Draft4Validator(whole, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER).validate(
        instance
    )


@pytest.mark.parametrize(
    "schema",
    [  # no multiple in the default range: randint raised (a 500), or 0 was answered above the maximum
        {"type": "number", "minimum": 1, "multipleOf": 5000},
        {"type": "number", "maximum": -1, "multipleOf": 5000},
        {"type": "number", "minimum": 0, "exclusiveMinimum": True, "multipleOf": 5000},
        {"type": "number", "maximum": 0, "exclusiveMaximum": True, "multipleOf": 5000},
        {"type": "number", "minimum": 1e9, "multipleOf": 0.5},
        {"type": "number", "minimum": 0, "maximum": 1e12, "multipleOf": 0.001},
        {"type": "integer", "maximum": -1, "multipleOf": 500000},
        {"type": "integer", "minimum": 1, "multipleOf": 500000},
        {"type": "integer", "maximum": 0, "exclusiveMaximum": True, "multipleOf": 500000},
        # a fractional step on an integer was ignored: 7 answered for 1.5 (only 3, 6, 9... are multiples)
        {"type": "integer", "minimum": 1, "maximum": 100, "multipleOf": 1.5},
        {"type": "integer", "minimum": 1, "multipleOf": 2.5},
        {"type": "integer", "maximum": -1, "multipleOf": 0.75},
    ],
)
def test_a_multiple_beyond_the_default_range_is_reached_on_the_unbounded_side(schema: dict[str, Any]) -> None:
    for seed in SEEDS:
        judged(schema, generate(schema, Fakes(seed), NOW, "amount"))


@pytest.mark.parametrize(
    "schema",
    [  # lengths and a pattern together: 'elix' for at most 2 letters
        {"type": "string", "pattern": "^[a-z]+$", "maxLength": 2},
        {"type": "string", "pattern": "^[a-z]+$", "minLength": 9, "maxLength": 12},
        {"type": "string", "pattern": "^[A-Z]{2}[0-9]*$", "maxLength": 3},
    ],
)
def test_a_pattern_is_drawn_again_until_its_lengths_fit(schema: dict[str, Any]) -> None:
    for seed in SEEDS:
        judged(schema, generate(schema, Fakes(seed), NOW, "code"))


@pytest.mark.parametrize(
    ("pattern", "phone"),
    [  # a pattern with '+' and '\d' got a phone number whether it matched or not: '^\d+$' got '+1828...'
        (r"^\d+$", False),
        (r"^[0-9+]\d{2}$", False),
        (r"^\d+(\.\d+)?$", False),
        (r"^\+[1-9]\d{7,14}$", True),
        (r"^\+?\d{10,15}$", True),
    ],
)
def test_a_phone_number_answers_only_a_pattern_that_matches_it(pattern: str, phone: bool) -> None:
    schema = {"type": "string", "pattern": pattern}
    for seed in SEEDS:
        value = generate(schema, Fakes(seed), NOW, "contact")
        judged(schema, value)
        if phone:
            assert value == Fakes(seed).phone()  # a real number where the pattern takes one


NODE_DOCUMENT: dict[str, Any] = {
    "components": {
        "schemas": {
            "Node": {
                "type": "object",
                "additionalProperties": False,
                "minProperties": 1,
                "properties": {
                    "child": {"$ref": "#/components/schemas/Node"},
                    "name": {"type": "string", "maxLength": 8},
                },
            }
        }
    }
}


def test_min_properties_without_additional_properties_is_filled_from_the_declared_ones() -> None:
    # at the lean depth nothing was made of a Node that requires nothing: {} broke minProperties
    document = model.resolve(NODE_DOCUMENT)
    node = document["components"]["schemas"]["Node"]
    for seed in SEEDS:
        value = generate(node, Fakes(seed), NOW, "", document)
        judged({"$ref": "#/components/schemas/Node"}, value, NODE_DOCUMENT)
        depth = 0
        while "child" in value:
            value, depth = value["child"], depth + 1
        assert 3 <= depth < 10  # cut after a few levels, with what minProperties asks for


@pytest.mark.parametrize(
    "schema",
    [
        {
            "type": "object",
            "additionalProperties": False,
            "minProperties": 2,
            "properties": {
                "a": {"type": "string", "writeOnly": True},  # never answered
                "b": {"type": "integer"},
                "c": {"type": "boolean"},
            },
        },
        {"type": "object", "minProperties": 3, "properties": {"a": {"type": "boolean"}}},
        {"type": "object", "minProperties": 2, "additionalProperties": {"type": "integer"}},
    ],
)
def test_min_properties_is_kept_in_every_kind_of_object(schema: dict[str, Any]) -> None:
    for seed in SEEDS:
        value = generate(schema, Fakes(seed), NOW)
        judged(schema, value)
        assert len(value) >= schema["minProperties"]
        assert not any(
            name in value for name, sub in schema.get("properties", {}).items() if "writeOnly" in sub
        )


def test_the_phone_check_reads_the_pattern_as_ecma_does() -> None:
    # \p{N} is ECMA-262's, which Python's re cannot spell: the phone is not matched, the pattern is drawn
    schema = {"type": "string", "pattern": r"^\+\d\p{N}{7,13}$"}
    for seed in SEEDS:
        value = generate(schema, Fakes(seed), NOW)
        assert re.fullmatch(r"\+[0-9]{8,14}", value), value
