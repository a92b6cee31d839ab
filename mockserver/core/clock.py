"""The one source of "now" in the mock.

``ManualClock`` moves only when told to; ``ScaledClock`` follows real time multiplied by a factor, so
``--time-scale 60`` makes a minute of retry rules pass in a second. Both can be advanced by hand.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

DEFAULT_EPOCH = datetime(2026, 1, 5, 9, 0, 0, tzinfo=UTC)
"""Where a fresh clock starts: a Monday morning, so shift schedules and timestamps look ordinary."""


class Clock(Protocol):
    mode: str

    def now(self) -> datetime: ...

    def advance(self, seconds: float) -> datetime: ...

    def seconds_until(self, moment: datetime) -> float:
        """Real seconds to wait before ``moment`` arrives (``inf`` for a clock that never moves alone)."""
        ...


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and a Z, the style the vendors' payloads use."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class ManualClock:
    mode = "manual"
    paused = False  # it never moves by itself, so there is nothing to pause

    def __init__(self, start: datetime = DEFAULT_EPOCH) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._now += timedelta(seconds=seconds)
        return self._now

    def set(self, moment: datetime) -> None:
        if moment > self._now:
            self._now = moment

    def seconds_until(self, moment: datetime) -> float:
        return float("inf")


class ScaledClock:
    mode = "realtime"

    def __init__(self, start: datetime | None = None, scale: float = 1.0) -> None:
        if scale <= 0:
            raise ValueError("time scale must be positive")
        self.scale = scale
        self._start = start or datetime.now(UTC)
        self._real_start = time.monotonic()
        self._offset = timedelta()
        self._paused_at: float | None = None

    @property
    def paused(self) -> bool:
        return self._paused_at is not None

    def now(self) -> datetime:
        real = time.monotonic() if self._paused_at is None else self._paused_at
        elapsed = (real - self._real_start) * self.scale
        return self._start + timedelta(seconds=elapsed) + self._offset

    def pause(self) -> None:
        """Stop following real time (advancing by hand still works) until ``resume``."""
        if self._paused_at is None:
            self._paused_at = time.monotonic()

    def resume(self) -> None:
        """Follow real time again from where the clock stood: the pause is not made up for."""
        if self._paused_at is not None:
            self._real_start += time.monotonic() - self._paused_at
            self._paused_at = None

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._offset += timedelta(seconds=seconds)
        return self.now()

    def set(self, moment: datetime) -> None:
        gap = (moment - self.now()).total_seconds()
        if gap > 0:
            self._offset += timedelta(seconds=gap)

    def seconds_until(self, moment: datetime) -> float:
        if self._paused_at is not None:
            return float("inf")
        return max(0.0, (moment - self.now()).total_seconds() / self.scale)


def wall_seconds() -> float:
    """Real time (seconds since the epoch), for leases between processes; never the simulated time."""
    return time.time()
