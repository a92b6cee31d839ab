"""The mock's default state holds what the specs' examples show, read from the specs.

A documented example request succeeds against the default state because the state is seeded from the
examples: ringme's client, first local and remote agent (with extension and number) and first
subscription id, Diyalog's device and session tokens, the agents its routing example names and its first
interaction id. Diyalog's device-token verdicts are the words its spec lists.

Each test serves a copy of the shipped specs in which the examples are changed, and asks the mock over
HTTP: the answers must follow the copy. A value written a second time in code keeps the shipped value
and fails. The shipped values are read from the YAML with PyYAML, never with mockline's own readers.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from mockserver.settings import Credentials
from tests.fixtures.mockline_http import client_for, new_app
from tests.integration.spec_copies import serve_edited, shipped

TOKEN = "/ringme/oauth/token"
CREDS = {"grant_type": "client_credentials", "client_id": "mockline", "client_secret": "mockline"}
SUBSCRIPTION = {"url": "https://crm.example.com/hook", "event_type": "agent-login", "method": "POST"}
DIYALOG = {"Auth-Token": "mockline"}

# -- ringme ---------------------------------------------------------------------------------------------


def _ringme_examples(spec: dict[str, Any]) -> dict[str, Any]:
    """What ringme.yaml's examples show (PyYAML): the ids a documented request names and the agents the
    documented deliveries describe."""
    parameters = spec["components"]["parameters"]
    events = spec["paths"]["/api/ver1.0/client/{client_id}/agent/local/{agent_id}/event/"]["post"]
    post = events["callbacks"]["agentEvent"]["{$request.body#/url}"]["post"]
    deliveries = post["requestBody"]["content"]["application/x-www-form-urlencoded"]["examples"]
    by_type = {ex["value"]["agent_type"]: ex["value"] for ex in deliveries.values()}
    return {
        "client": parameters["ClientId"]["examples"]["client"]["value"],
        "agent": parameters["AgentId"]["examples"]["agent"]["value"],
        "remote": parameters["RemoteAgentId"]["examples"]["agent"]["value"],
        "event": parameters["EventId"]["examples"]["event"]["value"],
        "local_delivery": by_type["local"],
        "remote_delivery": by_type["remote"],
    }


async def _bearer(client: httpx.AsyncClient) -> dict[str, str]:
    answer = await client.post(TOKEN, data=CREDS)
    assert answer.status_code == 200, answer.text
    return {"authorization": f"Bearer {answer.json()['access_token']}"}


async def _ringme_state(app: Any, client_id: str, agent: int, remote: int) -> dict[str, Any]:
    """The seeded agents of ``client_id`` and the first subscriptions made to ``agent`` and ``remote``."""
    async with client_for(app) as client:
        auth = await _bearer(client)
        listed = await client.get(f"/__admin/ringme/clients/{client_id}/agents")
        assert listed.status_code == 200, listed.text
        base = f"/ringme/api/ver1.0/client/{client_id}/agent"
        made = await client.post(f"{base}/local/{agent}/event/", json=SUBSCRIPTION, headers=auth)
        assert made.status_code == 201, made.text
        event = made.json()["id"]
        read = await client.get(f"{base}/local/{agent}/event/{event}", headers=auth)
        assert read.status_code == 200, read.text
        remote_made = await client.post(f"{base}/remote/{remote}/event/", json=SUBSCRIPTION, headers=auth)
        assert remote_made.status_code == 201, remote_made.text
        return {
            "agents": {
                (a["agent_type"], a["agent_id"]): a.get("extension_name") or a.get("agent_number")
                for a in listed.json()["agents"]
            },
            "event": event,
        }


def test_ringme_default_state_is_what_the_shipped_examples_show() -> None:
    """The documented requests (client, agent, remote agent and subscription of the parameter examples)
    succeed against the default state, whose agents are the ones the delivery examples describe."""
    shown = _ringme_examples(shipped("ringme"))
    local, remote = shown["local_delivery"], shown["remote_delivery"]
    assert (str(shown["agent"]), str(shown["remote"])) == (local["agent_id"], remote["agent_id"])
    app = new_app(apis=("ringme",))
    state = asyncio.run(_ringme_state(app, shown["client"], shown["agent"], shown["remote"]))
    assert state["event"] == shown["event"]
    assert state["agents"][("local", shown["agent"])] == local["extension_name"]
    assert state["agents"][("remote", shown["remote"])] == remote["agent_number"]


def test_ringme_default_state_follows_the_examples_of_the_spec(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    shown = _ringme_examples(shipped("ringme"))
    assert (shown["client"], shown["agent"], shown["remote"], shown["event"]) == ("12", 136, 212, 150)
    assert shown["local_delivery"]["extension_name"] == "000*094@ringme.ru"
    assert shown["remote_delivery"]["agent_number"] == "79161234567"
    edits = [
        ("          value: '12'\n", "          value: '31'\n"),
        ("          value: 136\n", "          value: 301\n"),
        ("          value: 212\n", "          value: 480\n"),
        ("          value: 150\n", "          value: 700\n"),
        ("agent_id: '136'\n", "agent_id: '301'\n"),
        ("extension_name: 000*094@ringme.ru\n", "extension_name: 8*517@pbx.example.org\n"),
        ("agent_id: '212'\n", "agent_id: '480'\n"),
        ("agent_number: '79161234567'\n", "agent_number: '79035550101'\n"),
    ]
    credentials = {"ringme": Credentials(clients=(("mockline", "mockline"),))}
    app = serve_edited(monkeypatch, tmp_path, "ringme", edits, credentials=credentials)
    state = asyncio.run(_ringme_state(app, "31", 301, 480))
    assert state["event"] == 700
    assert {k: v for k, v in state["agents"].items() if k[0] == "local"} == {
        ("local", 301): "8*517@pbx.example.org",
        ("local", 302): "8*518@pbx.example.org",
        ("local", 303): "8*519@pbx.example.org",
        ("local", 304): "8*520@pbx.example.org",
    }
    assert [k for k in state["agents"] if k[0] == "remote"] == [
        ("remote", 480),
        ("remote", 481),
        ("remote", 482),
    ]
    assert state["agents"][("remote", 480)] == "79035550101"

    async def shipped_client() -> int:
        async with client_for(app) as client:
            return (await client.get("/__admin/ringme/clients/12/agents")).status_code

    assert asyncio.run(shipped_client()) == 404  # the shipped example's client is not seeded


def test_ringme_config_still_overrides_the_examples(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A configured client without domain, prefix or agents takes them from the (edited) examples; what
    the config gives wins."""
    edits = [("extension_name: 000*094@ringme.ru\n", "extension_name: 8*517@pbx.example.org\n")]
    config = {
        "ringme": {
            "clients": {
                "44": {},
                "45": {
                    "domain": "own.example",
                    "prefix": "9",
                    "local_agents": [{"id": 5, "extension": "77"}],
                },
            }
        }
    }
    app = serve_edited(monkeypatch, tmp_path, "ringme", edits, config=config)

    async def scenario() -> tuple[list[Any], list[Any]]:
        async with client_for(app) as client:
            seen = []
            for client_id in ("44", "45"):
                listed = await client.get(f"/__admin/ringme/clients/{client_id}/agents")
                assert listed.status_code == 200, listed.text
                seen.append(
                    [a.get("extension_name") for a in listed.json()["agents"] if a["agent_type"] == "local"]
                )
            return seen[0], seen[1]

    first, second = asyncio.run(scenario())
    assert first == [f"8*{n}@pbx.example.org" for n in (517, 518, 519, 520)]
    assert second == ["9*77@own.example"]


