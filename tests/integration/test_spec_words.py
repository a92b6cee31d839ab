"""The mock answers with the words and numbers a spec's ``x-mockline`` states, read from the spec.

Each test serves a copy of the shipped specs in which the messages (``x-mockline.messages``), a lifetime
(``x-mockline.tokens``) or a cap (``x-mockline.limits``) are changed, and asks the mock over HTTP: the
answers must follow the copy. A text or number written a second time in code keeps the shipped value
and fails. What is expected is read from the YAML with PyYAML, never with mockline's own readers.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from mockserver.settings import Credentials
from tests.fixtures.mockline_http import CRM_BASIC, CRM_CALL, client_for
from tests.integration.spec_copies import edited_messages, serve_edited, shipped

TOKEN = "/ringme/oauth/token"
CREDS = {"grant_type": "client_credentials", "client_id": "mockline", "client_secret": "mockline"}
EVENTS = "/ringme/api/ver1.0/client/12/agent/local/{agent}/event/"
SUBSCRIPTION = {"url": "https://crm.example.com/hook", "event_type": "agent-login", "method": "POST"}
NO_SECRET = {k: v for k, v in CREDS.items() if k != "client_secret"}
DIYALOG = {"Auth-Token": "mockline"}


def test_ringme_states_each_cap_lifetime_and_text_its_examples_show() -> None:
    """The cap and the texts its examples show are the ones x-mockline states (read with PyYAML)."""
    spec = shipped("ringme")
    mock = spec["x-mockline"]
    limits = spec["paths"]["/api/ver1.0/client/{client_id}/limits/"]["get"]["responses"]["200"]
    shown = limits["content"]["application/json"]["examples"]["some-used"]["value"]
    assert shown["agent_events"]["limit"] == mock["limits"]["agent_events"] == 10
    assert mock["tokens"]["access"] == 3600 and mock["tokens"]["code"] == 600


async def _oauth_refusal(client: httpx.AsyncClient, form: dict[str, str], status: int = 400) -> str:
    answer = await client.post(TOKEN, data=form)
    assert answer.status_code == status, answer.text
    description: str = answer.json()["error_description"]
    return description


async def _bearer(client: httpx.AsyncClient, client_id: str, secret: str) -> dict[str, str]:
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    answer = await client.post(TOKEN, data=form)
    assert answer.status_code == 200, answer.text
    return {"authorization": f"Bearer {answer.json()['access_token']}"}


def _detail(answer: httpx.Response, status: int) -> str:
    assert answer.status_code == status, answer.text
    detail: str = answer.json()["detail"]
    return detail


def test_ringme_refusals_caps_and_code_lifetime_follow_the_spec(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    said, edits = edited_messages("ringme")
    mock = shipped("ringme")["x-mockline"]
    assert (mock["limits"]["agent_events"], mock["tokens"]["code"]) == (10, 600)
    edits += [
        ("    agent_events: 10\n", "    agent_events: 1\n"),
        ("    code: 600\n", "    code: 30\n"),
        # a grant the spec accepts but the PBX does not run reaches the handler's last refusal
        (
            "enum: [client_credentials, password, authorization_code, refresh_token]",
            "enum: [client_credentials, password, authorization_code, refresh_token, implicit]",
        ),
    ]
    credentials = {
        "ringme": Credentials(clients=(("mockline", "mockline"), ("widget", "w"), ("branch", "b")))
    }
    config = {"ringme": {"applications": {"widget": {"access": "call_api"}, "branch": {"clients": ["13"]}}}}
    app = serve_edited(monkeypatch, tmp_path, "ringme", edits, credentials=credentials, config=config)
    password = {**CREDS, "grant_type": "password"}
    by_code = {"grant_type": "authorization_code", "client_id": "mockline"}

    async def approve(client: httpx.AsyncClient, client_id: str, redirect: str | None = None) -> str:
        body = {"client_id": client_id} | ({"redirect_uri": redirect} if redirect else {})
        answer = await client.post("/__admin/ringme/oauth/authorize", json=body)
        assert answer.status_code == 200, answer.text
        code: str = answer.json()["code"]
        return code

    async def scenario() -> dict[str, str]:
        seen: dict[str, str] = {}
        async with client_for(app) as client:
            oauth = _oauth_refusal
            seen["oauth_client_id_missing"] = await oauth(client, {"grant_type": "client_credentials"})
            seen["oauth_secret_missing"] = await oauth(client, NO_SECRET)
            seen["oauth_client_unknown"] = await oauth(client, {**CREDS, "client_secret": "no"}, 401)
            seen["oauth_code_missing"] = await oauth(client, by_code)
            seen["oauth_user_missing"] = await oauth(client, password)
            seen["oauth_user_refused"] = await oauth(client, {**password, "username": "x", "password": "y"})
            seen["oauth_refresh_invalid"] = await oauth(
                client, {**CREDS, "grant_type": "refresh_token", "refresh_token": "r1.nope"}
            )
            seen["oauth_grant_unsupported"] = await oauth(client, {**CREDS, "grant_type": "implicit"})
            seen["code_invalid"] = await oauth(client, {**by_code, "code": "nope"})
            other = await approve(client, "widget")
            seen["code_other_client"] = await oauth(client, {**by_code, "code": other})
            sent = await approve(client, "mockline", "https://app.example.com/a")
            seen["code_redirect_differs"] = await oauth(
                client, {**by_code, "code": sent, "redirect_uri": "https://app.example.com/b"}
            )
            # the edited code lifetime: 30 s; a code is good 29 s on and refused 31 s on
            fresh = await approve(client, "mockline")
            await client.post("/__admin/clock/advance", json={"seconds": 29})
            seen["code after 29 s"] = str(
                (await client.post(TOKEN, data={**by_code, "code": fresh})).status_code
            )
            stale = await approve(client, "mockline")
            await client.post("/__admin/clock/advance", json={"seconds": 31})
            late = await client.post(TOKEN, data={**by_code, "code": stale})
            seen["code_expired"] = str(late.json().get("error_description", late.status_code))

            auth = await _bearer(client, "mockline", "mockline")
            limits = await client.get("/ringme/api/ver1.0/client/12/limits/", headers=auth)
            seen["cap"] = str(limits.json()["agent_events"]["limit"])
            first = await client.post(EVENTS.format(agent=136), headers=auth, json=SUBSCRIPTION)
            assert first.status_code == 201, first.text
            over = await client.post(EVENTS.format(agent=136), headers=auth, json=SUBSCRIPTION)
            seen["subscription_cap"] = str(over.json().get("detail", over.status_code))
            unknown_event = await client.get(EVENTS.format(agent=136) + "999", headers=auth)
            seen["event_unknown"] = _detail(unknown_event, 404)
            seen["agent_unknown"] = _detail(await client.get(EVENTS.format(agent=999), headers=auth), 404)

            call_api_only = await _bearer(client, "widget", "w")
            refused = await client.get(EVENTS.format(agent=136), headers=call_api_only)
            seen["agent_events_forbidden"] = _detail(refused, 403)
            branch = await _bearer(client, "branch", "b")
            other_client = await client.get("/ringme/api/ver1.0/client/12/limits/", headers=branch)
            seen["client_forbidden"] = _detail(other_client, 403)
            no_client = await client.get("/ringme/api/ver1.0/client/13/limits/", headers=branch)
            seen["client_unknown"] = _detail(no_client, 404)
        return seen

    filled: dict[str, dict[str, Any]] = {
        "subscription_cap": {"limit": 1},
        "event_unknown": {"event_id": 999, "agent_type": "local", "agent_id": 136},
        "agent_unknown": {"client_id": 12, "agent_type": "local", "agent_id": 999},
        "client_forbidden": {"client_id": 12},
        "client_unknown": {"client_id": 13},
    }
    expected = {key: text.format(**filled.get(key, {})) for key, text in said.items()}
    expected |= {"code after 29 s": "200", "cap": "1"}  # the edited lifetime (30 s) and cap (1)
    assert asyncio.run(scenario()) == expected


def test_diyalog_refusals_use_the_words_of_the_spec(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    said, edits = edited_messages("diyalog")
    good = {"sessionId": "s-1", "token": "t-1", "userNo": "70012"}
    config = {
        "diyalog": {
            "agents": 1,
            "pickup_seconds": 5,
            "session_tokens": [good, {**good, "token": "t-old", "valid_seconds": 0}],
        }
    }
    # without its format the schema lets any text through, and the store's own check answers
    edits.append(("          format: byte\n", ""))
    app = serve_edited(monkeypatch, tmp_path, "diyalog", edits, config=config)

    async def scenario() -> tuple[dict[str, str], dict[str, str]]:
        seen: dict[str, str] = {}
        ids: dict[str, str] = {}
        async with client_for(app) as client:

            async def refused_token(change: dict[str, str]) -> str:
                answer = await client.get("/diyalog/CheckToken", params={**good, **change}, headers=DIYALOG)
                assert answer.status_code == 200 and answer.json()["success"] is False, answer.text
                text: str = answer.json()["errorMessage"]
                return text

            async def refused(answer: httpx.Response, status: int) -> str:
                assert answer.status_code == status, answer.text
                text: str = answer.json()["errorMessage"]
                return text

            async def create() -> str:
                made = await client.post(
                    "/diyalog/CreateInteraction", json={"customerId": "1"}, headers=DIYALOG
                )
                assert made.status_code == 200, made.text
                interaction_id: str = made.json()["result"]["interactionId"]
                return interaction_id

            seen["session_token_invalid"] = await refused_token({"token": "t-none"})
            seen["session_token_other_session"] = await refused_token({"sessionId": "s-2"})
            seen["session_token_other_user"] = await refused_token({"userNo": "1"})
            seen["session_token_expired"] = await refused_token({"token": "t-old"})
            ids["interaction_unknown"] = "2121212129999"
            unknown = await client.delete("/diyalog/2121212129999", headers=DIYALOG)
            seen["interaction_unknown"] = await refused(unknown, 404)
            ids["interaction_with_agent"] = await create()  # offered to the one agent at once
            ids["interaction_deleted"] = await create()  # waits behind it
            deleted = ids["interaction_deleted"]
            assert (await client.delete(f"/diyalog/{deleted}", headers=DIYALOG)).status_code == 200
            again = await client.delete(f"/diyalog/{deleted}", headers=DIYALOG)
            seen["interaction_deleted"] = await refused(again, 404)
            await client.post("/__admin/clock/advance", json={"seconds": 6})  # the agent picks it up
            taken = await client.delete(f"/diyalog/{ids['interaction_with_agent']}", headers=DIYALOG)
            seen["interaction_with_agent"] = await refused(taken, 409)
            document = {
                "userId": "221122121",
                "fileName": "form.pdf",
                "fileType": "application/pdf",
                "base64FileContent": "%%%",
            }
            not_base64 = await client.post("/diyalog/CreateDocument", json=document, headers=DIYALOG)
            seen["document_not_base64"] = await refused(not_base64, 400)
        return seen, ids

    seen, ids = asyncio.run(scenario())
    expected = {
        key: text.format(interaction_id=ids[key]) if key in ids else text for key, text in said.items()
    }
    assert seen == expected


BASIC, CALL = CRM_BASIC, CRM_CALL


def test_an_uploaded_recording_is_served_where_the_control_plane_spec_says(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    admin = shipped("mockline-admin")
    assert (
        admin["paths"]["/crm/activities/{activity_id}/recording"]["get"]["operationId"] == "getCrmRecording"
    )
    app = serve_edited(
        monkeypatch,
        tmp_path,
        "mockline-admin",
        [("  /crm/activities/{activity_id}/recording:\n", "  /crm/activities/{activity_id}/audio:\n")],
        served=("ringotel-crm",),
    )
    audio = b"ID3 a short call"

    async def scenario() -> tuple[str, str, int, bytes]:
        async with client_for(app) as client:
            made = await client.post("/ringotel/activities", auth=BASIC, json=CALL)
            assert made.status_code == 201, made.text
            activity_id = made.json()["activity_id"]
            uploaded = await client.post(
                f"/ringotel/activities/{activity_id}/recording",
                auth=BASIC,
                files={"file": ("call.mp3", audio, "audio/mpeg")},
            )
            assert uploaded.status_code == 200, uploaded.text
            url = httpx.URL(uploaded.json()["recording_url"])
            fetched = await client.get(url.path)
            return activity_id, url.path, fetched.status_code, fetched.content

    activity_id, path, status, content = asyncio.run(scenario())
    assert path == f"{admin['x-mockline']['prefix']}/crm/activities/{activity_id}/audio"
    assert (status, content) == (200, audio)


def test_crm_records_hold_the_fields_their_schemas_list(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A field added to the Activity and Contact schemas is kept and answered; the lists are not in code."""
    schemas = shipped("ringotel-crm")["components"]["schemas"]
    assert "queue" not in schemas["Activity"]["properties"]
    assert "nickname" not in schemas["Contact"]["properties"]
    added = "          type: string\n          nullable: true\n          description: Added by the test.\n"
    app = serve_edited(
        monkeypatch,
        tmp_path,
        "ringotel-crm",
        [
            (
                "      description: A call activity as the CRM stores it.\n"
                "      required: [activity_id, call_id, activity_type, status, call_start]\n"
                "      properties:\n",
                "      description: A call activity as the CRM stores it.\n"
                "      required: [activity_id, call_id, activity_type, status, call_start]\n"
                f"      properties:\n        queue:\n{added}",
            ),
            (
                "      description: A contact as the CRM stores it.\n      required: [contact_id]\n      properties:\n",
                "      description: A contact as the CRM stores it.\n      required: [contact_id]\n"
                f"      properties:\n        nickname:\n{added}",
            ),
        ],
    )

    async def scenario() -> tuple[Any, Any, Any]:
        async with client_for(app) as client:
            made = await client.post("/ringotel/activities", auth=BASIC, json={**CALL, "queue": "sales"})
            assert made.status_code == 201, made.text
            contact = await client.post(
                "/ringotel/contacts", auth=BASIC, json={"phone": "+12125550143", "nickname": "Bo"}
            )
            assert contact.status_code == 201, contact.text
            renamed = await client.patch(
                f"/ringotel/contacts/{contact.json()['contact_id']}", auth=BASIC, json={"nickname": "Al"}
            )
            return made.json().get("queue"), contact.json().get("nickname"), renamed.json().get("nickname")

    assert asyncio.run(scenario()) == ("sales", "Bo", "Al")
