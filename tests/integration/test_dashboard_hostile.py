"""The dashboard against what its users cannot control: hostile strings from clients, receivers and
spec documents; odd paths and query parameters; large state; and whether what it shows is what the
control plane (``/__admin``) answers for the same state. Plain HTTP, no browser (the browser's side is in
test_dashboard_browser.py)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import html
import re
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mockserver.app import create_app
from mockserver.cli import build_parser, settings_from
from mockserver.settings import Settings
from tests.fixtures.mockline_http import client_for, new_app, receiver

PUSH = "/ryng/rest-api/v1/progressive/queue/12/transactional"
RYNG = {"x-access-token": "mockline"}
CRM = ("mockline", "mockline")
DIYALOG = {"Auth-Token": "mockline"}
# markup that would run if a page let it through, a quote to break out of an attribute, and a
# right-to-left override that would turn the rest of its line around
MARKUP = '<script>window.__xss=1</script>"><img src=x onerror="window.__xss=1">'
RLO = "\u202e"
HOSTILE = MARKUP + "'" + RLO + "gnp.exe"
RECEIVER_BODY = b'<html><script>window.__xss=2</script><img src=x onerror="window.__xss=2"></html>'


@dataclasses.dataclass(frozen=True)
class TokenSettings(Settings):
    admin_token: str = "s3cret"


PAGES = (
    "/",
    "/dashboard/calls",
    "/dashboard/calls/1",
    "/dashboard/deliveries",
    "/dashboard/deliveries/1",
    "/dashboard/deliveries/2",
    "/dashboard/agents",
    "/dashboard/diyalog",
    "/dashboard/crm",
    "/dashboard/requests",
    "/dashboard/faults",
    "/dashboard/nothing" + MARKUP,
)


@contextlib.asynccontextmanager
async def hostile_receiver() -> AsyncIterator[str]:
    """A receiver that answers 500 with an HTML page that scripts, and headers no browser should see."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = re.search(rb"content-length: *(\d+)", head, re.I)
        if length:
            await reader.readexactly(int(length.group(1)))
        writer.write(
            b"HTTP/1.1 500 Oops\r\ncontent-type: text/html\r\n"
            b'x-evil: <script>window.__xss=3</script>"><b>\r\n'
            b"x-turned: abc\xe2\x80\xaedef\r\n"
            + f"content-length: {len(RECEIVER_BODY)}\r\nconnection: close\r\n\r\n".encode()
            + RECEIVER_BODY
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/hook?x=%22%3E%3Cb%3E"
    finally:
        server.close()
        await server.wait_closed()


def lead(connect: str, terminal: str, number: str = "+919845555000", **fields: Any) -> dict[str, Any]:
    return {
        "agentMapping": "global",
        "agents": ["asha.verma@example.com"],
        "customerData": {
            "connectCallbackUrl": connect,
            "terminalCallbackUrl": terminal,
            "jsonData": [{"number": number, **fields}],
        },
    }


async def plant(client: httpx.AsyncClient, hook: str) -> None:
    """Hostile strings everywhere a client or a receiver can put them."""
    long_field = "\x1b[31m\x00\x07" + "A" * 5000
    pushed = await client.post(
        PUSH,
        headers=RYNG,
        json=lead(hook, "javascript:alert(1)//http://x", customField1=HOSTILE, customField2=long_field),
    )
    assert pushed.status_code == 200, pushed.text
    refused = await client.post(PUSH, headers=RYNG, json=lead(hook, hook, number=HOSTILE))
    assert refused.status_code == 400  # its error message quotes the number: the journal holds it
    contact = {"firstname": HOSTILE, "lastname": "<b>L</b>", "phone": "+12125550100", "email": "a@b.co"}
    assert (await client.post("/ringotel/contacts", auth=CRM, json=contact)).status_code == 201
    activity = {
        "call_id": HOSTILE,
        "activity_type": "inbound",
        "caller_number": MARKUP[:30],
        "called_number": "+12025550199",
        "call_start": 1,
        "subject": HOSTILE,
    }
    assert (await client.post("/ringotel/activities", auth=CRM, json=activity)).status_code == 201
    interaction = {"customerId": HOSTILE, "attachedData": {HOSTILE: HOSTILE}}
    assert (
        await client.post("/diyalog/CreateInteraction", headers=DIYALOG, json=interaction)
    ).status_code == 200
    await client.post(f"{PUSH}?q=%3Cscript%3E", headers={**RYNG, "x-h": MARKUP}, content=HOSTILE.encode())
    await client.post("/__admin/clock/advance", json={"seconds": 3600})


def assert_inert(page: str, where: str) -> None:
    """Nothing a client wrote became markup, a clickable javascript: link or an attribute of its own."""
    for live in ("<script>window", "<img src=x", 'onerror="window', "<b>L</b>", '"><b>', '" class="x'):
        assert live not in page, f"{where}: {live!r} reached the page as markup"
    assert not re.search(r"""(href|src|action|formaction)\s*=\s*["']?\s*javascript:""", page, re.I), where
    assert RLO not in page, f"{where}: a right-to-left override is obeyed, not shown"
    assert "\x1b" not in page and "\x00" not in page, f"{where}: a control character reaches the page"


def test_hostile_strings_from_clients_and_receivers_stay_text_on_every_page() -> None:
    async def scenario() -> None:
        async with hostile_receiver() as hook, client_for(new_app()) as client:
            await plant(client, hook)
            seen = ""
            for path in PAGES:
                for partial in ({}, {"x-dashboard-partial": "1"}):
                    answer = await client.get(path, headers=partial)
                    assert answer.status_code in (200, 404), path
                    assert_inert(answer.text, path)
                    seen += html.unescape(answer.text)
            # the pages did show what was planted (as text), so the checks above looked at it
            for shown in (
                MARKUP,
                "javascript:alert(1)//http://x",
                "x-evil",
                "<b>L</b>",
                RECEIVER_BODY.decode(),
            ):
                assert shown in seen, shown

    asyncio.run(scenario())


def test_hostile_strings_in_a_served_spec_stay_text(tmp_path: Path) -> None:
    spec = tmp_path / "evil.yaml"
    spec.write_text(
        "openapi: 3.0.3\n"
        f"info: {{title: '{MARKUP}', version: '1'}}\n"
        "security: [{key: []}]\n"
        "paths:\n"
        "  /things:\n"
        "    post:\n"
        "      operationId: makeThing\n"
        "      requestBody:\n"
        "        required: true\n"
        "        content: {application/json: {schema: {type: object, properties: {hook: {type: string}}}}}\n"
        "      responses: {'201': {description: made}}\n"
        "      callbacks:\n"
        f"        '{MARKUP}':\n"
        "          '{$request.body#/hook}':\n"
        "            post:\n"
        "              requestBody: {content: {application/json: {schema: {type: object}}}}\n"
        "              responses: {'200': {description: ok}}\n"
        "components:\n"
        f"  securitySchemes: {{key: {{type: apiKey, in: header, name: 'X-Key{MARKUP[-30:]}'}}}}\n"
    )
    args = ["serve", "--spec", f"{spec}=/evil", "--clock", "manual", "--callback-allow", "127.0.0.1"]
    app = create_app(settings_from(build_parser().parse_args(args)), http_client=httpx.AsyncClient())

    async def scenario() -> None:
        async with client_for(app) as client:
            made = await client.post(
                "/evil/things", headers={"X-Key": "k"}, json={"hook": "http://127.0.0.1:9/x"}
            )
            assert made.status_code in (201, 401), made.text
            await client.post("/__admin/clock/advance", json={"seconds": 60})
            for path in ("/", "/dashboard/deliveries", "/dashboard/deliveries/1", "/dashboard/faults"):
                answer = await client.get(path)
                assert answer.status_code in (200, 404), path
                assert_inert(answer.text, path)

    asyncio.run(scenario())


def test_every_dashboard_answer_carries_a_content_security_policy_and_nosniff() -> None:
    async def scenario() -> None:
        async with client_for(new_app()) as client:
            for path in (*PAGES, "/dashboard/static/app.js", "/favicon.ico", "/dashboard/static/nothing"):
                answer = await client.get(path)
                policy = answer.headers.get("content-security-policy", "")
                assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy, path
                assert "object-src 'none'" in policy or "default-src 'none'" in policy, path
                assert "unsafe-inline" not in policy, path
                assert answer.headers.get("x-content-type-options") == "nosniff", path
            assert (await client.post("/dashboard/calls")).headers.get("content-security-policy")
            assert (
                (await client.get("/dashboard/static/app.js"))
                .headers["content-type"]
                .startswith("text/javascript")
            )
            # what the dashboard's script reads as JSON is never served as HTML
            for path in ("/__admin/calls", "/__admin/deliveries", "/__admin/requests", "/__admin/clock"):
                assert (await client.get(path)).headers["content-type"].startswith("application/json")

    asyncio.run(scenario())


def test_copy_as_curl_spells_control_and_bidi_characters_and_still_sends_the_same_bytes() -> None:
    body = '{"agents": ["a' + RLO + "b\x7fc\x85d" + '"]}'  # JSON lets these through unescaped

    async def scenario() -> str:
        async with client_for(new_app()) as client:
            await client.post(
                PUSH, headers={**RYNG, "content-type": "application/json"}, content=body.encode()
            )
            page = (await client.get("/dashboard/requests")).text
            command = re.search(r'<pre class="curl" id="curl-1">([^<]*)</pre>', page)
            assert command is not None
            return html.unescape(command.group(1))

    command = asyncio.run(scenario())
    assert not re.search("[\x7f-\x9f\u202e]", command), command
    assert "$'" in command  # bash's ANSI-C quoting spells each byte out, and bash sends the bytes
    argv = subprocess.run(
        ["bash", "-c", "printf '%s\\n' " + command.removeprefix("curl ")],
        capture_output=True,
        check=True,
        timeout=10,
        env={"LC_ALL": "C", "PATH": "/usr/bin:/bin"},  # whatever the shell's locale
    ).stdout
    assert argv.split(b"--data-raw\n", 1)[1] == body.encode() + b"\n"


def test_the_token_link_redirects_from_any_path_without_a_500() -> None:
    async def scenario() -> None:
        app = create_app(TokenSettings(clock="manual", rate_limit=False), http_client=httpx.AsyncClient())
        async with client_for(app) as client:
            star = await client.get("/dashboard/%E2%98%85", params={"token": "s3cret"})
            assert star.status_code == 303 and star.headers["location"] == "/dashboard/%E2%98%85"
            crlf = await client.get("/dashboard/calls%0d%0aset-cookie:%20x=1", params={"token": "s3cret"})
            assert crlf.status_code == 303
            assert crlf.headers["location"] == "/dashboard/calls%0D%0Aset-cookie%3A%20x%3D1"
            assert crlf.headers.get_list("set-cookie") == [
                "mockline_admin=s3cret; Path=/; HttpOnly; SameSite=Strict"
            ]

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("path", "named"),
    [
        ("/dashboard/calls?before=abc", "before"),
        ("/dashboard/calls?before=-5", "before"),
        ("/dashboard/calls?before=0", "before"),
        ("/dashboard/calls?before=" + "9" * 5000, "before"),
        ("/dashboard/calls?state=nope", "state"),
        ("/dashboard/calls?style=%3Cb%3E", "style"),
        ("/dashboard/calls?limit=-1", "limit"),
        ("/dashboard/deliveries?state=nope", "state"),
        ("/dashboard/deliveries?api=nope", "api"),
        ("/dashboard/deliveries?callID=abc", "callID"),
        ("/dashboard/deliveries?page=2", "page"),
        ("/dashboard/requests?status=abc", "status"),
        ("/dashboard/requests?before=1e9", "before"),
        ("/dashboard/requests?api=%E2%98%85", "api"),
    ],
)
def test_a_bad_query_parameter_gets_a_clear_400_naming_it(path: str, named: str) -> None:
    async def scenario() -> None:
        async with client_for(new_app()) as client:
            answer = await client.get(path)
            assert answer.status_code == 400, path
            assert answer.headers["content-type"].startswith("text/html")
            text = html.unescape(answer.text)
            assert f"<code>{named}</code>" in text, text[-1200:]
            assert_inert(answer.text, path)
            # the form's own empty fields, the token and a sound value are all fine
            fine = path.split("?")[0] + "?state=&api=&before=&token=x"
            assert (await client.get(fine)).status_code == 200

    asyncio.run(scenario())


