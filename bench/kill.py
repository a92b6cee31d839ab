"""Kill rounds: ``mockline serve --state sqlite:PATH --clock manual`` killed with SIGKILL at random instants.

One state file, one callback receiver on 127.0.0.1, and ``rounds`` rounds. In each round a driver pushes
one to four leads at a time (each with a number of its own) and moves the clock, while a timer kills the
server at a random instant; the server is started again on the same file and the clock is moved on far
enough for every call to finish. The round survives when every lead accepted so far (a push answered
200) is a call in a final state with exactly one terminal delivery record, and that record delivered;
when every answered attempt has exactly one connect delivery record (no step ran twice); when no delivery
is left pending or failed; when the receiver got each terminal callback at least once; and when it got
no callback more often than the journal accounts for (callbacks are at least once: an attempt in flight
at a kill may go again, and that repeated attempt is marked ``after_restart``). The restart after one
round's kill is the next round's server.

``python -m bench.kill [ROUNDS]`` prints the figures as JSON; ``run()`` returns them for ``python -m bench``.
The suite runs a few rounds (tests/integration/test_kill.py), and proves the rounds can fail by running
them against a server whose store transactions do nothing.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from bench.http import free_port

ROOT = Path(__file__).resolve().parent.parent
RYNG = "/ryng/rest-api/v1"
TOKEN = {"x-access-token": "mockline"}
SERVE = [sys.executable, "-m", "bench.kill_serve"]  # mockline serve, with a self-kill the rounds can arm
FINAL_STATES = {"completed", "unreachable"}
BENCH_ROUNDS = 10
TEAM = 40  # agents: many calls in progress at once, so that a kill finds steps under way


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A killed mock drops its connections mid-request: expected here, not worth a traceback."""


class CallbackLog:
    """A callback receiver on a free loopback port that answers 200 and counts what came, per path and call."""

    def __init__(self) -> None:
        owner = self
        self.counts: Counter[tuple[str, int]] = Counter()
        self._lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length", 0)))
                try:
                    call_id = int(json.loads(raw)["callID"])
                except (ValueError, KeyError, TypeError):
                    call_id = -1
                with owner._lock:
                    owner.counts[(self.path, call_id)] += 1
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def received(self, path: str, call_id: int) -> int:
        with self._lock:
            return self.counts[(path, call_id)]

    def __enter__(self) -> CallbackLog:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)


