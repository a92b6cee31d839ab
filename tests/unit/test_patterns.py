"""OpenAPI's ECMA-262 patterns, read in Python (``contracts.patterns``) and used by the checkers."""

from __future__ import annotations

import random
import re
from typing import Any

import jsonschema_rs
import pytest

from contracts import negatives, patterns


@pytest.mark.parametrize(
    ("pattern", "matches", "refused"),
    [
        (r"^(?<year>\d{4})-(?<month>\d{2})$", ["2024-05"], ["2024-5", "24-05"]),
        (r"^\p{L}+$", ["Ünïcödé", "abc", "Ωμέγα"], ["abc1", "a_b", "a b", ""]),
        (r"^\P{L}+$", ["123_ -"], ["1a"]),
        (r"^\p{Nd}{3}$", ["123"], ["12a"]),
        (r"(?<=a)b", ["ab"], ["cb"]),  # a lookbehind is not a named group
        (r"^[A-Z]{3}$", ["ABC"], ["AB"]),
        (r"^[\p{Nd}x]+$", ["12x", "٣"], ["12y"]),  # \d takes other scripts' digits, as \p{Nd} does
        (r"^\(?<\d+>\)?$", ["<5>", "(<5>)"], ["P<5>", "(P<5>)"]),  # \( is a character, (?< no group
        (r"^[(?<>]+$", ["(?<>", "<"], ["P"]),  # (?< inside brackets: four characters
        (r"^[(?P]+$", ["P", "(?"], ["<"]),  # (?P inside brackets is no Python group
        (r"^\\(?<n>a)$", ["\\a"], ["a"]),  # an escaped backslash, then a named group
        (r"^a$", ["a"], ["a\n", "ab"]),  # ECMA's $ is the end of the input, not before a final newline
        (r"^$", [""], ["\n"]),
        (r"^a", ["ab"], ["\na", "ba"]),  # ^ is the start of the input in both
        (r"^[a$]+$", ["$a"], ["a$b"]),  # $ inside brackets is a character
        (r"^\$$", ["$"], ["$\n"]),
        (r"^a(?=$)", ["a"], ["a\n"]),
        (r"^\cJ$", ["\n"], ["cJ", "\\cJ"]),  # a control character: \cJ is the line feed
        (r"^[\cia]+$", ["\ta"], ["ci"]),
    ],
)
def test_ecma_patterns_mean_in_python_what_they_mean_in_ecma(
    pattern: str, matches: list[str], refused: list[str]
) -> None:
    compiled = patterns.compiled(pattern)
    assert [bool(compiled.search(text)) for text in matches] == [True] * len(matches)
    assert [bool(compiled.search(text)) for text in refused] == [False] * len(refused)


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        (r"^\p{Lu}$", r"no class \p{Lu}"),  # Python's re has no upper-case class of its own
        (r"^[\p{L}0-9]+$", "inside brackets"),
        (r"^(?P<n>a)$", "unknown extension"),  # Python's own spelling is not ECMA's
        ("(", "missing )"),
        (r"\\(?P<n>a)", "(?P"),  # an escaped backslash does not escape the group after it
        (r"^[^]$", "[^]"),  # ECMA: any character; Python: a negated class that goes on
        (r"^[^]a]$", "[^]"),
        (r"^[]$", "[]"),
        (r"\Aa", r"\A"),  # Python: the start; ECMA has no \A
        (r"a\Z", r"\Z"),
        (r"a\z", r"\z"),
        (r"\a", r"\a"),  # Python: the bell character
        (r"\Ga", r"\G"),
        (r"\N{BULLET}", r"\N"),
        (r"\U00000041", r"\U"),
        (r"(?<n>a)\k<n>", r"\k"),
        (r"^\u{41}$", r"\u{"),  # without the u flag ECMA reads 41 u's, the server one A
        (r"^\uD83D\uDE00$", "surrogate"),
        (r"^\c1$", r"\c"),
        (r"(?i)a", "(?i)"),  # Python's flags for the whole pattern
        (r"(?#note)a", "(?#"),
        (r"(?>a)", "(?>"),
        (r"(?m:^a$)", "(?m:"),
        (r"a++", "possessive"),
        (r"a{2}+", "possessive"),
        (r"a{,3}", "{,3}"),  # Python: at most three; ECMA: the five characters
    ],
)
def test_a_pattern_python_cannot_read_as_ecma_does_is_refused(pattern: str, why: str) -> None:
    with pytest.raises(patterns.PatternError, match=re.escape(why)):
        patterns.compiled(pattern)


