"""On loopback with no token, the control plane and the dashboard refuse what a web page in this machine's
browser could send them: a Host that names someone else's domain (DNS rebinding) and a change sent from
another page (Origin). Tools, in-process clients and the dashboard's own script pass; a token lifts both."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import httpx
import pytest

from mockserver import origins
from mockserver.settings import Settings
from tests.fixtures.mockline_http import client_for, new_app

FOREIGN = {"host": "rebound.example.com:8000"}
CROSS_SITE = {"host": "127.0.0.1:8000", "origin": "https://evil.example.com"}


def ask(method: str, path: str, headers: dict[str, str], **settings: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        async with client_for(new_app(**settings)) as client:
            return await client.request(method, path, headers=headers, json={} if method == "POST" else None)

    return asyncio.run(go())


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/__admin/requests"), ("POST", "/__admin/reset"), ("GET", "/dashboard/requests"), ("GET", "/")],
)
def test_a_host_someone_else_could_point_here_is_refused(method: str, path: str) -> None:
    answer = ask(method, path, FOREIGN)
    assert answer.status_code == 403, answer.text
    assert "rebound.example.com:8000" in answer.text and "--admin-token" in answer.text


@pytest.mark.parametrize("path", ["/__admin/reset", "/__admin/clock/advance"])
def test_a_change_sent_from_another_page_is_refused(path: str) -> None:
    answer = ask("POST", path, CROSS_SITE)
    assert answer.status_code == 403, answer.text
    assert "https://evil.example.com" in answer.json()["detail"]
    assert answer.headers["content-type"].startswith("application/problem+json")  # the control plane's shape


@pytest.mark.parametrize(
    "headers",
    [
        {"host": "127.0.0.1:8000"},
        {"host": "localhost:8000"},
        {"host": "[::1]:8000"},
        {"host": "mock"},  # an in-process client's base URL
        {"host": "api.localhost"},
        {"host": "127.0.0.1:8000", "origin": "http://127.0.0.1:8000"},  # the dashboard's own script
    ],
)
def test_this_machines_own_names_and_pages_are_answered(headers: dict[str, str]) -> None:
    assert ask("POST", "/__admin/reset", headers).status_code == 200
    assert ask("GET", "/dashboard/requests", headers).status_code == 200


def test_a_read_from_another_page_is_answered_since_the_page_cannot_read_it() -> None:
    assert ask("GET", "/__admin/health", CROSS_SITE).status_code == 200


@dataclasses.dataclass(frozen=True)
class Tokened(Settings):
    admin_token: str = "s3cret"


def test_with_a_token_any_name_reaches_the_control_plane() -> None:
    async def go() -> tuple[int, int]:
        from mockserver.app import create_app

        app = create_app(Tokened(clock="manual", rate_limit=False), http_client=httpx.AsyncClient())
        async with client_for(app) as client:
            bearer = {**FOREIGN, "origin": "https://evil.example.com", "authorization": "Bearer s3cret"}
            with_token = await client.post("/__admin/reset", headers=bearer, json={})
            without = await client.post("/__admin/reset", headers=FOREIGN, json={})
            return with_token.status_code, without.status_code

    assert asyncio.run(go()) == (200, 401)


def test_the_vendor_apis_take_any_host() -> None:
    # a frontend team may point ryng.test at 127.0.0.1: the vendor APIs keep their own credentials
    answer = ask("GET", "/ringotel/users", {**FOREIGN, "authorization": "Bearer mockline"})
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize(
    ("host", "name"),
    [
        ("127.0.0.1:8000", "127.0.0.1"),
        ("[::1]:8000", "::1"),
        ("[::1]", "::1"),
        ("mock", "mock"),
        ("::1", "::1"),
    ],
)
def test_a_host_header_is_read_without_its_port(host: str, name: str) -> None:
    assert origins.host_name(host) == name
