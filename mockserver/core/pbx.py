"""The ringme PBX: queue agents, their login status, and the event subscriptions told of each change.

State lives in the store (collections ``ringme:*``) so a SQLite store keeps it across restarts:

- ``ringme:clients``: PBX accounts with their domain, extension prefix and subscription cap;
- ``ringme:agents``: local agents (extensions) and remote agents (outside numbers), each
  ``available`` or ``logged_out``;
- ``ringme:events``: agent event subscriptions (url, event_type, method);
- ``ringme:grants`` and ``ringme:codes``: which application each issued token belongs to, and the
  authorization codes handed out by the control plane's stand-in for ``/oauth/authorize``.

A real status change (``logged_out`` -> ``available`` or back) enqueues one delivery per matching
subscription on the outbox: GET with the event data in the query string, or POST with a form body, as the
subscription says. Setting the status an agent already has sends nothing.

What the PBX says and its numbers are ringme.yaml's, handed in by the handler: the words of a refusal
(``say``, the spec's ``x-mockline.messages``), the subscription cap, the authorization code's lifetime,
and the default state (``Defaults``) that the spec's examples show.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from mockserver.core import errors as kinds
from mockserver.core.clock import Clock, iso
from mockserver.core.fakes import Fakes
from mockserver.core.outbox import Outbox, Outgoing, RetryRule
from mockserver.core.store import Document, StateStore
from mockserver.core.timeline import Timeline

API = "ringme"
CLIENTS = "ringme:clients"
AGENTS = "ringme:agents"
EVENTS = "ringme:events"
GRANTS = "ringme:grants"
CODES = "ringme:codes"
META = "ringme:meta"
SHIFT_JOB = "ringme.shift"

AGENT_TYPES = ("local", "remote")
STATUSES = ("available", "logged_out")
SOURCES = ("api", "phone")
EVENT_FOR_STATUS = {"available": "agent-login", "logged_out": "agent-logout"}

LOCAL_AGENTS = 4  # seeded per client when the config lists none: the examples' agent and the next ids
REMOTE_AGENTS = 3


@dataclass(frozen=True)
class Defaults:
    """The default state as ringme.yaml's examples show it, handed in by the handler: the client a
    documented request names, the first local agent (its id, extension, the extension prefix and the
    client's domain) and the first remote agent (its id and number) the documented deliveries show, and
    the id of the first subscription. The local agents after the first take the next ids and extensions,
    the remote agents after the first the next ids and seeded numbers."""

    client_id: str
    local_agent: int
    extension: str  # digits; the next agents' are counted up from it, as wide
    prefix: str
    domain: str
    remote_agent: int
    remote_number: str
    first_subscription: int

    def local_agents(self) -> list[dict[str, Any]]:
        width = len(self.extension)
        return [
            {"id": self.local_agent + i, "extension": f"{int(self.extension) + i:0{width}d}"}
            for i in range(LOCAL_AGENTS)
        ]


class PbxError(kinds.EngineError):
    """A refusal by the PBX."""


class NotFound(PbxError, kinds.NotFound):
    """No client, agent or subscription has that id."""


class LimitReached(PbxError, kinds.Conflict):
    """The client has as many subscriptions as its limit allows."""


class Forbidden(PbxError, kinds.Forbidden):
    """The application may not use this resource or client."""


@dataclass(frozen=True)
class DeliveryRule:
    """How one delivery method is sent, from the spec's ``agentEvent`` callback."""

    operation_id: str
    encoding: str  # query (GET) | form (POST)
    retry: RetryRule


def agent_key(client_id: str, agent_type: str, agent_id: int) -> str:
    return f"{client_id}:{agent_type}:{agent_id}"


class PbxEngine:
    def __init__(
        self,
        *,
        clock: Clock,
        store: StateStore,
        timeline: Timeline,
        outbox: Outbox,
        make_fakes: Callable[[], Fakes],
        config: Mapping[str, Any],
        delivery: Mapping[str, DeliveryRule],
        say: Callable[..., str],
        subscription_limit: int,
        code_lifetime: float,
        defaults: Defaults,
    ) -> None:
        """``say(key, **values)``: the words of a refusal; ``subscription_limit``: each client's cap,
        unless the config gives one; ``code_lifetime``: seconds an authorization code lives;
        ``defaults``: the default state, unless the config gives its own clients and agents."""
        self.clock = clock
        self.store = store
        self.timeline = timeline
        self.outbox = outbox
        self.make_fakes = make_fakes
        self.config = config
        self.delivery = delivery
        self.say = say
        self.subscription_limit = subscription_limit
        self.code_lifetime = code_lifetime
        self.defaults = defaults
        timeline.register(SHIFT_JOB, self._shift)

    # -- default state -------------------------------------------------------------------------------

    def reset(self) -> None:
        """Seed the default clients, agents and shift jobs, unless the store already holds them."""
        if self.store.get(META, "seeded") is not None:
            return
        fakes = self.make_fakes()
        clients = self.config.get("clients") or {self.defaults.client_id: {}}
        for client_id, spec in clients.items():
            self._seed_client(str(client_id), spec or {}, fakes)
        self._seed_shifts(fakes)
        self.store.put(META, "seeded", {"at": iso(self.clock.now())})

    def _seed_client(self, client_id: str, spec: Mapping[str, Any], fakes: Fakes) -> None:
        domain = str(spec.get("domain", self.defaults.domain))
        prefix = str(spec.get("prefix", self.defaults.prefix))
        limit = int(
            spec.get("subscription_limit", self.config.get("subscription_limit", self.subscription_limit))
        )
        self.store.put(
            CLIENTS, client_id, {"client_id": client_id, "domain": domain, "prefix": prefix, "limit": limit}
        )
        local = spec.get("local_agents")
        if local is None:
            local = self.defaults.local_agents()
        for item in local:
            agent_id = int(item["id"])
            extension = str(item.get("extension", agent_id))
            self._put_agent(
                client_id,
                "local",
                agent_id,
                {"extension_name": f"{prefix}*{extension}@{domain}", "name": fakes.name()},
            )
        remote = spec.get("remote_agents")
        if remote is None:
            first = self.defaults.remote_agent
            remote = [{"id": first, "number": self.defaults.remote_number}]
            remote += [
                {"id": first + i, "number": fakes.phone().lstrip("+")} for i in range(1, REMOTE_AGENTS)
            ]
        for item in remote:
            self._put_agent(
                client_id,
                "remote",
                int(item["id"]),
                {"agent_number": str(item["number"]).lstrip("+"), "name": fakes.name()},
            )

    def _put_agent(self, client_id: str, agent_type: str, agent_id: int, extra: dict[str, Any]) -> None:
        self.store.put(
            AGENTS,
            agent_key(client_id, agent_type, agent_id),
            {
                "client_id": client_id,
                "agent_type": agent_type,
                "agent_id": agent_id,
                "status": "logged_out",
                "changed_at": None,
                **extra,
            },
        )

    def _seed_shifts(self, fakes: Fakes) -> None:
        """``shifts: seeded`` logs every agent in at a seeded moment of the first half hour and out
        eight hours later; a list gives each shift as ``{client_id, agent_type, agent_id, login_after,
        logout_after}`` in seconds from the start."""
        shifts = self.config.get("shifts")
        if not shifts:
            return
        if shifts == "seeded":
            planned = []
            for agent in sorted(self.store.values(AGENTS), key=lambda a: agent_key_of(a)):
                start = fakes.integer(0, 1800)
                planned.append({**_agent_ref(agent), "login_after": start, "logout_after": start + 8 * 3600})
        else:
            planned = list(shifts)
        for shift in planned:
            ref = {
                "client_id": str(shift["client_id"]),
                "agent_type": str(shift["agent_type"]),
                "agent_id": int(shift["agent_id"]),
            }
            if "login_after" in shift:
                self.timeline.schedule_in(
                    float(shift["login_after"]), SHIFT_JOB, {**ref, "status": "available"}
                )
            if "logout_after" in shift:
                self.timeline.schedule_in(
                    float(shift["logout_after"]), SHIFT_JOB, {**ref, "status": "logged_out"}
                )

    def _shift(self, args: dict[str, Any]) -> None:
        try:
            self.set_status(args["client_id"], args["agent_type"], args["agent_id"], args["status"], "phone")
        except NotFound:
            return

    # -- clients and agents ----------------------------------------------------------------------------

    def client(self, client_id: str) -> Document:
        found = self.store.get(CLIENTS, client_id)
        if found is None:
            raise NotFound(self.say("client_unknown", client_id=client_id))
        return found

    def agents(self, client_id: str) -> list[Document]:
        self.client(client_id)
        found = [a for a in self.store.values(AGENTS) if a["client_id"] == client_id]
        return sorted(found, key=lambda a: (a["agent_type"], a["agent_id"]))

    def agent(self, client_id: str, agent_type: str, agent_id: int) -> Document:
        self.client(client_id)
        found = self.store.get(AGENTS, agent_key(client_id, agent_type, agent_id))
        if found is None:
            raise NotFound(
                self.say("agent_unknown", client_id=client_id, agent_type=agent_type, agent_id=agent_id)
            )
        return found

    # -- applications and tokens -----------------------------------------------------------------------

    def record_grant(self, token: str, application: str, user: str | None = None) -> None:
        self.store.put(GRANTS, token, {"application": application, "user": user})

    def check_access(self, token: str, client_id: str, *, agent_events: bool = True) -> None:
        """403 for an application with "Call API" access only (agent events are not open to it), or
        without rights on this client."""
        grant = self.store.get(GRANTS, token) or {}
        application = grant.get("application")
        rules = (self.config.get("applications") or {}).get(application) or {}
        if agent_events and str(rules.get("access", "all")) == "call_api":
            raise Forbidden(self.say("agent_events_forbidden"))
        allowed = rules.get("clients")
        if allowed is not None and client_id not in [str(c) for c in allowed]:
            raise Forbidden(self.say("client_forbidden", client_id=client_id))

    def issue_code(self, client_id: str, redirect_uri: str | None) -> Document:
        code = self.make_fakes().hex(8) + f"{self.store.next_id('ringme:code'):04d}"
        expires = self.clock.now() + timedelta(seconds=self.code_lifetime)
        record = {
            "code": code,
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "expires_at": iso(expires),
            "expires": expires.timestamp(),
        }
        self.store.put(CODES, code, record)
        return record

    def redeem_code(self, code: str, client_id: str, redirect_uri: str | None) -> str | None:
        """None when the code is good (it is used up); otherwise why it is refused."""
        record = self.store.get(CODES, code)
        if record is None:
            return self.say("code_invalid")
        if record["client_id"] != client_id:
            return self.say("code_other_client")
        if record.get("redirect_uri") and record["redirect_uri"] != redirect_uri:
            return self.say("code_redirect_differs")
        self.store.delete(CODES, code)
        if self.clock.stamp() >= float(record["expires"]):
            return self.say("code_expired")
        return None

    # -- subscriptions ------------------------------------------------------------------------------------

    def limits(self, client_id: str) -> dict[str, Any]:
        client = self.client(client_id)
        used = sum(1 for e in self.store.values(EVENTS) if e["client_id"] == client_id)
        return {"agent_events": {"limit": int(client["limit"]), "used": used}}

    def subscriptions(self, client_id: str, agent_type: str, agent_id: int) -> list[Document]:
        self.agent(client_id, agent_type, agent_id)
        return sorted(
            (e for e in self._events() if _matches(e, client_id, agent_type, agent_id)),
            key=lambda e: int(e["id"]),
        )

    def subscribe(self, client_id: str, agent_type: str, agent_id: int, data: Mapping[str, Any]) -> Document:
        self.agent(client_id, agent_type, agent_id)
        cap = self.limits(client_id)["agent_events"]
        if cap["used"] >= cap["limit"]:
            raise LimitReached(self.say("subscription_cap", limit=cap["limit"]))
        event_id = self.store.next_id("ringme:event", start=self.defaults.first_subscription)
        record = {
            "id": event_id,
            "url": data["url"],
            "event_type": data["event_type"],
            "method": data["method"],
            "client_id": client_id,
            "agent_type": agent_type,
            "agent_id": agent_id,
        }
        self.store.put(EVENTS, str(event_id), record)
        return record

    def subscription(self, client_id: str, agent_type: str, agent_id: int, event_id: int) -> Document:
        self.agent(client_id, agent_type, agent_id)
        found = self.store.get(EVENTS, str(event_id))
        if found is None or not _matches(found, client_id, agent_type, agent_id):
            raise NotFound(
                self.say("event_unknown", event_id=event_id, agent_type=agent_type, agent_id=agent_id)
            )
        return found

    def update(
        self, client_id: str, agent_type: str, agent_id: int, event_id: int, change: Mapping[str, Any]
    ) -> Document:
        record = self.subscription(client_id, agent_type, agent_id, event_id)
        for field in ("url", "event_type", "method"):
            if field in change:
                record[field] = change[field]
        self.store.put(EVENTS, str(event_id), record)
        return record

    def unsubscribe(self, client_id: str, agent_type: str, agent_id: int, event_id: int) -> None:
        self.subscription(client_id, agent_type, agent_id, event_id)
        self.store.delete(EVENTS, str(event_id))

    def _events(self) -> Iterator[Document]:
        return self.store.values(EVENTS)

    # -- status changes -----------------------------------------------------------------------------------

    def set_status(
        self, client_id: str, agent_type: str, agent_id: int, status: str, source: str
    ) -> dict[str, Any]:
        """Log an agent in (``available``) or out (``logged_out``); a real change notifies subscribers."""
        if status not in STATUSES:
            raise PbxError(f"status must be one of {', '.join(STATUSES)}")
        if source not in SOURCES:
            raise PbxError(f"source must be one of {', '.join(SOURCES)}")
        agent = self.agent(client_id, agent_type, agent_id)
        if agent["status"] == status:
            return {"agent": agent, "changed": False, "deliveries": []}
        agent["status"] = status
        agent["changed_at"] = iso(self.clock.now())
        agent["source"] = source
        self.store.put(AGENTS, agent_key(client_id, agent_type, agent_id), agent)
        event_type = EVENT_FOR_STATUS[status]
        data = event_data(agent, source)
        sent = []
        for sub in self.subscriptions(client_id, agent_type, agent_id):
            if sub["event_type"] != event_type:
                continue
            rule = self.delivery[sub["method"]]
            record = self.outbox.enqueue(
                api=API,
                callback="agentEvent",
                outgoing=Outgoing(sub["method"], sub["url"], data, rule.encoding),
                retry=rule.retry,
                meta={
                    "operationId": rule.operation_id,
                    "event": event_type,
                    "subscription": sub["id"],
                    "client_id": client_id,
                    "agent_type": agent_type,
                    "agent_id": agent_id,
                },
            )
            sent.append(int(record["id"]))
        return {"agent": agent, "changed": True, "deliveries": sent}


def event_data(agent: Mapping[str, Any], source: str) -> dict[str, str]:
    """The AgentEventData of a change: every value a string; the number or the extension by type."""
    data = {
        "agent_id": str(agent["agent_id"]),
        "agent_status": str(agent["status"]),
        "agent_type": str(agent["agent_type"]),
        "event_source": source,
    }
    if agent["agent_type"] == "remote":
        data["agent_number"] = str(agent["agent_number"])
    else:
        data["extension_name"] = str(agent["extension_name"])
    return data


def public_agent(agent: Mapping[str, Any]) -> dict[str, Any]:
    keys = (
        "client_id",
        "agent_type",
        "agent_id",
        "status",
        "name",
        "extension_name",
        "agent_number",
        "source",
    )
    out = {k: agent[k] for k in keys if agent.get(k) is not None}
    out["changed_at"] = agent.get("changed_at")
    return out


def public_event(event: Mapping[str, Any]) -> dict[str, Any]:
    return {k: event[k] for k in ("id", "url", "event_type", "method")}


def _matches(event: Mapping[str, Any], client_id: str, agent_type: str, agent_id: int) -> bool:
    return bool(
        event["client_id"] == client_id
        and event["agent_type"] == agent_type
        and int(event["agent_id"]) == agent_id
    )


def _agent_ref(agent: Mapping[str, Any]) -> dict[str, Any]:
    return {"client_id": agent["client_id"], "agent_type": agent["agent_type"], "agent_id": agent["agent_id"]}


def agent_key_of(agent: Mapping[str, Any]) -> tuple[str, str, int]:
    return (str(agent["client_id"]), str(agent["agent_type"]), int(agent["agent_id"]))
