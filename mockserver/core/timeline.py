"""Work that falls due on the clock: call progress, callback attempts, agent shifts.

Jobs are plain data (a kind and JSON arguments) kept in the state store, so that with a SQLite store what
was pending before a restart runs after it. Handlers are registered per kind by the engines.
Jobs run in (due time, creation order); while a job runs, the clock reads its due time.

A step is atomic: a job's removal (or rescheduling), every write its handler makes and the clock's new
reading are committed in one store transaction, so a kill at any instant leaves each job either wholly
done or wholly still to do. A handler that has to wait on the outside world (a callback's HTTP exchange)
is a coroutine: it does its waiting outside any transaction and returns a *commit* function, which runs
in the transaction that removes the job. Before such jobs start, the timeline records them as in flight
(``timeline/running``); a job found in flight at start was interrupted by a kill, is marked
``after_restart``, and its handler receives ``after_restart: True`` in its arguments when it runs again.
"""

from __future__ import annotations

import asyncio
import heapq
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from mockserver.core.clock import Clock
from mockserver.core.errors import CoreError
from mockserver.core.store import StateStore

Commit = Callable[[], None]
"""What an asynchronous job does to the state once its waiting is over; runs inside the job's transaction."""
JobHandler = Callable[[dict[str, Any]], Awaitable[Commit | None] | None]
_NEVER_SECONDS = 100 * 365 * 86400.0
_COLLECTION = "jobs"
_META = "timeline"
AFTER_RESTART = "after_restart"


@dataclass(frozen=True)
class _Registered:
    handler: JobHandler
    concurrent: bool
    waits: bool  # a coroutine function: waits outside the transaction, returns its commit


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
        self._mark_interrupted()
        for job in store.values(_COLLECTION):
            heapq.heappush(self._heap, (job["due"], job["seq"]))
        saved = store.get(_META, "clock")
        if saved is not None:  # after a restart, time goes on from where it stood, never back
            _set_clock(clock, datetime.fromtimestamp(saved["now"], tz=clock.now().tzinfo))

    def _mark_interrupted(self) -> None:
        """Jobs that were in flight when the last process died will run again: say so in each."""
        running = self.store.get(_META, "running")
        if running is None:
            return
        with self.store.transaction():
            for seq in running.get("jobs", []):
                job = self.store.get(_COLLECTION, str(seq))
                if job is not None:
                    self.store.put(_COLLECTION, str(seq), {**job, AFTER_RESTART: True})
            self.store.delete(_META, "running")

    def register(self, kind: str, handler: JobHandler, *, concurrent: bool = False) -> None:
        """``concurrent`` jobs due at the same instant run together (deliveries); others run one by one.

        A plain function runs inside its job's transaction. A coroutine function waits outside it and
        returns a ``Commit`` (or None) that the timeline runs in the transaction that removes the job."""
        self._handlers[kind] = _Registered(handler, concurrent, inspect.iscoroutinefunction(handler))

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
        # A delay a client chose (maxDispose, retryInterval) may be any integer the spec allows; past
        # a century it means "never" and must not overflow the date arithmetic of a later advance.
        seconds = min(float(seconds), _NEVER_SECONDS)
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
        registered = self._registered(batch[0])
        if not registered.waits:
            for job in batch:
                with self.store.transaction():
                    self._finish(job)
                    result = registered.handler(self._args(job))
                    if inspect.iscoroutine(result):  # it would run outside the transaction: refuse
                        result.close()
                        raise TypeError(f"job kind {job['kind']!r} waits: register a coroutine function")
                    self._save_clock()
            return
        # Jobs that wait on the outside world: recorded in flight, run outside any transaction, then each
        # one's effects and its removal are committed together.
        with self.store.transaction():
            self.store.put(_META, "running", {"jobs": [job["seq"] for job in batch]})
        waiting = [cast(Awaitable[Commit | None], registered.handler(self._args(job))) for job in batch]
        results = await asyncio.gather(*waiting)
        with self.store.transaction():
            for job, commit in zip(batch, results, strict=True):
                self._finish(job)
                if commit is not None:
                    commit()
            self.store.delete(_META, "running")
            self._save_clock()

    def _finish(self, job: dict[str, Any]) -> None:
        self.store.delete(_COLLECTION, str(job["seq"]))

    @staticmethod
    def _args(job: dict[str, Any]) -> dict[str, Any]:
        return {**job["args"], AFTER_RESTART: True} if job.get(AFTER_RESTART) else job["args"]

    def _registered(self, job: dict[str, Any]) -> _Registered:
        registered = self._handlers.get(job["kind"])
        if registered is None:
            raise UnknownJobKind(f"job {job['seq']} has kind {job['kind']!r}, which no engine registered")
        return registered


def _set_clock(clock: Clock, moment: datetime) -> None:
    gap = (moment - clock.now()).total_seconds()
    if gap > 0:
        clock.advance(gap)
