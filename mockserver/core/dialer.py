"""Ryng's dialer, simulated: queues, campaigns, preview calls, agents, retries and callbacks.

Plain Python driven only by the clock and the seed. Every call is a store document (collection
``ryng:calls``) that moves through states as timeline jobs fall due:

``waiting`` -> ``dialing`` -> ``talking`` -> ``wrap-up`` -> ``completed``, or after an unanswered attempt
``retry-wait`` (back to ``waiting`` ``retryInterval`` minutes later) until ``maxRetries`` are spent, then
``unreachable``. Preview calls stop in ``ended`` until the agent disposes of them; ``cancelled`` calls were
never attempted. Each step appends to the call's history. Callbacks go through the outbox with the routes
(URL, callback operationId, retry rule) the request gave.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from mockserver.core.clock import Clock, iso
from mockserver.core.dialer_payloads import campaign_connect, follow_up_time, queue_connect, terminal
from mockserver.core.dialer_plan import ANSWERED, Plan, attempt_rng, plan_attempt, validate_odds
from mockserver.core.dialer_roster import DEFAULT_TEAM_SIZE, Pools, Roster, _number_for
from mockserver.core.fakes import Fakes
from mockserver.core.outbox import Outbox, Outgoing, RetryRule
from mockserver.core.store import Document, StateStore
from mockserver.core.timeline import Timeline

CALLS = "ryng:calls"
QUEUES = "ryng:queues"
CAMPAIGNS = "ryng:campaigns"
META = "ryng:meta"
JOB_DISPATCH = "ryng.dispatch"
JOB_STEP = "ryng.step"

TENANT_DEFAULTS: Mapping[str, Any] = {
    "legDirection": "agent-first",
    "maxRetries": 2,
    "retryInterval": 10,
    "maxDispose": 30,
}
"""Settings of the tenant's default queue (config: ``ryng: {queue_defaults: {...}}``)."""

SETTINGS = tuple(TENANT_DEFAULTS)
Routes = Mapping[str, Mapping[str, Any]]
"""Callback routes of one request: name (connect, terminal) -> {url, operationId, retry}."""


class DialerError(Exception):
    """A request the dialer refuses; handlers answer it the way Ryng does."""


class UnknownCall(DialerError):
    pass


class NotCancellable(DialerError):
    pass


class UnknownAgent(DialerError):
    pass


class AgentBusy(DialerError):
    pass


class UnknownCampaign(DialerError):
    pass


class BadSheet(DialerError):
    pass


class DisposeRefused(DialerError):
    pass


