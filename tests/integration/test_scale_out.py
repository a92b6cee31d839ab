"""Several ``mockline serve --state redis://`` processes act as one mock (issue 13), proven over HTTP.

A real redis-server on a free loopback port; real ``mockline serve`` processes; a callback receiver on
127.0.0.1 (bench.kill's) that counts what arrives per path and call.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.kill import CallbackLog, _pages
from mockserver.redis_state import RedisStore
from tests.redis_support import RedisServer, free_port, redis_server  # noqa: F401  (the fixture)

ROOT = Path(__file__).resolve().parents[2]
RYNG = "/ryng/rest-api/v1"
TOKEN = {"x-access-token": "mockline"}
_namespaces = itertools.count(1)
pytestmark = pytest.mark.slow


class Serve:
    """One ``mockline serve`` process with the given state and namespace."""

    def __init__(self, state: str, namespace: str, config: Path, *extra: str) -> None:
        self.port = free_port()
        argv = [
            *(sys.executable, "-m", "mockserver.cli", "serve", "--api", "ryng", "--clock", "manual"),
            *("--rate-limit", "off", "--quiet", "--seed", "3", "--port", str(self.port)),
            *("--state", state, "--namespace", namespace, "--config", str(config), *extra),
        ]
        self.proc = subprocess.Popen(
            argv,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
            cwd=ROOT,
        )
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mockline serve exited: {self.proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            try:
                if httpx.get(f"{self.base}/__admin/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError("mockline serve did not start")
            time.sleep(0.1)
        self.client = httpx.Client(base_url=self.base, timeout=60)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        client = getattr(self, "client", None)
        if client is not None:
            client.close()

    def push(self, receiver: CallbackLog, numbers: list[str], queue: int = 11) -> httpx.Response:
        body = {
            "maxRetries": 1,
            "retryInterval": 1,
            "customerData": {
                "connectCallbackUrl": receiver.url("/connect"),
                "terminalCallbackUrl": receiver.url("/terminal"),
                "jsonData": [{"number": n} for n in numbers],
            },
        }
        return self.client.post(f"{RYNG}/progressive/queue/{queue}/transactional", json=body, headers=TOKEN)

    def advance(self, seconds: float) -> dict[str, Any]:
        r = self.client.post("/__admin/clock/advance", json={"seconds": seconds})
        r.raise_for_status()
        return dict(r.json())

    def calls(self) -> list[dict[str, Any]]:
        return _pages(self.client, "/__admin/calls", "calls")

    def deliveries(self) -> list[dict[str, Any]]:
        return _pages(self.client, "/__admin/deliveries", "deliveries")


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scale-out") / "mock.json"
    # a short callback timeout: a claim on an attempt of a killed process runs out 5 s after it
    path.write_text(
        json.dumps({"ryng": {"team_size": 20, "scheduled_call": False}, "callback_timeout_seconds": 1})
    )
    return path


@pytest.fixture
def namespace() -> str:
    return f"it{next(_namespaces)}-{time.monotonic_ns()}"


class Pair:
    """Two processes on one namespace, shared by the tests of this module: starting a process costs
    seconds, and a test needs a fresh mock, not fresh processes. ``fresh()`` starts again a process a
    test killed and resets the namespace through ``POST /__admin/reset`` (on one process, for both:
    docs/scale-out.md), so each test starts from the default state, its clock at the seed's start."""

    def __init__(self, redis_url: str, namespace: str, config: Path) -> None:
        self.redis_url, self.namespace, self.config = redis_url, namespace, config
        self.mocks: list[Serve] = []

    def fresh(self) -> tuple[Serve, Serve]:
        self.mocks = [m for m in self.mocks if m.proc.poll() is None]
        while len(self.mocks) < 2:
            self.mocks.append(Serve(self.redis_url, self.namespace, self.config))
        a, b = self.mocks
        a.client.post("/__admin/reset").raise_for_status()
        return a, b

    def stop(self) -> None:
        for mock in self.mocks:
            mock.kill()


@pytest.fixture(scope="module")
def pair(redis_server: RedisServer, config: Path) -> Iterator[Pair]:  # noqa: F811
    shared = Pair(redis_server.url, f"pair-{time.monotonic_ns()}", config)
    try:
        yield shared
    finally:
        shared.stop()


@pytest.fixture
def two(pair: Pair) -> tuple[Serve, Serve]:
    return pair.fresh()


def _numbers(start: int, count: int) -> list[str]:
    return [f"+9197{n:08d}" for n in range(start, start + count)]


