"""``mockline --version`` and the reports name the versions that produced them: the locked ones."""

from __future__ import annotations

import json
import platform
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from contracts.reporting import html, json_report, junit
from contracts.reporting.model import Report
from contracts.versions import collect, describe, version_of
from mockserver.cli import main

ROOT = Path(__file__).resolve().parents[2]
LOCKED = {
    p["name"]: p["version"] for p in tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))["package"]
}


def test_collect_names_mockline_the_key_libraries_and_python_at_their_locked_versions() -> None:
    assert collect() == {
        "mockline": LOCKED["mockline"],
        "connexion": LOCKED["connexion"],
        "schemathesis": LOCKED["schemathesis"],
        "openapi-core": LOCKED["openapi-core"],
        "python": platform.python_version(),
    }


def test_a_missing_distribution_is_said_so() -> None:
    assert version_of("no-such-distribution-anywhere") == "not installed"


def test_the_version_flag_prints_one_line_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--version"])
    assert stopped.value.code == 0
    out = capsys.readouterr().out
    assert out == (
        f"mockline {LOCKED['mockline']} (connexion {LOCKED['connexion']}, schemathesis {LOCKED['schemathesis']}, "
        f"openapi-core {LOCKED['openapi-core']}, python {platform.python_version()})\n"
    )


def test_every_file_report_carries_the_versions() -> None:
    report = Report(kind="verify", target="ryng", url="http://127.0.0.1:1/ryng")
    report.versions = {"mockline": "9.9", "connexion": "1.2", "python": "3.11.0"}
    assert json.loads(json_report.render(report))["versions"] == report.versions
    suite = ET.fromstring(junit.render(report)).find("testsuite")
    assert suite is not None
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    versions = {name: value for name, value in properties.items() if str(name).startswith("version.")}
    assert versions == {"version.mockline": "9.9", "version.connexion": "1.2", "version.python": "3.11.0"}
    assert "mockline 9.9 (connexion 1.2, python 3.11.0)" in html.render(report)
    assert describe(report.versions) == "mockline 9.9 (connexion 1.2, python 3.11.0)"


def test_a_report_gathers_them_when_it_is_made() -> None:
    assert Report(kind="verify", target="x", url="u").versions == collect()
