"""State behind one interface: collections of JSON documents keyed by string ids.

``MemoryStore`` is the default; ``SQLiteStore`` keeps the same data in one file so that state, pending
calls and pending callbacks survive a restart.

``with store.transaction():`` is the unit of work: every write inside it is committed together when the
block ends, or none is (an exception rolls them back; a kill leaves the last commit). Transactions nest
(an inner block joins the outer one) and are never held across an ``await``: a second asyncio task that
opens one while another task's is open is refused. A write outside any transaction commits on its own.
A store kept elsewhere (Redis, ``mockserver/redis_state.py``) implements the same boundary with a lock
and a Lua script; it is *shared*: other processes commit to it too. Such a store tells the engines what
other processes changed (``on_remote``) so that their in-process indexes follow; the memory and SQLite
stores never call those listeners.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

from mockserver.core.compact import Codec, Sealable
from mockserver.core.errors import CoreError

Document = dict[str, Any]
RemoteListener = Callable[[str, "Document | None"], None]
"""Told (key, new value or None when deleted) of a change another process committed to a collection."""
_ABSENT: Any = object()
_NONE: dict[str, Any] = {}  # the documents of a collection never written to (read only, never filled)


class TransactionError(CoreError, RuntimeError):
    """A transaction was opened by one asyncio task while another task's was still open."""


class StoreUnavailable(CoreError, RuntimeError):
    """A shared store cannot be reached (Redis is down, or its lock could not be had in time): the unit of
    work did nothing, and the request that asked for it is answered 503."""


def running_task() -> object | None:
    """The running task, or None outside a running loop (plain synchronous use). Every unit of work asks
    (every timeline job)."""
    loop = _running_loop()
    return None if loop is None else _task_of(loop)


_running_loop = asyncio.events._get_running_loop
_task_of: Callable[[asyncio.AbstractEventLoop], object | None] = asyncio.current_task
if sys.version_info < (3, 12):  # current_task is a Python function around this map there (C from 3.12)
    _task_of = asyncio.tasks._current_tasks.get  # type: ignore[attr-defined]


class StateStore(Protocol):
    shared: bool
    """True when other processes commit to the same state (Redis); False for memory and SQLite."""
    lasting: bool
    """True when the state outlives the process (SQLite, Redis): only then is there anyone to read what
    the timeline records for a restart or another process (claims on jobs, the clock's reading)."""

    def get(self, collection: str, key: str) -> Document | None: ...

    def put(self, collection: str, key: str, value: Document) -> None: ...

    def delete(self, collection: str, key: str) -> bool: ...

    def values(self, collection: str) -> Iterator[Document]: ...

    def count(self, collection: str) -> int: ...

    def next_id(self, sequence: str, start: int = 1) -> int: ...

    def clear(self) -> None: ...

    def last_id(self, sequence: str) -> int:
        """The last value ``next_id`` gave for this sequence (0 if none), without taking one."""
        ...

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        """One unit of work: its writes are committed together, or not at all."""
        ...

    def on_remote(self, collection: str, listener: RemoteListener) -> None:
        """Call ``listener`` for each change another process commits to ``collection``, when this process
        learns of it (at the start of a unit of work). ``collection`` ``"*"``: told ("", None) when
        another process cleared the whole state."""
        ...


class _Nesting:
    """Depth and owner of the transaction in progress; shared by both stores."""

    def __init__(self) -> None:
        self.depth = 0
        self.owner: object | None = None

    def enter(self) -> bool:
        """True when this opens the outermost transaction."""
        task = running_task()
        if self.depth and self.owner is not task:
            raise TransactionError(
                "a store transaction is already open in another task: a transaction must not span an await"
            )
        self.depth += 1
        if self.depth == 1:
            self.owner = task
            return True
        return False

    def leave(self) -> bool:
        """True when this closes the outermost transaction."""
        self.depth -= 1
        if self.depth == 0:
            self.owner = None
            return True
        return False


class _MemoryUnit:
    """``MemoryStore.transaction()``: one reusable object, kept lean (every request opens one)."""

    __slots__ = ("_store",)

    def __init__(self, store: MemoryStore) -> None:
        self._store = store

    def __enter__(self) -> None:
        store = self._store
        if store._undo is None:
            store._nesting.depth = 1
            store._nesting.owner = running_task()
            store._undo = {}
            store._undo_sequences = {}
        else:
            store._nesting.enter()

    def __exit__(self, kind: type[BaseException] | None, *_rest: object) -> None:
        store = self._store
        store._nesting.depth -= 1
        if store._nesting.depth == 0:
            store._nesting.owner = None
            if kind is not None:
                store._rollback()
            store._undo = None


_SQUEEZE_BATCH = 128
"""Sealed documents a memory store compresses at once (at most about 150 KB of JSON waits for it)."""