def test_two_processes_are_one_mock_unique_ids_one_clock_one_terminal_callback_per_lead(
    two: tuple[Serve, Serve],
) -> None:
    a, b = two
    assert a.client.get("/__admin/clock").json()["now"] == b.client.get("/__admin/clock").json()["now"]
    with CallbackLog() as receiver:
        accepted: list[str] = []
        for n, mock in enumerate([a, b, a, b, a, b]):
            numbers = _numbers(n * 10, 10)
            assert mock.push(receiver, numbers).status_code == 200
            accepted += numbers
            other = b if mock is a else a
            page = other.client.get("/dashboard/calls", params={"number": numbers[-1]})
            assert page.status_code == 200 and numbers[-1] in page.text, "a dashboard page reads the latest"
        calls = b.calls()
        assert sorted(c["number"] for c in calls) == sorted(accepted), "both see every lead"
        ids = [c["callID"] for c in calls]
        assert len(set(ids)) == len(ids) == 60, "call ids are unique across the two processes"
        before = a.client.get("/__admin/clock").json()["now"]
        moved = a.advance(3600)
        assert moved["now"] > before
        clock_b = b.client.get("/__admin/clock").json()
        assert clock_b["now"] == moved["now"], "the clock advanced through one is the clock of both"
        assert clock_b["pending_jobs"] == 0
        calls = b.calls()
        assert all(c["state"] in {"completed", "unreachable"} for c in calls)
        terminal = Counter(d["callID"] for d in a.deliveries() if d["callback"] == "terminal")
        assert all(terminal[c["callID"]] == 1 for c in calls), "one terminal delivery record per lead"
        for call in calls:
            assert receiver.received("/terminal", call["callID"]) == 1, f"call {call['callID']}"


