"""A 100,000-record Ryng push against ``mockline serve``, and how long other requests wait meanwhile.

The mock runs as ``mockline serve`` in its own process. One client polls ``GET /__admin/health`` over a
kept-alive connection, back to back, before the push (the baseline) and while the push is taken in; the
worst gap between two answers during the push is the longest the mock kept everyone else waiting.
Target: under 100 ms (docs/limits.md). The same client polling for two seconds with no push gives
``idle_worst_gap_ms``: on a shared machine the operating system alone can hold either process back for
tens of milliseconds, and that floor is in every gap.

``python -m bench.intake [RECORDS]``
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time

import httpx
import orjson

from bench.http import free_port, mock_command, server

RECORDS = 100_000
PUSH = "/ryng/rest-api/v1/progressive/queue/3/transactional"


async def _poll(port: int, stop: asyncio.Event, gaps: list[float]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = b"GET /__admin/health HTTP/1.1\r\nhost: bench\r\n\r\n"
    last = time.perf_counter()
    while not stop.is_set():
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(
            next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))[15:]
        )
        await reader.readexactly(length)
        now = time.perf_counter()
        gaps.append(now - last)
        last = now
    writer.close()


def _push(url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    with httpx.Client(timeout=120) as client:
        return client.post(url, content=body, headers=headers)


async def _measure(port: int, records: int) -> dict[str, float]:
    rows = [{"number": f"+9198{i:08d}", "customField1": f"Lead {i}"} for i in range(records)]
    body = orjson.dumps({"customerData": {"jsonData": rows}})
    headers = {"x-access-token": "mockline", "content-type": "application/json"}
    base = f"http://127.0.0.1:{port}"

    baseline: list[float] = []
    stop = asyncio.Event()
    poller = asyncio.create_task(_poll(port, stop, baseline))
    await asyncio.sleep(2.0)
    stop.set()
    await poller

    during: list[float] = []
    stop = asyncio.Event()
    poller = asyncio.create_task(_poll(port, stop, during))
    await asyncio.sleep(0.2)
    during.clear()
    started = time.perf_counter()
    # The push goes from a thread of its own (its socket writes release the GIL): sent from this event
    # loop, the client's own work on 5.5 MB would hold the poller up and be counted against the mock.
    answer = await asyncio.to_thread(_push, base + PUSH, body, headers)
    took = time.perf_counter() - started
    stop.set()
    await poller
    assert answer.status_code == 200, answer.text
    assert answer.headers["x-mockline-calls"] == str(records)
    health_ms = statistics.median(baseline) * 1000
    worst_ms = max(during) * 1000
    return {
        "push_100k_s": round(took, 2),
        "push_100k_body_mb": round(len(body) / 1e6, 1),
        "push_100k_health_answers": float(len(during)),
        "push_100k_worst_gap_ms": round(worst_ms, 1),
        # The same client with no push: what this shared machine's scheduling alone costs.
        "idle_worst_gap_ms": round(max(baseline) * 1000, 1),
        "health_median_ms": round(health_ms, 2),
    }


def run(records: int = RECORDS) -> dict[str, float]:
    port = free_port()
    with server(mock_command(port), port, "/__admin/health"):
        return asyncio.run(_measure(port, records))


def main(argv: list[str]) -> int:
    print(json.dumps(run(int(argv[0]) if argv else RECORDS), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
