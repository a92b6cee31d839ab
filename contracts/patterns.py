"""A schema's ``pattern`` as OpenAPI writes it (an ECMA-262 regular expression), read and sampled in Python.

``to_python`` gives a pattern in Python's ``re`` syntax, meaning the same, and raises ``PatternError`` where
there is no such spelling, so that no checker judges a value by a pattern it misread (``compiled`` also
raises it for what ``re`` cannot compile). It reads the pattern once, skipping escapes and knowing
whether it is inside brackets, and:

- rewrites ``(?<name>`` (outside brackets, not escaped) as ``(?P<name>``; ``$`` (outside brackets, not
  escaped) as ``\\Z``, since Python's ``$`` also matches before a final newline (``^`` needs nothing: in
  both, without the multiline flag, it is the start of the input); ``\\cX`` (X a letter) as the control
  character's ``\\xHH``; ``\\p{L}`` as ``[^\\W\\d_...]`` and ``\\P{L}`` as ``[\\W\\d_...]``, the dots the numbers
  that are not digits (``No``, ``Nl``: Python's ``\\w`` takes them), ``\\p{Nd}`` as ``\\d`` and ``\\P{Nd}`` as
  ``\\D`` (inside brackets ``\\p{Nd}`` and ``\\P{Nd}`` only);
- keeps as written what Python reads alike: characters and classes, the escapes ``\\b \\B \\f \\n \\r \\t
  \\v \\xHH \\uHHHH`` and escaped punctuation, groups ``(...)`` and ``(?:...)``,
  lookarounds, the modifiers ``(?i:...)`` and ``(?s:...)``, numbered back references, repeats and lazy
  repeats;
- refuses: any other property class (and ``\\p{L}``, ``\\P{L}`` inside brackets); the classes ``[]``
  (nothing) and ``[^]`` (any character), which Python reads as a class that goes on; an ASCII letter
  escape not listed above (``\\A \\Z \\z \\a \\G \\N \\U \\e``..., which Python reads otherwise or not at
  all), ``\\k<name>``, ``\\u{...}``, a ``\\u`` surrogate and ``\\c`` without a letter; Python's own groups
  (``(?P...``, ``(?#``, ``(?>``, ``(?(``, flags for the whole pattern such as ``(?i)``) and a modifier
  other than ``i`` and ``s`` (``(?m:...)``: Python's multiline ``$`` is not ECMA's); possessive repeats
  (``a++``, ``a{2}+``) and ``{,n}`` (a repeat in Python, characters in ECMA-262).

``\\d``, ``\\w`` and ``\\s`` are spelled as the classes ECMA-262 (and the server) reads them as: the ASCII
digits, the ASCII word characters, ECMA's white space and line ends (Python's own take other scripts'
digits and letters, and ``\\x1c``-``\\x1f`` and ``\\x85`` but not ``\\ufeff``); ``\\D``, ``\\W`` and ``\\S`` as their
complements, which have no spelling inside brackets (refused there), and no class escape may start a
range. Where Python still reads otherwise, it reads as the server's validator (jsonschema-rs) does. As
the server, Python's ``.`` takes ``\\r``, ``\\u2028`` and ``\\u2029``, ``\\b`` sees Unicode words, and a back reference to a group that
took no part fails, where ECMA-262's matches the empty string. Classes follow Python's Unicode database
(Unicode 14.0 in Python 3.11), which may be older than the server's: a character assigned since reads
as unassigned here.

``Draft4`` is Python's Draft 4 validator with ``pattern`` read so: a pattern with no exact spelling judges
nothing there (the server still judges by it). Every checker that validates against a spec's schemas
uses it.

``sample`` draws a string a pattern matches, from the pattern itself, with the caller's random source.

``in_document`` finds every regular expression of an OpenAPI document's schemas (each ``pattern`` and
each ``patternProperties`` key), and ``not_ecma`` names those that are no ECMA-262 pattern: the one check
``serve --spec`` and ``export`` make, in place of the OpenAPI validators', which read patterns with
Python's ``re`` (``is_regex_complaint`` picks those complaints out).
"""

