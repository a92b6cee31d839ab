"""How fast this machine runs Python right now: a fixed piece of work, timed in the benchmark's own run.

A shared machine's speed moves over a day (this one's by up to 40%: the same 200,000-lead campaign took
26 s in one hour and 36 s in another, with nothing else running), so a benchmark's seconds alone do not
say whether the code or the machine changed. ``bench.campaign``, whose figure is seconds of pure
Python work, also reports this reference, measured in the same process just before and just after the
campaign: its seconds divided by it are in units of the machine's speed at that moment, roughly (in three
runs of 1,000,000 leads the seconds moved 14% where the reference moved 7%).

The work imitates the engine's own mix (small dicts built and read, text keys, a heap of due times,
JSON in and out, method calls), so that what slows the engine slows it too. It took 0.27-0.30 s here
in a slow hour.
"""

from __future__ import annotations

import heapq
import time

import orjson

_ROUNDS = 150_000


class _Record:
    __slots__ = ("store",)

    def __init__(self) -> None:
        self.store: dict[str, dict[str, object]] = {}

    def put(self, key: str, value: dict[str, object]) -> None:
        self.store[key] = value

    def get(self, key: str) -> dict[str, object] | None:
        return self.store.get(key)


def _work() -> int:
    records = _Record()
    heap: list[tuple[float, int]] = []
    kept = 0
    for n in range(_ROUNDS):
        key = str(n)
        record: dict[str, object] = {"id": n, "state": "waiting", "history": f"0 queued\n{n % 60} ready"}
        records.put(key, record)
        heapq.heappush(heap, (float(n % 997), n))
        if len(heap) > 512:
            _, done = heapq.heappop(heap)
            found = records.get(str(done))
            if found is not None:
                found = {**found, "state": "completed"}
                text = orjson.dumps(found)
                kept += len(orjson.loads(text))
                del records.store[str(done)]
    return kept


def seconds(repeat: int = 3) -> float:
    """The fastest of ``repeat`` runs of the reference work, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        _work()
        best = min(best, time.perf_counter() - started)
    return best
