"""Helpers for the dialer scenarios: a callback receiver on 127.0.0.1 and an in-process mock client."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from mockserver.app import MockApp, create_app
from mockserver.settings import Settings

TOKEN = {"x-access-token": "mockline"}
RYNG = "/ryng/rest-api/v1"


@dataclass
class Received:
    path: str
    body: Any
    status: int


@dataclass
class Receiver:
    """A tiny HTTP server on a free loopback port. ``statuses[path]`` is the status to answer (a list is
    consumed one answer at a time, its last value repeating); everything else gets 200."""

    statuses: dict[str, Any] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                raw = self.rfile.read(length)
                status = owner._status(self.path)
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                with owner._lock:
                    owner.received.append(Received(self.path, body, status))
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _status(self, path: str) -> int:
        with self._lock:
            wanted = self.statuses.get(path, 200)
            if isinstance(wanted, list):
                return int(wanted.pop(0) if len(wanted) > 1 else wanted[0])
            return int(wanted)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def at(self, path: str) -> list[Any]:
        with self._lock:
            return [r.body for r in self.received if r.path == path]

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)


class Mock:
    """An in-process mock (manual clock, no rate limit) whose callbacks go over real HTTP."""

    def __init__(self, seed: int = 1, config: Mapping[str, Any] | None = None) -> None:
        # The dialer's scenarios start from a tenant with no calls (no scheduled call of the default state).
        config = {**(config or {}), "ryng": {"scheduled_call": False, **(config or {}).get("ryng", {})}}
        self.settings = Settings(clock="manual", rate_limit=False, seed=seed, config=config)
        self.http = httpx.AsyncClient()
        self.app: MockApp = create_app(self.settings, http_client=self.http)
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://mock")

    async def __aenter__(self) -> Mock:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.client.aclose()
        await self.http.aclose()

    async def ryng(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.request(method, RYNG + path, headers=TOKEN, **kwargs)

    async def advance(self, seconds: float) -> dict[str, Any]:
        r = await self.client.post("/__admin/clock/advance", json={"seconds": seconds})
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def calls(self, **params: Any) -> list[dict[str, Any]]:
        return await self.pages("/__admin/calls", "calls", **params)

    async def deliveries(self, **params: Any) -> list[dict[str, Any]]:
        return await self.pages("/__admin/deliveries", "deliveries", **params)

    async def pages(self, path: str, key: str, **params: Any) -> list[dict[str, Any]]:
        """Every item of a control-plane list, page after page."""
        found: list[dict[str, Any]] = []
        query = {"limit": 10000, **params}
        while True:
            r = await self.client.get(path, params=query)
            assert r.status_code == 200, r.text
            found += r.json()[key]
            if r.json()["next_cursor"] is None:
                return found
            query["cursor"] = r.json()["next_cursor"]

    def spec_problems(self, operation_id: str, payload: Any) -> list[str]:
        """Problems of a callback payload against the callback's schema in specs/ryng.yaml."""
        for operation in self.app.runtime.apis["ryng"].operations.values():
            for spec in operation.callback_specs:
                if spec.operation_id == operation_id and spec.schema is not None:
                    return [str(p) for p in spec.schema.problems(payload, "payload")]
        raise KeyError(operation_id)


def callbacks(receiver: Receiver, base: str = "") -> dict[str, list[Any]]:
    return {"connect": receiver.at(f"{base}/connect"), "terminal": receiver.at(f"{base}/terminal")}


def urls(receiver: Receiver, base: str = "") -> dict[str, str]:
    return {
        "connectCallbackUrl": receiver.url(f"{base}/connect"),
        "terminalCallbackUrl": receiver.url(f"{base}/terminal"),
    }


def rows(numbers: Iterable[str], **extra: Any) -> list[dict[str, Any]]:
    return [{"number": n, **extra} for n in numbers]
