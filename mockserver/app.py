"""``create_app``: the one place where the mock's parts are put together."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import connexion
import httpx
from connexion.middleware.main import ExceptionMiddleware, ServerErrorMiddleware, SwaggerUIMiddleware
from connexion.resolver import Resolver

from contracts.loaders import ADMIN_SPEC, VENDOR_SPECS, load_spec
from contracts.oas30 import inline_refs
from mockserver.core.clock import Clock, ManualClock, ScaledClock
from mockserver.core.outbox import Transport
from mockserver.core.store import Document, StateStore, open_store
from mockserver.core.timeline import Timeline
from mockserver.dashboard import Dashboard
from mockserver.delivery import HttpxTransport, StreamTransport
from mockserver.faults import Faults
from mockserver.handlers import all_handler_sets
from mockserver.journal import Journal
from mockserver.middleware import MockMiddleware
from mockserver.operations import compile_api
from mockserver.runtime import Runtime, build_outbox
from mockserver.schemas import CompiledSchema
from mockserver.settings import Settings


class MockApp(connexion.AsyncApp):
    runtime: Runtime


def _unreachable(*_args: Any, **_kwargs: Any) -> None:
    raise RuntimeError("operations are answered by MockMiddleware; Connexion's own handlers never run")


def served_apis(settings: Settings) -> list[str]:
    chosen = list(settings.apis) or list(VENDOR_SPECS)
    unknown = [name for name in chosen if name not in VENDOR_SPECS]
    if unknown:
        raise ValueError(f"unknown API {', '.join(unknown)}: choose from {', '.join(VENDOR_SPECS)}")
    return [*chosen, ADMIN_SPEC]


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    store: StateStore | None = None,
    http_client: httpx.AsyncClient | None = None,
) -> MockApp:
    settings = settings or Settings()
    clock = clock or (ManualClock() if settings.clock == "manual" else ScaledClock(scale=settings.time_scale))
    store = store or open_store(settings.state)
    timeline = Timeline(clock, store)
    transport: Transport = (
        StreamTransport(settings.callback_timeout_seconds)
        if http_client is None
        else HttpxTransport(http_client, settings.callback_timeout_seconds)
    )

    names = served_apis(settings)
    # Connexion validates each document once, in add_api below; our compile only needs $refs resolved.
    raw_specs = {name: load_spec(name) for name in names}
    apis = {name: compile_api(name, inline_refs(raw, raw), raw) for name, raw in raw_specs.items()}
    outbox = build_outbox(timeline, transport, settings, _payload_check(apis))
    handlers = {
        (handler_set.api, operation_id): fn
        for handler_set in all_handler_sets()
        if handler_set.api in apis
        for operation_id, fn in handler_set.by_operation.items()
    }
    runtime = Runtime(
        settings=settings,
        clock=clock,
        store=store,
        timeline=timeline,
        outbox=outbox,
        apis=apis,
        handlers=handlers,
        journal=Journal(settings.journal_size),
        faults=Faults(settings.seed),
    )
    from mockserver.engines import build_engines

    runtime.engines.update(build_engines(runtime))
    runtime.events.watch_store(store)
    for engine in runtime.engines.values():
        engine.reset()

    app = MockApp(
        __name__,
        # MockMiddleware answers every API operation itself, errors included, so Starlette's error
        # middleware only needs to guard what lies behind it (Swagger UI, the spec documents).
        middlewares=[
            functools.partial(MockMiddleware, runtime=runtime),
            ServerErrorMiddleware,
            ExceptionMiddleware,
            SwaggerUIMiddleware,
            # Only what nothing above served reaches it: it answers `/` and /dashboard/... (and the
            # favicon), and hands every other path on.
            functools.partial(Dashboard, runtime=runtime),
        ],
    )
    for name, raw in raw_specs.items():
        app.add_api(
            raw,
            base_path=apis[name].prefix,
            resolver=Resolver(lambda _operation_id: _unreachable),
            mockline_api=name,
        )
    app.runtime = runtime
    return app


def _payload_check(apis: dict[str, Any]) -> Callable[[Document], list[str]]:
    """Every callback and webhook payload is validated against its spec before it leaves."""
    schemas: dict[str, CompiledSchema] = {}
    for api in apis.values():
        for operation in api.operations.values():
            for spec in operation.callback_specs:
                if spec.schema is not None:
                    schemas[spec.operation_id] = spec.schema
        for event in (api.document.get("x-webhooks") or {}).values():
            for op in event.values():
                content = (op.get("requestBody") or {}).get("content", {})
                for media in content.values():
                    if "schema" in media and "operationId" in op:
                        schemas[op["operationId"]] = CompiledSchema(media["schema"])

    def check(record: Document) -> list[str]:
        compiled = schemas.get(str(record.get("operationId")))
        if compiled is None:
            return []
        return [str(p) for p in compiled.problems(record["payload"], "payload")]

    return check
