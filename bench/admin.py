"""Control-plane reads with 1,000,000 calls held (issue 10: a list must cost what its page holds).

The mock runs in this process (uvicorn in a thread, memory store) and holds ``CALLS`` calls: one is
pushed through the API, the rest are copies of its stored document under their own callIDs, written
straight into the store (pushing a million leads would measure the dialer, not the reads).

* ``admin_calls_1m_limit10_ms``: median latency of ``GET /__admin/calls?limit=10`` (target < 50 ms);
* ``admin_calls_1m_deep_page_ms``: the same, with a cursor half-way through;
* ``admin_calls_1m_filtered_page_ms``: ``?state=dialing&limit=10``, which no call matches: the worst
  page, which looks at ``limit`` + 5,000 calls and hands back a cursor;
* ``admin_health_ms`` and ``admin_health_during_lists_ms``: ``GET /__admin/health`` alone, and while
  two clients read pages of calls back to back.

``python -m bench.admin`` prints the figures as JSON; ``run()`` returns them.
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn

from bench.http import free_port

CALLS = 1_000_000
SAMPLES = 30


def _median_ms(client: httpx.Client, path: str, samples: int = SAMPLES) -> float:
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        r = client.get(path)
        times.append(time.perf_counter() - started)
        assert r.status_code == 200, r.text
    return round(statistics.median(times) * 1000, 2)


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """The app on 127.0.0.1 in a thread of this process (so that the bench can fill its store)."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def run(calls: int = CALLS) -> dict[str, Any]:
    from mockserver.app import create_app
    from mockserver.core.dialer_intake import CALL_SEQUENCE
    from mockserver.core.dialer_intake import CALLS as COLLECTION
    from mockserver.settings import Settings

    app = create_app(Settings(clock="manual", rate_limit=False, apis=("ryng",), journal_size=100))
    store = app.runtime.store
    with serving(app) as base, httpx.Client(base_url=base, timeout=60) as client:
        body = {"customerData": {"jsonData": [{"number": "+919800000001"}]}}
        r = client.post(
            "/ryng/rest-api/v1/progressive/queue/12/transactional",
            json=body,
            headers={"x-access-token": "mockline"},
        )
        assert r.status_code == 200, r.text
        template = store.get(COLLECTION, "1")
        assert template is not None
        started = time.perf_counter()
        for n in range(2, calls + 1):
            store.put(COLLECTION, str(n), {**template, "callID": n})
        while store.last_id(CALL_SEQUENCE) < calls:
            store.next_id(CALL_SEQUENCE)
        fill = time.perf_counter() - started
        figures: dict[str, Any] = {
            "admin_calls_held": store.count(COLLECTION),
            "admin_calls_1m_fill_s": round(fill, 1),
            "admin_calls_1m_limit10_ms": _median_ms(client, "/__admin/calls?limit=10"),
            "admin_calls_1m_deep_page_ms": _median_ms(client, f"/__admin/calls?limit=10&cursor={calls // 2}"),
            "admin_calls_1m_filtered_page_ms": _median_ms(
                client, "/__admin/calls?limit=10&state=dialing", 10
            ),
            "admin_health_ms": _median_ms(client, "/__admin/health"),
        }
        stop = threading.Event()

        def read_pages() -> None:
            with httpx.Client(base_url=base, timeout=60) as reader:
                cursor = 0
                while not stop.is_set():
                    page = reader.get("/__admin/calls", params={"limit": 100, "cursor": cursor}).json()
                    cursor = int(page["next_cursor"] or 0)

        readers = [threading.Thread(target=read_pages) for _ in range(2)]
        for reader in readers:
            reader.start()
        time.sleep(0.2)
        figures["admin_health_during_lists_ms"] = _median_ms(client, "/__admin/health")
        stop.set()
        for reader in readers:
            reader.join()
    return figures


if __name__ == "__main__":
    print(json.dumps(run(), sort_keys=True))
