"""The dashboard: server-rendered pages at ``/`` and under ``/dashboard/``, live over Server-Sent Events.

``Dashboard`` is an ASGI middleware put first in the chain by ``create_app``; it answers ``/`` and
``/dashboard/...`` and hands every other path on untouched (one string test). Pages are Jinja2
templates over what ``pages`` reads from the runtime; actions are the page's JavaScript calling the
control plane (``/__admin``), so the dashboard can do nothing the control plane cannot. When the
control plane takes a token (``admin_token`` in the settings), so do the pages: as a Bearer header, or
a cookie set by opening any page once with ``?token=...`` (HttpOnly: no script reads it, and no page
holds the token); the page's script calls the control plane with that cookie (``origins``).

What the pages show comes from clients, receivers and spec documents, none of them trusted: templates
escape every value (autoescape), a value's control and bidirectional-override characters are shown as
``\\uXXXX`` rather than obeyed (``_shown``), and every answer carries a Content-Security-Policy that runs
only the dashboard's own script. A list page answers 400, naming the parameter, to a value it cannot
use (an id that is not one, a state no record can be in, a parameter it does not take).
"""

from __future__ import annotations

import hmac
import mimetypes
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, urlencode

import jinja2
from starlette.types import ASGIApp, Receive, Scope, Send

from mockserver import origins
from mockserver.core.store import StoreUnavailable
from mockserver.dashboard import pages
from mockserver.dashboard.curl import HIDDEN
from mockserver.dashboard.timeline import picture
from mockserver.sse import EventStream

if TYPE_CHECKING:
    from mockserver.runtime import Runtime

PREFIX = "/dashboard"
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
# Only the dashboard's own script and stylesheet run, its script talks only to this origin, and no other
# site may frame the pages (their buttons reset the mock and resend callbacks).
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
ID = re.compile(r"[0-9]{1,15}")  # the control plane's cursor pattern


def owns(path: str) -> bool:
    """Whether ``path`` is the dashboard's: its pages, its home page ``/`` and the favicon."""
    return path in ("/", "/favicon.ico", PREFIX) or path.startswith(PREFIX + "/")


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
            finalize=_shown,
        )
        self.env.globals["query_with"] = _query_with
        self.env.globals["query_without"] = _query_without
        self._static: dict[str, tuple[bytes, str]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if path == "/favicon.ico":
                await self._file("favicon.svg", send)
                return
            if owns(path):
                await self._serve(path, scope, receive, send)
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
        refused = origins.refusal(scope["method"], headers, token)
        if refused is not None:
            await _respond(send, origins.STATUS, refused.encode(), "text/plain; charset=utf-8")
            return
        if token:
            if "token" in query and _same(query["token"], token):
                rest = {k: v for k, v in query.items() if k != "token"}
                location = quote(path) + (f"?{urlencode(rest)}" if rest else "")
                cookie = f"{origins.cookie_name()}={token}; Path=/; HttpOnly; SameSite=Strict"
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
        bad = self._check_query(path, query)
        if bad is not None:
            name, why = bad
            context = self._context(
                path, {"title": "Not a query this page takes", "name": name, "why": why}, token
            )
            await _respond(send, 400, self._render("refused.html", context), "text/html; charset=utf-8")
            return

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

    def _check_query(self, path: str, query: Mapping[str, str]) -> tuple[str, str] | None:
        """A list page's parameter it cannot use and why (answered 400), or None. An empty value is no
        value (a filter form sends its empty fields), ``token`` is the admin token's, and the other pages
        take none."""
        rt = self.runtime
        page = path.rstrip("/")
        rules: dict[str, Callable[[str], str | None]]
        if page == f"{PREFIX}/calls":
            rules = {
                "state": _one_of(_call_states(rt)),
                "number": _any,
                "agent": _any,
                "style": _one_of(_filter_values(rt, "listCalls", "style")),
            }
        elif page == f"{PREFIX}/deliveries":
            apis = [a for a in rt.apis if a != "mockline-admin"]
            states = _filter_values(rt, "listDeliveries", "state")
            rules = {"api": _one_of(apis), "state": _one_of(states), "callback": _any, "event": _any}
            rules["callID"] = _whole(0)
        elif page == f"{PREFIX}/requests":
            rules = {"api": _one_of(list(rt.apis)), "status": _status, "errors": _any}
        else:
            return None
        rules["before"] = _whole(1)
        for name, value in query.items():
            if not value or name == "token":
                continue
            rule = rules.get(name)
            if rule is None:
                return name, f"is not something this page takes; it takes {', '.join(rules)}"
            why = rule(value)
            if why is not None:
                return name, why
        return None

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
        if rest and section not in ("calls", "deliveries"):
            return None  # the other pages have no pages under them
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


def _shown(value: Any) -> Any:
    """A value as a page writes it: controls and bidirectional overrides spelt ``\\uXXXX``, so that text
    from a client reads as it is (a right-to-left override would turn the rest of its line round).
    Markup (a macro's or a block's output) was made of values already shown."""
    if type(value) is str and HIDDEN.search(value):
        return HIDDEN.sub(lambda m: f"\\u{ord(m.group()):04x}", value)
    return value


def _brief(value: str, most: int = 60) -> str:
    return repr(value if len(value) <= most else value[:most] + "…")


def _any(value: str) -> str | None:
    return None


def _one_of(values: Sequence[str]) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        if not values or value in values:  # no list to hold it to (the control plane is not served)
            return None
        return f"must be one of {', '.join(values)}, not {_brief(value)}"

    return check


def _whole(low: int) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        if ID.fullmatch(value) and int(value) >= low:
            return None
        return f"must be a whole number from {low} up (an id), not {_brief(value)}"

    return check


def _status(value: str) -> str | None:
    if re.fullmatch(r"[1-5][0-9]{2}", value):
        return None
    return f"must be an HTTP status, 100 to 599, not {_brief(value)}"


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
    return origins.cookie_holds(headers, token)


async def _respond(
    send: Send, status: int, body: bytes, media_type: str, extra: list[tuple[str, str]] | None = None
) -> None:
    headers = [
        (b"content-type", media_type.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"content-security-policy", POLICY.encode()),
    ]
    headers += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in extra or []]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _call_states(rt: Runtime) -> list[str]:
    """The states a call can be in, as the control plane's listCalls documents them (its state filter)."""
    return _filter_values(rt, "listCalls", "state")


def _filter_values(rt: Runtime, operation_id: str, name: str) -> list[str]:
    """The values a control-plane list's query filter takes (its ``enum``); none when the control plane is
    not served or documents no list of them."""
    admin = rt.apis.get("mockline-admin")
    if admin is None:
        return []
    parameter = admin.contract.operation(operation_id).parameter(name, "query")
    return [str(value) for value in (parameter.schema.get("enum") or [])] if parameter is not None else []
