"""Every list under /__admin comes in pages (limit, cursor, next_cursor) that cost what they hold.

Over a real socket. The cost is proven by counting the store's reads with a large store, never by a
clock: a page of 10 calls out of 200,000 reads about 10 calls, and no list reads a whole collection.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mockserver.app import create_app
from mockserver.core.dialer_intake import CALL_SEQUENCE, CALLS
from mockserver.core.outbox import COLLECTION as DELIVERIES
from mockserver.core.outbox import SEQUENCE as DELIVERY_SEQUENCE
from mockserver.core.pages import SCAN_BUDGET
from mockserver.core.store import Document, MemoryStore
from mockserver.settings import Settings
from tests.fixtures import serving
from tests.fixtures.mockline_http import BASE, valid

RYNG = "/ryng/rest-api/v1"
TOKEN = {"x-access-token": "mockline"}
RECEIVER = "http://127.0.0.1:9/cb"  # nothing listens: deliveries stay pending, which is all these tests need


class CountingStore(MemoryStore):
    """Counts reads per collection, and whole-collection scans."""

    def __init__(self) -> None:
        super().__init__()
        self.gets: Counter[str] = Counter()
        self.scans: Counter[str] = Counter()

    def get(self, collection: str, key: str) -> Document | None:
        self.gets[collection] += 1
        return super().get(collection, key)

    def values(self, collection: str) -> Iterator[Document]:
        self.scans[collection] += 1
        return super().values(collection)

    def reset_counts(self) -> None:
        self.gets.clear()
        self.scans.clear()


def _app(store: MemoryStore | None = None, **settings: Any) -> Any:
    return create_app(Settings(clock="manual", rate_limit=False, seed=5, **settings), store=store)


def _push(client: httpx.Client, numbers: list[str]) -> None:
    body = {
        "customerData": {
            "terminalCallbackUrl": RECEIVER,
            "connectCallbackUrl": RECEIVER,
            "jsonData": [{"number": n} for n in numbers],
        }
    }
    r = client.post(f"{RYNG}/progressive/queue/12/transactional", json=body, headers=TOKEN)
    assert r.status_code == 200, r.text


def _walk(client: httpx.Client, path: str, key: str, **params: Any) -> tuple[list[dict[str, Any]], int]:
    """Every item, page by page; and how many pages it took."""
    found: list[dict[str, Any]] = []
    pages = 0
    query: dict[str, Any] = dict(params)
    while True:
        r = client.get(path, params=query)
        assert r.status_code == 200, r.text
        pages += 1
        found += r.json()[key]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return found, pages
        query["cursor"] = cursor


def test_pages_of_calls_and_deliveries_cover_everything_once_in_order() -> None:
    with serving(_app()) as base, httpx.Client(base_url=base) as client:
        _push(client, [f"+9198000{n:05d}" for n in range(23)])
        client.post("/__admin/clock/advance", json={"seconds": 600})
        everything = client.get("/__admin/calls", params={"limit": 1000}).json()
        # the 23 pushed, and the default state's call scheduled for tomorrow (cancelCall's example id)
        assert everything["next_cursor"] is None and everything["total"] == 24
        calls, pages = _walk(client, "/__admin/calls", "calls", limit=5)
        assert pages == 5 and [c["callID"] for c in calls] == [*range(1, 24), 7741]
        assert calls == everything["calls"]

        deliveries = client.get("/__admin/deliveries", params={"limit": 1000}).json()["deliveries"]
        assert len(deliveries) > 5
        paged, _ = _walk(client, "/__admin/deliveries", "deliveries", limit=2)
        assert paged == deliveries

        # filters still work, alone and with pages
        state = calls[-1]["state"]
        some, _ = _walk(client, "/__admin/calls", "calls", limit=3, state=state)
        assert some == [c for c in calls if c["state"] == state] and len(some) < len(calls)
        one = client.get("/__admin/calls", params={"callID": 4}).json()
        assert [c["callID"] for c in one["calls"]] == [4] and one["next_cursor"] is None
        cid = deliveries[-1]["callID"]
        by_call = client.get("/__admin/deliveries", params={"callID": cid}).json()["deliveries"]
        assert by_call and by_call == [d for d in deliveries if d["callID"] == cid]
        assert client.get("/__admin/deliveries", params={"callID": 999}).json()["deliveries"] == []
        connects, _ = _walk(
            client, "/__admin/deliveries", "deliveries", limit=1, callback="connect", callID=cid
        )
        assert connects == [d for d in deliveries if d["callID"] == cid and d["callback"] == "connect"]


def test_the_journal_pages_back_in_time() -> None:
    with serving(_app()) as base, httpx.Client(base_url=base) as client:
        for _ in range(9):
            client.get("/__admin/health")
        newest = client.get("/__admin/requests", params={"limit": 4}).json()
        ids = [e["id"] for e in newest["requests"]]
        assert ids == [6, 7, 8, 9], "the newest entries, oldest first"
        older = client.get("/__admin/requests", params={"limit": 4, "cursor": newest["next_cursor"]}).json()
        assert [e["id"] for e in older["requests"]] == [2, 3, 4, 5]
        oldest = client.get("/__admin/requests", params={"limit": 4, "cursor": older["next_cursor"]}).json()
        assert [e["id"] for e in oldest["requests"]] == [1] and oldest["next_cursor"] is None


def _documented(response: httpx.Response) -> None:
    """openapi-core finds the answer valid for its operation in the admin spec (the served mock's URL
    mapped onto the spec's server)."""
    sent = response.request
    request = httpx.Request(sent.method, BASE + sent.url.raw_path.decode(), headers=sent.headers)
    valid(
        "mockline-admin",
        httpx.Response(
            response.status_code, headers=response.headers, content=response.content, request=request
        ),
    )


def _seed(client: httpx.Client) -> None:
    """At least 3 items in every admin list, made through the mock's own APIs as a user would."""
    diyalog = {"Auth-Token": "mockline"}
    for n in range(3):
        r = client.post("/diyalog/CreateInteraction", json={"customerId": f"22112212{n}"}, headers=diyalog)
        assert r.status_code == 200 and r.json()["success"] is True, r.text
        document = {
            "userId": f"22112212{n}",
            "fileName": f"form-{n}.pdf",
            "fileType": "application/pdf",
            "fileDescription": "Signed form",
            "base64FileContent": "JVBERi0xLjQ=",
            "dmsFolderName": "Onboarding",
            "documentFields": [{"CustomerNo": f"22112212{n}"}],
        }
        r = client.post("/diyalog/CreateDocument", json=document, headers=diyalog)
        assert r.status_code == 200 and r.json()["success"] is True, r.text
        activity = {
            "call_id": f"1729693708182-seed-{n}",
            "activity_type": "inbound",
            "caller_number": "+12125550143",
            "called_number": "+12025550199",
            "call_start": 1729693708182 + n,
            "user_id": "u-1001",
            "extension": "101",
            "domain": "acme.ringotel.example",
        }
        r = client.post("/ringotel/activities", json=activity, auth=("mockline", "mockline"))
        assert r.status_code == 201, r.text
    _push(client, ["+919800555000", "+919801555000", "+919802555000"])  # answered: callbacks follow
    client.post("/__admin/clock/advance", json={"seconds": 600}).raise_for_status()


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("/__admin/ringme/clients/12/agents", "agents"),
        ("/__admin/diyalog/agents", "agents"),
        ("/__admin/diyalog/interactions", "interactions"),
        ("/__admin/diyalog/documents", "documents"),
        ("/__admin/crm/activities", "activities"),
        ("/__admin/calls", "calls"),
        ("/__admin/deliveries", "deliveries"),
        ("/__admin/requests", "requests"),
    ],
)
def test_every_admin_list_takes_limit_and_cursor_and_refuses_a_bad_one(path: str, key: str) -> None:
    with serving(_app()) as base, httpx.Client(base_url=base) as client:
        _seed(client)
        first = client.get(path, params={"limit": 1})
        assert first.status_code == 200, first.text
        assert len(first.json()[key]) == 1 and first.json()["next_cursor"] is not None, first.json()

        walked: list[dict[str, Any]] = []
        sizes: list[int] = []
        query: dict[str, Any] = {"limit": 1}
        for _ in range(100):  # a cursor that leads nowhere must not hang the test
            page = client.get(path, params=query).json()
            walked += page[key]
            sizes.append(len(page[key]))
            if page["next_cursor"] is None:
                break
            query["cursor"] = page["next_cursor"]
        else:
            pytest.fail(f"{path}: no last page after 100 pages of one item")
        everything = client.get(path, params={"limit": 10000}).json()
        assert everything["next_cursor"] is None
        full = everything[key]
        if key == "requests":
            # The journal pages back in time and the walk's own requests join it: the walk saw every
            # entry up to the newest it started from, once each.
            newest = max(e["id"] for e in walked)
            walked.sort(key=lambda e: e["id"])
            full = [e for e in full if e["id"] <= newest]
        assert len(full) >= 3, full
        assert sizes == [1] * len(full)
        assert walked == full

        for bad in ({"cursor": "x1"}, {"cursor": "-3"}, {"limit": 0}, {"limit": 10001}):
            refused = client.get(path, params=bad)
            assert refused.status_code == 400, (bad, refused.text)
            assert refused.headers["content-type"].startswith("application/problem+json")
            _documented(refused)  # a refusal the admin spec documents for this list


