"""What each dashboard page shows, read from the running mock; no HTTP and no HTML here.

Lists come newest first, a page at a time, walking ids down from the newest: a page costs what it shows
(plus what a filter skips), never the size of the whole collection, so it stays fast with 100,000 calls
and 100,000 deliveries held. Records are read defensively: a field another part of the mock has not
written (yet) is shown as missing, never an error.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mockserver.core.clock import iso
from mockserver.core.dialer import Dialer
from mockserver.core.dialer_payloads import public_call
from mockserver.core.outbox import COLLECTION as DELIVERIES
from mockserver.core.outbox import RetryRule

if TYPE_CHECKING:
    from mockserver.runtime import Runtime

PAGE_SIZE = 50
BODY_SHOWN = 16 * 1024  # bytes of a request's body the requests page shows
CURL_BODY_MOST = 64 * 1024  # a larger body is not written into a curl command on the page
MAX_SCAN = 20_000  # ids one page may look at; a rare filter goes on from there on the next page
CALLS = "ryng:calls"
CALL_SEQUENCE = "ryng:call"
DELIVERY_SEQUENCE = "delivery"


@dataclass
class Page:
    items: list[dict[str, Any]]
    total: int
    next_before: int | None  # the cursor of the next (older) page; None on the last one


def last_id(store: Any, sequence: str) -> int:
    """The newest id a sequence gave, without taking one."""
    read = getattr(store, "last_id", None)
    if read is not None:
        return int(read(sequence))
    sequences = getattr(store, "_sequences", None)
    if sequences is None:
        sequences = getattr(getattr(store, "_cache", None), "_sequences", {})
    return int(sequences.get(sequence, 0))


def newest_first(
    get: Callable[[int], Mapping[str, Any] | None],
    newest: int,
    before: int | None,
    keep: Callable[[Mapping[str, Any]], bool],
    limit: int = PAGE_SIZE,
    beyond: Iterable[int] = (),
) -> tuple[list[Mapping[str, Any]], int | None]:
    """Records with ids below ``before`` (all, without it), newest first: at most ``limit``, and the
    cursor of the next page when there may be more: the id of the last one shown, or, when a filter
    let few through, the id where this page stopped looking (so no page costs more than MAX_SCAN)."""
    start = newest if before is None else min(newest, before - 1)
    found: list[tuple[int, Mapping[str, Any]]] = []
    for i in sorted(beyond, reverse=True):  # ids above the sequence's reach come first (newest first)
        if i > newest and (before is None or i < before):
            record = get(i)
            if record is not None and keep(record):
                found.append((i, record))
    n = start
    floor = max(0, start - MAX_SCAN)
    while n > floor and len(found) <= limit:
        record = get(n)
        if record is not None and keep(record):
            found.append((n, record))
        n -= 1
    if len(found) > limit:
        found.pop()
        return [r for _, r in found], found[-1][0]
    return [r for _, r in found], (floor + 1 if floor > 0 else None)


def _equals(filters: Mapping[str, Any]) -> Callable[[Mapping[str, Any]], bool]:
    wanted = {k: str(v) for k, v in filters.items() if v not in (None, "")}
    return lambda record: all(str(record.get(k)) == v for k, v in wanted.items())


# ---- overview -------------------------------------------------------------------------------------


def credentials(rt: Runtime, api_name: str) -> list[str]:
    """Every credential the API accepts, from its spec's security schemes and the settings."""
    api = rt.apis[api_name]
    creds = rt.settings.credentials_for(api_name)
    out: list[str] = []
    for scheme in api.security_schemes.values():
        kind = scheme.get("type")
        if kind == "apiKey":
            where = scheme.get("in", "header")
            out += [f"{where} {scheme.get('name')}: {key}" for key in creds.api_keys]
        elif kind == "http" and str(scheme.get("scheme", "")).lower() == "basic":
            out += [f"Basic {user}:{secret}" for user, secret in creds.basic]
        elif kind == "http":
            out += [f"Bearer {token}" for token in creds.bearer]
        elif kind == "oauth2":
            for client, secret in creds.clients:
                out.append(f"OAuth2 client {client} / {secret} at POST {api.prefix}/oauth/token")
            flows = scheme.get("flows") or {}
            if "password" in flows:
                out += [f"OAuth2 user {user} / {secret} (password grant)" for user, secret in creds.users]
    if api_name == "mockline-admin":
        token = getattr(rt.settings, "admin_token", None)
        out.append("Authorization: Bearer <the --admin-token>" if token else "none")
    return list(dict.fromkeys(out)) or ["none"]


def overview(rt: Runtime, base_url: str) -> dict[str, Any]:
    apis = []
    for api in rt.apis.values():
        info = api.document.get("info") or {}
        apis.append(
            {
                "name": api.name,
                "title": info.get("title", api.name),
                "base_url": base_url + api.prefix,
                "docs": api.prefix + "/ui/",
                "operations": len(api.operations),
                "credentials": credentials(rt, api.name),
            }
        )
    return {
        "apis": apis,
        "counts": {
            "calls": rt.store.count(CALLS),
            "deliveries": rt.store.count(DELIVERIES),
            "requests": len(_journal(rt)),
            "faults": len(rt.faults.rules()),
        },
    }


