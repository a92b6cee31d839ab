"""A campaign whose calls and deliveries are kept sealed once at rest still behaves, and reads, the same.

2,000 leads arrive as the spec has them arrive past its per-request cap: a createCampaign, then an
appendCampaign. The clock is advanced through the control plane until nothing is due. Each lead gets
exactly one terminal callback; every call and delivery is kept sealed by the store; and the admin lists
still show every record in full, page by page. Behaviour only: nothing here is timed or weighed.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx

from mockserver.app import create_app
from mockserver.core.dialer_calls import CALLS
from mockserver.core.outbox import COLLECTION as DELIVERIES
from mockserver.core.outbox import Answer, Outgoing
from mockserver.core.store import MemoryStore
from mockserver.settings import Settings
from tests.fixtures import serving

RYNG = "/ryng/rest-api/v1"
TOKEN = {"x-access-token": "mockline"}
ADMIN = {"authorization": "Bearer mockline"}
LEADS = 2_000
HALF = LEADS // 2


class Receiver:
    """Answers every callback 200 at once, and counts terminal callbacks per callID."""

    def __init__(self) -> None:
        self.terminal: Counter[int] = Counter()

    async def send(self, outgoing: Outgoing) -> Answer:
        if outgoing.payload.get("callbackType") == "terminal":
            self.terminal[int(outgoing.payload["callID"])] += 1
        return Answer(status=200)


def _leads(start: int, count: int) -> list[dict[str, Any]]:
    return [{"number": f"+9198{i:08d}", "customField1": f"Lead {i}"} for i in range(start, start + count)]


def _walk(client: httpx.Client, path: str, key: str, limit: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    query: dict[str, Any] = {"limit": limit}
    while True:
        r = client.get(path, params=query)
        assert r.status_code == 200, r.text
        found += r.json()[key]
        if r.json()["next_cursor"] is None:
            return found
        query["cursor"] = r.json()["next_cursor"]


def test_a_sealed_campaign_sends_one_terminal_callback_a_lead_and_reads_back_in_full() -> None:
    store = MemoryStore()
    settings = Settings(
        apis=("ryng",),
        clock="manual",
        rate_limit=False,
        seed=7,
        config={"ryng": {"team_size": 25, "scheduled_call": False}},
    )
    app = create_app(settings, store=store)
    receiver = Receiver()
    app.runtime.outbox.transport = receiver
    url = "http://127.0.0.1:9/terminal"
    with serving(app) as base, httpx.Client(base_url=base, timeout=60) as client:
        first = {
            "name": "sealed",
            "customFieldNames": {"customField1Name": "Name"},
            "customerData": {"terminalCallbackUrl": url, "jsonData": _leads(0, HALF)},
        }
        r = client.post(f"{RYNG}/campaign", json=first, headers=TOKEN)
        assert r.status_code == 200, r.text
        campaign_id = int(r.headers["x-mockline-campaign-id"])
        more = {"customerData": {"terminalCallbackUrl": url, "jsonData": _leads(HALF, LEADS - HALF)}}
        r = client.post(f"{RYNG}/campaign/{campaign_id}", json=more, headers=TOKEN)
        assert r.status_code == 200, r.text
        for _ in range(60):  # a simulated day at a time: 2,000 leads and 25 agents take about a week
            r = client.post("/__admin/clock/advance", json={"seconds": 86_400}, headers=ADMIN)
            assert r.status_code == 200, r.text
            if app.runtime.timeline.next_due() is None:
                break
        assert app.runtime.timeline.next_due() is None

        calls = _walk(client, "/__admin/calls", "calls", limit=300)
        deliveries = _walk(client, "/__admin/deliveries", "deliveries", limit=300)

    call_ids = [c["callID"] for c in calls]
    assert len(call_ids) == LEADS and len(set(call_ids)) == LEADS
    assert dict(receiver.terminal) == dict.fromkeys(call_ids, 1)  # each lead: one terminal callback
    assert {c["state"] for c in calls} <= {"completed", "unreachable"}
    assert [c["number"] for c in calls] == [lead["number"] for lead in _leads(0, LEADS)]
    assert all(c["customFields"]["customField1"] == f"Lead {i}" for i, c in enumerate(calls))
    assert all(c["attempts"] and c["history"][0]["event"] == "queued" for c in calls)
    answered = [c for c in calls if c["state"] == "completed"]
    assert answered and all(c["disposition"] and c["history"][-1]["event"] == "disposed" for c in answered)

    terminals = [d for d in deliveries if d["callback"] == "terminal"]
    assert len(terminals) == LEADS and {d["state"] for d in terminals} == {"delivered"}
    assert all(d["payload"]["callID"] == d["callID"] and d["attempts"][0]["status"] == 200 for d in terminals)
    assert {d["retry"]["attempts"] for d in terminals} == {3}  # the shared retry rule reads back

    # ... and every one of them is held sealed, not as a tree of objects.
    kept = store._data
    assert all(type(kept[CALLS][str(n)]) is bytes for n in call_ids)
    assert all(type(kept[DELIVERIES][str(d["id"])]) is bytes for d in deliveries)
