"""What the mock was asked and what it answered, newest last, bounded in size.

An entry is recorded on every request, so it is kept cheap: a JSON body stays the bytes that came in
(``body_json``) and is parsed only when the journal is read, and the entry holds no list, so Python's
cyclic garbage collector never has to visit it (see bench/).

Secrets never leave it: when the journal is read, the values of secret headers (``Authorization``,
``x-access-token``, ``Auth-Token``, cookies, any header naming a token, key, secret or password), of
secret fields at any depth of a body or query string (passwords, client secrets, tokens, OAuth codes and
assertions), and whatever a validation message quoted of them read ``[redacted]``. The journal holds them
as they came (the request path stays cheap) and redacts each view it hands out.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import deque
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

from mockserver import jsonbody
from mockserver.core import pages
from mockserver.core.clock import iso
from mockserver.core.pages import Page


class Journal:
    def __init__(self, size: int) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=size)
        self._ids = itertools.count(1)

    def record(self, entry: dict[str, Any]) -> None:
        entry["id"] = next(self._ids)
        self._entries.append(entry)

    def entries(self, **filters: Any) -> Iterator[dict[str, Any]]:
        """Matching entries, oldest first; ``at`` is kept as the clock's datetime and formatted here,
        off the request path."""
        wanted = {k: str(v) for k, v in filters.items() if v is not None}
        for entry in self._entries:
            if all(str(entry.get(k)) == v for k, v in wanted.items()):
                yield _view(entry)

    def clear(self) -> None:
        self._entries.clear()
        self._ids = itertools.count(1)

    def page(self, before: int | None, limit: int, **filters: Any) -> Page:
        """The newest ``limit`` matching entries with ids below ``before`` (all, without it), oldest first;
        the page's cursor leads to older entries. Ids are consecutive in the ring, so each is one index:
        O(limit), plus at most ``pages.SCAN_BUDGET`` entries passed over by filters."""
        wanted = {k: str(v) for k, v in filters.items() if v is not None}
        first = self._entries[0]["id"] if self._entries else 1
        end = first + len(self._entries)

        def fetch(n: int) -> dict[str, Any] | None:
            return self._entries[n - first] if first <= n < end else None

        def match(entry: dict[str, Any]) -> bool:
            return all(str(entry.get(k)) == v for k, v in wanted.items())

        start = end if before is None else min(before, end)
        found = pages.backward(fetch, start, first, limit, match if wanted else None)
        return Page([_view(entry) for entry in found.items], found.next_cursor)


def _view(entry: dict[str, Any]) -> dict[str, Any]:
    """What a reader sees of an entry: ``at`` formatted here, off the request path, and secrets redacted."""
    view = {**entry, "at": iso(entry["at"])}
    view["validation_errors"] = list(entry["validation_errors"])
    raw = view.pop("body_json", None)
    if raw is not None:
        view["body"] = jsonbody.parse(raw)
    # A big push names no secret: its 100,000 rows need no walk.
    return redacted(view, walk_body=raw is None or _may_name_a_secret(raw))


REDACTED = "[redacted]"

_SECRET_NAMES = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "passphrase",
        "secret",
        "clientsecret",
        "token",
        "accesstoken",
        "refreshtoken",
        "idtoken",
        "authtoken",
        "code",
        "assertion",
        "clientassertion",
        "authorization",
        "proxyauthorization",
        "cookie",
        "setcookie",
        "apikey",
    }
)
_SECRET_PARTS = ("password", "secret", "token", "apikey")
_MESSAGE_FIELDS = ("error", "validation_errors", "detail")
_LOCATION = re.compile(r"^(?P<head>(?:Invalid request: )?)(?P<where>[\w.\[\]-]+): ")


def is_secret(name: str) -> bool:
    """Whether a header, field or parameter of this name carries a credential."""
    key = name.lower().replace("-", "").replace("_", "")
    return key in _SECRET_NAMES or any(part in key for part in _SECRET_PARTS)


def redacted(view: dict[str, Any], *, walk_body: bool = True) -> dict[str, Any]:
    """A journal view with every secret value replaced (the entry it came from is not changed).
    ``walk_body=False``: the body is known to name no secret."""
    out = dict(view)
    secrets: set[str] = set()  # the values taken out, to take out of the messages too
    headers = out.get("headers")
    if isinstance(headers, Mapping):
        for name, value in headers.items():
            if is_secret(name):
                secrets.update((value, value.partition(" ")[2]))  # "Bearer abc": abc alone, too
        out["headers"] = {k: REDACTED if is_secret(k) else v for k, v in headers.items()}
    query = out.get("query")
    if isinstance(query, str) and query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(is_secret(k) for k, _ in pairs):
            secrets.update(v for k, v in pairs if is_secret(k))
            out["query"] = urlencode([(k, REDACTED if is_secret(k) else v) for k, v in pairs], safe="[]")
    if "body" in out and walk_body:
        out["body"] = _redact_value(out["body"], secrets)
    for key in _MESSAGE_FIELDS:
        value = out.get(key)
        if isinstance(value, str):
            out[key] = _redact_message(value, secrets)
        elif isinstance(value, list | tuple):
            out[key] = [_redact_message(str(v), secrets) for v in value]
    return out


# Every key ``is_secret`` accepts, with ``-`` and ``_`` taken out as it takes them out, contains one of
# these (a superset: it only decides whether the body needs a walk).
_SECRET_HINT = re.compile(
    rb"(?i)passw|pwd|passphrase|secret|token|code|assertion|authorization|cookie|apikey"
)


def _may_name_a_secret(raw: bytes) -> bool:
    # \u: a key may be spelled in escapes, which only a parse reads
    return b"\\u" in raw or _SECRET_HINT.search(raw.translate(None, b"-_")) is not None


def _redact_value(value: Any, taken: set[str]) -> Any:
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if is_secret(str(key)):
                out[key] = REDACTED
                if isinstance(item, str | int | float):
                    taken.add(str(item))
            else:
                out[key] = _redact_value(item, taken)
        return out
    if isinstance(value, list):
        return [_redact_value(v, taken) for v in value]
    return value


def _redact_message(message: str, secrets: set[str]) -> str:
    """What a message says of a secret field quotes its value, so it goes: the values taken out of the
    request wherever they appear quoted (or as they are, from four characters on), and whatever follows
    a location that names a secret field (``body.password: 'x' is too short``)."""
    for secret in secrets:
        if not secret:
            continue
        for form in {json.dumps(secret), repr(secret), secret if len(secret) >= 4 else ""}:
            if form:
                message = message.replace(form, REDACTED)
    parts = message.split("; ")
    for i, part in enumerate(parts):
        found = _LOCATION.match(part)
        if found is None:
            continue
        last = re.split(r"[.\[\]]", found["where"].rstrip("]"))[-1]
        if is_secret(last):
            parts[i] = f"{found['head']}{found['where']}: {REDACTED}"
    return "; ".join(parts)