class MemoryStore:
    """Dicts in the process. A transaction keeps an undo log (each key's value, and each sequence, as the
    transaction first touched it) and plays it back if the block raises. ``get`` hands out the stored
    object itself, so a change made in place to it before the failure is not undone. A ``Sealable``
    document is kept sealed (``compact``): ``get`` and ``values`` hand out a fresh decoded copy of it.
    Sealed documents are kept as JSON until ``_SQUEEZE_BATCH`` of them wait, then compressed together."""

    shared = False
    lasting = False

    def __init__(self) -> None:
        self._data: dict[str, dict[str, Document]] = {}
        self._sequences: dict[str, int] = {}
        self._nesting = _Nesting()
        self._undo: dict[tuple[str, str], Any] | None = None
        self._undo_sequences: dict[str, int | None] = {}
        self._unit = _MemoryUnit(self)
        self._codec = Codec()
        self._fresh: list[tuple[dict[str, Any], str, bytes]] = []  # sealed, to be compressed together

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        return self._unit  # one reusable object: a request's transaction costs next to nothing

    def on_remote(self, collection: str, listener: RemoteListener) -> None:
        """Nobody else writes to a process's memory: never called."""

    def _remember(self, collection: str, key: str) -> None:
        if self._undo is not None and (collection, key) not in self._undo:
            self._undo[(collection, key)] = self._data.get(collection, {}).get(key, _ABSENT)

    def _rollback(self) -> None:
        undo, self._undo = self._undo or {}, None
        for (collection, key), value in undo.items():
            if value is _ABSENT:
                self._data.get(collection, {}).pop(key, None)
            else:
                self._data.setdefault(collection, {})[key] = value
        for name, number in self._undo_sequences.items():
            if number is None:
                self._sequences.pop(name, None)
            else:
                self._sequences[name] = number

    def get(self, collection: str, key: str) -> Document | None:
        found: Any = self._data.get(collection, _NONE).get(key)  # a Document (a dict), or Sealed (bytes)
        return self._codec.open(found) if type(found) is bytes else found

    def put(self, collection: str, key: str, value: Document) -> None:
        documents = self._data.get(collection)
        if documents is None:
            documents = self._data[collection] = {}
        current = documents.get(key, _ABSENT)
        if current is value:  # a live document saved again after a change made in place:
            return  # stored already, and a rollback could only put this very object back
        undo = self._undo  # what ``_remember`` does, inline: every timeline job puts several times
        if undo is not None and (collection, key) not in undo:
            undo[(collection, key)] = current
        if not isinstance(value, Sealable):
            documents[key] = value
            return
        kept: Any = self._codec.encode(value)  # opened by get
        documents[key] = kept
        if value.compress and type(kept) is bytes:
            self._fresh.append((documents, key, kept))
            if len(self._fresh) >= _SQUEEZE_BATCH:
                self._squeeze()

    def _squeeze(self) -> None:
        """Compress the documents sealed since the last time, in one go (see ``Codec.squeeze``); one
        replaced or rolled back meanwhile is left as it is."""
        fresh, self._fresh = self._fresh, []
        squeeze = self._codec.squeeze
        for documents, key, encoded in fresh:
            if documents.get(key) is encoded:
                documents[key] = squeeze(encoded)

    def delete(self, collection: str, key: str) -> bool:
        documents = self._data.get(collection)
        if documents is None:
            return False
        undo = self._undo
        if undo is not None and (collection, key) not in undo:
            undo[(collection, key)] = documents.get(key, _ABSENT)
        return documents.pop(key, None) is not None

    def values(self, collection: str) -> Iterator[Document]:
        # A snapshot of what is stored; sealed documents are opened one at a time, as they are read.
        found: list[Any] = list(self._data.get(collection, {}).values())
        opened = self._codec.open
        return (opened(v) if type(v) is bytes else v for v in found)

    def count(self, collection: str) -> int:
        return len(self._data.get(collection, {}))

    def next_id(self, sequence: str, start: int = 1) -> int:
        if self._undo is not None and sequence not in self._undo_sequences:
            self._undo_sequences[sequence] = self._sequences.get(sequence)
        value = self._sequences.get(sequence, start - 1) + 1
        self._sequences[sequence] = value
        return value

    def last_id(self, sequence: str) -> int:
        return self._sequences.get(sequence, 0)

    def clear(self) -> None:
        if self._undo is not None:
            for collection, documents in self._data.items():
                for key in documents:
                    self._remember(collection, key)
            for name in self._sequences:
                self._undo_sequences.setdefault(name, self._sequences[name])
        self._data.clear()
        self._sequences.clear()


