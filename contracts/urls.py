"""Path values on the wire: the one place ``mockline verify`` percent-encodes (and decodes) them.

A path value goes onto the wire exactly once through :func:`encode_path_value`. Values come from two
places, and each is brought to its raw form first:

- a value a server answered (a created id) or one of our own is raw already;
- a value Schemathesis generated sits in ``case.path_parameters`` already encoded by Schemathesis (it
  quotes path values as it generates them), so :func:`case_path_values` decodes it once.

Every request verify builds itself (auth probes, follow-ups to a created or deleted id) gets its URL from
:func:`request_url`; nothing else in ``contracts/`` quotes a path value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, unquote

_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


def encode_path_value(value: Any) -> str:
    """One path segment's value, percent-encoded once: every byte outside RFC 3986's unreserved set.

    ``/`` is encoded (a value is one segment), and so are ``.`` and ``..`` on their own, which a client
    or server would otherwise read as a move in the path.
    """
    text = _text(value)
    if text == ".":
        return "%2E"
    if text == "..":
        return "%2E%2E"
    return quote(text, safe="")


def decode_path_value(wire: str) -> str:
    """The raw value of an encoded path segment (the inverse of :func:`encode_path_value`)."""
    return unquote(wire)


def case_path_values(case: Any) -> dict[str, str]:
    """A Schemathesis case's path parameters as raw values (Schemathesis keeps them encoded)."""
    values: dict[str, str] = {}
    for name, value in (case.path_parameters or {}).items():
        values[name] = decode_path_value(value) if isinstance(value, str) else _text(value)
    return values


def expand_path(template: str, raw_values: Mapping[str, Any]) -> str | None:
    """``template`` with each ``{name}`` replaced by its encoded value; None when a value is missing."""
    missing = False

    def substitute(match: re.Match[str]) -> str:
        nonlocal missing
        name = match.group(1)
        if raw_values.get(name) is None:
            missing = True
            return match.group(0)
        return encode_path_value(raw_values[name])

    path = _PLACEHOLDER.sub(substitute, template)
    return None if missing else path


def request_url(base_url: str, template: str, raw_values: Mapping[str, Any]) -> str | None:
    """The absolute URL for an operation's path template and raw path values."""
    path = expand_path(template, raw_values)
    return None if path is None else base_url.rstrip("/") + path


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)
