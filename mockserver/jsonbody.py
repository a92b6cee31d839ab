"""JSON bodies on the request path: orjson, and the standard library for what orjson refuses.

orjson parses and writes a small body several times faster than ``json`` (see bench/), but differs
from it at the edges: it reads an integer past 64 bits as a float, and refuses ``NaN`` and ``Infinity``
literals, numbers too big for a float, and keys that are not strings. A body with a run of 19 digits or
more (where every integer past 64 bits hides) and anything orjson refuses go to ``json``, so a request
body means what it means to ``json`` and a bad one gets ``json``'s error message. Replies are compact
(no space after separators); orjson writes a non-finite float as ``null``, valid JSON where ``json``'s
``NaN`` is not.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

# Every digit becomes "0" and everything else a space, so that a run of 19 digits is a plain substring
# search (a regular expression takes several times as long on a body of a few hundred bytes).
_DIGITS_AS_ZERO = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
_LONG_DIGITS = b"0" * 19
_encode_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def parse(raw: bytes) -> Any:
    """A UTF-8 JSON document; raises ``UnicodeDecodeError``, ``json.JSONDecodeError`` or
    ``RecursionError`` as ``json`` does."""
    if _LONG_DIGITS not in raw.translate(_DIGITS_AS_ZERO):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    return json.loads(raw.decode("utf-8"))


def encode(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError:  # an integer past 64 bits, a key that is not a string
        return _encode_json(value).encode("utf-8")
