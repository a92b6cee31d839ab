"""The ``workflows`` phase of ``mockline verify``: the behavioural contracts against faithful and faulty
implementations. The corpus test in test_verify.py runs every behavioural fixture; here, what the phase
promises besides: the faithful fixtures pass every workflow, a target without a mock clock leaves the
workflows that need one inconclusive (``--exclude-workflow`` leaves them out, said in the report), a
workflow the documents declare not applicable here stays so while one that could not be played (429s,
refused credentials, inputs the run lacks) is inconclusive, a violation's curl reproduces it, and
``--operation`` narrows the phase too, naming every workflow it left out."""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from contracts import arazzo, workflows
from contracts.loaders import load_spec, workflows_path
from contracts.reporting.model import Report
from contracts.runner import Problem, VerifyOptions, run_to_report, verify
from contracts.traffic import Pacer, Traffic
from mockserver.app import create_app
from mockserver.cli import main
from mockserver.settings import Settings
from tests.fixtures.verify import serving
from tests.fixtures.verify.behavioural import BEHAVIOURAL
from tests.fixtures.verify.broken import PREFIX, SPECS, VERIFY_AUTH, corpus, fixture_app
from tests.fixtures.verify.mutants import CONFORMANT

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
        "contactPagesFollowOneAnother",
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


@pytest.mark.parametrize("name", sorted(CONFORMANT))
def test_a_fixture_that_follows_the_spec_unusually_passes_every_workflow(name: str) -> None:
    # A PBX that answers its creates 200 (the spec documents 200 and 201) once failed five workflow steps
    # that wanted 201: verify reported a violation where there was none.
    cls = CONFORMANT[name]
    (spec,) = cls.specs
    app = cls.wrap(create_app(Settings(apis=(spec,), clock="manual", rate_limit=False)), spec)
    with serving(app) as url:
        report = run_to_report(workflow_options(spec, url))
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


def test_workflows_that_need_the_mock_clock_are_inconclusive_elsewhere() -> None:
    with serving(NoControlPlane(fixture_app("diyalog", "taken_interaction_deleted"))) as url:
        events = list(verify(workflow_options("diyalog", url)))
    notes = [e.message for e in events if isinstance(e, Problem)]
    report = events[-1].report  # type: ignore[attr-defined]
    assert any("interactionWithAnAgentIsNotWithdrawn: inconclusive" in n for n in notes), notes
    # The bug this fixture carries needs the clock to show; without one it is not judged at all, and
    # the run says so: never a pass, never "not applicable".
    assert workflows_held(report)
    assert report.rows[("workflow interactionWithAnAgentIsNotWithdrawn", "workflows")].passed == 0
    (unplayed,) = [i for i in report.inconclusive if i.scope == "workflow"]
    assert unplayed.name == "interactionWithAnAgentIsNotWithdrawn"
    assert "needs a clock it can move" in unplayed.reason and "--exclude-workflow" in unplayed.reason
    assert "workflow createdInteractionIsTheOneDeleteTakes" in {o for o, _ in report.rows}
    assert report.exit_code() == 3


# A run that reaches every Ringotel operation in a few seconds: the links, the documented examples and
# one generated example each, then the workflows.
CRM_QUICK = ["--phases", "links,examples,fuzzing,workflows", "--max-examples", "1", "--rate-limit", "off"]


def test_a_real_crm_without_the_mock_clock_is_inconclusive_unless_the_workflow_is_left_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "r.json"
    with serving(NoControlPlane(fixture_app("ringotel-crm", "identity"))) as url:
        argv = ["verify", "ringotel-crm", "--base-url", f"{url}/ringotel", "--seed", "1", *CRM_QUICK]
        oauth = [*argv, "--auth", "oauth2:mockline:mockline"]
        assert main(oauth) == 3  # accessTokensExpire applies (OAuth2) but cannot be played here
        out = capsys.readouterr().out
        assert "workflow accessTokensExpire                       INCONCLUSIVE" in out
        assert "- workflow accessTokensExpire: needs a clock it can move" in out
        assert main([*oauth, "--exclude-workflow", "accessTokensExpire", "--report", str(data)]) == 0
        out = capsys.readouterr().out
        assert "! workflow accessTokensExpire: left out: --exclude-workflow" in out
        assert (
            "verify ringotel-crm: conformant in what it tested (left out: phases coverage, stateful, "
            "negative; workflow accessTokensExpire) ("
        ) in out
        document = json.loads(data.read_text())
        assert document["verdict"] == "conformant in what it tested" and document["inconclusive"] == []
        assert {"kind": "workflow", "name": "accessTokensExpire", "reason": "--exclude-workflow"} in document[
            "left_out"
        ]
        # Under Basic auth there are no tokens: the spec itself makes the workflow not applicable (the
        # run stays inconclusive for the token endpoint alone, which no Basic request can succeed on).
        assert main([*argv, "--auth", "basic:mockline:mockline", "--report", str(data)]) == 3
        out = capsys.readouterr().out
        assert "accessTokensExpire: not applicable: its inputs oauthClientId, oauthClientSecret" in out
        assert "authenticates by basicAuth" in out
        unproven = [(i["scope"], i["name"]) for i in json.loads(data.read_text())["inconclusive"]]
        assert unproven == [("operation", "POST /oauth/token")]
        assert main([*oauth, "--exclude-workflow", "noSuchWorkflow"]) == 2
        assert "unknown workflow noSuchWorkflow: choose from createdContactIsListedAndFound" in (
            capsys.readouterr().err
        )


