"""The mock takes the defaults a spec writes (a parameter's or a body field's ``default``) from the spec.

Each test serves a copy of the shipped specs in which one ``default`` is changed, and asks the mock over
HTTP: the answer must follow the copy. A default written a second time in code keeps the shipped value
and fails. The shipped value itself is read from the YAML with PyYAML, so each test also says which
value it moved away from.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.mockline_http import CRM_BASIC, CRM_CALL, client_for
from tests.integration.spec_copies import serve_edited, shipped

BASIC, CALL = CRM_BASIC, CRM_CALL
RYNG = {"x-access-token": "mockline"}


def test_crm_lists_page_by_the_limit_and_offset_defaults_of_the_spec(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    parameters = shipped("ringotel-crm")["components"]["parameters"]
    assert (parameters["Limit"]["schema"]["default"], parameters["Offset"]["schema"]["default"]) == (100, 0)
    app = serve_edited(
        monkeypatch,
        tmp_path,
        "ringotel-crm",
        [
            ("        default: 100\n", "        default: 3\n"),
            ("        default: 0\n", "        default: 1\n"),
        ],
    )

    async def scenario() -> list[str]:
        async with client_for(app) as client:
            answer = await client.get("/ringotel/contacts", auth=BASIC)
            assert answer.status_code == 200, answer.text
            return [c["contact_id"] for c in answer.json()["records"]]

    assert asyncio.run(scenario()) == ["c-2002", "c-2003", "c-2004"]


def test_crm_activity_statuses_default_as_the_spec_says(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    schemas = shipped("ringotel-crm")["components"]["schemas"]
    assert schemas["ActivityCreate"]["properties"]["status"]["default"] == "in_progress"
    assert schemas["ActivityStop"]["properties"]["status"]["default"] == "completed"
    app = serve_edited(
        monkeypatch,
        tmp_path,
        "ringotel-crm",
        [
            ("          default: in_progress\n", "          default: missed\n"),
            ("          default: completed\n", "          default: failed\n"),
        ],
    )

    async def scenario() -> tuple[str, str]:
        async with client_for(app) as client:
            made = await client.post("/ringotel/activities", auth=BASIC, json=CALL)
            assert made.status_code == 201, made.text
            activity = made.json()
            stop = {"call_end": CALL["call_start"] + 127_000, "call_duration": 127}
            stopped = await client.post(
                f"/ringotel/activities/{activity['activity_id']}/stop", auth=BASIC, json=stop
            )
            assert stopped.status_code == 200, stopped.text
            return activity["status"], stopped.json()["status"]

    assert asyncio.run(scenario()) == ("missed", "failed")


def test_ryng_calls_are_mapped_to_agents_by_the_spec_default_agent_mapping(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert shipped("ryng")["components"]["schemas"]["AgentMapping"]["default"] == "all-agents"
    app = serve_edited(
        monkeypatch, tmp_path, "ryng", [("      default: all-agents\n", "      default: inline\n")]
    )
    lead = {"number": "+919812345678", "agentsAssigned": ["sana@example.com"]}

    async def scenario() -> Any:
        async with client_for(app) as client:
            pushed = await client.post(
                "/ryng/rest-api/v1/progressive/queue/3/calls",
                headers=RYNG,
                json={"customerData": {"jsonData": [lead]}},  # no agentMapping: the spec's default applies
            )
            assert pushed.status_code == 200, pushed.text
            calls = (await client.get("/__admin/calls", params={"number": lead["number"]})).json()["calls"]
            assert len(calls) == 1, calls
            return calls[0]["eligibleAgents"]

    assert asyncio.run(scenario()) == ["sana@example.com"]


def test_control_plane_lists_page_by_the_limit_defaults_of_the_admin_spec(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    admin = shipped("mockline-admin")
    assert admin["components"]["parameters"]["Limit"]["schema"]["default"] == 1000
    (journal_limit,) = (
        p for p in admin["paths"]["/requests"]["get"]["parameters"] if p.get("name") == "limit"
    )
    assert journal_limit["schema"]["default"] == 100
    app = serve_edited(
        monkeypatch,
        tmp_path,
        "mockline-admin",
        [("default: 1000}", "default: 2}"), ("default: 100}", "default: 1}")],
        served=("ringme",),
    )

    async def scenario() -> tuple[int, int]:
        async with client_for(app) as client:
            for _ in range(3):
                agents = await client.get("/__admin/ringme/clients/12/agents")
                assert agents.status_code == 200, agents.text
            journal = await client.get("/__admin/requests")
            assert journal.status_code == 200, journal.text
            return len(agents.json()["agents"]), len(journal.json()["requests"])

    assert asyncio.run(scenario()) == (2, 1)  # of seven agents seeded, and of three requests journaled
