"""Work that falls due on the clock: call progress, callback attempts, agent shifts.

Jobs are plain data (a kind and JSON arguments) kept in the state store, so that with a SQLite store what
was pending before a restart runs after it. Handlers are registered per kind by the engines.
Jobs run in (due time, creation order); while a job runs, the clock reads its due time.

A step is atomic: a job's removal (or rescheduling), every write its handler makes and the clock's new
reading are committed in one store transaction, so a kill at any instant leaves each job either wholly
done or wholly still to do. A handler that has to wait on the outside world (a callback's HTTP exchange)
is a coroutine: it does its waiting outside any transaction and returns a *commit* function, which runs
in the transaction that removes the job. Before such jobs start, the timeline *claims* them: a claim
(``claim``: the process, and until when in real seconds) is written into each job and committed first; a
job found claimed at start (one process), or whose claim's lease ran out (a shared store: its process was
killed), was interrupted, is marked ``after_restart``, and its handler receives ``after_restart: True``
in its arguments when it runs again. Its commit applies only if the job is still there and still claimed
by this process, so a job's effects are applied once. Claims and the clock's reading are written only
to a store that outlives the process (SQLite, Redis: ``lasting``); in memory nobody could read them.

With a shared store (Redis) several processes run one timeline: each keeps a heap of due times, fed by the
jobs it schedules and by those the store says other processes scheduled; a job is run by whichever
process takes it first in a unit of work (it is gone for the others), and the clock's reading
(``timeline/clock``, saved with every step) moves every process's clock forward.
"""

from __future__ import annotations

import asyncio
import heapq
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from mockserver.core.clock import Clock, wall_seconds
from mockserver.core.errors import CoreError
from mockserver.core.store import StateStore

Commit = Callable[[], None]
"""What an asynchronous job does to the state once its waiting is over; runs inside the job's transaction."""
JobHandler = Callable[[dict[str, Any]], Awaitable[Commit | None] | None]
_NEVER_SECONDS = 100 * 365 * 86400.0
_COLLECTION = "jobs"
_META = "timeline"
AFTER_RESTART = "after_restart"
CLAIM = "claim"
_HELD_POLL_SECONDS = 0.05


class _OneDone:
    """What ``_next_step`` returns after the one plain job it was asked to run."""


_ONE_DONE = _OneDone()


@dataclass(frozen=True)
class _Registered:
    handler: JobHandler
    concurrent: bool
    waits: bool  # a coroutine function: waits outside the transaction, returns its commit


class _Unit:
    """One unit of work of the store, opened on the event loop: a shared store's lock is taken first,
    awaited (``lock_async``), and its commit awaited once the unit is closed (``settle_async``); a unit
    that raised is rolled back by the store and not committed. For the memory and SQLite stores, a plain
    ``transaction()``."""

    __slots__ = ("_lock", "_open", "_settle", "_store")

    def __init__(
        self,
        store: StateStore,
        lock: Callable[[], Awaitable[None]] | None,
        settle: Callable[[], Awaitable[None]] | None,
    ) -> None:
        self._store, self._lock, self._settle = store, lock, settle

    async def __aenter__(self) -> None:
        if self._lock is not None:
            await self._lock()
        self._open = self._store.transaction()
        self._open.__enter__()

    async def __aexit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: Any) -> None:
        self._open.__exit__(kind, value, tb)
        if kind is None and self._settle is not None:
            await self._settle()


class UnknownJobKind(CoreError, KeyError):
    """A job was scheduled, or found in the store, for a kind that no engine registered."""