class Dialer:
    def __init__(
        self,
        *,
        clock: Clock,
        store: StateStore,
        timeline: Timeline,
        outbox: Outbox,
        make_fakes: Callable[[str], Fakes],
        seed: int,
        config: Mapping[str, Any],
        api: str = "ryng",
    ) -> None:
        self.clock = clock
        self.store = store
        self.timeline = timeline
        self.outbox = outbox
        self.make_fakes = make_fakes
        self.seed = seed
        self.api = api
        self.defaults = {**TENANT_DEFAULTS, **dict(config.get("queue_defaults") or {})}
        self.odds = validate_odds(config.get("outcomes") or {})
        self.unknown_agents = str(config.get("unknown_agents", "add"))
        if self.unknown_agents not in {"add", "reject"}:
            raise ValueError("ryng.unknown_agents must be 'add' or 'reject'")
        self.configured_agents = list(config.get("agents") or [])
        self.team_size = int(config.get("team_size", DEFAULT_TEAM_SIZE))
        self.roster = Roster(store, seed)
        self.pools = Pools()
        self._dispatch_pending = False
        timeline.register(JOB_DISPATCH, self._on_dispatch)
        timeline.register(JOB_STEP, self._on_step)

    # ---- lifecycle -------------------------------------------------------------------------------

    def reset(self) -> None:
        """Seed the roster and tenant data into an empty store; rebuild the indexes from a full one."""
        self.pools.clear()
        self._dispatch_pending = False
        meta = self.store.get(META, "meta")
        if meta is None:
            fakes = self.make_fakes("roster")
            self.roster.seed_default(self.configured_agents, self.team_size, fakes)
            meta = {
                "now": self._ts(),
                "virtual_queue": f"080{fakes.rng.randrange(10**8):08d}",
                "virtual_campaign": f"+9180{fakes.rng.randrange(10**8):08d}",
            }
            self.store.put(META, "meta", meta)
        elif meta["now"] > self._ts():
            restore = getattr(self.clock, "set", None)
            if restore is not None:
                restore(datetime.fromtimestamp(meta["now"], tz=self.clock.now().tzinfo))
        self.roster.load()
        for call in sorted(self.store.values(CALLS), key=lambda c: c["callID"]):
            if call["state"] == "waiting":
                self.pools.push(call)
        if self.pools.waiting():
            self._schedule_dispatch()

    # ---- intake ----------------------------------------------------------------------------------

    def create_queue(self, body: Mapping[str, Any], routes: Routes, source: str) -> tuple[int, list[int]]:
        settings = {k: body[k] for k in SETTINGS if k in body}
        if "maxDisposeTime" in body:
            settings["maxDispose"] = body["maxDisposeTime"]
        names = body.get("customFieldNames")
        source_campaign = body["customerData"].get("campaignID")
        if names is None and source_campaign is not None:
            names = (self.store.get(CAMPAIGNS, str(source_campaign)) or {}).get("customFieldNames")
        queue_id = self._free_id(QUEUES, "ryng:queue")
        queue = self._put_queue(
            queue_id,
            name=body.get("name") or f"queue::{iso(self.clock.now())}",
            mapping=body.get("agentMapping"),
            agents=body.get("agents"),
            settings=settings,
            names=names,
        )
        queue["description"] = body.get("description")
        queue["outputToLSQ"] = bool(body.get("outputToLSQ", False))
        return queue_id, self._queue_calls(queue, {}, body, routes, source)

    def add_to_queue(self, queue_id: int, body: Mapping[str, Any], routes: Routes, source: str) -> list[int]:
        """appendToQueue and pushTransactional: a queue not seen before is made with tenant defaults."""
        queue = self.store.get(QUEUES, str(queue_id)) or self._put_queue(
            queue_id, name=f"queue::{queue_id}", mapping=None, agents=None, settings={}, names=None
        )
        overrides = {k: body[k] for k in SETTINGS if k in body}
        return self._queue_calls(queue, overrides, body, routes, source)

    def create_campaign(self, body: Mapping[str, Any], routes: Routes, source: str) -> tuple[int, list[int]]:
        campaign_id = self._free_id(CAMPAIGNS, "ryng:campaign")
        campaign = self._put_campaign(campaign_id, body.get("name") or f"campaign::{campaign_id}")
        return campaign_id, self._campaign_calls(
            campaign, body, body["customerData"]["jsonData"], routes, source
        )

    def append_campaign(
        self, campaign_id: int, body: Mapping[str, Any], routes: Routes, source: str
    ) -> list[int]:
        campaign = self._campaign(campaign_id, body.get("name"))
        return self._campaign_calls(campaign, body, body["customerData"]["jsonData"], routes, source)

    def campaign_sheet(
        self, campaign_id: int | None, sheet: str, agents: str | None, name: str | None, source: str
    ) -> tuple[int, list[int]]:
        """A CSV upload: header row, a number column, other columns become custom fields."""
        names, rows = parse_sheet(sheet, in_file=(agents or "").strip().lower() == "in-file")
        if campaign_id is None:
            campaign_id = self._free_id(CAMPAIGNS, "ryng:campaign")
            campaign = self._put_campaign(campaign_id, name or f"campaign::{campaign_id}")
        else:
            campaign = self._campaign(campaign_id, name)
        body: dict[str, Any] = {"customFieldNames": names}
        if agents and agents.strip().lower() == "in-file":
            body["agentMapping"] = "inline"
        elif agents and agents.strip():
            body["agentMapping"] = "global"
            body["agents"] = [a.strip() for a in agents.split(",") if a.strip()]
        return campaign_id, self._campaign_calls(campaign, body, rows, {}, source)

    def _queue_calls(
        self,
        queue: Document,
        overrides: Mapping[str, Any],
        body: Mapping[str, Any],
        routes: Routes,
        source: str,
    ) -> list[int]:
        data = body["customerData"]
        rows: list[Mapping[str, Any]] = list(data.get("jsonData") or [])
        if "campaignID" in data:
            rows += self._campaign_rows(int(data["campaignID"]))
        mapping = body.get("agentMapping") or queue["agentMapping"] or "all-agents"
        agents = list(body.get("agents") or queue["agents"] or [])
        settings = {k: overrides.get(k, queue["settings"].get(k, self.defaults[k])) for k in SETTINGS}
        eligible = self._assign(mapping, agents, rows, start=queue["rr"], spread_all=False)
        if mapping == "global" and agents:
            queue["rr"] = (queue["rr"] + len(rows)) % len(agents)
            self.store.put(QUEUES, str(queue["id"]), queue)
        names = queue.get("customFieldNames")
        return [
            self._new_call("queue", source, row, elig, settings, names, routes, queue_id=queue["id"])
            for row, elig in zip(rows, eligible, strict=True)
        ]

    def _campaign_calls(
        self,
        campaign: Document,
        body: Mapping[str, Any],
        rows: Sequence[Mapping[str, Any]],
        routes: Routes,
        source: str,
    ) -> list[int]:
        mapping = body.get("agentMapping") or "all-agents"
        eligible = self._assign(mapping, list(body.get("agents") or []), rows, start=0, spread_all=True)
        settings = {**{k: self.defaults[k] for k in SETTINGS}, "legDirection": "agent-first"}
        names = body.get("customFieldNames") or campaign.get("customFieldNames")
        if body.get("customFieldNames"):
            campaign["customFieldNames"] = body["customFieldNames"]
            self.store.put(CAMPAIGNS, str(campaign["id"]), campaign)
        return [
            self._new_call("campaign", source, row, elig, settings, names, routes, campaign_id=campaign["id"])
            for row, elig in zip(rows, eligible, strict=True)
        ]

    def _assign(
        self,
        mapping: str,
        agents: list[str],
        rows: Sequence[Mapping[str, Any]],
        *,
        start: int,
        spread_all: bool,
    ) -> list[list[str] | None]:
        """Who may take each row. Campaigns share round robin even among all agents, starting at the
        first agent on each request (so a one-lead campaign always goes to the first agent, as Ryng
        warns); queues with ``all-agents`` let any free agent take any call."""
        named = set(agents)
        for row in rows:
            named.update(row.get("agentsAssigned") or ())
        self._ensure_agents(named)
        if mapping == "global" and agents:
            return [[agents[(start + i) % len(agents)]] for i in range(len(rows))]
        roster = self.roster.usernames()
        out: list[list[str] | None] = []
        for i, row in enumerate(rows):
            inline = list(row.get("agentsAssigned") or ()) if mapping == "inline" else []
            if inline:
                out.append(inline)
            elif spread_all and roster:
                out.append([roster[(start + i) % len(roster)]])
            else:
                out.append(None)
        return out

    def _ensure_agents(self, usernames: Iterable[str]) -> None:
        unknown = sorted(u for u in usernames if self.roster.get(u) is None)
        if unknown and self.unknown_agents == "reject":
            raise UnknownAgent(f"unknown agent {', '.join(unknown)}")
        for username in unknown:
            self.roster.add(username, free_since=self._ts())

    def _new_call(
        self,
        style: str,
        source: str,
        row: Mapping[str, Any],
        eligible: list[str] | None,
        settings: Mapping[str, Any],
        names: Mapping[str, str] | None,
        routes: Routes,
        *,
        queue_id: int | None = None,
        campaign_id: int | None = None,
    ) -> int:
        call_id = self.store.next_id("ryng:call")
        now = iso(self.clock.now())
        call: Document = {
            "callID": call_id,
            "seq": call_id,
            "style": style,
            "source": source,
            "queueID": queue_id,
            "campaignID": campaign_id,
            "number": str(row["number"]),
            "priority": int(row.get("priority") or 0),
            "eligible": eligible,
            **settings,
            "customFields": {k: v for k, v in row.items() if k.startswith("customField")},
            "names": names,
            "routes": routes,
            "state": "waiting",
            "created": now,
            "scheduled": now,
            "agent": None,
            "current": None,
            "attempts": [],
            "history": [[now, "queued"]],
            "result": None,
        }
        self.store.put(CALLS, str(call_id), call)
        self._touch()
        if style != "preview":
            self.pools.push(call)
            self._schedule_dispatch()
        return call_id

    # ---- preview dialler -------------------------------------------------------------------------

    def make_preview_call(
        self, agent_id: int, campaign_id: int, number: str | None, name: str | None, routes: Routes
    ) -> dict[str, Any]:
        agent = self.roster.by_id(agent_id)
        if agent is None:
            raise UnknownAgent(f"no agent with id {agent_id}")
        if not self.roster.is_available(agent["username"]):
            raise AgentBusy(f"agent {agent_id} is {agent['state']}")
        campaign = self._campaign(campaign_id, None)
        row = {"number": number or _number_for(self.seed, f"preview:{self.store.next_id('ryng:preview')}")}
        settings = {**{k: self.defaults[k] for k in SETTINGS}, "legDirection": "agent-first", "maxRetries": 0}
        call_id = self._new_call(
            "preview",
            "makePreviewCall",
            row,
            [agent["username"]],
            settings,
            campaign.get("customFieldNames"),
            routes,
            campaign_id=campaign_id,
        )
        call = self._call(call_id)
        call["customerName"] = name
        self._start_attempt(call, agent["username"])
        sid = f"{attempt_rng(self.seed, call_id, 0).getrandbits(128):032x}"
        return {"callID": call_id, "logID": call["current"]["callLogID"], "sid": sid}

    def end_preview_call(self, call_id: int, log_id: int, disposition: str, notes: str) -> None:
        call = self.store.get(CALLS, str(call_id))
        if call is None or call["style"] != "preview":
            raise DisposeRefused(f"no preview call {call_id}")
        attempt = call["current"] or (call["attempts"][-1] if call["attempts"] else None)
        if attempt is None or attempt["callLogID"] != log_id:
            raise DisposeRefused(f"call {call_id} has no call log {log_id}")
        if call["state"] not in {"dialing", "talking", "ended"}:
            raise DisposeRefused(f"call {call_id} is already {call['state']}")
        if call["state"] != "ended":
            if attempt.get("job") is not None:
                self.timeline.cancel(attempt["job"])
            if call["state"] == "talking":
                self._history(call, "hangup", "agent")
                self._end_attempt(call, ANSWERED)
            else:
                self._history(call, "abandoned", "agent")
                self._end_attempt(call, "no-answer")
        self._dispose(call, disposition, notes)

    # ---- cancel ----------------------------------------------------------------------------------

    def cancel(self, call_id: int) -> None:
        call = self.store.get(CALLS, str(call_id))
        if call is None:
            raise UnknownCall(f"no call {call_id}")
        if call["style"] != "queue" or call["state"] != "waiting" or call["attempts"]:
            raise NotCancellable(
                f"call {call_id} is {call['state']} and was already attempted or is not queued"
            )
        call["state"] = "cancelled"
        self._history(call, "cancelled")
        self._save(call)

    # ---- dispatch and call progress -------------------------------------------------------------

    def _schedule_dispatch(self) -> None:
        if not self._dispatch_pending:
            self._dispatch_pending = True
            self.timeline.schedule_in(0, JOB_DISPATCH, {})

    def _on_dispatch(self, _args: dict[str, Any]) -> None:
        self._dispatch_pending = False
        for username in self.roster.available():
            self._dispatch_agent(username)

    def _dispatch_agent(self, username: str) -> None:
        if not self.roster.is_available(username):
            return
        call_id = self.pools.take(username, self._is_waiting)
        if call_id is not None:
            self._start_attempt(self._call(call_id), username)

    def _is_waiting(self, call_id: int) -> bool:
        call = self.store.get(CALLS, str(call_id))
        return call is not None and call["state"] == "waiting"

    def _start_attempt(self, call: Document, username: str) -> None:
        n = len(call["attempts"]) + 1
        plan = plan_attempt(self.seed, call["callID"], n, call["number"], int(call["maxDispose"]), self.odds)
        now = self.clock.now()
        call["current"] = {
            "n": n,
            "callLogID": self.store.next_id("ryng:calllog"),
            "agent": username,
            "plan": plan.to_doc(),
            "outcome": None,
            "dialed": iso(now),
            "dialed_ts": now.timestamp(),
            "leg0_up_ts": None,
            "connected": None,
            "connected_ts": None,
            "ended": None,
            "ended_ts": None,
            "talktime": 0,
            "job": None,
        }
        call["agent"] = username
        call["state"] = "dialing"
        self.roster.occupy(username, call["callID"])
        if call["legDirection"] == "agent-first":
            self._history(call, "dialing-agent", username)
            self._next(call, "agent-answered", plan.agent_ring)
        else:
            self._history(call, "dialing-customer")
            self._ring_customer(call, plan)

    def _ring_customer(self, call: Document, plan: Plan) -> None:
        step = "customer-answered" if plan.outcome == ANSWERED else "customer-unreachable"
        self._next(call, step, plan.customer_ring)

    def _next(self, call: Document, step: str, delay: float) -> None:
        args = {"call": call["callID"], "step": step, "n": call["current"]["n"]}
        call["current"]["job"] = self.timeline.schedule_in(delay, JOB_STEP, args)
        self._save(call)

    def _on_step(self, args: dict[str, Any]) -> None:
        call = self.store.get(CALLS, str(args["call"]))
        step = args["step"]
        if call is None:
            return
        self._touch()
        if step == "ready":
            if call["state"] == "retry-wait":
                call["state"] = "waiting"
                self._history(call, "ready")
                self._save(call)
                self.pools.push(call)
                self._on_dispatch({})
            return
        if step == "disposed":
            if call["state"] == "wrap-up":
                plan = Plan.from_doc(call["attempts"][-1]["plan"])
                self._dispose(call, plan.disposition, "")
            return
        attempt = call["current"]
        if attempt is None or attempt["n"] != args["n"]:
            return
        attempt["job"] = None
        plan = Plan.from_doc(attempt["plan"])
        first = call["legDirection"] == "agent-first"
        if step == "agent-answered":
            self._history(call, "agent-answered", call["agent"])
            if first:
                attempt["leg0_up_ts"] = self._ts()
                self._milestone(call, "agent-connected")
                self._history(call, "dialing-customer")
                self._ring_customer(call, plan)
            else:
                self._connected(call, plan)
        elif step == "customer-answered":
            self._history(call, "customer-answered")
            if first:
                self._connected(call, plan)
            else:
                attempt["leg0_up_ts"] = self._ts()
                self._history(call, "dialing-agent", call["agent"])
                self._next(call, "agent-answered", plan.agent_ring)
        elif step == "customer-unreachable":
            self._history(call, f"customer-{plan.outcome}")
            self._end_attempt(call, plan.outcome)
        elif step == "hangup":
            self._history(call, "hangup", plan.hangup_by)
            self._end_attempt(call, ANSWERED)

    def _connected(self, call: Document, plan: Plan) -> None:
        attempt = call["current"]
        attempt["connected"] = iso(self.clock.now())
        attempt["connected_ts"] = self._ts()
        call["state"] = "talking"
        self._history(call, "connected")
        if call["style"] == "queue":
            agent = self.roster.get(call["agent"])
            queue = self.store.get(QUEUES, str(call["queueID"])) or {}
            if agent is not None:
                self._send(
                    call, "connect", "customer-connected", queue_connect(call, agent, queue, call["names"])
                )
        else:
            self._milestone(call, "customer-connected")
        self._next(call, "hangup", plan.talk)

    def _milestone(self, call: Document, event: str) -> None:
        if call["style"] != "queue":
            agent = self.roster.get(call["agent"])
            if agent is not None:
                self._send(call, "connect", event, campaign_connect(call, agent, event, call["names"]))

    def _end_attempt(self, call: Document, outcome: str) -> None:
        attempt = call["current"]
        now = self.clock.now()
        attempt["outcome"] = outcome
        attempt["ended"] = iso(now)
        attempt["ended_ts"] = now.timestamp()
        if attempt["connected_ts"] is not None:
            attempt["talktime"] = round(attempt["ended_ts"] - attempt["connected_ts"])
        call["attempts"].append(attempt)
        self._milestone(call, "call-ended")
        username = call["agent"]
        if call["style"] == "preview":
            call["state"] = "ended"
            self.roster.set_state(username, "wrap-up")
            self._save(call)
            return
        if outcome == ANSWERED:
            call["state"] = "wrap-up"
            self.roster.set_state(username, "wrap-up")
            self._history(call, "wrap-up", username)
            plan = Plan.from_doc(attempt["plan"])
            call["current"] = None
            self.store.put(CALLS, str(call["callID"]), call)
            self.timeline.schedule_in(plan.dispose, JOB_STEP, {"call": call["callID"], "step": "disposed"})
            return
        call["current"] = None
        if len(call["attempts"]) <= int(call["maxRetries"]):
            delay = int(call["retryInterval"]) * 60
            call["state"] = "retry-wait"
            call["scheduled"] = iso(datetime.fromtimestamp(now.timestamp() + delay, tz=now.tzinfo))
            self._history(call, "retry-scheduled", call["scheduled"])
            self._save(call)
            self.timeline.schedule_in(delay, JOB_STEP, {"call": call["callID"], "step": "ready"})
        else:
            call["state"] = "unreachable"
            call["result"] = {"disposition": None, "notes": "", "disposed": None, "callbackTime": None}
            self._history(call, "unreachable", outcome)
            self._save(call)
            self._terminal(call)
        self.roster.release(username, now.timestamp(), handled=False)
        self._dispatch_agent(username)

    def _dispose(self, call: Document, disposition: str | None, notes: str) -> None:
        now = self.clock.now()
        answered = call["attempts"][-1]["outcome"] == ANSWERED
        call["result"] = {
            "disposition": disposition,
            "notes": notes,
            "disposed": iso(now),
            "callbackTime": follow_up_time(disposition, now.timestamp(), now.tzinfo),
        }
        call["current"] = None
        call["state"] = "completed" if answered or call["style"] == "preview" else "unreachable"
        self._history(call, "disposed", disposition)
        self._save(call)
        self._terminal(call)
        username = call["agent"]
        self.roster.release(username, now.timestamp(), handled=answered)
        self._dispatch_agent(username)

    def _terminal(self, call: Document) -> None:
        if "terminal" not in call["routes"]:
            return
        queue = self.store.get(QUEUES, str(call["queueID"])) if call["style"] == "queue" else None
        meta = self.store.get(META, "meta") or {}
        virtual = meta.get("virtual_queue" if queue is not None else "virtual_campaign", "")
        agent = self.roster.get(call["agent"]) if call["agent"] else None
        payload = terminal(call, agent, queue=queue, names=call["names"], virtual_number=virtual)
        self._send(call, "terminal", "call-ended", payload)

    def _send(self, call: Document, name: str, event: str, payload: dict[str, Any]) -> None:
        route = call["routes"].get(name)
        if not route:
            return
        self.outbox.enqueue(
            api=self.api,
            callback=name,
            outgoing=Outgoing("POST", str(route["url"]), payload),
            retry=RetryRule.from_spec(route.get("retry")),
            meta={"operationId": route["operationId"], "event": event, "callID": call["callID"]},
        )

    # ---- reading ---------------------------------------------------------------------------------

    def calls(self, **filters: Any) -> list[Document]:
        """Every call, oldest first, as the control plane shows it; filters compare as strings."""
        wanted = {k: str(v) for k, v in filters.items() if v is not None}
        out = []
        for call in sorted(self.store.values(CALLS), key=lambda c: c["callID"]):
            public = public_call(call)
            if all(str(public.get(k)) == v for k, v in wanted.items()):
                out.append(public)
        return out

    def agents(self) -> list[Document]:
        return self.roster.agents()

    # ---- helpers ---------------------------------------------------------------------------------

    def _call(self, call_id: int) -> Document:
        call = self.store.get(CALLS, str(call_id))
        if call is None:
            raise UnknownCall(f"no call {call_id}")
        return call

    def _save(self, call: Document) -> None:
        self.store.put(CALLS, str(call["callID"]), call)

    def _history(self, call: Document, event: str, detail: Any = None) -> None:
        entry = [iso(self.clock.now()), event]
        if detail is not None:
            entry.append(detail)
        call["history"].append(entry)

    def _ts(self) -> float:
        return self.clock.now().timestamp()

    def _touch(self) -> None:
        """Remember how far the clock got, so that a restarted mock does not go back in time."""
        meta = self.store.get(META, "meta")
        if meta is not None and meta["now"] < self._ts():
            meta["now"] = self._ts()
            self.store.put(META, "meta", meta)

    def _free_id(self, collection: str, sequence: str) -> int:
        while True:
            candidate = self.store.next_id(sequence)
            if self.store.get(collection, str(candidate)) is None:
                return candidate

    def _put_queue(
        self,
        queue_id: int,
        *,
        name: str,
        mapping: str | None,
        agents: list[str] | None,
        settings: Mapping[str, Any],
        names: Mapping[str, str] | None,
    ) -> Document:
        queue: Document = {
            "id": queue_id,
            "name": name,
            "agentMapping": mapping,
            "agents": agents,
            "settings": dict(settings),
            "customFieldNames": names,
            "rr": 0,
            "created": iso(self.clock.now()),
        }
        self.store.put(QUEUES, str(queue_id), queue)
        return queue

    def _put_campaign(self, campaign_id: int, name: str) -> Document:
        campaign: Document = {
            "id": campaign_id,
            "name": name,
            "customFieldNames": None,
            "created": iso(self.clock.now()),
        }
        self.store.put(CAMPAIGNS, str(campaign_id), campaign)
        return campaign

    def _campaign(self, campaign_id: int, name: str | None) -> Document:
        """A campaign not seen before is made on first use, named as Ryng names it by default."""
        return self.store.get(CAMPAIGNS, str(campaign_id)) or self._put_campaign(
            campaign_id, name or f"Campaign::{campaign_id}"
        )

    def _campaign_rows(self, campaign_id: int) -> list[dict[str, Any]]:
        if self.store.get(CAMPAIGNS, str(campaign_id)) is None:
            raise UnknownCampaign(f"no campaign {campaign_id}")
        rows = []
        for call in sorted(self.store.values(CALLS), key=lambda c: c["callID"]):
            if call["campaignID"] == campaign_id and call["style"] == "campaign":
                row: dict[str, Any] = {"number": call["number"], **call["customFields"]}
                if call["eligible"]:
                    row["agentsAssigned"] = list(call["eligible"])
                rows.append(row)
        return rows


