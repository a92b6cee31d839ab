"""A big push is taken in slices: the intake pauses every SLICE records, the result is the same as at
once, and a sheet past the bound makes no call."""

from __future__ import annotations

from typing import Any

import pytest

from mockserver.core.dialer_intake import CALLS, SLICE, BadSheet, finish, parse_sheet_steps
from tests.unit.test_dialer import engine


def _body(count: int) -> dict[str, Any]:
    return {"customerData": {"jsonData": [{"number": f"+9198{i:08d}"} for i in range(count)]}}


def _pauses_and_result(steps: Any) -> tuple[int, Any]:
    pauses = 0
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return pauses, done.value
        pauses += 1


@pytest.mark.parametrize("count", [1, SLICE, SLICE + 1, 3 * SLICE + 7])
def test_a_push_pauses_once_per_slice_and_makes_every_call(count: int) -> None:
    dialer, _, _ = engine()
    seen_midway: list[int] = []
    steps = dialer.intake.add_to_queue_steps(3, _body(count), {}, "pushTransactional")
    pauses = 0
    while True:
        try:
            next(steps)
        except StopIteration as done:
            calls = done.value
            break
        pauses += 1
        seen_midway.append(dialer.store.count(CALLS))
    assert len(calls) == count == dialer.store.count(CALLS)
    # One pause after assigning agents when there is more than one slice, then one between slices.
    assert pauses == (0 if count <= SLICE else 1 + (count - 1) // SLICE)
    assert all(0 <= seen < count for seen in seen_midway)  # paused with the push part taken in


def test_in_slices_or_at_once_the_calls_are_the_same() -> None:
    sliced, _, _ = engine()
    whole, _, _ = engine()
    finish(sliced.intake.add_to_queue_steps(3, _body(2 * SLICE + 5), {}, "pushTransactional"))
    whole.intake.add_to_queue(3, _body(2 * SLICE + 5), {}, "pushTransactional")
    assert list(sliced.store.values(CALLS)) == list(whole.store.values(CALLS))


def test_campaigns_pause_too() -> None:
    dialer, _, _ = engine()
    pauses, (_, calls) = _pauses_and_result(
        dialer.intake.create_campaign_steps(_body(2 * SLICE + 1), {}, "createCampaign")
    )
    assert pauses == 3 and len(calls) == 2 * SLICE + 1


def test_a_sheet_is_read_in_slices_and_bounded() -> None:
    sheet = "number,Name\n" + "".join(f"+9198{i:08d},Lead {i}\n" for i in range(2 * SLICE + 1))
    pauses, (names, rows) = _pauses_and_result(parse_sheet_steps(sheet, in_file=False))
    assert names == {"customField1Name": "Name"} and len(rows) == 2 * SLICE + 1 and pauses == 2
    assert len(finish(parse_sheet_steps(sheet, in_file=False, max_rows=2 * SLICE + 1))[1]) == 2 * SLICE + 1
    with pytest.raises(BadSheet, match=f"more than {2 * SLICE} leads; at most {2 * SLICE} are taken"):
        finish(parse_sheet_steps(sheet, in_file=False, max_rows=2 * SLICE))


def test_a_sheet_over_the_bound_makes_its_campaign_and_no_call() -> None:
    dialer, _, _ = engine()
    sheet = "number\n" + "".join(f"+9198{i:08d}\n" for i in range(11))
    campaign_id, calls, problem = finish(
        dialer.intake.campaign_sheet_steps(None, sheet, None, None, "x", max_rows=10)
    )
    assert calls == [] and dialer.store.count(CALLS) == 0
    assert problem == "the sheet has more than 10 leads; at most 10 are taken"
    assert campaign_id == 1


def test_a_reset_during_a_push_leaves_no_call_of_it() -> None:
    dialer, timeline, _ = engine()
    steps = dialer.intake.add_to_queue_steps(3, _body(3 * SLICE), {}, "pushTransactional")
    next(steps)
    next(steps)  # a slice is in
    assert dialer.store.count(CALLS) == SLICE
    dialer.store.clear()
    timeline.reset()
    dialer.reset()
    assert finish(steps) == []
    assert dialer.store.count(CALLS) == 0
