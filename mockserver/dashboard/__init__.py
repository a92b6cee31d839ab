"""The dashboard: server-rendered pages at ``/`` and under ``/dashboard/``, live over Server-Sent Events.

``Dashboard`` is an ASGI middleware put first in the chain by ``create_app``; it answers ``/`` and
``/dashboard/...`` and hands every other path on untouched (one string test). Pages are Jinja2
templates over what ``pages`` reads from the runtime; actions are the page's JavaScript calling the
control plane (``/__admin``), so the dashboard can do nothing the control plane cannot. When the
control plane takes a token (``admin_token`` in the settings), so do the pages: as a Bearer header, or
a cookie set by opening any page once with ``?token=...``.
"""

from __future__ import annotations

import hmac
import mimetypes
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode

import jinja2
from starlette.types import ASGIApp, Receive, Scope, Send

from mockserver.core.store import StoreUnavailable
from mockserver.dashboard import pages
from mockserver.dashboard.timeline import picture
from mockserver.sse import EventStream

if TYPE_CHECKING:
    from mockserver.runtime import Runtime

PREFIX = "/dashboard"
COOKIE = "mockline_admin"
HERE = Path(__file__).parent
STATIC = HERE / "static"
NAV = [
    ("/", "Overview"),
    (f"{PREFIX}/calls", "Calls"),
    (f"{PREFIX}/deliveries", "Deliveries"),
    (f"{PREFIX}/agents", "ringme agents"),
    (f"{PREFIX}/diyalog", "Diyalog"),
    (f"{PREFIX}/crm", "Ringotel CRM"),
    (f"{PREFIX}/requests", "Requests"),
    (f"{PREFIX}/faults", "Faults"),
]


