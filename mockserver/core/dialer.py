"""Ryng's dialer, simulated: queues, campaigns, preview calls, agents, retries and callbacks.

Plain Python driven only by the clock and the seed. The ``Dialer`` holds its parts, each with one job,
and wires them together; no part reaches into another:

* ``Intake`` (``dialer_intake``): how leads become calls (queues, campaigns, sheets, agent mapping);
  each new queue or campaign call is handed to the dispatch.
* ``Dispatch`` (``dialer_dispatch``): which free agent takes which waiting call, and each attempt step
  by step on the timeline (planned by ``dialer_plan``).
* ``Callbacks`` (``dialer_callbacks``): the bodies a call sends (``dialer_payloads``), into the outbox.
* ``Roster`` (``dialer_roster``): the agents, and who is free.
* ``CallBook`` (``dialer_calls``): the call documents in the store, sealed while at rest.

The ``Dialer`` itself answers the requests that span parts (preview calls, cancel) and the control
plane's reads. What it refuses is a ``DialerError`` (``dialer_errors``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from mockserver.core import pages
from mockserver.core.clock import Clock
from mockserver.core.dialer_callbacks import META, Callbacks
from mockserver.core.dialer_calls import CALL_SEQUENCE, CALLS, CallBook
from mockserver.core.dialer_dispatch import JOB_DISPATCH, JOB_STEP, Dispatch
from mockserver.core.dialer_errors import (
    AgentBusy,
    BadSheet,
    DialerError,
    DisposeRefused,
    NotCancellable,
    UnknownAgent,
    UnknownCall,
    UnknownCampaign,
)
from mockserver.core.dialer_intake import SETTINGS, TENANT_DEFAULTS, Intake, Routes
from mockserver.core.dialer_payloads import public_call, unpack
from mockserver.core.dialer_plan import ANSWERED, Draws, validate_odds
from mockserver.core.dialer_roster import AGENTS, DEFAULT_TEAM_SIZE, Roster, number_for
from mockserver.core.fakes import Fakes
from mockserver.core.outbox import Outbox
from mockserver.core.pages import Page
from mockserver.core.store import Document, StateStore
from mockserver.core.timeline import Timeline

__all__ = [
    "JOB_DISPATCH",
    "JOB_STEP",
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

_SCHEDULED_AHEAD_SECONDS = 86_400.0  # the default state's scheduled call falls due a day after the start
_CANCELLABLE = frozenset({"waiting", "scheduled"})  # not tried yet: fresh, or scheduled for later
_STORED_AS = {"agentUsername": "agent"}  # control-plane filter -> the stored call's field, where they differ


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
        default_mapping: str,
        api: str = "ryng",
        scheduled_call: int | None = None,
    ) -> None:
        """``default_mapping``: the ``agentMapping`` of a request that names none (the spec's default).
        ``scheduled_call``: the id of one queue call the default state holds, scheduled for the next
        day and not tried yet (the kind of call Ryng lets a client cancel); None for none."""
        self.scheduled_call = scheduled_call
        self.clock = clock
        self.store = store
        self.timeline = timeline
        self.outbox = outbox
        self.make_fakes = make_fakes
        self.seed = seed
        self.api = api
        defaults = {**TENANT_DEFAULTS, **dict(config.get("queue_defaults") or {})}
        tenant_settings = {k: defaults[k] for k in SETTINGS}
        odds = validate_odds(config.get("outcomes") or {})
        unknown_agents = str(config.get("unknown_agents", "add"))
        if unknown_agents not in {"add", "reject"}:
            raise ValueError("ryng.unknown_agents must be 'add' or 'reject'")
        self.configured_agents = list(config.get("agents") or [])
        self.team_size = int(config.get("team_size", DEFAULT_TEAM_SIZE))
        self.roster = Roster(store, seed)
        self.book = CallBook(store, clock)
        self.callbacks = Callbacks(store, outbox, self.roster, api)
        self.dispatch = Dispatch(
            calls=self.book,
            roster=self.roster,
            timeline=timeline,
            callbacks=self.callbacks,
            seed=seed,
            odds=odds,
        )
        self.intake = Intake(
            store=store,
            clock=clock,
            roster=self.roster,
            tenant_settings=tenant_settings,
            default_mapping=default_mapping,
            unknown_agents=unknown_agents,
            on_waiting=self.dispatch.add,
        )
        # Another process of a shared store (Redis) changed a call or an agent: keep the indexes in step.
        store.on_remote(CALLS, self.dispatch.remote_call)
        store.on_remote(AGENTS, self.roster.remote_agent)

    # ---- lifecycle -------------------------------------------------------------------------------

    def reset(self) -> None:
        """Seed the roster and tenant data into an empty store, or rebuild the indexes from a full one
        (a restart with SQLite state; the timeline has already moved the clock to where it stood)."""
        self.intake.reset()
        meta = self.store.get(META, "meta")
        if meta is None:
            fakes = self.make_fakes("roster")
            self.roster.seed_default(self.configured_agents, self.team_size, fakes)
            meta = {
                "virtual_queue": f"080{fakes.rng.randrange(10**8):08d}",
                "virtual_campaign": f"+9180{fakes.rng.randrange(10**8):08d}",
            }
            if self.scheduled_call is not None:
                self._seed_scheduled(self.scheduled_call)
                meta["outside"] = [self.scheduled_call]  # an id the call sequence has not reached
            self.store.put(META, "meta", meta)
        self.roster.load()
        waiting = [call for call in self.store.values(CALLS) if call["state"] == "waiting"]
        waiting.sort(key=lambda c: c["callID"])
        self.dispatch.reset(waiting)

    def _seed_scheduled(self, call_id: int) -> None:
        """A call promised for tomorrow at this time, in a queue of its own: waiting for its first
        attempt (a ``ready`` step turns it ``waiting`` when it falls due), so it can be cancelled."""
        now = self.clock.stamp()
        at = now + _SCHEDULED_AHEAD_SECONDS
        queue_id = self.intake.seed_queue("Callbacks promised for tomorrow")
        row = {"number": number_for(self.seed, "scheduled")}
        setup = self.intake.setup("createQueue", self.intake.tenant_settings, None, {})
        self.intake.new_call("queue", row, None, setup, now, queue_id=queue_id, call_id=call_id, at=at)
        self.dispatch.ready_at(call_id, at)

    # ---- preview dialler -------------------------------------------------------------------------

    def make_preview_call(
        self, agent_id: int, campaign_id: int, number: str | None, name: str | None, routes: Routes
    ) -> dict[str, Any]:
        agent = self.roster.by_id(agent_id)
        if agent is None:
            raise UnknownAgent(f"no agent with id {agent_id}")
        if not self.roster.is_available(agent["username"]):
            raise AgentBusy(f"agent {agent_id} is {agent['state']}")
        campaign = self.intake.campaign(campaign_id, None)
        row = {"number": number or number_for(self.seed, f"preview:{self.store.next_id('ryng:preview')}")}
        settings = {**self.intake.tenant_settings, "legDirection": "agent-first", "maxRetries": 0}
        setup = self.intake.setup("makePreviewCall", settings, campaign.get("customFieldNames"), routes)
        now = self.clock.stamp()
        call_id = self.intake.new_call(
            "preview", row, [agent["username"]], setup, now, campaign_id=campaign_id
        )
        call = self.book.require(call_id)
        call["customerName"] = name
        self.dispatch.start_attempt(call, agent["username"])
        draws = Draws(self.seed, call_id, 0)  # attempt 0: no attempt draws from it
        sid = f"{draws.bits64():016x}{draws.bits64():016x}"
        return {"callID": call_id, "logID": call["current"]["callLogID"], "sid": sid}

    def end_preview_call(self, call_id: int, log_id: int, disposition: str, notes: str) -> None:
        call = self.book.get(call_id)
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
                self.book.history(call, "hangup", "agent")
                self.dispatch.end_attempt(call, ANSWERED)
            else:
                self.book.history(call, "abandoned", "agent")
                self.dispatch.end_attempt(call, "no-answer")
        self.dispatch.dispose(call, disposition, notes)

    # ---- cancel ----------------------------------------------------------------------------------

    def cancel(self, call_id: int) -> None:
        """Only queue calls still waiting for their first attempt can be cancelled."""
        call = self.book.require(call_id)
        if call["style"] != "queue" or call["state"] not in _CANCELLABLE or call["attempts"]:
            raise NotCancellable(
                f"call {call_id} is {call['state']}; only calls not yet tried can be cancelled"
            )
        call["state"] = "cancelled"
        self.book.history(call, "cancelled")
        self.book.save(call)

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
            lambda n: self.store.get(CALLS, str(n)),
            after,
            self.store.last_id(CALL_SEQUENCE),
            limit,
            match,
            beyond=self.ids_beyond(),
        )
        return Page([public_call(call) for call in page.items], page.next_cursor)

    def ids_beyond(self) -> list[int]:
        """Ids of calls the default state placed above what the call sequence has reached (ascending)."""
        meta = self.store.get(META, "meta") or {}
        last = self.store.last_id(CALL_SEQUENCE)
        return sorted(i for i in meta.get("outside", ()) if i > last)

    def count_calls(self) -> int:
        return self.store.count(CALLS)

    def agents(self) -> list[Document]:
        return self.roster.agents()
