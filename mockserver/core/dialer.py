"""Ryng's dialer, simulated: queues, campaigns, preview calls, agents, retries and callbacks.

Plain Python driven only by the clock and the seed. Every call is a store document (collection
``ryng:calls``) that moves through states as timeline jobs fall due:

``waiting`` -> ``dialing`` -> ``talking`` -> ``wrap-up`` -> ``completed``, or after an unanswered attempt
``retry-wait`` (back to ``waiting`` ``retryInterval`` minutes later) until ``maxRetries`` are spent, then
``unreachable``. Preview calls stop in ``ended`` until the agent disposes of them; ``cancelled`` calls were
never attempted. Each step appends to the call's history. Callbacks go through the outbox with the routes
(URL, callback operationId, retry rule) the request gave. Intake (queues, campaigns, sheets, agent
mapping) lives in ``dialer_intake``; what an attempt does is planned in ``dialer_plan``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from mockserver.core import pages
from mockserver.core.clock import Clock
from mockserver.core.dialer_intake import (
    CALL_SEQUENCE,
    CALLS,
    QUEUES,
    RESTING,
    SETTINGS,
    TENANT_DEFAULTS,
    BadSheet,
    DialerError,
    Intake,
    Routes,
    StoredCall,
    UnknownAgent,
    UnknownCampaign,
)
from mockserver.core.dialer_payloads import (
    campaign_connect,
    pack,
    public_call,
    queue_connect,
    terminal,
    unpack,
)
from mockserver.core.dialer_plan import ANSWERED, Plan, attempt_rng, plan_attempt, validate_odds
from mockserver.core.dialer_roster import DEFAULT_TEAM_SIZE, Pools, Roster, number_for
from mockserver.core.fakes import Fakes
from mockserver.core.outbox import Outbox, Outgoing, RetryRule
from mockserver.core.pages import Page
from mockserver.core.store import Document, StateStore
from mockserver.core.timeline import Timeline

__all__ = [
    "AgentBusy",
    "BadSheet",
    "Dialer",
    "DialerError",
    "DisposeRefused",
    "NotCancellable",
    "Routes",
    "UnknownAgent",
    "UnknownCall",
    "UnknownCampaign",
]

META = "ryng:meta"
JOB_DISPATCH = "ryng.dispatch"
JOB_STEP = "ryng.step"
_STORED_AS = {"agentUsername": "agent"}  # control-plane filter -> the stored call's field, where they differ


class UnknownCall(DialerError):
    pass


class NotCancellable(DialerError):
    pass


class AgentBusy(DialerError):
    pass


class DisposeRefused(DialerError):
    pass


class Dialer(Intake):
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
        defaults = {**TENANT_DEFAULTS, **dict(config.get("queue_defaults") or {})}
        self.tenant_settings = {k: defaults[k] for k in SETTINGS}
        self.odds = validate_odds(config.get("outcomes") or {})
        self.unknown_agents = str(config.get("unknown_agents", "add"))
        if self.unknown_agents not in {"add", "reject"}:
            raise ValueError("ryng.unknown_agents must be 'add' or 'reject'")
        self.configured_agents = list(config.get("agents") or [])
        self.team_size = int(config.get("team_size", DEFAULT_TEAM_SIZE))
        self.roster = Roster(store, seed)
        self.pools = Pools()
        self._plans: dict[int, Plan] = {}  # the current attempt's plan, per call (recomputed if missing)
        self._setups = {}
        self._singles = {}
        self._rules: dict[tuple[Any, ...], RetryRule] = {}
        self._dispatch_pending = False
        self._peeked: Document | None = None
        timeline.register(JOB_DISPATCH, self._on_dispatch)
        timeline.register(JOB_STEP, self._on_step)

    # ---- lifecycle -------------------------------------------------------------------------------

    def reset(self) -> None:
        """Seed the roster and tenant data into an empty store, or rebuild the indexes from a full one
        (a restart with SQLite state; the timeline has already moved the clock to where it stood)."""
        self.pools.clear()
        self._plans.clear()
        self._setups.clear()
        self._singles.clear()
        self._dispatch_pending = False
        meta = self.store.get(META, "meta")
        if meta is None:
            fakes = self.make_fakes("roster")
            self.roster.seed_default(self.configured_agents, self.team_size, fakes)
            meta = {
                "virtual_queue": f"080{fakes.rng.randrange(10**8):08d}",
                "virtual_campaign": f"+9180{fakes.rng.randrange(10**8):08d}",
            }
            self.store.put(META, "meta", meta)
        self.roster.load()
        for call in sorted(self.store.values(CALLS), key=lambda c: c["callID"]):
            if call["state"] == "waiting":
                self.pools.push(call)
        if self.pools.waiting():
            self._schedule_dispatch()

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
        row = {"number": number or number_for(self.seed, f"preview:{self.store.next_id('ryng:preview')}")}
        settings = {**self.tenant_settings, "legDirection": "agent-first", "maxRetries": 0}
        setup = self._setup("makePreviewCall", settings, campaign.get("customFieldNames"), routes)
        now = self.clock.now().timestamp()
        call_id = self._new_call("preview", row, [agent["username"]], setup, now, campaign_id=campaign_id)
        call = self._call(call_id)
        call["customerName"] = name
        self._start_attempt(call, agent["username"])
        sid = f"{attempt_rng(self.seed, call_id, 0).getrandbits(128):032x}"
        return {"callID": call_id, "logID": call["current"]["callLogID"], "sid": sid}

    def end_preview_call(self, call_id: int, log_id: int, disposition: str, notes: str) -> None:
        call = self.store.get(CALLS, str(call_id))
        if call is None or call["style"] != "preview":
            raise DisposeRefused(f"no preview call {call_id}")
        attempt = call["current"] or (unpack(call["attempts"][-1]) if call["attempts"] else None)
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
        """Only queue calls still waiting for their first attempt can be cancelled."""
        call = self.store.get(CALLS, str(call_id))
        if call is None:
            raise UnknownCall(f"no call {call_id}")
        if call["style"] != "queue" or call["state"] != "waiting" or call["attempts"]:
            raise NotCancellable(
                f"call {call_id} is {call['state']}; only calls not yet tried can be cancelled"
            )
        call["state"] = "cancelled"
        self._history(call, "cancelled")
        self._save(call)

    # ---- dispatch ----------------------------------------------------------------------------------

    def _schedule_dispatch(self) -> None:
        if not self._dispatch_pending:
            self._dispatch_pending = True
            self.timeline.schedule_in(0, JOB_DISPATCH, {})

    def _on_dispatch(self, _args: dict[str, Any]) -> None:
        self._dispatch_pending = False
        for username in self.roster.available():
            if not self.pools.waiting():
                break
            self._dispatch_agent(username)

    def _dispatch_agent(self, username: str) -> None:
        if not self.roster.is_available(username):
            return
        call_id = self.pools.take(username, self._is_waiting)
        if call_id is not None:
            peeked, self._peeked = self._peeked, None
            call = peeked if peeked is not None and peeked["callID"] == call_id else self._call(call_id)
            self._start_attempt(call, username)

    def _is_waiting(self, call_id: int) -> bool:
        call = self.store.get(CALLS, str(call_id))
        self._peeked = call  # a waiting call is kept sealed: the one found here is the one dispatched
        return call is not None and call["state"] == "waiting"

    # ---- one attempt, step by step ---------------------------------------------------------------

    def _plan(self, call: Document) -> Plan:
        plan = self._plans.get(call["callID"])
        attempt = call["current"]
        if plan is None:
            n = attempt["n"] if attempt else len(call["attempts"])
            plan = plan_attempt(
                self.seed, call["callID"], n, call["number"], int(call["settings"]["maxDispose"]), self.odds
            )
            self._plans[call["callID"]] = plan
        return plan

    def _start_attempt(self, call: Document, username: str) -> None:
        now = self._ts()
        call["current"] = {
            "n": len(call["attempts"]) + 1,
            "callLogID": self.store.next_id("ryng:calllog"),
            "agent": username,
            "outcome": None,
            "dialed": now,
            "leg0_up": None,
            "connected": None,
            "ended": None,
            "talktime": 0,
            "job": None,
        }
        self._plans.pop(call["callID"], None)
        plan = self._plan(call)
        call["agent"] = username
        call["state"] = "dialing"
        self.roster.occupy(username, call["callID"])
        if call["settings"]["legDirection"] == "agent-first":
            self._history(call, "dialing-agent")
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
        if call is None:
            return
        step = args["step"]
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
                self._dispose(call, args.get("disposition"), "")
            return
        attempt = call["current"]
        if attempt is None or attempt["n"] != args["n"]:
            return
        attempt["job"] = None
        plan = self._plan(call)
        agent_first = call["settings"]["legDirection"] == "agent-first"
        if step == "agent-answered":
            self._history(call, "agent-answered")
            if agent_first:
                attempt["leg0_up"] = self._ts()
                self._milestone(call, "agent-connected")
                self._history(call, "dialing-customer")
                self._ring_customer(call, plan)
            else:
                self._connected(call, plan)
        elif step == "customer-answered":
            self._history(call, "customer-answered")
            if agent_first:
                self._connected(call, plan)
            else:
                attempt["leg0_up"] = self._ts()
                self._history(call, "dialing-agent")
                self._next(call, "agent-answered", plan.agent_ring)
        elif step == "customer-unreachable":
            self._history(call, f"customer-{plan.outcome}")
            self._end_attempt(call, plan.outcome)
        elif step == "hangup":
            self._history(call, "hangup", plan.hangup_by)
            self._end_attempt(call, ANSWERED)

    def _connected(self, call: Document, plan: Plan) -> None:
        call["current"]["connected"] = self._ts()
        call["state"] = "talking"
        self._history(call, "connected")
        if call["style"] == "queue":
            agent = self.roster.get(call["agent"])
            queue = self.store.get(QUEUES, str(call["queueID"])) or {}
            if agent is not None:
                self._send(call, "connect", "customer-connected", queue_connect(call, agent, queue))
        else:
            self._milestone(call, "customer-connected")
        self._next(call, "hangup", plan.talk)

    def _milestone(self, call: Document, event: str) -> None:
        if call["style"] != "queue" and "connect" in call["settings"]["routes"]:
            agent = self.roster.get(call["agent"])
            if agent is not None:
                self._send(call, "connect", event, campaign_connect(call, agent, event))

    def _end_attempt(self, call: Document, outcome: str) -> None:
        attempt = call["current"]
        now = self._ts()
        attempt["outcome"] = outcome
        attempt["ended"] = now
        if attempt["connected"] is not None:
            attempt["talktime"] = round(now - attempt["connected"])
        del attempt["job"]
        call["attempts"].append(pack(attempt))
        self._milestone(call, "call-ended")
        plan = self._plan(call)
        self._plans.pop(call["callID"], None)
        call["current"] = None
        username = call["agent"]
        if call["style"] == "preview":
            call["state"] = "ended"
            self.roster.set_state(username, "wrap-up")
            self._save(call)
            return
        if outcome == ANSWERED:
            call["state"] = "wrap-up"
            self.roster.set_state(username, "wrap-up")
            self._save(call)
            args = {"call": call["callID"], "step": "disposed", "disposition": plan.disposition}
            self.timeline.schedule_in(plan.dispose, JOB_STEP, args)
            return
        if len(call["attempts"]) <= int(call["settings"]["maxRetries"]):
            delay = int(call["settings"]["retryInterval"]) * 60
            call["state"] = "retry-wait"
            call["scheduled"] = now + delay
            self._history(call, "retry-scheduled")
            self._save(call)
            self.timeline.schedule_in(delay, JOB_STEP, {"call": call["callID"], "step": "ready"})
        else:
            call["state"] = "unreachable"
            call.update(disposition=None, notes="", disposed=None)
            self._history(call, "unreachable", outcome)
            self._save(call)
            self._terminal(call)
        self.roster.release(username, now, handled=False)
        self._dispatch_agent(username)

    def _dispose(self, call: Document, disposition: str | None, notes: str) -> None:
        now = self._ts()
        answered = unpack(call["attempts"][-1])["outcome"] == ANSWERED
        call.update(disposition=disposition, notes=notes, disposed=now)
        call["state"] = "completed"
        self._history(call, "disposed", disposition)
        self._save(call)
        self._terminal(call)
        username = call["agent"]
        self.roster.release(username, now, handled=answered)
        self._dispatch_agent(username)

    # ---- callbacks -------------------------------------------------------------------------------

    def _terminal(self, call: Document) -> None:
        if "terminal" not in call["settings"]["routes"]:
            return
        queue = (self.store.get(QUEUES, str(call["queueID"])) or {}) if call["style"] == "queue" else None
        meta = self.store.get(META, "meta") or {}
        virtual = meta.get("virtual_queue" if queue is not None else "virtual_campaign", "")
        agent = self.roster.get(call["agent"]) if call["agent"] else None
        payload = terminal(call, agent, queue=queue, virtual_number=virtual)
        now = self.outbox.now_iso()  # the delivery's own timestamps are this very string: share it
        for key in ("callEnded", "callDisposed"):
            if payload[key] == now:
                payload[key] = now
        self._send(call, "terminal", "call-ended", payload)

    def _send(self, call: Document, name: str, event: str, payload: dict[str, Any]) -> None:
        route = call["settings"]["routes"].get(name)
        if not route:
            return
        self.outbox.enqueue(
            api=self.api,
            callback=name,
            outgoing=Outgoing("POST", str(route["url"]), payload),
            retry=self._rule(route.get("retry") or {}),
            meta={"operationId": route["operationId"], "event": event, "callID": call["callID"]},
        )

    def _rule(self, spec: Mapping[str, Any]) -> RetryRule:
        key = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in spec.items()))
        rule = self._rules.get(key)
        if rule is None:
            rule = self._rules[key] = RetryRule.from_spec(spec)
        return rule

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

    def call_page(self, after: int, limit: int, **filters: Any) -> Page:
        """Calls after the callID ``after``, oldest first, as the control plane shows them; costs
        O(limit) (see ``pages``). A ``callID`` filter is one lookup; the others are compared on the
        stored call, so that only the calls kept are turned into their public form."""
        call_id = filters.pop("callID", None)
        stored = {_STORED_AS.get(k, k): v for k, v in filters.items()}
        match = pages.equals(stored)
        if call_id is not None:
            found = self.store.get(CALLS, str(call_id))
            hit = found is not None and (match is None or match(found))
            return Page([public_call(found)] if hit and found is not None else [], None)
        page = pages.forward(
            lambda n: self.store.get(CALLS, str(n)), after, self.store.last_id(CALL_SEQUENCE), limit, match
        )
        return Page([public_call(call) for call in page.items], page.next_cursor)

    def count_calls(self) -> int:
        return self.store.count(CALLS)

    def agents(self) -> list[Document]:
        return self.roster.agents()

    # ---- helpers ---------------------------------------------------------------------------------

    def _call(self, call_id: int) -> Document:
        call = self.store.get(CALLS, str(call_id))
        if call is None:
            raise UnknownCall(f"no call {call_id}")
        return call

    def _save(self, call: Document) -> None:
        resting = call["state"] in RESTING
        self.store.put(CALLS, str(call["callID"]), StoredCall(call) if resting else call)

    def _history(self, call: Document, event: str, detail: Any = None) -> None:
        """One line per event: seconds since the call was created, the event, and a detail if any."""
        offset = self._ts() - call["created"]
        line = f"\n{int(offset) if offset.is_integer() else round(offset, 3)} {event}"
        call["history"] += line if detail is None else f"{line} {str(detail).replace(chr(10), ' ')}"

    def _ts(self) -> float:
        return self.clock.now().timestamp()
