"""A schema's ``pattern`` as OpenAPI writes it (an ECMA-262 regular expression), read and sampled in Python.

Python's ``re`` reads most ECMA-262 patterns alike, but refuses two things specs write: named groups
``(?<name>...)`` and Unicode property classes ``\\p{L}``. ``to_python`` rewrites those whose Python
spelling means the same (``(?P<name>...)``; ``\\p{L}`` as ``[^\\W\\d_]``, the letters; ``\\p{Nd}`` as ``\\d``);
a pattern it cannot rewrite exactly (another property class, one inside brackets) raises
``PatternError``, so that no checker judges a value by a pattern it misread. (Python's ``\\d`` and ``\\w``
also take other scripts' digits and letters, where ECMA's take ASCII only: the checks here use them as
Schemathesis and jsonschema do.)

``sample`` draws a string a pattern matches, from the pattern itself, with the caller's random source.
"""

from __future__ import annotations

import functools
import random
import re
from collections.abc import Callable
from re import _parser
from typing import Any

from contracts.errors import ContractsError

__all__ = ["PatternError", "compiled", "sample", "to_python"]


class PatternError(ContractsError, ValueError):
    """A pattern Python cannot read as ECMA-262 reads it."""


_NAMED_GROUP = re.compile(r"\(\?<(?![=!])")  # (?<name>, not the lookbehinds (?<= and (?<!
_PYTHON_GROUP = re.compile(r"(?<!\\)\(\?P")  # (?P<name>...), (?P=name): Python's alone
_PROPERTY = re.compile(r"\\([pP])\{(\w+)\}")
# Inside brackets only the digits have a spelling: the letters' is a class of its own, which cannot nest.
_EXACT_IN_BRACKETS = {("p", "Nd"): r"\d", ("P", "Nd"): r"\D"}
_EXACT_CLASSES = {("p", "L"): r"[^\W\d_]", ("P", "L"): r"[\W\d_]", ("p", "Nd"): r"\d", ("P", "Nd"): r"\D"}


def to_python(pattern: str) -> str:
    """``pattern`` in Python's syntax, meaning the same; ``PatternError`` when there is no such spelling."""

    def spelled(negated: bool, name: str, inside: bool) -> str:
        exact = (_EXACT_IN_BRACKETS if inside else _EXACT_CLASSES).get(("P" if negated else "p", name))
        if exact is None:
            where = "inside brackets " if inside else ""
            raise PatternError(
                f"{pattern!r}: Python's re has no class {_written(negated, name)} {where}".rstrip()
            )
        return exact

    return _rewrite(pattern, spelled)


def _written(negated: bool, name: str) -> str:
    return ("\\P{" if negated else "\\p{") + name + "}"


def _rewrite(pattern: str, spell: Callable[[bool, str, bool], str]) -> str:
    """``pattern`` with ECMA's named groups in Python's spelling and each property class ``\\p{Name}``
    (``\\P{Name}``: negated) as ``spell(negated, name, inside_brackets)`` gives it."""
    if _PYTHON_GROUP.search(pattern):
        raise PatternError(f"{pattern!r}: (?P...) is Python's syntax, unknown extension in ECMA-262")
    text = _NAMED_GROUP.sub("(?P<", pattern)
    out: list[str] = []
    inside = False
    at = 0
    while at < len(text):
        char = text[at]
        if char == "\\":
            found = _PROPERTY.match(text, at)
            if found is not None:
                out.append(spell(found[1] == "P", found[2], inside))
                at = found.end()
                continue
            out.append(text[at : at + 2])
            at += 2
            continue
        if char == "[" and not inside:
            inside = True
            if text[at + 1 : at + 2] == "]":  # ECMA's [] matches nothing; Python reads ] as a member
                raise PatternError(f"{pattern!r}: an empty class [] has no Python spelling")
        elif char == "]" and inside:
            inside = False
        out.append(char)
        at += 1
    return "".join(out)


@functools.lru_cache(maxsize=1024)
def compiled(pattern: str) -> re.Pattern[str]:
    """The pattern compiled for ``search`` (ECMA patterns are not anchored); ``PatternError`` when Python
    cannot read it as ECMA-262 does."""
    try:
        return re.compile(to_python(pattern))
    except re.error as exc:
        raise PatternError(f"{pattern!r}: {exc}") from None


