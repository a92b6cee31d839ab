"""How long ``mockline verify`` takes over every API of the mock at default settings.

The mock runs as ``mockline serve`` in its own process (rate limit off, manual clock); each API is then
verified in this process with verify's defaults (every phase, every check). Target: under two minutes.
``python -m bench.verify`` prints the figures as JSON.
"""

from __future__ import annotations

import json
import time
from typing import Any

from bench.http import free_port, mock_command, server
from contracts.runner import VerifyOptions, run_to_report

TARGETS: dict[str, dict[str, Any]] = {
    "ryng": {"prefix": "/ryng", "headers": {"x-access-token": "mockline"}},
    "diyalog": {"prefix": "/diyalog", "headers": {"Auth-Token": "mockline"}},
    "ringotel-crm": {"prefix": "/ringotel", "auth": "oauth2:mockline:mockline"},
    "ringme": {"prefix": "/ringme", "auth": "oauth2:mockline:mockline"},
}


def run() -> dict[str, Any]:
    port = free_port()
    command = mock_command(port)
    figures: dict[str, Any] = {}
    with server(command, port, "/__admin/health"):
        began = time.perf_counter()
        for spec, target in TARGETS.items():
            started = time.perf_counter()
            report = run_to_report(
                VerifyOptions(
                    spec,
                    f"http://127.0.0.1:{port}{target['prefix']}",
                    headers=target.get("headers", {}),
                    auth=target.get("auth"),
                    seed=1,
                )
            )
            figures[f"verify_{spec}_s"] = round(time.perf_counter() - started, 1)
            figures[f"verify_{spec}_violations"] = len(report.violations)
        figures["verify_all_apis_s"] = round(time.perf_counter() - began, 1)
    return figures


if __name__ == "__main__":
    print(json.dumps(run(), sort_keys=True))