def clock(rt: Runtime) -> dict[str, Any]:
    from mockserver.handlers.admin import clock_state

    return clock_state(rt)


# ---- calls ----------------------------------------------------------------------------------------

CALL_FILTERS = ("state", "number", "agent", "style")


def dialers(rt: Runtime) -> list[Dialer]:
    return [e for e in rt.engines.values() if isinstance(e, Dialer)]


def calls(rt: Runtime, filters: Mapping[str, Any], before: int | None) -> Page:
    wanted = {k: v for k, v in filters.items() if k in CALL_FILTERS and v}
    match = _equals(wanted)
    store = rt.store
    dialer = rt.engines.get("ryng")
    found, nxt = newest_first(
        lambda n: store.get(CALLS, str(n)),
        last_id(store, CALL_SEQUENCE),
        before,
        match,
        beyond=dialer.ids_beyond() if isinstance(dialer, Dialer) else (),
    )
    rows = []
    for raw in found:
        call = public_call(raw)
        attempts = call.get("attempts") or []
        last = attempts[-1] if attempts else {}
        rows.append({**call, "outcome": last.get("outcome"), "tries": len(attempts)})
    return Page(rows, store.count(CALLS), nxt)


def call(rt: Runtime, call_id: int) -> dict[str, Any] | None:
    raw = rt.store.get(CALLS, str(call_id))
    if raw is None:
        return None
    return public_call(raw)


BY_CALL = "deliveries:by-call"  # the outbox's index of delivery ids per call, where it keeps one


def deliveries_of_call(rt: Runtime, call_id: int) -> list[dict[str, Any]]:
    """Every delivery about one call, oldest first: from the outbox's per-call index when it keeps
    one, else in one pass over the deliveries (no sort of them all)."""
    indexed = rt.store.get(BY_CALL, str(call_id))
    if indexed is not None and isinstance(indexed.get("ids"), list):
        records = (rt.store.get(DELIVERIES, str(i)) for i in indexed["ids"])
        return [dict(r) for r in records if r is not None]
    # The outbox's own index of deliveries by call: no pass over them all (each would be opened).
    return list(rt.outbox.delivery_page(0, 10_000, callID=call_id).items)


# ---- deliveries -----------------------------------------------------------------------------------

DELIVERY_FILTERS = ("api", "state", "callback", "event", "callID")


def deliveries(rt: Runtime, filters: Mapping[str, Any], before: int | None) -> Page:
    wanted = {k: v for k, v in filters.items() if k in DELIVERY_FILTERS and v}
    store = rt.store
    found, nxt = newest_first(
        lambda n: store.get(DELIVERIES, str(n)), last_id(store, DELIVERY_SEQUENCE), before, _equals(wanted)
    )
    return Page([delivery_row(d) for d in found], store.count(DELIVERIES), nxt)


def delivery_row(record: Mapping[str, Any]) -> dict[str, Any]:
    attempts = [a for a in (record.get("attempts") or []) if isinstance(a, Mapping)]
    last = attempts[-1] if attempts else {}
    return {
        **record,
        "n_attempts": len(attempts),
        "last_status": last.get("status"),
        "last_error": last.get("error"),
    }


def attempt_view(attempt: Mapping[str, Any], success: tuple[int, ...]) -> dict[str, Any]:
    """One attempt as a row, whatever the sender recorded: latency and the answer's excerpt may be
    missing, or named differently."""
    latency = _first(attempt, "latency_ms", "latency", "duration_ms")
    excerpt = _first(attempt, "response_body", "body_excerpt", "body", "excerpt")
    headers = _first(attempt, "headers", "response_headers")
    status = attempt.get("status")
    return {
        "at": attempt.get("at"),
        "status": status,
        "ok": isinstance(status, int) and status in success,
        "error": attempt.get("error"),
        "latency": latency,
        "excerpt": excerpt if isinstance(excerpt, str) else (json.dumps(excerpt) if excerpt else None),
        "headers": headers if isinstance(headers, Mapping) else None,
        "after_restart": bool(attempt.get("after_restart")),
        "truncated": bool(attempt.get("response_body_truncated")),
    }


