"""What a call sends: each callback's body, built from the call's state (``dialer_payloads``), put in the
outbox with the route (URL, callback operationId, retry rule) that the request gave.

Queue calls send one connect callback when the customer is connected; campaign and preview calls send
one at each milestone (agent connected, customer connected, call ended). Every call sends one terminal
callback when it is done with.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from mockserver.core.dialer_payloads import campaign_connect, queue_connect, terminal
from mockserver.core.dialer_roster import Roster
from mockserver.core.outbox import Outbox, Outgoing
from mockserver.core.store import Document, StateStore

META = "ryng:meta"
_NO_RULE: Mapping[str, Any] = MappingProxyType({})  # a route without a retry description: one object
QUEUES = "ryng:queues"


class Callbacks:
    def __init__(self, store: StateStore, outbox: Outbox, roster: Roster, api: str) -> None:
        self.store = store
        self.outbox = outbox
        self.roster = roster
        self.api = api

    def customer_connected(self, call: Document) -> None:
        if call["style"] == "queue":
            agent = self.roster.get(call["agent"])
            queue = self.store.get(QUEUES, str(call["queueID"])) or {}
            if agent is not None:
                self._send(call, "connect", "customer-connected", queue_connect(call, agent, queue))
        else:
            self.milestone(call, "customer-connected")

    def milestone(self, call: Document, event: str) -> None:
        if call["style"] != "queue" and "connect" in call["settings"]["routes"]:
            agent = self.roster.get(call["agent"])
            if agent is not None:
                self._send(call, "connect", event, campaign_connect(call, agent, event))

    def terminal(self, call: Document) -> None:
        if "terminal" not in call["settings"]["routes"]:
            return
        queue = (self.store.get(QUEUES, str(call["queueID"])) or {}) if call["style"] == "queue" else None
        meta = self.store.get(META, "meta") or {}
        virtual = meta.get("virtual_queue" if queue is not None else "virtual_campaign", "")
        agent = self.roster.get(call["agent"]) if call["agent"] else None
        self._send(call, "terminal", "call-ended", terminal(call, agent, queue=queue, virtual_number=virtual))

    def _send(self, call: Document, name: str, event: str, payload: dict[str, Any]) -> None:
        route = call["settings"]["routes"].get(name)
        if not route:
            return
        self.outbox.enqueue(
            api=self.api,
            callback=name,
            outgoing=Outgoing("POST", str(route["url"]), payload),
            retry=self.outbox.rule(route.get("retry") or _NO_RULE),
            meta={"operationId": route["operationId"], "event": event, "callID": call["callID"]},
        )
