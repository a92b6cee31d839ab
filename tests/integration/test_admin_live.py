"""The control plane's live additions over HTTP: retry and cancel of deliveries, bulk retry, pausing the
realtime clock, and the Server-Sent Events stream."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest

from mockserver.app import create_app
from mockserver.settings import Settings
from tests.fixtures import serving
from tests.fixtures.mockline_http import client_for, new_app, receiver, valid

PUSH = "/ryng/rest-api/v1/progressive/queue/12/transactional"
RYNG = {"x-access-token": "mockline"}


def lead(url: str, number: str = "+919845555000") -> dict[str, Any]:
    return {
        "agentMapping": "global",
        "agents": ["asha.verma@example.com"],
        "customerData": {
            "connectCallbackUrl": url,
            "terminalCallbackUrl": url,
            "jsonData": [{"number": number, "customField1": "Asha"}],
        },
    }


async def failed_connect(client: httpx.AsyncClient, url: str) -> dict[str, Any]:
    """Push a lead, run the clock until its connect callback used up every attempt; that delivery."""
    assert (await client.post(PUSH, headers=RYNG, json=lead(url))).status_code == 200
    await client.post("/__admin/clock/advance", json={"seconds": 3600})
    found = (await client.get("/__admin/deliveries", params={"callback": "connect"})).json()["deliveries"]
    assert found and found[0]["state"] == "failed"
    return dict(found[0])


def test_retry_keeps_the_history_and_adds_attempts_until_delivered() -> None:
    async def scenario() -> None:
        async with receiver() as recv, client_for(new_app()) as client:
            recv.status = 500
            before = await failed_connect(client, recv.url)
            tried = len(before["attempts"])
            assert tried >= 1 and all(a["status"] == 500 for a in before["attempts"])
            recv.status = 200
            answer = valid("mockline-admin", await client.post(f"/__admin/deliveries/{before['id']}/retry"))
            after = answer.json()
            assert after["state"] == "delivered"
            assert after["attempts"][:tried] == before["attempts"]
            assert [a["status"] for a in after["attempts"][tried:]] == [200]
            assert len(after["retried_at"]) == 1

    asyncio.run(scenario())


def test_a_retried_delivery_gets_a_fresh_round_of_the_retry_rule() -> None:
    async def scenario() -> None:
        async with receiver() as recv, client_for(new_app()) as client:
            recv.status = 503
            before = await failed_connect(client, recv.url)
            rounds = before["retry"]["attempts"]
            after = (await client.post(f"/__admin/deliveries/{before['id']}/retry")).json()
            assert after["state"] == "pending" or rounds == 1  # one attempt made, the rule's others follow
            await client.post("/__admin/clock/advance", json={"seconds": 3600})
            final = (await client.get("/__admin/deliveries", params={"callback": "connect"})).json()
            record = final["deliveries"][0]
            assert record["state"] == "failed"
            assert len(record["attempts"]) == 2 * rounds

    asyncio.run(scenario())


def test_cancel_stops_a_pending_delivery_and_refuses_a_settled_one() -> None:
    async def scenario() -> None:
        async with receiver() as recv, client_for(new_app()) as client:
            recv.status = 500
            base = f"http://127.0.0.1:{recv.port}"
            body = lead(recv.url)  # each callback to a path of its own, to tell them apart on arrival
            body["customerData"] |= {
                "connectCallbackUrl": f"{base}/connect",
                "terminalCallbackUrl": f"{base}/terminal",
            }
            assert (await client.post(PUSH, headers=RYNG, json=body)).status_code == 200
            await client.post("/__admin/clock/advance", json={"seconds": 30})
            pending = (await client.get("/__admin/deliveries", params={"state": "pending"})).json()
            (target,) = pending["deliveries"]
            assert target["url"] == f"{base}/connect" and len(target["attempts"]) == 1
            assert target["retry"]["attempts"] > 1, "an attempt is still due: the one cancel must stop"

            def arrived() -> list[dict[str, Any]]:
                """The target delivery's attempts as the receiver saw them: its path and its payload."""
                at_path = [json.loads(r.body) for r in recv.requests if r.path == "/connect"]
                return [p for p in at_path if p == target["payload"]]

            assert len(arrived()) == 1
            cancelled = valid(
                "mockline-admin", await client.post(f"/__admin/deliveries/{target['id']}/cancel")
            )
            assert cancelled.json()["state"] == "cancelled"
            await client.post("/__admin/clock/advance", json={"seconds": 3600})
            again = (await client.get("/__admin/deliveries", params={"state": "cancelled"})).json()
            assert [d["id"] for d in again["deliveries"]] == [target["id"]]
            assert len(again["deliveries"][0]["attempts"]) == len(target["attempts"])
            # The clock ran the other callback's attempts to the same receiver; the cancelled one made none.
            assert [r.path for r in recv.requests].count("/terminal") >= 1
            assert len(arrived()) == 1
            refused = valid("mockline-admin", await client.post(f"/__admin/deliveries/{target['id']}/cancel"))
            assert refused.status_code == 409
            missing = valid("mockline-admin", await client.post("/__admin/deliveries/999/retry"))
            assert missing.status_code == 404
            bad = valid("mockline-admin", await client.post("/__admin/deliveries/abc/retry"))
            assert bad.status_code == 400

    asyncio.run(scenario())


