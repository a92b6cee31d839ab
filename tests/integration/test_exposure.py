"""Exposure over a real socket (docs/exposure.md): off loopback the control plane needs a token, and the
journal never shows a secret."""

from __future__ import annotations

import base64
import json
import subprocess
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import pytest

from mockserver.cli import is_loopback
from mockserver.settings import Credentials
from tests.fixtures import ServeProcess, mockline_serve
from tests.integration.limits_support import limited

HEALTH = "/__admin/health"


def _serve(*args: str) -> AbstractContextManager[ServeProcess]:
    return mockline_serve("--clock", "manual", *args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _assert_refused(answer: httpx.Response, reason: str) -> None:
    assert answer.status_code == 401, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["www-authenticate"] == "Bearer"
    problem = answer.json()
    assert problem["status"] == 401 and reason in problem["detail"]


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost", "LOCALHOST"])
def test_loopback_addresses(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "10.0.0.1", "mock.example.com"])
def test_addresses_that_are_not_loopback(host: str) -> None:
    assert not is_loopback(host)


@pytest.mark.slow
def test_off_loopback_the_mock_warns_and_requires_the_token_it_generated() -> None:
    with _serve("--host", "0.0.0.0") as mock:
        base = mock.base
        without = httpx.get(base + HEALTH)
        wrong = httpx.get(base + HEALTH, headers={"authorization": "Bearer not-the-token"})
        # The vendor APIs and the spec documents are not the control plane.
        ryng = httpx.post(
            base + "/ryng/rest-api/v1/progressive/queue/1/transactional",
            headers={"x-access-token": "mockline"},
            json={"customerData": {"jsonData": [{"number": "+919845555000"}]}},
        )
        docs = httpx.get(base + "/__admin/openapi.json")
    out, err = mock.stop()
    assert "WARNING: listening on 0.0.0.0, not a loopback address" in err
    (line,) = [x for x in err.splitlines() if x.startswith("mockline: admin token (generated): ")]
    token = line.rsplit(" ", 1)[1]
    assert len(token) >= 32
    _assert_refused(without, "no admin token was sent")
    _assert_refused(wrong, "a wrong admin token was sent")
    assert ryng.status_code == 200
    assert docs.status_code == 200
    assert token not in out  # printed once, on stderr with the warning

    with _serve("--host", "0.0.0.0", "--admin-token", "s3cret-admin") as mock:
        base = mock.base
        given = httpx.get(base + HEALTH, headers={"authorization": "Bearer s3cret-admin"})
        lower = httpx.get(base + HEALTH, headers={"authorization": "bearer s3cret-admin"})
        other = httpx.get(base + HEALTH, headers={"authorization": f"Bearer {token}"})
    _, err = mock.stop()
    assert given.status_code == 200 and lower.status_code == 200
    _assert_refused(other, "a wrong admin token was sent")
    assert "generated" not in err and "s3cret-admin" not in err


@pytest.mark.slow
def test_a_token_given_on_loopback_is_required_and_the_config_file_can_give_it(tmp_path: Path) -> None:
    config = tmp_path / "mock.yaml"
    config.write_text("admin_token: from-the-file\n")
    with _serve("--config", str(config)) as mock:
        base = mock.base
        without = httpx.get(base + HEALTH)
        given = httpx.get(base + HEALTH, headers={"authorization": "Bearer from-the-file"})
    _, err = mock.stop()
    _assert_refused(without, "no admin token was sent")
    assert given.status_code == 200
    assert "WARNING" not in err

    with _serve() as mock:  # loopback, no token: open, as before
        assert httpx.get(mock.base + HEALTH).status_code == 200


SECRETS = {
    "ryng-key": "ryng-key-4f1d",
    "diyalog-key": "diyalog-key-9a2e",
    "basic-password": "basic-pass-77c1",
    "bearer": "bearer-tok-31aa",
    "client-secret": "client-secret-5d0f",
    "password": "user-password-c0de",
    "refresh": "refresh-tok-8e8e",
    "code": "auth-code-1b1b",
    "query-token": "query-tok-6f6f",
    "admin": "admin-tok-2c2c",
    "wrong-secret": "wrong-secret-3e3e",
}


