"""Load generators: wrk when it is installed, else a small asyncio client with keep-alive connections.

Both report requests per second and the 99th percentile latency. Figures from different generators are
not comparable with each other, only the ratios measured in one run are.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from urllib.parse import urlsplit


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


def run(load: Load, seconds: float, connections: int = 50) -> Result:
    if shutil.which("wrk"):
        return _wrk(load, seconds, connections)
    return asyncio.run(_asyncio_load(load, seconds, min(connections, 32)))


def _wrk(load: Load, seconds: float, connections: int) -> Result:
    lines = [f'wrk.method = "{load.method}"']
    if load.body:
        lines.append("wrk.body = [[" + load.body.decode() + "]]")
    lines += [f'wrk.headers["{k}"] = "{v}"' for k, v in load.headers.items()]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write("\n".join(lines) + "\n")
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds:g}s", "--latency", "-s", script.name, load.url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    p99 = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return Result(rps, p99, int(bad.group(1)) if bad else 0, f"wrk -t2 -c{connections}")


async def _asyncio_load(load: Load, seconds: float, connections: int) -> Result:
    parts = urlsplit(load.url)
    head = f"{load.method} {parts.path}{'?' + parts.query if parts.query else ''} HTTP/1.1\r\nhost: {parts.netloc}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in load.headers.items())
    request = (head + f"content-length: {len(load.body)}\r\n\r\n").encode() + load.body
    latencies: list[float] = []
    bad = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal bad
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            writer.write(request)
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if not status_line.split()[1].startswith(b"2"):
                bad += 1
        writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.perf_counter() - began
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99)] * 1000 if latencies else 0.0
    return Result(len(latencies) / elapsed, p99, bad, f"asyncio x{connections}")
