"""``mockline drive ringotel-crm``: every step passes against the mock CRM with each kind of credentials,
and against fixture CRMs that each break one step, the run stops at that step and says what was expected
and what came back."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from contracts.drive import Auth, Report, UsageError, drive
from mockserver.cli import main
from tests.fixtures import serving
from tests.fixtures.crm import BREAKS, FORGETS, crm_app
from tests.fixtures.mockline_http import new_app

STEPS = [
    "Users",
    "Incoming call",
    "FindContact",
    "CreateContact",
    "CreateActivity",
    "AssignActivity",
    "UpdateActivity",
    "StopCallActivity",
    "UpdateCallRecording",
]


def run(
    base_url: str, auth: str, transport: httpx.AsyncBaseTransport, **kwargs: object
) -> tuple[Report, str]:
    lines: list[str] = []
    report = asyncio.run(
        drive(base_url, Auth.parse(auth), transport=transport, say=lines.append, seed=5, **kwargs)
    )  # type: ignore[arg-type]
    return report, "\n".join(lines)


@pytest.mark.parametrize("auth", ["basic:mockline:mockline", "bearer:mockline", "oauth2:mockline:mockline"])
def test_every_step_passes_against_the_mock_crm(auth: str) -> None:
    app = new_app()
    report, output = run("http://mock/ringotel", auth, httpx.ASGITransport(app=app))
    assert report.ok and report.exit_code == 0, output
    names = [s.name for s in report.steps]
    assert names == (["OAuth2 token"] if auth.startswith("oauth2") else []) + STEPS
    assert "PASSED" in output
    activity = app.runtime.engines["ringotel-crm"].activities()[0]  # type: ignore[attr-defined]
    assert activity["status"] == "completed" and activity["recording"]["content_type"] == "audio/mpeg"
    assert activity["contact_id"] and activity["notes"]


def test_a_known_caller_skips_create_contact_and_a_link_replaces_the_upload() -> None:
    app = new_app()
    transport = httpx.ASGITransport(app=app)
    first, created_output = run(
        "http://mock/ringotel", "basic:mockline:mockline", transport, caller="+1 (617) 555-0123"
    )
    second, output = run(
        "http://mock/ringotel",
        "basic:mockline:mockline",
        transport,
        caller="16175550123",
        recording_url="https://recordings.example.com/call.mp3",
    )
    assert first.ok and second.ok, output
    created = next(s for s in first.steps if s.name == "CreateContact")
    skipped = next(s for s in second.steps if s.name == "CreateContact")
    assert "PASSED: all 9 steps of Ringotel's call workflow worked" in created_output, created_output
    # The skipped step is named skipped, and counted apart from the steps that ran and worked.
    contact = created.summary.split()[1]  # "contact c-2013 created for +1 (617) 555-0123"
    reason = f"the caller 16175550123 was found as contact {contact}"
    assert "PASSED: all" not in output, output
    assert f"{'[4/9] CreateContact':<28} skipped {reason}" in output, output
    assert (
        "PASSED: the 8 steps of Ringotel's call workflow that ran worked against http://mock/ringotel; "
        f"1 skipped (CreateContact: {reason})"
    ) in output, output
    assert "created" in created.summary and not created.skipped
    assert skipped.skipped and skipped.summary == reason and skipped.method is None and skipped.status is None
    assert [s.name for s in second.skipped] == ["CreateContact"] and len(second.ran) == 8
    assert "https://recordings.example.com/call.mp3" in output


@pytest.mark.parametrize("step", sorted(BREAKS))
def test_a_crm_broken_at_one_step_fails_that_step_with_what_was_expected(step: str) -> None:
    report, output = run("http://crm", "basic:mockline:mockline", httpx.ASGITransport(app=crm_app(step)))
    assert report.exit_code == 1, output
    assert report.failed is not None and report.failed.name == step, output
    message = report.failed.summary
    assert message.startswith("expected"), message
    assert f"FAILED at step {step}" in output
    expected_detail = {
        "Users": "user_id",
        "FindContact": "does not validate",
        "CreateContact": "expected 201 with the created contact, got 200",
        "CreateActivity": "expected 201 with the created activity, got 500",
        "AssignActivity": "got contact_id = null",
        "UpdateActivity": "call_start",
        "StopCallActivity": 'status = "completed", got status = "in_progress"',
        "UpdateCallRecording": "expected 200 with the activity with its recording, got 415",
    }[step]
    assert expected_detail in message, message
    assert all(s.ok for s in report.steps[:-1])


@pytest.mark.parametrize("broken", sorted(FORGETS))
def test_a_crm_that_forgets_what_an_earlier_step_stored_fails_the_step_that_forgot(broken: str) -> None:
    # Every answer validates and echoes what its own step sent; only the field an earlier step stored is
    # gone. Before the check, drive said "PASSED: all 9 steps".
    step, _, lost = broken.partition(":")
    report, output = run("http://crm", "basic:mockline:mockline", httpx.ASGITransport(app=crm_app(broken)))
    assert report.exit_code == 1, output
    assert report.failed is not None and report.failed.name == step, output
    assert f"expected {step} to keep what it was not sent: {lost} = " in report.failed.summary, output
    assert "PASSED" not in output


def test_the_correct_fixture_crm_passes_and_wrong_credentials_fail_the_first_step() -> None:
    report, output = run("http://crm", "basic:mockline:mockline", httpx.ASGITransport(app=crm_app()))
    assert report.ok, output
    denied, output = run("http://crm", "basic:mockline:wrong", httpx.ASGITransport(app=crm_app()))
    assert denied.failed is not None and denied.failed.name == "Users"
    assert "expected 200 with the list of CRM users, got 403" in denied.failed.summary


def test_auth_spellings() -> None:
    assert Auth.parse("basic:u:p:with:colons") == Auth("basic", "u", "p:with:colons")
    assert Auth.parse("bearer:tok") == Auth("bearer", "tok")
    assert Auth.parse(None) == Auth("none")
    for bad in ("basic:nopass", "oauth2:", "token:x", "bearer:"):
        with pytest.raises(UsageError):
            Auth.parse(bad)


@pytest.mark.slow
def test_cli_against_a_live_mock_on_loopback(capsys: pytest.CaptureFixture[str]) -> None:
    app = new_app(apis=("ringotel-crm",))
    with serving(app) as base:
        url = f"{base}/ringotel"
        assert main(["drive", "ringotel-crm", "--base-url", url, "--auth", "oauth2:mockline:mockline"]) == 0
        passed = capsys.readouterr().out
        assert "[10/10] UpdateCallRecording" in passed and "PASSED" in passed
        assert main(["drive", "ringotel-crm", "--base-url", url, "--auth", "bearer:nope"]) == 1
        failed = capsys.readouterr().out
        assert "FAILED at step Users" in failed and "got 403" in failed
    assert main(["drive", "ringotel-crm", "--base-url", url, "--auth", "basic:x:y"]) == 2
    assert "the request failed" in capsys.readouterr().out
    assert main(["drive", "ringotel-crm", "--base-url", url, "--auth", "kerberos"]) == 2
    assert "--auth takes" in capsys.readouterr().err