@pytest.mark.slow
def test_the_journal_shows_no_secret_of_any_kind() -> None:
    s = SECRETS
    admin = {"authorization": f"Bearer {s['admin']}"}
    # The secrets are the credentials the mock accepts, so that every request gets through to its body.
    credentials = {
        "ryng": Credentials(api_keys=(s["ryng-key"],)),
        "diyalog": Credentials(api_keys=(s["diyalog-key"],)),
        "ringotel-crm": Credentials(basic=(("mockline", s["basic-password"]),), bearer=(s["bearer"],)),
        "ringme": Credentials(
            clients=(("mockline", s["client-secret"]),), users=(("mockline", s["password"]),)
        ),
    }
    served_with = limited(admin_token=s["admin"], credentials=credentials)
    with served_with as served, httpx.Client(base_url=served.base) as client:
        # Headers: Ryng's x-access-token, Diyalog's Auth-Token, Basic and Bearer Authorization.
        client.post(
            "/ryng/rest-api/v1/progressive/queue/1/transactional",
            headers={"x-access-token": s["ryng-key"]},
            json={"customerData": {"jsonData": [{"number": "+919845555000"}]}},
        )
        client.get("/diyalog/checkauthtoken", headers={"auth-token": s["diyalog-key"]})
        basic = base64.b64encode(f"mockline:{s['basic-password']}".encode()).decode()
        client.get("/ringotel/users", headers={"authorization": f"Basic {basic}"})
        client.get("/ringotel/users", headers={"authorization": f"Bearer {s['bearer']}"})
        # OAuth form fields, each grant.
        token_path = "/ringme/oauth/token"
        client.post(
            token_path,
            data={"grant_type": "password", "client_id": "mockline", "client_secret": s["client-secret"]}
            | {"username": "mockline", "password": s["password"]},
        )
        client.post(
            token_path,
            data={"grant_type": "refresh_token", "client_id": "mockline", "refresh_token": s["refresh"]},
        )
        client.post(
            token_path,
            data={"grant_type": "authorization_code", "client_id": "mockline", "code": s["code"]}
            | {"redirect_uri": "https://app.example.com/cb"},
        )
        # A token in the query string; a client secret the CRM's token endpoint refuses.
        client.get(
            "/diyalog/CheckToken", params={"sessionId": "s-1", "token": s["query-token"], "userNo": "7"}
        )
        ringotel = {
            "grant_type": "client_credentials",
            "client_id": "mockline",
            "client_secret": s["wrong-secret"],
        }
        client.post("/ringotel/oauth/token", data=ringotel)
        journal = client.get("/__admin/requests", headers=admin)
    assert journal.status_code == 200
    entries = journal.json()["requests"]
    text = json.dumps(entries)
    leaked = [name for name, value in s.items() if value in text]
    assert not leaked, leaked
    by_path: dict[str, list[dict[str, object]]] = {}
    for entry in entries:
        by_path.setdefault(str(entry["path"]), []).append(entry)
    # Redacted where they were, and what is not secret is kept.
    push = by_path["/ryng/rest-api/v1/progressive/queue/1/transactional"][0]
    assert push["headers"]["x-access-token"] == "[redacted]"  # type: ignore[index]
    assert push["body"] == {"customerData": {"jsonData": [{"number": "+919845555000"}]}}
    assert by_path["/diyalog/checkauthtoken"][0]["headers"]["auth-token"] == "[redacted]"  # type: ignore[index]
    assert {e["headers"]["authorization"] for e in by_path["/ringotel/users"]} == {"[redacted]"}  # type: ignore[index]
    password_grant, refresh_grant, code_grant = by_path[token_path]
    assert password_grant["body"] == {
        "grant_type": "password",
        "client_id": "mockline",
        "client_secret": "[redacted]",
        "username": "mockline",
        "password": "[redacted]",
    }
    assert refresh_grant["body"]["refresh_token"] == "[redacted]"  # type: ignore[index]
    assert code_grant["body"]["code"] == "[redacted]"  # type: ignore[index]
    assert code_grant["body"]["redirect_uri"] == "https://app.example.com/cb"  # type: ignore[index]
    check = by_path["/diyalog/CheckToken"][0]
    assert "token=%5Bredacted%5D" in str(check["query"]) or "token=[redacted]" in str(check["query"])
    assert "sessionId=s-1" in str(check["query"])
    refused = by_path["/ringotel/oauth/token"][0]
    assert refused["body"]["client_secret"] == "[redacted]"  # type: ignore[index]
    assert refused["status"] == 403
