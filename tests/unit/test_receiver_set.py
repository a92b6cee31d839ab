"""``verify-receiver --set NAME=VALUE``: which field NAME names, and what VALUE is read as."""

from __future__ import annotations

from typing import Any

import pytest

from contracts.receiver import ReceiverError, field_path, field_value, parse_set


def test_a_name_is_a_top_level_field_or_a_json_pointer() -> None:
    assert field_path("api_token") == ("api_token",)
    assert field_path("/api_token") == ("api_token",)
    assert field_path("/params/domain") == ("params", "domain")
    assert field_path("/a~1b/c~0d") == ("a/b", "c~d")  # RFC 6901 escapes
    assert field_path("params/domain") == ("params/domain",)  # no leading /: one field's name


def test_name_and_value_split_at_the_first_equals_sign() -> None:
    assert parse_set("api_token=abc=def") == ("api_token", "abc=def")
    assert parse_set("notes=") == ("notes", "")
    for bad in ("api_token", "=value", "/=x"):
        with pytest.raises(ReceiverError, match="NAME=VALUE"):
            parse_set(bad)


STRING = {"type": "string"}
EITHER = {"oneOf": [{"type": "string"}, {"type": "integer"}]}


@pytest.mark.parametrize(
    ("text", "schema", "value"),
    [
        ("abc", STRING, "abc"),  # not JSON: the text
        ('"abc"', STRING, "abc"),  # a JSON string
        ("12345", STRING, "12345"),  # JSON, but the spec types the field a string: the text as given
        ("true", STRING, "true"),
        ("12345", EITHER, 12345),  # a number the field takes
        ("12345", None, 12345),  # a field the spec does not describe: as JSON reads it
        ('{"a": [1, null]}', {"type": "object"}, {"a": [1, None]}),
        ("null", {"type": "string", "nullable": True}, None),
        ("1.5", {"type": "number"}, 1.5),
        ("", STRING, ""),
        ("", None, ""),
    ],
)
def test_a_value_is_json_when_it_parses_else_text(text: str, schema: Any, value: Any) -> None:
    got = field_value(text, schema)
    assert got == value and type(got) is type(value), (got, value)
