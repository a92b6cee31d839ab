"""The Diyalog side a bank implements: a call-center queue with an agent pool, device and session token
checks, and a document store.

Interactions move ``queued`` -> ``offered`` (an idle agent is being rung) -> ``with_agent`` (taken) ->
``completed``; withdrawing is allowed until an agent has taken one (``withdrawn``). Agents pick waiting
interactions up over the clock: ``pickup_seconds`` after an offer, a talk of ``handle_seconds``, then the
next waiting interaction. An agent named in the attachedData (``PrimaryProjectManagerId``, then
``SecondaryProjectManagerId``) is offered the interaction first when idle.

The words of a refusal are diyalog.yaml's ``x-mockline.messages``, handed in by the handler as ``say``; the
device-token verdicts (``Verdicts``) and the default state (``Defaults``) are what its spec lists and its
examples show, handed in likewise.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mockserver.core import errors as kinds
from mockserver.core import pages
from mockserver.core.clock import Clock, iso
from mockserver.core.fakes import Fakes
from mockserver.core.pages import Page
from mockserver.core.store import Document, StateStore
from mockserver.core.timeline import Timeline

INTERACTIONS = "diyalog:interactions"
AGENTS = "diyalog:agents"
DOCUMENTS = "diyalog:documents"
DEVICE_TOKENS = "diyalog:device-tokens"
SESSION_TOKENS = "diyalog:session-tokens"
META = "diyalog:meta"
PICKUP_JOB = "diyalog.pickup"
FINISH_JOB = "diyalog.finish"

INTERACTION_SEQUENCE = "diyalog:interaction"
PREFERENCE_KEYS = ("PrimaryProjectManagerId", "SecondaryProjectManagerId")
MORE_AGENTS = 700000  # ids of the agents past those the examples name: 700000, 700001, ...
EXPIRED_DEVICE_TOKEN = "dlg.expired"  # a device token seeded already expired, for the first device


@dataclass(frozen=True)
class Defaults:
    """The default state as diyalog.yaml's examples show it, handed in by the handler, so that a documented
    request succeeds against it: the agents the routing example names (``PREFERENCE_KEYS``), the device
    tokens of checkAuthToken's example requests, the session token of checkToken's examples and the id of
    the first interaction."""

    agents: tuple[str, ...]
    device_tokens: tuple[Mapping[str, Any], ...]  # dlgToken, deviceId, customerNo, deviceHash
    session_token: Mapping[str, Any]  # sessionId, token, userNo
    first_interaction: int

    def device_token_records(self) -> list[dict[str, Any]]:
        """Each example's token, valid; and ``EXPIRED_DEVICE_TOKEN``, expired, for the first one's device."""
        expired = [{**self.device_tokens[0], "dlgToken": EXPIRED_DEVICE_TOKEN, "valid_seconds": 0}]
        return [dict(token) for token in self.device_tokens] + (expired if self.device_tokens else [])


@dataclass(frozen=True)
class Verdicts:
    """checkAuthToken's plain-text verdict words, as diyalog.yaml lists them, handed in by the handler."""

    validated: str
    invalid_token: str
    expired_token: str
    invalid_device: str


class QueueError(kinds.EngineError):
    """A refusal by the queue service."""


class NotFound(QueueError, kinds.NotFound):
    """No interaction or document has that id."""


class Conflict(QueueError, kinds.Conflict):
    """The interaction was already forwarded to an agent."""


def routing_of(attached: Any) -> dict[str, str]:
    """attachedData in either published shape (list of one-entry objects, or a map) as one map."""
    if isinstance(attached, Mapping):
        return {str(k): str(v) for k, v in attached.items()}
    out: dict[str, str] = {}
    if isinstance(attached, list):
        for entry in attached:
            if isinstance(entry, Mapping):
                out.update({str(k): str(v) for k, v in entry.items()})
    return out


