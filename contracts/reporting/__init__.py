"""Consumers of a verification: a live progress line and a table on the terminal, JUnit XML, a
self-contained HTML page and machine-readable JSON, all written from one :class:`Report`."""

from __future__ import annotations

from pathlib import Path

from contracts.reporting.model import Report, Row, Violation

__all__ = ["Report", "Row", "Violation", "write_report"]


def write_report(report: Report, path: str | Path) -> None:
    """Write ``report`` as HTML or JSON, chosen by the file's extension."""
    from contracts.reporting import html as html_report
    from contracts.reporting import json_report

    target = Path(path)
    suffix = target.suffix.lower()
    if suffix in {".html", ".htm"}:
        target.write_text(html_report.render(report), encoding="utf-8")
    elif suffix == ".json":
        target.write_text(json_report.render(report), encoding="utf-8")
    else:
        raise ValueError(f"--report {path}: use a .html or .json file name")