def test_pages_without_sub_pages_answer_404_for_one() -> None:
    async def scenario() -> None:
        async with client_for(new_app()) as client:
            for path in (
                "/dashboard/agents/x",
                "/dashboard/crm/x",
                "/dashboard/diyalog/1",
                "/dashboard/faults/x",
            ):
                answer = await client.get(path)
                assert answer.status_code == 404, path
                assert "Not found" in answer.text
            for path in ("/dashboard/calls/1/x", "/dashboard/deliveries/abc", "/dashboard/calls/-1"):
                assert (await client.get(path)).status_code == 404, path

    asyncio.run(scenario())


def test_an_empty_list_says_whether_nothing_is_held_or_the_filter_matched_nothing() -> None:
    async def scenario() -> None:
        app = new_app(config={"ryng": {"scheduled_call": False}})
        async with client_for(app) as client:
            assert "No call yet" in (await client.get("/dashboard/calls")).text
            await client.post(PUSH, headers=RYNG, json=lead("http://127.0.0.1:9/x", "http://127.0.0.1:9/x"))
            none = (await client.get("/dashboard/calls", params={"number": "+10000000000"})).text
            assert "No call yet" not in none and "No call matches" in none
            none = (await client.get("/dashboard/requests", params={"status": "599"})).text
            assert "No request yet" not in none and "No request matches" in none

    asyncio.run(scenario())