def test_a_page_reads_what_it_shows_not_what_the_store_holds() -> None:
    store = CountingStore()
    held = 200_000
    with serving(_app(store, apis=("ryng",))) as base, httpx.Client(base_url=base) as client:
        _push(client, ["+919800555000"])  # a magic number: answered, so a delivery is made by then
        client.post("/__admin/clock/advance", json={"seconds": 600})
        template = store.get(CALLS, "1")
        delivery = store.get(DELIVERIES, "1")
        assert template is not None and delivery is not None
        for n in range(2, held + 1):  # copies, written straight into the store
            store.put(CALLS, str(n), {**template, "callID": n})
            store.put(DELIVERIES, str(n), {**delivery, "id": n})
        while store.last_id(CALL_SEQUENCE) < held:
            store.next_id(CALL_SEQUENCE)
        while store.last_id(DELIVERY_SEQUENCE) < held:
            store.next_id(DELIVERY_SEQUENCE)

        store.reset_counts()
        page = client.get("/__admin/calls", params={"limit": 10}).json()
        assert [c["callID"] for c in page["calls"]] == list(range(1, 11)) and page["total"] == held
        assert store.gets[CALLS] <= 10 and store.scans[CALLS] == 0

        store.reset_counts()
        deep = client.get("/__admin/calls", params={"limit": 10, "cursor": str(held - 5)}).json()
        assert [c["callID"] for c in deep["calls"]] == list(range(held - 4, held + 1))
        assert deep["next_cursor"] is None and store.gets[CALLS] <= 5

        store.reset_counts()  # a filter nothing matches: one page looks at limit + budget calls, no more
        none = client.get("/__admin/calls", params={"limit": 10, "state": "cancelled"}).json()
        assert none["calls"] == [] and none["next_cursor"] == str(10 + SCAN_BUDGET)
        assert store.gets[CALLS] == 10 + SCAN_BUDGET and store.scans[CALLS] == 0

        store.reset_counts()
        deliveries = client.get("/__admin/deliveries", params={"limit": 10, "cursor": "1000"}).json()
        assert [d["id"] for d in deliveries["deliveries"]] == list(range(1001, 1011))
        assert store.gets[DELIVERIES] <= 10 and store.scans[DELIVERIES] == 0
        store.reset_counts()
        client.get("/__admin/deliveries", params={"limit": 10, "callID": 1})
        assert store.gets[DELIVERIES] <= 10 and store.scans[DELIVERIES] == 0

        store.reset_counts()
        assert client.get("/__admin/health").status_code == 200
        assert sum(store.scans.values()) == 0
