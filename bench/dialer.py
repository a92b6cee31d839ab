"""Dialer and outbox benchmarks.

* ``deliveries_per_s``: callbacks from the outbox, through the mock's default ``StreamTransport``, to a
  receiver on 127.0.0.1 (a separate process), against a raw ``httpx`` loop posting the same payloads to
  the same receiver with the same concurrency (``deliveries_vs_raw_httpx`` is the ratio).
  Target: >= 2,000 deliveries/s. ``deliveries_httpx_transport_per_s`` is the outbox over httpx instead;
  ``outbox_bookkeeping_per_s`` is the outbox alone (record, schedule, attempt, state) with a transport
  that answers 200 at once.

The 100,000- and 1,000,000-lead campaigns are ``bench.campaign``.

``python -m bench.dialer`` prints the figures as JSON; ``run()`` returns them.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from typing import Any

from bench.http import free_port

DELIVERIES = 3000
CONCURRENCY = 10  # loopback connections; more only adds contention on a small machine


# ---- a fast receiver, in its own process ----------------------------------------------------------


async def _serve(port: int) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                if length:
                    await reader.readexactly(length)
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


def _start_receiver() -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "bench.dialer", "receiver", str(port)])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the benchmark receiver did not start")


# ---- deliveries per second --------------------------------------------------------------------------


PAYLOAD: dict[str, Any] = {
    "queueID": 12,
    "callID": 1,
    "callLogID": 1,
    "callbackType": "terminal",
    "event": "call-ended",
    "customerNum": "+919845012345",
    "talktime": 60,
    "status": "completed",
}


async def _deliveries(port: int) -> dict[str, float]:
    import httpx

    from mockserver.core.clock import ManualClock
    from mockserver.core.outbox import Outbox, Outgoing, RetryRule
    from mockserver.core.store import MemoryStore
    from mockserver.core.timeline import Timeline
    from mockserver.delivery import HttpxTransport, StreamTransport

    url = f"http://127.0.0.1:{port}/terminal"
    rule = RetryRule(attempts=3, interval_seconds=60)
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)

    async def through_outbox(transport: Any) -> float:
        timeline = Timeline(ManualClock(), MemoryStore())
        outbox = Outbox(timeline, transport)
        started = time.perf_counter()
        for _ in range(DELIVERIES):
            outbox.enqueue(
                api="ryng", callback="terminal", outgoing=Outgoing("POST", url, PAYLOAD), retry=rule
            )
        await timeline.advance(0)  # all due at once: the outbox sends them concurrently
        elapsed = time.perf_counter() - started
        delivered = sum(1 for _ in outbox.deliveries(state="delivered"))
        if delivered != DELIVERIES:
            raise RuntimeError(f"only {delivered} of {DELIVERIES} deliveries arrived")
        return DELIVERIES / elapsed

    async with httpx.AsyncClient(limits=limits, timeout=120) as client:
        gate = asyncio.Semaphore(CONCURRENCY)

        async def post() -> None:
            async with gate:
                (await client.post(url, json=PAYLOAD)).raise_for_status()

        await asyncio.gather(*(post() for _ in range(CONCURRENCY * 5)))  # warm the connection pool
        started = time.perf_counter()
        await asyncio.gather(*(post() for _ in range(DELIVERIES)))
        raw = DELIVERIES / (time.perf_counter() - started)
        httpx_rate = await through_outbox(HttpxTransport(client, 120.0))
    stream = StreamTransport(120.0)
    rate = await through_outbox(stream)
    await stream.close()
    bookkeeping = await through_outbox(_Accept())
    return {
        "deliveries_per_s": round(rate, 1),
        "deliveries_httpx_transport_per_s": round(httpx_rate, 1),
        "deliveries_raw_httpx_per_s": round(raw, 1),
        "deliveries_vs_raw_httpx": round(rate / raw, 3),
        "outbox_bookkeeping_per_s": round(bookkeeping, 1),
    }


# ---- a transport that answers at once ------------------------------------------------------------


class _Accept:
    """Answers every callback with 200 at once."""

    def __init__(self) -> None:
        self.sent = 0

    async def send(self, outgoing: Any) -> Any:
        from mockserver.core.outbox import Answer

        self.sent += 1
        return Answer(status=200)


def run() -> dict[str, float]:
    proc, port = _start_receiver()
    try:
        figures = asyncio.run(_deliveries(port))
    finally:
        proc.kill()
        proc.wait()
    return figures


def main(argv: list[str]) -> int:
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    if argv[:1] == ["receiver"]:
        asyncio.run(_serve(int(argv[1])))
        return 0
    print(json.dumps(run(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
