"""A dialer job's cost does not grow with the calls the store holds: counted in store operations, not timed.

A clock advance after a long session (verify's fuzzing leaves tens of thousands of calls behind) must cost
per job what it costs on a fresh mock. The same work (the same magic-number calls, so the same steps and
callbacks) is run with 10 and with 10,000 finished calls already held, and the store operations each job
makes are counted; no job may scan the calls, the jobs or the deliveries (``values``)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from typing import Any

from mockserver.core.clock import ManualClock
from mockserver.core.dialer import Dialer
from mockserver.core.fakes import Fakes
from mockserver.core.outbox import Answer, Outbox, Outgoing
from mockserver.core.store import Document, MemoryStore
from mockserver.core.timeline import Timeline

ROUTES = {
    "terminal": {"url": "http://127.0.0.1:9/t", "operationId": "pushTransactionalTerminalCallback"},
    "connect": {"url": "http://127.0.0.1:9/c", "operationId": "createQueueConnectCallback"},
}
ONE_MINUTE_CALL = "555000"  # magic suffix: answered at once, a one-minute call (docs/magic-numbers.md)


class CountingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.ops: Counter[str] = Counter()

    def get(self, collection: str, key: str) -> Document | None:
        self.ops["get"] += 1
        return super().get(collection, key)

    def put(self, collection: str, key: str, value: Document) -> None:
        self.ops["put"] += 1
        super().put(collection, key, value)

    def delete(self, collection: str, key: str) -> bool:
        self.ops["delete"] += 1
        return super().delete(collection, key)

    def values(self, collection: str) -> Iterator[Document]:
        self.ops[f"values {collection}"] += 1
        return super().values(collection)

    def count(self, collection: str) -> int:
        self.ops["count"] += 1
        return super().count(collection)


class Accept:
    async def send(self, outgoing: Outgoing) -> Answer:
        return Answer(status=200)


def push(dialer: Dialer, numbers: list[str]) -> None:
    body: dict[str, Any] = {
        "agentMapping": "all-agents",
        "customerData": {"jsonData": [{"number": n} for n in numbers]},
    }
    dialer.intake.add_to_queue(3, body, ROUTES, "pushTransactional")


def work_per_job(held: int) -> tuple[Counter[str], int]:
    """Store operations, and jobs run, for 20 one-minute calls after ``held`` finished ones."""
    clock, store = ManualClock(), CountingStore()
    timeline = Timeline(clock, store)
    dialer = Dialer(
        clock=clock,
        store=store,
        timeline=timeline,
        outbox=Outbox(timeline, Accept()),
        make_fakes=lambda salt: Fakes(1, "en_IN", salt=salt),
        seed=1,
        config={},
        default_mapping="all-agents",  # what the handler reads from ryng.yaml
    )
    dialer.reset()
    push(dialer, [f"+919822{ONE_MINUTE_CALL}"] * held)
    asyncio.run(timeline.advance(7 * 86400))
    assert timeline.pending() == 0 and dialer.count_calls() >= held
    assert {c["state"] for c in dialer.calls()} == {"completed"}
    store.ops.clear()
    push(dialer, [f"+919811{ONE_MINUTE_CALL}"] * 20)
    ran = asyncio.run(timeline.advance(86400))
    return store.ops, ran


def test_a_job_costs_the_same_store_work_with_10_or_10000_calls_held() -> None:
    few, ran_few = work_per_job(10)
    many, ran_many = work_per_job(10_000)
    assert ran_few == ran_many > 20 * 4  # each call: dispatch, answers, hangup, disposal, callbacks
    # The plans differ a little (a call's draws depend on its id), so the totals may differ by a few
    # operations; a scan of the 10,000 held calls (or of their jobs and deliveries) would add thousands.
    assert abs(sum(many.values()) - sum(few.values())) <= 0.02 * sum(few.values())
    scans = {op for op in many if op.startswith("values ") and op != "values ryng:agents"}
    assert scans == set()  # no job reads a whole collection of calls, jobs or deliveries
