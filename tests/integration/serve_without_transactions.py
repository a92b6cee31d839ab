"""``mockline serve`` with the SQLite store's transactions turned into no-ops, so that every write commits
on its own, as before steps were atomic. Only the kill test's proof that it can fail starts this."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

from mockserver.core.store import SQLiteStore


@contextlib.contextmanager
def _no_transaction(_store: SQLiteStore) -> Iterator[None]:
    yield


SQLiteStore.transaction = _no_transaction  # type: ignore[method-assign,assignment]

if __name__ == "__main__":
    from mockserver.cli import main

    sys.exit(main(sys.argv[1:]))