def test_the_crm_page_shows_names_phones_and_companies_as_the_crm_holds_them() -> None:
    async def scenario() -> None:
        async with client_for(new_app()) as client:
            made = await client.post(
                "/ringotel/contacts",
                auth=CRM,
                json={
                    "firstname": "Olivia",
                    "lastname": "Bennett",
                    "phone": "+12125550143",
                    "mobile": "+13475550178",
                    "company_name": "Acme Logistics",
                },
            )
            assert made.status_code == 201
            page = (await client.get("/dashboard/crm")).text
            row = re.search(rf"<tr><td>{made.json()['contact_id']}</td>(.*?)</tr>", page, re.S)
            assert row is not None
            cells = [
                re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td>(.*?)</td>", row.group(1), re.S)
            ]
            assert cells[0] == "Olivia Bennett"
            assert "+12125550143" in cells[1] and "+13475550178" in cells[1]
            assert "Acme Logistics" in cells[3]
            users = (await client.get("/ringotel/users", auth=CRM)).json()["records"]
            first = users[0]
            user_row = re.search(rf"<tr><td>{first['user_id']}</td>(.*?)</tr>", page, re.S)
            assert user_row is not None
            assert f"{first['firstname']} {first['lastname']}" in user_row.group(1)
            assert first["phone"] in user_row.group(1)

    asyncio.run(scenario())


