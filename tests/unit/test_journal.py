"""The journal hands out no secret: headers, body fields at any depth, query parameters and what a
validation message quoted of them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from mockserver.journal import REDACTED, Journal, is_secret, redacted

SECRET_NAMES = ["Authorization", "x-access-token", "Auth-Token", "Cookie", "X-API-Key", "client_secret"]
SECRET_NAMES += [
    "password",
    "refresh_token",
    "access_token",
    "code",
    "id_token",
    "clientSecret",
    "newPassword",
]


@pytest.mark.parametrize("name", SECRET_NAMES)
def test_secret_names(name: str) -> None:
    assert is_secret(name)


@pytest.mark.parametrize(
    "name", ["number", "client_id", "username", "grant_type", "content-type", "redirect_uri"]
)
def test_names_that_are_not_secret(name: str) -> None:
    assert not is_secret(name)


def _entry(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "at": datetime(2026, 1, 5, tzinfo=UTC),
        "api": "ringme",
        "method": "POST",
        "path": "/ringme/oauth/token",
        "query": "",
        "operationId": "issueToken",
        "status": 400,
        "validation_errors": (),
        "headers": {},
    }
    return {**base, **fields}


def test_a_journal_view_redacts_and_the_entry_keeps_what_came() -> None:
    journal = Journal(10)
    headers = {"authorization": "Bearer abc", "content-type": "application/json", "x-access-token": "k"}
    journal.record(
        _entry(
            headers=headers,
            query="sessionId=s1&token=t0k3n&userNo=7",
            body_json=b'{"grant_type":"password","password":"pw","nested":[{"client_secret":"cs","n":1}]}',
            validation_errors=("body.password: 'pw' is too short", "body.limit: 5 is too big"),
            error="Invalid request: body.password: 'pw' is too short; body.client_secret: 'cs' is bad",
            detail=["body.refresh_token: 'rt' is not a string"],
        )
    )
    (view,) = journal.entries()
    assert view["headers"] == {
        "authorization": REDACTED,
        "content-type": "application/json",
        "x-access-token": REDACTED,
    }
    assert view["query"] == "sessionId=s1&token=[redacted]&userNo=7"
    assert view["body"] == {
        "grant_type": "password",
        "password": REDACTED,
        "nested": [{"client_secret": REDACTED, "n": 1}],
    }
    assert view["validation_errors"] == ["body.password: [redacted]", "body.limit: 5 is too big"]
    assert view["error"] == "Invalid request: body.password: [redacted]; body.client_secret: [redacted]"
    assert view["detail"] == ["body.refresh_token: [redacted]"]
    assert headers["authorization"] == "Bearer abc"  # the view is a copy


def test_a_view_without_secrets_is_unchanged() -> None:
    view = {
        "query": "a=1&b=two%20words",
        "body": {"number": "+919845012345"},
        "error": "Invalid request: body.n: x",
    }
    assert redacted(view) == view


def test_a_secret_key_spelled_in_unicode_escapes_is_redacted_too() -> None:
    journal = Journal(10)
    journal.record(_entry(body_json=b'{"n": 1, "\\u0070assword": "pw"}'))
    (view,) = journal.entries()
    assert view["body"] == {"n": 1, "password": REDACTED}


def test_every_secret_name_is_one_the_body_scan_looks_for() -> None:
    from mockserver.journal import _SECRET_NAMES, _may_name_a_secret

    for name in [
        *_SECRET_NAMES,
        "client_secret",
        "refresh-token",
        "api_key",
        "apiKey",
        "newPassword",
        "pass_word",
        "API-KEY",
    ]:
        assert _may_name_a_secret(f'{{"{name}": 1}}'.encode()), name
    assert not _may_name_a_secret(b'{"customerData": {"jsonData": [{"number": "+919845012345"}]}}')


def test_secret_values_are_taken_out_of_messages_whatever_their_wording() -> None:
    journal = Journal(10)
    journal.record(
        _entry(
            headers={"authorization": "Bearer tok-9f9f"},
            query="token=qt-1234",
            body_json=b'{"password": "pw", "client_secret": 12345, "n": 1}',
            validation_errors=('password "pw" is too short', "client_secret 12345 is not a string"),
            error="the Bearer token tok-9f9f is unknown; the token qt-1234 too; n 1 is fine",
        )
    )
    (view,) = journal.entries()
    assert view["validation_errors"] == [
        "password [redacted] is too short",
        "client_secret [redacted] is not a string",
    ]
    assert view["error"] == "the Bearer token [redacted] is unknown; the token [redacted] too; n 1 is fine"