@pytest.mark.parametrize(
    "pattern",
    [
        r"^(?<year>\d{4})-(?<month>\d{2})$",
        r"^\p{L}{2,5}$",
        r"^[^a-z0-9]{3}$",
        r"^\w+@\w+\.com$",
        r"^(red|green|blue)-\S\s\W$",
        r"^\+1(646|917)555[0-9]{4}$",
    ],
)
def test_a_sample_matches_its_pattern_and_follows_the_seed(pattern: str) -> None:
    drawn = [patterns.sample(pattern, random.Random(7)) for _ in range(3)]
    assert drawn[0] is not None and len(set(drawn)) == 1
    python = pattern.replace("(?<year>", "(?P<year>").replace("(?<month>", "(?P<month>")
    python = python.replace(r"\p{L}", "[^\\W\\d_]")
    assert re.search(python, drawn[0]), drawn[0]


def test_no_sample_for_what_cannot_be_drawn() -> None:
    assert patterns.sample(r"^(a)\1$", random.Random(1)) is None  # a back reference
    assert patterns.sample(r"^[\P{L}]$", random.Random(1)) is None  # no ASCII spelling inside brackets
    assert patterns.sample(r"^\p{Lu}{2}$", random.Random(1)) in {
        a + b for a in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" for b in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    }


def test_the_negative_phase_judges_ecma_patterns_and_leaves_unreadable_ones_to_the_server() -> None:
    # it stopped with re.error on (?<year>...) before: Python's jsonschema reads patterns with re
    month = {"type": "string", "pattern": r"^(?<year>\d{4})-(?<month>\d{2})$"}
    assert negatives.is_valid(month, "2024-05")
    assert not negatives.is_valid(month, "2024-5")
    letters = {"type": "string", "pattern": r"^\p{L}+$"}
    assert negatives.is_valid(letters, "Ünïcödé") and not negatives.is_valid(letters, "a1")
    assert negatives.is_valid({"type": "string", "pattern": r"^\p{Lu}$"}, "anything")
    assert not negatives.is_valid({"type": "string", "pattern": r"^\p{Lu}$"}, 5)  # the type still judges


# ---- escapes and brackets: what ECMA-262 reads there is what Python reads after the rewrite ----------------


# The judge of what ECMA-262 accepts and what a pattern matches: the validator the mock checks requests
# with (jsonschema-rs, whose regular expressions follow ECMA-262). Python after the rewrite must agree with
# it on every string, or the rewrite must refuse the pattern.
AGREEMENT: list[tuple[str, list[str]]] = [
    (r"^(?<year>\d{4})-(?<month>\d{2})$", ["2024-05", "2024-5", "2024-05\n"]),
    (r"^\(?<\d+>\)?$", ["<5>", "(<5>)", "P<5>", "<5>\n"]),
    (r"^[(?<>]+$", ["(?<>", "P", "<<"]),
    (r"^[(?P]+$", ["P", "(?", "<"]),
    (r"\\(?P<n>a)", ["\\a"]),
    (r"^a$", ["a", "a\n", "\na"]),
    (r"^$", ["", "\n"]),
    (r"a$|^b", ["a", "a\n", "b", "\nb"]),
    (r"^[a$]+$", ["$a", "a$b", "$\n"]),
    (r"^[^]$", ["a", "\n"]),
    (r"^[]$", ["", "]"]),
    (r"\Aa", ["a", "Aa"]),
    (r"a\Z", ["a", "aZ"]),
    (r"a\z", ["a", "az"]),
    (r"\a", ["\a", "a"]),
    (r"\Ga", ["a", "Ga"]),
    (r"(?<n>a)\k<n>", ["aa", "ak<n>"]),
    (r"^\u{41}$", ["A", "u" * 41]),
    (r"^\u0041$", ["A", "a"]),
    (r"^\cJ$", ["\n", "cJ"]),
    (r"^\x41\t\v\f$", ["A\t\v\f"]),
    (r"^\p{L}+$", ["Ünïcödé", "abc1"]),
    (r"^[\p{Nd}x]+$", ["12x", "12y"]),
    (r"(?<=a)b", ["ab", "cb"]),
    (r"(?<!a)b", ["ab", "cb"]),
    (r"^(?i:ab)c$", ["ABc", "abC"]),
    (r"^(?:a|b)+$", ["abba", "abc"]),
    (r"^a{2,3}?$", ["aa", "aaaa"]),
    (r"^\w+@\w+\.com$", ["a@b.com", "a@b.com\n"]),
    (r"^\d{3}-\s\S\b", ["123- x", "123-  "]),
    (r"^\/\-\.$", ["/-."]),
    (r"(?i)a", ["A"]),
    (r"(?P<n>a)", ["a"]),
    (r"a++", ["aa"]),
    (r"a{,3}", ["a", "a{,3}"]),
    (r"^.$", ["a", "\n"]),
    # \d, \w and \s as ECMA-262 reads them: Python's took other scripts' digits and letters, and its own
    # spaces (\x1c, \x85) but not \ufeff
    (r"^\d+$", ["123", "\u0661\u0662", "\uff11"]),
    (r"^\D$", ["a", "1", "\u0661"]),
    (r"^\w+$", ["ab_1", "\u00e9", "\u0436"]),
    (r"^\W$", ["-", "a", "\u00e9"]),
    (r"^\s$", [" ", "\u00a0", "\ufeff", "\u3000", "\x1c", "\x85", "\u2028"]),
    (r"^\S$", ["a", "\u00a0", "\x1c", "\x85"]),
    (r"^[\d\s]+$", ["1 2", "\u0661", "\ufeff1", "\x1c"]),
    (r"^[^\w]$", ["\u00e9", "a", "-"]),
    (r"^[\w.-]+@x$", ["a.b-c@x", "\u00e9@x"]),
    (r"^[\D]$", ["a", "1"]),
    (r"^[\d-z]+$", ["1", "-"]),
    (r"^(?i:\w)$", ["A", "\u00c9"]),
]


# The rows Python cannot read exactly as ECMA-262 does: refused, so no checker judges by them. Every other
# row must be read (a rewrite that began refusing ^\d+$ would otherwise pass the agreement test).
REFUSED = {
    r"\\(?P<n>a)",
    r"^[^]$",
    r"^[]$",
    r"\Aa",
    r"a\Z",
    r"a\z",
    r"\a",
    r"\Ga",
    r"(?<n>a)\k<n>",
    r"^\u{41}$",
    r"(?i)a",
    r"(?P<n>a)",
    r"a++",
    r"a{,3}",
    r"^[\D]$",
    r"^[\d-z]+$",
}


def _judged(pattern: str) -> Any:
    try:
        return jsonschema_rs.Draft4Validator({"pattern": pattern})
    except (jsonschema_rs.ValidationError, ValueError):
        return None


@pytest.mark.parametrize(("pattern", "texts"), AGREEMENT)
def test_python_after_the_rewrite_agrees_with_the_servers_ecma_validator(
    pattern: str, texts: list[str]
) -> None:
    judge = _judged(pattern)
    try:
        python = patterns.compiled(pattern)
    except patterns.PatternError:
        assert pattern in REFUSED, f"{pattern!r} has an exact Python spelling, yet was refused"
        return  # refused: no checker judges by it
    assert pattern not in REFUSED, f"{pattern!r} has no exact Python spelling, yet was read"
    assert judge is not None, f"{pattern!r} is no ECMA-262 pattern, yet Python reads it"
    assert [bool(python.search(t)) for t in texts] == [judge.is_valid(t) for t in texts]


def test_the_checkers_validator_reads_patterns_as_ecma() -> None:
    validator = patterns.Draft4({"type": "string", "pattern": r"^(?<year>\d{4})$"})
    assert validator.is_valid("2024") and not validator.is_valid("2024\n") and not validator.is_valid("24")
    assert patterns.Draft4({"pattern": r"^\p{Lu}$"}).is_valid("anything")  # no Python spelling: not judged
    assert not patterns.Draft4({"type": "string", "pattern": r"^\p{Lu}$"}).is_valid(5)


def test_a_letter_class_takes_letters_and_no_other_numbers() -> None:
    # Python's \w takes the numbers that are not digits (superscripts, fractions, Roman numerals): \p{L}
    # is no \w minus \d and _
    letters, others = patterns.compiled(r"^\p{L}$"), patterns.compiled(r"^\P{L}$")
    assert [bool(letters.search(c)) for c in "aΩ一"] == [True] * 3
    assert [bool(letters.search(c)) for c in "²½Ⅷ1_"] == [False] * 5
    assert [bool(others.search(c)) for c in "²½Ⅷ1_"] == [True] * 5


def test_the_mocks_exact_validator_for_big_integers_reads_patterns_as_ecma() -> None:
    # an int64 beyond 2**53 goes to the exact (Python) validator: it stopped with re.error on (?<y>...),
    # and took "12\n" for ^\d+$ where the server's own validator does not
    from mockserver.schemas import CompiledSchema

    schema = CompiledSchema(
        {
            "type": "object",
            "properties": {
                "n": {"type": "integer", "format": "int64"},
                "month": {"type": "string", "pattern": r"^(?<y>\d{4})-\d{2}$"},
                "digits": {"type": "string", "pattern": r"^\d+$"},
            },
        }
    )
    for n in (1, 2**60):
        assert schema.problems({"n": n, "month": "2024-05", "digits": "12"}) == []
        assert [p.location for p in schema.problems({"n": n, "month": "2024-5", "digits": "12\n"})] == [
            "body.digits",
            "body.month",
        ], n


# ---- every regular expression of a document: the one walk serve --spec and export both check with --------


def test_every_schema_pattern_of_a_document_is_found_and_no_value_that_is_data() -> None:
    data = {"pattern": "(?P<data>a)", "type": "string"}  # a value shaped like a schema, but a value
    string = {"type": "string", "pattern": "^p$"}
    schema = {
        "type": "object",
        "default": data,
        "enum": [data],
        "const": data,
        "example": data,
        "examples": [data],
        "x-note": data,
        "properties": {
            "pattern": {"type": "string", "pattern": "^named pattern$"},  # a property named so
            "default": {"type": "string", "pattern": "^named default$"},
            "x-id": {"type": "string", "pattern": "^named x-id$"},
            "list": {"type": "array", "items": {"allOf": [{"type": "string", "pattern": "^in allOf$"}]}},
        },
        "patternProperties": {r"^\p{L}+$": string},
        "discriminator": {"propertyName": "kind", "mapping": {"pattern": "#/components/schemas/example"}},
    }
    document = {
        "openapi": "3.0.3",
        "x-webhooks": {
            "event": {"post": {"requestBody": {"content": {"application/json": {"schema": data}}}}}
        },
        "paths": {
            "x-draft": data,
            "/x": {
                "get": {
                    "parameters": [{"name": "q", "in": "query", "schema": string, "example": data}],
                    "responses": {
                        "default": {
                            "description": "d",
                            "headers": {"x-rate": {"schema": string}},
                            "content": {
                                "application/json": {"schema": schema, "examples": {"e": {"value": data}}}
                            },
                            "links": {
                                "again": {"operationId": "x", "requestBody": data, "parameters": {"p": data}}
                            },
                        },
                        "x-later": data,
                    },
                }
            },
        },
        "components": {
            "schemas": {"example": string},  # a schema named example
            "responses": {"x-error": {"description": "e", "headers": {"h": {"schema": string}}}},
            "examples": {"pattern": {"value": data}},
            "securitySchemes": {
                "o": {
                    "type": "oauth2",
                    "flows": {"implicit": {"authorizationUrl": "u", "scopes": {"pattern": "("}}},
                }
            },
        },
    }
    schema_at = "/paths/~1x/get/responses/default/content/application~1json/schema"
    assert list(patterns.in_document(document)) == [
        ("/paths/~1x/get/parameters/0/schema/pattern", "^p$"),
        ("/paths/~1x/get/responses/default/headers/x-rate/schema/pattern", "^p$"),
        (f"{schema_at}/properties/pattern/pattern", "^named pattern$"),
        (f"{schema_at}/properties/default/pattern", "^named default$"),
        (f"{schema_at}/properties/x-id/pattern", "^named x-id$"),
        (f"{schema_at}/properties/list/items/allOf/0/pattern", "^in allOf$"),
        (f"{schema_at}/patternProperties/^\\p{{L}}+$", r"^\p{L}+$"),  # a key is a pattern too
        (f"{schema_at}/patternProperties/^\\p{{L}}+$/pattern", "^p$"),
        ("/components/schemas/example/pattern", "^p$"),
        ("/components/responses/x-error/headers/h/schema/pattern", "^p$"),
    ]


def test_what_is_not_ecma_is_named_where_it_is_written() -> None:
    document = {
        "components": {
            "schemas": {
                "Year": {"type": "string", "pattern": r"^(?<year>\d{4})$"},
                "Word": {"type": "string", "pattern": r"\p{L}+"},
                "Python": {"type": "string", "pattern": "(?P<n>a)"},
                "Map": {"type": "object", "patternProperties": {"a/(?P<n>b)": {}}},
            }
        }
    }
    assert patterns.not_ecma(document) == [
        "/components/schemas/Python/pattern: '(?P<n>a)' is not an ECMA-262 regular expression"
        " (as OpenAPI patterns are)",
        "/components/schemas/Map/patternProperties/a~1(?P<n>b): 'a/(?P<n>b)' is not an ECMA-262 regular"
        " expression (as OpenAPI patterns are)",
    ]