def test_capped_lists_show_the_newest_and_say_how_many_of_how_many() -> None:
    async def scenario() -> None:
        app = new_app()
        crm: Any = app.runtime.engines["ringotel-crm"]
        with app.runtime.store.transaction():
            for n in range(700):
                crm.create_contact({"firstname": f"Person{n}", "lastname": "X", "phone": f"+1212555{n:04d}"})
        async with client_for(app) as client:
            for n in range(3):
                await client.post("/diyalog/CreateInteraction", headers=DIYALOG, json={"customerId": f"c{n}"})
            page = (await client.get("/dashboard/crm")).text
            assert "Person699" in page  # the contact just made, not only the oldest 500
            assert re.search(r"500 newest of 7\d\d", page), "the contacts list does not say it is cut"
            diyalog = (await client.get("/dashboard/diyalog")).text
            assert re.search(r"3 of 3", diyalog)

    asyncio.run(scenario())


def test_the_requests_page_shows_a_large_body_in_part_and_says_so() -> None:
    rows = [{"number": f"+91980{n:07d}", "customField1": "x" * 20} for n in range(6000)]

    async def scenario() -> None:
        app = new_app(config={"ryng": {"scheduled_call": False}})
        async with client_for(app) as client:
            pushed = await client.post(
                PUSH,
                headers=RYNG,
                json={
                    "agentMapping": "global",
                    "agents": ["a@example.com"],
                    "customerData": {"jsonData": rows},
                },
            )
            size = len(pushed.request.content)
            assert pushed.status_code == 200 and size > 300_000
            page = await client.get("/dashboard/requests")
            assert len(page.content) < 100_000, f"{len(page.content)} bytes for a page of one request"
            assert f"{size:,} bytes" in page.text
            small = await client.post(
                PUSH, headers=RYNG, json=lead("http://127.0.0.1:9/x", "http://127.0.0.1:9/x")
            )
            assert small.status_code == 200
            text = (await client.get("/dashboard/requests")).text
            assert (
                text.count('<pre class="curl"') == 1
            )  # the small one can be copied as curl, the large one not

    asyncio.run(scenario())


