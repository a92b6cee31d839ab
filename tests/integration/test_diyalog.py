"""Diyalog queueing services, the bank's side, end to end over HTTP: interactions taken by the agent pool
over the clock, withdrawals, token checks and documents. Every response is validated with openapi-core."""

from __future__ import annotations

import asyncio
import base64

import httpx

from tests.fixtures.mockline_http import client_for, new_app, valid

AUTH = {"Auth-Token": "mockline"}
DEVICE = {
    "deviceId": "6f1c2a9e-3b7d-4e52-9a10-2c4d5e6f7a8b",
    "dlgToken": "dlg.eyJzdWIiOiIyMjExMjIxMjEifQ.c2lnbmF0dXJl",
    "customerNo": "221122121",
    "deviceHash": "9b74c9897bac770ffc029102a200c5de",
}


async def create(client: httpx.AsyncClient, body: dict[str, object]) -> str:
    answer = valid("diyalog", await client.post("/diyalog/CreateInteraction", json=body, headers=AUTH))
    assert answer.status_code == 200, answer.text
    assert answer.json()["success"] is True
    return str(answer.json()["result"]["interactionId"])


async def interaction(client: httpx.AsyncClient, interaction_id: str) -> dict[str, object]:
    answer = await client.get(f"/__admin/diyalog/interactions/{interaction_id}")
    valid("mockline-admin", answer)
    return dict(answer.json())


def test_interactions_are_queued_picked_up_by_agents_and_withdrawn_only_while_waiting() -> None:
    async def scenario() -> None:
        app = new_app(config={"diyalog": {"agents": 1, "pickup_seconds": 10, "handle_seconds": 100}})
        async with client_for(app) as client:
            listed = await create(
                client, {"customerId": "221122121", "attachedData": [{"TRX": "Diyalog"}, {"Branch": "7"}]}
            )
            mapped = await create(
                client,
                {
                    "customerId": "221122122",
                    "identityNumber": "12345678901",
                    "attachedData": {"TRX": "CustomerOnboarding"},
                },
            )
            third = await create(client, {"customerId": "221122123"})
            first = await interaction(client, listed)
            assert first["state"] == "offered" and first["agent_id"] == "123456"
            assert first["attachedData"] == [{"TRX": "Diyalog"}, {"Branch": "7"}]
            assert first["routing"] == {"TRX": "Diyalog", "Branch": "7"}
            second = await interaction(client, mapped)
            assert second["state"] == "queued" and second["identityNumber"] == "12345678901"
            assert second["attachedData"] == {"TRX": "CustomerOnboarding"}

            await client.post("/__admin/clock/advance", json={"seconds": 10})
            assert (await interaction(client, listed))["state"] == "with_agent"
            taken = valid("diyalog", await client.delete(f"/diyalog/{listed}", headers=AUTH))
            assert taken.status_code == 409 and taken.json()["success"] is False

            withdrawn = valid("diyalog", await client.delete(f"/diyalog/{third}", headers=AUTH))
            assert withdrawn.status_code == 200 and withdrawn.json()["success"] is True
            assert (await interaction(client, third))["state"] == "withdrawn"
            assert valid("diyalog", await client.delete(f"/diyalog/{third}", headers=AUTH)).status_code == 404
            unknown = valid("diyalog", await client.delete("/diyalog/0000000000001", headers=AUTH))
            assert unknown.status_code == 404 and "not found" in unknown.json()["errorMessage"]

            await client.post("/__admin/clock/advance", json={"seconds": 100})
            assert (await interaction(client, listed))["state"] == "completed"
            assert (await interaction(client, mapped))["state"] == "offered"
            # offered but not yet taken: still withdrawn, and never reaches the agent
            assert (
                valid("diyalog", await client.delete(f"/diyalog/{mapped}", headers=AUTH)).status_code == 200
            )
            await client.post("/__admin/clock/advance", json={"seconds": 60})
            assert (await interaction(client, mapped))["state"] == "withdrawn"
            agents = valid("mockline-admin", await client.get("/__admin/diyalog/agents")).json()["agents"]
            assert agents[0]["state"] == "idle" and agents[0]["interaction"] is None
            states = valid(
                "mockline-admin",
                await client.get("/__admin/diyalog/interactions", params={"state": "withdrawn"}),
            )
            assert [i["interactionId"] for i in states.json()["interactions"]] == [mapped, third]

    asyncio.run(scenario())


def test_a_named_portfolio_manager_gets_the_call_first() -> None:
    async def scenario() -> None:
        async with client_for(new_app()) as client:
            first = await create(
                client, {"customerId": "1", "attachedData": [{"SecondaryProjectManagerId": "654321"}]}
            )
            second = await create(
                client, {"customerId": "2", "attachedData": {"PrimaryProjectManagerId": "999"}}
            )
            assert (await interaction(client, first))["agent_id"] == "654321"
            assert (await interaction(client, second))["agent_id"] == "123456"

    asyncio.run(scenario())


def test_create_interaction_refuses_bad_input_and_bad_token() -> None:
    async def scenario() -> None:
        async with client_for(new_app()) as client:
            for body in (
                {"attachedData": {"TRX": "x"}},
                {"customerId": 221122121},
                {"customerId": "1", "attachedData": 5},
                {"customerId": "1", "attachedData": [{"a": "1", "b": "2"}]},
                {"customerId": "1", "attachedData": {"a": 1}},
            ):
                refused = valid(
                    "diyalog", await client.post("/diyalog/CreateInteraction", json=body, headers=AUTH)
                )
                assert refused.status_code == 400, body
                assert refused.json()["success"] is False
            for headers in ({}, {"Auth-Token": "wrong"}):
                denied = valid(
                    "diyalog",
                    await client.post(
                        "/diyalog/CreateInteraction", json={"customerId": "1"}, headers=headers
                    ),
                )
                assert denied.status_code == 401
            assert (
                valid(
                    "diyalog", await client.delete("/diyalog/123", headers={"Auth-Token": "no"})
                ).status_code
                == 401
            )

    asyncio.run(scenario())


