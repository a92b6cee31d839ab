"""What happened in the mock, as it happens: requests, deliveries, calls, agents and clock moves.

An ``EventBus`` hands each event to every subscriber's bounded queue and never waits for one: a queue
that is full drops its oldest event and counts it (``Subscription.dropped``), so a slow reader (a
dashboard on a far network, a paused tab) can never slow the request path. With no subscriber, a
publish costs one attribute test.

Changes to stored documents are seen without the engines knowing: while anyone subscribes, the bus
watches the store's ``put`` for the collections named in ``WATCHED`` (see ``watch_store``). Events
carry the live document; subscribers read (and copy) what they need when they drain their queue, off
the request path. No HTTP here: the Server-Sent Events framing is ``mockserver/sse.py``.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any

Event = tuple[str, Any]
"""(kind, data): kind is request, delivery, call, agent or clock."""

KINDS = ("request", "delivery", "call", "agent", "clock")
WATCHED: Mapping[str, str] = {
    "deliveries": "delivery",
    "ryng:calls": "call",
    "ringme:agents": "agent",
}
"""Store collection -> the kind of event a write to it is."""

DEFAULT_QUEUE = 10_000


class Subscription:
    """One reader's queue: bounded, oldest dropped first, with a count of what was dropped."""

    def __init__(self, kinds: Iterable[str] | None, size: int) -> None:
        self.kinds = frozenset(kinds) if kinds else None
        self.queue: deque[Event] = deque(maxlen=size)
        self.dropped = 0
        self.ready = asyncio.Event()

    def push(self, event: Event) -> None:
        if self.kinds is not None and event[0] not in self.kinds:
            return
        if len(self.queue) == self.queue.maxlen:
            self.dropped += 1
        self.queue.append(event)
        if not self.ready.is_set():
            self.ready.set()

    def drain(self) -> tuple[list[Event], int]:
        """Everything queued, oldest first, and how many were dropped since the last drain."""
        events = list(self.queue)
        self.queue.clear()
        dropped, self.dropped = self.dropped, 0
        self.ready.clear()
        return events, dropped


class EventBus:
    def __init__(self, queue_size: int = DEFAULT_QUEUE) -> None:
        self.queue_size = queue_size
        self.subscribers: list[Subscription] = []
        self._stores: list[Any] = []
        self._original_puts: dict[int, Callable[..., None]] = {}

    def publish(self, kind: str, data: Any) -> None:
        for subscriber in self.subscribers:
            subscriber.push((kind, data))

    def subscribe(self, kinds: Iterable[str] | None = None) -> Subscription:
        subscription = Subscription(kinds, self.queue_size)
        self.subscribers.append(subscription)
        if len(self.subscribers) == 1:
            for store in self._stores:
                self._watch(store)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        if subscription in self.subscribers:
            self.subscribers.remove(subscription)
        if not self.subscribers:
            for store in self._stores:
                self._unwatch(store)

    def watch_store(self, store: Any) -> None:
        """Publish writes to the ``WATCHED`` collections of ``store``, while anyone subscribes: the
        store's ``put`` is wrapped only then, so with no dashboard open it costs nothing."""
        self._stores.append(store)
        if self.subscribers:
            self._watch(store)

    def _watch(self, store: Any) -> None:
        if id(store) in self._original_puts:
            return
        original: Callable[[str, str, Any], None] = store.put
        self._original_puts[id(store)] = original
        publish = self.publish

        def put(collection: str, key: str, value: Any) -> None:
            original(collection, key, value)
            kind = WATCHED.get(collection)
            if kind is not None:
                publish(kind, value)

        setattr(store, "put", put)  # noqa: B010 - an instance attribute shadows the method

    def _unwatch(self, store: Any) -> None:
        if self._original_puts.pop(id(store), None) is not None:
            delattr(store, "put")
