"""Scheduling and dispatch: which free agent takes which waiting call, and each attempt step by step.

An attempt is planned before it starts (``dialer_plan``) and moves by timeline jobs (``ryng.step``):
(``scheduled`` ->) ``waiting`` -> ``dialing`` -> ``talking`` -> ``wrap-up`` -> ``completed``, or after an unanswered
attempt ``retry-wait`` (back to ``waiting`` ``retryInterval`` minutes later) until ``maxRetries`` are
spent, then ``unreachable``. Preview calls stop in ``ended`` until the agent disposes of them. A
``ryng.dispatch`` job hands waiting calls to free agents, longest idle first; an agent set free takes
its next call at once. Each step appends to the call's history and sends its callbacks (``Callbacks``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mockserver.core.dialer_callbacks import Callbacks
from mockserver.core.dialer_calls import CallBook
from mockserver.core.dialer_payloads import ATTEMPT_FIELDS, pack
from mockserver.core.dialer_plan import ANSWERED, Odds, Plan, plan_attempt
from mockserver.core.dialer_roster import Pools, Roster
from mockserver.core.store import Document
from mockserver.core.timeline import Timeline

JOB_DISPATCH = "ryng.dispatch"
_OUTCOME = ATTEMPT_FIELDS.index("outcome")  # where a packed attempt keeps it
JOB_STEP = "ryng.step"


class Dispatch:
    def __init__(
        self,
        *,
        calls: CallBook,
        roster: Roster,
        timeline: Timeline,
        callbacks: Callbacks,
        seed: int,
        odds: Odds,
    ) -> None:
        self.calls = calls
        self.roster = roster
        self.timeline = timeline
        self.callbacks = callbacks
        self.seed = seed
        self.odds = odds
        self.pools = Pools()
        self._plans: dict[int, Plan] = {}  # the current attempt's plan, per call (recomputed if missing)
        self._pending = False
        self._job: int | None = None  # the dispatch job this process scheduled last
        self._peeked: Document | None = None
        timeline.register(JOB_DISPATCH, self.on_dispatch)
        timeline.register(JOB_STEP, self.on_step)

    def reset(self, waiting: list[Document]) -> None:
        """Forget what was planned; the waiting calls (oldest first) go back in their pools."""
        self.pools.clear()
        self._plans.clear()
        self._pending = False
        for call in waiting:
            self.pools.push(call)
        if self.pools.waiting():
            self.schedule()

    def add(self, call: Document) -> None:
        """A new call is waiting: put it in its pool; a dispatch follows."""
        self.pools.push(call)
        self.schedule()

    def schedule(self) -> None:
        if self._pending and self._job is not None and self.calls.store.shared:
            # another process of a shared store may have run it: then this one's flag never came down
            self._pending = self.timeline.is_pending(self._job)
        if not self._pending:
            self._pending = True
            self._job = self.timeline.schedule_in(0, JOB_DISPATCH, {})

    def ready_at(self, call_id: int, at: float) -> None:
        """A ``scheduled`` call turns ``waiting`` at ``at`` (a timestamp)."""
        self.timeline.schedule(
            datetime.fromtimestamp(at, tz=UTC), JOB_STEP, {"call": call_id, "step": "ready"}
        )

    def remote_call(self, _key: str, call: Document | None) -> None:
        """Another process of a shared store changed a call: forget its plan; a waiting one is pooled."""
        if call is None:
            return
        self._plans.pop(int(call["callID"]), None)
        if call["state"] == "waiting":
            self.pools.push(call)

    def on_dispatch(self, _args: dict[str, Any]) -> None:
        self._pending = False
        pools = self.pools
        if not pools.waiting():
            return
        # Free agents, longest idle first, each taking its best call. When no call is open to every agent,
        # only the agents some pool names can take one: the rest are not even looked at.
        if pools.anyone_may_take():
            free = self.roster.available()
        else:
            free = self.roster.available_among(pools.agents_with_calls())
        for username in free:
            if not pools.waiting():
                break
            if pools.may_take(username):
                self._dispatch_agent(username)

    def _dispatch_agent(self, username: str) -> None:
        if not self.roster.is_available(username):
            return
        call_id = self.pools.take(username, self._is_waiting)
        if call_id is not None:
            peeked, self._peeked = self._peeked, None
            call = (
                peeked if peeked is not None and peeked["callID"] == call_id else self.calls.require(call_id)
            )
            self.start_attempt(call, username)

    def _is_waiting(self, call_id: int) -> bool:
        call = self.calls.get(call_id)
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

    def start_attempt(self, call: Document, username: str) -> None:
        now = self.calls.now()
        call["current"] = {
            "n": len(call["attempts"]) + 1,
            "callLogID": self.calls.store.next_id("ryng:calllog"),
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
            self.calls.history(call, "dialing-agent")
            self._next(call, "agent-answered", plan.agent_ring)
        else:
            self.calls.history(call, "dialing-customer")
            self._ring_customer(call, plan)

    def _ring_customer(self, call: Document, plan: Plan) -> None:
        step = "customer-answered" if plan.outcome == ANSWERED else "customer-unreachable"
        self._next(call, step, plan.customer_ring)

    def _next(self, call: Document, step: str, delay: float) -> None:
        args = {"call": call["callID"], "step": step, "n": call["current"]["n"]}
        call["current"]["job"] = self.timeline.schedule_in(delay, JOB_STEP, args)
        self.calls.save(call)

    def on_step(self, args: dict[str, Any]) -> None:
        call = self.calls.get(args["call"])
        if call is None:
            return
        step = args["step"]
        if step == "ready":
            if call["state"] in ("retry-wait", "scheduled"):
                call["state"] = "waiting"
                self.calls.history(call, "ready")
                self.calls.save(call)
                self.pools.push(call)
                self.on_dispatch({})
            return
        if step == "disposed":
            if call["state"] == "wrap-up":
                self.dispose(call, args.get("disposition"), "")
            return
        attempt = call["current"]
        if attempt is None or attempt["n"] != args["n"]:
            return
        attempt["job"] = None
        plan = self._plan(call)
        agent_first = call["settings"]["legDirection"] == "agent-first"
        # Two events of one instant are one history write (``then``): every attempt makes two such pairs.
        if step == "agent-answered":
            if agent_first:
                self.calls.history(call, "agent-answered", then="dialing-customer")
                attempt["leg0_up"] = self.calls.now()
                self.callbacks.milestone(call, "agent-connected")
                self._ring_customer(call, plan)
            else:
                self._connected(call, plan, "agent-answered")
        elif step == "customer-answered":
            if agent_first:
                self._connected(call, plan, "customer-answered")
            else:
                self.calls.history(call, "customer-answered", then="dialing-agent")
                attempt["leg0_up"] = self.calls.now()
                self._next(call, "agent-answered", plan.agent_ring)
        elif step == "customer-unreachable":
            self.calls.history(call, f"customer-{plan.outcome}")
            self.end_attempt(call, plan.outcome)
        elif step == "hangup":
            self.calls.history(call, "hangup", plan.hangup_by)
            self.end_attempt(call, ANSWERED)

    def _connected(self, call: Document, plan: Plan, answered: str) -> None:
        """The second leg is up (``answered``: the event that brought it up)."""
        call["current"]["connected"] = self.calls.now()
        call["state"] = "talking"
        self.calls.history(call, answered, then="connected")
        self.callbacks.customer_connected(call)
        self._next(call, "hangup", plan.talk)

    def end_attempt(self, call: Document, outcome: str) -> None:
        attempt = call["current"]
        now = self.calls.now()
        attempt["outcome"] = outcome
        attempt["ended"] = now
        if attempt["connected"] is not None:
            attempt["talktime"] = round(now - attempt["connected"])
        del attempt["job"]
        call["attempts"].append(pack(attempt))
        self.callbacks.milestone(call, "call-ended")
        plan = self._plan(call)
        self._plans.pop(call["callID"], None)
        call["current"] = None
        username = call["agent"]
        if call["style"] == "preview":
            call["state"] = "ended"
            self.roster.set_state(username, "wrap-up")
            self.calls.save(call)
            return
        if outcome == ANSWERED:
            call["state"] = "wrap-up"
            self.roster.set_state(username, "wrap-up")
            self.calls.save(call)
            args = {"call": call["callID"], "step": "disposed", "disposition": plan.disposition}
            self.timeline.schedule_in(plan.dispose, JOB_STEP, args)
            return
        if len(call["attempts"]) <= int(call["settings"]["maxRetries"]):
            delay = int(call["settings"]["retryInterval"]) * 60
            call["state"] = "retry-wait"
            call["scheduled"] = now + delay
            self.calls.history(call, "retry-scheduled")
            self.calls.save(call)
            self.timeline.schedule_in(delay, JOB_STEP, {"call": call["callID"], "step": "ready"})
        else:
            call["state"] = "unreachable"
            call.update(disposition=None, notes="", disposed=None)
            self.calls.history(call, "unreachable", outcome)
            self.calls.save(call)
            self.callbacks.terminal(call)
        self.roster.release(username, now, handled=False)
        self._dispatch_agent(username)

    def dispose(self, call: Document, disposition: str | None, notes: str) -> None:
        now = self.calls.now()
        answered = call["attempts"][-1][_OUTCOME] == ANSWERED
        call.update(disposition=disposition, notes=notes, disposed=now)
        call["state"] = "completed"
        self.calls.history(call, "disposed", disposition)
        self.calls.save(call)
        self.callbacks.terminal(call)
        username = call["agent"]
        self.roster.release(username, now, handled=answered)
        self._dispatch_agent(username)
