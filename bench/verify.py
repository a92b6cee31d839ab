"""How long ``mockline verify`` takes over every API of the mock as ``make serve`` starts it.

The mock runs as ``mockline serve`` with its defaults (realtime clock, Ryng's rate limit of 60 requests a
minute per token on). Each API is verified by its own ``mockline verify`` process with the CLI's defaults
(every phase, workflows included, every check; paced by the limit the spec documents), the four at once,
as a CI job would run them. Target: all four conformant (exit 0) in under two minutes.
``python -m bench.verify`` prints the figures as JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.http import ROOT, free_port, server

# The mock's default credentials (README, "Default credentials"), as a user passes them to verify.
TARGETS: dict[str, dict[str, Any]] = {
    "ryng": {"prefix": "/ryng", "headers": {"x-access-token": "mockline"}},
    "diyalog": {"prefix": "/diyalog", "headers": {"Auth-Token": "mockline"}},
    "ringotel-crm": {"prefix": "/ringotel", "auth": "oauth2:mockline:mockline"},
    "ringme": {"prefix": "/ringme", "auth": "oauth2:mockline:mockline"},
}


def verify_command(spec: str, port: int, report: Path, *extra: str) -> list[str]:
    """``mockline verify SPEC`` against the mock on ``port``, with the mock's default credentials."""
    target = TARGETS[spec]
    command = [sys.executable, "-m", "mockserver.cli", "verify", spec]
    command += ["--base-url", f"http://127.0.0.1:{port}{target['prefix']}", "--seed", "1"]
    for name, value in target.get("headers", {}).items():
        command += ["--header", f"{name}: {value}"]
    if "auth" in target:
        command += ["--auth", target["auth"]]
    return [*command, "--report", str(report), *extra]


def run() -> dict[str, Any]:
    port = free_port()
    serve = [sys.executable, "-m", "mockserver.cli", "serve", "--port", str(port)]  # as `make serve`
    figures: dict[str, Any] = {}
    with server(serve, port, "/__admin/health"), tempfile.TemporaryDirectory() as folder:
        began = time.perf_counter()
        running = {}
        for spec in TARGETS:
            report = Path(folder) / f"{spec}.json"
            process = subprocess.Popen(
                verify_command(spec, port, report),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd=ROOT,
            )
            running[spec] = (process, report, time.perf_counter())
        deadline = time.perf_counter() + 600
        waiting = dict(running)
        while waiting and time.perf_counter() < deadline:
            for spec, (process, _, started) in list(waiting.items()):
                code = process.poll()
                if code is not None:
                    figures[f"verify_{spec}_s"] = round(time.perf_counter() - started, 1)
                    figures[f"verify_{spec}_exit"] = code
                    del waiting[spec]
            time.sleep(0.2)
        for spec, (process, _, _) in waiting.items():
            process.kill()
            figures[f"verify_{spec}_exit"] = "timed out"
        for spec, (_, report, _) in running.items():
            if report.exists():
                data = json.loads(report.read_text())
                figures[f"verify_{spec}_requests"] = data.get("requests")
                figures[f"verify_{spec}_violations"] = len(data.get("violations") or [])
                figures[f"verify_{spec}_inconclusive"] = [
                    i.get("name") for i in data.get("inconclusive") or []
                ]
        figures["verify_all_apis_s"] = round(time.perf_counter() - began, 1)
        figures["verify_all_apis_conformant"] = all(figures[f"verify_{s}_exit"] == 0 for s in TARGETS)
        # What the negative phase (contracts/negatives.py) takes of that, run alone on every API.
        began = time.perf_counter()
        for spec in TARGETS:
            alone = verify_command(spec, port, Path(folder) / f"{spec}-negative.json", "--phases", "negative")
            subprocess.run(alone, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, timeout=300)
        figures["negative_phase_all_apis_s"] = round(time.perf_counter() - began, 1)
    return figures


if __name__ == "__main__":
    print(json.dumps(run(), sort_keys=True))
