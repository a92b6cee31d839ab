"""``mockline serve`` as the kill rounds start it: the same command, plus a self-kill that the harness can
arm, so that a kill can land between any two store writes whatever the machine's speed.

``python -m bench.kill_serve serve ...`` takes ``mockline serve``'s arguments. On SIGUSR1 it reads a number
N from the file named by ``KILL_ARM_FILE`` and kills itself with SIGKILL in the middle of its N-th store
write from then on (after the write's statement ran, before anything else). ``NO_TRANSACTIONS=1`` turns
the SQLite store's transactions into nothing (every write commits on its own, as before steps were
atomic): only the test proving that the kill rounds can fail sets it. Nothing in mockserver reads these.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

from mockserver.core.store import SQLiteStore

_state = {"writes": 0, "die_at": 0}


def _counted(method: Callable[..., Any]) -> Callable[..., Any]:
    def write(self: SQLiteStore, *args: Any, **kwargs: Any) -> Any:
        result = method(self, *args, **kwargs)
        _state["writes"] += 1
        if _state["die_at"] and _state["writes"] >= _state["die_at"]:
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    return write


def _arm(_signum: int, _frame: FrameType | None) -> None:
    n = int(Path(os.environ["KILL_ARM_FILE"]).read_text())
    _state["die_at"] = _state["writes"] + max(1, n)


@contextlib.contextmanager
def _no_transaction(_store: SQLiteStore) -> Iterator[None]:
    yield


def install() -> None:
    for name in ("put", "delete", "next_id"):
        setattr(SQLiteStore, name, _counted(getattr(SQLiteStore, name)))
    if "KILL_ARM_FILE" in os.environ:
        signal.signal(signal.SIGUSR1, _arm)
    if os.environ.get("NO_TRANSACTIONS") == "1":
        SQLiteStore.transaction = _no_transaction  # type: ignore[method-assign,assignment]


if __name__ == "__main__":
    install()
    from mockserver.cli import main

    sys.exit(main(sys.argv[1:]))
