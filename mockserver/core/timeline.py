"""Work that falls due on the clock: call progress, callback attempts, agent shifts.

Jobs are plain data (a kind and JSON arguments) kept in the state store, so that with a SQLite store what
was pending before a restart runs after it. Handlers are registered per kind by the engines.
Jobs run in (due time, creation order); while a job runs, the clock reads its due time.
"""

from __future__ import annotations

import asyncio
import heapq
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from mockserver.core.clock import Clock
from mockserver.core.errors import CoreError
from mockserver.core.store import StateStore

JobHandler = Callable[[dict[str, Any]], Awaitable[None] | None]
_COLLECTION = "jobs"
_META = "timeline"


@dataclass(frozen=True)
class _Registered:
    handler: JobHandler
    concurrent: bool


class UnknownJobKind(CoreError, KeyError):
    """A job was scheduled, or found in the store, for a kind that no engine registered."""


class Timeline:
    def __init__(self, clock: Clock, store: StateStore) -> None:
        self.clock = clock
        self.store = store
        self._handlers: dict[str, _Registered] = {}
        self._heap: list[tuple[float, int]] = []
        self._lock = asyncio.Lock()
        self.wakeup = asyncio.Event()
        for job in store.values(_COLLECTION):
            heapq.heappush(self._heap, (job["due"], job["seq"]))
        saved = store.get(_META, "clock")
        if saved is not None:  # after a restart, time goes on from where it stood, never back
            _set_clock(clock, datetime.fromtimestamp(saved["now"], tz=clock.now().tzinfo))

    def register(self, kind: str, handler: JobHandler, *, concurrent: bool = False) -> None:
        """``concurrent`` jobs due at the same instant run together (deliveries); others run one by one."""
        self._handlers[kind] = _Registered(handler, concurrent)

    def schedule(self, at: datetime, kind: str, args: dict[str, Any]) -> int:
        if kind not in self._handlers:
            raise UnknownJobKind(f"no handler registered for job kind {kind!r}")
        seq = self.store.next_id("job")
        due = at.timestamp()
        self.store.put(_COLLECTION, str(seq), {"seq": seq, "due": due, "kind": kind, "args": args})
        heapq.heappush(self._heap, (due, seq))
        self.wakeup.set()
        return seq

    def schedule_in(self, seconds: float, kind: str, args: dict[str, Any]) -> int:
        return self.schedule(self.clock.now() + timedelta(seconds=seconds), kind, args)

    def scheduled(self, kind: str) -> list[dict[str, Any]]:
        """The arguments of every pending job of one kind."""
        return [job["args"] for job in self.store.values(_COLLECTION) if job["kind"] == kind]

    def cancel(self, seq: int) -> bool:
        return self.store.delete(_COLLECTION, str(seq))

    def pending(self) -> int:
        return self.store.count(_COLLECTION)

    def next_due(self) -> datetime | None:
        while self._heap:
            due, seq = self._heap[0]
            if self.store.get(_COLLECTION, str(seq)) is not None:
                return datetime.fromtimestamp(due, tz=self.clock.now().tzinfo)
            heapq.heappop(self._heap)
        return None

    def reset(self) -> None:
        self._heap.clear()

    async def run_due(self) -> int:
        """Run every job due by the clock's current time; returns how many ran."""
        return await self._run_until(self.clock.now().timestamp(), move_clock=False)

    async def advance(self, seconds: float) -> int:
        """Move the clock forward, running what falls due in order, each at its own due time."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        target = self.clock.now() + timedelta(seconds=seconds)
        ran = await self._run_until(target.timestamp(), move_clock=True)
        _set_clock(self.clock, target)
        self._save_clock()
        return ran

    async def _run_until(self, limit: float, *, move_clock: bool) -> int:
        ran = 0
        async with self._lock:
            while self._heap and self._heap[0][0] <= limit:
                batch = self._pop_batch()
                if not batch:
                    continue
                if move_clock:
                    _set_clock(
                        self.clock, datetime.fromtimestamp(batch[0]["due"], tz=self.clock.now().tzinfo)
                    )
                await self._run_batch(batch)
                self._save_clock()
                ran += len(batch)
        return ran

    def _save_clock(self) -> None:
        self.store.put(_META, "clock", {"now": self.clock.now().timestamp()})

    def _pop_batch(self) -> list[dict[str, Any]]:
        """The next job, plus the concurrent jobs of the same kind due at the same instant."""
        due, seq = heapq.heappop(self._heap)
        job = self.store.get(_COLLECTION, str(seq))
        if job is None:
            return []
        batch = [job]
        registered = self._handlers.get(job["kind"])
        if registered is not None and registered.concurrent:
            while self._heap and self._heap[0][0] == due:
                nxt = self.store.get(_COLLECTION, str(self._heap[0][1]))
                if nxt is not None and nxt["kind"] != job["kind"]:
                    break
                heapq.heappop(self._heap)
                if nxt is not None:
                    batch.append(nxt)
        return batch

    async def _run_batch(self, batch: list[dict[str, Any]]) -> None:
        for job in batch:
            self.store.delete(_COLLECTION, str(job["seq"]))
        results = [self._invoke(job) for job in batch]
        awaitables = [r for r in results if r is not None]
        if awaitables:
            await asyncio.gather(*awaitables)

    def _invoke(self, job: dict[str, Any]) -> Awaitable[None] | None:
        registered = self._handlers.get(job["kind"])
        if registered is None:
            raise UnknownJobKind(f"job {job['seq']} has kind {job['kind']!r}, which no engine registered")
        result = registered.handler(job["args"])
        return result if inspect.isawaitable(result) else None


def _set_clock(clock: Clock, moment: datetime) -> None:
    gap = (moment - clock.now()).total_seconds()
    if gap > 0:
        clock.advance(gap)
