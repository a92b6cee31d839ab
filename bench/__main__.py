"""``python -m bench``: every benchmark in this folder, a readable table, then all figures as one JSON line."""

from __future__ import annotations

import json
import sys
from typing import Any

from bench import admin, campaign, dashboard, dialer, http, intake, kill, scale, senders, verify


def main() -> int:
    figures: dict[str, Any] = {}
    for name, module in (
        ("http", http),
        ("dialer", dialer),
        ("campaign", campaign),
        ("intake", intake),
        ("senders", senders),
        ("verify", verify),
        ("kill", kill),
        ("admin", admin),
        ("dashboard", dashboard),
        ("scale", scale),
    ):
        print(f"running {name} benchmark...", file=sys.stderr, flush=True)
        result = module.run()
        for key, value in result.items():
            print(f"  {key:<32} {value}", file=sys.stderr)
        figures.update(result)
    print(json.dumps(figures, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
