"""One exception root for the mock. ``ApiError`` ends a request with a documented error status; the
middleware words it in the vendor's own error shape (``x-mockline.errors`` of the API's spec)."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus

from mockserver.core.errors import Conflict, EngineError, Forbidden, NotFound


class MocklineError(Exception):
    """Root of every error the mock raises on purpose."""


class ApiError(MocklineError):
    """Answer this request with ``status`` and ``message``, in the vendor's error shape.

    ``problems`` are the individual findings behind the message (kept in the journal); ``headers`` go on
    the answer as they are (``allow`` on a 405, ``retry-after`` on a 429)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        problems: list[str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.problems = problems or []
        self.headers: dict[str, str] = dict(headers or {})

    @property
    def title(self) -> str:
        try:
            return HTTPStatus(self.status).phrase
        except ValueError:
            return "Error"


def refusal(error: EngineError) -> ApiError:
    """An engine's refusal as the status the specs document for that kind of refusal."""
    for kind, status in ((NotFound, 404), (Conflict, 409), (Forbidden, 403)):
        if isinstance(error, kind):
            return ApiError(status, error.message)
    return ApiError(400, error.message)
