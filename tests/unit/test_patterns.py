"""OpenAPI's ECMA-262 patterns, read in Python (``contracts.patterns``) and used by the checkers."""

from __future__ import annotations

import random
import re

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