class SQLiteStore:
    """One table of documents and one of sequences. A read cache keeps gets as cheap as memory.

    A transaction is one SQLite transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``); if it is rolled back, the
    documents and sequences it touched are read back from the file into the cache."""

    shared = False  # one process at a time: SQLite's file lock is not a lease
    lasting = True

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._nesting = _Nesting()
        self._touched: set[tuple[str, str]] = set()
        self._touched_sequences: set[str] = set()
        self._cleared = False
        self._began = False
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            self._open()
        except sqlite3.Error:
            self._db.close()  # a directory, a file that is not a database: nothing left open
            raise

    def _open(self) -> None:
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS documents ("
            " collection TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
            " PRIMARY KEY (collection, key))"
        )
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS sequences (name TEXT PRIMARY KEY, value INTEGER NOT NULL)"
        )
        self._cache = MemoryStore()
        self._load()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            self._nesting.enter()
            try:
                yield
            except BaseException:
                if self._nesting.leave() and self._began:
                    self._began = False
                    self._db.execute("ROLLBACK")
                    self._reload_touched()
                raise
            if self._nesting.leave() and self._began:
                self._began = False
                self._db.execute("COMMIT")
                self._forget_touched()

    def on_remote(self, collection: str, listener: RemoteListener) -> None:
        """One process owns the file: never called."""

    def _write(self) -> None:
        """Before a write: SQLite's transaction begins with the first write of a unit (reads take none)."""
        if self._nesting.depth and not self._began:
            self._db.execute("BEGIN IMMEDIATE")
            self._began = True

    def _forget_touched(self) -> None:
        self._touched.clear()
        self._touched_sequences.clear()
        self._cleared = False

    def _reload_touched(self) -> None:
        """After a rollback the file is right and the cache may not be: read back what was written."""
        if self._cleared:
            self._cache = MemoryStore()
            self._load()
        else:
            for collection, key in self._touched:
                row = self._db.execute(
                    "SELECT value FROM documents WHERE collection = ? AND key = ?", (collection, key)
                ).fetchone()
                if row is None:
                    self._cache.delete(collection, key)
                else:
                    self._cache.put(collection, key, json.loads(row[0]))
            for name in self._touched_sequences:
                found = self._db.execute("SELECT value FROM sequences WHERE name = ?", (name,)).fetchone()
                if found is None:
                    self._cache._sequences.pop(name, None)
                else:
                    self._cache._sequences[name] = int(found[0])
        self._forget_touched()

    def _load(self) -> None:
        for collection, key, value in self._db.execute("SELECT collection, key, value FROM documents"):
            self._cache.put(collection, key, json.loads(value))
        for name, value in self._db.execute("SELECT name, value FROM sequences"):
            self._cache._sequences[name] = value

    def get(self, collection: str, key: str) -> Document | None:
        return self._cache.get(collection, key)

    def put(self, collection: str, key: str, value: Document) -> None:
        encoded = json.dumps(value, separators=(",", ":"))
        with self._lock:
            self._write()
            self._db.execute(
                "INSERT OR REPLACE INTO documents (collection, key, value) VALUES (?, ?, ?)",
                (collection, key, encoded),
            )
            if self._nesting.depth:
                self._touched.add((collection, key))
            self._cache.put(collection, key, value)

    def delete(self, collection: str, key: str) -> bool:
        with self._lock:
            self._write()
            self._db.execute("DELETE FROM documents WHERE collection = ? AND key = ?", (collection, key))
            if self._nesting.depth:
                self._touched.add((collection, key))
            return self._cache.delete(collection, key)

    def values(self, collection: str) -> Iterator[Document]:
        return self._cache.values(collection)

    def count(self, collection: str) -> int:
        return self._cache.count(collection)

    def next_id(self, sequence: str, start: int = 1) -> int:
        with self._lock:
            self._write()
            value = self._cache.next_id(sequence, start)
            self._db.execute(
                "INSERT OR REPLACE INTO sequences (name, value) VALUES (?, ?)", (sequence, value)
            )
            if self._nesting.depth:
                self._touched_sequences.add(sequence)
            return value

    def last_id(self, sequence: str) -> int:
        return self._cache.last_id(sequence)

    def clear(self) -> None:
        with self._lock:
            self._write()
            self._db.execute("DELETE FROM documents")
            self._db.execute("DELETE FROM sequences")
            if self._nesting.depth:
                self._cleared = True
            self._cache.clear()

    def close(self) -> None:
        self._db.close()


def open_store(spec: str) -> MemoryStore | SQLiteStore:
    """``memory`` or ``sqlite:PATH``, as given to ``--state``."""
    if spec == "memory":
        return MemoryStore()
    if spec.startswith("sqlite:") and len(spec) > len("sqlite:"):
        path = spec[len("sqlite:") :]
        try:
            return SQLiteStore(path)
        except sqlite3.Error as exc:
            raise ValueError(f"--state {spec}: the SQLite file {path} cannot be opened: {exc}") from None
    raise ValueError(f"--state takes 'memory', 'sqlite:PATH' or 'redis://HOST:PORT/DB', not {spec!r}")
