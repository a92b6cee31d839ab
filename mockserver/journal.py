"""What the mock was asked and what it answered, newest last, bounded in size.

An entry is recorded on every request, so it is kept cheap: a JSON body stays the bytes that came in
(``body_json``) and is parsed only when the journal is read, and the entry holds no list, so Python's
cyclic garbage collector never has to visit it (see bench/).
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterator
from typing import Any

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
                view = {**entry, "at": iso(entry["at"])}
                view["validation_errors"] = list(entry["validation_errors"])
                raw = view.pop("body_json", None)
                if raw is not None:
                    view["body"] = jsonbody.parse(raw)
                yield view

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
        found = pages.backward(fetch, start, first - 1, limit, match if wanted else None)
        return Page([_view(entry) for entry in found.items], found.next_cursor)


def _view(entry: dict[str, Any]) -> dict[str, Any]:
    view = {**entry, "at": iso(entry["at"])}
    view["validation_errors"] = list(entry["validation_errors"])
    raw = view.pop("body_json", None)
    if raw is not None:
        view["body"] = jsonbody.parse(raw)
    return view