_ASCII = [chr(c) for c in range(0x20, 0x7F)]  # what draws are made of: printable ASCII and the space
_PRINTABLE = _ASCII[1:]
_CATEGORIES: dict[str, Callable[[str], bool]] = {
    "CATEGORY_DIGIT": str.isdigit,
    "CATEGORY_NOT_DIGIT": lambda c: not c.isdigit(),
    "CATEGORY_WORD": lambda c: c.isalnum() or c == "_",
    "CATEGORY_NOT_WORD": lambda c: not (c.isalnum() or c == "_"),
    "CATEGORY_SPACE": str.isspace,
    "CATEGORY_NOT_SPACE": lambda c: not c.isspace(),
}


def _category(name: Any) -> list[str]:
    """The ASCII characters of ``\\d``, ``\\W``, ``\\s`` and the like."""
    test = _CATEGORIES.get(str(name))
    return [c for c in _ASCII if test(c)] if test is not None else ["x"]


_MORE = 6  # an open repeat (``+``, ``*``, ``{2,}``) draws at most this many beyond its least


def sample(pattern: str, rng: random.Random) -> str | None:
    """A string ``pattern`` matches (checked), drawn from its literals, classes, repeats, groups and
    alternatives; None for a pattern that cannot be read or drawn (a back reference, a lookaround that
    the draws do not meet)."""
    try:
        python = re.compile(_drawable(pattern))
        tree = _parser.parse(python.pattern, python.flags)
    except (PatternError, re.error):
        return None
    for _ in range(5):
        try:
            drawn = _emit(tree, rng)
        except _CannotDraw:
            return None
        if python.search(drawn):
            return drawn
    return None


_ASCII_CLASSES = {"L": "A-Za-z", "Lu": "A-Z", "Ll": "a-z", "N": "0-9", "Nd": "0-9"}


def _drawable(pattern: str) -> str:
    """``pattern`` in Python's syntax for drawing ASCII strings: each property class as its ASCII part
    (exact for the ASCII characters draws are made of, so a draw that matches this matches ``pattern``)."""

    def ascii_class(negated: bool, name: str, inside: bool) -> str:
        ranges = _ASCII_CLASSES.get(name)
        if ranges is None or (inside and negated):
            raise PatternError(f"{pattern!r}: no ASCII part of {_written(negated, name)} to draw from")
        if inside:
            return ranges
        return f"[^{ranges}]" if negated else f"[{ranges}]"

    return _rewrite(pattern, ascii_class)


class _CannotDraw(ContractsError):
    pass


def _emit(items: Any, rng: random.Random) -> str:
    out: list[str] = []
    for op, arg in items:
        kind = str(op)
        if kind == "LITERAL":
            out.append(chr(arg))
        elif kind == "NOT_LITERAL":
            out.append(rng.choice([c for c in _PRINTABLE if c != chr(arg)]))
        elif kind == "IN":
            out.append(_in_class(arg, rng))
        elif kind in {"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"}:
            low, high, sub = arg
            out += [_emit(sub, rng) for _ in range(rng.randint(low, min(high, low + _MORE)))]
        elif kind in {"SUBPATTERN", "ATOMIC_GROUP"}:
            out.append(_emit(arg[-1], rng))
        elif kind == "BRANCH":
            out.append(_emit(rng.choice(arg[1]), rng))
        elif kind == "CATEGORY":
            out.append(rng.choice(_category(arg)))
        elif kind == "ANY":
            out.append(rng.choice("abcdefghijklmnopqrstuvwxyz"))
        elif kind not in {"AT", "ASSERT", "ASSERT_NOT"}:  # anchors and lookarounds draw nothing
            raise _CannotDraw(kind)  # a back reference, a conditional
    return "".join(out)


def _in_class(items: Any, rng: random.Random) -> str:
    negate = False
    choices: list[str] = []
    for kind, value in items:
        kind = str(kind)
        if kind == "NEGATE":
            negate = True
        elif kind == "RANGE":
            choices += [chr(c) for c in range(value[0], min(value[1], value[0] + 255) + 1)]
        elif kind == "LITERAL":
            choices.append(chr(value))
        elif kind == "CATEGORY":
            choices += _category(value)
    if negate:
        banned = set(choices)
        choices = [c for c in _PRINTABLE if c not in banned]
    return rng.choice(choices or ["x"])
