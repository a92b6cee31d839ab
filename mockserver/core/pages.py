"""Pages of a list that cost what the page holds, not what the store holds.

A list whose records carry increasing integer ids (calls, deliveries, journal entries, interactions,
activities) is read by walking the ids from a cursor: each id is one keyed lookup, so a page costs
O(limit) however many records are kept. Filters that no index answers are applied while walking, and a
page looks at no more than ``limit + SCAN_BUDGET`` ids: when the budget runs out first, the page is
short (or empty) and its ``next_cursor`` says where the next one starts. ``next_cursor`` is None when
the walk reached the end of what exists now.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

SCAN_BUDGET = 5000
"""How many ids past ``limit`` one page may look at while filtering."""

Document = dict[str, Any]
Match = Callable[[Document], bool]


@dataclass(frozen=True)
class Page:
    items: list[Document]
    next_cursor: str | None


def cursor_value(cursor: str | None, default: int) -> int:
    """The id a cursor names (the specs allow only digits), or ``default`` without one."""
    return default if cursor in (None, "") else int(str(cursor))


def forward(
    fetch: Callable[[int], Document | None],
    after: int,
    last: int,
    limit: int,
    match: Match | None = None,
    budget: int = SCAN_BUDGET,
    beyond: Sequence[int] = (),
) -> Page:
    """Ids ``after + 1`` up to ``last``, oldest first; then the ``beyond`` ids (ascending, each above
    ``last``: records a seed placed outside the sequence)."""
    items: list[Document] = []
    n = after
    stop = after + limit + budget
    while n < last and len(items) < limit and n < stop:
        n += 1
        found = fetch(n)
        if found is not None and (match is None or match(found)):
            items.append(found)
    if n < last:
        return Page(items, str(n))
    rest = [i for i in beyond if i > max(n, last)]
    for i in rest:
        if len(items) == limit:
            return Page(items, str(n))
        n = i
        found = fetch(i)
        if found is not None and (match is None or match(found)):
            items.append(found)
    return Page(items, None)


def backward(
    fetch: Callable[[int], Document | None],
    before: int,
    first: int,
    limit: int,
    match: Match | None = None,
    budget: int = SCAN_BUDGET,
) -> Page:
    """The newest ``limit`` ids below ``before`` (down to ``first``), returned oldest first; the next
    page holds older ones."""
    items: list[Document] = []
    n = before
    stop = before - limit - budget
    while n > first and len(items) < limit and n > stop:
        n -= 1
        found = fetch(n)
        if found is not None and (match is None or match(found)):
            items.append(found)
    items.reverse()
    return Page(items, str(n) if n > first else None)


def of_list(ordered: list[Document], start: int, limit: int) -> Page:
    """A page of a small list already in order (configured agents, uploaded documents); its cursor is a
    position in the list."""
    end = start + limit
    return Page(ordered[start:end], str(end) if end < len(ordered) else None)


def equals(filters: dict[str, Any]) -> Match | None:
    """A match on fields equal (as text) to the filters given; None when no filter is given."""
    wanted = {k: str(v) for k, v in filters.items() if v is not None}
    if not wanted:
        return None
    return lambda doc: all(str(doc.get(k)) == v for k, v in wanted.items())
