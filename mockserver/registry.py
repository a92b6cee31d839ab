"""Which function answers which operation: the handler registry, built once by ``create_app``.

Handler modules (``mockserver/handlers/``) each fill a ``HandlerSet``; ``create_app`` gathers the sets of
the APIs it serves into one ``Registry`` and hands it to the middleware. The registry sits above
``runtime.py`` and beside the handlers: ``Runtime`` knows nothing of handlers, so nothing imports in a
circle (``tests/unit/test_import_cycles.py``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from mockserver.exchange import Call, Reply
from mockserver.runtime import Runtime

Handler = Callable[[Call, Runtime], Reply | Awaitable[Reply]]


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


@dataclass
class Registry:
    """The handler of each (API, operationId) the mock serves; an operation without one is answered
    from its spec."""

    handlers: dict[tuple[str, str], Handler] = field(default_factory=dict)

    @classmethod
    def of(cls, handler_sets: Iterable[HandlerSet], apis: Iterable[str]) -> Registry:
        served = set(apis)
        return cls(
            {
                (handler_set.api, operation_id): fn
                for handler_set in handler_sets
                if handler_set.api in served
                for operation_id, fn in handler_set.by_operation.items()
            }
        )

    def get(self, api: str, operation_id: str) -> Handler | None:
        return self.handlers.get((api, operation_id))

    def add(self, api: str, operation_id: str, fn: Handler) -> None:
        if (api, operation_id) in self.handlers:
            raise ValueError(f"{api}.{operation_id} has two handlers")
        self.handlers[(api, operation_id)] = fn
