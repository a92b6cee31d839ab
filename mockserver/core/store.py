"""State behind one interface: collections of JSON documents keyed by string ids.

``MemoryStore`` is the default; ``SQLiteStore`` keeps the same data in one file so that state, pending
calls and pending callbacks survive a restart (writes are committed before the call returns).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

Document = dict[str, Any]


class StateStore(Protocol):
    def get(self, collection: str, key: str) -> Document | None: ...

    def put(self, collection: str, key: str, value: Document) -> None: ...

    def delete(self, collection: str, key: str) -> bool: ...

    def values(self, collection: str) -> Iterator[Document]: ...

    def count(self, collection: str) -> int: ...

    def next_id(self, sequence: str, start: int = 1) -> int: ...

    def clear(self) -> None: ...


class MemoryStore:
    def __init__(self) -> None:
        self._data: dict[str, dict[str, Document]] = {}
        self._sequences: dict[str, int] = {}

    def get(self, collection: str, key: str) -> Document | None:
        return self._data.get(collection, {}).get(key)

    def put(self, collection: str, key: str, value: Document) -> None:
        self._data.setdefault(collection, {})[key] = value

    def delete(self, collection: str, key: str) -> bool:
        return self._data.get(collection, {}).pop(key, None) is not None

    def values(self, collection: str) -> Iterator[Document]:
        return iter(list(self._data.get(collection, {}).values()))

    def count(self, collection: str) -> int:
        return len(self._data.get(collection, {}))

    def next_id(self, sequence: str, start: int = 1) -> int:
        value = self._sequences.get(sequence, start - 1) + 1
        self._sequences[sequence] = value
        return value

    def clear(self) -> None:
        self._data.clear()
        self._sequences.clear()


class SQLiteStore:
    """One table of documents and one of sequences. A read cache keeps gets as cheap as memory."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
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
        for collection, key, value in self._db.execute("SELECT collection, key, value FROM documents"):
            self._cache.put(collection, key, json.loads(value))
        for name, value in self._db.execute("SELECT name, value FROM sequences"):
            self._cache._sequences[name] = value

    def get(self, collection: str, key: str) -> Document | None:
        return self._cache.get(collection, key)

    def put(self, collection: str, key: str, value: Document) -> None:
        encoded = json.dumps(value, separators=(",", ":"))
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO documents (collection, key, value) VALUES (?, ?, ?)",
                (collection, key, encoded),
            )
            self._cache.put(collection, key, value)

    def delete(self, collection: str, key: str) -> bool:
        with self._lock:
            self._db.execute("DELETE FROM documents WHERE collection = ? AND key = ?", (collection, key))
            return self._cache.delete(collection, key)

    def values(self, collection: str) -> Iterator[Document]:
        return self._cache.values(collection)

    def count(self, collection: str) -> int:
        return self._cache.count(collection)

    def next_id(self, sequence: str, start: int = 1) -> int:
        with self._lock:
            value = self._cache.next_id(sequence, start)
            self._db.execute(
                "INSERT OR REPLACE INTO sequences (name, value) VALUES (?, ?)", (sequence, value)
            )
            return value

    def clear(self) -> None:
        with self._lock:
            self._db.execute("DELETE FROM documents")
            self._db.execute("DELETE FROM sequences")
            self._cache.clear()

    def close(self) -> None:
        self._db.close()


def open_store(spec: str) -> MemoryStore | SQLiteStore:
    """``memory`` or ``sqlite:PATH``, as given to ``--state``."""
    if spec == "memory":
        return MemoryStore()
    if spec.startswith("sqlite:") and len(spec) > len("sqlite:"):
        return SQLiteStore(spec[len("sqlite:") :])
    raise ValueError(f"--state takes 'memory' or 'sqlite:PATH', not {spec!r}")
