"""verify's ``negative`` phase over HTTP: the mock refuses every case it derives, on each of our APIs and on
a third-party spec; an implementation that accepts a malformed date-time fails it, with the rule named.

(The corpus in tests/integration/test_verify.py holds one lenient fixture per other rule kind: Ryng's
``global`` mapping without ``agents``, non-base64 ``byte`` data, an int64 past its range, ...)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from contracts.runner import VerifyOptions, run_to_report
from mockserver.app import create_app
from mockserver.cli import build_parser, settings_from
from mockserver.settings import Settings
from tests.fixtures import serving
from tests.fixtures.verify.broken import PREFIX, SPECS, VERIFY_AUTH
from tests.fixtures.verify.negative import Lenient

pytestmark = pytest.mark.slow

CLINIC = Path(__file__).resolve().parents[1] / "fixtures" / "specs" / "third_party" / "pet-clinic.yaml"

# Rules the mock must be seen refusing (a refusal the valid request it came from was accepted for).
MUST_REFUSE: dict[str, set[str]] = {
    "ryng": {
        "negative /components/schemas/PushTransactionalRequest/not (not)",
        "negative /components/schemas/QueueCustomerData/not (not)",
        "negative /components/schemas/CallbackUrl/format (format uri)",
    },
    "diyalog": {
        "negative /components/schemas/CreateDocumentRequest/properties/base64FileContent/format (format byte)",
        "negative /components/schemas/AttachedData/oneOf (oneOf branch 0)",
        "negative /components/schemas/AttachedData/oneOf (oneOf branch 1)",
    },
    "ringotel-crm": {
        "negative /components/schemas/ActivityCreate/properties/call_start/oneOf/0/format (format int64)",
        "negative /components/schemas/ActivityCreate/properties/call_start/oneOf (oneOf branch 0)",
        "negative /components/schemas/ContactCreate/properties/email/format (format email)",
    },
    "ringme": {
        "negative /components/schemas/AgentEventCreate/properties/url/format (format uri)",
        "negative /components/parameters/EventId/schema/format (format int64)",
    },
}


def _run(spec: str, url: str) -> tuple[Any, list[str]]:
    auth = VERIFY_AUTH[spec]
    events: list[str] = []
    options = VerifyOptions(
        spec=spec,
        base_url=url + PREFIX[spec],
        headers=auth.get("headers", {}),
        auth=auth.get("auth"),
        seed=1,
        phases=("negative",),
        rate_limit="off",  # the mock here has no limit; pacing is tested elsewhere
    )
    from contracts.runner import Finished, Problem, Tested, verify

    report = None
    for event in verify(options):
        if isinstance(event, Tested) and event.ok:
            events.append(event.label)
        elif isinstance(event, Problem):
            events.append("n/a " + event.message)
        elif isinstance(event, Finished):
            report = event.report
    return report, events


@pytest.mark.parametrize("spec", SPECS)
def test_the_mock_refuses_every_negative_case(spec: str) -> None:
    app = create_app(Settings(apis=(spec,), clock="manual", rate_limit=False))
    with serving(app) as url:
        report, events = _run(spec, url)
    assert report.violations == [], [(v.operation, v.rule, v.got) for v in report.violations]
    assert report.errors == []
    passed = {label.split(" ", 2)[2] for label in events if not label.startswith("n/a ")}
    assert MUST_REFUSE[spec] <= passed, sorted(passed)
    # What could not be judged is said, with its reason, never counted as a pass.
    for label in events:
        if label.startswith("n/a "):
            assert "not applicable: " in label and label.split("not applicable: ", 1)[1]


def _clinic_settings() -> Any:
    args = build_parser().parse_args(
        ["serve", "--spec", str(CLINIC), "--seed", "3", "--clock", "manual", "--callback-allow", "127.0.0.1"]
    )
    return settings_from(args)


class LenientStartTime(Lenient):
    """A booking service that reads any start time it cannot parse as "now" instead of refusing it."""

    def __init__(self, spec: str) -> None:  # a third-party spec: no x-mockline error shape to read
        self.spec = spec

    def relax(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        if path == "/appointments" and body.get("startsAt") == "2026-13-45T25:61:00Z":
            body["startsAt"] = "2026-11-30T09:00:00Z"
        return body


def _clinic_report(app: Any) -> Any:
    with serving(app) as url:
        options = VerifyOptions(
            spec=str(CLINIC),
            base_url=url,
            headers={"X-Clinic-Key": "k"},
            seed=1,
            phases=("negative",),
        )
        return run_to_report(options)


def test_a_third_party_spec_mock_refuses_a_malformed_date_time_and_a_lenient_one_fails() -> None:
    faithful = _clinic_report(create_app(_clinic_settings()))
    assert faithful.violations == [], [(v.rule, v.got) for v in faithful.violations]
    assert faithful.rows[("POST /appointments", "negative")].passed >= 1

    lenient = _clinic_report(LenientStartTime.wrap(create_app(_clinic_settings()), "pet-clinic"))
    rule = "negative /components/schemas/NewAppointment/properties/startsAt/format (format date-time)"
    assert rule in lenient.broken_rules, lenient.broken_rules
    caught = next(v for v in lenient.violations if v.rule == rule)
    assert caught.got.startswith("HTTP 201") and "2026-13-45T25:61:00Z" in caught.curl
    assert caught.expected.startswith("HTTP 400") and lenient.exit_code() == 1
