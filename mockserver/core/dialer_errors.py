"""What the Ryng dialer refuses, under ``CoreError`` (drawn in ``core/errors.py``).

The Ryng handlers catch these themselves and answer the way Ryng does (its own words and statuses), so
they are not ``EngineError``s: the middleware's refusal mapping never sees them.
"""

from __future__ import annotations

from mockserver.core.errors import CoreError


class DialerError(CoreError):
    """A request the dialer refuses; handlers answer it the way Ryng does."""


class UnknownAgent(DialerError):
    """An agent named by id or username is not in the roster (``unknown_agents: reject``)."""


class UnknownCampaign(DialerError):
    """A queue was to take a campaign's leads, and no such campaign exists."""


class BadSheet(DialerError):
    """A campaign sheet is not CSV, is empty, has no phone numbers or too many leads."""


class UnknownCall(DialerError):
    """No call has this id."""


class NotCancellable(DialerError):
    """The call was already tried, or is not a queue call: only waiting queue calls can be cancelled."""


class AgentBusy(DialerError):
    """A preview call was asked of an agent who is not free."""


class DisposeRefused(DialerError):
    """A preview call cannot be disposed: unknown call or call log, or already disposed."""
