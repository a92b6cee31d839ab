"""The kinds of refusal an engine can give, with no HTTP in them; the HTTP layer chooses the status."""

from __future__ import annotations


class EngineError(Exception):
    """The engine will not do what was asked; ``message`` says why, in a sentence."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(EngineError):
    """What the request names does not exist."""


class Conflict(EngineError):
    """The request clashes with the current state (a cap reached, a record already taken)."""


class Forbidden(EngineError):
    """The caller may not do this."""
