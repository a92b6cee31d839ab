"""Kill -9 at random instants loses no accepted lead and applies no step twice (issue 10).

The rounds are bench/kill.py's: a real ``mockline serve --state sqlite:PATH --clock manual`` process, a
callback receiver on 127.0.0.1, pushes and clock advances, a SIGKILL at a random instant (a timer, or in
the middle of a random store write), a restart and a long advance, then every accepted lead must be a
call in a final state with exactly one terminal delivery record, delivered. The second test runs the
same rounds against servers whose store transactions do nothing, and expects them to fail.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.kill import run_rounds


@pytest.mark.slow
def test_kill_rounds_lose_nothing_and_apply_nothing_twice(tmp_path: Path) -> None:
    outcome = run_rounds(2, tmp_path, seed=7)
    assert outcome.problems == []
    assert outcome.survived == 2 and outcome.accepted > 100


@pytest.mark.slow
def test_the_kill_rounds_catch_a_server_whose_steps_are_not_atomic(tmp_path: Path) -> None:
    outcome = run_rounds(3, tmp_path, seed=7, transactions=False, kills="writes", stop_on_failure=True)
    assert outcome.problems, "without transactions a kill mid-step must leave a lead lost or a step half done"
    assert any("stuck" in p or "pending" in p or "gone" in p or "records" in p for p in outcome.problems)