@dataclass
class Mock:
    """One ``mockline serve`` process on the shared state file."""

    command: Sequence[str]
    state: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> Mock:
        config = self.state.with_suffix(".json")
        config.write_text(json.dumps({"ryng": {"team_size": TEAM, "scheduled_call": False}}))
        argv = [
            *self.command,
            *("serve", "--api", "ryng", "--clock", "manual", "--rate-limit", "off", "--seed", "3"),
            *("--port", str(self.port), "--state", f"sqlite:{self.state}", "--config", str(config)),
        ]
        env = {**os.environ, "PYTHONWARNINGS": "ignore", "KILL_ARM_FILE": str(self.arm_file), **self.env}
        self.proc = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=ROOT
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mockline serve exited with {self.proc.returncode} on {self.state}")
            try:
                if httpx.get(f"{self.base}/__admin/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        self.kill()
        raise RuntimeError("mockline serve did not start")

    @property
    def arm_file(self) -> Path:
        return self.state.with_suffix(".arm")

    def die_at_write(self, n: int) -> None:
        """Make the server kill itself in the middle of its n-th store write from now."""
        self.arm_file.write_text(str(n))
        if self.proc is not None:
            self.proc.send_signal(signal.SIGUSR1)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()  # SIGKILL: no shutdown, no flush, no handler runs
        if self.proc is not None:
            self.proc.wait()


@dataclass
class Outcome:
    rounds: int = 0
    survived: int = 0
    accepted: int = 0
    repeated_attempts: int = 0  # attempts marked after_restart: on the wire at a kill, sent again
    problems: list[str] = field(default_factory=list)


def _push(client: httpx.Client, receiver: CallbackLog, numbers: list[str], queue: int) -> bool:
    body = {
        "maxRetries": 1,
        "retryInterval": 1,
        "customerData": {
            "connectCallbackUrl": receiver.url("/connect"),
            "terminalCallbackUrl": receiver.url("/terminal"),
            "jsonData": [{"number": n} for n in numbers],
        },
    }
    r = client.post(f"{RYNG}/progressive/queue/{queue}/transactional", json=body, headers=TOKEN)
    return r.status_code == 200


def _drive(
    mock: Mock,
    receiver: CallbackLog,
    rng: random.Random,
    accepted: list[str],
    serial: Iterator[int],
    by_writes: bool,
) -> None:
    """Pushes of a few dozen leads each, then the clock moved on, until the server dies. It dies at a
    random instant: either a timer's SIGKILL (started, one time in four, with the pushes, otherwise
    with the first advance) or, ``by_writes``, its own SIGKILL in the middle of a random store write.
    If the work runs out first, it is killed at the end."""
    killer = threading.Timer(rng.uniform(0.0, 1.0), mock.kill)
    during_pushes = rng.random() < 0.25
    if by_writes:
        mock.die_at_write(rng.randint(1, 8000))
    try:
        with httpx.Client(base_url=mock.base, timeout=60) as client:
            if during_pushes and not by_writes:
                killer.start()
            for _ in range(rng.randint(4, 8)):
                numbers = [f"+9198{next(serial):08d}" for _ in range(rng.randint(30, 80))]
                if _push(client, receiver, numbers, rng.choice((11, 12))):
                    accepted.extend(numbers)
            if not during_pushes and not by_writes:
                killer.start()
            for _ in range(4):
                client.post("/__admin/clock/advance", json={"seconds": rng.randint(600, 1800)})
    except httpx.HTTPError:
        pass
    finally:
        killer.cancel()
        mock.kill()


def _pages(client: httpx.Client, path: str, key: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of an /__admin list, following its cursor."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = {**params, "limit": 1000, **({"cursor": cursor} if cursor else {})}
        r = client.get(path, params=query)
        r.raise_for_status()
        body = r.json()
        found.extend(body[key])
        cursor = body.get("next_cursor")
        if not cursor:
            return found


def check(mock: Mock, receiver: CallbackLog, accepted: list[str], outcome: Outcome) -> list[str]:
    """What is wrong after the recovery advance; empty when the round survived."""
    problems: list[str] = []
    with httpx.Client(base_url=mock.base, timeout=120) as client:
        r = client.post("/__admin/clock/advance", json={"seconds": 12 * 3600})
        r.raise_for_status()
        calls = _pages(client, "/__admin/calls", "calls")
        deliveries = _pages(client, "/__admin/deliveries", "deliveries")
    by_number = {c["number"]: c for c in calls}
    terminal = Counter(d["callID"] for d in deliveries if d["callback"] == "terminal")
    connect = Counter(d["callID"] for d in deliveries if d["callback"] == "connect")
    # What the journal owns up to, per (callback, call): attempts recorded, plus one unrecorded attempt
    # for each marked after_restart (the one the kill cut short). The receiver may not have seen more.
    owned: Counter[tuple[str, int]] = Counter()
    for d in deliveries:
        owned[(f"/{d['callback']}", d["callID"])] += sum(
            2 if a.get("after_restart") else 1 for a in d["attempts"]
        )
    for number in accepted:
        if number not in by_number:
            problems.append(f"lead {number} was accepted and is gone")
    for call in calls:
        cid = call["callID"]
        if call["state"] not in FINAL_STATES:
            problems.append(f"call {cid} ({call['number']}) is stuck {call['state']}")
            continue
        if terminal[cid] != 1:
            problems.append(f"call {cid} has {terminal[cid]} terminal delivery records")
        answered = sum(1 for a in call["attempts"] if a["outcome"] == "answered")
        if connect[cid] != answered:
            problems.append(f"call {cid}: {answered} answered attempts, {connect[cid]} connect records")
        if receiver.received("/terminal", cid) < 1:
            problems.append(f"call {cid}: the receiver never got its terminal callback")
        for path in ("/terminal", "/connect"):
            got = receiver.received(path, cid)
            if got > owned[(path, cid)]:
                problems.append(
                    f"call {cid}: {path} arrived {got} times, the journal accounts for {owned[(path, cid)]}"
                )
    outcome.repeated_attempts = sum(1 for d in deliveries for a in d["attempts"] if a.get("after_restart"))
    for d in deliveries:
        if d["state"] != "delivered":
            problems.append(f"delivery {d['id']} ({d['callback']} of call {d.get('callID')}) is {d['state']}")
    return problems


def run_rounds(
    rounds: int,
    workdir: Path,
    *,
    seed: int = 10,
    transactions: bool = True,
    kills: str = "alternate",
    stop_on_failure: bool = False,
) -> Outcome:
    """``rounds`` kills at random instants on one state file (see the module's docstring). With
    ``kills="alternate"`` odd rounds are killed by a timer and even rounds at a random store write;
    with ``kills="writes"`` every round at a random store write. ``transactions=False`` runs every
    server with its store transactions turned off, to show that the rounds catch what they are meant to."""
    rng = random.Random(seed)
    outcome = Outcome()
    accepted: list[str] = []
    serial = iter(range(1, 10**8))
    env = {} if transactions else {"NO_TRANSACTIONS": "1"}
    state = workdir / "kill-rounds.sqlite"
    with CallbackLog() as receiver:
        mock = Mock(SERVE, state, env).start()
        try:
            for n in range(1, rounds + 1):
                _drive(mock, receiver, rng, accepted, serial, by_writes=kills == "writes" or n % 2 == 0)
                mock = Mock(SERVE, state, env).start()
                problems = check(mock, receiver, accepted, outcome)
                outcome.rounds = n
                if problems:
                    outcome.problems += [f"round {n}: {p}" for p in problems]
                    if stop_on_failure:
                        break
                else:
                    outcome.survived += 1
        finally:
            mock.kill()
    outcome.accepted = len(accepted)
    return outcome


def run(rounds: int = BENCH_ROUNDS) -> dict[str, Any]:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        outcome = run_rounds(rounds, Path(tmp), seed=20261130)
        elapsed = time.perf_counter() - started
    for problem in outcome.problems[:20]:
        print(f"  kill round problem: {problem}", file=sys.stderr)
    return {
        "kill_rounds": outcome.rounds,
        "kill_rounds_survived": outcome.survived,
        "kill_leads_accepted": outcome.accepted,
        "kill_attempts_after_restart": outcome.repeated_attempts,
        "kill_rounds_seconds": round(elapsed, 1),
    }


if __name__ == "__main__":
    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else BENCH_ROUNDS), sort_keys=True))