def public_call(call: Mapping[str, Any]) -> dict[str, Any]:
    result = call.get("result") or {}
    return {
        "callID": call["callID"],
        "api": "ryng",
        "style": call["style"],
        "source": call["source"],
        "queueID": call["queueID"],
        "campaignID": call["campaignID"],
        "number": call["number"],
        "priority": call["priority"],
        "state": call["state"],
        "agentUsername": call["agent"],
        "eligibleAgents": call["eligible"],
        "legDirection": call["legDirection"],
        "maxRetries": call["maxRetries"],
        "retryInterval": call["retryInterval"],
        "maxDispose": call["maxDispose"],
        "created": call["created"],
        "scheduled": call["scheduled"],
        "attempts": [
            {
                "attempt": a["n"],
                "callLogID": a["callLogID"],
                "agentUsername": a["agent"],
                "outcome": a["outcome"],
                "dialed": a["dialed"],
                "connected": a["connected"],
                "ended": a["ended"],
                "talktime": a["talktime"],
            }
            for a in [*call["attempts"], *([call["current"]] if call.get("current") else [])]
        ],
        "history": [
            {"at": h[0], "event": h[1], **({"detail": h[2]} if len(h) > 2 else {})} for h in call["history"]
        ],
        "disposition": result.get("disposition"),
        "notes": result.get("notes"),
        "callbacks": {name: route["url"] for name, route in (call.get("routes") or {}).items()},
        "customFields": call["customFields"],
    }