class Timeline:
    def __init__(self, clock: Clock, store: StateStore, *, lease_seconds: float = 30.0) -> None:
        """``lease_seconds``: how long (real time) a claim on a job that waits keeps other processes of a
        shared store off it; past it the job is taken to be interrupted and run again."""
        self.clock = clock
        self.store = store
        self.lease_seconds = lease_seconds
        self.owner = f"{id(self):x}-{wall_seconds():.6f}"
        self._handlers: dict[str, _Registered] = {}
        self._heap: list[tuple[float, int]] = []
        self._ran = 0  # jobs run by the advance in progress
        self._set_due: float | None = None  # the last due time the clock was moved to (it never goes back)
        self._saved: float | None = None  # the clock reading this process last saved in the store
        self._lock = asyncio.Lock()
        # A shared store may have its lock taken for each step beforehand, waiting on the event loop
        # rather than in the step (``lock_async``), and the step's commit awaited after it
        # (``settle_async``): then steps run one at a time, each between its wait and its commit.
        self._lock_ahead: Callable[[], Awaitable[None]] | None = getattr(store, "lock_async", None)
        self._settle_after: Callable[[], Awaitable[None]] | None = getattr(store, "settle_async", None)
        self.wakeup = asyncio.Event()
        self._mark_interrupted()
        for job in store.values(_COLLECTION):
            heapq.heappush(self._heap, (job["due"], job["seq"]))
        saved = store.get(_META, "clock")
        if saved is not None:  # after a restart, time goes on from where it stood, never back
            clock.move_to(saved["now"])
        if store.shared and clock.mode == "realtime":
            self._share_origin()
        store.on_remote(_COLLECTION, self._remote_job)
        store.on_remote(_META, self._remote_meta)
        store.on_remote("*", self._remote_reload)

    def _share_origin(self) -> None:
        """A realtime clock on a shared store follows one origin (real and simulated time at the first
        process's start): a process started later reads the time the first one reads."""
        scale = float(getattr(self.clock, "scale", 1.0))
        with self.store.transaction():
            origin = self.store.get(_META, "origin")
            if origin is None:
                self.store.put(_META, "origin", {"real": wall_seconds(), "sim": self.clock.stamp()})
                return
        moment = origin["sim"] + (wall_seconds() - origin["real"]) * scale
        self.clock.move_to(moment)

    def _remote_job(self, _key: str, job: dict[str, Any] | None) -> None:
        if job is not None:
            heapq.heappush(self._heap, (job["due"], job["seq"]))
            self.wakeup.set()

    def _remote_meta(self, key: str, value: dict[str, Any] | None) -> None:
        if key == "clock" and value is not None:
            self.clock.move_to(value["now"])

    def _remote_reload(self, _key: str, _value: dict[str, Any] | None) -> None:
        self._saved = None
        self._heap = [(job["due"], job["seq"]) for job in self.store.values(_COLLECTION)]
        heapq.heapify(self._heap)
        self._remote_meta("clock", self.store.get(_META, "clock"))
        self.wakeup.set()

    def _mark_interrupted(self) -> None:
        """Jobs that were in flight when the last process died will run again: say so in each. With a
        shared store the others may be alive: their claims are left to expire."""
        running = self.store.get(_META, "running")  # how earlier versions recorded jobs in flight
        if self.store.shared:
            return
        claimed = [job for job in self.store.values(_COLLECTION) if CLAIM in job]
        if running is None and not claimed:
            return
        with self.store.transaction():
            for seq in (running or {}).get("jobs", []):
                job = self.store.get(_COLLECTION, str(seq))
                if job is not None:
                    self.store.put(_COLLECTION, str(seq), {**job, AFTER_RESTART: True})
            for job in claimed:
                fresh = {k: v for k, v in job.items() if k != CLAIM}
                self.store.put(_COLLECTION, str(job["seq"]), {**fresh, AFTER_RESTART: True})
            if running is not None:
                self.store.delete(_META, "running")

    def register(self, kind: str, handler: JobHandler, *, concurrent: bool = False) -> None:
        """``concurrent`` jobs due at the same instant run together (deliveries); others run one by one.

        A plain function runs inside its job's transaction. A coroutine function waits outside it and
        returns a ``Commit`` (or None) that the timeline runs in the transaction that removes the job."""
        self._handlers[kind] = _Registered(handler, concurrent, inspect.iscoroutinefunction(handler))

    def schedule(self, at: datetime, kind: str, args: dict[str, Any]) -> int:
        return self._schedule_at(at.timestamp(), kind, args)

    def _schedule_at(self, due: float, kind: str, args: dict[str, Any]) -> int:
        if kind not in self._handlers:
            raise UnknownJobKind(f"no handler registered for job kind {kind!r}")
        seq = self.store.next_id("job")
        self.store.put(_COLLECTION, str(seq), {"seq": seq, "due": due, "kind": kind, "args": args})
        heapq.heappush(self._heap, (due, seq))
        self.wakeup.set()
        return seq

    def schedule_in(self, seconds: float, kind: str, args: dict[str, Any]) -> int:
        # A delay a client chose (maxDispose, retryInterval) may be any integer the spec allows; past
        # a century it means "never" and must not overflow the date arithmetic of a later advance.
        seconds = min(float(seconds), _NEVER_SECONDS)
        if seconds.is_integer():
            # Whole seconds (every delay of the dialer's plans): added to the float reading, the due
            # time is the very float the date arithmetic gives, at a fraction of its cost.
            base = self.clock.stamp()
            due = base + seconds
            if base >= 2.0**30 and due < 2.0**31:  # one binary exponent: the addition is exact
                return self._schedule_at(due, kind, args)
        return self.schedule(self.clock.now() + timedelta(seconds=seconds), kind, args)

    def scheduled(self, kind: str) -> list[dict[str, Any]]:
        """The arguments of every pending job of one kind."""
        return [job["args"] for job in self.store.values(_COLLECTION) if job["kind"] == kind]

    def cancel(self, seq: int) -> bool:
        return self.store.delete(_COLLECTION, str(seq))

    def is_pending(self, seq: int) -> bool:
        """Whether job ``seq`` is still to run (in any process of a shared store)."""
        return self.store.get(_COLLECTION, str(seq)) is not None

    def pending(self) -> int:
        return self.store.count(_COLLECTION)

    def next_due(self) -> datetime | None:
        with self.store.transaction():  # one look at a shared store, however many entries are stale
            return self._next_due()

    async def next_due_async(self) -> datetime | None:
        """``next_due`` for a caller on the event loop (the realtime clock's runner)."""
        async with self._unit():
            return self._next_due()

    def _next_due(self) -> datetime | None:
        while self._heap:
            due, seq = self._heap[0]
            if self.store.get(_COLLECTION, str(seq)) is not None:
                return datetime.fromtimestamp(due, tz=self.clock.now().tzinfo)
            heapq.heappop(self._heap)
        return None

    def reset(self) -> None:
        self._heap.clear()
        self._saved = None

    async def run_due(self) -> int:
        """Run every job due by the clock's current time; returns how many ran."""
        async with self._unit():  # a shared store's clock reading comes in with the latest state
            now = self.clock.stamp()
        return await self._run_until(now, move_clock=False)

    async def advance(self, seconds: float) -> int:
        """Move the clock forward, running what falls due in order, each at its own due time."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        async with self._unit():  # a shared store's clock reading comes in with the latest state
            target = self.clock.now() + timedelta(seconds=seconds)
        ran = await self._run_until(target.timestamp(), move_clock=True)
        async with self._unit():
            self.clock.move_to(target.timestamp())
            self._save_clock()
        return ran

    async def _run_until(self, limit: float, *, move_clock: bool) -> int:
        async with self._lock:
            self._ran = 0
            try:
                return await self._run_steps(limit, move_clock)
            except BaseException:
                self._saved = None  # a step rolled back may have taken its clock reading with it
                raise

    def _unit(self) -> _Unit:
        """``async with self._unit():`` one unit of work of the store on the event loop (see ``_Unit``)."""
        return _Unit(self.store, self._lock_ahead, self._settle_after)

    async def _run_steps(self, limit: float, move_clock: bool) -> int:
        # At every step: ``_unit`` written out, since ``_next_step`` opens a unit per plain job itself.
        lock = self._lock_ahead
        settle = self._settle_after
        while True:
            held: list[tuple[float, int]] = []  # claimed by a live process of a shared store
            while True:
                if lock is not None:
                    await lock()
                step = self._next_step(limit, move_clock, held, one=lock is not None)
                if settle is not None:
                    await settle()
                if step is None:
                    break
                if isinstance(step, _OneDone):
                    continue
                registered, batch = step
                await self._run_waiting(registered, batch)
                self._ran += len(batch)
            if not held:
                return self._ran
            for entry in held:  # wait for the other process to finish them, or for its lease to end
                heapq.heappush(self._heap, entry)
            await asyncio.sleep(_HELD_POLL_SECONDS)

    def _next_step(
        self, limit: float, move_clock: bool, held: list[tuple[float, int]], *, one: bool = False
    ) -> tuple[_Registered, list[dict[str, Any]]] | _OneDone | None:
        """Run the plain jobs due by ``limit`` (each in its own transaction), until the next due job waits
        on the outside world: claim it with the concurrent ones due at the same instant and return them.
        With ``one``, return ``_ONE_DONE`` after a plain job (the caller takes the lock for the next)."""
        store, handlers = self.store, self._handlers  # read at every job: kept at hand (``_heap`` is not:
        # a shared store's listener may replace it when a transaction begins)
        lasting = store.lasting
        while True:
            with store.transaction():  # a shared store learns here what the others scheduled
                job = None
                while job is None:  # entries of jobs run or cancelled meanwhile are skipped here
                    if not self._heap or self._heap[0][0] > limit:
                        return None
                    due, seq = heapq.heappop(self._heap)
                    key = str(seq)
                    job = self._ready(key, held, due)
                registered = handlers.get(job["kind"]) or self._registered(job)
                if move_clock and due != self._set_due:  # jobs due at one instant move the clock once
                    self.clock.move_to(due)
                    self._set_due = due
                if not registered.waits:
                    store.delete(_COLLECTION, key)  # the job is done with the step it commits in
                    result = registered.handler(
                        {**job["args"], AFTER_RESTART: True} if AFTER_RESTART in job else job["args"]
                    )
                    if result is not None and inspect.iscoroutine(result):  # it would run outside the
                        result.close()  # transaction: refuse
                        raise TypeError(f"job kind {job['kind']!r} waits: register a coroutine function")
                    if lasting:
                        self._save_clock()
                    self._ran += 1
                    if one:
                        return _ONE_DONE
                    continue
                batch = [job]
                if registered.concurrent:
                    while self._heap and self._heap[0][0] == due:
                        nxt = self.store.get(_COLLECTION, str(self._heap[0][1]))
                        if nxt is not None and nxt["kind"] != job["kind"]:
                            break
                        _, nseq = heapq.heappop(self._heap)
                        ready = self._ready(str(nseq), held, due)
                        if ready is not None:
                            batch.append(ready)
                if not self.store.lasting:  # nobody could find a claim: the process's memory dies with it
                    return registered, batch
                until = wall_seconds() + self.lease_seconds
                claimed = []
                for each in batch:
                    each = {**each, CLAIM: {"by": self.owner, "until": until}}
                    self.store.put(_COLLECTION, str(each["seq"]), each)
                    claimed.append(each)
                return registered, claimed

    def _ready(self, key: str, held: list[tuple[float, int]], due: float) -> dict[str, Any] | None:
        """The job stored under ``key`` to run now, or None: gone (run elsewhere, cancelled) or claimed by
        a live process (then put in ``held``). A job whose claim ran out was interrupted: it runs again,
        so marked."""
        job = self.store.get(_COLLECTION, key)
        if job is None or CLAIM not in job:
            return job
        if job[CLAIM]["until"] > wall_seconds():
            held.append((due, job["seq"]))
            return None
        job = {k: v for k, v in job.items() if k != CLAIM}
        job[AFTER_RESTART] = True
        return job

    def _save_clock(self) -> None:
        """Save the clock's reading, in the transaction of the step in progress. A reading this process
        saved already is not written again (the jobs due at one instant save it once): the stored reading
        is then the one the step would have written."""
        if not self.store.lasting:  # read only at a restart, or by another process
            return
        now = self.clock.stamp()
        if now != self._saved:
            self.store.put(_META, "clock", {"now": now})
            self._saved = now

    async def _run_waiting(self, registered: _Registered, batch: list[dict[str, Any]]) -> None:
        # Jobs that wait on the outside world: claimed (committed already), run outside any transaction,
        # then each one's effects and its removal are committed together, if the claim still holds.
        # One job (the common case) is awaited in place, no task made for it. A failure leaves the claims
        # to run out: the jobs run again later.
        # cast's type as a string: evaluated, it would be built again at every job
        handler = cast("Callable[[dict[str, Any]], Awaitable[Commit | None]]", registered.handler)
        if len(batch) == 1:
            results = [await handler(self._args(batch[0]))]
        else:
            results = list(await asyncio.gather(*(handler(self._args(job)) for job in batch)))
        if self._lock_ahead is None and self._settle_after is None:  # nothing to await around the unit
            with self.store.transaction():
                self._commit_waiting(batch, results)
        else:
            async with self._unit():
                self._commit_waiting(batch, results)

    def _commit_waiting(self, batch: list[dict[str, Any]], results: list[Commit | None]) -> None:
        store = self.store
        for job, commit in zip(batch, results, strict=True):
            key = str(job["seq"])
            current = store.get(_COLLECTION, key)
            if current is None:
                continue  # cancelled while it waited
            if store.lasting and current.get(CLAIM, {}).get("by") != self.owner:
                continue  # taken over after our lease ran out: the other process applies it
            store.delete(_COLLECTION, key)  # done, in the step its effects commit in
            if commit is not None:
                commit()
        self._save_clock()

    @staticmethod
    def _args(job: dict[str, Any]) -> dict[str, Any]:
        return {**job["args"], AFTER_RESTART: True} if job.get(AFTER_RESTART) else job["args"]

    def _registered(self, job: dict[str, Any]) -> _Registered:
        registered = self._handlers.get(job["kind"])
        if registered is None:
            raise UnknownJobKind(f"job {job['seq']} has kind {job['kind']!r}, which no engine registered")
        return registered
