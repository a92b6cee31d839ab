"""Machine-readable report: the table and the violations as JSON."""

from __future__ import annotations

import json

from contracts.reporting.model import Report


def render(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"