def parse_sheet(text: str, *, in_file: bool) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """Rows of a campaign CSV. The number column is the one headed number/phone/mobile (else the first);
    with in-file mapping a column headed agent(s)/username/email names each row's agents."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = next(reader, None)
    if not header:
        raise BadSheet("the sheet is empty")
    keys = [h.strip().lower().replace(" ", "").replace("_", "") for h in header]
    number_col = next(
        (
            i
            for i, k in enumerate(keys)
            if k in {"number", "phone", "mobile", "phonenumber", "customernumber"}
        ),
        0,
    )
    agent_col = next(
        (i for i, k in enumerate(keys) if k in {"agent", "agents", "agentusername", "username", "email"}),
        None,
    )
    fields = [i for i in range(len(header)) if i != number_col and not (in_file and i == agent_col)][:25]
    names = {f"customField{n}Name": header[i].strip() for n, i in enumerate(fields, 1)}
    rows: list[dict[str, Any]] = []
    for cells in reader:
        number = cells[number_col].strip() if number_col < len(cells) else ""
        digits = number.lstrip("+")
        if not (digits.isdigit() and 7 <= len(digits) <= 15):
            continue
        row: dict[str, Any] = {"number": number}
        for n, i in enumerate(fields, 1):
            if i < len(cells) and cells[i].strip():
                row[f"customField{n}"] = cells[i].strip()
        if in_file and agent_col is not None and agent_col < len(cells):
            assigned = [a.strip() for a in cells[agent_col].replace(";", ",").split(",") if a.strip()]
            if assigned:
                row["agentsAssigned"] = assigned
        rows.append(row)
    if not rows:
        raise BadSheet("the sheet has no row with a phone number")
    return names, rows
