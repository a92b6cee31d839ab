"""The ``workflows`` phase of ``mockline verify``: the behavioural contracts against faithful and faulty
implementations. The corpus test in test_verify.py runs every behavioural fixture; here, what the phase
promises besides: the faithful fixtures pass every workflow, a target without a mock clock gets "not
applicable" for the workflows that need one, a violation's curl reproduces it, and ``--operation``
narrows the phase too."""

from __future__ import annotations

import shlex
import subprocess
from typing import Any

import pytest

from contracts.reporting.model import Report
from contracts.runner import Problem, VerifyOptions, run_to_report, verify
from mockserver.cli import main
from tests.fixtures.verify import serving
from tests.fixtures.verify.behavioural import BEHAVIOURAL
from tests.fixtures.verify.broken import PREFIX, SPECS, VERIFY_AUTH, corpus, fixture_app

pytestmark = pytest.mark.slow


def workflows_held(report: Report) -> bool:
    """No workflow step failed and nothing broke the run. With the workflows phase alone, operations no
    workflow reaches have no evidence, so the run as a whole is rightly inconclusive, not conformant."""
    return not report.violations and not report.errors


def workflow_options(spec: str, url: str, **overrides: Any) -> VerifyOptions:
    auth = VERIFY_AUTH[spec]
    settings: dict[str, Any] = {
        "spec": spec,
        "base_url": url + PREFIX[spec],
        "headers": auth.get("headers", {}),
        "auth": auth.get("auth"),
        "seed": 1,
        "phases": ("workflows",),
        "rate_limit": "off",  # the fixtures have no limit
    }
    return VerifyOptions(**(settings | overrides))


def test_the_corpus_has_ten_fixtures_per_spec_four_of_them_behavioural() -> None:
    for spec in SPECS:
        names = [name for s, name in corpus() if s == spec]
        assert len(names) >= 10, (spec, names)
        assert len([n for n in names if n in BEHAVIOURAL]) >= 4, (spec, names)


# Every workflow of each spec's Arazzo document (helpers other workflows call, such as ringme's
# clearLocalAgent, get no row of their own).
WORKFLOWS = {
    "ryng": {"previewCallIsEndedByTheIdsItAnswered", "unknownCallCannotBeCancelled"},
    "diyalog": {"createdInteractionIsTheOneDeleteTakes", "interactionWithAnAgentIsNotWithdrawn"},
    "ringotel-crm": {
        "createdContactIsListedAndFound",
        "contactUpdateKeepsUnsentFields",
        "findContactIgnoresHowTheNumberIsWritten",
        "activityUpdateKeepsUnsentFields",
        "stopStoresWhatItWasSent",
        "assignToUnknownContactConflicts",
        "secondRecordingReplacesTheFirst",
        "accessTokensExpire",
    },
    "ringme": {
        "localSubscriptionIsReadAndListed",
        "remoteSubscriptionIsReadAndListed",
        "subscriptionUpdateKeepsUnsentFields",
        "deletedSubscriptionIsGone",
        "capIsEnforcedAndCounted",
        "accessTokensExpire",
    },
}


@pytest.mark.parametrize("spec", SPECS)
def test_a_faithful_fixture_passes_every_workflow(spec: str) -> None:
    # ringotel-crm's accessTokensExpire needs an OAuth2 token (under basic auth it is "n/a"): OAuth2 here,
    # so that every workflow applies and none is excused.
    oauth = {"auth": "oauth2:mockline:mockline"} if spec == "ringotel-crm" else {}
    with serving(fixture_app(spec, "identity")) as url:
        report = run_to_report(workflow_options(spec, url, **oauth))
    assert report.violations == [], [(v.rule, v.expected, v.got) for v in report.violations]
    assert workflows_held(report), report.errors
    verdicts = {
        operation: row.verdict for (operation, check), row in report.rows.items() if check == "workflows"
    }
    assert verdicts == {f"workflow {name}": "ok" for name in WORKFLOWS[spec]}


class NoControlPlane:
    """A target that is not the mock: nothing answers under /__admin."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/__admin"):
            await send({"type": "http.response.start", "status": 404, "headers": [(b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})
            return
        await self.app(scope, receive, send)


def test_workflows_that_need_the_mock_clock_are_not_applicable_elsewhere() -> None:
    with serving(NoControlPlane(fixture_app("diyalog", "taken_interaction_deleted"))) as url:
        events = list(verify(workflow_options("diyalog", url)))
    notes = [e.message for e in events if isinstance(e, Problem)]
    report = events[-1].report  # type: ignore[attr-defined]
    assert any("interactionWithAnAgentIsNotWithdrawn: not applicable" in n for n in notes), notes
    # The bug this fixture carries needs the clock to show; without one it is not judged at all.
    assert workflows_held(report)
    assert report.rows[("workflow interactionWithAnAgentIsNotWithdrawn", "workflows")].verdict == "n/a"
    assert "workflow createdInteractionIsTheOneDeleteTakes" in {o for o, _ in report.rows}


def test_oauth2_client_credentials_reach_the_token_workflow() -> None:
    with serving(fixture_app("ringotel-crm", "identity")) as url:
        basic = run_to_report(workflow_options("ringotel-crm", url))
        oauth = run_to_report(workflow_options("ringotel-crm", url, auth="oauth2:mockline:mockline"))
    assert basic.rows[("workflow accessTokensExpire", "workflows")].verdict == "n/a"
    assert oauth.rows[("workflow accessTokensExpire", "workflows")].passed == 1
    assert workflows_held(oauth)


def test_a_violations_curl_reproduces_what_it_reports() -> None:
    with serving(fixture_app("ringotel-crm", "unknown_contact_is_not_found")) as url:
        report = run_to_report(workflow_options("ringotel-crm", url))
        (violation,) = report.violations
        assert violation.rule == "workflow assignToUnknownContactConflicts / step assignUnknown"
        assert violation.operation == "POST /activities/{activity_id}/assign"
        assert "$statusCode == 409" in violation.expected and "assign/post/description" in violation.expected
        assert violation.got.startswith("HTTP 404")
        command = [*shlex.split(violation.curl), "-s", "-o", "/dev/null", "-w", "%{http_code}"]
        replayed = subprocess.run(command, capture_output=True, text=True, timeout=30, check=True)
    assert replayed.stdout == "404"


def test_operation_filter_keeps_only_workflows_within_the_operations_kept() -> None:
    with serving(fixture_app("ringotel-crm", "stop_always_completed")) as url:
        narrowed = run_to_report(
            workflow_options("ringotel-crm", url, operations=("createContact", "listContacts", "findContact"))
        )
    assert {o for o, _ in narrowed.rows} == {
        "workflow createdContactIsListedAndFound",
        "workflow findContactIgnoresHowTheNumberIsWritten",
    }
    assert workflows_held(narrowed)  # the stop bug is outside what was asked for


def test_cli_runs_the_workflows_phase(capsys: pytest.CaptureFixture[str]) -> None:
    with serving(fixture_app("ringme", "cap_never_enforced")) as url:
        argv = ["verify", "ringme", "--base-url", f"{url}/ringme", "--auth", "oauth2:mockline:mockline"]
        assert main([*argv, "--phases", "workflows", "--seed", "2"]) == 1
    out = capsys.readouterr().out
    assert "[workflow capIsEnforcedAndCounted / step pastTheCap]" in out
    assert "expected: $statusCode == 409" in out and "reproduce: curl -X POST" in out