def test_bulk_retry_takes_the_list_filters_and_only_failed_ones() -> None:
    async def scenario() -> None:
        async with receiver() as recv, client_for(new_app()) as client:
            recv.status = 500
            await failed_connect(client, recv.url)
            failed = (await client.get("/__admin/deliveries", params={"state": "failed"})).json()[
                "deliveries"
            ]
            assert {d["callback"] for d in failed} == {"connect", "terminal"}
            recv.status = 200
            answer = valid(
                "mockline-admin",
                await client.post("/__admin/deliveries/retry", params={"callback": "terminal"}),
            ).json()
            terminal = [d["id"] for d in failed if d["callback"] == "terminal"]
            assert answer == {"retried": terminal, "count": len(terminal)}
            states = {
                d["callback"]: d["state"]
                for d in (await client.get("/__admin/deliveries")).json()["deliveries"]
            }
            assert states == {"connect": "failed", "terminal": "delivered"}
            none = (await client.post("/__admin/deliveries/retry", params={"callback": "terminal"})).json()
            assert none == {"retried": [], "count": 0}
            wrong = await client.post("/__admin/deliveries/retry", params={"state": "delivered"})
            assert valid("mockline-admin", wrong).status_code == 400

    asyncio.run(scenario())


def test_pause_holds_the_realtime_clock_and_changes_nothing_on_a_manual_one() -> None:
    async def scenario() -> None:
        app = create_app(Settings(clock="realtime", time_scale=1000, rate_limit=False))
        async with client_for(app) as client:
            paused = valid("mockline-admin", await client.post("/__admin/clock/pause")).json()
            assert paused["paused"] is True
            await asyncio.sleep(0.05)
            still = (await client.get("/__admin/clock")).json()
            assert still["now"] == paused["now"]
            moved = (await client.post("/__admin/clock/advance", json={"seconds": 60})).json()
            assert moved["now"] > paused["now"] and moved["paused"] is True
            resumed = valid("mockline-admin", await client.post("/__admin/clock/resume")).json()
            assert resumed["paused"] is False and resumed["now"] == moved["now"][:17] + resumed["now"][17:]
            await asyncio.sleep(0.05)
            assert (await client.get("/__admin/clock")).json()["now"] > resumed["now"]
        async with client_for(new_app()) as client:
            before = (await client.get("/__admin/clock")).json()
            for verb in ("pause", "resume"):
                answer = valid("mockline-admin", await client.post(f"/__admin/clock/{verb}")).json()
                assert answer == {**before, "paused": False}

    asyncio.run(scenario())


def read_events(response: httpx.Response, until: str, seconds: float = 10) -> list[tuple[str, Any]]:
    """Events as they come, up to and including the first of kind ``until``."""
    events: list[tuple[str, Any]] = []
    kind = None
    deadline = time.monotonic() + seconds
    for line in response.iter_lines():
        if line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("data: ") and kind:
            events.append((kind, json.loads(line[6:])))
            if kind == until:
                break
        if time.monotonic() > deadline:
            break
    return events


@pytest.mark.slow
def test_the_event_stream_tells_requests_calls_deliveries_and_clock_moves() -> None:
    app = new_app()
    with serving(app) as url, httpx.Client(base_url=url, timeout=10) as client:
        with client.stream("GET", "/__admin/events") as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            client.post(PUSH, headers=RYNG, json=lead("http://127.0.0.1:9/none"))
            client.post("/__admin/clock/advance", json={"seconds": 5})
            events = read_events(stream, "clock")
        kinds = [k for k, _ in events]
        assert "request" in kinds and "call" in kinds and "clock" in kinds
        push = next(d for k, d in events if k == "request")
        assert push["operationId"] == "pushTransactional" and push["status"] == 200 and push["errors"] == 0
        call = next(d for k, d in events if k == "call")
        assert call["callID"] == 1
        clock = next(d for k, d in events if k == "clock")
        assert clock["now"] == "2026-01-05T09:00:05.000Z"
        deadline = time.monotonic() + 10
        while app.runtime.events.subscribers and time.monotonic() < deadline:
            time.sleep(0.05)
        assert app.runtime.events.subscribers == []  # the stream unsubscribed when the client left
        only = client.get("/__admin/events", params={"types": "nonsense"})
        assert only.status_code == 400


@pytest.mark.slow
def test_a_filtered_stream_sends_only_the_kinds_asked_for() -> None:
    app = new_app()
    with serving(app) as url, httpx.Client(base_url=url, timeout=10) as client:
        with client.stream("GET", "/__admin/events", params={"types": "clock"}) as stream:
            client.post(PUSH, headers=RYNG, json=lead("http://127.0.0.1:9/none"))
            client.post("/__admin/clock/advance", json={"seconds": 1})
            events = read_events(stream, "clock")
        assert [k for k, _ in events] == ["clock"]
