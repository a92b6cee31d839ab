"""The load generator: wrk, a separate C process, so that what saturates is the server measured.

An in-process Python client (this file had one) saturates below the mock and reports ratios that
describe the client, not the servers. ``make bench`` installs wrk (Debian's package ``wrk``) where it is
missing and refuses to start without it; run otherwise, the bench stops with that message at its first
measurement. Reports requests per second and the 99th percentile latency.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

MISSING = (
    "the benchmarks need wrk (Debian package 'wrk'; `make bench` installs it with `make system-tools`) "
    "and it is not on the PATH"
)


@dataclass(frozen=True)
class Load:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes = b""


@dataclass(frozen=True)
class Result:
    rps: float
    p99_ms: float
    non_2xx: int
    tool: str


def require_wrk() -> str:
    """The path of wrk, or stop the bench with a message that says how to get it."""
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit(MISSING)
    return found


def run(load: Load, seconds: float, connections: int = 50) -> Result:
    return _wrk(require_wrk(), load, seconds, connections)


def _wrk(wrk: str, load: Load, seconds: float, connections: int) -> Result:
    lines = [f'wrk.method = "{load.method}"']
    if load.body:
        lines.append("wrk.body = [[" + load.body.decode() + "]]")
    lines += [f'wrk.headers["{k}"] = "{v}"' for k, v in load.headers.items()]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write("\n".join(lines) + "\n")
    try:
        out = subprocess.run(
            [wrk, "-t2", f"-c{connections}", f"-d{seconds:g}s", "--latency", "-s", script.name, load.url],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        Path(script.name).unlink()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    p99 = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return Result(rps, p99, int(bad.group(1)) if bad else 0, f"wrk -t2 -c{connections}")
