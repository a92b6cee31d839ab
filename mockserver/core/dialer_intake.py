"""How leads become calls: queues, campaigns, CSV sheets, agent mapping and settings.

One part of the ``Dialer``, which hands each new waiting call on to its dispatch. A call document holds what the dialer needs and nothing twice: times are epoch
seconds, the operation, settings, callback routes and custom field names of one request are one shared
object (``settings``), and
the history is one line of text per event (``<seconds since created> <event> [detail]``).

A request may carry up to the spec's ``maxItems`` records (100,000 for Ryng). Taking them in is a
generator (the ``*_steps`` methods) that pauses after every ``SLICE`` records, so that the HTTP layer can
serve other requests in between (a slice takes about 10 ms here); the plain methods run it to the end.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from typing import Any, NamedTuple, TypeVar

from mockserver.core.clock import Clock, iso_at
from mockserver.core.dialer_calls import CALL_SEQUENCE, CALLS, NewCall
from mockserver.core.dialer_errors import BadSheet, UnknownAgent, UnknownCampaign
from mockserver.core.dialer_roster import Roster
from mockserver.core.store import Document, StateStore

QUEUES = "ryng:queues"
CAMPAIGNS = "ryng:campaigns"

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


_NO_FIELDS: dict[str, str] = {}  # shared by calls without custom fields; never changed


SLICE = 1_000
"""Records taken in (or sheet rows read) between two pauses of an intake."""

T = TypeVar("T")
Steps = Generator[None, None, T]
"""An intake in slices: each ``next()`` takes in one slice; ``StopIteration.value`` is the result."""


def finish(steps: Steps[T]) -> T:
    """Run an intake to its end at once."""
    while True:
        try:
            next(steps)
        except StopIteration as done:
            result: T = done.value
            return result


_MAX_SHARED = 4096  # distinct setups kept for sharing; past that, new ones are not shared


class _Batch(NamedTuple):
    """The calls one request makes, ready to be made: rows, who may take each, the shared setup."""

    style: str
    rows: Sequence[Mapping[str, Any]]
    eligible: list[list[str] | None]
    setup: dict[str, Any]
    now: float
    queue_id: int | None = None
    campaign_id: int | None = None


class Intake:
    def __init__(
        self,
        *,
        store: StateStore,
        clock: Clock,
        roster: Roster,
        tenant_settings: dict[str, Any],
        default_mapping: str,
        unknown_agents: str,
        on_waiting: Callable[[Document], None],
    ) -> None:
        self.store = store
        self.clock = clock
        self.roster = roster
        self.tenant_settings = tenant_settings
        """The dialling settings of the tenant's default queue, in ``SETTINGS`` order."""
        self.default_mapping = default_mapping
        """The ``agentMapping`` of a request (and queue) that names none: the spec's default."""
        self.unknown_agents = unknown_agents
        self._on_waiting = on_waiting  # a queue or campaign call, made: the dispatch takes it from here
        self._setups: dict[tuple[Any, ...], dict[str, Any]] = {}
        self._singles: dict[str, list[str]] = {}

    def reset(self) -> None:
        self._setups.clear()
        self._singles.clear()

    # ---- queues ----------------------------------------------------------------------------------

    def create_queue(self, body: Mapping[str, Any], routes: Routes, source: str) -> tuple[int, list[int]]:
        queue = self._new_queue(body)
        return queue["id"], self._make_now(self._queue_batch(queue, {}, body, routes, source))

    def create_queue_steps(
        self, body: Mapping[str, Any], routes: Routes, source: str
    ) -> Steps[tuple[int, list[int]]]:
        queue = self._new_queue(body)
        calls = yield from self._make_calls(self._queue_batch(queue, {}, body, routes, source))
        return queue["id"], calls

    def seed_queue(self, name: str) -> int:
        """A queue of the default state, with the tenant's settings."""
        queue_id = self._free_id(QUEUES, "ryng:queue")
        self._put_queue(queue_id, name=name, mapping=None, agents=None, settings={}, names=None)
        return queue_id

    def _new_queue(self, body: Mapping[str, Any]) -> Document:
        settings = {k: body[k] for k in SETTINGS if k in body}
        if "maxDisposeTime" in body:
            settings["maxDispose"] = body["maxDisposeTime"]
        names = body.get("customFieldNames")
        from_campaign = body["customerData"].get("campaignID")
        if names is None and from_campaign is not None:
            names = (self.store.get(CAMPAIGNS, str(from_campaign)) or {}).get("customFieldNames")
        queue_id = self._free_id(QUEUES, "ryng:queue")
        queue = self._put_queue(
            queue_id,
            name=body.get("name") or f"queue::{iso_at(self.clock.stamp())}",
            mapping=body.get("agentMapping"),
            agents=body.get("agents"),
            settings=settings,
            names=names,
            description=body.get("description"),
            lsq=bool(body.get("outputToLSQ", False)),
        )
        return queue

    def add_to_queue(self, queue_id: int, body: Mapping[str, Any], routes: Routes, source: str) -> list[int]:
        """appendToQueue and pushTransactional: a queue not seen before is made with tenant defaults."""
        return self._make_now(self._append_batch(queue_id, body, routes, source))

    def add_to_queue_steps(
        self, queue_id: int, body: Mapping[str, Any], routes: Routes, source: str
    ) -> Steps[list[int]]:
        return (yield from self._make_calls(self._append_batch(queue_id, body, routes, source)))

    def _append_batch(self, queue_id: int, body: Mapping[str, Any], routes: Routes, source: str) -> _Batch:
        queue = self.store.get(QUEUES, str(queue_id)) or self._put_queue(
            queue_id, name=f"queue::{queue_id}", mapping=None, agents=None, settings={}, names=None
        )
        overrides = {k: body[k] for k in SETTINGS if k in body}
        return self._queue_batch(queue, overrides, body, routes, source)

    def _queue_batch(
        self,
        queue: Document,
        overrides: Mapping[str, Any],
        body: Mapping[str, Any],
        routes: Routes,
        source: str,
    ) -> _Batch:
        """Settings the request leaves out come from the queue, then from the tenant's defaults. Round
        robin carries on across requests to the same queue (a transactional push is often one record)."""
        data = body["customerData"]
        rows: list[Mapping[str, Any]] = list(data.get("jsonData") or [])
        if "campaignID" in data:
            rows += self._campaign_rows(int(data["campaignID"]))
        mapping = body.get("agentMapping") or queue["agentMapping"] or self.default_mapping
        agents = list(body.get("agents") or queue["agents"] or [])
        settings = {**self.tenant_settings, **queue["settings"], **overrides}
        eligible = self._assign(mapping, agents, rows, start=queue["rr"], spread_all=False)
        turn = (queue["rr"] + len(rows)) % len(agents) if mapping == "global" and agents else queue["rr"]
        if turn != queue["rr"]:
            # written only when the turn moves: a push that leaves it (one agent) writes no shared document
            queue["rr"] = turn
            self.store.put(QUEUES, str(queue["id"]), queue)
        setup = self.setup(source, settings, queue.get("customFieldNames"), routes)
        return _Batch("queue", rows, eligible, setup, self.clock.stamp(), queue_id=queue["id"])

    # ---- campaigns -------------------------------------------------------------------------------

    def create_campaign(self, body: Mapping[str, Any], routes: Routes, source: str) -> tuple[int, list[int]]:
        return finish(self.create_campaign_steps(body, routes, source))

    def create_campaign_steps(
        self, body: Mapping[str, Any], routes: Routes, source: str
    ) -> Steps[tuple[int, list[int]]]:
        campaign_id = self._free_id(CAMPAIGNS, "ryng:campaign")
        campaign = self._put_campaign(campaign_id, body.get("name") or f"campaign::{campaign_id}")
        rows = body["customerData"]["jsonData"]
        calls = yield from self._make_calls(self._campaign_batch(campaign, body, rows, routes, source))
        return campaign_id, calls

    def append_campaign(
        self, campaign_id: int, body: Mapping[str, Any], routes: Routes, source: str
    ) -> list[int]:
        return finish(self.append_campaign_steps(campaign_id, body, routes, source))

    def append_campaign_steps(
        self, campaign_id: int, body: Mapping[str, Any], routes: Routes, source: str
    ) -> Steps[list[int]]:
        campaign = self.campaign(campaign_id, body.get("name"))
        rows = body["customerData"]["jsonData"]
        return (yield from self._make_calls(self._campaign_batch(campaign, body, rows, routes, source)))

    def campaign_sheet(
        self, campaign_id: int | None, sheet: str, agents: str | None, name: str | None, source: str
    ) -> tuple[int, list[int], str | None]:
        return finish(self.campaign_sheet_steps(campaign_id, sheet, agents, name, source))

    def campaign_sheet_steps(
        self,
        campaign_id: int | None,
        sheet: str,
        agents: str | None,
        name: str | None,
        source: str,
        max_rows: int | None = None,
    ) -> Steps[tuple[int, list[int], str | None]]:
        """A CSV upload: header row, a number column, other columns become custom fields. Ryng answers
        before it reads the sheet, so a sheet it cannot use (or with more than ``max_rows`` leads) still
        gets its campaign, with no calls; the third value says what was wrong with it."""
        in_file = (agents or "").strip().lower() == "in-file"
        try:
            names, rows = yield from parse_sheet_steps(sheet, in_file=in_file, max_rows=max_rows)
            problem = None
        except BadSheet as exc:
            names, rows, problem = {}, [], str(exc)
        if campaign_id is None:
            campaign_id = self._free_id(CAMPAIGNS, "ryng:campaign")
            campaign = self._put_campaign(campaign_id, name or f"campaign::{campaign_id}")
        else:
            campaign = self.campaign(campaign_id, name)
        body: dict[str, Any] = {"customFieldNames": names}
        if in_file:
            body["agentMapping"] = "inline"
        elif agents and agents.strip():
            body["agentMapping"] = "global"
            body["agents"] = [a.strip() for a in agents.split(",") if a.strip()]
        calls = yield from self._make_calls(self._campaign_batch(campaign, body, rows, {}, source))
        return campaign_id, calls, problem

    def _campaign_batch(
        self,
        campaign: Document,
        body: Mapping[str, Any],
        rows: Sequence[Mapping[str, Any]],
        routes: Routes,
        source: str,
    ) -> _Batch:
        """Campaign calls ring the agent first and retry by the tenant's default queue settings."""
        mapping = body.get("agentMapping") or self.default_mapping
        eligible = self._assign(mapping, list(body.get("agents") or []), rows, start=0, spread_all=True)
        settings = {**self.tenant_settings, "legDirection": "agent-first"}
        names = body.get("customFieldNames") or campaign.get("customFieldNames")
        if body.get("customFieldNames"):
            campaign["customFieldNames"] = body["customFieldNames"]
            self.store.put(CAMPAIGNS, str(campaign["id"]), campaign)
        setup = self.setup(source, settings, names, routes)
        now = self.clock.stamp()
        return _Batch("campaign", rows, eligible, setup, now, campaign_id=campaign["id"])

    def _make_now(self, batch: _Batch) -> list[int]:
        style, rows, eligible, setup, now, queue_id, campaign_id = batch
        return [
            self.new_call(style, row, elig, setup, now, queue_id=queue_id, campaign_id=campaign_id)
            for row, elig in zip(rows, eligible, strict=True)
        ]

    def _make_calls(self, batch: _Batch) -> Steps[list[int]]:
        """``_make_now`` a slice at a time. Getting here took a pass over every row (assigning agents:
        about 50 ms for 100,000 here), so a big batch pauses first."""
        style, rows, eligible, setup, now, queue_id, campaign_id = batch
        made: list[int] = []
        for i, (row, elig) in enumerate(zip(rows, eligible, strict=True)):
            if not i % SLICE and len(rows) > SLICE:
                yield
                if not self._still_there(batch):
                    return []  # a reset wiped the store meanwhile, the calls made so far with it
            made.append(
                self.new_call(style, row, elig, setup, now, queue_id=queue_id, campaign_id=campaign_id)
            )
        return made

    def _still_there(self, batch: _Batch) -> bool:
        if batch.queue_id is not None:
            return self.store.get(QUEUES, str(batch.queue_id)) is not None
        if batch.campaign_id is not None:
            return self.store.get(CAMPAIGNS, str(batch.campaign_id)) is not None
        return True

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

    # ---- agents ----------------------------------------------------------------------------------

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
            assigned = row.get("agentsAssigned")
            if assigned:
                named.update(assigned)
        self._ensure_agents(named)
        if mapping == "global" and agents:
            singles = [self._single(username) for username in agents]
            return [singles[(start + i) % len(agents)] for i in range(len(rows))]
        roster = [self._single(username) for username in self.roster.usernames()]
        if mapping != "inline":  # the same as the loop below, in a tenth of the time for a big push
            if spread_all and roster:
                return [roster[(start + i) % len(roster)] for i in range(len(rows))]
            return [None] * len(rows)
        out: list[list[str] | None] = []
        for i, row in enumerate(rows):
            inline = list(row.get("agentsAssigned") or ()) if mapping == "inline" else []
            if inline:
                out.append(inline)
            elif spread_all and roster:
                out.append(roster[(start + i) % len(roster)])
            else:
                out.append(None)
        return out

    def _ensure_agents(self, usernames: Iterable[str]) -> None:
        unknown = [u for u in usernames if self.roster.get(u) is None]
        if not unknown:
            return
        unknown.sort()
        if self.unknown_agents == "reject":
            raise UnknownAgent(f"unknown agent {', '.join(unknown)}")
        for username in unknown:
            self.roster.add(username, free_since=self.clock.stamp())

    # ---- documents -------------------------------------------------------------------------------

    # A stream of one-lead pushes would otherwise keep a copy of the same setup and agent list per
    # call: a third of a call's memory, and the mock slows as its heap grows (see bench/).

    def setup(
        self, source: str, settings: Mapping[str, Any], names: Mapping[str, str] | None, routes: Routes
    ) -> dict[str, Any]:
        """What one request asked for, shared by all the calls it made: the operation, the dialling
        settings, the custom field names and the callback routes. Equal setups are one object; calls
        never change it."""
        key = (
            source,
            *settings.items(),
            tuple(names.items()) if names else names,
            *((name, route["url"], route["operationId"]) for name, route in routes.items()),
        )
        setup = {"source": source, **settings, "names": names, "routes": routes}
        try:
            return self._setups.setdefault(key, setup) if len(self._setups) < _MAX_SHARED else setup
        except TypeError:  # a setting from the config file that is a list or a mapping: not shared
            return setup

    def _single(self, username: str) -> list[str]:
        """The list of one agent that calls only that agent may take carry; one per agent (agents are
        in the roster, so these are no more than the roster)."""
        return self._singles.setdefault(username, [username])

    def new_call(
        self,
        style: str,
        row: Mapping[str, Any],
        eligible: list[str] | None,
        setup: Mapping[str, Any],
        now: float,
        *,
        queue_id: int | None = None,
        campaign_id: int | None = None,
        call_id: int | None = None,
        at: float | None = None,
    ) -> int:
        """A call, ``waiting`` for an agent; or, with ``at`` (a time to come), ``scheduled`` until then
        and not pooled (the caller schedules its ``ready`` step). Ids skip any already taken."""
        if call_id is None:
            call_id = self._free_id(CALLS, CALL_SEQUENCE)
        call: Document = NewCall(
            {
                "callID": call_id,
                "style": style,
                "queueID": queue_id,
                "campaignID": campaign_id,
                "number": row["number"],
                "priority": int(row.get("priority") or 0),
                "eligible": eligible,
                "settings": setup,
                "customFields": {k: v for k, v in row.items() if k.startswith("customField")} or _NO_FIELDS,
                "state": "waiting" if at is None else "scheduled",
                "created": now,
                "scheduled": now if at is None else at,
                "agent": None,
                "current": None,
                "attempts": [],
                "history": "0 queued",
                "disposition": None,
                "notes": None,
                "disposed": None,
            }
        )
        self.store.put(CALLS, str(call_id), call)
        if style != "preview" and at is None:
            self._on_waiting(call)
        return call_id

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
        description: str | None = None,
        lsq: bool = False,
    ) -> Document:
        queue: Document = {
            "id": queue_id,
            "name": name,
            "description": description,
            "agentMapping": mapping,
            "agents": agents,
            "settings": dict(settings),
            "customFieldNames": names,
            "outputToLSQ": lsq,
            "rr": 0,
            "created": iso_at(self.clock.stamp()),
        }
        self.store.put(QUEUES, str(queue_id), queue)
        return queue

    def _put_campaign(self, campaign_id: int, name: str) -> Document:
        campaign: Document = {
            "id": campaign_id,
            "name": name,
            "customFieldNames": None,
            "created": iso_at(self.clock.stamp()),
        }
        self.store.put(CAMPAIGNS, str(campaign_id), campaign)
        return campaign

    def campaign(self, campaign_id: int, name: str | None) -> Document:
        """A campaign not seen before is made on first use, named as Ryng names it by default."""
        return self.store.get(CAMPAIGNS, str(campaign_id)) or self._put_campaign(
            campaign_id, name or f"Campaign::{campaign_id}"
        )


def parse_sheet(text: str, *, in_file: bool) -> tuple[dict[str, str], list[dict[str, Any]]]:
    return finish(parse_sheet_steps(text, in_file=in_file))


def parse_sheet_steps(
    text: str, *, in_file: bool, max_rows: int | None = None
) -> Steps[tuple[dict[str, str], list[dict[str, Any]]]]:
    """Rows of a campaign CSV. The number column is the one headed number/phone/mobile (else the first);
    with in-file mapping a column headed agent(s)/username/email names each row's agents."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise BadSheet(f"the sheet is not CSV: {exc}") from None
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
    for i, cells in enumerate(_sheet_rows(reader), 1):
        if not i % SLICE:
            yield
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
        if max_rows is not None and len(rows) > max_rows:
            raise BadSheet(f"the sheet has more than {max_rows} leads; at most {max_rows} are taken")
    if not rows:
        raise BadSheet("the sheet has no row with a phone number")
    return names, rows


def _sheet_rows(reader: Iterable[list[str]]) -> Iterable[list[str]]:
    try:
        yield from reader
    except csv.Error as exc:
        raise BadSheet(f"the sheet is not CSV: {exc}") from None
