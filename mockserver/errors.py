"""One exception root for the mock. ``ApiError`` ends a request with a documented error status; the
middleware words it in the vendor's own error shape (``x-mockline.errors`` of the API's spec)."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus

from mockserver.core.errors import Conflict, EngineError, Forbidden, NotFound
from mockserver.operations import Operation


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


# Each kind of refusal, with the statuses that can document it, the usual one first.
_STATUSES: tuple[tuple[type[EngineError], tuple[int, ...]], ...] = (
    (NotFound, (404, 410)),
    (Conflict, (409, 422)),
    (Forbidden, (403, 401)),
)


def refusal(error: EngineError, operation: Operation | None = None, validation_status: int = 400) -> ApiError:
    """An engine's refusal as the status ``operation``'s spec documents for that kind: the first of the
    kind's statuses it documents (a plain ``EngineError`` is bad input: the API's validation status, else
    422); if it documents none of them, the usual one, as an undocumented answer."""
    candidates: tuple[int, ...] = (validation_status, 422)
    for kind, statuses in _STATUSES:
        if isinstance(error, kind):
            candidates = statuses
            break
    if operation is not None:
        for status in candidates:
            if str(status) in operation.responses:
                return ApiError(status, error.message)
    return ApiError(candidates[0], error.message)
