"""Requests/s and p99 latency of the mock, against bare Starlette and Stoplight Prism in the same run.

Each server runs in its own process with one uvicorn worker (httptools + uvloop), on 127.0.0.1; the
mock and the baseline are measured in alternation, BENCH_ROUNDS times (default 3), medians reported.
* POST: Ryng transactional push with a valid body, validation and auth on, rate limit off; measured
  twice: with the dialer taking in the call (``mock_post``; the mock is reset before each round, and the
  manual clock leaves every call waiting, so a round ends with tens of thousands of them in memory), and
  answered from the spec's example with ``Prefer: example=`` (``mock_request_path_post``: the request
  path alone, no dialer work).
* GET: Ringotel CRM ``GET /users`` with Basic credentials (Ryng documents no GET).
Prism (``@stoplight/prism-cli`` from npm) runs where Node is present; the bench installs it into
``bench/.prism`` the first time. ``python -m bench.http`` prints the figures as JSON.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench import loadgen
from bench.loadgen import Load, Result

ROOT = Path(__file__).resolve().parent.parent
SECONDS = float(os.environ.get("BENCH_SECONDS", "5"))
PUSH_PATH = "/ryng/rest-api/v1/progressive/queue/12/transactional"
PUSH_BODY = json.dumps(
    {
        "agentMapping": "global",
        "agents": ["asha.verma@example.com"],
        "customerData": {
            "terminalCallbackUrl": "http://127.0.0.1:9/terminal",
            "jsonData": [{"number": "+919812345678", "priority": 1, "customField1": "Asha"}],
        },
    }
).encode()
ONLY_REQUEST_PATH = {"prefer": "example=appending-queue"}
BASIC = "Basic " + base64.b64encode(b"mockline:mockline").decode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def mock_command(port: int, *extra: str) -> list[str]:
    """``mockline serve`` on ``port`` with the manual clock and no rate limit, as every bench runs it."""
    command = [sys.executable, "-m", "mockserver.cli", "serve", "--port", str(port)]
    return [*command, "--rate-limit", "off", "--clock", "manual", *extra]


@contextmanager
def server(command: list[str], port: int, ready_path: str, timeout: float = 60) -> Iterator[None]:
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}{ready_path}", timeout=1)
                break
            except urllib.error.HTTPError:
                break  # any HTTP answer means it is listening
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{command[0]} did not start") from None
                time.sleep(0.2)
        yield
    finally:
        process.terminate()
        process.wait(timeout=10)


def _measure(
    base: str, post_path: str, get_path: str, extra: dict[str, str] | None = None
) -> tuple[Result, Result]:
    headers = {"content-type": "application/json", "x-access-token": "mockline", **(extra or {})}
    post = Load("POST", base + post_path, headers, PUSH_BODY)
    get = Load("GET", base + get_path, {"authorization": BASIC})
    loadgen.run(post, 1)  # warm-up
    return loadgen.run(post, SECONDS), loadgen.run(get, SECONDS)


def _reset(port: int) -> None:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/__admin/reset", data=b"", method="POST")
    urllib.request.urlopen(request, timeout=30).close()


def _prism() -> Path | None:
    if not shutil.which("node") or not shutil.which("npm"):
        return None
    binary = ROOT / "bench" / ".prism" / "node_modules" / ".bin" / "prism"
    if not binary.exists():
        subprocess.run(
            [
                "npm",
                "install",
                "--silent",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(binary.parents[2]),
                "@stoplight/prism-cli",
            ],
            check=True,
        )
    return binary


ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))


def _median(results: list[Result]) -> Result:
    ordered = sorted(results, key=lambda r: r.rps)
    return ordered[len(ordered) // 2]


def run_all() -> dict[str, Any]:
    """The baseline and the mock run side by side and are measured in alternation, ROUNDS times each,
    so that a noisy moment on a shared machine moves both alike; the medians are reported."""
    figures: dict[str, Any] = {}
    results: dict[str, tuple[Result, Result]] = {}
    python = sys.executable
    base_port, mock_port = free_port(), free_port()
    baseline = [python, "-m", "bench.baseline_app", str(base_port)]
    mock = [
        python,
        "-m",
        "mockserver.cli",
        "serve",
        "--port",
        str(mock_port),
        "--rate-limit",
        "off",
        "--clock",
        "manual",
    ]
    rounds: dict[str, list[tuple[Result, Result]]] = {"starlette": [], "mock": [], "mock_request_path": []}
    with server(baseline, base_port, "/ringotel/users"), server(mock, mock_port, "/__admin/health"):
        for _ in range(ROUNDS):
            rounds["starlette"].append(
                _measure(f"http://127.0.0.1:{base_port}", PUSH_PATH, "/ringotel/users")
            )
            # Every round starts from the state a fresh mock has, so rounds repeat one another; within
            # a round, the calls pushed pile up (tens of thousands: the manual clock dials none).
            _reset(mock_port)
            rounds["mock"].append(_measure(f"http://127.0.0.1:{mock_port}", PUSH_PATH, "/ringotel/users"))
            # The same push answered from the spec's example: auth and validation on, no dialer work.
            rounds["mock_request_path"].append(
                _measure(f"http://127.0.0.1:{mock_port}", PUSH_PATH, "/ringotel/users", ONLY_REQUEST_PATH)
            )
    for name, measured in rounds.items():
        results[name] = (_median([m[0] for m in measured]), _median([m[1] for m in measured]))

    prism = _prism()
    if prism is not None:
        post_port, get_port = free_port(), free_port()
        ryng = [str(prism), "mock", "-h", "127.0.0.1", "-p", str(post_port), "specs/ryng.yaml"]
        crm = [str(prism), "mock", "-h", "127.0.0.1", "-p", str(get_port), "specs/ringotel-crm.yaml"]
        with server(ryng, post_port, "/", timeout=120), server(crm, get_port, "/", timeout=120):
            post_result, _ = _measure(f"http://127.0.0.1:{post_port}", PUSH_PATH.removeprefix("/ryng"), "/")
            _, get_result = _measure(f"http://127.0.0.1:{get_port}", PUSH_PATH, "/users")
            results["prism"] = (post_result, get_result)

    for name, (post, get) in results.items():
        figures[f"{name}_post_rps"] = round(post.rps)
        figures[f"{name}_post_p99_ms"] = round(post.p99_ms, 2)
        figures[f"{name}_get_rps"] = round(get.rps)
        figures[f"{name}_get_p99_ms"] = round(get.p99_ms, 2)
        figures[f"{name}_non_2xx"] = post.non_2xx + get.non_2xx
    mock_post, mock_get = results["mock"]
    base_post, base_get = results["starlette"]
    figures["mock_vs_starlette"] = round(mock_post.rps / base_post.rps, 2)
    figures["mock_request_path_vs_starlette"] = round(results["mock_request_path"][0].rps / base_post.rps, 2)
    figures["mock_vs_starlette_get"] = round(mock_get.rps / base_get.rps, 2)
    if "prism" in results:
        figures["mock_vs_prism"] = round(mock_post.rps / results["prism"][0].rps, 2)
        figures["mock_vs_prism_get"] = round(mock_get.rps / results["prism"][1].rps, 2)
    figures["load_generator"] = mock_post.tool
    return figures


def run() -> dict[str, Any]:
    return run_all()


if __name__ == "__main__":
    print(json.dumps(run(), sort_keys=True))
