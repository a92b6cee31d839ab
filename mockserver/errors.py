"""The mock's exceptions, under one root. ``ApiError`` ends a request with a documented error status; the
middleware words it in the vendor's own error shape (``x-mockline.errors`` of the API's spec, else RFC 9457).

Drawn as httpx draws its tree; each class says when it is raised:

* MocklineError - root of every exception the mock raises on purpose.
  + ApiError - end this request with ``status``, ``message`` and ``headers``: bad parameters or body, no
  |            route, a method not allowed, rate limited, refused credentials, a ``Prefer`` naming nothing,
  |            or an engine refusal (``refusal`` below).
  + ConfigError (``settings.py``, also a ``ValueError``) - the config file cannot be read or says
  |            something the mock does not understand; ``mockline serve`` exits 2 with it.
  + SpecError (``anyspec.py``, also a ``ValueError``) - a ``--spec`` entry cannot be served: missing, not
  |            OpenAPI 3.0, or a name or prefix already taken.
  + CoercionError (``schemas.py``, also a ``ValueError``) - a parameter's or form field's text is not of
  |            its schema's type; it becomes a validation problem naming the place.
  + Refused (``targets.py``) - a callback target breaks a rule (scheme, the mock itself,
  |            ``--callback-allow``); the delivery fails at once with its message.
  + TooDeep (``jsonbody.py``, also a ``ValueError``) - a JSON body nests deeper than the mock reads; the
  |            request is refused with the vendor's 400.
  + NotFinite (``jsonbody.py``, also a ``ValueError``) - a JSON body holds NaN, Infinity or a number past
  |            a double; the request is refused with the vendor's 400, naming the field.
  + _Closed (``delivery.py``) - a kept-alive connection was closed before any byte of an answer: the
               request is sent again on a new one (never leaves ``delivery.py``).

The engine (``mockserver.core``) has its own root, ``CoreError`` (``core/errors.py``), since it may not
import this package; its refusals reach the middleware, which answers them once through ``refusal``.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

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


# Each kind of refusal, with the statuses that can document it, the usual one first.
_STATUSES: tuple[tuple[type[EngineError], tuple[int, ...]], ...] = (
    (NotFound, (404, 410)),
    (Conflict, (409, 422)),
    (Forbidden, (403, 401)),
)


def refusal(
    error: EngineError, documented: Mapping[str, Any] | None = None, validation_status: int = 400
) -> ApiError:
    """An engine's refusal as the status the operation documents for that kind (``documented``: its
    ``responses``): the first of the kind's statuses it documents (a plain ``EngineError`` is bad input:
    the API's validation status, else 422); if it documents none of them, the usual one, undocumented."""
    candidates: tuple[int, ...] = (validation_status, 422)
    for kind, statuses in _STATUSES:
        if isinstance(error, kind):
            candidates = statuses
            break
    for status in candidates:
        if documented is not None and str(status) in documented:
            return ApiError(status, error.message)
    return ApiError(candidates[0], error.message)
