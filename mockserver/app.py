"""``create_app``: the one place where the mock's parts are put together."""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import Any

import connexion
import httpx
from connexion.middleware.main import ExceptionMiddleware, ServerErrorMiddleware
from connexion.resolver import Resolver
from starlette.types import ASGIApp

from contracts import model
from contracts.model import ADMIN_SPEC, VENDOR_SPECS
from mockserver.anyspec import load_foreign, register_callbacks, with_open_credentials
from mockserver.core.clock import Clock, ManualClock, ScaledClock
from mockserver.core.outbox import Transport
from mockserver.core.store import Document, StateStore, open_store
from mockserver.core.timeline import Timeline
from mockserver.dashboard import Dashboard
from mockserver.delivery import HttpxTransport, StreamTransport
from mockserver.docs_ui import SwaggerUI31Middleware
from mockserver.engines import build_engines
from mockserver.faults import Faults
from mockserver.handlers import all_handler_sets
from mockserver.journal import Journal
from mockserver.middleware import Fallback, MockMiddleware, not_found
from mockserver.operations import compile_api
from mockserver.registry import Registry
from mockserver.runtime import Runtime, build_outbox
from mockserver.schemas import CompiledSchema
from mockserver.settings import Settings
from mockserver.targets import TargetPolicy


class MockApp(connexion.AsyncApp):
    runtime: Runtime
    targets: TargetPolicy

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        # the local end of each connection is an address the mock listens on: no callback may go there
        self.targets.learn(scope.get("server"))
        await super().__call__(scope, receive, send)


def _unreachable(*_args: Any, **_kwargs: Any) -> None:
    raise RuntimeError("operations are answered by MockMiddleware; Connexion's own handlers never run")


def served_apis(settings: Settings) -> list[str]:
    # With --spec and no --api, only the given documents are served (as Prism does), beside the control plane.
    chosen = list(settings.apis) or ([] if settings.specs else list(VENDOR_SPECS))
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
    fallback: ASGIApp | None = None,
) -> MockApp:
    """``fallback`` answers every path outside the APIs, the control plane and the spec documents
    (default: ``middleware.not_found``, a 404 in problem+json)."""
    settings = settings or Settings()
    clock = clock or (ManualClock() if settings.clock == "manual" else ScaledClock(scale=settings.time_scale))
    store = store or _open_state(settings)
    # a claim on a callback attempt outlives the attempt's timeout (shared state: docs/scale-out.md)
    timeline = Timeline(clock, store, lease_seconds=settings.callback_timeout_seconds + 10.0)
    targets = TargetPolicy(settings.callback_allow, [(settings.host, settings.port)])
    transport: Transport = (
        StreamTransport(settings.callback_timeout_seconds, policy=targets)
        if http_client is None
        else HttpxTransport(http_client, settings.callback_timeout_seconds, policy=targets)
    )

    names = served_apis(settings)
    # Connexion validates each document once, in add_api below; our compile reads the contract model.
    contracts = {name: model.contract(name) for name in names}
    raw_specs = {name: copy.deepcopy(dict(spec.raw)) for name, spec in contracts.items()}
    apis = {name: compile_api(spec) for name, spec in contracts.items()}
    foreign = load_foreign(settings.specs, {api.prefix: name for name, api in apis.items()})
    for spec in foreign:
        raw_specs[spec.name] = spec.document
        read = model.from_document(spec.name, spec.document, base=spec.path.resolve().as_uri())
        apis[spec.name] = compile_api(read, prefix=spec.prefix)
    settings = with_open_credentials(settings, foreign)
    outbox = build_outbox(timeline, transport, settings, _payload_check(apis))
    registry = Registry.of(all_handler_sets(), apis)
    for spec in foreign:
        register_callbacks(registry, apis[spec.name])
    runtime = Runtime(
        settings=settings,
        clock=clock,
        store=store,
        timeline=timeline,
        outbox=outbox,
        apis=apis,
        journal=Journal(settings.journal_size),
        faults=Faults(settings.seed, list(settings.config.get("faults") or [])),
    )
    runtime.engines.update(build_engines(runtime))
    runtime.events.watch_store(store)
    with store.transaction():  # seeded default state is stored whole or not at all
        for engine in runtime.engines.values():
            engine.reset()  # each seeds only a state not seeded yet: once per Redis namespace

    def reindex(_key: str, _value: Document | None) -> None:  # another process cleared the shared state
        for engine in runtime.engines.values():
            engine.reset()

    store.on_remote("*", reindex)

    app = MockApp(
        __name__,
        # MockMiddleware answers every API operation itself, errors included, and SwaggerUI31Middleware
        # the spec documents and Swagger UI, so Starlette's error middleware only needs to guard what lies
        # behind it (the dashboard). Connexion's own SwaggerUIMiddleware is not in the stack: its pages
        # would never be reached.
        middlewares=[
            functools.partial(MockMiddleware, runtime=runtime, registry=registry),
            SwaggerUI31Middleware,
            ServerErrorMiddleware,
            ExceptionMiddleware,
            # Only what nothing above served reaches it: it answers `/` and /dashboard/... (and the
            # favicon), and hands every other path on, to the JSON 404.
            functools.partial(Dashboard, runtime=runtime),
            functools.partial(Fallback, answer=fallback or not_found(apis)),
        ],
    )
    sources = {spec.name: str(spec.path) for spec in foreign}
    for name, raw in raw_specs.items():
        app.add_api(
            raw,
            base_path=apis[name].prefix,
            resolver=Resolver(lambda _operation_id: _unreachable),
            mockline_api=name,
            mockline_source=sources.get(name, name),
        )
    app.runtime = runtime
    app.targets = targets
    return app


def _open_state(settings: Settings) -> StateStore:
    """``--state``: memory and SQLite are the engine's own; Redis is opened here, above the engine."""
    from mockserver.redis_state import is_redis, open_redis

    if is_redis(settings.state):
        return open_redis(settings.state, settings.namespace)
    return open_store(settings.state)


def _payload_check(apis: dict[str, Any]) -> Callable[[Document], list[str]]:
    """Every callback and webhook payload is validated against its spec before it leaves."""
    # by API and operationId: a spec served with --spec may reuse one of our callbacks' operationIds
    schemas: dict[tuple[str, str], CompiledSchema] = {}
    for api in apis.values():
        for operation in api.operations.values():
            for spec in operation.callback_specs:
                if spec.schema is not None:
                    schemas[(api.name, spec.operation_id)] = spec.schema
        for webhook in api.webhooks:
            if webhook.payload_schema is not None:
                schemas[(api.name, webhook.operation_id)] = CompiledSchema(
                    webhook.payload_schema, document=api.document
                )

    def check(record: Document) -> list[str]:
        compiled = schemas.get((str(record.get("api")), str(record.get("operationId"))))
        if compiled is None:
            return []
        return [str(p) for p in compiled.problems(record["payload"], "payload")]

    return check
