"""A killed mock with SQLite state delivers, after a restart, what was pending, and nothing twice."""

from __future__ import annotations

from collections import Counter
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures import ServeProcess, free_port, mockline_serve
from tests.integration.dialer_support import RYNG, TOKEN, Receiver, rows, urls


def _serve(state: Path, port: int) -> AbstractContextManager[ServeProcess]:
    config = state.with_suffix(".json")  # a tenant with no calls but those the test pushes
    config.write_text('{"ryng": {"scheduled_call": false}}')
    args = ("--clock", "manual", "--rate-limit", "off", "--seed", "4", "--state", f"sqlite:{state}")
    return mockline_serve(*args, "--config", str(config), port=port)


def _advance(base: str, seconds: float) -> dict[str, Any]:
    r = httpx.post(f"{base}/__admin/clock/advance", json={"seconds": seconds}, timeout=60)
    assert r.status_code == 200, r.text
    return dict(r.json())


@pytest.mark.slow
def test_a_killed_mock_delivers_what_was_pending_after_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # Terminal callbacks fail until the kill, so their retries are pending when the mock dies.
    with Receiver(statuses={"/terminal": 500}) as receiver:
        with _serve(state, port) as mock:
            numbers = ["+919811555000", "+919822555004", "+919833555001", "+919844555000"]
            body = {
                "maxRetries": 1,
                "retryInterval": 5,
                "customerData": {**urls(receiver), "jsonData": rows(numbers)},
            }
            r = httpx.post(f"{base}{RYNG}/progressive/queue/9/transactional", json=body, headers=TOKEN)
            assert r.status_code == 200
            before = _advance(base, 130)
            delivered_before = httpx.get(f"{base}/__admin/deliveries", params={"state": "delivered"}).json()
            assert delivered_before["deliveries"], "some callbacks went out before the kill"
            pending = httpx.get(f"{base}/__admin/deliveries", params={"state": "pending"}).json()[
                "deliveries"
            ]
            assert pending, "and some were still pending"
            assert before["pending_jobs"] > 0
            calls_before = httpx.get(f"{base}/__admin/calls").json()["calls"]
            last_event = max(h["at"] for c in calls_before for h in c["history"])
            mock.kill()
        received_before_kill = len(receiver.received)
        receiver.statuses["/terminal"] = 200

        with _serve(state, port) as mock:
            clock = httpx.get(f"{base}/__admin/clock").json()
            # The dialer keeps the time of its last event: a restarted clock never goes back before it.
            assert clock["now"] >= last_event
            _advance(base, 4 * 3600)
            calls = httpx.get(f"{base}/__admin/calls").json()["calls"]
            deliveries = httpx.get(f"{base}/__admin/deliveries").json()["deliveries"]
            mock.kill()

    assert len(receiver.received) > received_before_kill
    assert {c["state"] for c in calls} == {"completed", "unreachable"}
    ok = Counter((r.path, r.body["callID"]) for r in receiver.received if r.status == 200)
    call_ids = [c["callID"] for c in calls]
    assert [ok[("/terminal", i)] for i in call_ids] == [1] * len(call_ids), "one terminal each, none twice"
    answered = [c["callID"] for c in calls if c["state"] == "completed"]
    assert [ok[("/connect", i)] for i in answered] == [1] * len(answered)
    assert all(count == 1 for count in ok.values())
    assert {d["state"] for d in deliveries} == {"delivered"}
