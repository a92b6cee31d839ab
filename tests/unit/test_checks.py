"""mockline's own rules and the pieces of verify that need no server."""

from __future__ import annotations

import ast
import base64
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest
from schemathesis.checks import CHECKS, load_all_checks, max_response_time

from contracts import checks, pairing
from contracts.checks import ErrorShape
from contracts.loaders import load_spec
from contracts.reporting import html, json_report, junit, terminal
from contracts.reporting.model import Report, Violation
from contracts.runner import (
    EXPECTATIONS,
    VerifyError,
    VerifyOptions,
    credentials,
    parse_header,
    select_operations,
    token_url,
)


@pytest.mark.parametrize(
    ("spec", "body", "status", "problems"),
    [
        ("ryng", {"error": True, "message": "Unauthorized Token"}, 403, []),
        ("ryng", {"error": "true", "message": "x"}, 400, ["field 'error' is 'true', not True"]),
        ("ryng", {"message": "x"}, 400, ["field 'error' is missing"]),
        (
            "diyalog",
            {"success": False, "errorMessage": ""},
            400,
            ["field 'errorMessage' is '', not a non-empty string"],
        ),
        ("ringme", {"type": "about:blank", "title": "Not Found", "status": 404, "detail": "gone"}, 404, []),
        (
            "ringme",
            {"type": "about:blank", "title": "Not Found", "status": 400, "detail": "d"},
            404,
            ["field 'status' is 400, not the status 404"],
        ),
        ("ringotel-crm", [], 403, ["the body is list, not an object"]),
    ],
)
def test_error_envelope_rules_come_from_the_spec(
    spec: str, body: object, status: int, problems: list[str]
) -> None:
    rules = ErrorShape.from_document(load_spec(spec))
    assert rules is not None
    assert rules.envelope_problems(body, status) == problems


def test_auth_failure_rules_are_the_documented_ones() -> None:
    ryng = ErrorShape.from_document(load_spec("ryng"))
    diyalog = ErrorShape.from_document(load_spec("diyalog"))
    assert ryng is not None and (ryng.auth_status, ryng.auth_message, ryng.message_field) == (
        403,
        "Unauthorized Token",
        "message",
    )
    assert diyalog is not None and (diyalog.auth_status, diyalog.message_field) == (401, "errorMessage")
    assert ErrorShape.from_document({"openapi": "3.0.3"}) is None


def test_curl_command_quotes_what_it_sends() -> None:
    command = checks.curl_command(
        "post", "http://127.0.0.1:1/x?a=1", {"Auth-Token": "t k"}, b'{"a": "it\'s"}'
    )
    assert (
        command == "curl -X POST 'http://127.0.0.1:1/x?a=1' -H 'Auth-Token: t k' -d '{\"a\": \"it'\"'\"'s\"}'"
    )


def test_credentials_from_headers_basic_and_bearer() -> None:
    document = load_spec("ringotel-crm")
    options = VerifyOptions("ringotel-crm", "http://h/ringotel", headers={"X-A": "1"}, auth="basic:u:p:w")
    assert credentials(document, options) == {"X-A": "1", "Authorization": "Basic dTpwOnc="}
    options = VerifyOptions("ringotel-crm", "http://h/ringotel", auth="bearer:tok")
    assert credentials(document, options) == {"Authorization": "Bearer tok"}
    with pytest.raises(VerifyError, match="use basic:USER:PASS"):
        credentials(document, VerifyOptions("ringotel-crm", "http://h", auth="basic"))
    assert parse_header("x-access-token:  abc ") == ("x-access-token", "abc")
    with pytest.raises(VerifyError):
        parse_header("no colon")


@pytest.mark.parametrize(
    ("name", "given", "wrong"),
    [
        # Basic: the run's user with a wrong password (a server that checks the user alone lets it in)
        ("authorization", "Basic dTpw", "Basic dTpwLW1vY2tsaW5lLXZlcmlmeS1pbnZhbGlk"),
        # a token or key: the right one with more after it (a server that compares its start lets it in)
        ("authorization", "Bearer tok", "Bearer tok-mockline-verify-invalid"),
        ("auth-token", "queue-key", "queue-key-mockline-verify-invalid"),
        ("authorization", "Basic %%%", "Basic %%%-mockline-verify-invalid"),  # not base64: more after it
        # a credential header the run gave no value for
        ("x-access-token", None, "mockline-verify-invalid-credential"),
        ("authorization", None, "Bearer mockline-verify-invalid-credential"),
    ],
)
def test_a_wrong_credential_keeps_the_scheme_and_extends_the_right_one(
    name: str, given: str | None, wrong: str
) -> None:
    assert checks._wrong_credential(name, given) == wrong
    if given is not None and given.startswith("Basic dT"):
        assert base64.b64decode(wrong.split()[1]).decode() == "u:p-mockline-verify-invalid"


