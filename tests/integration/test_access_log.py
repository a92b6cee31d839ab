"""The access log of ``mockline serve``: one line per request, as text or JSON, none with --quiet."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.fixtures import mockline_serve

pytestmark = pytest.mark.slow

PUSH = "/ryng/rest-api/v1/progressive/queue/12/transactional"


def served_lines(tmp_path: Path, *options: str) -> list[str]:
    """Serve with ``options``, send a valid push and an invalid one, stop; the log lines written."""
    log = tmp_path / "log.txt"
    with log.open("w") as err, mockline_serve("--clock", "manual", *options, stderr=err) as mock:
        good = {
            "agentMapping": "global",
            "agents": ["asha.verma@example.com"],
            "customerData": {"jsonData": [{"number": "+919812345678"}]},
        }
        headers = {"x-access-token": "mockline"}
        assert httpx.post(mock.base + PUSH, json=good, headers=headers).status_code == 200
        assert httpx.post(mock.base + PUSH + "?x=1", json={"agents": 5}, headers=headers).status_code == 400
    return [line for line in log.read_text().splitlines() if "/ryng/" in line]


def test_text_lines_name_method_path_status_operation_duration_and_errors(tmp_path: Path) -> None:
    lines = served_lines(tmp_path)
    assert len(lines) == 2
    first, second = (line.split(" ") for line in lines)
    assert first[1:5] == ["POST", PUSH, "200", "pushTransactional"]
    assert first[5].endswith("ms") and float(first[5][:-2]) >= 0 and first[6] == "errors=0"
    assert second[1:5] == ["POST", PUSH + "?x=1", "400", "pushTransactional"]
    assert second[6].startswith("errors=") and int(second[6][7:]) >= 1


def test_json_lines_carry_the_same_fields(tmp_path: Path) -> None:
    lines = [json.loads(line) for line in served_lines(tmp_path, "--log-format", "json")]
    assert [(e["method"], e["path"], e["status"], e["operationId"]) for e in lines] == [
        ("POST", PUSH, 200, "pushTransactional"),
        ("POST", PUSH + "?x=1", 400, "pushTransactional"),
    ]
    assert lines[0]["validation_errors"] == 0 and lines[1]["validation_errors"] >= 1
    assert all(e["duration_ms"] >= 0 and e["at"].startswith("2026-01-05T09:00:00") for e in lines)


def test_quiet_writes_no_access_log(tmp_path: Path) -> None:
    assert served_lines(tmp_path, "--quiet") == []