def test_checkauthtoken_answers_each_verdict_as_plain_text() -> None:
    async def scenario() -> None:
        config = {
            "diyalog": {
                "device_tokens": [
                    {**DEVICE},
                    {**DEVICE, "dlgToken": "soon-expired", "valid_seconds": 30},
                ]
            }
        }
        async with client_for(new_app(config=config)) as client:

            async def verdict(body: dict[str, str]) -> str:
                answer = valid(
                    "diyalog", await client.post("/diyalog/checkauthtoken", json=body, headers=AUTH)
                )
                assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
                return answer.text

            assert await verdict(DEVICE) == "Validated"
            assert await verdict({**DEVICE, "dlgToken": "dlg.unknown"}) == "InvalidToken"
            assert await verdict({**DEVICE, "customerNo": "1"}) == "InvalidToken"
            assert await verdict({**DEVICE, "deviceId": "another-device"}) == "InvalidDeviceId"
            assert await verdict({**DEVICE, "deviceHash": "0" * 32}) == "InvalidDeviceId"
            assert await verdict({**DEVICE, "dlgToken": "soon-expired"}) == "Validated"
            await client.post("/__admin/clock/advance", json={"seconds": 30})
            assert await verdict({**DEVICE, "dlgToken": "soon-expired"}) == "ExpiredToken"
            missing = {k: v for k, v in DEVICE.items() if k != "deviceHash"}
            bad = valid("diyalog", await client.post("/diyalog/checkauthtoken", json=missing, headers=AUTH))
            assert bad.status_code == 400 and bad.json()["success"] is False

    asyncio.run(scenario())


def test_checktoken_verifies_agent_session_tokens_from_config() -> None:
    async def scenario() -> None:
        good = {
            "sessionId": "4b1d9c2e-8f3a-4c6b-b0d1-7e2f9a3c5d10",
            "token": "a4f0c3d2e1b0",
            "userNo": "70012",
        }
        async with client_for(new_app()) as client:
            ok = valid("diyalog", await client.get("/diyalog/CheckToken", params=good, headers=AUTH))
            assert ok.json()["success"] is True and ok.json()["result"]["userNo"] == "70012"
            for change, reason in (
                ({"token": "nope"}, "not valid"),
                ({"sessionId": "s2"}, "session"),
                ({"userNo": "1"}, "user"),
            ):
                refused = valid(
                    "diyalog",
                    await client.get("/diyalog/CheckToken", params={**good, **change}, headers=AUTH),
                )
                assert refused.status_code == 200 and refused.json()["success"] is False
                assert reason in refused.json()["errorMessage"]
            missing = valid(
                "diyalog", await client.get("/diyalog/CheckToken", params={"token": "x"}, headers=AUTH)
            )
            assert missing.status_code == 400

    asyncio.run(scenario())


def test_documents_are_stored_and_readable_through_the_control_plane() -> None:
    async def scenario() -> None:
        content = b"%PDF-1.4 signed form"
        body = {
            "userId": "221122121",
            "fileName": "application-form.pdf",
            "fileType": "application/pdf",
            "fileDescription": "Signed account opening form",
            "base64FileContent": base64.b64encode(content).decode(),
            "dmsFolderName": "Onboarding",
            "documentFields": [{"CustomerNo": "221122121"}, {"DocumentKind": "AccountOpening"}],
        }
        async with client_for(new_app()) as client:
            stored = valid("diyalog", await client.post("/diyalog/CreateDocument", json=body, headers=AUTH))
            assert stored.status_code == 200 and stored.json()["success"] is True
            document_id = stored.json()["documentId"]
            read = valid("mockline-admin", await client.get(f"/__admin/diyalog/documents/{document_id}"))
            assert base64.b64decode(read.json()["base64FileContent"]) == content
            assert (
                read.json()["size"] == len(content)
                and read.json()["documentFields"] == body["documentFields"]
            )
            listed = valid("mockline-admin", await client.get("/__admin/diyalog/documents")).json()[
                "documents"
            ]
            assert [d["documentId"] for d in listed] == [document_id] and "base64FileContent" not in listed[0]

            not_base64 = valid(
                "diyalog",
                await client.post(
                    "/diyalog/CreateDocument", json={**body, "base64FileContent": "%%%"}, headers=AUTH
                ),
            )
            assert not_base64.status_code == 400 and "base64" in not_base64.json()["errorMessage"]
            no_name = {k: v for k, v in body.items() if k != "fileName"}
            assert (
                valid(
                    "diyalog", await client.post("/diyalog/CreateDocument", json=no_name, headers=AUTH)
                ).status_code
                == 400
            )
            wrong_fields = {**body, "documentFields": [{"a": 1}]}
            assert (
                valid(
                    "diyalog", await client.post("/diyalog/CreateDocument", json=wrong_fields, headers=AUTH)
                ).status_code
                == 400
            )
            assert (
                valid("mockline-admin", await client.get("/__admin/diyalog/documents/DOC-0")).status_code
                == 404
            )

    asyncio.run(scenario())
