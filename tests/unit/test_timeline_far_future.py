"""A delay a client chose may be any integer the spec allows; a later clock advance must not fail on it."""

from __future__ import annotations

import asyncio
from typing import Any

from mockserver.core.clock import ManualClock
from mockserver.core.store import MemoryStore
from mockserver.core.timeline import Timeline


def test_a_job_due_past_any_date_waits_forever_without_breaking_the_clock() -> None:
    clock = ManualClock()
    timeline = Timeline(clock, MemoryStore())
    ran: list[dict[str, Any]] = []
    timeline.register("probe", ran.append)
    timeline.schedule_in(10**20, "probe", {"n": 1})  # maxDispose as a fuzzer writes it
    timeline.schedule_in(5, "probe", {"n": 2})
    asyncio.run(timeline.advance(3600))
    assert ran == [{"n": 2}]