# -- Diyalog ----------------------------------------------------------------------------------------------


def _diyalog_examples(spec: dict[str, Any]) -> dict[str, Any]:
    paths = spec["paths"]
    device = paths["/checkauthtoken"]["post"]["requestBody"]["content"]["application/json"]["examples"]
    session = {p["name"]: p["examples"] for p in paths["/CheckToken"]["get"]["parameters"]}
    created = paths["/CreateInteraction"]["post"]["requestBody"]["content"]["application/json"]["examples"]
    (deleted,) = paths["/{interactionId}"]["delete"]["parameters"]
    return {
        "device": device["device-token"]["value"],
        "session": {name: next(iter(examples.values()))["value"] for name, examples in session.items()},
        "routed": created["attached-data-list"]["value"],
        "interaction": deleted["examples"]["queued"]["value"],
    }


async def _diyalog_answers(app: Any, shown: dict[str, Any]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    async with client_for(app) as client:

        async def verdict(body: dict[str, Any]) -> str:
            answer = await client.post("/diyalog/checkauthtoken", json=body, headers=DIYALOG)
            assert answer.status_code == 200, answer.text
            return answer.text

        seen["device"] = await verdict(shown["device"])
        seen["expired"] = await verdict({**shown["device"], "dlgToken": "dlg.expired"})
        session = await client.get("/diyalog/CheckToken", params=shown["session"], headers=DIYALOG)
        assert session.status_code == 200, session.text
        seen["session"] = session.json()["success"]
        created = await client.post("/diyalog/CreateInteraction", json=shown["routed"], headers=DIYALOG)
        assert created.status_code == 200, created.text
        seen["interaction"] = created.json()["result"]["interactionId"]
        agents = (await client.get("/__admin/diyalog/agents")).json()["agents"]
        seen["agents"] = [a["agent_id"] for a in agents]
        seen["offered_to"] = [a["agent_id"] for a in agents if a["interaction"] == seen["interaction"]]
        withdrawn = await client.delete(f"/diyalog/{shown['interaction']}", headers=DIYALOG)
        seen["withdrawn"] = withdrawn.status_code
    return seen


def test_diyalog_default_state_is_what_the_shipped_examples_show() -> None:
    shown = _diyalog_examples(shipped("diyalog"))
    managers = {k: v for entry in shown["routed"]["attachedData"] for k, v in entry.items() if "Manager" in k}
    seen = asyncio.run(_diyalog_answers(new_app(apis=("diyalog",)), shown))
    assert (seen["device"], seen["expired"], seen["session"]) == ("Validated", "ExpiredToken", True)
    assert seen["interaction"] == shown["interaction"]
    assert seen["offered_to"] == [managers["PrimaryProjectManagerId"]]
    assert seen["agents"][:2] == [managers["PrimaryProjectManagerId"], managers["SecondaryProjectManagerId"]]
    assert seen["withdrawn"] == 200


def test_diyalog_default_state_follows_the_examples_of_the_spec(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    before = _diyalog_examples(shipped("diyalog"))
    assert before["device"]["dlgToken"] == "dlg.eyJzdWIiOiIyMjExMjIxMjEifQ.c2lnbmF0dXJl"
    assert before["session"] == {
        "sessionId": "4b1d9c2e-8f3a-4c6b-b0d1-7e2f9a3c5d10",
        "token": "a4f0c3d2e1b0",
        "userNo": "70012",
    }
    assert before["interaction"] == "2121212121212"
    edits = [
        (
            "deviceId: 6f1c2a9e-3b7d-4e52-9a10-2c4d5e6f7a8b\n",
            "deviceId: 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d\n",
        ),
        ("dlgToken: dlg.eyJzdWIiOiIyMjExMjIxMjEifQ.c2lnbmF0dXJl\n", "dlgToken: dlg.edited.token\n"),
        ("customerNo: '221122121'\n", "customerNo: '990011223'\n"),
        ("deviceHash: 9b74c9897bac770ffc029102a200c5de\n", "deviceHash: 00112233445566778899aabbccddeeff\n"),
        ("value: 4b1d9c2e-8f3a-4c6b-b0d1-7e2f9a3c5d10\n", "value: 9e8d7c6b-5a49-4382-9716-a5b4c3d2e1f0\n"),
        ("value: a4f0c3d2e1b0\n", "value: b5e1d4c3f2a1\n"),
        ("value: '70012'\n", "value: '80023'\n"),
        ("- PrimaryProjectManagerId: '123456'\n", "- PrimaryProjectManagerId: '424242'\n"),
        ("- SecondaryProjectManagerId: '654321'\n", "- SecondaryProjectManagerId: '535353'\n"),
        ("interactionId: '2121212121212'\n", "interactionId: '5000000000001'\n"),
        ("interactionId: '2121212121213'\n", "interactionId: '5000000000002'\n"),
        ("              value: '2121212121212'\n", "              value: '5000000000001'\n"),
    ]
    app = serve_edited(monkeypatch, tmp_path, "diyalog", edits)
    after = _diyalog_examples(_read_copy(tmp_path, "diyalog"))  # the edited copy, by PyYAML
    seen = asyncio.run(_diyalog_answers(app, after))
    assert (seen["device"], seen["expired"], seen["session"]) == ("Validated", "ExpiredToken", True)
    assert seen["interaction"] == "5000000000001"
    assert seen["agents"] == ["424242", "535353", "700000"]
    assert seen["offered_to"] == ["424242"]
    assert seen["withdrawn"] == 200

    async def shipped_tokens() -> tuple[str, bool]:
        async with client_for(app) as client:
            device = await client.post("/diyalog/checkauthtoken", json=before["device"], headers=DIYALOG)
            session = await client.get("/diyalog/CheckToken", params=before["session"], headers=DIYALOG)
            return device.text, session.json()["success"]

    assert asyncio.run(shipped_tokens()) == (
        "InvalidToken",
        False,
    )  # the shipped examples' tokens are unknown


def _read_copy(tmp_path: Path, api: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((tmp_path / "specs" / f"{api}.yaml").read_text("utf-8"))
    return loaded


def test_diyalog_device_token_verdicts_are_the_words_of_the_spec(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    schema = shipped("diyalog")["components"]["schemas"]["CheckAuthTokenVerdict"]
    words = {"Validated": "Accepted", "InvalidToken": "UnknownToken", "ExpiredToken": "TokenTooOld"}
    words["InvalidDeviceId"] = "OtherDevice"
    assert set(words) <= set(schema["enum"])
    edits = [
        (f"                  value: {old}\n", f"                  value: {new}\n")
        for old, new in words.items()
    ]
    edits.append(
        (
            "enum: [Validated, InvalidToken, ExpiredToken, InvalidDeviceId, InternalError, BadRequest]",
            "enum: [Accepted, UnknownToken, TokenTooOld, OtherDevice, InternalError, BadRequest]",
        )
    )
    device = _diyalog_examples(shipped("diyalog"))["device"]
    app = serve_edited(monkeypatch, tmp_path, "diyalog", edits)

    async def scenario() -> list[str]:
        async with client_for(app) as client:
            out = []
            for body in (
                device,
                {**device, "dlgToken": "no-such-token"},
                {**device, "dlgToken": "dlg.expired"},
                {**device, "deviceId": "another-device"},
            ):
                answer = await client.post("/diyalog/checkauthtoken", json=body, headers=DIYALOG)
                assert answer.status_code == 200, answer.text
                out.append(answer.text)
            return out

    assert asyncio.run(scenario()) == ["Accepted", "UnknownToken", "TokenTooOld", "OtherDevice"]
