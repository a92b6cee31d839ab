"""``mockline verify-receiver`` against a correct receiver and receivers that each break one rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contracts.receiver import verify_receiver
from mockserver.cli import main
from tests.fixtures.verify import free_port, serving
from tests.fixtures.verify.receivers import RECEIVERS, correct


def test_a_correct_receiver_passes() -> None:
    with serving(correct()) as url:
        report = verify_receiver("ryng", url + "/callbacks")
    assert report.conformant and report.exit_code() == 0
    assert {check for _, check in report.rows} == {
        "valid_callback_accepted",
        "invalid_callback_no_5xx",
        "no_server_error",
        "duplicate_accepted",
        "retry_accepted",
    }


def test_there_are_at_least_five_broken_receivers() -> None:
    assert len(RECEIVERS) >= 5


@pytest.mark.parametrize("name", sorted(RECEIVERS))
def test_verify_receiver_names_the_rule_a_receiver_breaks(name: str) -> None:
    factory, rule = RECEIVERS[name]
    with serving(factory()) as url:
        report = verify_receiver("ryng", url + "/callbacks")
    assert rule in report.broken_rules, sorted(report.broken_rules)
    assert report.exit_code() == 1
    violation = next(v for v in report.violations if v.rule == rule)
    assert violation.curl.startswith("curl -X POST") and violation.expected and violation.got


def test_cli_reports_and_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    factory, _ = RECEIVERS["rejects_duplicates"]
    data = tmp_path / "receiver.json"
    with serving(factory()) as url:
        argv = ["verify-receiver", "ryng", "--url", url + "/callbacks", "--report", str(data)]
        assert main([*argv, "--junit-xml", str(tmp_path / "r.xml")]) == 1
    out = capsys.readouterr().out
    assert "[duplicate_accepted]" in out and "reproduce: curl -X POST" in out
    assert json.loads(data.read_text())["kind"] == "verify-receiver"
    assert (tmp_path / "r.xml").read_text().count("<failure") >= 1
    with serving(correct()) as url:
        assert main(["verify-receiver", "ringotel-crm", "--url", url + "/callbacks"]) == 0
    closed = f"http://127.0.0.1:{free_port()}/callbacks"
    assert main(["verify-receiver", "ryng", "--url", closed]) == 2
    assert "cannot reach the receiver" in capsys.readouterr().err
    assert main(["verify-receiver", "diyalog", "--url", closed]) == 2
    assert "declares no callbacks" in capsys.readouterr().err
