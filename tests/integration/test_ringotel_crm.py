"""The mock Ringotel CRM end to end over HTTP: seeded records, FindContact however a number is written,
contacts and activities kept current, recordings uploaded or linked, and the three kinds of credentials.
Every response is validated with openapi-core against ringotel-crm.yaml."""

from __future__ import annotations

import asyncio

import httpx
import phonenumbers

from tests.fixtures.mockline_http import CRM_BASIC, CRM_CALL, client_for, new_app, valid

BASIC = CRM_BASIC
CALL = {
    **CRM_CALL,
    "user_id": "u-1001",
    "extension": "101",
    "domain": "acme.ringotel.example",
}


def crm(response: httpx.Response) -> httpx.Response:
    return valid("ringotel-crm", response)


def spellings(e164: str) -> list[str]:
    parsed = phonenumbers.parse(e164)
    national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    international = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    digits = "".join(c for c in e164 if c.isdigit())
    return [
        e164,
        national,
        international,
        digits,
        digits[1:],
        international.replace(" ", "-"),
        f" {national} ",
    ]


def test_seeded_users_organizations_and_contacts_page_through() -> None:
    async def scenario() -> None:
        async with client_for(new_app()) as client:
            users = crm(await client.get("/ringotel/users", auth=BASIC)).json()["records"]
            assert len(users) == 5 and users[0]["user_id"] == "u-1001"
            assert len({u["user_id"] for u in users}) == 5
            orgs = crm(await client.get("/ringotel/organizations", auth=BASIC)).json()["records"]
            assert [o["organization_id"] for o in orgs] == ["o-3001", "o-3002", "o-3003"]
            contacts = crm(await client.get("/ringotel/contacts", auth=BASIC)).json()["records"]
            assert len(contacts) == 12
            linked = [c for c in contacts if c.get("organization_id")]
            names = {o["organization_id"]: o["name"] for o in orgs}
            assert linked and all(c["company_name"] == names[c["organization_id"]] for c in linked)
            page = crm(await client.get("/ringotel/contacts", params={"limit": 5, "offset": 10}, auth=BASIC))
            assert [c["contact_id"] for c in page.json()["records"]] == ["c-2011", "c-2012"]
            for params in ({"limit": 0}, {"limit": "ten"}, {"offset": -1}):
                assert (
                    crm(await client.get("/ringotel/contacts", params=params, auth=BASIC)).status_code == 400
                )

    asyncio.run(scenario())


def test_find_contact_matches_however_the_number_is_written() -> None:
    async def scenario() -> None:
        async with client_for(new_app()) as client:
            contacts = crm(await client.get("/ringotel/contacts", auth=BASIC)).json()["records"]
            with_mobile = next(c for c in contacts if c.get("mobile"))
            for field in ("phone", "mobile"):
                for written in spellings(with_mobile[field]):
                    found = crm(
                        await client.get("/ringotel/contacts/search", params={"phone": written}, auth=BASIC)
                    )
                    assert found.json()["records"] == [with_mobile], (field, written)
            for unknown in ("+19999999999", "12", "abc"):
                nothing = crm(
                    await client.get("/ringotel/contacts/search", params={"phone": unknown}, auth=BASIC)
                )
                assert nothing.status_code == 200 and nothing.json() == {"records": []}
            assert crm(await client.get("/ringotel/contacts/search", auth=BASIC)).status_code == 400
            too_long = crm(
                await client.get("/ringotel/contacts/search", params={"phone": "1" * 40}, auth=BASIC)
            )
            assert too_long.status_code == 400

    asyncio.run(scenario())


