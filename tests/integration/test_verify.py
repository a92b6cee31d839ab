"""``mockline verify`` against the mock, a correct fixture and a corpus of fixtures that each break one rule.

Every broken fixture must fail with the rule it breaks named; the mock and the correct fixtures must pass.
Runs use a fixed seed and few examples so the suite stays fast.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from contracts.runner import PHASES, VerifyOptions, run_to_report
from mockserver.app import create_app
from mockserver.cli import main
from mockserver.settings import Settings
from tests.fixtures.verify import free_port, serving
from tests.fixtures.verify.broken import (
    BREAKAGES,
    OPERATIONS,
    PREFIX,
    SPECS,
    VERIFY_AUTH,
    corpus,
    fixture_app,
)

pytestmark = pytest.mark.slow


def options(
    spec: str,
    url: str,
    *,
    operations: tuple[str, ...] = (),
    max_examples: int = 3,
    phases: tuple[str, ...] = PHASES,
) -> VerifyOptions:
    auth = VERIFY_AUTH[spec]
    return VerifyOptions(
        phases=phases,
        spec=spec,
        base_url=url + PREFIX[spec],
        headers=auth.get("headers", {}),
        auth=auth.get("auth"),
        seed=1,
        max_examples=max_examples,
        operations=operations,
    )


def test_the_corpus_has_at_least_five_broken_fixtures_per_spec() -> None:
    for spec in SPECS:
        assert len([name for s, name in corpus() if s == spec]) >= 5, spec


@pytest.mark.parametrize(("spec", "breakage"), corpus(), ids=[f"{s}-{b}" for s, b in corpus()])
def test_verify_names_the_rule_a_fixture_breaks(spec: str, breakage: str) -> None:
    phases = getattr(BREAKAGES[breakage], "phases", None)  # behavioural ones: the workflows phase alone
    with serving(fixture_app(spec, breakage)) as url:
        if phases:
            report = run_to_report(options(spec, url, phases=phases))
        else:
            report = run_to_report(options(spec, url, operations=OPERATIONS[spec]))
    rule = BREAKAGES[breakage].rule
    assert rule in report.broken_rules, f"{breakage} was caught only by {sorted(report.broken_rules)}"
    assert report.exit_code() == 1
    caught = next(v for v in report.violations if v.rule == rule)
    assert caught.expected and caught.got and caught.curl.startswith("curl ")


@pytest.mark.parametrize("spec", SPECS)
def test_a_correct_fixture_passes(spec: str) -> None:
    with serving(fixture_app(spec, "identity")) as url:
        report = run_to_report(options(spec, url, operations=OPERATIONS[spec]))
    assert report.violations == [], [(v.operation, v.rule, v.got) for v in report.violations]
    assert report.conformant and report.exit_code() == 0
    assert report.requests > 0


@pytest.mark.parametrize("spec", SPECS)
def test_the_mock_passes_verify(spec: str) -> None:
    app = create_app(Settings(clock="manual", rate_limit=False))
    with serving(app) as url:
        report = run_to_report(options(spec, url, max_examples=5))
    assert report.violations == [], [(v.operation, v.rule, v.title, v.got) for v in report.violations]
    assert report.conformant


def test_cli_passes_a_conformant_server_and_writes_every_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junit, html, data = tmp_path / "r.xml", tmp_path / "r.html", tmp_path / "r.json"
    with serving(fixture_app("diyalog", "identity")) as url:
        argv = ["verify", "diyalog", "--base-url", f"{url}/diyalog", "--header", "Auth-Token: mockline"]
        argv += ["--seed", "3", "--max-examples", "3", "--junit-xml", str(junit), "--report", str(html)]
        assert main(argv) == 0
        assert main([*argv[:-2], "--report", str(data)]) == 0
    out = capsys.readouterr().out
    assert "examples" in out and "conformant" in out and "POST /CreateInteraction" in out
    assert " s, seed 3)" in out  # the run prints its time
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "0" and int(suite.get("tests", "0")) > 0
    assert "<table>" in html.read_text() and "conformant" in html.read_text()
    assert json.loads(data.read_text())["conformant"] is True


def test_cli_exits_1_and_explains_each_violation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    junit, data = tmp_path / "r.xml", tmp_path / "r.json"
    with serving(fixture_app("ryng", "wrong_auth_code")) as url:
        argv = ["verify", "ryng", "--base-url", f"{url}/ryng", "--header", "x-access-token: mockline"]
        argv += ["--seed", "1", "--max-examples", "3", "--operation", "makePreviewCall"]
        argv += ["--junit-xml", str(junit), "--report", str(data)]
        assert main(argv) == 1
    out = capsys.readouterr().out
    assert "[auth_failure_status] POST /rest-api/v1/preview/call" in out
    assert "expected: HTTP 403 when the credentials are missing or wrong" in out
    assert "got:      HTTP 401" in out and "reproduce: curl -X POST" in out
    document = json.loads(data.read_text())
    assert document["exit_code"] == 1 and "auth_failure_status" in {v["rule"] for v in document["violations"]}
    failures = ET.parse(junit).getroot().iter("failure")
    assert "auth_failure_status" in {f.get("type") for f in failures}


def test_cli_exits_2_on_usage_and_connection_errors(capsys: pytest.CaptureFixture[str]) -> None:
    closed = f"http://127.0.0.1:{free_port()}/ryng"
    assert main(["verify", "ryng", "--base-url", closed]) == 2
    assert "cannot reach" in capsys.readouterr().err
    assert main(["verify", "no-such-spec", "--base-url", closed]) == 2
    assert "no spec named" in capsys.readouterr().err
    assert main(["verify", "ryng", "--base-url", closed, "--auth", "kerberos:x"]) == 2
    assert main(["verify", "ryng", "--base-url", closed, "--report", "out.txt"]) == 2
    with serving(fixture_app("ringme", "identity")) as url:
        assert main(["verify", "ringme", "--base-url", f"{url}/ringme", "--auth", "oauth2:wrong:wrong"]) == 2
    assert "did not issue a token" in capsys.readouterr().err