def test_the_token_url_is_the_specs_own() -> None:
    assert (
        token_url(load_spec("ringme"), "http://127.0.0.1:9/ringme/")
        == "http://127.0.0.1:9/ringme/oauth/token"
    )
    with pytest.raises(VerifyError, match="no OAuth2 token URL"):
        token_url(load_spec("ryng"), "http://h")


def test_operations_are_selected_by_id_method_and_path_or_fragment() -> None:
    document = load_spec("ringotel-crm")
    assert select_operations(document, ["createContact", "GET /users", "/organizations"]) == 3
    assert sorted(document["paths"]) == ["/contacts", "/organizations", "/users"]
    assert select_operations(load_spec("ryng"), ["nothing"]) == 0


def _rules_raised_in(path: str) -> set[str]:
    """Every ``rule=`` a call in the module at ``path`` names; each must be written as a string."""
    tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    values = [node.value for node in ast.walk(tree) if isinstance(node, ast.keyword) and node.arg == "rule"]
    assert all(isinstance(v, ast.Constant) and isinstance(v.value, str) for v in values), path
    return {v.value for v in values if isinstance(v, ast.Constant)}


def _unworded(names: Iterable[str], expectations: Mapping[str, str]) -> list[str]:
    return sorted(n for n in names if expectations.get(n, n).strip() in {"", n})


def test_every_rule_has_its_expectation_worded() -> None:
    assert _unworded(["a", "b", "c", "d"], {"a": "a", "b": " ", "d": "what d expects"}) == ["a", "b", "c"]
    raised = _rules_raised_in(checks.__file__)
    assert set(checks.RULES) <= raised, "checks.RULES names a rule no check of contracts/checks.py raises"
    load_all_checks()
    schemathesis_checks = {*CHECKS.get_all_names(), max_response_time.__name__}
    assert {"not_a_server_error", "status_code_conformance", "use_after_free"} <= schemathesis_checks
    assert _unworded(raised | schemathesis_checks | {pairing.RULE}, EXPECTATIONS) == []


def _report() -> Report:
    report = Report(
        kind="verify", target="ryng", url="http://127.0.0.1:1/ryng", seed=3, duration_seconds=1.25
    )
    report.record("POST /a", "not_a_server_error", True)
    report.record("POST /a", "vendor_error_envelope", False)
    report.add_violation(
        Violation(
            "POST /a",
            "vendor_error_envelope",
            "Error response is not in the vendor's error shape",
            "the error template filled in",
            "HTTP 400: {}",
            "field 'error' is missing",
            "curl -X POST 'x'",
        )
    )
    return report


def test_every_reporter_names_the_rule_and_the_reproduction() -> None:
    report = _report()
    assert report.exit_code() == 1 and not report.conformant
    text = terminal.render(report)
    assert "[vendor_error_envelope] POST /a" in text and "reproduce: curl -X POST 'x'" in text
    assert "1 violation(s) (0 requests in 1.2 s, seed 3; exit code 1)" in text
    suite = ET.fromstring(junit.render(report)).find("testsuite")
    assert suite is not None and suite.get("failures") == "1" and suite.get("tests") == "2"
    page = html.render(report)
    assert page.startswith("<!doctype html>") and "<script" not in page and "vendor_error_envelope" in page
    data = json.loads(json_report.render(report))
    assert data["violations"][0]["rule"] == "vendor_error_envelope" and data["exit_code"] == 1
    assert {row["check"]: row["verdict"] for row in data["table"]} == {
        "not_a_server_error": "ok",
        "vendor_error_envelope": "FAIL",
    }


def test_a_violation_is_kept_once() -> None:
    report = _report()
    again = Violation(
        "POST /a", "vendor_error_envelope", "Error response is not in the vendor's error shape", "", ""
    )
    assert report.add_violation(again) is False and len(report.violations) == 1
    assert Report(kind="verify", target="x", url="u", errors=["boom"]).exit_code() == 2