def test_contacts_are_created_and_updated_and_found_again() -> None:
    async def scenario() -> None:
        async with client_for(new_app()) as client:
            made = crm(
                await client.post(
                    "/ringotel/contacts",
                    auth=BASIC,
                    json={"firstname": "Ethan", "phone": "(617) 555-0123", "organization_id": "o-3002"},
                )
            )
            assert made.status_code == 201
            contact = made.json()
            assert contact["contact_id"] == "c-2013" and contact["company_name"]
            found = crm(
                await client.get("/ringotel/contacts/search", params={"phone": "+16175550123"}, auth=BASIC)
            )
            assert found.json()["records"] == [contact]
            changed = crm(
                await client.patch(
                    f"/ringotel/contacts/{contact['contact_id']}",
                    auth=BASIC,
                    json={"job_title": "Head of Procurement", "mobile": "+13475550179"},
                )
            )
            assert changed.status_code == 200
            assert changed.json() == {**contact, "job_title": "Head of Procurement", "mobile": "+13475550179"}
            by_mobile = crm(
                await client.get("/ringotel/contacts/search", params={"phone": "347 555 0179"}, auth=BASIC)
            )
            assert by_mobile.json()["records"][0]["contact_id"] == contact["contact_id"]

            assert (
                crm(
                    await client.patch("/ringotel/contacts/c-9999", auth=BASIC, json={"firstname": "X"})
                ).status_code
                == 404
            )
            assert (
                crm(
                    await client.patch(f"/ringotel/contacts/{contact['contact_id']}", auth=BASIC, json={})
                ).status_code
                == 400
            )
            for body in (
                {"firstname": "No phone"},
                {"phone": "+1", "email": "not-an-email"},
                {"phone": 6175550123},
            ):
                assert crm(await client.post("/ringotel/contacts", auth=BASIC, json=body)).status_code == 400

    asyncio.run(scenario())


def test_activity_lifecycle_with_uploaded_and_linked_recordings() -> None:
    async def scenario() -> None:
        async with client_for(new_app()) as client:
            made = crm(await client.post("/ringotel/activities", auth=BASIC, json=CALL))
            assert made.status_code == 201
            activity = made.json()
            activity_id = activity["activity_id"]
            assert activity["status"] == "in_progress" and activity["contact_id"] is None
            path = f"/ringotel/activities/{activity_id}"

            assigned = crm(await client.post(f"{path}/assign", auth=BASIC, json={"contact_id": "c-2001"}))
            assert assigned.json()["contact_id"] == "c-2001"
            unknown_contact = crm(
                await client.post(f"{path}/assign", auth=BASIC, json={"contact_id": "c-9999"})
            )
            # 404 is kept for the activity in the path; an unknown contact in the body conflicts (409).
            assert unknown_contact.status_code == 409
            assert unknown_contact.json()["detail"] == "contact_id c-9999 names no contact; create it first."
            assert (
                crm(
                    await client.post(
                        "/ringotel/activities/a-9999/assign", auth=BASIC, json={"contact_id": "c-2001"}
                    )
                ).status_code
                == 404
            )

            updated = crm(
                await client.patch(
                    path, auth=BASIC, json={"notes": "Quote for 40 pallets", "user_id": "u-1002"}
                )
            )
            assert updated.json()["notes"] == "Quote for 40 pallets" and updated.json()["user_id"] == "u-1002"
            assert crm(await client.patch(path, auth=BASIC, json={"status": "ringing"})).status_code == 400

            stop = {"call_end": 1729693835182, "call_duration": 127, "call_cause": "0"}
            stopped = crm(await client.post(f"{path}/stop", auth=BASIC, json=stop))
            assert stopped.json()["status"] == "completed" and stopped.json()["call_duration"] == 127
            again = crm(
                await client.post(
                    f"{path}/stop", auth=BASIC, json={**stop, "status": "missed", "call_duration": 0}
                )
            )
            assert again.json()["status"] == "missed" and again.json()["call_duration"] == 0
            assert (
                crm(
                    await client.post(
                        f"{path}/stop", auth=BASIC, json={"call_end": "late", "call_duration": 1}
                    )
                ).status_code
                == 400
            )
            assert (
                crm(await client.post("/ringotel/activities/a-9999/stop", auth=BASIC, json=stop)).status_code
                == 404
            )

            audio = b"ID3\x04\x00" + bytes(range(200))
            uploaded = crm(
                await client.post(
                    f"{path}/recording", auth=BASIC, files={"file": ("call.mp3", audio, "audio/mpeg")}
                )
            )
            url = uploaded.json()["recording_url"]
            assert url.endswith(f"/__admin/crm/activities/{activity_id}/recording")
            download = valid("mockline-admin", await client.get(httpx.URL(url).path))
            assert download.content == audio
            stored = valid(
                "mockline-admin", await client.get(f"/__admin/crm/activities/{activity_id}")
            ).json()
            assert stored["recording"] == {
                "filename": "call.mp3",
                "content_type": "audio/mpeg",
                "size": len(audio),
            }
            assert stored["notes"] == "Quote for 40 pallets" and stored["contact_id"] == "c-2001"

            link = "https://recordings.ringotel.example/acme/call.mp3"
            linked = crm(await client.post(f"{path}/recording", auth=BASIC, json={"recording_url": link}))
            assert linked.json()["recording_url"] == link
            assert (
                valid(
                    "mockline-admin", await client.get(f"/__admin/crm/activities/{activity_id}/recording")
                ).status_code
                == 404
            )
            assert (
                crm(
                    await client.post(f"{path}/recording", auth=BASIC, json={"recording_url": "not a url"})
                ).status_code
                == 400
            )
            assert (
                crm(
                    await client.post(
                        "/ringotel/activities/a-9999/recording", auth=BASIC, json={"recording_url": link}
                    )
                ).status_code
                == 404
            )
            listed = valid("mockline-admin", await client.get("/__admin/crm/activities")).json()["activities"]
            assert [a["activity_id"] for a in listed] == [activity_id]

            for missing in ("call_id", "call_start", "activity_type"):
                body = {k: v for k, v in CALL.items() if k != missing}
                assert (
                    crm(await client.post("/ringotel/activities", auth=BASIC, json=body)).status_code == 400
                )
            assert (
                crm(
                    await client.post("/ringotel/activities", auth=BASIC, json={**CALL, "call_start": "now"})
                ).status_code
                == 400
            )

    asyncio.run(scenario())


