"""``mockline``: argv -> settings -> app -> server, plus the contract verbs from ``contracts.commands``."""

from __future__ import annotations

import argparse
import gc
import importlib
import ipaddress
import json
import logging
import pkgutil
import secrets
import sys
from collections.abc import Sequence
from typing import Any

import contracts.commands
from contracts.loaders import ADMIN_SPEC, VENDOR_SPECS
from mockserver.settings import (
    CHECKED_FLAGS,
    DEFAULT_HOST,
    DEFAULT_PORT,
    ConfigError,
    Settings,
    flag_problems,
    load_config,
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    code: int = args.run(args)
    return code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mockline",
        description="OpenAPI contracts and a stateful mock server for call-center vendor APIs.",
    )
    parser.add_argument(
        "--version", action=_Version, help="print the versions of mockline, its key libraries and Python"
    )
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    _register_serve(subparsers)
    for info in sorted(pkgutil.iter_modules(contracts.commands.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"contracts.commands.{info.name}")
        module.register(subparsers)
    return parser


class _Version(argparse.Action):
    """``--version``: gathered only when asked for, printed on one line as it is (no re-wrapping)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        from contracts.versions import describe

        print(describe())
        parser.exit()


def _register_serve(subparsers: Any) -> None:
    serve = subparsers.add_parser("serve", help="run the mock server with every vendor API")
    serve.add_argument("--host", help=f"address to listen on (default {DEFAULT_HOST})")
    serve.add_argument("--port", type=int, help=f"port to listen on (default {DEFAULT_PORT})")
    serve.add_argument("--seed", type=int, help="seed for fake data and simulated outcomes (default 1)")
    serve.add_argument(
        "--api", action="append", choices=VENDOR_SPECS, dest="apis", help="serve only this API (repeatable)"
    )
    serve.add_argument("--clock", choices=["realtime", "manual"], help="realtime (default) or manual")
    serve.add_argument("--time-scale", type=float, help="simulated seconds per real second (default 1)")
    serve.add_argument(
        "--state",
        help="memory (default), sqlite:PATH to keep state across restarts, or redis://HOST:PORT/DB to share"
        " it between processes (docs/scale-out.md)",
    )
    serve.add_argument(
        "--namespace",
        help="with redis:// state: processes with the same namespace are one mock (default mockline)",
    )
    serve.add_argument(
        "--workers", type=int, help="worker processes serving the port (default 1; more need redis:// state)"
    )
    serve.add_argument("--config", help="YAML or JSON file: credentials, agents, chaos and any option above")
    serve.add_argument("--rate-limit", choices=["on", "off"], help="enforce vendor rate limits (default on)")
    serve.add_argument("--log-format", choices=["text", "json"], help="log lines as text (default) or JSON")
    serve.add_argument(
        "--callback-allow",
        action="append",
        metavar="HOST|CIDR",
        help="send callbacks and webhooks only to this host or network (repeatable; default: any host "
        "but the mock itself)",
    )
    serve.add_argument(
        "--admin-token",
        help="token /__admin requires as 'Authorization: Bearer TOKEN' (off loopback one is always required:"
        " generated and printed at start when none is given)",
    )
    serve.add_argument(
        "--spec",
        action="append",
        dest="specs",
        metavar="PATH[=PREFIX]",
        help="serve any OpenAPI 3.0 document, at PREFIX (default: the root) (repeatable; without --api, "
        "only these are served; see docs/serving-any-spec.md)",
    )
    serve.add_argument(
        "--quiet", action="store_const", const=True, help="no access log (one line per request otherwise)"
    )
    serve.set_defaults(run=run_serve)


def settings_from(args: argparse.Namespace) -> Settings:
    problems = flag_problems({name: getattr(args, name, None) for name in CHECKED_FLAGS})
    if problems:
        raise ConfigError("; ".join(problems))
    base = load_config(args.config) if getattr(args, "config", None) else Settings()
    rate_limit = None if args.rate_limit is None else args.rate_limit == "on"
    return base.merged(
        host=args.host,
        port=args.port,
        seed=args.seed,
        apis=tuple(args.apis) if args.apis else None,
        clock=args.clock,
        time_scale=args.time_scale,
        state=args.state,
        namespace=getattr(args, "namespace", None),
        workers=getattr(args, "workers", None),
        rate_limit=rate_limit,
        log_format=args.log_format,
        callback_allow=tuple(args.callback_allow) if getattr(args, "callback_allow", None) else None,
        admin_token=getattr(args, "admin_token", None),
        specs=tuple(args.specs) if getattr(args, "specs", None) else None,
        quiet=getattr(args, "quiet", None),
    )


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve to any interface


def secured(settings: Settings) -> tuple[Settings, list[str]]:
    """Off loopback the control plane needs a token: the one given, or a new one. Returns the settings
    and the lines to print at start (a warning, and a generated token)."""
    if is_loopback(settings.host):
        return settings, []
    lines = [
        f"mockline: WARNING: listening on {settings.host}, not a loopback address: anyone who can reach"
        " this port can use the mock, and the mock sends callbacks to any URL its clients name.",
    ]
    if not settings.admin_token:
        settings = settings.merged(admin_token=secrets.token_urlsafe(24))
        lines.append(f"mockline: admin token (generated): {settings.admin_token}")
    lines.append("mockline: /__admin requires 'Authorization: Bearer <admin token>'")
    return settings, lines


def run_serve(args: argparse.Namespace) -> int:
    import warnings

    warnings.filterwarnings("ignore", message=".*starlette.testclient.*")
    import uvicorn

    from mockserver.app import create_app

    try:
        settings, notes = secured(settings_from(args))
        if settings.workers != 1:
            from mockserver.workers import check_workers, supervise

            check_workers(settings)
            for line in notes:
                print(line, file=sys.stderr, flush=True)
            return supervise(settings, serve_worker)
        app = create_app(settings)
    except (ConfigError, ValueError) as exc:
        print(f"mockline: {exc}", file=sys.stderr)
        return 2
    _configure_logging(settings.log_format)
    if not settings.quiet:
        from mockserver.accesslog import AccessLog

        app.runtime.access_log = AccessLog(settings.log_format)
    tune_gc()
    print(banner(app.runtime.settings, app.runtime.apis, app.runtime), flush=True)
    for line in notes:
        print(line, file=sys.stderr, flush=True)
    from mockserver.listener import server_config

    uvicorn.Server(server_config(app, settings, loop="uvloop")).run()
    return 0


def serve_worker(settings: Settings, sock: Any, index: int) -> None:
    """One process of ``serve --workers N``: the mock's app on the socket the parent bound (the first
    worker prints the banner). See ``mockserver/workers.py``."""
    import warnings

    warnings.filterwarnings("ignore", message=".*starlette.testclient.*")  # as run_serve does
    import uvicorn

    from mockserver.app import create_app
    from mockserver.listener import server_config

    app = create_app(settings)
    _configure_logging(settings.log_format)
    if not settings.quiet:
        from mockserver.accesslog import AccessLog

        app.runtime.access_log = AccessLog(settings.log_format)
    tune_gc()
    if index == 0:
        print(banner(app.runtime.settings, app.runtime.apis, app.runtime), flush=True)
        print(f"  {settings.workers} workers, namespace {settings.namespace}", flush=True)
    uvicorn.Server(server_config(app, settings, loop="uvloop")).run(sockets=[sock])


def tune_gc() -> None:
    """The mock's heap is mostly long-lived (specs, compiled schemas, call records) and it makes almost
    no reference cycles, so default GC thresholds rescan it for nothing: under a push load, collections
    took 8% of the time with (20000, 20, 20) before the journal stopped holding lists, 2.4% after, and
    1.3% with these thresholds, with pauses of 13 ms instead of 90 ms (see bench/)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 50)


