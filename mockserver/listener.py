"""How the mock listens: uvicorn's httptools protocol, held to the limits of ``docs/limits.md``.

uvicorn by itself bounds none of these (measured with uvicorn 0.54 and httptools): it buffers a request
head of any size, waits forever for the head of a request and for a body that was announced but never
sent, and waits forever on a client that stops reading. Only a kept-alive connection with no new request
is closed (``timeout_keep_alive``). ``LimitedProtocol`` adds, per connection:

- the request line and headers are capped at ``max_header_bytes``: more is answered 431 and closed;
- the head must arrive within ``header_timeout_seconds`` of the connection (or of the first byte of a
  request on a kept-alive one): a slow client is answered 408 and closed, an idle one just closed;
- a body must arrive within ``body_timeout_seconds`` of the end of the head: the application is told
  (``middleware.BODY_TIMEOUT_KEY`` in the scope), answers 408 in the vendor's shape, and the connection
  closes;
- a client that stops reading its answer for ``send_timeout_seconds`` is disconnected.

The timers cost nothing on a request that arrives in one read, the usual case.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import httptools
import uvicorn
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from mockserver.middleware import BODY_TIMEOUT_KEY, error_answer
from mockserver.settings import Settings

Describe = Callable[[str, int, str], tuple[bytes, str]]
"""(path, status, message) -> (body, media type): an error the server gives before the app is reached."""


def _plain(path: str, status: int, message: str) -> tuple[bytes, str]:
    return message.encode(), "text/plain; charset=utf-8"


@dataclass(frozen=True)
class Limits:
    max_header_bytes: int = 64 * 1024
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    send_timeout: float = 30.0
    describe: Describe = _plain


def protocol_for(settings: Settings, describe: Describe) -> type[asyncio.Protocol]:
    """An httptools protocol class with the limits of ``settings``."""

    class Protocol(LimitedProtocol):
        limits = Limits(
            max_header_bytes=settings.max_header_bytes,
            header_timeout=settings.header_timeout_seconds,
            body_timeout=settings.body_timeout_seconds,
            send_timeout=settings.send_timeout_seconds,
            describe=describe,
        )

    return Protocol


def server_config(app: Any, settings: Settings, **options: Any) -> uvicorn.Config:
    """uvicorn's configuration for the mock ``app`` (a ``MockApp``), with the limits of ``settings``."""
    apis = app.runtime.apis

    def describe(path: str, status: int, message: str) -> tuple[bytes, str]:
        return error_answer(apis, path, status, message)

    base: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "http": protocol_for(settings, describe),
        "timeout_keep_alive": settings.idle_timeout_seconds,
        "log_level": "warning",
        "access_log": False,
    }
    return uvicorn.Config(app, **{**base, **options})


class LimitedProtocol(HttpToolsProtocol):
    limits: ClassVar[Limits] = Limits()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limits = self.limits
        self.max_header_bytes = limits.max_header_bytes
        self.header_timeout = limits.header_timeout
        self.body_timeout = limits.body_timeout
        self.send_timeout = limits.send_timeout
        self._in_head = True  # reading a request line and headers (or waiting for one)
        self._head_bytes = 0
        self._message_done = True
        self._head_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._send_timer: asyncio.TimerHandle | None = None
        self._refused = False

    # ---- connection ------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_timer = self.loop.call_later(self.header_timeout, self._head_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        for timer in (self._head_timer, self._body_timer, self._send_timer):
            if timer is not None:
                timer.cancel()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        self._unset_keepalive_if_required()
        if self._in_head:
            self._head_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        except httptools.HttpParserError:
            if not self._refused:
                self.logger.warning("Invalid HTTP request received.")
                self.send_400_response("Invalid HTTP request received.")
            return
        if self._refused:
            return
        if self._in_head and self._head_bytes and self._head_timer is None:
            # the next request on a kept-alive connection began and its head is not all in: from now on
            # it has the header timeout to arrive (a head that comes in one read, the usual case, and
            # the request it starts never set a timer)
            self._head_timer = self.loop.call_later(self.header_timeout, self._head_timed_out)
        if self._in_head and self._head_bytes > self.max_header_bytes:
            self._refuse(431, self._too_large())
        elif not self._in_head and not self._message_done and self._body_timer is None:
            self._body_timer = self.loop.call_later(self.body_timeout, self._body_timed_out)

    # ---- parser callbacks ------------------------------------------------------------------------

    def on_headers_complete(self) -> None:
        # Only a head that came in more bytes than the cap (with what followed it in the same read) can
        # be over it: the exact size is counted then, never on an ordinary request.
        if self._head_bytes > self.max_header_bytes:
            size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
            if size > self.max_header_bytes:
                self._refuse(431, self._too_large())
                return
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        self._in_head = False
        self._head_bytes = 0
        self._message_done = False
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._refused:
            return
        self._message_done = True
        self._in_head = True
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None
        super().on_message_complete()

    # ---- flow control ----------------------------------------------------------------------------

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._send_timer is None:
            self._send_timer = self.loop.call_later(self.send_timeout, self._send_timed_out)

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._send_timer is not None:
            self._send_timer.cancel()
            self._send_timer = None

    # ---- limits ----------------------------------------------------------------------------------

    def _too_large(self) -> str:
        return f"The request line and headers are larger than {self.max_header_bytes} bytes"

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        if self._head_bytes == 0 and (self.cycle is None or self.cycle.response_complete):
            self.transport.close()  # idle: nothing was asked, nothing to answer
        elif self.cycle is None or self.cycle.response_complete:
            self._refuse(408, f"The request headers did not arrive within {self.header_timeout:g} s")

    def _body_timed_out(self) -> None:
        self._body_timer = None
        cycle = self.cycle
        if cycle is None or self.transport.is_closing():
            return
        if cycle.response_complete:
            self.transport.close()
            return
        # The application answers (in the vendor's shape) when it sees the body end here; the rest of
        # the body may still come, so the connection cannot be reused.
        cycle.keep_alive = False
        cycle.scope[BODY_TIMEOUT_KEY] = self.body_timeout  # type: ignore[literal-required]
        cycle.more_body = False
        cycle.message_event.set()
        self._refused = True  # read nothing more from this client

    def _send_timed_out(self) -> None:
        self._send_timer = None
        if not self.transport.is_closing():
            self.transport.abort()

    def _refuse(self, status: int, message: str) -> None:
        """Answer ``status`` before the application was reached, and close."""
        self._refused = True
        url: bytes = getattr(self, "url", b"")  # set when the parser sees a request begin
        path = url.split(b"?", 1)[0].decode("latin-1")
        body, media_type = self.limits.describe(path, status, message)
        head = [
            STATUS_LINE[status],
            b"content-type: " + media_type.encode("latin-1") + b"\r\n",
            b"content-length: " + str(len(body)).encode() + b"\r\n",
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)
        self.transport.close()