def _runner(spec: str, answer: Any, credentials: dict[str, str], auth: str | None = None) -> workflows.Runner:
    """A runner of ``spec``'s workflows against ``answer`` (request -> httpx.Response), with a control
    plane, paced by nothing."""
    path = workflows_path(spec)
    assert path is not None

    def route(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/__admin/clock":
            made = httpx.Response(200, json={"now": "2026-01-01T00:00:00Z"})
        else:
            made = answer(request)
        # As a server's answer arrives: a stream, read by the client (which then knows its elapsed time).
        return httpx.Response(made.status_code, headers=made.headers, stream=httpx.ByteStream(made.content))

    traffic = Traffic(pacer=Pacer(0.0), credentials=credentials)
    schemes = workflows.other_scheme(load_spec(spec), auth, credentials)
    target = workflows.Target(
        f"http://api.test/{spec}", credentials, workflows.oauth2_client(auth), 1, 5.0, traffic, schemes
    )
    client = httpx.Client(transport=httpx.MockTransport(route))
    return workflows.Runner(arazzo.load(path), target, client)


def _play(runner: workflows.Runner, workflow_id: str) -> workflows.Outcome:
    return runner.run(runner.document.workflow(workflow_id))


RYNG_TOKEN = {"x-access-token": "mockline"}


@pytest.mark.parametrize(
    ("answer", "reason", "requests"),
    [
        (
            httpx.Response(429, headers={"Retry-After": "0"}),
            "step cancelUnknown was answered 429 (rate limited) 3 times",
            3,
        ),
        (
            httpx.Response(403, json={"error": True, "message": "Invalid access token"}),
            "step cancelUnknown was refused the run's credentials (403)",
            1,
        ),
    ],
    ids=["answered-429-every-time", "refused-the-runs-credentials"],
)
def test_a_step_that_cannot_be_played_is_inconclusive(
    answer: httpx.Response, reason: str, requests: int
) -> None:
    outcome = _play(_runner("ryng", lambda _: answer, RYNG_TOKEN), "unknownCallCannotBeCancelled")
    assert outcome.inconclusive == reason and outcome.requests == requests
    assert not outcome.passed and not outcome.not_applicable and outcome.violation is None


def test_what_the_document_declares_not_applicable_stays_so() -> None:
    busy = {"error": True, "message": "Agent is busy"}
    outcome = _play(
        _runner("ryng", lambda _: httpx.Response(500, json=busy), RYNG_TOKEN),
        "previewCallIsEndedByTheIdsItAnswered",
    )
    assert outcome.not_applicable == "step dial got 500, which proves nothing here"
    assert not outcome.inconclusive and outcome.violation is None


@pytest.mark.parametrize(
    ("spec", "auth", "headers", "verdict"),
    [
        # Ringotel offers Basic and a static API key besides OAuth2: under them there are no tokens.
        ("ringotel-crm", "basic:u:p", {"Authorization": "Basic dTpw"}, "not_applicable"),
        ("ringotel-crm", "bearer:key", {"Authorization": "Bearer key"}, "not_applicable"),
        # ringme has OAuth2 alone: a Bearer token is one of its tokens, and the client is missing.
        ("ringme", "bearer:token", {"Authorization": "Bearer token"}, "inconclusive"),
    ],
)
def test_token_expiry_is_not_applicable_only_where_the_spec_issues_no_tokens(
    spec: str, auth: str, headers: dict[str, str], verdict: str
) -> None:
    def never(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"nothing is sent: {request.url}")

    outcome = _play(_runner(spec, never, headers, auth), "accessTokensExpire")
    said = {"not_applicable": outcome.not_applicable, "inconclusive": outcome.inconclusive}
    assert said[verdict] and not [v for k, v in said.items() if k != verdict and v], said
    assert "oauthClientId, oauthClientSecret" in said[verdict]


def test_an_input_the_run_gives_no_value_for_is_inconclusive() -> None:
    outcome = _play(_runner("ryng", lambda _: httpx.Response(500), {}), "unknownCallCannotBeCancelled")
    assert outcome.inconclusive == "the run gives no value for accessToken" and outcome.requests == 0


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
        alone = run_to_report(workflow_options("ringotel-crm", url, operations=("createContact",)))
        excluded = run_to_report(workflow_options("ringotel-crm", url, exclude_operations=("issueToken",)))
    kept = {
        "workflow createdContactIsListedAndFound",
        "workflow contactPagesFollowOneAnother",
        "workflow findContactIgnoresHowTheNumberIsWritten",
    }
    assert {o for o, _ in narrowed.rows} == kept
    assert workflows_held(narrowed)  # the stop bug is outside what was asked for
    # Every workflow the filter dropped is named, with the operation that dropped it.
    dropped = {left.name: left.reason for left in narrowed.left_out if left.kind == "workflow"}
    assert set(dropped) == WORKFLOWS["ringotel-crm"] - {name.removeprefix("workflow ") for name in kept}
    assert (
        dropped["stopStoresWhatItWasSent"]
        == "uses createActivity, which --operation/--exclude-operation left out"
    )
    # --operation createContact alone: no workflow uses createContact alone, so all nine are left out.
    assert {left.name for left in alone.left_out if left.kind == "workflow"} == WORKFLOWS["ringotel-crm"]
    assert not [row for (_, check), row in alone.rows.items() if check == "workflows"]
    assert alone.verdict != "conformant" and "9 workflows" in alone.left_out_summary()
    # --exclude-operation narrows the phase the same way.
    assert [(left.kind, left.name) for left in excluded.left_out if left.kind != "phase"] == [
        ("operation", "POST /oauth/token"),
        ("workflow", "accessTokensExpire"),
    ]


def test_cli_runs_the_workflows_phase(capsys: pytest.CaptureFixture[str]) -> None:
    with serving(fixture_app("ringme", "cap_never_enforced")) as url:
        argv = ["verify", "ringme", "--base-url", f"{url}/ringme", "--auth", "oauth2:mockline:mockline"]
        assert main([*argv, "--phases", "workflows", "--seed", "2"]) == 1
    out = capsys.readouterr().out
    assert "[workflow capIsEnforcedAndCounted / step pastTheCap]" in out
    assert "expected: $statusCode == 409" in out and "reproduce: curl -X POST" in out


class TokenExpiresOnceIssued:
    """The mock, whose clock another run moves two hours on just after this run's first token is issued:
    the token has expired before the workflows use it."""

    def __init__(self, spec: str) -> None:
        self.app = fixture_app(spec, "identity")
        self.tokens = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)
        if scope["type"] == "http" and scope["path"].endswith("/oauth/token"):
            self.tokens += 1
            if self.tokens == 1:
                inner = self.app
                while not hasattr(inner, "runtime"):  # the mock, under the fixture's layers
                    inner = inner.app
                await inner.runtime.timeline.advance(7_200)


def test_a_token_that_expired_before_a_workflow_is_renewed_and_the_workflow_played() -> None:
    """Under OAuth2, a workflow whose first request is refused the run's token (another run, or a workflow
    of this one, moved the mock's clock past the token's life) renews it once and starts again, as any
    client does: before, every workflow after the expiry was inconclusive, "refused the run's
    credentials"."""
    target = TokenExpiresOnceIssued("ringotel-crm")
    with serving(target) as url:
        report = run_to_report(workflow_options("ringotel-crm", url, auth="oauth2:mockline:mockline"))
    assert target.tokens >= 2, "the run asked for a new token"
    verdicts = {o: row.verdict for (o, check), row in report.rows.items() if check == "workflows"}
    assert verdicts and set(verdicts.values()) == {"ok"}, (verdicts, report.inconclusive)
    assert [i for i in report.inconclusive if i.scope == "workflow"] == []