class Dashboard:
    def __init__(self, app: ASGIApp, *, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,
            trim_blocks=True,
            lstrip_blocks=True,
            undefined=jinja2.ChainableUndefined,
        )
        self.env.globals["query_with"] = _query_with
        self.env.globals["query_without"] = _query_without
        self._static: dict[str, tuple[bytes, str]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if path == "/" or path == PREFIX or path.startswith(PREFIX + "/"):
                await self._serve(path, scope, receive, send)
                return
            if path == "/favicon.ico":
                await self._file("favicon.svg", send)
                return
        await self.app(scope, receive, send)

    # ---- plumbing ---------------------------------------------------------------------------------

    async def _serve(self, path: str, scope: Scope, receive: Receive, send: Send) -> None:
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        query = {k: v[-1] for k, v in parse_qs(scope.get("query_string", b"").decode("latin-1")).items()}
        if path.startswith(PREFIX + "/static/"):
            await self._file(path[len(PREFIX + "/static/") :], send)
            return
        token = getattr(self.runtime.settings, "admin_token", None)
        if token:
            if "token" in query and _same(query["token"], token):
                rest = {k: v for k, v in query.items() if k != "token"}
                location = path + (f"?{urlencode(rest)}" if rest else "")
                cookie = f"{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict"
                await _respond(send, 303, b"", "text/plain", [("location", location), ("set-cookie", cookie)])
                return
            if not _allowed(headers, token):
                body = self._render("denied.html", {"nav": [], "path": path})
                await _respond(send, 401, body, "text/html; charset=utf-8")
                return
        if scope["method"] not in ("GET", "HEAD"):
            await _respond(send, 405, b"the dashboard only reads; actions go to /__admin", "text/plain")
            return
        if path == PREFIX + "/events":
            kinds = [k for k in query.get("types", "").split(",") if k] or None
            await EventStream(self.runtime.events, kinds).respond(200, send, receive)
            return
        host = headers.get("host", "127.0.0.1")
        base_url = f"{scope.get('scheme', 'http')}://{host}"

        def look() -> tuple[Any, dict[str, Any]]:
            found = self._page(path, query, base_url)
            return found, self._context(path, {"what": path} if found is None else found[1], token)

        try:
            run_unit = getattr(self.runtime.store, "run_unit_async", None)  # a shared (Redis) state: no lock
            if run_unit is not None:
                found, context = await run_unit(look)  # one look at the latest state for the page
            else:
                with self.runtime.store.transaction():
                    found, context = look()
        except StoreUnavailable as exc:
            await _respond(send, 503, f"the mock's state is unavailable: {exc}".encode(), "text/plain")
            return
        if found is None:
            body = self._render("missing.html", context)
            await _respond(send, 404, body, "text/html; charset=utf-8")
            return
        template = found[0]
        context["partial"] = headers.get("x-dashboard-partial") == "1"
        context["query"] = query
        await _respond(send, 200, self._render(template, context), "text/html; charset=utf-8")

    def _context(self, path: str, data: Mapping[str, Any], token: str | None) -> dict[str, Any]:
        return {
            "nav": NAV,
            "path": path,
            "clock": pages.clock(self.runtime),
            "token": token or "",
            "seed": self.runtime.settings.seed,
            **data,
        }

    def _render(self, template: str, context: Mapping[str, Any]) -> bytes:
        return self.env.get_template(template).render(context).encode("utf-8")

    async def _file(self, name: str, send: Send) -> None:
        if name not in self._static:
            target = (STATIC / name).resolve()
            if STATIC.resolve() not in target.parents or not target.is_file():
                await _respond(send, 404, b"no such file", "text/plain")
                return
            kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
            self._static[name] = (target.read_bytes(), kind)
        content, kind = self._static[name]
        await _respond(send, 200, content, kind, [("cache-control", "no-cache")])

    # ---- pages ------------------------------------------------------------------------------------

    def _page(self, path: str, query: Mapping[str, str], base_url: str) -> tuple[str, dict[str, Any]] | None:
        rt = self.runtime
        before = _int(query.get("before"))
        if path in ("/", PREFIX, PREFIX + "/"):
            return "overview.html", {"title": "Overview", "live": "clock", **pages.overview(rt, base_url)}
        section, _, rest = path[len(PREFIX) + 1 :].partition("/")
        if section == "calls" and not rest:
            page = pages.calls(rt, query, before)
            states = _call_states(rt)
            return "calls.html", {"title": "Calls", "live": "call", "page": page, "states": states}
        if section == "calls" and rest:
            call_id = _int(rest)
            found = pages.call(rt, call_id) if call_id is not None else None
            if found is None or call_id is None:
                return None
            deliveries = pages.deliveries_of_call(rt, call_id)
            return "call.html", {
                "title": f"Call {call_id}",
                "live": "call,delivery",
                "call": found,
                "deliveries": [pages.delivery_row(d) for d in deliveries],
                "picture": picture(found, deliveries, rt.clock.now()),
            }
        if section == "deliveries" and not rest:
            page = pages.deliveries(rt, query, before)
            filters = {k: query[k] for k in pages.DELIVERY_FILTERS if query.get(k) and k != "state"}
            return "deliveries.html", {
                "title": "Deliveries",
                "live": "delivery",
                "page": page,
                "apis": [a for a in rt.apis if a != "mockline-admin"],
                "retry_query": urlencode(filters),
            }
        if section == "deliveries" and rest:
            delivery_id = _int(rest)
            record = pages.delivery(rt, delivery_id) if delivery_id is not None else None
            if record is None:
                return None
            return "delivery.html", {"title": f"Delivery {delivery_id}", "live": "delivery", "d": record}
        if section == "agents":
            return "agents.html", {
                "title": "ringme agents",
                "live": "agent,delivery",
                "clients": pages.ringme(rt),
            }
        if section == "diyalog":
            return "diyalog.html", {"title": "Diyalog", "live": "request", "queue": pages.diyalog(rt)}
        if section == "crm":
            return "crm.html", {"title": "Ringotel CRM", "live": "request", "crm": pages.crm(rt)}
        if section == "requests":
            page = pages.requests(rt, query, before, base_url)
            return "requests.html", {
                "title": "Requests",
                "live": "request",
                "page": page,
                "apis": list(rt.apis),
            }
        if section == "faults":
            return "faults.html", {"title": "Faults", "live": "", **pages.faults(rt)}
        return None


def _query_with(query: Mapping[str, str], key: str, value: Any) -> str:
    return urlencode({**{k: v for k, v in query.items() if v}, key: value})


def _query_without(query: Mapping[str, str], key: str) -> str:
    return urlencode({k: v for k, v in query.items() if v and k != key})


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _same(sent: str, token: str) -> bool:
    return hmac.compare_digest(sent.encode(), token.encode())


def _allowed(headers: Mapping[str, str], token: str) -> bool:
    scheme, _, sent = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and _same(sent.strip(), token):
        return True
    for part in headers.get("cookie", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE and _same(value, token):
            return True
    return False


async def _respond(
    send: Send, status: int, body: bytes, media_type: str, extra: list[tuple[str, str]] | None = None
) -> None:
    headers = [
        (b"content-type", media_type.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"x-content-type-options", b"nosniff"),
    ]
    headers += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in extra or []]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _call_states(rt: Runtime) -> list[str]:
    """The states a call can be in, as the control plane's listCalls documents them (its state filter)."""
    admin = rt.apis.get("mockline-admin")
    if admin is None:
        return []
    for parameter in admin.contract.operation("listCalls").parameters:
        if parameter.name == "state":
            return [str(state) for state in parameter.schema.get("enum", [])]
    return []