def banner(settings: Settings, apis: Any, runtime: Any = None) -> str:
    base = f"http://{settings.host}:{settings.port}"
    lines = [
        f"mockline serving on {base} (seed {settings.seed}, {settings.clock} clock, state {settings.state})"
    ]
    for api in apis.values():
        lines.append(
            f"  {api.name:<15} {base}{api.prefix:<10} docs {base}{api.prefix}/ui/   auth: {_auth_hint(settings, api)}"
        )
    if runtime is not None:
        lines += _seeded(runtime)
    return "\n".join(lines)


def _seeded(runtime: Any) -> list[str]:
    """The ids a first request needs and that only the seed (or the config file) decides."""
    from mockserver.core.dialer import Dialer
    from mockserver.core.pbx import CLIENTS, PbxEngine

    lines = []
    dialer = runtime.engines.get("ryng")
    if isinstance(dialer, Dialer):
        usernames = [a["username"] for a in dialer.roster.agents()]
        lines.append(f"  ryng agents: {', '.join(usernames) or 'none'}")
    pbx = runtime.engines.get("ringme")
    if isinstance(pbx, PbxEngine):
        for client in sorted(pbx.store.values(CLIENTS), key=lambda c: str(c["client_id"])):
            client_id = str(client["client_id"])
            agents = pbx.agents(client_id)
            local = " ".join(str(a["agent_id"]) for a in agents if a["agent_type"] == "local")
            remote = " ".join(str(a["agent_id"]) for a in agents if a["agent_type"] == "remote")
            lines.append(
                f"  ringme client {client_id}: local agents {local or 'none'}; remote agents {remote or 'none'}"
            )
    return lines


def _auth_hint(settings: Settings, api: Any) -> str:
    if api.name == ADMIN_SPEC:  # the control plane's token is the admin token, when there is one
        return "Bearer <the admin token>" if settings.admin_token else "none (loopback)"
    creds = settings.credentials_for(api.name)
    hints: list[str] = []
    for name, scheme in api.security_schemes.items():
        kind = scheme.get("type")
        if creds.accept_any:  # a spec served with --spec and no credentials configured
            where = f"{scheme.get('name')} {scheme.get('in', 'header')}" if kind == "apiKey" else name
            hints.append(f"any {where}")
        elif kind == "apiKey":
            hints.append(f"{scheme.get('name')}: {creds.api_keys[0]}")
        elif kind == "http" and scheme.get("scheme") == "basic":
            hints.append(f"Basic {creds.basic[0][0]}:{creds.basic[0][1]}")
        elif kind == "http":
            hints.append(f"Bearer {creds.bearer[0]}")
        elif kind == "oauth2":
            hints.append(
                f"OAuth2 client {creds.clients[0][0]}/{creds.clients[0][1]} at {api.prefix}/oauth/token"
            )
        else:
            hints.append(name)
    return ", ".join(dict.fromkeys(hints)) or "none"


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps({"level": record.levelname, "logger": record.name, "message": record.getMessage()})


def _configure_logging(log_format: str) -> None:
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(_JsonFormatter())
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    logging.getLogger("connexion").setLevel(logging.WARNING)


if __name__ == "__main__":
    sys.exit(main())
