"""The dashboard's costs: its pages with 100,000 calls and 100,000 deliveries held, the push with one
dashboard event stream open, and the push with the access log on.

* Pages: in process (ASGI, no socket), after cloning one real call and its two deliveries 100,000 times
  each into the store (one in ten deliveries failed); the median and the slowest of ``PAGE_REPEATS``
  requests per page, in milliseconds. Target: every page under 100 ms.
* Stream: one ``mockline serve`` process (manual clock, rate limit off, access log off); the push is
  measured with wrk without a stream, then with one ``/dashboard/events`` stream read by ``curl -N``,
  alternating ``BENCH_ROUNDS`` times from a reset mock; the ratio of the medians (target: at least 0.95).
* Access log: two servers side by side, one with the access log (text, to a file) and one ``--quiet``,
  measured in alternation, the first of each round alternating too; the ratio of the medians.

``python -m bench.dashboard`` prints the figures as JSON.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import statistics
import subprocess
import tempfile
import time
import urllib.request
from typing import Any

import httpx

from bench import loadgen
from bench.http import PUSH_BODY, PUSH_PATH, free_port, mock_command, server
from bench.loadgen import Load, Result

SECONDS = float(os.environ.get("BENCH_SECONDS", "5"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
HELD = int(os.environ.get("BENCH_DASHBOARD_HELD", "100000"))
PAGE_REPEATS = 15


def _fill(app: Any, held: int) -> tuple[int, int]:
    """``held`` calls and ``held`` deliveries, cloned from one real call; its id and a delivery's."""
    from mockserver.core.outbox import COLLECTION

    store = app.runtime.store
    template = store.get("ryng:calls", "1")
    deliveries = [d for d in store.values(COLLECTION) if str(d.get("callID")) == "1"]
    assert template is not None and deliveries, "the template call did not run"
    for call_id in range(2, held + 1):
        store.next_id("ryng:call")
        store.put("ryng:calls", str(call_id), {**template, "callID": call_id})
    n = max(int(d["id"]) for d in deliveries)
    while n < held:
        for source in deliveries:
            n = store.next_id("delivery")
            state = "failed" if n % 10 == 0 else source["state"]
            store.put(COLLECTION, str(n), {**source, "id": n, "callID": (n // 2) + 1, "state": state})
    return held // 2, held // 2


async def _pages(held: int) -> dict[str, Any]:
    from mockserver.app import create_app
    from mockserver.settings import Settings

    app = create_app(Settings(clock="manual", rate_limit=False))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mock") as client:
        lead = json.loads(PUSH_BODY)
        lead["customerData"]["connectCallbackUrl"] = "http://127.0.0.1:9/connect"
        await client.post(PUSH_PATH, json=lead, headers={"x-access-token": "mockline"})
        await client.post("/__admin/clock/advance", json={"seconds": 600})
        started = time.perf_counter()
        call_id, delivery_id = _fill(app, held)
        fill_seconds = time.perf_counter() - started
        for _ in range(200):  # a journal with some history
            await client.get("/__admin/health")
        paths = {
            "overview": "/",
            "calls": "/dashboard/calls",
            "calls_filtered": "/dashboard/calls?state=completed&number=%2B919812345678",
            "calls_older_page": f"/dashboard/calls?before={held // 2}",
            "call_timeline": f"/dashboard/calls/{call_id}",
            "deliveries": "/dashboard/deliveries",
            "deliveries_failed": "/dashboard/deliveries?state=failed",
            "delivery": f"/dashboard/deliveries/{delivery_id}",
            "requests": "/dashboard/requests",
            "agents": "/dashboard/agents",
        }
        figures: dict[str, Any] = {"dashboard_held": held, "dashboard_fill_s": round(fill_seconds, 1)}
        slowest = 0.0
        for name, path in paths.items():
            times = []
            for _ in range(PAGE_REPEATS):
                t0 = time.perf_counter()
                answer = await client.get(path)
                times.append((time.perf_counter() - t0) * 1000)
                assert answer.status_code == 200, (path, answer.status_code)
            figures[f"dashboard_page_{name}_ms"] = round(statistics.median(times), 1)
            slowest = max(slowest, max(times))
        figures["dashboard_page_slowest_ms"] = round(slowest, 1)
    return figures


def _push(port: int) -> Result:
    headers = {"content-type": "application/json", "x-access-token": "mockline"}
    return loadgen.run(Load("POST", f"http://127.0.0.1:{port}{PUSH_PATH}", headers, PUSH_BODY), SECONDS)


def _reset(port: int) -> None:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/__admin/reset", data=b"", method="POST")
    urllib.request.urlopen(request, timeout=30).close()


def _median(results: list[Result]) -> float:
    return statistics.median(r.rps for r in results)


def _stream() -> dict[str, Any]:
    port = free_port()
    without: list[Result] = []
    with_stream: list[Result] = []
    received = dropped = 0
    with server(mock_command(port, "--quiet"), port, "/__admin/health"):
        _reset(port)
        _push(port)  # warm-up
        for _ in range(ROUNDS):
            _reset(port)
            without.append(_push(port))
            _reset(port)
            with tempfile.TemporaryFile() as sink:
                reader = subprocess.Popen(
                    ["curl", "-sN", f"http://127.0.0.1:{port}/dashboard/events"], stdout=sink
                )
                try:
                    time.sleep(0.5)
                    with_stream.append(_push(port))
                    time.sleep(0.5)
                finally:
                    reader.terminate()
                    reader.wait(timeout=10)
                sink.seek(0)
                text = sink.read()
                received += text.count(b"event: request\n")
                dropped += sum(int(n) for n in re.findall(rb'"dropped":(\d+)', text))
    plain, streamed = _median(without), _median(with_stream)
    return {
        "push_rps_without_stream": round(plain),
        "push_rps_with_stream": round(streamed),
        "push_with_stream_vs_without": round(streamed / plain, 3),
        "stream_request_events_received": received,
        "stream_events_dropped": dropped,
        "stream_pushes_sent": round(sum(r.rps for r in with_stream) * SECONDS),
    }


def _access_log() -> dict[str, Any]:
    logged_port, quiet_port = free_port(), free_port()
    logged: list[Result] = []
    quiet: list[Result] = []
    with tempfile.NamedTemporaryFile("w", suffix=".log") as log:
        command = mock_command(logged_port)
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{logged_port}/__admin/health", timeout=1)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError("the logging mock did not start") from None
                    time.sleep(0.2)
            with server(mock_command(quiet_port, "--quiet"), quiet_port, "/__admin/health"):
                _push(logged_port)
                _push(quiet_port)  # warm-up
                for round_ in range(ROUNDS):  # ABBA: which goes first alternates, so order cancels out
                    order = [(logged_port, logged), (quiet_port, quiet)]
                    for port, results in order if round_ % 2 == 0 else reversed(order):
                        _reset(port)
                        results.append(_push(port))
        finally:
            process.terminate()
            process.wait(timeout=10)
        with open(log.name, encoding="utf-8") as written:
            lines = sum(1 for line in written if " pushTransactional " in line)
    on, off = _median(logged), _median(quiet)
    return {
        "push_rps_access_log_on": round(on),
        "push_rps_access_log_off": round(off),
        "access_log_on_vs_off": round(on / off, 3),
        "access_log_push_lines": lines,
    }


def run() -> dict[str, Any]:
    figures = asyncio.run(_pages(HELD))
    figures.update(_stream())
    figures.update(_access_log())
    return figures


if __name__ == "__main__":
    print(json.dumps(run(), sort_keys=True))
