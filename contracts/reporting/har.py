"""``--report-har PATH``: every exchange of a run as an HTTP Archive (HAR 1.2), for a browser's network
panel or any HAR viewer. Bodies are kept as text when they are UTF-8, as base64 otherwise; an answer's body
to its first :data:`BODY_BYTES` (a run keeps every exchange until it ends), its entry saying how large it
was."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from contracts.reporting.model import Exchange

CREATOR = {"name": "mockline verify", "version": "1"}
BODY_BYTES = 64 * 1024  # of each answer's body, kept for the HAR file


def _header(pairs: Sequence[tuple[str, str]], name: str) -> str:
    return next((v for k, v in pairs if k.lower() == name), "")


def _content(body: bytes, media_type: str, size: int | None = None) -> dict[str, Any]:
    size = len(body) if size is None else size
    content: dict[str, Any] = {"size": size, "mimeType": media_type}
    try:
        content["text"] = body.decode("utf-8")
    except UnicodeDecodeError:
        content["text"] = base64.b64encode(body).decode("ascii")
        content["encoding"] = "base64"
    if size > len(body):
        content["comment"] = (
            f"the first {len(body)} of {size} bytes: --report-har keeps {BODY_BYTES // 1024} KiB of a body"
        )
    return content


def entry(exchange: Exchange) -> dict[str, Any]:
    """One HAR entry; ``_phase`` and ``_source`` say which phase and which sender (Schemathesis or a check)."""
    request_type = _header(exchange.request_headers, "content-type")
    response_type = _header(exchange.response_headers, "content-type")
    request: dict[str, Any] = {
        "method": exchange.method,
        "url": exchange.url,
        "httpVersion": exchange.http_version,
        "cookies": [],
        "headers": [{"name": k, "value": v} for k, v in exchange.request_headers],
        "queryString": [
            {"name": k, "value": v}
            for k, v in parse_qsl(urlsplit(exchange.url).query, keep_blank_values=True)
        ],
        "headersSize": -1,
        "bodySize": len(exchange.request_body or b""),
    }
    if exchange.request_body:
        posted = _content(exchange.request_body, request_type)
        request["postData"] = {"mimeType": request_type, "text": posted["text"]}
        if "encoding" in posted:
            request["postData"]["comment"] = "base64"
    content = _content(exchange.response_body, response_type, exchange.response_size)
    return {
        "startedDateTime": exchange.started,
        "time": exchange.elapsed_ms,
        "request": request,
        "response": {
            "status": exchange.status,
            "statusText": "",
            "httpVersion": exchange.http_version,
            "cookies": [],
            "headers": [{"name": k, "value": v} for k, v in exchange.response_headers],
            "content": content,
            "redirectURL": _header(exchange.response_headers, "location"),
            "headersSize": -1,
            "bodySize": content["size"],
        },
        "cache": {},
        "timings": {"send": 0, "wait": exchange.elapsed_ms, "receive": 0},
        "_phase": exchange.phase,
        "_source": exchange.source,
    }


def render(exchanges: Iterable[Exchange]) -> str:
    log = {"log": {"version": "1.2", "creator": CREATOR, "entries": [entry(e) for e in exchanges]}}
    return json.dumps(log, indent=1, ensure_ascii=False) + "\n"


def write(exchanges: Iterable[Exchange], path: str | Path) -> None:
    Path(path).write_text(render(exchanges), encoding="utf-8")