def test_basic_bearer_and_oauth2_accepted_when_right_403_when_wrong() -> None:
    async def scenario() -> None:
        async with client_for(new_app()) as client:
            assert crm(await client.get("/ringotel/users", auth=BASIC)).status_code == 200
            assert (
                crm(
                    await client.get("/ringotel/users", headers={"authorization": "Bearer mockline"})
                ).status_code
                == 200
            )
            form = {"grant_type": "client_credentials", "client_id": "mockline", "client_secret": "mockline"}
            granted = crm(await client.post("/ringotel/oauth/token", data=form))
            assert granted.status_code == 200 and granted.json()["token_type"] == "Bearer"
            bearer = {"authorization": f"Bearer {granted.json()['access_token']}"}
            assert crm(await client.get("/ringotel/users", headers=bearer)).status_code == 200

            for wrong in (
                {},
                {"authorization": "Basic " + "bW9ja2xpbmU6d3Jvbmc="},
                {"authorization": "Basic !!!"},
                {"authorization": "Bearer wrong"},
                {"authorization": "Token mockline"},
            ):
                denied = crm(await client.get("/ringotel/users", headers=wrong))
                assert denied.status_code == 403 and denied.json()["status"] == 403
            bad_secret = crm(await client.post("/ringotel/oauth/token", data={**form, "client_secret": "x"}))
            assert bad_secret.status_code == 403
            bad_grant = crm(
                await client.post("/ringotel/oauth/token", data={**form, "grant_type": "password"})
            )
            assert bad_grant.status_code == 400

            await client.post("/__admin/clock/advance", json={"seconds": 3600})
            expired = crm(await client.get("/ringotel/users", headers=bearer))
            assert expired.status_code == 403 and "expired" in expired.json()["detail"]

    asyncio.run(scenario())
