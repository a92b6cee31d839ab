"""Several processes as one mock on Redis (issue 13): what sharing the state costs, and what it buys.

A redis-server (Debian's package) on a free loopback port with a temporary directory, no persistence;
the mock run as ``bench.http`` runs it (manual clock, no rate limit), wrk as the load generator. Figures:

* ``scale_memory_post_rps``, ``scale_redis_1w_post_rps``, ``scale_redis_2w_post_rps``: the stateful Ryng
  push (validated, the dialer taking in the call) with ``--state memory``, with ``--state redis://`` on
  one worker, and on ``--workers 2``; ``scale_redis_vs_memory`` and ``scale_2w_vs_1w`` their ratios,
  measured in the same run. Each namespace starts empty.
* ``scale_redis_2w_reruns_per_1000_units`` and ``scale_redis_2w_lock_fallbacks_per_1000_units``: in the
  two-worker run, how many units of work ran again (another process had committed something they read
  or wrote) and how many ended under the namespace's lock, per 1,000 committed (``_units``).
* ``scale_deliveries_per_s_2p`` (and ``_1p``): a campaign of ``LEADS`` leads whose calls all end, run by
  clock advances sent to two processes on one namespace at once (one process), its callbacks posted to a
  loopback receiver: deliveries recorded per second of the advance.

``python -m bench.scale`` prints the figures as JSON; ``run()`` returns them for ``python -m bench``.
BENCH_SECONDS (default 5) is each wrk run's length.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from bench import loadgen
from bench.http import PUSH_BODY, PUSH_PATH, SECONDS, free_port, mock_command, server
from bench.kill import CallbackLog, _pages
from bench.loadgen import Load
from mockserver.redis_state import RedisStore

LEADS = 600
TOKEN = {"x-access-token": "mockline"}
MISSING = "the scale-out bench needs redis-server (Debian package 'redis-server'; `make system-tools`)"


@contextmanager
def redis_server() -> Iterator[str]:
    """A throwaway redis-server on a free loopback port; yields its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit(MISSING)
    port = free_port()
    with tempfile.TemporaryDirectory() as directory:
        argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", directory]
        process = subprocess.Popen(
            [*argv, "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            deadline = time.monotonic() + 10
            while True:
                done = subprocess.run(
                    ["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True, check=False
                )
                if done.stdout.strip() == "PONG":
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start")
                time.sleep(0.05)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            process.terminate()
            process.wait(10)


def _push_rps(*extra: str) -> loadgen.Result:
    port = free_port()
    with server(mock_command(port, "--quiet", *extra), port, "/__admin/health"):
        post = Load(
            "POST",
            f"http://127.0.0.1:{port}{PUSH_PATH}",
            {"content-type": "application/json", **TOKEN},
            PUSH_BODY,
        )
        loadgen.run(post, 1)  # warm-up
        return loadgen.run(post, SECONDS)


def _reruns(url: str, namespace: str, prefix: str) -> dict[str, float]:
    """How often the units of a namespace's processes ran again, per 1,000 committed: overtaken at
    commit by another process's write to what they read or wrote, or answered from a stale mirror
    (``reruns``); refused at commit while a unit under the lock ran (``lock_waits``); and run under the
    lock after two reruns (``lock_fallbacks``)."""
    store = RedisStore(url, namespace)
    try:
        counted = store.counters()
    finally:
        store.close()
    units = max(counted["commits"], 1)
    reruns = counted["conflicts"] + counted["stale_reads"]
    return {
        f"{prefix}_units": counted["commits"],
        f"{prefix}_reruns_per_1000_units": round(reruns * 1000 / units, 2),
        f"{prefix}_lock_waits_per_1000_units": round(counted["lock_waits"] * 1000 / units, 2),
        f"{prefix}_lock_fallbacks_per_1000_units": round(counted["lock_fallbacks"] * 1000 / units, 2),
    }


def _campaign(url: str, namespace: str, processes: int) -> tuple[float, int]:
    """Seconds the advances took and the deliveries they recorded."""
    ports = [free_port() for _ in range(processes)]
    config = Path(tempfile.mkdtemp()) / "scale.json"
    config.write_text(json.dumps({"ryng": {"team_size": 50}}))
    with CallbackLog() as receiver, _servers(ports, url, namespace, config):
        with httpx.Client(base_url=f"http://127.0.0.1:{ports[0]}", timeout=120) as client:
            for start in range(0, LEADS, 100):
                body = {
                    "customerData": {
                        "connectCallbackUrl": receiver.url("/connect"),
                        "terminalCallbackUrl": receiver.url("/terminal"),
                        "jsonData": [{"number": f"+9196{n:08d}"} for n in range(start, start + 100)],
                    }
                }
                client.post(f"{PUSH_PATH}", json=body, headers=TOKEN).raise_for_status()
        started = time.perf_counter()
        threads = [threading.Thread(target=_advance, args=(port,)) for port in ports]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        with httpx.Client(base_url=f"http://127.0.0.1:{ports[-1]}", timeout=120) as client:
            deliveries = _pages(client, "/__admin/deliveries", "deliveries")
    delivered = sum(1 for d in deliveries if d["state"] == "delivered")
    return elapsed, delivered


def _advance(port: int) -> None:
    httpx.post(f"http://127.0.0.1:{port}/__admin/clock/advance", json={"seconds": 12 * 3600}, timeout=600)


@contextmanager
def _servers(ports: list[int], url: str, namespace: str, config: Path) -> Iterator[None]:
    if not ports:
        yield
        return
    extra = ("--quiet", "--state", url, "--namespace", namespace, "--config", str(config))
    with (
        server(mock_command(ports[0], *extra), ports[0], "/__admin/health"),
        _servers(ports[1:], url, namespace, config),
    ):
        yield


def run() -> dict[str, Any]:
    figures: dict[str, Any] = {}
    with redis_server() as url:
        memory = _push_rps("--state", "memory")
        one = _push_rps("--state", url, "--namespace", "push-1w")
        two = _push_rps("--state", url, "--namespace", "push-2w", "--workers", "2")
        figures["scale_memory_post_rps"] = round(memory.rps)
        figures["scale_redis_1w_post_rps"] = round(one.rps)
        figures["scale_redis_2w_post_rps"] = round(two.rps)
        figures["scale_redis_1w_post_p99_ms"] = round(one.p99_ms, 2)
        figures["scale_redis_2w_post_p99_ms"] = round(two.p99_ms, 2)
        figures["scale_redis_vs_memory"] = round(one.rps / memory.rps, 2)
        figures["scale_2w_vs_1w"] = round(two.rps / one.rps, 2)
        figures["scale_non_2xx"] = memory.non_2xx + one.non_2xx + two.non_2xx
        figures.update(_reruns(url, "push-2w", "scale_redis_2w"))
        for processes in (1, 2):
            elapsed, delivered = _campaign(url, f"campaign-{processes}p", processes)
            figures[f"scale_deliveries_{processes}p"] = delivered
            figures[f"scale_deliveries_per_s_{processes}p"] = round(delivered / elapsed)
    return figures


if __name__ == "__main__":
    print(json.dumps(run(), sort_keys=True))
    sys.exit(0)
