"""One line per request: method, path, status, operationId, duration and validation error count.

``mockline serve`` writes it (``--log-format text|json``; ``--quiet`` turns it off; uvicorn's own access
log stays off). Kept off the request path's cost: a line is formatted with one f-string (or one orjson
call) and appended to a buffer; the buffer is written in one go when it holds ``FLUSH_LINES`` lines or
``FLUSH_SECONDS`` after its first line, whichever comes first.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Mapping
from datetime import datetime
from typing import Any, TextIO

import orjson

from mockserver.core.clock import iso

FLUSH_LINES = 256
FLUSH_SECONDS = 0.2


class AccessLog:
    def __init__(self, log_format: str = "text", stream: TextIO | None = None) -> None:
        if log_format not in ("text", "json"):
            raise ValueError(f"--log-format takes text or json, not {log_format!r}")
        self.json = log_format == "json"
        self.stream = stream or sys.stderr
        self._lines: list[str] = []
        self._timer: asyncio.TimerHandle | None = None
        self._last: tuple[Any, str] = (None, "")
        self._second: tuple[int, str] = (-1, "")

    def _when(self, at: Any) -> str:
        """``iso(at)``, with what the last call formatted reused: a manual clock gives every request the
        same instant, and a running one the same second for thousands of them."""
        if at is self._last[0]:
            return self._last[1]
        if not isinstance(at, datetime):
            return str(at)
        second = int(at.timestamp())
        if second != self._second[0]:
            self._second = (second, iso(at)[:-4])
        text = f"{self._second[1]}{at.microsecond // 1000:03d}Z"
        self._last = (at, text)
        return text

    def line(self, entry: Mapping[str, Any], seconds: float) -> str:
        when = self._when(entry.get("at"))
        errors = len(entry.get("validation_errors") or ())
        path = entry.get("path", "")
        query = entry.get("query")
        if query:
            path = f"{path}?{query}"
        if self.json:
            return orjson.dumps(
                {
                    "at": when,
                    "method": entry.get("method"),
                    "path": path,
                    "status": entry.get("status"),
                    "operationId": entry.get("operationId"),
                    "duration_ms": round(seconds * 1000, 3),
                    "validation_errors": errors,
                }
            ).decode()
        return (
            f"{when} {entry.get('method')} {path} {entry.get('status')} {entry.get('operationId') or '-'}"
            f" {seconds * 1000:.2f}ms errors={errors}"
        )

    def write(self, entry: Mapping[str, Any], seconds: float) -> None:
        self._lines.append(self.line(entry, seconds))
        if len(self._lines) >= FLUSH_LINES:
            self.flush()
        elif self._timer is None:
            try:
                self._timer = asyncio.get_running_loop().call_later(FLUSH_SECONDS, self.flush)
            except RuntimeError:  # no loop (a synchronous caller): write at once
                self.flush()

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._lines:
            text = "\n".join(self._lines) + "\n"
            self._lines.clear()
            try:
                self.stream.write(text)
                self.stream.flush()
            except (OSError, ValueError):  # a closed or broken stream must not break serving
                pass
