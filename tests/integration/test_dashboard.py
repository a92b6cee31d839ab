"""The dashboard's pages over HTTP (no browser): what they show, their pages of results, the timeline
picture, the curl command, and the admin token rule."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from typing import Any

import httpx

from mockserver.app import create_app
from mockserver.dashboard.pages import newest_first
from mockserver.settings import Settings
from tests.fixtures.mockline_http import client_for, new_app, receiver

PUSH = "/ryng/rest-api/v1/progressive/queue/12/transactional"
RYNG = {"x-access-token": "mockline"}


def lead(url: str, number: str) -> dict[str, Any]:
    return {
        "agentMapping": "global",
        "agents": ["asha.verma@example.com"],
        "customerData": {
            "connectCallbackUrl": url,
            "terminalCallbackUrl": url,
            "jsonData": [{"number": number, "customField1": "Asha"}],
        },
    }


def test_pages_of_ids_newest_first_with_filters_and_gaps() -> None:
    records = {n: {"id": n, "even": n % 2 == 0} for n in range(1, 101) if n != 50}
    page, cursor = newest_first(records.get, 100, None, lambda r: True, limit=10)
    assert [r["id"] for r in page] == list(range(100, 90, -1)) and cursor == 91
    page, cursor = newest_first(records.get, 100, 55, lambda r: True, limit=10)
    assert [r["id"] for r in page] == [54, 53, 52, 51, 49, 48, 47, 46, 45, 44] and cursor == 44
    page, cursor = newest_first(records.get, 100, None, lambda r: r["even"], limit=3)
    assert [r["id"] for r in page] == [100, 98, 96] and cursor == 96
    page, cursor = newest_first(records.get, 100, 5, lambda r: True, limit=10)
    assert [r["id"] for r in page] == [4, 3, 2, 1] and cursor is None


def test_a_rare_filter_stops_looking_after_max_scan_and_says_where_to_go_on(monkeypatch: Any) -> None:
    from mockserver.dashboard import pages

    monkeypatch.setattr(pages, "MAX_SCAN", 30)
    records = {n: {"id": n} for n in range(1, 101)}
    page, cursor = pages.newest_first(records.get, 100, None, lambda r: r["id"] == 3, limit=5)
    assert page == [] and cursor == 71  # looked at 100..71; the next page starts below 71
    page, cursor = pages.newest_first(records.get, 100, 31, lambda r: r["id"] == 3, limit=5)
    assert [r["id"] for r in page] == [3] and cursor is None


def test_every_page_answers_and_shows_what_the_mock_holds() -> None:
    async def scenario() -> None:
        async with receiver() as recv, client_for(new_app()) as client:
            recv.status = 500
            for n in range(3):
                await client.post(PUSH, headers=RYNG, json=lead(recv.url, f"+91984555500{n}"))
            await client.post(PUSH, headers=RYNG, json={"agents": "not a list"})
            await client.post("/__admin/clock/advance", json={"seconds": 3600})
            overview = (await client.get("/")).text
            assert "http://mock/ryng" in overview and "x-access-token: mockline" in overview
            assert "/ryng/ui/" in overview and "Basic mockline:mockline" in overview
            calls = (await client.get("/dashboard/calls")).text
            assert calls.index('data-call="3"') < calls.index('data-call="1"')  # newest first
            # the state filter offers every state the control plane documents, the default state's too
            for state in ("scheduled", "waiting", "retry-wait", "unreachable", "cancelled"):
                assert f"<option>{state}</option>" in calls, state
            only = (await client.get("/dashboard/calls", params={"number": "+919845555001"})).text
            assert re.findall(r'data-call="(\d+)"', only) == ["2"]
            failed = (await client.get("/dashboard/deliveries", params={"state": "failed"})).text
            listed = (await client.get("/__admin/deliveries", params={"state": "failed"})).json()
            expected = sorted((d["id"] for d in listed["deliveries"]), reverse=True)
            assert len(expected) >= 4
            assert [int(i) for i in re.findall(r'data-delivery="(\d+)"', failed)] == expected
            one = (await client.get("/dashboard/deliveries/1")).text
            assert "Valid against the spec" in one and "&#34;callID&#34;: 1" in one
            requests = (await client.get("/dashboard/requests", params={"errors": "1"})).text
            assert requests.count("data-request=") == 1 and "validation error" in requests
            for path in ("/dashboard/agents", "/dashboard/diyalog", "/dashboard/crm", "/dashboard/faults"):
                assert (await client.get(path)).status_code == 200
            assert (await client.get("/dashboard/calls/999")).status_code == 404
            assert (await client.get("/dashboard/nothing")).status_code == 404
            assert (await client.get("/dashboard/static/../pages.py")).status_code == 404
            partial = await client.get("/dashboard/calls", headers={"x-dashboard-partial": "1"})
            assert "<html" not in partial.text and 'data-call="1"' in partial.text
            assert (await client.post("/dashboard/calls")).status_code == 405
            assert (await client.get("/ryng/nothing")).status_code == 404  # the APIs are untouched

    asyncio.run(scenario())


def test_a_calls_timeline_draws_its_phases_and_callback_markers() -> None:
    async def scenario() -> None:
        async with receiver() as recv, client_for(new_app()) as client:
            recv.status = 503
            await client.post(PUSH, headers=RYNG, json=lead(recv.url, "+919845555000"))
            await client.post("/__admin/clock/advance", json={"seconds": 30})
            recv.status = 200
            await client.post("/__admin/clock/advance", json={"seconds": 3600})
            page = (await client.get("/dashboard/calls/1")).text
            for phase in ("bar-queued", "bar-ringing", "bar-talking", "bar-wrapup"):
                assert phase in page
            markers = re.findall(
                r'class="marker (ok|fail)" data-testid="callback-marker"><title>([^<]*)', page
            )
            kinds = [(kind, title.split(" ", 1)[1]) for kind, title in markers]
            assert ("fail", "connect callback #1: 503") in kinds
            assert ("ok", "connect callback #1: 200") in kinds
            assert any(kind == "ok" and "terminal" in title for kind, title in kinds)

    asyncio.run(scenario())


def test_copy_as_curl_uses_the_settings_credentials_not_the_journal() -> None:
    async def scenario() -> None:
        async with client_for(new_app()) as client:
            await client.post(PUSH, headers=RYNG, json=lead("http://127.0.0.1:9/x", "+919845555000"))
            await client.post("/__admin/clock/advance", json={"seconds": 1})
            page = (await client.get("/dashboard/requests", params={"api": "ryng"})).text
            command = re.search(r'<pre class="curl" id="curl-1">([^<]*)</pre>', page)
            assert command is not None
            text = command.group(1).replace("&#39;", "'").replace("&#34;", '"')
            assert text.startswith(f"curl -sS -X POST http://mock{PUSH} -H 'x-access-token: mockline'")
            assert "-H 'content-type: application/json' --data-raw '{" in text

    asyncio.run(scenario())


@dataclasses.dataclass(frozen=True)
class TokenSettings(Settings):
    """Settings with the control plane's admin token (the option another part of mockline adds)."""

    admin_token: str = "s3cret"


