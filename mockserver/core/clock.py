"""The one source of "now" in the mock.

``ManualClock`` moves only when told to; ``ScaledClock`` follows real time multiplied by a factor, so
``--time-scale 60`` makes a minute of retry rules pass in a second. Both can be advanced by hand.
"""

from __future__ import annotations

import functools
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

DEFAULT_EPOCH = datetime(2026, 1, 5, 9, 0, 0, tzinfo=UTC)
"""Where a fresh clock starts: a Monday morning, so shift schedules and timestamps look ordinary."""


class Clock(Protocol):
    mode: str

    def now(self) -> datetime: ...

    def stamp(self) -> float:
        """``now()`` as seconds since the epoch (what stored documents and due times hold)."""
        ...

    def advance(self, seconds: float) -> datetime: ...

    def move_to(self, stamp: float) -> None:
        """Move forward to the moment ``stamp`` (seconds since the epoch); never back."""
        ...

    def seconds_until(self, moment: datetime) -> float:
        """Real seconds to wait before ``moment`` arrives (``inf`` for a clock that never moves alone)."""
        ...


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds (the microseconds cut) and a Z, the style the vendors' payloads
    use."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def iso_at(ts: float) -> str:
    """Epoch seconds as ``iso`` writes them, the milliseconds rounded: every timestamp of a stored call
    becomes text this way (a campaign formats several per lead), so the date part is made once a day and
    the moments written lately are remembered: the calls of one request share their creation time, and a
    callback's payload and its delivery record the moment it was sent (each then the very same string)."""
    text = _written.get(ts)
    if text is None:
        if len(_written) >= _WRITTEN_KEPT:
            _written.clear()
        text = _written[ts] = _iso_at(ts)
    return text


_written: dict[float, str] = {}
_WRITTEN_KEPT = 256


def _iso_at(ts: float) -> str:
    whole = int(ts // 1)
    ms = round((ts - whole) * 1000)
    if ms == 1000:
        whole, ms = whole + 1, 0
    day, second = divmod(whole, 86_400)
    clock = _TIMES_OF_DAY[second]
    if clock is None:
        hour, rest = divmod(second, 3_600)
        clock = _TIMES_OF_DAY[second] = "%02d:%02d:%02d" % (hour, *divmod(rest, 60))  # noqa: UP031
    return _date_part(day) + clock + _MILLIS[ms]


_TIMES_OF_DAY: list[str | None] = [None] * 86_400  # "HH:MM:SS" of each second of the day, made when first met
_MILLIS = tuple(f".{ms:03d}Z" for ms in range(1000))


@functools.lru_cache(maxsize=64)
def _date_part(day: int) -> str:
    t = time.gmtime(day * 86_400)
    return f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T"


class ManualClock:
    mode = "manual"
    paused = False  # it never moves by itself, so there is nothing to pause

    def __init__(self, start: datetime = DEFAULT_EPOCH) -> None:
        # The reading is kept as seconds; the datetime is made when asked for (the timeline moves the clock
        # at nearly every job, and most jobs only read the seconds).
        self._tz = start.tzinfo
        self._stamp = start.timestamp()
        self._now: datetime | None = start

    def now(self) -> datetime:
        now = self._now
        if now is None:
            now = self._now = datetime.fromtimestamp(self._stamp, tz=self._tz)
        return now

    def stamp(self) -> float:
        return self._stamp

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        now = self.now() + timedelta(seconds=seconds)
        self._now, self._stamp = now, now.timestamp()
        return now

    def move_to(self, stamp: float) -> None:
        if stamp > self._stamp:
            whole = stamp.is_integer()  # the common case: the reading is exactly these seconds
            self._now = None if whole else datetime.fromtimestamp(stamp, tz=self._tz)
            self._stamp = stamp if whole else self.now().timestamp()  # to the microsecond, as now() reads

    def set(self, moment: datetime) -> None:
        if moment > self.now():
            self._now, self._stamp = moment, moment.timestamp()

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

    def stamp(self) -> float:
        return self.now().timestamp()

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

    def move_to(self, stamp: float) -> None:
        self.set(datetime.fromtimestamp(stamp, tz=self._start.tzinfo))

    def seconds_until(self, moment: datetime) -> float:
        if self._paused_at is not None:
            return float("inf")
        return max(0.0, (moment - self.now()).total_seconds() / self.scale)


def wall_seconds() -> float:
    """Real time (seconds since the epoch), for leases between processes; never the simulated time."""
    return time.time()
