"""ringme PBX end to end over HTTP: tokens, subscriptions, the cap, and agent events delivered to a real
receiver. Every response and every delivery is validated with openapi-core against ringme.yaml."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from mockserver.settings import Credentials
from tests.fixtures.mockline_http import client_for, new_app, receiver, valid, valid_delivery

EVENTS = "/ringme/api/ver1.0/client/12/agent/{kind}/{agent}/event/"
CREDS = {"grant_type": "client_credentials", "client_id": "mockline", "client_secret": "mockline"}


async def token(client: httpx.AsyncClient, form: dict[str, str] | None = None) -> dict[str, str]:
    answer = valid("ringme", await client.post("/ringme/oauth/token", data=form or CREDS))
    assert answer.status_code == 200, answer.text
    return {"authorization": f"Bearer {answer.json()['access_token']}"}


def test_token_grants_bearer_required_and_expiry_on_the_clock() -> None:
    async def scenario() -> None:
        app = new_app()
        async with client_for(app) as client:
            auth = await token(client)
            listing = valid("ringme", await client.get(EVENTS.format(kind="local", agent=136), headers=auth))
            assert listing.status_code == 200 and listing.json() == []

            no_token = valid("ringme", await client.get(EVENTS.format(kind="local", agent=136)))
            assert no_token.status_code == 401
            forged = {"authorization": "Bearer not-a-token"}
            assert (
                valid(
                    "ringme", await client.get("/ringme/api/ver1.0/client/12/limits/", headers=forged)
                ).status_code
                == 401
            )

            wrong = valid(
                "ringme", await client.post("/ringme/oauth/token", data={**CREDS, "client_secret": "x"})
            )
            assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
            bad_type = valid(
                "ringme", await client.post("/ringme/oauth/token", data={**CREDS, "grant_type": "implicit"})
            )
            assert bad_type.status_code == 400
            no_secret = valid(
                "ringme",
                await client.post(
                    "/ringme/oauth/token", data={"grant_type": "password", "client_id": "mockline"}
                ),
            )
            assert no_secret.status_code == 400 and no_secret.json()["error"] == "invalid_request"

            password = {**CREDS, "grant_type": "password", "username": "mockline", "password": "mockline"}
            granted = valid("ringme", await client.post("/ringme/oauth/token", data=password)).json()
            assert granted["expires_in"] == 3600 and granted["scope"] == "all" and granted["refresh_token"]
            bad_user = valid(
                "ringme", await client.post("/ringme/oauth/token", data={**password, "password": "no"})
            )
            assert bad_user.status_code == 400 and bad_user.json()["error"] == "invalid_grant"
            refresh = {**CREDS, "grant_type": "refresh_token", "refresh_token": granted["refresh_token"]}
            assert valid("ringme", await client.post("/ringme/oauth/token", data=refresh)).status_code == 200

            approved = await client.post(
                "/__admin/ringme/oauth/authorize",
                json={"client_id": "mockline", "redirect_uri": "https://app.example.com/cb"},
            )
            assert approved.status_code == 200
            code_form = {
                "grant_type": "authorization_code",
                "client_id": "mockline",
                "code": approved.json()["code"],
                "redirect_uri": "https://app.example.com/cb",
            }
            assert (
                valid("ringme", await client.post("/ringme/oauth/token", data=code_form)).status_code == 200
            )
            reused = valid("ringme", await client.post("/ringme/oauth/token", data=code_form))
            assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"

            await client.post("/__admin/clock/advance", json={"seconds": 3599})
            assert (await client.get(EVENTS.format(kind="local", agent=136), headers=auth)).status_code == 200
            await client.post("/__admin/clock/advance", json={"seconds": 1})
            expired = valid("ringme", await client.get(EVENTS.format(kind="local", agent=136), headers=auth))
            assert expired.status_code == 401
            assert "expired" in expired.json()["detail"]

    asyncio.run(scenario())


def test_subscriptions_crud_for_local_and_remote_agents_with_bad_input() -> None:
    async def scenario() -> None:
        async with client_for(new_app()) as client:
            auth = await token(client)
            for kind, agent in (("local", 136), ("remote", 212)):
                base = EVENTS.format(kind=kind, agent=agent)
                made = valid(
                    "ringme",
                    await client.post(
                        base,
                        headers=auth,
                        json={
                            "url": "https://crm.example.com/login",
                            "event_type": "agent-login",
                            "method": "GET",
                        },
                    ),
                )
                assert made.status_code == 201, made.text
                event_id = made.json()["id"]
                assert made.json() == {
                    "id": event_id,
                    "url": "https://crm.example.com/login",
                    "event_type": "agent-login",
                    "method": "GET",
                }
                listed = valid("ringme", await client.get(base, headers=auth)).json()
                assert [e["id"] for e in listed] == [event_id]
                got = valid("ringme", await client.get(f"{base}{event_id}", headers=auth))
                assert got.json() == made.json()
                changed = valid(
                    "ringme", await client.put(f"{base}{event_id}", headers=auth, json={"method": "POST"})
                )
                assert (
                    changed.json()["method"] == "POST"
                    and changed.json()["url"] == "https://crm.example.com/login"
                )

                # bad input: wrong types and values, unknown ids
                for body in (
                    {"url": "https://x.example", "event_type": "agent-login", "method": "PUT"},
                    {"url": "https://x.example", "event_type": "agent-busy", "method": "GET"},
                    {"url": 5, "event_type": "agent-login", "method": "GET"},
                    {"event_type": "agent-login", "method": "GET"},
                ):
                    assert (
                        valid("ringme", await client.post(base, headers=auth, json=body)).status_code == 400
                    )
                assert (
                    valid("ringme", await client.put(f"{base}{event_id}", headers=auth, json={})).status_code
                    == 400
                )
                not_int = valid(
                    "ringme", await client.get(EVENTS.format(kind=kind, agent="abc"), headers=auth)
                )
                assert not_int.status_code == 400
                assert valid("ringme", await client.get(f"{base}999999", headers=auth)).status_code == 404
                unknown_agent = valid(
                    "ringme", await client.get(EVENTS.format(kind=kind, agent=9999), headers=auth)
                )
                assert unknown_agent.status_code == 404
                other_client = "/ringme/api/ver1.0/client/77/agent/local/136/event/"
                assert valid("ringme", await client.get(other_client, headers=auth)).status_code == 404

                gone = await client.delete(f"{base}{event_id}", headers=auth)
                assert valid("ringme", gone).status_code == 204 and gone.content == b""
                assert valid("ringme", await client.get(f"{base}{event_id}", headers=auth)).status_code == 404
                assert (
                    valid("ringme", await client.delete(f"{base}{event_id}", headers=auth)).status_code == 404
                )

            # a local subscription id is not reachable through the remote path
            local = (
                await client.post(
                    EVENTS.format(kind="local", agent=136),
                    headers=auth,
                    json={"url": "https://crm.example.com/x", "event_type": "agent-logout", "method": "POST"},
                )
            ).json()
            assert (
                await client.get(f"{EVENTS.format(kind='remote', agent=212)}{local['id']}", headers=auth)
            ).status_code == 404

    asyncio.run(scenario())


def test_subscription_cap_is_readable_and_refused_past_it() -> None:
    async def scenario() -> None:
        app = new_app(config={"ringme": {"subscription_limit": 2}})
        async with client_for(app) as client:
            auth = await token(client)
            limits = "/ringme/api/ver1.0/client/12/limits/"
            assert valid("ringme", await client.get(limits, headers=auth)).json() == {
                "agent_events": {"limit": 2, "used": 0}
            }
            body = {"url": "https://crm.example.com/e", "event_type": "agent-login", "method": "GET"}
            ids = []
            for agent in (136, 137):
                made = valid(
                    "ringme",
                    await client.post(EVENTS.format(kind="local", agent=agent), headers=auth, json=body),
                )
                ids.append(made.json()["id"])
            over = valid(
                "ringme", await client.post(EVENTS.format(kind="remote", agent=212), headers=auth, json=body)
            )
            assert over.status_code == 409 and "limit of 2" in over.json()["detail"]
            assert valid("ringme", await client.get(limits, headers=auth)).json()["agent_events"] == {
                "limit": 2,
                "used": 2,
            }
            await client.delete(f"{EVENTS.format(kind='local', agent=136)}{ids[0]}", headers=auth)
            again = valid(
                "ringme", await client.post(EVENTS.format(kind="remote", agent=212), headers=auth, json=body)
            )
            assert again.status_code == 201
            assert (
                valid(
                    "ringme", await client.get("/ringme/api/ver1.0/client/99/limits/", headers=auth)
                ).status_code
                == 404
            )

    asyncio.run(scenario())


def test_call_api_application_and_foreign_client_get_403() -> None:
    async def scenario() -> None:
        creds = {
            "ringme": Credentials(clients=(("mockline", "mockline"), ("widget", "w-secret"), ("branch", "b")))
        }
        config = {
            "ringme": {"applications": {"widget": {"access": "call_api"}, "branch": {"clients": ["13"]}}}
        }
        async with client_for(new_app(credentials=creds, config=config)) as client:
            widget = await token(client, {**CREDS, "client_id": "widget", "client_secret": "w-secret"})
            refused = valid(
                "ringme", await client.get(EVENTS.format(kind="local", agent=136), headers=widget)
            )
            assert refused.status_code == 403
            branch = await token(client, {**CREDS, "client_id": "branch", "client_secret": "b"})
            assert (
                valid(
                    "ringme", await client.get("/ringme/api/ver1.0/client/12/limits/", headers=branch)
                ).status_code
                == 403
            )

    asyncio.run(scenario())


def test_status_changes_reach_a_real_receiver_by_query_string_and_form_body() -> None:
    async def scenario() -> None:
        async with receiver() as recv, client_for(new_app()) as client:
            auth = await token(client)
            local = EVENTS.format(kind="local", agent=136)
            remote = EVENTS.format(kind="remote", agent=212)
            await client.post(
                local, headers=auth, json={"url": recv.url, "event_type": "agent-login", "method": "GET"}
            )
            await client.post(
                local, headers=auth, json={"url": recv.url, "event_type": "agent-logout", "method": "POST"}
            )
            await client.post(
                remote, headers=auth, json={"url": recv.url, "event_type": "agent-login", "method": "POST"}
            )

            login = (
                await client.post(
                    "/__admin/ringme/clients/12/agents/local/136/login", json={"source": "phone"}
                )
            ).json()
            assert login["changed"] is True and len(login["deliveries"]) == 1
            await client.post("/__admin/clock/advance", json={"seconds": 0})
            assert len(recv.requests) == 1
            got = recv.requests[0]
            assert got.method == "GET" and got.body == b""
            assert {k: v[-1] for k, v in got.query.items()} == {
                "agent_id": "136",
                "agent_status": "available",
                "agent_type": "local",
                "event_source": "phone",
                "extension_name": "000*094@ringme.ru",
            }
            valid_delivery("ringme", "createLocalAgentEvent", "agentEvent", got)

            # no change, nothing sent
            again = (await client.post("/__admin/ringme/clients/12/agents/local/136/login")).json()
            assert again == {**again, "changed": False, "deliveries": []}
            await client.post("/__admin/clock/advance", json={"seconds": 60})
            assert len(recv.requests) == 1

            await client.post("/__admin/ringme/clients/12/agents/local/136/logout")
            await client.post("/__admin/ringme/clients/12/agents/remote/212/login")
            await client.post("/__admin/clock/advance", json={"seconds": 0})
            assert [r.method for r in recv.requests] == ["GET", "POST", "POST"]
            logout, remote_login = recv.requests[1], recv.requests[2]
            assert logout.headers["content-type"].startswith("application/x-www-form-urlencoded")
            assert logout.form() == {
                "agent_id": "136",
                "agent_status": "logged_out",
                "agent_type": "local",
                "event_source": "api",
                "extension_name": "000*094@ringme.ru",
            }
            assert remote_login.form()["agent_number"] == "79161234567"
            assert "extension_name" not in remote_login.form()
            for received in recv.requests[1:]:
                valid_delivery("ringme", "createLocalAgentEvent", "agentEvent", received)

            journal = (await client.get("/__admin/deliveries", params={"api": "ringme"})).json()["deliveries"]
            assert [d["state"] for d in journal] == ["delivered"] * 3
            assert [d["event"] for d in journal] == ["agent-login", "agent-logout", "agent-login"]

            unknown = await client.post("/__admin/ringme/clients/12/agents/local/999/login")
            assert unknown.status_code == 404
            bad_source = await client.post(
                "/__admin/ringme/clients/12/agents/local/136/login", json={"source": "fax"}
            )
            assert bad_source.status_code == 400

    asyncio.run(scenario())


def test_seeded_shift_schedule_logs_agents_in_and_out_over_the_clock() -> None:
    async def scenario() -> None:
        shifts = [
            {
                "client_id": "12",
                "agent_type": "remote",
                "agent_id": 212,
                "login_after": 60,
                "logout_after": 120,
            }
        ]
        config = {"ringme": {"shifts": shifts}, "ryng": {"scheduled_call": False}}  # only the shifts are jobs
        async with client_for(new_app(config=config)) as client:
            auth = await token(client)
            await client.post(
                EVENTS.format(kind="remote", agent=212),
                headers=auth,
                json={"url": "http://127.0.0.1:9/none", "event_type": "agent-login", "method": "GET"},
            )

            def status(agents: list[dict[str, Any]]) -> str:
                return next(a["status"] for a in agents if a["agent_id"] == 212)

            await client.post("/__admin/clock/advance", json={"seconds": 61})
            agents = (await client.get("/__admin/ringme/clients/12/agents")).json()["agents"]
            assert status(agents) == "available"
            deliveries = (await client.get("/__admin/deliveries", params={"event": "agent-login"})).json()[
                "deliveries"
            ]
            assert len(deliveries) == 1 and deliveries[0]["payload"]["event_source"] == "phone"
            await client.post("/__admin/clock/advance", json={"seconds": 60})
            assert (
                status((await client.get("/__admin/ringme/clients/12/agents")).json()["agents"])
                == "logged_out"
            )

            await client.post("/__admin/reset")
            assert (
                status((await client.get("/__admin/ringme/clients/12/agents")).json()["agents"])
                == "logged_out"
            )
            assert (await client.get("/__admin/clock")).json()["pending_jobs"] == 2

    asyncio.run(scenario())