from __future__ import annotations

import functools
import random
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from re import _parser
from typing import Any

import jsonschema
import jsonschema_rs

from contracts.errors import ContractsError
from contracts.oas30 import pointer_to

__all__ = [
    "Draft4",
    "PatternError",
    "compiled",
    "in_document",
    "is_ecma",
    "is_regex_complaint",
    "not_ecma",
    "sample",
    "to_python",
]


class PatternError(ContractsError, ValueError):
    """A pattern Python cannot read as ECMA-262 reads it."""


_PROPERTY = re.compile(r"\\([pP])\{(\w+)\}")
_NAMED_GROUP = re.compile(r"\(\?<([^>=!][^>]*)>")  # (?<name>, not the lookbehinds (?<= and (?<!
_MODIFIERS = re.compile(r"\(\?([a-zA-Z]*)(?:-([a-zA-Z]*))?:")  # (?:...), (?i:...), (?-s:...)
_CONTROL = re.compile(r"\\c([A-Za-z])")
_CODE_UNIT = re.compile(r"\\u([0-9A-Fa-f]{4})")
_BRACES = re.compile(r"\{(\d*)(,?)(\d*)\}")
# The letters ECMA-262 escapes that Python reads alike (\b: a word boundary, inside brackets a backspace).
_SAME_LETTER_ESCAPES = frozenset("dDwWsSbBfnrtvx")
# Inside brackets only the digits have a spelling: the letters' is a class of its own, which cannot nest.
_EXACT_CLASSES = {("p", "Nd"): r"\d", ("P", "Nd"): r"\D"}


@functools.cache
def _other_numbers() -> str:
    """The members, for a class, of the numbers that are not digits (``No``, ``Nl``: ``²``, ``½``, ``Ⅷ``),
    which Python's ``\\w`` takes besides the letters, the digits and ``_``."""
    members: list[str] = []
    start = None
    for code in range(0x110001):
        number = code < 0x110000 and unicodedata.category(chr(code)) in {"No", "Nl"}
        if number and start is None:
            start = code
        elif not number and start is not None:
            members.append(
                re.escape(chr(start)) + (f"-{re.escape(chr(code - 1))}" if code - 1 > start else "")
            )
            start = None
    return "".join(members)


def _letters(negated: bool) -> str:
    """``\\p{L}`` (``\\P{L}``: negated) in Python: ``\\w`` but for the digits, ``_`` and the other numbers."""
    return ("[" if negated else "[^") + r"\W\d_" + _other_numbers() + "]"


def to_python(pattern: str) -> str:
    """``pattern`` in Python's syntax, meaning the same; ``PatternError`` when there is no such spelling."""

    def spelled(negated: bool, name: str, inside: bool) -> str:
        if name == "L" and not inside:
            return _letters(negated)
        exact = _EXACT_CLASSES.get(("P" if negated else "p", name))
        if exact is None:
            where = "inside brackets " if inside else ""
            raise PatternError(
                f"{pattern!r}: Python's re has no class {_written(negated, name)} {where}".rstrip()
            )
        return exact

    return _rewrite(pattern, spelled, ecma_classes=True)


def _written(negated: bool, name: str) -> str:
    return ("\\P{" if negated else "\\p{") + name + "}"