def test_pushes_to_one_queue_through_two_processes_at_once_need_no_second_run(
    two: tuple[Serve, Serve],
    pair: Pair,
    redis_server: RedisServer,  # noqa: F811
) -> None:
    a, b = two
    counters = RedisStore(redis_server.url, pair.namespace)  # the namespace the two processes share
    with CallbackLog() as receiver:
        # each process makes what its first push makes (the queue, a dispatch)
        for n, mock in enumerate((a, b)):
            assert mock.push(receiver, _numbers(50000 + n, 1)).status_code == 200
        before = counters.counters()
        failures: list[Any] = []

        def pushes(mock: Serve, first: int) -> None:
            with httpx.Client(base_url=mock.base, timeout=60) as client:
                for n in range(first, first + 40):
                    body = {
                        "maxRetries": 1,
                        "customerData": {
                            "terminalCallbackUrl": receiver.url("/terminal"),
                            "jsonData": [{"number": _numbers(n, 1)[0]}],
                        },
                    }
                    r = client.post(f"{RYNG}/progressive/queue/11/transactional", json=body, headers=TOKEN)
                    if r.status_code != 200:
                        failures.append(r.text)

        threads = [
            threading.Thread(target=pushes, args=(mock, first))
            for mock, first in ((a, 51000), (a, 52000), (b, 53000), (b, 54000))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not failures
        after = counters.counters()
        counters.close()
        assert after["commits"] - before["commits"] == 160
        runs_again = {k: after[k] - before[k] for k in ("conflicts", "stale_reads", "lock_fallbacks")}
        assert runs_again == {"conflicts": 0, "stale_reads": 0, "lock_fallbacks": 0}, (
            "pushes of two processes to one queue touch no document in common: none runs twice"
        )
        calls = a.calls()
        ids = [c["callID"] for c in calls]
        assert len(ids) == len(set(ids)) == 162, "call ids are unique"
        a.advance(3600)
        calls = b.calls()
        assert all(c["state"] in {"completed", "unreachable"} for c in calls)
        for call in calls:
            assert receiver.received("/terminal", call["callID"]) == 1, "every call dispatched and ended once"


def test_advances_on_both_processes_at_once_run_each_job_once(two: tuple[Serve, Serve]) -> None:
    a, b = two
    with CallbackLog() as receiver:
        for n, mock in enumerate([a, b, a, b]):
            assert mock.push(receiver, _numbers(1000 + n * 25, 25)).status_code == 200
        results: list[dict[str, Any]] = []
        threads = [threading.Thread(target=lambda m=m: results.append(m.advance(3600))) for m in (a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        calls = a.calls()
        assert len(calls) == 100 and all(c["state"] in {"completed", "unreachable"} for c in calls)
        deliveries = b.deliveries()
        terminal = Counter(d["callID"] for d in deliveries if d["callback"] == "terminal")
        answered = Counter(d["callID"] for d in deliveries if d["callback"] == "connect")
        for call in calls:
            assert terminal[call["callID"]] == 1
            assert answered[call["callID"]] == sum(1 for x in call["attempts"] if x["outcome"] == "answered")
            assert receiver.received("/terminal", call["callID"]) == 1, "each attempt went out once"
        assert all(d["state"] == "delivered" and len(d["attempts"]) == 1 for d in deliveries)


def test_two_namespaces_do_not_see_each_other(
    redis_server: RedisServer,  # noqa: F811
    two: tuple[Serve, Serve],
    config: Path,
) -> None:
    a, _b = two
    other = Serve(redis_server.url, f"other-{time.monotonic_ns()}", config)
    try:
        with CallbackLog() as receiver:
            assert a.push(receiver, _numbers(5000, 3)).status_code == 200
            assert other.calls() == []
            assert other.push(receiver, _numbers(6000, 2)).status_code == 200
            assert sorted(c["callID"] for c in other.calls()) == [1, 2], "its own ids, from 1"
            other.advance(600)
            assert (
                a.client.get("/__admin/clock").json()["now"]
                != other.client.get("/__admin/clock").json()["now"]
            )
            assert len(a.calls()) == 3
    finally:
        other.kill()


def test_a_process_killed_during_an_advance_loses_nothing(two: tuple[Serve, Serve], pair: Pair) -> None:
    a, b = two
    with CallbackLog() as receiver:
        accepted: list[str] = []
        for n, mock in enumerate([a, b] * 4):
            numbers = _numbers(20000 + n * 40, 40)
            assert mock.push(receiver, numbers).status_code == 200
            accepted += numbers
            other = b if mock is a else a
            page = other.client.get("/dashboard/calls", params={"number": numbers[-1]})
            assert page.status_code == 200 and numbers[-1] in page.text, "a dashboard page reads the latest"
        # a's advance is cut short by kill -9 while it is running jobs ...
        advancing = threading.Thread(target=lambda: _ignore_errors(a.advance, 12 * 3600))
        advancing.start()
        time.sleep(0.4)
        a.kill()
        advancing.join()
        unfinished = [c for c in b.calls() if c["state"] not in {"completed", "unreachable"}]
        assert unfinished, "the kill came after the advance had finished: nothing was interrupted"
        # ... b finishes the work (a job a had claimed waits for its lease), and a restarted process
        # sees the same state
        b.advance(12 * 3600)
        restarted = Serve(pair.redis_url, pair.namespace, pair.config)
        try:
            calls = restarted.calls()
            deliveries = restarted.deliveries()
        finally:
            restarted.kill()
    assert sorted(c["number"] for c in calls) == sorted(accepted), "every accepted lead is a call"
    terminal = Counter(d["callID"] for d in deliveries if d["callback"] == "terminal")
    connect = Counter(d["callID"] for d in deliveries if d["callback"] == "connect")
    for call in calls:
        assert call["state"] in {"completed", "unreachable"}, f"call {call['callID']} is {call['state']}"
        assert terminal[call["callID"]] == 1, (
            f"call {call['callID']}: {terminal[call['callID']]} terminal records"
        )
        answered = sum(1 for x in call["attempts"] if x["outcome"] == "answered")
        assert connect[call["callID"]] == answered, "no step of a call ran twice"
        # at least once: an attempt on the wire at the kill may have gone again, marked after_restart
        owned = sum(
            2 if x.get("after_restart") else 1
            for d in deliveries
            if d["callID"] == call["callID"] and d["callback"] == "terminal"
            for x in d["attempts"]
        )
        assert 1 <= receiver.received("/terminal", call["callID"]) <= owned
    assert all(d["state"] == "delivered" for d in deliveries)


def _ignore_errors(action: Any, *args: Any) -> None:
    with contextlib.suppress(httpx.HTTPError):  # the process was killed under the request
        action(*args)


def test_redis_down_is_503_in_the_vendors_shape_and_work_goes_on_when_it_returns(
    tmp_path: Path, config: Path
) -> None:
    server = RedisServer(tmp_path, appendonly=True).start()
    mock = None
    try:
        mock = Serve(server.url, "outage", config)
        with CallbackLog() as receiver:
            assert mock.push(receiver, _numbers(30000, 5)).status_code == 200
            server.stop()
            down = mock.push(receiver, _numbers(30010, 5))
            assert down.status_code == 503
            error = down.json()
            assert error["error"] is True and "unavailable" in error["message"], error  # Ryng's shape
            assert down.headers["retry-after"] == "1"
            clock = mock.client.post("/__admin/clock/advance", json={"seconds": 60})
            assert clock.status_code == 503 and clock.headers["content-type"].startswith(
                "application/problem+json"
            )
            server.start()  # same port, same directory: the append-only file brings the state back
            assert mock.push(receiver, _numbers(30020, 5)).status_code == 200
            mock.advance(3600)
            calls = mock.calls()
            assert sorted(c["number"] for c in calls) == sorted(_numbers(30000, 5) + _numbers(30020, 5))
            assert all(c["state"] in {"completed", "unreachable"} for c in calls)
            for call in calls:
                assert receiver.received("/terminal", call["callID"]) == 1
    finally:
        if mock is not None:
            mock.kill()
        server.stop()


def test_workers_above_one_need_redis_state_and_say_why() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mockserver.cli", "serve", "--workers", "2", "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert done.returncode == 2
    assert "--workers 2 needs --state redis://" in done.stderr
    assert "each worker would keep a state of its own" in done.stderr


def test_workers_serve_one_port_as_one_mock_and_a_dead_worker_is_replaced(
    redis_server: RedisServer,  # noqa: F811
    namespace: str,
    config: Path,
) -> None:
    mock = Serve(redis_server.url, namespace, config, "--workers", "2")
    try:
        workers = _children(mock.proc.pid)
        assert len(workers) == 2, workers
        with CallbackLog() as receiver:
            for n in range(10):  # a new connection each time: the kernel spreads them over the workers
                with httpx.Client(base_url=mock.base, timeout=30) as client:
                    body = {
                        "customerData": {
                            "terminalCallbackUrl": receiver.url("/terminal"),
                            "jsonData": [{"number": _numbers(40000 + n, 1)[0]}],
                        }
                    }
                    r = client.post(f"{RYNG}/progressive/queue/11/transactional", json=body, headers=TOKEN)
                    assert r.status_code == 200
            ids = [c["callID"] for c in mock.calls()]
            assert len(set(ids)) == len(ids) == 10, "call ids are unique across the workers"
            os.kill(workers[0], 9)
            mock.client.close()  # its kept-alive connection may have been the dead worker's
            mock.client = httpx.Client(base_url=mock.base, timeout=60)
            mock.advance(3600)  # answered by the worker still alive
            deadline = time.monotonic() + 60
            while len(_children(mock.proc.pid)) < 2 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert len(_children(mock.proc.pid)) == 2, "the dead worker was replaced"
            calls = mock.calls()
            assert all(c["state"] in {"completed", "unreachable"} for c in calls)
            for call in calls:
                assert receiver.received("/terminal", call["callID"]) == 1
    finally:
        for pid in _children(mock.proc.pid):
            os.kill(pid, 9)
        mock.kill()


def _children(pid: int) -> list[int]:
    """The worker processes of a ``--workers`` parent (multiprocessing's resource tracker aside)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
            if b"resource_tracker" not in cmdline:
                found.append(int(child))
    return sorted(found)


def test_the_rate_limit_counts_the_requests_of_every_process(
    redis_server: RedisServer,  # noqa: F811
    namespace: str,
    config: Path,
) -> None:
    a = Serve(redis_server.url, namespace, config, "--rate-limit", "on")
    try:
        b = Serve(redis_server.url, namespace, config, "--rate-limit", "on")
    except BaseException:
        a.kill()
        raise
    try:
        with CallbackLog() as receiver:
            statuses = Counter(
                mock.push(receiver, _numbers(50000 + n, 1)).status_code for n, mock in enumerate([a, b] * 35)
            )
        # Ryng allows 60 requests a minute per token; the manual clock keeps them all in one window
        assert statuses == Counter({200: 60, 429: 10})
    finally:
        a.kill()
        b.kill()


def test_each_worker_has_a_socket_of_its_own_on_the_port_and_connections_spread_over_them() -> None:
    import socket

    from mockserver.settings import Settings
    from mockserver.workers import bind_each

    socks = bind_each(Settings(host="127.0.0.1", port=0, workers=2, state="redis://127.0.0.1:1/0"))
    try:
        assert len({id(s) for s in socks}) == 2
        port = socks[0].getsockname()[1]
        assert port != 0 and socks[1].getsockname()[1] == port, "one port"
        clients = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(40)]
        accepted = []
        for sock in socks:
            sock.settimeout(0.5)
            got = 0
            with contextlib.suppress(TimeoutError):
                while True:
                    conn, _ = sock.accept()
                    conn.close()
                    got += 1
            accepted.append(got)
        for client in clients:
            client.close()
        assert sum(accepted) == 40 and min(accepted) > 0, f"connections per worker socket: {accepted}"
    finally:
        for sock in socks:
            sock.close()
