"""A request's writes are committed together before its answer is sent, or not at all (issue 10)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from mockserver.app import create_app
from mockserver.core.dialer_dispatch import Dispatch
from mockserver.core.dialer_intake import CALLS
from mockserver.core.store import SQLiteStore
from mockserver.settings import Settings
from tests.fixtures import serving

PUSH = "/ryng/rest-api/v1/progressive/queue/12/transactional"
TOKEN = {"x-access-token": "mockline"}


def _body(*numbers: str) -> dict[str, object]:
    return {"customerData": {"jsonData": [{"number": n} for n in numbers]}}


def _app(path: Path) -> object:
    settings = Settings(
        clock="manual",
        rate_limit=False,
        apis=("ryng",),
        state=f"sqlite:{path}",
        config={"ryng": {"scheduled_call": False}},  # a tenant with no calls but those pushed
    )
    return create_app(settings)


def test_an_accepted_push_is_on_disk_with_its_jobs_before_the_answer(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with serving(_app(path)) as base:
        r = httpx.post(f"{base}{PUSH}", json=_body("+919800000001", "+919800000002"), headers=TOKEN)
        assert r.status_code == 200
        on_disk = SQLiteStore(path)  # what a kill right after the answer would leave
        assert {c["number"] for c in on_disk.values(CALLS)} == {"+919800000001", "+919800000002"}
        assert [j["kind"] for j in on_disk.values("jobs")] == ["ryng.dispatch"]


def test_a_push_that_fails_half_way_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "state.sqlite"

    def broken(self: Dispatch) -> None:
        raise RuntimeError("the dialer broke after storing the call")

    with serving(_app(path)) as base:
        monkeypatch.setattr(Dispatch, "schedule", broken)
        r = httpx.post(f"{base}{PUSH}", json=_body("+919800000003"), headers=TOKEN)
        assert r.status_code == 500
        assert list(SQLiteStore(path).values(CALLS)) == [], "the call went with the failed request"
        monkeypatch.undo()
        calls = httpx.get(f"{base}/__admin/calls").json()
        assert calls["calls"] == [] and calls["total"] == 0, "and the running mock agrees"
        r = httpx.post(f"{base}{PUSH}", json=_body("+919800000004"), headers=TOKEN)
        assert r.status_code == 200
        assert [c["callID"] for c in httpx.get(f"{base}/__admin/calls").json()["calls"]] == [1]