def _rewrite(pattern: str, spell: Callable[[bool, str, bool], str], *, ecma_classes: bool = False) -> str:
    """``pattern`` in Python's syntax: ECMA's named groups ``(?<name>`` as ``(?P<name>``, ``$`` as ``\\Z``,
    ``\\cX`` as the control character's ``\\xHH``, each property class ``\\p{Name}`` (``\\P{Name}``: negated)
    as ``spell(negated, name, inside_brackets)`` gives it; ``PatternError`` for what Python reads otherwise.

    One pass over the text, which skips escapes and knows whether it is inside brackets: only outside
    them, and not escaped, is ``(?`` a group, ``$`` an anchor and ``{`` a repeat. With ``ecma_classes``,
    ``\\d``, ``\\w``, ``\\s`` and their negations are spelled as ECMA-262 reads them (``_ECMA_CLASSES``)."""

    def refuse(what: str) -> PatternError:
        return PatternError(f"{pattern!r}: {what}")

    out: list[str] = []
    inside = False
    repeated = False  # the last thing written (outside brackets) is a repeat: ``+`` after it is Python's
    at = 0
    while at < len(pattern):
        char = pattern[at]
        was_repeated, repeated = repeated, False
        if char == "\\":
            piece, at = _escape(pattern, at, inside, spell, refuse, ecma_classes)
            out.append(piece)
            continue
        if inside:
            inside = char != "]"
            out.append(char)
            at += 1
            continue
        if char == "[":
            for empty in ("[]", "[^]"):  # ECMA: nothing, any character; Python reads ] as a member
                if pattern.startswith(empty, at):
                    raise refuse(f"the class {empty} has no Python spelling")
            inside = True
            out.append(char)
            at += 1
        elif pattern.startswith("(?", at):
            piece, at = _group(pattern, at, refuse)
            out.append(piece)
        elif char == "$":  # Python's $ also matches before a final newline; ECMA's only at the end
            out.append("\\Z")
            at += 1
        elif char == "{" and (braces := _BRACES.match(pattern, at)) is not None and braces[1] + braces[3]:
            if not braces[1]:  # {,n}: at most n in Python, five characters in ECMA
                raise refuse(f"{braces[0]} is a repeat in Python, characters in ECMA-262")
            if was_repeated:
                raise refuse(f"{braces[0]} after a repeat: ECMA-262 has nothing to repeat")
            out.append(braces[0])
            at = braces.end()
            repeated = True
        else:
            if char in "*+?" and was_repeated:
                if char == "+":
                    raise refuse("a possessive repeat (a repeat, then +) is Python's, not ECMA-262's")
                # a lazy repeat: ? after it ends it
            else:
                repeated = char in "*+?"
            out.append(char)
            at += 1
    return "".join(out)


def _escape(
    pattern: str,
    at: int,
    inside: bool,
    spell: Callable[[bool, str, bool], str],
    refuse: Callable[[str], PatternError],
    ecma_classes: bool = False,
) -> tuple[str, int]:
    """The escape at ``pattern[at]`` in Python's syntax, and where the text goes on."""
    letter = pattern[at + 1 : at + 2]
    if ecma_classes and letter in _ECMA_CLASSES:
        members = _ECMA_CLASSES[letter.lower()]
        if inside and pattern[at + 2 : at + 3] == "-" and pattern[at + 3 : at + 4] not in ("", "]"):
            raise refuse(f"\\{letter}-... : a class escape cannot start a range (the server refuses it)")
        if letter.islower():
            return (members if inside else f"[{members}]"), at + 2
        if inside:  # a class cannot hold the complement of another
            raise refuse(f"\\{letter} inside brackets has no exact Python spelling")
        return f"[^{members}]", at + 2
    if letter in {"p", "P"} and (found := _PROPERTY.match(pattern, at)) is not None:
        return spell(found[1] == "P", found[2], inside), found.end()
    if letter == "c":
        if (found := _CONTROL.match(pattern, at)) is None:
            raise refuse("\\c is followed by no letter (the server refuses it)")
        return f"\\x{ord(found[1]) % 32:02x}", found.end()
    if letter == "u":
        if pattern.startswith("\\u{", at):
            raise refuse(
                "\\u{...} is 'u' repeated in ECMA-262 without the u flag, a code point to the server"
            )
        found = _CODE_UNIT.match(pattern, at)
        if found is not None and 0xD800 <= int(found[1], 16) <= 0xDFFF:
            raise refuse(f"{found[0]} is a UTF-16 surrogate, which no Python string holds in a pair")
    elif letter == "k":
        raise refuse("\\k<name>, a named back reference, has no exact spelling (the server refuses it)")
    elif letter.isascii() and letter.isalpha() and letter not in _SAME_LETTER_ESCAPES:
        raise refuse(f"\\{letter} is no ECMA-262 escape (Python reads it otherwise, or not at all)")
    return pattern[at : at + 2], at + 2


