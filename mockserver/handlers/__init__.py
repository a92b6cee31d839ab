"""Thin handlers, one module per API: parse what the call carries, call the engine, shape the reply.

Operations with no handler here are answered from the spec (its examples, or generated data).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import TYPE_CHECKING

from mockserver.exchange import Call, Reply

if TYPE_CHECKING:
    from mockserver.runtime import Runtime

Handler = Callable[[Call, "Runtime"], "Reply | Awaitable[Reply]"]


class HandlerSet:
    """The handlers of one API, keyed by operationId."""

    def __init__(self, api: str) -> None:
        self.api = api
        self.by_operation: dict[str, Handler] = {}

    def operation(self, operation_id: str) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            if operation_id in self.by_operation:
                raise ValueError(f"{self.api}.{operation_id} has two handlers")
            self.by_operation[operation_id] = fn
            return fn

        return register


def handler_modules() -> list[ModuleType]:
    """Every module of this package; each defines ``handlers`` (a HandlerSet) and may define
    ``build_engine(runtime)``, the engine its handlers call."""
    return [
        importlib.import_module(f"{__name__}.{info.name}")
        for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name)
    ]


def all_handler_sets() -> list[HandlerSet]:
    return [m.handlers for m in handler_modules() if isinstance(getattr(m, "handlers", None), HandlerSet)]