def test_a_retried_delivery_says_when_it_was_retried() -> None:
    async def scenario() -> None:
        async with receiver() as recv, client_for(new_app()) as client:
            recv.status = 500
            await client.post(PUSH, headers=RYNG, json=lead(recv.url, recv.url))
            await client.post("/__admin/clock/advance", json={"seconds": 3600})
            failed = (await client.get("/__admin/deliveries", params={"state": "failed"})).json()[
                "deliveries"
            ][0]
            recv.status = 200
            assert (await client.post(f"/__admin/deliveries/{failed['id']}/retry")).status_code == 200
            await client.post("/__admin/clock/advance", json={"seconds": 1})
            record = next(
                d
                for d in (await client.get("/__admin/deliveries")).json()["deliveries"]
                if d["id"] == failed["id"]
            )
            page = (await client.get(f"/dashboard/deliveries/{failed['id']}")).text
            assert record["retried_at"] and all(at in page for at in record["retried_at"])
            assert "Retried" in page

    asyncio.run(scenario())


def test_a_timeline_over_days_dates_its_times() -> None:
    async def scenario() -> None:
        async with client_for(
            new_app()
        ) as client:  # the default state: a call scheduled for the next morning
            await client.post("/__admin/clock/advance", json={"seconds": 86_400 + 3600})
            call = (await client.get("/__admin/calls")).json()["calls"][0]
            page = (await client.get(f"/dashboard/calls/{call['callID']}")).text
            queued = re.search(r"<title>queued: ([^<]*)</title>", page)
            assert queued is not None
            assert "2026-01-05" in queued.group(1) and "2026-01-06" in queued.group(1), queued.group(1)
            axis = re.findall(r'class="axis-text"[^>]*>([^<]*)<', page)
            assert "01-05" in axis[0] and "01-06" in axis[-1], axis

    asyncio.run(scenario())