class QueueEngine:
    def __init__(
        self,
        *,
        clock: Clock,
        store: StateStore,
        timeline: Timeline,
        make_fakes: Callable[[], Fakes],
        config: Mapping[str, Any],
        say: Callable[..., str],
        defaults: Defaults,
        verdicts: Verdicts,
    ) -> None:
        """``say(key, **values)``: the words of a refusal, by the spec's message key; ``defaults``: the
        default state, unless the config gives agents or tokens; ``verdicts``: the device-token verdicts."""
        self.clock = clock
        self.store = store
        self.timeline = timeline
        self.make_fakes = make_fakes
        self.config = config
        self.say = say
        self.defaults = defaults
        self.verdicts = verdicts
        self.pickup_seconds = float(config.get("pickup_seconds", 15))
        self.handle_seconds = float(config.get("handle_seconds", 180))
        timeline.register(PICKUP_JOB, self._pickup)
        timeline.register(FINISH_JOB, self._finish)

    # -- default state ---------------------------------------------------------------------------------

    def reset(self) -> None:
        if self.store.get(META, "seeded") is not None:
            return
        fakes = self.make_fakes()
        agents = self.config.get("agents", 3)
        if isinstance(agents, int):
            named = list(self.defaults.agents)
            more = (f"{MORE_AGENTS + n}" for n in range(max(0, agents - len(named))))
            ids = [*named, *more][:agents]
            agents = [{"agent_id": agent_id} for agent_id in ids]
        for item in agents:
            agent_id = str(item["agent_id"])
            self.store.put(
                AGENTS,
                agent_id,
                {
                    "agent_id": agent_id,
                    "name": str(item.get("name") or fakes.name()),
                    "state": "idle",
                    "interaction": None,
                    "order": self.store.next_id("diyalog:agent"),
                },
            )
        now = self.clock.stamp()
        for token in self.config.get("device_tokens", self.defaults.device_token_records()):
            self.store.put(DEVICE_TOKENS, str(token["dlgToken"]), _with_expiry(token, now))
        for token in self.config.get("session_tokens", [self.defaults.session_token]):
            self.store.put(SESSION_TOKENS, str(token["token"]), _with_expiry(token, now))
        self.store.put(META, "seeded", {"at": iso(self.clock.now())})

    # -- interactions ----------------------------------------------------------------------------------

    def create(self, body: Mapping[str, Any]) -> Document:
        seq = self.store.next_id(INTERACTION_SEQUENCE)
        interaction_id = str(self.defaults.first_interaction + seq - 1)
        record: Document = {
            "interactionId": interaction_id,
            "seq": seq,
            "customerId": body["customerId"],
            "attachedData": body.get("attachedData"),
            "routing": routing_of(body.get("attachedData")),
            "state": "queued",
            "agent_id": None,
            "created_at": iso(self.clock.now()),
            "offered_at": None,
            "picked_up_at": None,
            "completed_at": None,
            "withdrawn_at": None,
            "job": None,
        }
        if "identityNumber" in body:
            record["identityNumber"] = body["identityNumber"]
        self.store.put(INTERACTIONS, interaction_id, record)
        self._dispatch()
        return self.interaction(interaction_id)

    def interaction(self, interaction_id: str) -> Document:
        found = self.store.get(INTERACTIONS, interaction_id)
        if found is None:
            raise NotFound(self.say("interaction_unknown", interaction_id=interaction_id))
        return found

    def interactions(self, state: str | None = None) -> list[Document]:
        found = [i for i in self.store.values(INTERACTIONS) if state is None or i["state"] == state]
        return sorted(found, key=lambda i: int(i["seq"]))

    def interaction_page(self, after: int, limit: int, state: str | None = None) -> Page:
        """Interactions after the sequence number ``after``, oldest first; O(limit) (see ``pages``)."""
        return pages.forward(
            lambda n: self.store.get(INTERACTIONS, str(self.defaults.first_interaction + n - 1)),
            after,
            self.store.last_id(INTERACTION_SEQUENCE),
            limit,
            pages.equals({"state": state}),
        )

    def withdraw(self, interaction_id: str) -> Document:
        """Delete a waiting interaction; one an agent already has is refused (409)."""
        record = self.interaction(interaction_id)
        if record["state"] == "withdrawn":
            raise NotFound(self.say("interaction_deleted", interaction_id=interaction_id))
        if record["state"] in {"with_agent", "completed"}:
            raise Conflict(self.say("interaction_with_agent", interaction_id=interaction_id))
        if record["state"] == "offered":
            if record.get("job") is not None:
                self.timeline.cancel(int(record["job"]))
            self._free(str(record["agent_id"]))
        record.update(state="withdrawn", withdrawn_at=iso(self.clock.now()), job=None)
        self.store.put(INTERACTIONS, interaction_id, record)
        self._dispatch()
        return record

    # -- the agent pool ------------------------------------------------------------------------------------

    def agents(self) -> list[Document]:
        return sorted(self.store.values(AGENTS), key=lambda a: int(a["order"]))

    def _dispatch(self) -> None:
        """Offer each waiting interaction, oldest first, to an idle agent (a preferred one if idle)."""
        for record in self.interactions("queued"):
            idle = [a for a in self.agents() if a["state"] == "idle"]
            if not idle:
                return
            by_id = {a["agent_id"]: a for a in idle}
            preferred = [record["routing"].get(k) for k in PREFERENCE_KEYS]
            agent = next((by_id[p] for p in preferred if p in by_id), idle[0])
            agent.update(state="ringing", interaction=record["interactionId"])
            self.store.put(AGENTS, agent["agent_id"], agent)
            job = self.timeline.schedule_in(
                self.pickup_seconds, PICKUP_JOB, {"interaction": record["interactionId"]}
            )
            record.update(
                state="offered", agent_id=agent["agent_id"], offered_at=iso(self.clock.now()), job=job
            )
            self.store.put(INTERACTIONS, record["interactionId"], record)

    def _pickup(self, args: dict[str, Any]) -> None:
        record = self.store.get(INTERACTIONS, str(args["interaction"]))
        if record is None or record["state"] != "offered":
            return
        job = self.timeline.schedule_in(
            self.handle_seconds, FINISH_JOB, {"interaction": record["interactionId"]}
        )
        record.update(state="with_agent", picked_up_at=iso(self.clock.now()), job=job)
        self.store.put(INTERACTIONS, record["interactionId"], record)
        agent = self.store.get(AGENTS, str(record["agent_id"]))
        if agent is not None:
            agent["state"] = "busy"
            self.store.put(AGENTS, agent["agent_id"], agent)

    def _finish(self, args: dict[str, Any]) -> None:
        record = self.store.get(INTERACTIONS, str(args["interaction"]))
        if record is None or record["state"] != "with_agent":
            return
        record.update(state="completed", completed_at=iso(self.clock.now()), job=None)
        self.store.put(INTERACTIONS, record["interactionId"], record)
        self._free(str(record["agent_id"]))
        self._dispatch()

    def _free(self, agent_id: str) -> None:
        agent = self.store.get(AGENTS, agent_id)
        if agent is not None:
            agent.update(state="idle", interaction=None)
            self.store.put(AGENTS, agent_id, agent)

    # -- token checks ---------------------------------------------------------------------------------------

    def check_device_token(self, body: Mapping[str, Any]) -> str:
        """The plain-text verdict for a mobile device token."""
        token = self.store.get(DEVICE_TOKENS, str(body["dlgToken"]))
        if token is None or str(token.get("customerNo", body["customerNo"])) != str(body["customerNo"]):
            return self.verdicts.invalid_token
        if self._expired(token):
            return self.verdicts.expired_token
        for field in ("deviceId", "deviceHash"):
            if field in token and str(token[field]) != str(body[field]):
                return self.verdicts.invalid_device
        return self.verdicts.validated

    def check_session_token(self, session_id: str, token: str, user_no: str) -> str | None:
        """None when the agent session token is good; otherwise why it is refused."""
        record = self.store.get(SESSION_TOKENS, token)
        if record is None:
            return self.say("session_token_invalid")
        if str(record["sessionId"]) != session_id:
            return self.say("session_token_other_session")
        if str(record["userNo"]) != user_no:
            return self.say("session_token_other_user")
        if self._expired(record):
            return self.say("session_token_expired")
        return None

    def _expired(self, record: Mapping[str, Any]) -> bool:
        expires = record.get("expires")
        return expires is not None and self.clock.stamp() >= float(expires)

    # -- documents ----------------------------------------------------------------------------------------

    def store_document(self, body: Mapping[str, Any]) -> Document:
        try:
            content = base64.b64decode(str(body["base64FileContent"]), validate=True)
        except (binascii.Error, ValueError):
            raise QueueError(self.say("document_not_base64")) from None
        seq = self.store.next_id("diyalog:document")
        document_id = f"DOC-{self.clock.now().year}-{seq:06d}"
        record: Document = {
            "documentId": document_id,
            **{k: body[k] for k in _DOCUMENT_FIELDS if k in body},
            "size": len(content),
            "created_at": iso(self.clock.now()),
            "seq": seq,
            "base64FileContent": body["base64FileContent"],
        }
        self.store.put(DOCUMENTS, document_id, record)
        return record

    def document(self, document_id: str) -> Document:
        found = self.store.get(DOCUMENTS, document_id)
        if found is None:
            raise NotFound(f"Document {document_id} was not found.")
        return found

    def documents(self) -> list[Document]:
        return sorted(self.store.values(DOCUMENTS), key=lambda d: int(d["seq"]))


_DOCUMENT_FIELDS = ("userId", "fileName", "fileType", "fileDescription", "dmsFolderName", "documentFields")


def _with_expiry(token: Mapping[str, Any], now: float) -> dict[str, Any]:
    """``valid_seconds`` (from the start) or ``expires_at`` (ISO 8601) become an absolute ``expires``."""
    record = dict(token)
    if "valid_seconds" in record:
        record["expires"] = now + float(record["valid_seconds"])
    elif "expires_at" in record:
        record["expires"] = datetime.fromisoformat(
            str(record["expires_at"]).replace("Z", "+00:00")
        ).timestamp()
    return record


def public_interaction(record: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in {"seq", "job"}}


def document_summary(record: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in {"seq", "base64FileContent"}}