def test_with_an_admin_token_the_pages_take_it_as_bearer_or_cookie() -> None:
    async def scenario() -> None:
        app = create_app(TokenSettings(clock="manual", rate_limit=False), http_client=httpx.AsyncClient())
        async with client_for(app) as client:
            denied = await client.get("/dashboard/calls")
            assert denied.status_code == 401 and "admin token is needed" in denied.text
            assert (await client.get("/dashboard/events")).status_code == 401
            assert (await client.get("/", params={"token": "wrong"})).status_code == 401
            assert (await client.get("/", headers={"authorization": "Bearer s3cret"})).status_code == 200
            opened = await client.get("/dashboard/calls", params={"token": "s3cret", "state": "waiting"})
            assert opened.status_code == 303
            assert opened.headers["location"] == "/dashboard/calls?state=waiting"
            assert (
                "HttpOnly" in opened.headers["set-cookie"]
                and "SameSite=Strict" in opened.headers["set-cookie"]
            )
            cookie = {"cookie": "a=b; mockline_admin=s3cret"}
            page = await client.get("/dashboard/calls", headers=cookie)
            assert page.status_code == 200 and "s3cret" not in page.text  # no page holds the token
            # the page's script calls the control plane with the same cookie, from the mock's own page
            own = {**cookie, "host": "127.0.0.1:8000", "origin": "http://127.0.0.1:8000"}
            assert (await client.get("/__admin/health", headers=cookie)).status_code == 200
            assert (await client.post("/__admin/reset", headers=own, json={})).status_code == 200
            # a page on another port of the same host is the same site: the cookie goes with its requests
            other = {**own, "origin": "http://127.0.0.1:3000"}
            refused = await client.post("/__admin/reset", headers=other, json={})
            assert refused.status_code == 403 and "http://127.0.0.1:3000" in refused.json()["detail"]
            wrong = {"cookie": "mockline_admin=no", "origin": "http://127.0.0.1:8000"}
            assert (await client.post("/__admin/reset", headers=wrong, json={})).status_code == 401
            assert (
                await client.get("/dashboard/calls", headers={"cookie": "mockline_admin=no"})
            ).status_code == 401
            assert (await client.get("/dashboard/static/app.js")).status_code == 200  # no data in it

    asyncio.run(scenario())
