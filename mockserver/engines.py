"""The simulation engines the mock runs, each built over the shared runtime by its handler module."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mockserver.handlers import handler_modules

if TYPE_CHECKING:
    from mockserver.runtime import Engine, Runtime


def build_engines(runtime: Runtime) -> dict[str, Engine]:
    """``engines[api]`` for each served API whose handler module defines ``build_engine``."""
    engines: dict[str, Engine] = {}
    for module in handler_modules():
        handler_set = getattr(module, "handlers", None)
        build = getattr(module, "build_engine", None)
        if build is not None and handler_set is not None and handler_set.api in runtime.apis:
            engines[handler_set.api] = build(runtime)
    return engines