def _first(attempt: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        if attempt.get(name) is not None:
            return attempt[name]
    return None


def delivery(rt: Runtime, delivery_id: int) -> dict[str, Any] | None:
    record = rt.store.get(DELIVERIES, str(delivery_id))
    if record is None:
        return None
    rule = RetryRule.from_spec(record.get("retry"))
    check = rt.outbox.check
    problems = check(record) if check is not None and "payload" in record else []
    return {
        **delivery_row(record),
        "attempt_rows": [
            attempt_view(a, rule.success_status)
            for a in (record.get("attempts") or [])
            if isinstance(a, Mapping)
        ],
        "payload_text": json.dumps(record.get("payload"), indent=2, ensure_ascii=False),
        "validation": {"checked": check is not None, "problems": problems},
    }


# ---- ringme, diyalog, crm -------------------------------------------------------------------------


def ringme(rt: Runtime) -> list[dict[str, Any]]:
    """Per client: its agents (with status and where the last change came from), its subscriptions,
    and the newest agent-event deliveries (among the newest MAX_SCAN deliveries of any API)."""
    engine: Any = rt.engines.get("ringme")
    if engine is None:
        return []
    subscriptions = sorted(rt.store.values("ringme:events"), key=lambda e: int(e.get("id", 0)))
    found, _ = newest_first(
        lambda n: rt.store.get(DELIVERIES, str(n)),
        last_id(rt.store, DELIVERY_SEQUENCE),
        None,
        lambda d: d.get("api") == "ringme",
        limit=20,
    )
    recent = [delivery_row(d) for d in found]
    out = []
    for client in sorted(rt.store.values("ringme:clients"), key=lambda c: str(c.get("client_id"))):
        client_id = str(client.get("client_id"))
        out.append(
            {
                "client": client,
                "agents": engine.agents(client_id),
                "subscriptions": [s for s in subscriptions if str(s.get("client_id")) == client_id],
                "deliveries": [d for d in recent if str(d.get("client_id", client_id)) == client_id],
            }
        )
    return out


@dataclass
class Cut:
    """The first ``len(items)`` of a longer list (newest first, unless it says ``first``), and how many
    the mock holds."""

    items: list[dict[str, Any]]
    total: int
    order: str = "newest"


def _latest(records: list[dict[str, Any]], most: int) -> Cut:
    return Cut(list(reversed(records[-most:])), len(records))


def diyalog(rt: Runtime) -> dict[str, Any] | None:
    engine: Any = rt.engines.get("diyalog")
    if engine is None:
        return None
    return {
        "interactions": _latest(engine.interactions(None), 500),
        "agents": engine.agents(),
        "documents": _latest(engine.documents(), 200),
    }


def crm(rt: Runtime) -> dict[str, Any] | None:
    engine: Any = rt.engines.get("ringotel-crm")
    if engine is None:
        return None
    users = engine.users()
    return {
        "users": Cut(users[:200], len(users), "first"),
        "contacts": _latest(engine.contacts(), 500),
        "activities": _latest(engine.activities(), 500),
    }


# ---- requests -------------------------------------------------------------------------------------


def _journal(rt: Runtime) -> Any:
    return rt.journal._entries  # a bounded deque, newest last


def requests(rt: Runtime, filters: Mapping[str, Any], before: int | None, base_url: str) -> Page:
    entries = _journal(rt)
    api = filters.get("api") or None
    status = filters.get("status") or None
    errors_only = bool(filters.get("errors"))
    rows: list[dict[str, Any]] = []
    nxt = None
    for entry in _newest(entries, before):
        if api and entry.get("api") != api:
            continue
        if status and str(entry.get("status")) != str(status):
            continue
        if errors_only and not entry.get("validation_errors"):
            continue
        if len(rows) == PAGE_SIZE:
            nxt = rows[-1]["id"]
            break
        rows.append(request_view(rt, entry, base_url))
    return Page(rows, len(entries), nxt)


def _newest(entries: Any, before: int | None) -> Iterator[Mapping[str, Any]]:
    for entry in reversed(entries):
        if before is not None and int(entry.get("id", 0)) >= before:
            continue
        yield entry


def request_view(rt: Runtime, entry: Mapping[str, Any], base_url: str) -> dict[str, Any]:
    from mockserver.dashboard.curl import body_of, curl

    at = entry.get("at")
    raw = entry.get("body_json")
    text: str | None
    if isinstance(raw, bytes | bytearray):  # a JSON body, as it came: no need to decode all of it
        size, text = len(raw), bytes(raw[:BODY_SHOWN]).decode("utf-8", "replace")
    else:
        whole = body_of(entry)
        size = len(whole.encode()) if whole else 0
        text = whole[:BODY_SHOWN] if whole and size > BODY_SHOWN else whole
    headers = entry.get("headers")
    declared = str(headers.get("content-length", "")) if isinstance(headers, Mapping) else ""
    # a body the mock could not read (not JSON, too deep, ...) is not journaled: say so, not nothing
    lost = int(declared) if text is None and declared.isdigit() else 0
    return {
        **{k: v for k, v in entry.items() if k not in ("body_json", "headers")},
        "at": iso(at) if isinstance(at, datetime) else at,
        "body_text": text,
        "body_lost": lost,
        "body_size": size,
        "body_cut": size > BODY_SHOWN,
        "curl": curl(rt, entry, base_url) if size <= CURL_BODY_MOST else None,
    }


def faults(rt: Runtime) -> dict[str, Any]:
    operations = {
        api.name: sorted(api.operations) for api in rt.apis.values() if api.name != "mockline-admin"
    }
    return {"rules": rt.faults.rules(), "operations": operations}
