"""A mock served as ``mockline serve`` serves it (``mockserver.listener``), on a free loopback port, and a
raw socket client for what an HTTP library would not send."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from mockserver.app import MockApp, create_app
from mockserver.listener import server_config
from mockserver.settings import Settings
from tests.fixtures import free_port, running

TOKEN = {"x-access-token": "mockline"}
PUSH = "/ryng/rest-api/v1/progressive/queue/3/transactional"


@dataclass
class Served:
    app: MockApp
    port: int

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextlib.contextmanager
def limited(fallback: Any = None, **overrides: Any) -> Iterator[Served]:
    """The mock with the listener's limits; short timeouts unless ``overrides`` say otherwise."""
    options: dict[str, Any] = {
        "clock": "manual",
        "rate_limit": False,
        "port": free_port(),
        "header_timeout_seconds": 1.0,
        "body_timeout_seconds": 1.0,
        "idle_timeout_seconds": 1.0,
        "send_timeout_seconds": 1.0,
        **overrides,
    }
    settings = Settings(**options)
    app = create_app(settings, fallback=fallback)
    with running(server_config(app, settings, log_level="critical", lifespan="on")):
        yield Served(app, settings.port)


def connect(port: int, timeout: float = 10.0) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return sock


def read_answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (or the socket times out)."""
    chunks = []
    with contextlib.suppress(TimeoutError, ConnectionResetError):
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0


def body_of(answer: bytes) -> bytes:
    return answer.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in answer else b""