# \d, \w and \s as ECMA-262 (and the server) read them, as the members of a class: the ASCII digits, the
# ASCII word characters, and ECMA's white space and line ends (Python's \d and \w also take other scripts'
# digits and letters; its \s takes \x1c-\x1f and \x85, and not \ufeff).
_ECMA_CLASSES = {
    "d": "0-9",
    "w": "A-Za-z0-9_",
    "s": "\\t\\n\\x0b\\x0c\\r \\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff",
}
_ECMA_CLASSES.update({letter.upper(): members for letter, members in _ECMA_CLASSES.items()})


def _group(pattern: str, at: int, refuse: Callable[[str], PatternError]) -> tuple[str, int]:
    """The group opening ``(?`` at ``pattern[at]`` in Python's syntax, and where the text goes on."""
    if pattern.startswith(("(?=", "(?!", "(?<=", "(?<!"), at):
        return "(?", at + 2
    if (named := _NAMED_GROUP.match(pattern, at)) is not None:
        return f"(?P<{named[1]}>", named.end()
    modifiers = _MODIFIERS.match(pattern, at)
    if modifiers is not None and set(modifiers[1] + (modifiers[2] or "")) <= set("ims"):
        if "m" in modifiers[1] + (modifiers[2] or ""):
            raise refuse(f"{modifiers[0]}: Python's multiline $ and ^ see only \\n as a line's end")
        return modifiers[0], modifiers.end()
    opening = pattern[at : at + 4] if pattern.startswith("(?P", at) else pattern[at : at + 3]
    raise refuse(f"{opening}... is Python's syntax (an unknown extension in ECMA-262)")


def is_ecma(pattern: object) -> bool:
    """Whether ``pattern`` is an ECMA-262 regular expression, as OpenAPI and JSON Schema say a ``pattern`` is,
    read as the mock's request validator (jsonschema-rs) reads it: ``(?<name>...)`` and ``\\p{L}`` are,
    ``(?P<name>...)`` is not. (The OpenAPI validators read patterns with Python's ``re``, which refuses
    the first two; whether Python can read one exactly is ``compiled``'s question.)"""
    try:
        jsonschema_rs.Draft4Validator({"pattern": pattern})
    except (jsonschema_rs.ValidationError, ValueError):
        return False
    return True


# Keys whose values are data, not schemas: a ``pattern`` key in them is a value like any other.
_DATA = frozenset({"default", "enum", "const", "example", "examples"})
# Maps whose keys are names the author chose (a property, a component, a status code or ``default``, a
# header, a media type, a scope...): such a key is never a keyword, so a property named ``pattern`` or
# ``example`` and the ``default`` response are read like any other.
_NAMES = frozenset(
    {
        "properties",
        "patternProperties",
        "dependentSchemas",
        "dependencies",
        "definitions",
        "$defs",
        "schemas",
        "responses",
        "parameters",
        "requestBodies",
        "headers",
        "securitySchemes",
        "links",
        "callbacks",
        "pathItems",
        "paths",
        "webhooks",
        "content",
        "encoding",
        "mapping",
        "scopes",
        "variables",
    }
)
# Name maps where an ``x-`` key is still an extension (an operation's responses; a component may be so named).
_EXTENSIBLE = frozenset({"paths", "responses"})
_LINK_DATA = frozenset({"parameters", "requestBody"})  # a Link's values (or runtime expressions)


def in_document(document: Any) -> Iterator[tuple[str, str]]:
    """(JSON pointer, pattern) of every regular expression an OpenAPI document's schemas hold, in the order
    written: each ``pattern`` and each ``patternProperties`` key (its pointer the key's own). Values that
    are data are not searched: ``default``, ``enum``, ``const``, ``example``, ``examples`` (and so Example
    Objects), a Link's ``parameters`` and ``requestBody``, and extensions (``x-``); but a name the author
    chose is no keyword (a property named ``example``, the ``default`` response, a header named ``x-id``)."""
    return _in_object(document, (), "")


