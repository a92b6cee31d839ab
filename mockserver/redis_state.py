"""``--state redis://HOST:PORT/DB``: the mock's state in Redis, shared by every process of a namespace.

The engine is synchronous inside a unit of work (``StateStore.transaction``): nothing awaits between a
unit's first read and its last write. Its round trips come before the body (taking the lock) and after
it (the commit), so they are written once, as generators of steps (a round trip, or a pause), and run by
one of two drivers: on the event loop (a request's unit, ``run_unit_async``; a timeline step,
``lock_async`` then ``settle_async``) with redis-py's asyncio client, every round trip awaited; elsewhere
(``transaction()`` opened directly, start-up, the lease's thread) with its synchronous client. A unit under
the lock makes two round trips, one to begin and one to commit; a request's handler, one (below). Units
of one process on the event loop go one at a time from their first read to their commit (an asyncio
lock, the *gate*): no unit reads another's writes before they are committed.

- Each process keeps a *mirror* of the namespace's documents in memory (a ``MemoryStore``), so reads cost
  what they cost with ``--state memory``.
- A unit of work holds the namespace's lock from its start to its commit: ``SET lock TOKEN NX PX lease``
  in a Lua script that, in the same call, returns what other processes committed since this process's
  mirror was last brought up to date (the change log, ``version``). A unit therefore reads the latest
  committed state and no other process commits while it runs: nobody's write is lost.
- Writes go to the mirror at once (a unit reads its own writes) and are remembered by key; the commit is
  one Lua script that checks the lock is still this unit's (its lease may have run out), writes every
  changed document, sequence and the change-log entry, bumps ``version`` and releases the lock. Redis
  runs a script whole, so a commit is all or nothing; a unit that raises is rolled back in the mirror
  (the ``MemoryStore`` undo log) and the lock released with nothing written.
- A request's handler runs without the lock (``run_unit``): it reads the mirror as it stands (at the
  version ``base``), and the store notes what it read (documents by key, collections it listed or counted
  whole). Its commit, one round trip, walks the change log since ``base`` and writes only if no other
  process changed meanwhile a document the unit read or wrote, nor a collection it read whole, nor
  cleared the namespace, and no unit holds the lock; the same script returns what the others changed,
  so the mirror moves to the new version without another look. Units of several processes that touch
  different documents (two pushes: each writes its own call) therefore commit side by side. A unit that
  wrote nothing, or was refused, looks at what changed instead. Overtaken, the unit is rolled back, the
  mirror brought up to date and the handler run again (the second time under the lock); a unit that
  found the lock held waits for it to be let go and runs again, without taking it.
- While a unit runs, a thread of the process extends the lock's lease, so a long unit keeps it and a
  killed process loses it after ``lease`` seconds.
- Sequences (call ids, delivery ids, job numbers) are not part of any unit's check: each process
  reserves a block of numbers (``HINCRBY``, ``BLOCK`` at a time, more for a unit that takes many) and
  hands them out. Numbers are unique across processes, not gap-free (a process that dies leaves the
  rest of its block unused); one process alone numbers 1, 2, 3 ..., and a unit rolled back gives its
  numbers back to its block. The highest number committed (``last``) is kept for paging (``last_id``).
- A change another process committed reaches the engines through ``on_remote`` listeners, so their
  in-process indexes (the timeline's due heap, the dialer's pools) follow.

Redis unreachable, or the lock not had within ``wait``: ``StoreUnavailable`` (the request is answered 503).

Keys, under the prefix ``mockline:NAMESPACE:``: ``docs:COLLECTION`` (hash: key -> JSON), ``collections``
(set), ``seq`` (hash: sequence -> the last number reserved), ``last`` (hash: sequence -> the highest
number committed), ``version`` (counter), ``log`` (hash: version -> the keys that commit changed; the last
``KEEP`` versions), ``lock``, ``wake`` (a list a unit that lets go of the lock pushes onto: a unit opened
with ``transaction()`` that waits for the lock blocks on it with ``BLPOP`` instead of polling; one on the
event loop, a request's or a timeline step's, looks again after ``asyncio.sleep``), ``stats``
(``COUNTERS``).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import secrets
import threading
import time
from collections.abc import AsyncIterator, Callable, Generator, Iterator, Sequence
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

import orjson
import redis
import redis.asyncio

from mockserver.core.store import (
    Document,
    MemoryStore,
    RemoteListener,
    StoreUnavailable,
    TransactionError,
    running_task,
)

KEEP = 2000
"""Versions of the change log kept; a process further behind reads the whole namespace again."""

_LOG = """
local function changed(log, since, upto)
  local found, seen = {}, {}
  for ver = since + 1, upto do
    local entry = redis.call('HGET', log, tostring(ver))
    if not entry then return nil end
    local e = cjson.decode(entry)
    if e.c == 1 then return nil end
    for _, pair in ipairs(e.d) do
      local id = pair[1] .. '\\0' .. pair[2]
      if not seen[id] then
        seen[id] = true
        found[#found + 1] = pair
      end
    end
  end
  return found, seen
end
local function add_docs(out, prefix, found)
  for _, pair in ipairs(found) do
    out[#out + 1] = pair[1]
    out[#out + 1] = pair[2]
    out[#out + 1] = redis.call('HGET', prefix .. 'docs:' .. pair[1], pair[2]) or ''
  end
end
local function add_last_ids(out, last)
  out[#out + 1] = '\\0seq'
  for _, item in ipairs(redis.call('HGETALL', last)) do out[#out + 1] = item end
end
"""
"""What both the begin and the commit scripts read from the change log. ``changed``: the (collection, key)
pairs committed after version ``since`` up to ``upto``, each once, and the set of them; nil when the log
no longer holds one of those versions or one of them cleared the state (then read it all again).
``add_docs``: each pair's collection, key and stored value ('' when deleted). ``add_last_ids``: '\\0seq'
then (name, last id) pairs."""

_SYNC_BODY = """
local v = tonumber(redis.call('GET', KEYS[2]) or '0')
local since = tonumber(ARGV[3])
if v == since and #ARGV < 6 then return {1, v} end
if since > v or v - since > tonumber(ARGV[4]) then return {1, v, 'reload'} end
local prefix = ARGV[5]
local found, seen = changed(KEYS[3], since, v)
if not found then return {1, v, 'reload'} end
local out = {1, v, 'changes'}
add_docs(out, prefix, found)
out[#out + 1] = '\\0touched'
local touched = {}
for j = 6, #ARGV - 1, 2 do
  local id = ARGV[j] .. '\\0' .. ARGV[j + 1]
  if not seen[id] then
    seen[id] = true
    touched[#touched + 1] = {ARGV[j], ARGV[j + 1]}
  end
end
add_docs(out, prefix, touched)
add_last_ids(out, KEYS[4])
return out
"""

# KEYS: lock, version, log, last. ARGV: token ('' = read without the lock), lease ms, since, keep, prefix,
# then (collection, key) pairs whose committed values are wanted too (what a rolled-back unit touched).
# Returns {1, version} (nothing new), {1, version, 'reload'}, or {1, version, 'changes', what others
# changed as (collection, key, value | '')..., '\0touched', the touched documents likewise, '\0seq',
# (name, last id)...}; {0, pttl of the lock} when the lock is held by another.
_BEGIN = (
    _LOG
    + """
if ARGV[1] ~= '' then
  if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
    return {0, redis.call('PTTL', KEYS[1])}
  end
end
"""
    + _SYNC_BODY
)

# KEYS: lock, version, log, last, collections, wake, seq, stats. ARGV: token ('' = a unit that holds no
# lock), prefix, keep, cleared, entry, base version (of a unit without the lock: the version its mirror
# was at), then counts: documents, counters, last ids, keys read, collections read; then (collection, key,
# 'p'..json | 'd') per document, (name, value) per counter (a unit that cleared the state counts its own
# numbers from the start), (name, value) per last id given (kept as the highest), (collection, key) per
# document read, one name per collection read (values, count). Returns {new version, version before};
# with, when other processes committed in between, what they changed (collection, key, value | '') and
# then '\0seq' and the last ids, to bring the mirror up to date in the same round trip. {-1}: the lock is
# not this unit's (its lease ran out). {-2}: a unit without the lock was overtaken: another process
# committed, since its base, a document it read or wrote (or a clear). {-3}: another unit holds the lock
# (a unit under the lock must not be overtaken). Nothing written on -2 and -3: run the unit again.
_COMMIT = (
    _LOG
    + """
local token, prefix, keep = ARGV[1], ARGV[2], tonumber(ARGV[3])
local base = tonumber(ARGV[6])
local nd, nc, nl, nr, ncol = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10]),
  tonumber(ARGV[11])
local d0 = 12
local c0 = d0 + 3 * nd
local l0 = c0 + 2 * nc
local r0 = l0 + 2 * nl
local k0 = r0 + 2 * nr
local cur = tonumber(redis.call('GET', KEYS[2]) or '0')
local others = nil
if token == '' then
  if redis.call('EXISTS', KEYS[1]) == 1 then
    redis.call('HINCRBY', KEYS[8], 'lock_waits', 1)
    return {-3}
  end
  if cur ~= base then
    if ARGV[4] == '1' or base > cur or cur - base > keep then
      redis.call('HINCRBY', KEYS[8], 'conflicts', 1)
      return {-2}
    end
    local watched = {}
    for i = d0, c0 - 1, 3 do watched[ARGV[i] .. '\\0' .. ARGV[i + 1]] = true end
    for i = r0, k0 - 1, 2 do watched[ARGV[i] .. '\\0' .. ARGV[i + 1]] = true end
    local collections = {}
    for i = k0, k0 + ncol - 1 do collections[ARGV[i]] = true end
    others = changed(KEYS[3], base, cur)
    local overtaken = not others
    for _, pair in ipairs(others or {}) do
      if watched[pair[1] .. '\\0' .. pair[2]] or collections[pair[1]] then overtaken = true end
    end
    if overtaken then
      redis.call('HINCRBY', KEYS[8], 'conflicts', 1)
      return {-2}
    end
  end
elseif redis.call('GET', KEYS[1]) ~= token then return {-1} end
if ARGV[4] == '1' then
  for _, c in ipairs(redis.call('SMEMBERS', KEYS[5])) do redis.call('DEL', prefix .. 'docs:' .. c) end
  redis.call('DEL', KEYS[5], KEYS[4], KEYS[7])
end
for i = d0, c0 - 1, 3 do
  local c, key, value = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if string.sub(value, 1, 1) == 'p' then
    redis.call('HSET', prefix .. 'docs:' .. c, key, string.sub(value, 2))
    redis.call('SADD', KEYS[5], c)
  else
    redis.call('HDEL', prefix .. 'docs:' .. c, key)
  end
end
for i = c0, l0 - 1, 2 do
  redis.call('HSET', KEYS[7], ARGV[i], ARGV[i + 1])
  redis.call('HSET', KEYS[4], ARGV[i], ARGV[i + 1])
end
for i = l0, r0 - 1, 2 do
  if tonumber(redis.call('HGET', KEYS[4], ARGV[i]) or '0') < tonumber(ARGV[i + 1]) then
    redis.call('HSET', KEYS[4], ARGV[i], ARGV[i + 1])
  end
end
local v = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[3], tostring(v), ARGV[5])
redis.call('HDEL', KEYS[3], tostring(v - keep))
redis.call('HINCRBY', KEYS[8], 'commits', 1)
if token ~= '' then
  redis.call('DEL', KEYS[1])
  redis.call('RPUSH', KEYS[6], '1')
  redis.call('LTRIM', KEYS[6], 0, 0)
  redis.call('PEXPIRE', KEYS[6], 100)
end
local out = {v, cur}
if others then
  add_docs(out, prefix, others)
  add_last_ids(out, KEYS[4])
end
return out
"""
)

# KEYS: seq, last. ARGV: name, first value of a new sequence, how many. Reserves the next ``how many``
# numbers of a sequence for one process (its block); returns the highest of them.
_RESERVE = """
local top = redis.call('HGET', KEYS[1], ARGV[1])
if not top then
  top = math.max(tonumber(ARGV[2]) - 1, tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0'))
  redis.call('HSET', KEYS[1], ARGV[1], top)
end
return redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[3])
"""

# KEYS: lock. ARGV: token, lease ms.
_EXTEND = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""

# KEYS: lock, wake. ARGV: token. A unit that wrote nothing lets go of the lock and wakes one waiter.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('RPUSH', KEYS[2], '1')
  redis.call('LTRIM', KEYS[2], 0, 0)
  redis.call('PEXPIRE', KEYS[2], 100)
  return 1
end
return 0
"""

_OUTAGE = (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError, OSError)

_SCRIPTS = {"begin": _BEGIN, "commit": _COMMIT, "reserve": _RESERVE, "extend": _EXTEND, "release": _RELEASE}
_PIPELINES = ("reload", "rate")

_Op = tuple[str, Sequence[Any], Sequence[Any]]
"""One round trip: a script of ``_SCRIPTS``, a ``MULTI`` of ``_PIPELINES`` or a client command; its keys
(scripts only) and arguments."""


class _Side:
    """What the store uses on one event loop: redis-py's asyncio client with the scripts registered on it,
    and the gate that lets one unit of the process at a time be between its first read and its commit."""

    def __init__(self, loop: asyncio.AbstractEventLoop, url: str, timeout: float) -> None:
        self.loop = loop
        # No socket timeout of the client's own (it wraps every send in a task of its own, which costs
        # more than the round trip): ``_call_async`` bounds each whole round trip instead.
        self.client = redis.asyncio.Redis.from_url(url, socket_connect_timeout=timeout)
        self.scripts = {name: self.client.register_script(source) for name, source in _SCRIPTS.items()}
        self.gate = asyncio.Lock()
        self.holder = self._hold()

    async def _hold(self) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await self.client.aclose()


def _encode(value: Document) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


_WAIT_STEP = 0.25
"""Longest wait for the lock between two looks (a release wakes the waiter before)."""

_OPTIMISTIC_TRIES = 2
"""Runs of a unit without the lock before it takes the lock (under which it cannot be overtaken)."""

_HELD_PAUSE = 0.002
"""Pause of a unit without the lock that found the lock held, before it runs again."""

BLOCK = 32
"""Numbers of a sequence a process reserves at a time (more for a unit that takes many)."""

_BLOCK_MAX = 4096

COUNTERS = ("commits", "conflicts", "stale_reads", "lock_waits", "lock_fallbacks")
"""What ``counters()`` reports, summed over the namespace's processes: units committed, commits refused
because another process had committed what the unit read or wrote (the unit ran again), units that wrote
nothing (or were refused) on a mirror another process had moved past where it mattered (ran again),
commits refused because a unit under the lock was running (the unit ran again after it), and units that
ran under the lock after ``_OPTIMISTIC_TRIES`` runs without it were overtaken."""

T = TypeVar("T")


def _discard(result: object) -> None:
    """An async handler's coroutine from a run that is thrown away: close it, it will not be awaited."""
    if inspect.iscoroutine(result):
        result.close()


Change = tuple[str, str, "Document | None"]


class RedisStore:
    """A ``StateStore`` whose state lives in Redis under one namespace (see the module's docstring)."""

    shared = True
    lasting = True

    def __init__(
        self,
        url: str,
        namespace: str = "mockline",
        *,
        lease: float = 3.0,
        wait: float = 10.0,
        socket_timeout: float = 2.0,
    ) -> None:
        self.url = url
        self.namespace = namespace
        self.lease_ms = int(lease * 1000)
        self.wait = wait
        self.prefix = f"mockline:{namespace}:"
        names = ("lock", "version", "log", "last", "collections", "wake", "seq", "stats")
        self._keys = [self.prefix + name for name in names]
        self._timeout = socket_timeout
        self._client = redis.Redis.from_url(
            url, socket_timeout=socket_timeout, socket_connect_timeout=socket_timeout
        )
        self._scripts = {name: self._client.register_script(source) for name, source in _SCRIPTS.items()}
        self._sides: _Side | None = None  # the asyncio client of the running event loop
        self._gated: _Side | None = None  # whose gate ``lock_async`` holds for the unit it took the lock for
        self._pending: Any = None  # a unit opened under a lock taken ahead, closed, not yet committed
        self._flight = False  # a unit's writes are in the mirror while its commit is awaited
        self._fresh = False  # the mirror was brought up to date on this turn of the event loop
        self._cache = MemoryStore()
        self._version = -1  # never read: the first unit reads the whole namespace
        self._depth = 0
        self._owner: object | None = None
        self._token: str | None = None
        # the lock taken ahead of the unit a task opens next (``lock_async``, or a unit's fall-back to the
        # lock): the task, and what others committed; that unit's commit is left to its taker
        self._pre: tuple[object | None, list[Change] | None] | None = None
        self._dirty: dict[tuple[str, str], None] = {}
        self._dirty_sequences: set[str] = set()
        self._cleared = False
        # what a unit without the lock read (checked at its commit); None in a unit under the lock
        self._reads: dict[tuple[str, str], None] | None = None
        self._read_collections: set[str] = set()
        # per sequence, this process's reserved block [next number, last number]
        self._blocks: dict[str, list[int]] = {}
        self._spares: dict[str, list[int]] = {}  # per sequence, the next block, reserved ahead
        self._starts: dict[str, int] = {}  # per sequence, the number it starts at
        self._block_undo: dict[str, tuple[list[int] | None, int]] = {}
        self._given: dict[str, int] = {}  # the highest number the unit took, per sequence
        self._taken = 0  # numbers the unit took (a unit that takes many reserves larger blocks)
        self._listeners: dict[str, list[RemoteListener]] = {}
        self._held_since = 0.0
        self._held = False  # the last commit of a unit without the lock found the lock held
        self.local_counters = dict.fromkeys(COUNTERS, 0)
        """This process's share of ``counters()`` (conflicts and commits as this process saw them)."""
        self._stop = threading.Event()
        self._keeper = threading.Thread(target=self._keep_lease, name="mockline-redis-lease", daemon=True)
        self._keeper.start()

    # ---- talking to Redis: each step of a unit is a round trip or a pause --------------------------
    #
    # The unit of work is written once, as generators that yield what they need: a float is a pause
    # (seconds), a ``_Op`` a round trip whose reply is sent back in (a failure to reach Redis is thrown in
    # as ``StoreUnavailable``). ``_drive`` runs them with the synchronous client (a unit opened with
    # ``transaction()``, the lease's thread, start-up); ``_drive_async`` with the asyncio client, awaiting
    # each round trip and pause, so the event loop serves other requests meanwhile.

    def _call(self, op: _Op) -> Any:
        what, keys, args = op
        try:
            script = self._scripts.get(what)
            if script is not None:
                return script(keys=keys, args=args)
            if what in _PIPELINES:
                pipe = self._client.pipeline(transaction=True)
                self._queue(pipe, what, args)
                return pipe.execute()
            return getattr(self._client, what)(*args)
        except _OUTAGE as exc:
            raise self._unreachable(exc) from exc

    async def _call_async(self, side: _Side, op: _Op) -> Any:
        what, keys, args = op
        try:
            async with asyncio.timeout(self._timeout):
                script = side.scripts.get(what)
                if script is not None:
                    return await script(keys=keys, args=args)
                if what in _PIPELINES:
                    pipe = side.client.pipeline(transaction=True)
                    self._queue(pipe, what, args)
                    return await pipe.execute()
                return await getattr(side.client, what)(*args)
        except _OUTAGE as exc:
            raise self._unreachable(exc) from exc

    def _queue(self, pipe: Any, what: str, args: Sequence[Any]) -> None:
        """The commands of a ``MULTI`` op (the same on either client's pipeline)."""
        if what == "reload":  # args: the collections to read whole
            for name in args:
                pipe.hgetall(self.prefix + "docs:" + name)
            pipe.smembers(self._keys[4])
            pipe.hgetall(self._keys[3])
            pipe.get(self._keys[1])
        else:  # "rate": args: the window's key, its expiry in seconds
            pipe.incr(args[0])
            pipe.expire(args[0], args[1])

    def _drive(self, steps: Generator[Any, Any, T]) -> T:
        """Run ``steps`` with the synchronous client (blocking the thread in its round trips and pauses)."""
        try:
            step = next(steps)
            while True:
                if type(step) is float:
                    time.sleep(step)
                    step = steps.send(None)
                    continue
                try:
                    reply = self._call(step)
                except StoreUnavailable as exc:
                    step = steps.throw(exc)
                    continue
                step = steps.send(reply)
        except StopIteration as done:
            return cast(T, done.value)

    async def _drive_async(self, side: _Side, steps: Generator[Any, Any, T]) -> T:
        """Run ``steps`` with the asyncio client: every round trip and pause is awaited. Anything that stops
        an await (Redis unreachable, the task cancelled) is thrown into the unit, which undoes itself."""
        try:
            step = next(steps)
            while True:
                try:
                    if type(step) is float:
                        await asyncio.sleep(step)
                        reply = None
                    else:
                        reply = await self._call_async(side, step)
                except BaseException as exc:  # the unit undoes itself, then it goes on up
                    step = steps.throw(exc)
                    continue
                step = steps.send(reply)
        except StopIteration as done:
            return cast(T, done.value)

    async def _side(self) -> _Side:
        """The asyncio client (and the gate) of the running event loop; a new loop gets its own, closed
        when that loop shuts down its async generators (``asyncio.run`` does, before it closes the loop)."""
        loop = asyncio.get_running_loop()
        side = self._sides
        if side is None or side.loop is not loop:
            side = self._sides = _Side(loop, self.url, self._timeout)
            await anext(side.holder)  # started on this loop: the loop closes it, and the client with it
        return side

    # ---- the unit of work ------------------------------------------------------------------------

    def _open(self, reads: bool) -> Any:
        unit = self._cache.transaction()
        unit.__enter__()
        self._dirty, self._dirty_sequences, self._cleared = {}, set(), False
        self._reads, self._read_collections = ({} if reads else None), set()
        self._block_undo, self._given, self._taken = {}, {}, 0
        return unit

    def _check_not_in_flight(self) -> None:
        if self._flight:
            raise TransactionError(
                "a unit of work opened while another unit's commit is in flight on the event loop: on the"
                " loop, open units through run_unit_async, or lock_async and settle_async"
            )

    def _roll_back(self, unit: Any) -> None:
        """Undo a unit opened by ``_open``: its writes in the mirror (the ``MemoryStore`` undo log), and the
        numbers it took, given back to their blocks."""
        unit.__exit__(Exception, None, None)
        self._undo_blocks()

    def _undo_blocks(self) -> None:
        """A unit rolled back takes no number: each block it drew from goes back to where it stood."""
        for name, (block, first) in self._block_undo.items():
            if block is None:
                self._blocks.pop(name, None)
            else:
                block[0] = first
                self._blocks[name] = block
        self._block_undo = {}

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        task = running_task()
        if self._depth:
            if self._owner is not task:
                raise TransactionError(
                    "a store transaction is already open in another task: a transaction must not span an await"
                )
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        changes, deferred = self._acquire(task)
        unit = self._open(reads=False)
        self._depth, self._owner = 1, task
        try:
            self._tell(changes)
            yield
        except BaseException:
            self._depth, self._owner = 0, None
            self._roll_back(unit)
            self._let_go()
            self._ungate()
            raise
        self._depth, self._owner = 0, None
        if deferred:  # the lock's taker commits it (settle_async, or the unit's own steps)
            self._pending, self._flight = unit, True
            return
        self._drive(self._commit_locked_steps(unit))

    def _commit_locked_steps(self, unit: Any) -> Generator[Any, Any, None]:
        """Commit a closed unit that holds the lock; one that cannot commit is undone in the mirror."""
        self._flight = True  # its writes are in the mirror, not yet in Redis
        try:
            changes = yield from self._commit_steps()
        except BaseException:
            self._roll_back(unit)
            self._version = -1  # what Redis holds now is not known for sure: read it all again
            raise
        finally:
            self._flight = False
        unit.__exit__(None, None, None)
        self._tell(changes)

    async def settle_async(self) -> None:
        """Commit, with the asyncio client, the unit opened under the lock ``lock_async`` took (the timeline
        calls it after each step), and let the next unit of this process begin. Nothing pending: no-op."""
        unit, self._pending = self._pending, None
        side = self._gated
        try:
            if unit is not None and side is not None:
                await self._drive_async(side, self._commit_locked_steps(unit))
                self._mark_fresh(side)
        finally:
            self._ungate()

    def _ungate(self) -> None:
        """Let the next unit of this process begin (the one ``lock_async`` gated is committed, or ended
        without a commit)."""
        side, self._gated = self._gated, None
        self._flight = False
        if side is not None:
            side.gate.release()

    def run_unit(self, body: Callable[[], T]) -> T:
        """Run ``body`` as one unit of work, first without the lock: it reads the mirror as it stands and
        its commit checks, in the same round trip, that no other process committed since then a document
        it read or wrote (the change log says which); a unit that wrote nothing, or raised, looks at what
        changed instead. If one did, the unit is rolled back, the mirror brought up to date, and ``body``
        run again (once more without the lock, then under it, where it cannot be overtaken). ``body``
        must be safe to run again: it may only act through the store (a request's handler). One round
        trip per unit, whether or not other processes commit meanwhile, unless they touch what it read."""
        if self._depth:
            return body()
        return self._drive(self._unit_steps(body))

    async def run_unit_async(self, body: Callable[[], T]) -> T:
        """``run_unit`` for a caller on the event loop (a request, a dashboard page), with redis-py's asyncio
        client: its round trips and its waits for another process's lock are awaited, so the process
        serves its other requests meanwhile. Units of one process go one at a time, from the first read
        to the commit (an asyncio lock): a unit must not read another's writes before they are committed."""
        if self._depth:
            return body()
        side = await self._side()
        async with side.gate:
            result = await self._drive_async(side, self._unit_steps(body))
            self._mark_fresh(side)
            return result

    def _mark_fresh(self, side: _Side) -> None:
        """The mirror was just brought up to date: a read outside any unit takes it as it is until the
        loop's next turn (no other task runs before), without a round trip of its own."""
        if not self._fresh:
            self._fresh = True
            side.loop.call_soon(self._unfresh)

    def _unfresh(self) -> None:
        self._fresh = False

    def _unit_steps(self, body: Callable[[], T]) -> Generator[Any, Any, T]:
        """What ``run_unit`` does, as steps."""
        yield from self._top_up_steps()
        tries = 0
        deadline = time.monotonic() + self.wait
        while tries < _OPTIMISTIC_TRIES:
            if self._version < 0:  # nothing is known yet (or not for sure): read the namespace first
                yield from self._refresh_steps(())
                if self._version < 0:
                    break
            self._held = False
            done, result = yield from self._try_unit_steps(body)
            if done:
                return result  # type: ignore[return-value]
            if not self._held:
                tries += 1
            elif time.monotonic() < deadline:
                # A unit under the lock (a timeline step) is running: wait for it rather than take the
                # lock in turn, which would make the other processes' units wait for this one.
                yield _HELD_PAUSE
            else:
                break
        yield from self._count_steps("lock_fallbacks")
        while (yield from self._lock_held_steps()) and time.monotonic() < deadline:  # wait, then take it
            yield _HELD_PAUSE
        changes = yield from self._lock_steps(deadline)  # another may take it first: looks, with pauses
        self._pre = (running_task(), changes)
        with self.transaction():
            result = body()
        unit, self._pending = self._pending, None
        yield from self._commit_locked_steps(unit)
        return result

    def _lock_held_steps(self) -> Generator[Any, Any, bool]:
        return bool((yield ("exists", (), (self._keys[0],))))

    def _count_steps(self, name: str) -> Generator[Any, Any, None]:
        """One more of a rare event (a rerun that no commit script counted, a fall-back to the lock)."""
        self.local_counters[name] += 1
        with contextlib.suppress(StoreUnavailable):
            yield ("hincrby", (), (self._keys[7], name, 1))

    def counters(self) -> dict[str, int]:
        """``COUNTERS`` summed over every process of the namespace since it was last wiped."""
        found = cast(dict[bytes, bytes], self._call(("hgetall", (), (self._keys[7],))))
        totals = dict.fromkeys(COUNTERS, 0)
        totals.update({k.decode(): int(v) for k, v in found.items()})
        return totals

    def _try_unit_steps(self, body: Callable[[], T]) -> Generator[Any, Any, tuple[bool, T | None]]:
        """One run of ``body`` without the lock, on the mirror at version ``base``."""
        self._check_not_in_flight()
        base = self._version
        unit = self._open(reads=True)
        self._depth, self._owner = 1, running_task()
        self._token = None
        try:
            result = body()
        except BaseException as exc:
            self._depth, self._owner = 0, None
            touched = list(self._dirty)
            self._roll_back(unit)
            # a refusal decided on a mirror another process had moved past is not an answer: look again
            refusal = isinstance(exc, Exception) and not isinstance(exc, StoreUnavailable)
            if refusal and (yield from self._stale_steps(base, touched)):
                yield from self._count_steps("stale_reads")
                return False, None
            raise
        self._depth, self._owner = 0, None
        touched = list(self._dirty)
        if not touched and not self._given and not self._cleared:
            unit.__exit__(None, None, None)
            if (yield from self._stale_steps(base, touched)):
                _discard(result)
                yield from self._count_steps("stale_reads")
                return False, None
            return True, result
        self._flight = True  # the unit's writes are in the mirror, not yet in Redis
        try:
            reply = yield from self._commit_steps(base)
        except BaseException:
            self._roll_back(unit)
            self._version = -1  # what Redis holds now is not known for sure: read it all again
            raise
        finally:
            self._flight = False
        if reply is not None:
            unit.__exit__(None, None, None)
            self._tell(reply)
            return True, result
        self.local_counters["lock_waits" if self._held else "conflicts"] += 1
        self._roll_back(unit)  # overtaken by another process's commit
        _discard(result)
        yield from self._refresh_steps(touched)
        return False, None

    def _stale_steps(self, base: int, touched: list[tuple[str, str]]) -> Generator[Any, Any, bool]:
        """Whether another process committed, since version ``base``, a document the unit read or wrote or
        a collection it read as a whole. The mirror is brought up to date, with the committed values of
        the documents a rolled-back unit ``touched`` (a change made in place to a document is not undone
        by the rollback), in one round trip."""
        reads, collections = self._reads or {}, self._read_collections
        changes = yield from self._refresh_steps(touched)
        if changes is None:
            return True  # the whole namespace was read again (a clear, or far behind)
        if self._version == base:
            return False
        return any(
            (collection, key) in reads or collection in collections or (collection, key) in touched
            for collection, key, _ in changes
        )

    def _acquire(self, task: object) -> tuple[list[Change] | None, bool]:
        """The lock for a unit ``transaction()`` opens, and what others committed: taken already by
        ``lock_async`` or a unit's fall-back for this task (then the commit is left to them), or taken here,
        waiting in ``BLPOP`` (a unit opened off the event loop's paths)."""
        pre, self._pre = self._pre, None
        if pre is not None:
            if pre[0] is task:
                return pre[1], True  # taken for this very unit: its taker commits it
            self._let_go()  # taken for a unit of another task that did not open it: given back
            self._ungate()
        self._check_not_in_flight()
        token = secrets.token_hex(12)
        deadline = time.monotonic() + self.wait
        while True:
            taken, reply = self._drive(self._try_lock_steps(token, deadline))
            if taken:
                return self._drive(self._apply_steps(reply))[0], False
            # Wait for the holder to let go: its commit (or release) pushes onto ``wake`` and BLPOP wakes
            # the longest waiter at once; at most until the holder's lease would run out (a dead holder)
            # and a quarter second (then look again), never past the deadline.
            pttl = int(reply[1]) if len(reply) > 1 else -1
            pause = min(_WAIT_STEP, max(deadline - time.monotonic(), 0.001))
            if pttl > 0:
                pause = min(pause, pttl / 1000)
            self._call(("blpop", (), ([self._keys[5]], max(pause, 0.001))))

    async def lock_async(self) -> None:
        """Take the namespace's lock for the next unit this task opens (``transaction``, with no await in
        between: a timeline step), with the asyncio client, waiting for another process to let go with
        ``asyncio.sleep``, so the event loop serves meanwhile. The unit's commit waits for
        ``settle_async``, which the caller awaits once the unit is closed; until then no other unit of
        this process begins (they wait for it on the loop)."""
        if self._depth or self._pre is not None:
            return
        side = await self._side()
        await side.gate.acquire()
        deadline = time.monotonic() + self.wait

        def steps() -> Generator[Any, Any, list[Change] | None]:
            yield from self._top_up_steps()  # as ``_unit_steps`` does: the unit's numbers, reserved ahead
            return (yield from self._lock_steps(deadline))

        try:
            changes = await self._drive_async(side, steps())
        except BaseException:
            side.gate.release()
            raise
        self._pre, self._gated = (running_task(), changes), side

    def _lock_steps(self, deadline: float) -> Generator[Any, Any, list[Change] | None]:
        """Take the lock, as steps: each pause before the next try (past ``deadline``: unavailable).
        Returns what others committed since the mirror's version (None: the namespace was read whole)."""
        token = secrets.token_hex(12)
        while True:
            taken, reply = yield from self._try_lock_steps(token, deadline)
            if taken:
                try:
                    return (yield from self._apply_steps(reply))[0]
                except BaseException:
                    self._token = None  # not extended any more: its lease runs out
                    raise
            yield _HELD_PAUSE

    def _try_lock_steps(self, token: str, deadline: float) -> Generator[Any, Any, tuple[bool, list[Any]]]:
        """One try at the lock (it also brings what others committed); past ``deadline``, unavailable."""
        reply = yield ("begin", self._keys[:4], [token, self.lease_ms, self._version, KEEP, self.prefix])
        if reply[0] == 1:
            self._token = token
            self._held_since = time.monotonic()
            return True, reply
        if time.monotonic() > deadline:
            raise StoreUnavailable(
                f"the state lock of namespace {self.namespace!r} was held by another process for more"
                f" than {self.wait:g} s"
            )
        return False, reply

    def _let_go(self) -> None:
        self._drive(self._let_go_steps())

    def _let_go_steps(self) -> Generator[Any, Any, None]:
        token, self._token = self._token, None
        if token is None:
            return
        with contextlib.suppress(StoreUnavailable):  # not released: its lease runs out
            yield ("release", [self._keys[0], self._keys[5]], [token])

    def _commit_steps(self, base: int | None = None) -> Generator[Any, Any, list[Change] | None]:
        """Commit the unit's writes: under the lock (``base`` None), or, for a unit that holds no lock, only
        if no other process committed since version ``base`` a document the unit read or wrote (nor a
        clear) and nobody holds the lock. Returns what other processes changed meanwhile (now in the
        mirror), or None when the unit was overtaken (nothing written: roll it back, run it again)."""
        token = self._token
        if not self._dirty and not self._given and not self._dirty_sequences and not self._cleared:
            yield from self._let_go_steps()
            return []
        counters: list[Any] = []
        sequences = self._cache._sequences
        for name in self._dirty_sequences:  # a unit that cleared the state numbers from the start
            if name in sequences:
                counters += [name, sequences[name]]
        lasts: list[Any] = []
        for name, given in self._given.items():
            lasts += [name, given]
        reads: list[str] = []
        for collection, key in self._reads or ():
            reads += [collection, key]
        args: list[Any] = [
            token or "",
            self.prefix,
            KEEP,
            "1" if self._cleared else "0",
            b"",
            -1 if base is None else base,
            len(self._dirty),
            len(counters) // 2,
            len(lasts) // 2,
            len(reads) // 2,
            len(self._read_collections),
        ]
        changed: list[list[str]] = []
        for collection, key in self._dirty:
            value = self._cache.get(collection, key)  # a sealed document (core/compact.py) is opened
            args += [collection, key, b"d" if value is None else b"p" + _encode(value)]
            changed.append([collection, key])
        args += counters
        args += lasts
        args += reads
        args += self._read_collections
        args[4] = json.dumps({"d": changed, "c": 1 if self._cleared else 0}, separators=(",", ":"))
        try:
            reply = yield ("commit", self._keys, args)
        finally:
            self._token = None
        version = int(reply[0])
        if version in (-2, -3):
            self._held = version == -3
            return None
        if version == -1:
            raise StoreUnavailable(
                f"this process held the state lock of namespace {self.namespace!r} longer than its lease:"
                " its unit of work was not committed"
            )
        self.local_counters["commits"] += 1
        before = int(reply[1])
        if before == self._version:
            self._version = version
            return []
        if base is None or len(reply) == 2:  # under the lock nobody else commits: read again to be sure
            self._version = -1
            return []
        # Other processes committed, but nothing this unit read or wrote: their changes came back with
        # the commit, and the mirror moves to the new version in the same round trip.
        return self._apply_items(version, reply[2:])[0]

    def _keep_lease(self) -> None:
        """Extend the lease of a lock held for a third of it (a long unit); a dead process stops doing so."""
        period = self.lease_ms / 3000
        while not self._stop.wait(period / 2):
            token = self._token
            if token is not None and time.monotonic() - self._held_since > period:
                with contextlib.suppress(Exception):
                    self._call(("extend", self._keys[:1], [token, self.lease_ms]))

    # ---- bringing the mirror up to date ---------------------------------------------------------

    def _apply_steps(self, reply: list[Any]) -> Generator[Any, Any, tuple[list[Change] | None, list[Change]]]:
        """Apply what others committed (outside the unit's undo log: it is committed state). Returns the
        changes to tell the listeners (None after a whole reload), and of those, the ones other
        processes committed since the mirror's version (not the documents read back as touched)."""
        version = int(reply[1])
        if len(reply) == 2:
            self._version = version
            return [], []
        if reply[2] == b"reload":
            yield from self._reload_steps()
            return None, []
        return self._apply_items(version, reply[3:])

    def _apply_items(self, version: int, items: list[Any]) -> tuple[list[Change], list[Change]]:
        data = self._cache._data
        changes: list[Change] = []
        committed: list[Change] | None = None
        i = 0
        while i < len(items) and items[i] != b"\x00seq":
            if items[i] == b"\x00touched":
                committed = list(changes)
                i += 1
                continue
            collection, key, raw = items[i].decode(), items[i + 1].decode(), items[i + 2]
            if raw:
                value: Document | None = orjson.loads(raw)
                data.setdefault(collection, {})[key] = value  # type: ignore[assignment]
            else:
                value = None
                data.get(collection, {}).pop(key, None)
            changes.append((collection, key, value))
            i += 3
        sequences = self._cache._sequences
        for j in range(i + 1, len(items) - 1, 2):
            name, last = items[j].decode(), int(items[j + 1])
            if last > sequences.get(name, 0):
                sequences[name] = last
        self._version = version
        return changes, changes if committed is None else committed

    def _reload_steps(self) -> Generator[Any, Any, None]:
        """Read the whole namespace (the first unit, a clear by another process, or far behind): one
        ``MULTI`` reads every collection this process knows of, the last ids and the version together; if
        another process made a collection meanwhile, read again."""
        names: list[str] = []
        for _ in range(5):
            *contents, collections, sequences, version = yield ("reload", (), names)
            found = sorted(c.decode() for c in collections)
            if found == names:
                break
            names = found
        else:
            self._version = -1  # collections kept appearing: the next unit reads again
            return
        data: dict[str, dict[str, Document]] = {}
        for name, content in zip(names, contents, strict=True):
            data[name] = {k.decode(): orjson.loads(v) for k, v in content.items()}
        self._cache._data.clear()
        self._cache._data.update(data)
        self._cache._sequences.clear()
        self._cache._sequences.update({k.decode(): int(v) for k, v in sequences.items()})
        self._blocks.clear()  # a clear by another process started the sequences again
        self._spares.clear()
        self._version = int(version or 0)

    def _tell(self, changes: list[Change] | None) -> None:
        if changes is None:
            for listener in self._listeners.get("*", ()):
                listener("", None)
            return
        for collection, key, value in changes:
            for listener in self._listeners.get(collection, ()):
                listener(key, value)

    def refresh(self, touched: Sequence[tuple[str, str]] = ()) -> list[Change] | None:
        """Bring the mirror up to date without taking the lock (a read outside any unit of work); the
        documents ``touched`` are read again whether or not another process changed them. Returns what
        other processes committed since the mirror's last version (None: the namespace was read whole)."""
        return self._drive(self._refresh_steps(touched))

    def _refresh_steps(self, touched: Sequence[tuple[str, str]]) -> Generator[Any, Any, list[Change] | None]:
        args: list[Any] = ["", self.lease_ms, self._version, KEEP, self.prefix]
        for collection, key in touched:
            args += [collection, key]
        reply = yield ("begin", self._keys[:4], args)
        told, committed = yield from self._apply_steps(reply)
        self._tell(told)
        return None if told is None else committed

    def _look(self) -> None:
        """Before a read outside any unit: bring the mirror up to date, unless it is already (a unit just
        committed on this turn of the loop) or a unit of the process is on its way on the loop (then the
        mirror is read as it stands: a unit whose commit is in flight shows its writes)."""
        side = self._sides
        if not self._fresh and (side is None or not side.gate.locked()):
            self.refresh()

    async def count_in_window(self, name: str, window_seconds: float) -> int:
        """One more request in a rate-limit window, counted for every process of the namespace (the key
        expires after the window, in real time: the clock only chooses which window it is)."""
        op = ("rate", (), (f"{self.prefix}rate:{name}", max(1, int(window_seconds) * 2)))
        count, _ = await self._call_async(await self._side(), op)
        return int(count)

    def on_remote(self, collection: str, listener: RemoteListener) -> None:
        self._listeners.setdefault(collection, []).append(listener)

    def _unreachable(self, exc: Exception) -> StoreUnavailable:
        parts = urlsplit(self.url)
        where = f"{parts.hostname or 'localhost'}:{parts.port or 6379}"  # redis-py's defaults
        return StoreUnavailable(f"the state in Redis ({where}) cannot be reached: {exc}")

    def ping(self) -> None:
        self._call(("ping", (), ()))

    # ---- the StateStore operations ----------------------------------------------------------------

    def get(self, collection: str, key: str) -> Document | None:
        if not self._depth:
            self._look()
        elif self._reads is not None:
            self._reads[(collection, key)] = None
        return self._cache.get(collection, key)

    def put(self, collection: str, key: str, value: Document) -> None:
        if not self._depth:
            with self.transaction():  # the class's own: an instance may wrap put (the event bus does)
                RedisStore.put(self, collection, key, value)
            return
        self._cache.put(collection, key, value)
        self._dirty[(collection, key)] = None

    def delete(self, collection: str, key: str) -> bool:
        if not self._depth:
            with self.transaction():
                return RedisStore.delete(self, collection, key)
        self._dirty[(collection, key)] = None
        return self._cache.delete(collection, key)

    def values(self, collection: str) -> Iterator[Document]:
        if not self._depth:
            self._look()
        elif self._reads is not None:
            self._read_collections.add(collection)
        return self._cache.values(collection)

    def count(self, collection: str) -> int:
        if not self._depth:
            self._look()
        elif self._reads is not None:
            self._read_collections.add(collection)
        return self._cache.count(collection)

    def next_id(self, sequence: str, start: int = 1) -> int:
        """A number no other process of the namespace takes: from this process's block of the sequence,
        reserved in Redis (``HINCRBY``) outside any unit's check, so that units of several processes
        numbering the same sequence do not overtake each other. Numbers are unique, not gap-free across
        processes; one process alone numbers 1, 2, 3 ... and a unit rolled back gives its numbers back."""
        if not self._depth:
            with self.transaction():
                return RedisStore.next_id(self, sequence, start)
        if self._cleared:  # numbered from the start in the unit, committed with the clear
            self._dirty_sequences.add(sequence)
            return self._cache.next_id(sequence, start)
        block = self._blocks.get(sequence)
        if sequence not in self._block_undo:
            self._block_undo[sequence] = (block, block[0] if block is not None else 0)
        if block is None or block[0] > block[1]:
            self._starts[sequence] = start
            block = self._spares.pop(sequence, None)
            if block is None:  # none reserved ahead (the first number, or a unit that takes many)
                size = min(max(BLOCK, self._taken), _BLOCK_MAX)
                top = int(self._call(self._reserve_op(sequence, size)))
                block = [top - size + 1, top]
            before = self._block_undo[sequence][0]
            if before is None or before[0] > before[1]:  # the unit drew nothing from an earlier block
                self._block_undo[sequence] = (block, block[0])
            self._blocks[sequence] = block
        value = block[0]
        block[0] = value + 1
        self._taken += 1
        if value > self._given.get(sequence, 0):
            self._given[sequence] = value
        cache = self._cache  # the mirror's last number, rolled back with the unit
        if cache._undo is not None and sequence not in cache._undo_sequences:
            cache._undo_sequences[sequence] = cache._sequences.get(sequence)
        if value > cache._sequences.get(sequence, 0):
            cache._sequences[sequence] = value
        return value

    def _reserve_op(self, sequence: str, size: int) -> _Op:
        return ("reserve", [self._keys[6], self._keys[3]], [sequence, self._starts[sequence], size])

    def _top_up_steps(self) -> Generator[Any, Any, None]:
        """Before a unit on the event loop: reserve the next block of each sequence whose block is about
        to run out, so that the unit's ``next_id`` finds its numbers without a round trip of its own."""
        for name, block in list(self._blocks.items()):
            if block[1] - block[0] < BLOCK // 2 and name not in self._spares:
                top = int((yield self._reserve_op(name, BLOCK)))
                if name in self._blocks:  # not let go meanwhile (a clear)
                    self._spares[name] = [top - BLOCK + 1, top]

    def last_id(self, sequence: str) -> int:
        if not self._depth:
            self._look()
        return self._cache.last_id(sequence)

    def clear(self) -> None:
        if not self._depth:
            with self.transaction():
                RedisStore.clear(self)
            return
        self._cache.clear()
        self._dirty.clear()
        self._dirty_sequences.clear()
        for name, block in self._blocks.items():  # the numbers start again: the blocks are let go
            self._block_undo.setdefault(name, (block, block[0]))
        self._blocks.clear()
        self._spares.clear()
        self._given.clear()
        self._cleared = True

    def wipe(self) -> None:
        """Delete every key of the namespace (tests and benches start clean with it)."""
        with self.transaction():
            self.clear()
        self._client.delete(self.prefix + "version", self.prefix + "log", self._keys[7])
        self._version = -1

    def close(self) -> None:
        self._stop.set()
        self._client.close()
        self._sides = None  # its connections close with the event loop that made them


def is_redis(spec: str) -> bool:
    return spec.startswith(("redis://", "rediss://", "unix://"))


def open_redis(spec: str, namespace: str) -> RedisStore:
    """``--state redis://HOST:PORT/DB`` for ``--namespace NAME``; checks that Redis answers."""
    store = RedisStore(spec, namespace)
    try:
        store.ping()
    except StoreUnavailable as exc:
        store.close()
        raise ValueError(f"--state {spec}: {exc}") from None
    return store