def test_lists_match_the_control_plane_page_after_page_with_20000_calls() -> None:
    rows = [{"number": f"+91980{n:07d}"} for n in range(20_000)]

    async def scenario() -> None:
        async with (
            receiver() as recv,
            client_for(new_app(config={"ryng": {"scheduled_call": False}})) as client,
        ):
            recv.status = 500
            for number in ("+919845555000", "+919811111111", "+919822222222"):
                await client.post(PUSH, headers=RYNG, json=lead(recv.url, recv.url, number=number))
            await client.post("/__admin/clock/advance", json={"seconds": 200})
            body = {
                "agentMapping": "global",
                "agents": ["asha.verma@example.com"],
                "customerData": {"jsonData": rows},
            }
            assert (await client.post(PUSH, headers=RYNG, json=body)).status_code == 200
            await client.post("/__admin/clock/advance", json={"seconds": 30})
            admin: list[dict[str, Any]] = []
            cursor = None
            while True:
                params = {"limit": 10_000, **({"cursor": cursor} if cursor else {})}
                answer = (await client.get("/__admin/calls", params=params)).json()
                admin += answer["calls"]
                cursor = answer.get("next_cursor")
                if not cursor:
                    break
            total = (await client.get("/__admin/calls", params={"limit": 1})).json()["total"]
            assert len(admin) == total == 20_003
            shown: list[list[str]] = []
            link: str | None = "/dashboard/calls"
            pages = 0
            while link:
                page = await client.get(link)
                assert page.status_code == 200 and len(page.content) < 60_000  # a page at a time
                assert re.search(rf"(\d+) shown of {total} held", page.text)
                for row in re.findall(r'<tr data-call="\d+">(.*?)</tr>', page.text, re.S):
                    shown.append(
                        [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td>(.*?)</td>", row, re.S)]
                    )
                older = re.search(r'<a rel="next" href="([^"]+)"', page.text)
                link = "/dashboard/calls" + html.unescape(older.group(1)) if older else None
                pages += 1
            assert pages == 401
            by_id = {c["callID"]: c for c in admin}
            assert [int(r[0].lstrip("#")) for r in shown] == sorted(by_id, reverse=True)
            for cells in shown[-3:] + shown[:5]:
                call = by_id[int(cells[0].lstrip("#"))]
                attempts = call.get("attempts") or []
                outcome = call.get("disposition") or (attempts[-1].get("outcome") if attempts else None)
                assert cells[1:6] == [
                    call["number"],
                    call.get("agentUsername") or "—",
                    call["state"],
                    outcome or "—",
                    str(len(attempts)),
                ]
                assert cells[7] == call["created"]
            deliveries = (await client.get("/__admin/deliveries", params={"limit": 100})).json()["deliveries"]
            listed = (await client.get("/dashboard/deliveries")).text
            for d in deliveries:
                row = re.search(rf'<tr data-delivery="{d["id"]}"[^>]*>(.*?)</tr>', listed, re.S)
                assert row is not None
                cells = [
                    re.sub(r"<[^>]+>", "", c).strip()
                    for c in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)
                ]
                assert cells[4:7] == [
                    d["state"],
                    str(len(d["attempts"])),
                    str(d["attempts"][-1].get("status")),
                ]
                one = (await client.get(f"/dashboard/deliveries/{d['id']}")).text
                assert [html.unescape(t) for t in re.findall(r"<time>([^<]*)</time>", one)] == [
                    a["at"] for a in d["attempts"]
                ]

    asyncio.run(scenario())


def test_a_request_whose_body_was_not_kept_says_so_beside_its_curl() -> None:
    async def scenario() -> None:
        async with client_for(new_app()) as client:
            sent = b'{"agents": [1, '  # cut short: not JSON, so the journal keeps no body
            refused = await client.post(
                PUSH, headers={**RYNG, "content-type": "application/json"}, content=sent
            )
            assert refused.status_code == 400
            page = html.unescape((await client.get("/dashboard/requests")).text)
            assert f"Its body ({len(sent)} bytes) was not kept" in page
            assert "--data-raw" not in page

    asyncio.run(scenario())