def _in_object(node: Any, at: tuple[str, ...], member_of: str) -> Iterator[tuple[str, str]]:
    """The patterns of an object (or a list of them) whose keys are OpenAPI's or JSON Schema's words;
    ``member_of``: the name map it is a value of, if any."""
    if isinstance(node, list):
        for index, item in enumerate(node):
            yield from _in_object(item, (*at, str(index)), "")
        return
    if not isinstance(node, Mapping):
        return
    for key, value in node.items():
        key = str(key)
        where = (*at, key)
        if key in _DATA or key.startswith("x-") or (member_of == "links" and key in _LINK_DATA):
            continue
        if key == "pattern" and isinstance(value, str):
            yield pointer_to(where), value
        elif key in _NAMES and isinstance(value, Mapping):
            if key == "patternProperties":
                yield from ((pointer_to((*where, str(name))), str(name)) for name in value)
            extensible = key in _EXTENSIBLE and at != ("components",)
            for name, member in value.items():
                if not (extensible and str(name).startswith("x-")):
                    yield from _in_object(member, (*where, str(name)), key)
        else:
            yield from _in_object(value, where, "")


def not_ecma(document: Any) -> list[str]:
    """Each regular expression of the document (``in_document``) that is no ECMA-262 pattern (``is_ecma``),
    as ``POINTER: 'PATTERN' is not an ECMA-262 regular expression (as OpenAPI patterns are)``."""
    return [
        f"{where}: {pattern!r} is not an ECMA-262 regular expression (as OpenAPI patterns are)"
        for where, pattern in in_document(document)
        if not is_ecma(pattern)
    ]


def is_regex_complaint(error: Any) -> bool:
    """Whether an OpenAPI validator's error (openapi-spec-validator) is its judgement of a pattern: it
    reads them with Python's ``re``, which refuses ECMA's ``(?<name>...)`` and ``\\p{L}`` and takes Python's
    own ``(?P<name>...)``; ``not_ecma`` judges them instead."""
    return bool(error.validator == "format" and error.validator_value == "regex")


@functools.lru_cache(maxsize=1024)
def compiled(pattern: str) -> re.Pattern[str]:
    """The pattern compiled for ``search`` (ECMA patterns are not anchored); ``PatternError`` when Python
    cannot read it as ECMA-262 does."""
    try:
        return re.compile(to_python(pattern))
    except re.error as exc:
        raise PatternError(f"{pattern!r}: {exc}") from None


def _ecma_pattern(validator: Any, pattern: str, instance: Any, _schema: Any) -> Iterator[Any]:
    """``pattern`` read as ECMA-262 (``compiled``); one with no exact Python spelling judges nothing here
    (the server, whose validator reads ECMA-262, still judges by it)."""
    if not validator.is_type(instance, "string"):
        return
    try:
        found = compiled(pattern).search(instance)
    except PatternError:
        return
    if found is None:
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


Draft4: Any = jsonschema.validators.extend(jsonschema.Draft4Validator, {"pattern": _ecma_pattern})
"""Python's Draft 4 validator with ``pattern`` read as ECMA-262: the one every checker validates with."""


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
    drawing = _drawing(pattern)
    if drawing is None:
        return None
    python, tree = drawing
    for _ in range(5):
        try:
            drawn = _emit(tree, rng)
        except _CannotDraw:
            return None
        if python.search(drawn):
            return drawn
    return None


@functools.lru_cache(maxsize=1024)
def _drawing(pattern: str) -> tuple[re.Pattern[str], Any] | None:
    """``pattern`` compiled for drawing and its parsed tree (which ``_emit`` only reads), once per pattern:
    the generator draws several times for every patterned field of every answer it makes."""
    try:
        python = re.compile(_drawable(pattern))
        return python, _parser.parse(python.pattern, python.flags)
    except (PatternError, re.error):
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
