"""The dialer's call documents in the store: read, save, and one history line per event.

A call is a store document (collection ``ryng:calls``, keyed by its callID). A call at rest, that is
finished, or made and waiting for its first attempt (a campaign may hold 1,000,000 of those), is saved
as a ``StoredCall``, which the store keeps sealed (``compact``). A call in an attempt, or between
attempts (waiting to retry, or waiting again after a retry: few at a time, and read again soon), is a
live dict, changed in place and saved after each step.
"""

from __future__ import annotations

from typing import Any

from mockserver.core.clock import Clock
from mockserver.core.compact import Sealable
from mockserver.core.dialer_errors import UnknownCall
from mockserver.core.store import Document, StateStore

CALLS = "ryng:calls"
CALL_SEQUENCE = "ryng:call"  # callIDs, in order: the control plane pages calls by walking them

_NEWLINE = "\n"
FINISHED = frozenset({"completed", "unreachable", "cancelled"})
"""States a call is never dialled from again (an ended preview call waits for its disposition)."""


class StoredCall(Sealable):
    """A finished call, as the store keeps it: compressed, the request's setup and the agent list by
    reference."""

    __slots__ = ()
    shared = ("settings", "eligible")


class NewCall(StoredCall):
    """A call made and not yet tried: JSON only (about 330 bytes), since it is read again when an agent
    takes it; compressing it would cost more than the bytes it saves while it waits."""

    __slots__ = ()
    compress = False


class CallBook:
    def __init__(self, store: StateStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def get(self, call_id: int) -> Document | None:
        return self.store.get(CALLS, str(call_id))

    def require(self, call_id: int) -> Document:
        call = self.store.get(CALLS, str(call_id))
        if call is None:
            raise UnknownCall(f"no call {call_id}")
        return call

    def save(self, call: Document) -> None:
        state = call["state"]
        key = str(call["callID"])
        if state in FINISHED:
            self.store.put(CALLS, key, StoredCall(call))
        elif state == "waiting" and not call["attempts"]:
            self.store.put(CALLS, key, NewCall(call))
        else:
            self.store.put(CALLS, key, call)

    def history(self, call: Document, event: str, detail: Any = None, *, then: str | None = None) -> None:
        """One line per event: seconds since the call was created, the event, and a detail if any; ``then``,
        a second event of the same instant (no detail), on a line of its own."""
        offset = self.clock.stamp() - call["created"]
        at = f"\n{int(offset) if offset.is_integer() else round(offset, 3)} "
        line = at + event if detail is None else f"{at}{event} {str(detail).replace(_NEWLINE, ' ')}"
        call["history"] += line if then is None else line + at + then

    def now(self) -> float:
        return self.clock.stamp()
