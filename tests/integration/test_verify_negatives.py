"""verify's ``negative`` phase on operations that take an id in their path, over HTTP against the mock.

Such an operation's valid request must address something the server has: the phase creates it first
through the spec's OpenAPI links (as the links phase does), else takes the parameter's example. With a
made-up id every case and its valid request drew the same 404, each rule came out "not applicable", and
a CRM that files any ``recording_url`` was called conformant (exit 0). What the phase still cannot judge
(the valid request refused, a 429, the credential failure status) is inconclusive, never conformant.
"""

from __future__ import annotations

from typing import Any

import pytest

from contracts import model, negatives, pairing, runner
from contracts.reporting import terminal
from mockserver.app import create_app
from mockserver.settings import Settings
from tests.fixtures import serving
from tests.fixtures.verify.broken import MOCK_AUTH, PREFIX, SPECS
from tests.fixtures.verify.negative import negative_events
from tests.fixtures.verify.path_ids import RECORDING_URL_RULE, OneActivityPerAccount, RecordingUrlNotChecked

pytestmark = pytest.mark.slow

RECORDING = "POST /activities/{activity_id}/recording"


def _run(spec: str, url: str, **options: Any) -> tuple[Any, dict[str, list[str]]]:
    """A verify run; the report, and the negative phase's events: labels passed and failed, problems."""
    auth = MOCK_AUTH[spec]
    run = runner.VerifyOptions(
        spec=spec,
        base_url=url + PREFIX[spec],
        headers=auth.get("headers", {}),
        auth=auth.get("auth"),
        seed=1,
        rate_limit="off",  # the mock here has no limit (pacing is tested in test_verify.py)
        **options,
    )
    return negative_events(run)


def _path_id_cases(spec: str) -> set[str]:
    """'METHOD /path rule' of every case the phase derives for an operation that takes a path id."""
    cases, _ = negatives.derive(model.contract(spec), seed=1)
    return {f"{c.label} {c.rule}" for c in cases if any(p.location == "path" for p in c.operation.parameters)}


# Rules the audit found never judged on the mock, by name (a derivation that lost them fails here): the
# operations that take an id no example gives, and ringme's token request, whose example client the mock
# does not know (its valid request now asks a token for the run's own OAuth2 client).
UNJUDGED_BEFORE = {
    "ringotel-crm": {
        "PATCH /contacts/{contact_id} negative /components/schemas/ContactUpdate/properties/email/format "
        "(format email)",
        f"{RECORDING} {RECORDING_URL_RULE}",
        "POST /activities/{activity_id}/stop negative /components/schemas/ActivityStop/properties/call_end/"
        "oneOf/0/format (format int64)",
    },
    "ringme": {
        "DELETE /api/ver1.0/client/{client_id}/agent/remote/{agent_id}/event/{event_id} negative "
        "/components/parameters/EventId/schema/format (format int64)",
        "PUT /api/ver1.0/client/{client_id}/agent/remote/{agent_id}/event/{event_id} negative "
        "/components/schemas/AgentEventUpdate/properties/url/format (format uri)",
        "POST /oauth/token negative /components/schemas/TokenRequest/properties/redirect_uri/format "
        "(format uri)",
    },
}


@pytest.mark.parametrize("spec", sorted(UNJUDGED_BEFORE))
def test_the_rules_of_path_id_operations_pass_on_ids_the_mock_has(spec: str) -> None:
    """The negative phase alone, on a fresh mock: the creates it needs are its own."""
    rules = UNJUDGED_BEFORE[spec]
    assert {r for r in rules if "{" in r.split(" ")[1]} <= _path_id_cases(spec)
    app = create_app(Settings(apis=(spec,), clock="manual", rate_limit=False))
    with serving(app) as url:
        report, seen = _run(spec, url, phases=("negative",))
    assert rules <= set(seen["passed"]), (sorted(rules - set(seen["passed"])), seen["problems"])
    assert _path_id_cases(spec) <= set(seen["passed"]), seen["problems"]
    assert [i for i in report.inconclusive if i.scope == "rule"] == []


def _recording_run(app: Any) -> tuple[Any, dict[str, list[str]]]:
    """Links and negative phases over the create and the recording alone: the links phase proves both
    answer with success, so what decides the verdict is the negative phase."""
    spec = "ringotel-crm"
    with serving(app) as url:
        return _run(
            spec,
            url,
            phases=("links", "negative"),
            operations=("createActivity", "updateCallRecording"),
        )


def _ringotel() -> Any:
    return create_app(Settings(apis=("ringotel-crm",), clock="manual", rate_limit=False))


def test_the_recording_rule_passes_on_the_mock() -> None:
    report, seen = _recording_run(_ringotel())
    assert f"{RECORDING} {RECORDING_URL_RULE}" in seen["passed"], seen["problems"]
    assert report.violations == [] and report.inconclusive == [] and report.exit_code() == 0


def test_a_crm_that_files_a_recording_url_that_is_no_uri_fails() -> None:
    """The audit's case: on a made-up activity id this was "not applicable" and the run conformant (0)."""
    report, _ = _recording_run(RecordingUrlNotChecked.wrap(_ringotel(), "ringotel-crm"))
    assert RECORDING_URL_RULE in report.broken_rules, (report.inconclusive, report.violations)
    caught = next(v for v in report.violations if v.rule == RECORDING_URL_RULE)
    assert caught.operation == RECORDING and caught.got.startswith("HTTP 200")
    assert "not a uri" in caught.curl and "/activities/mockline-" not in caught.curl
    assert report.exit_code() == 1


def test_a_path_id_operation_whose_valid_request_is_always_refused_is_inconclusive() -> None:
    """No activity can be created after the links phase's: the recording's valid request addresses none
    the server has and is refused (404), so its rule is unjudged, and so are the create's own rules. The
    run was conformant (0) when these were "not applicable"."""
    report, seen = _recording_run(OneActivityPerAccount.wrap(_ringotel(), "ringotel-crm"))
    assert report.violations == [] and report.errors == []
    rules = {i.name: i.reason for i in report.inconclusive if i.scope == "rule"}
    reason = rules.get(f"{RECORDING} {RECORDING_URL_RULE}", "")
    assert "the valid request it was derived from was not accepted either (HTTP 404)" in reason, rules
    assert "createActivity created nothing: HTTP 403" in reason and "activity_id was made up" in reason
    assert all(name.startswith(("POST /activities ", RECORDING)) for name in rules)
    assert [i for i in report.inconclusive if i.scope != "rule"] == []  # the rules alone make it so
    assert seen["passed"] == [] and not report.conformant and report.exit_code() == 3
    # Named in the terminal's words too: what was inconclusive, and why.

    assert f"rule {RECORDING} {RECORDING_URL_RULE}: the valid request" in terminal.render(report)


def test_every_spec_gives_each_path_id_operation_a_way_to_an_id() -> None:
    """Each operation of our specs with a negative case and a path id either has an OpenAPI link from a
    create or an example for every path value: none is left to a made-up id."""
    for spec in SPECS:
        contract = model.contract(spec)
        linked = {link.target.operation_id for link in pairing.links(contract)}
        for case in negatives.derive(contract, seed=1)[0]:
            operation = case.operation
            if operation.operation_id in linked:
                continue
            made_up = negatives._made_up(operation, None)
            assert made_up == [], (spec, operation.operation_id, made_up)
