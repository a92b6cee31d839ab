"""JSON bodies on the request path: orjson, and the standard library for what orjson refuses.

orjson parses and writes a small body several times faster than ``json`` (see bench/), but differs
from it at the edges: it reads an integer past 64 bits as a float, and refuses ``NaN`` and ``Infinity``
literals, numbers too big for a float, and keys that are not strings. A body with a run of 19 digits or
more (where every integer past 64 bits hides) and anything orjson refuses go to ``json``, so a request
body means what it means to ``json`` and a bad one gets ``json``'s error message; but for numbers that
are not finite, which ``json`` reads and JSON has not (``NaN``, ``Infinity``, and a number past a double,
``1e400``, read as infinity): ``NotFinite`` refuses them, naming the field (the schema validator would see
such a float as ``null``). Replies are compact (no space after separators); orjson writes a non-finite
float as ``null``, valid JSON where ``json``'s ``NaN`` is not.

Every body is also held to ``MAX_DEPTH`` levels of nesting, checked without recursion, so that nothing
after the parse (schema validation, the journal) meets a structure too deep for it. A body larger than
``LARGE_BODY`` is read by ``parse_gradually``, meant for a worker thread: the standard library's
pure-Python scanner lets the interpreter switch threads every few milliseconds, where orjson and the C
scanner hold the interpreter for the whole document (about 70 ms for 8 MB of leads here, 170 ms for
20 MiB), so other requests keep being answered while a big push is read.
"""

from __future__ import annotations

import json
import json.scanner
import math
from typing import Any

import orjson

from mockserver.errors import MocklineError

# Every digit becomes "0" and everything else a space, so that a run of 19 digits is a plain substring
# search (a regular expression takes several times as long on a body of a few hundred bytes).
_DIGITS_AS_ZERO = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
_LONG_DIGITS = b"0" * 19
_encode_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

MAX_DEPTH = 64
"""Arrays and objects nested deeper than this are refused (vendor bodies nest five levels at most)."""
LARGE_BODY = 1024 * 1024
"""Bodies larger than this are read by ``parse_gradually``, off the event loop."""


class TooDeep(MocklineError, ValueError):
    """The document nests arrays and objects more than ``MAX_DEPTH`` levels deep."""

    def __init__(self) -> None:
        super().__init__(f"nested more than {MAX_DEPTH} levels deep; at most {MAX_DEPTH} are accepted")


class NotFinite(MocklineError, ValueError):
    """The document holds a number that is not finite: ``NaN`` or ``Infinity`` (which ``json`` reads and
    JSON has not) or one past a double (``1e400``). ``location`` names it (``body.seconds``), ``rule`` says
    what is wrong with it, whatever the field's schema (``is NaN, which is not valid JSON (...)``)."""

    def __init__(self, location: str, written: str) -> None:
        if written.lstrip("-") in ("NaN", "Infinity"):
            self.rule = f"is {written}, which is not valid JSON (NaN and Infinity are not JSON numbers)"
        else:
            self.rule = f"is {written}, a number too large for a double (at most about 1.8e308)"
        self.location = location
        super().__init__(f"{location} {self.rule}")


class _Written(float):
    """A number that is not finite, as the document wrote it; never leaves this module."""

    written: str


class _Finite:
    """Hooks for ``json``'s ``parse_constant`` and ``parse_float``: a number that is not finite becomes a
    ``_Written`` (and ``seen`` says one was met), so that ``check`` can name where it stands (nowhere, if a
    duplicate key replaced it)."""

    def __init__(self) -> None:
        self.seen = False

    def on_constant(self, text: str) -> float:
        return self._written(text)

    def on_float(self, text: str) -> float:
        value = float(text)
        return value if math.isfinite(value) else self._written(text)

    def _written(self, text: str) -> float:
        self.seen = True
        number = _Written(text)
        number.written = text
        return number

    def check(self, value: Any) -> None:
        if not self.seen:
            return
        stack: list[tuple[Any, str]] = [(value, "body")]
        while stack:  # in document order, without recursion
            node, where = stack.pop()
            if isinstance(node, _Written):
                raise NotFinite(where, node.written)
            if isinstance(node, dict):
                stack.extend((node[key], f"{where}.{key}") for key in reversed(node))
            elif isinstance(node, list):
                stack.extend((node[i], f"{where}[{i}]") for i in reversed(range(len(node))))


def parse(raw: bytes) -> Any:
    """A UTF-8 JSON document; raises ``UnicodeDecodeError`` or ``json.JSONDecodeError`` as ``json``
    does, ``NotFinite`` and ``TooDeep``."""
    if _LONG_DIGITS not in raw.translate(_DIGITS_AS_ZERO):
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:
            value = _standard(raw)
    else:
        value = _standard(raw)
    # No document with this few brackets can nest deeper (the usual case: two byte counts).
    if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH:
        _check_depth(value)
    return value


def _standard(raw: bytes) -> Any:
    finite = _Finite()
    try:
        value = json.loads(
            raw.decode("utf-8"), parse_constant=finite.on_constant, parse_float=finite.on_float
        )
    except RecursionError:  # the C scanner past the interpreter's recursion limit
        raise TooDeep() from None
    finite.check(value)
    return value


def parse_gradually(raw: bytes) -> Any:
    """What ``parse`` reads, with the standard library's pure-Python scanner (slower, but it yields the
    interpreter to other threads as it goes). Meant for ``asyncio.to_thread``."""
    finite = _Finite()
    decoder = json.JSONDecoder(parse_constant=finite.on_constant, parse_float=finite.on_float)
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # type: ignore[attr-defined]
    try:
        value = decoder.decode(raw.decode("utf-8"))
    except RecursionError:
        raise TooDeep() from None
    _check_depth(value)
    finite.check(value)
    return value


def _check_depth(value: Any) -> None:
    if not isinstance(value, dict | list):
        return
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise TooDeep()
        for child in node.values() if isinstance(node, dict) else node:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))


def encode(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError:  # an integer past 64 bits, a key that is not a string
        return _encode_json(value).encode("utf-8")
