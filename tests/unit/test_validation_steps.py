"""A big body's validation in steps says exactly what one validation of the whole body says."""

from __future__ import annotations

import asyncio
import functools
from typing import Any

import pytest

from mockserver.app import create_app
from mockserver.middleware import _ITEMS_STEP, _problems_in_steps
from mockserver.schemas import CompiledSchema
from mockserver.settings import Settings


@functools.cache
def _push_schema() -> CompiledSchema:
    app = create_app(Settings(clock="manual", apis=("ryng",)))
    schema = app.runtime.apis["ryng"].operations["pushTransactional"].body.accepts("application/json")  # type: ignore[union-attr]
    assert schema is not None
    return schema


def _rows(count: int) -> list[Any]:
    return [{"number": f"+9198{i:08d}", "customField1": "Lead"} for i in range(count)]


def _broken(count: int) -> list[Any]:
    rows = _rows(count)
    rows[0]["number"] = "bad"
    rows[7_777]["customField1"] = 5
    rows[12_000] = "not a record"
    rows[-1]["extra"] = 1
    return rows


def _longest(value: Any) -> int:
    if isinstance(value, list):
        return max([len(value), *(_longest(v) for v in value)])
    if isinstance(value, dict):
        return max([0, *(_longest(v) for v in value.values())])
    return 0


@pytest.mark.parametrize(
    "body",
    [
        {"customerData": {"jsonData": _broken(21_001)}, "agentMapping": "nope"},
        {"customerData": {"jsonData": _broken(21_001)}},
        {"customerData": {"jsonData": _rows(21_001)}},
        {"customerData": {"jsonData": _rows(21_001), "terminalCallbackUrl": "not a url"}, "maxRetries": -1},
        {"customerData": {"jsonData": _rows(_ITEMS_STEP + 1)}, "agents": ["a@example.com"]},
    ],
)
def test_validation_in_steps_says_what_the_whole_validation_says(body: dict[str, Any]) -> None:
    assert _longest(body) > _ITEMS_STEP, "an array this short is validated whole, not in steps"
    schema = _push_schema()
    whole = [str(p) for p in schema.problems(body)]
    in_steps = [str(p) for p in asyncio.run(_problems_in_steps(schema, body))]
    assert in_steps == whole
