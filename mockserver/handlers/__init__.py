"""Thin handlers, one module per API: parse what the call carries, call the engine, shape the reply.

Operations with no handler here are answered from the spec (its examples, or generated data).
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from mockserver.registry import Handler, HandlerSet

__all__ = ["Handler", "HandlerSet", "all_handler_sets", "handler_modules"]


def handler_modules() -> list[ModuleType]:
    """Every module of this package; each defines ``handlers`` (a HandlerSet) and may define
    ``build_engine(runtime)``, the engine its handlers call."""
    return [
        importlib.import_module(f"{__name__}.{info.name}")
        for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name)
    ]


def all_handler_sets() -> list[HandlerSet]:
    return [m.handlers for m in handler_modules() if isinstance(getattr(m, "handlers", None), HandlerSet)]
