"""The engine's exceptions, under one root, with no HTTP in them; the HTTP layer chooses the status.

Drawn as httpx draws its tree; each class says when it is raised:

* CoreError - root of every exception the engine raises on purpose.
  + EngineError - an engine will not do what was asked (``message`` says why); the middleware answers it
  | | with the status the operation documents for its kind (``mockserver/errors.py::refusal``). Raised
  | | plain, it means the request's input is wrong.
  | + NotFound - what the request names does not exist (``crm.NotFound``, ``pbx.NotFound``,
  | |            ``queue.NotFound``; ``crm.CrmError``, ``pbx.PbxError`` and ``queue.QueueError`` are the
  | |            per-engine bases).
  | + Conflict - the request clashes with the state: a cap reached (``pbx.LimitReached``), a reference to an
  | |            unknown record (``crm.UnknownReference``), a record already taken (``queue.Conflict``).
  | + Forbidden - the caller may not do this (``pbx.Forbidden``).
  + timeline.UnknownJobKind - a job was scheduled, or found in the store, for a kind no engine registered
  |                           (also a ``KeyError``, as before).
  + store.TransactionError - a transaction was opened by one asyncio task while another task's was still
  |                          open (also a ``RuntimeError``): a bug in the caller, never an answer.
  + store.StoreUnavailable - a shared store (Redis) cannot be reached or its lock not had in time (also a
  |                          ``RuntimeError``): the unit did nothing; the middleware answers 503.
  + dialer_errors.DialerError - the Ryng dialer refuses a request; the Ryng handlers catch it and answer
    |                           in Ryng's own words (the middleware's refusal mapping never sees it).
    + UnknownAgent - an agent named by id or username is not in the roster (``unknown_agents: reject``).
    + UnknownCampaign - a queue was to take the leads of a campaign that does not exist.
    + BadSheet - a campaign sheet is not CSV, is empty, has no phone number or too many leads.
    + UnknownCall - no call has this id.
    + NotCancellable - the call was already tried or is not a queue call.
    + AgentBusy - a preview call was asked of an agent who is not free.
    + DisposeRefused - a preview call cannot be disposed (unknown call or call log, or already done).
"""

from __future__ import annotations


class CoreError(Exception):
    """Root of every exception the engine raises on purpose."""


class EngineError(CoreError):
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
