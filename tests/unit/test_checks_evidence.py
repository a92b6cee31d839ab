"""No pass without evidence: pacing, Retry-After, answer counts, inconclusive verdicts and how every
reporter names them (issue 12, point 4)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest

from contracts.reporting import har, html, json_report, junit, terminal
from contracts.reporting.model import Exchange, FollowUp, Inconclusive, Report, Violation
from contracts.traffic import Evidence, Pacer, Traffic, parse_rate, retry_after_seconds


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


@pytest.mark.parametrize(
    ("text", "interval"), [("60/m", 1.0), ("4/s", 0.25), ("3600/h", 1.0), (" 30 / m ", 2.0)]
)
def test_rates_are_read_as_seconds_between_requests(text: str, interval: float) -> None:
    assert parse_rate(text) == interval


@pytest.mark.parametrize("text", ["60", "0/s", "fast", "1/d", "-1/s", "1.5/s"])
def test_a_rate_that_is_not_n_per_unit_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="N/s, N/m or N/h"):
        parse_rate(text)


def test_the_pacer_spaces_requests_evenly_from_the_first() -> None:
    time = FakeTime()
    pacer = Pacer(parse_rate("60/m"), clock=time.clock, sleep=time.sleep)
    for _ in range(4):
        pacer.wait()
    assert time.slept == [1.0, 1.0, 1.0]  # the first goes at once, then one a second
    time.now += 5  # a pause longer than the interval is not made up for with a burst
    pacer.wait()
    pacer.wait()
    assert time.slept == [1.0, 1.0, 1.0, 1.0]


def test_retry_after_holds_every_request_until_it_has_passed() -> None:
    time = FakeTime()
    pacer = Pacer(clock=time.clock, sleep=time.sleep)  # no pacing asked for
    pacer.wait()
    pacer.hold(7.5)
    pacer.wait()
    pacer.wait()
    assert time.slept == [7.5]


def test_traffic_honours_retry_after_on_a_429() -> None:
    time = FakeTime()
    traffic = Traffic(pacer=Pacer(clock=time.clock, sleep=time.sleep))
    answer = {"method": "GET", "url": "http://h/x", "request_headers": {}, "request_body": None}
    traffic.after_response(
        operation="GET /x",
        status=429,
        response_headers=[("Retry-After", "3")],
        response_body=b"",
        elapsed=0.0,
        **answer,
    )
    traffic.before_request()
    assert time.slept == [3.0]


def test_retry_after_reads_seconds_and_dates_and_ignores_garbage() -> None:
    now = datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("12") == 12.0
    assert retry_after_seconds("Mon, 30 Nov 2026 12:00:20 GMT", lambda: now) == 20.0
    assert retry_after_seconds("Mon, 30 Nov 2026 11:00:00 GMT", lambda: now) == 0.0
    assert retry_after_seconds("100000") == 120.0  # capped
    assert retry_after_seconds("soon") is None and retry_after_seconds("") is None


def _evidence(*answers: tuple[str, str | None, int, bool]) -> Evidence:
    evidence = Evidence(auth_statuses=frozenset({403}))
    for phase, operation, status, with_credentials in answers:
        evidence.add(phase, operation, status, with_credentials=with_credentials)
    return evidence


def test_an_operation_with_a_success_is_conclusive_and_one_without_is_not() -> None:
    evidence = _evidence(("examples", "GET /a", 200, True), ("examples", "GET /b", 400, True))
    (item,) = evidence.inconclusive(["GET /a", "GET /b"], credentials_given=True)
    assert (item.scope, item.name) == ("operation", "GET /b")
    assert item.reason == "no success (2xx) answer in 1 answers" and item.counts["4xx"] == 1


def test_an_operation_never_reached_is_inconclusive() -> None:
    (item,) = _evidence().inconclusive(["GET /c"], credentials_given=False)
    assert item.reason.startswith("no answer at all")


def test_credentials_refused_every_time_is_named_as_such() -> None:
    evidence = _evidence(*[("fuzzing", "POST /a", 403, True)] * 9, ("fuzzing", "POST /a", 405, True))
    (item,) = evidence.inconclusive(["POST /a"], credentials_given=True)
    assert "credentials given were refused (9 of 10" in item.reason
    assert item.counts["credentials refused"] == 9 and item.counts["with credentials"] == 10
    # Without credentials given, the same answers only say that nothing succeeded.
    (item,) = evidence.inconclusive(["POST /a"], credentials_given=False)
    assert item.reason.startswith("no success")


def test_a_phase_over_ten_percent_429_is_inconclusive_and_one_at_ten_is_not() -> None:
    at_ten = _evidence(*[("coverage", "GET /a", 200, True)] * 9, ("coverage", "GET /a", 429, True))
    assert at_ten.inconclusive(["GET /a"], credentials_given=True) == []
    over = _evidence(*[("coverage", "GET /a", 200, True)] * 8, *[("coverage", None, 429, True)] * 2)
    (item,) = over.inconclusive(["GET /a"], credentials_given=True)
    assert (item.scope, item.name) == ("phase", "coverage")
    assert "2 of 10 answers (20%) were 429" in item.reason and "--rate-limit" in item.reason


def test_only_requests_carrying_every_given_credential_count_as_carrying_them() -> None:
    traffic = Traffic(credentials={"X-Access-Token": "k"})
    assert traffic.carries_credentials({"x-access-token": "k", "other": "1"})
    assert not traffic.carries_credentials({"x-access-token": "wrong"})
    assert not traffic.carries_credentials({})
    assert not Traffic().carries_credentials({"x-access-token": "k"})


def _report() -> Report:
    report = Report(kind="verify", target="ryng", url="http://127.0.0.1:1/ryng", seed=3, rate_limit="60/m")
    report.record("POST /a", "not_a_server_error", True)
    report.record("POST /a", "deleted_id_gone", None)
    report.record("POST /a", "created_id_usable", True)
    report.inconclusive.append(
        Inconclusive("operation", "POST /a", "the credentials given were refused", {"answers": 4, "4xx": 4})
    )
    report.inconclusive.append(Inconclusive("phase", "fuzzing", "9 of 10 answers (90%) were 429", {"429": 9}))
    report.follow_ups.append(
        FollowUp("created_id_usable", "POST /a", "GET", "http://127.0.0.1:1/ryng/a/x%20y", 200, "stateful")
    )
    return report


def test_inconclusive_is_its_own_exit_code_and_not_conformant() -> None:
    report = _report()
    assert report.exit_code() == 3 and not report.conformant and report.verdict == "inconclusive"
    report.errors.append("boom")
    assert report.exit_code() == 2
    report.violations.append(Violation("POST /a", "r", "t", "e", "g"))
    assert report.exit_code() == 1


def test_every_reporter_names_inconclusive_results_with_reason_and_counts() -> None:
    report = _report()
    text = terminal.render(report)
    assert "POST /a" in text and "INCONCLUSIVE" in text and "2 checks passed, 1 not applicable" in text
    assert "operation POST /a: the credentials given were refused" in text and "answers 4, 4xx 4" in text
    assert "phase fuzzing: 9 of 10 answers (90%) were 429" in text
    assert "created_id_usable POST /a -> GET http://127.0.0.1:1/ryng/a/x%20y -> 200" in text
    assert text.rstrip().endswith("paced at 60/m; exit code 3)")

    suite = ET.fromstring(junit.render(report)).find("testsuite")
    assert suite is not None and suite.get("errors") == "2" and suite.get("skipped") == "1"
    errors = {e.get("message"): e.text for e in suite.iter("error")}
    assert any("refused" in (m or "") and "4xx 4" in (t or "") for m, t in errors.items())
    outs = {
        (case.get("classname"), case.get("name")): out.text
        for case in suite.iter("testcase")
        for out in case.iter("system-out")
    }
    assert outs == {("POST /a", "created_id_usable"): "GET http://127.0.0.1:1/ryng/a/x%20y -> 200"}

    page = html.render(report)
    assert "fuzzing" in page and "the credentials given were refused" in page and "n/a" in page
    assert "http://127.0.0.1:1/ryng/a/x%20y" in page and "exit code 3" in page

    data = json.loads(json_report.render(report))
    assert data["exit_code"] == 3 and data["verdict"] == "inconclusive" and data["conformant"] is False
    assert data["inconclusive"][0] == {
        "scope": "operation",
        "name": "POST /a",
        "reason": "the credentials given were refused",
        "counts": {"answers": 4, "4xx": 4},
    }
    assert data["follow_ups"][0]["url"].endswith("/a/x%20y")
    assert {row["check"]: row["verdict"] for row in data["table"]}["deleted_id_gone"] == "n/a"


def test_har_keeps_each_exchange_with_its_exact_url_and_bodies() -> None:
    exchange = Exchange(
        started="2026-11-30T12:00:00+00:00",
        phase="stateful",
        source="created_id_usable",
        method="GET",
        url="http://127.0.0.1:1/n/a%20b?x=1",
        request_headers=[("x-access-token", "k")],
        request_body=None,
        status=404,
        response_headers=[("content-type", "application/json")],
        response_body=b'{"error": true}',
        elapsed_ms=2.5,
    )
    binary = Exchange(**{**exchange.__dict__, "response_body": b"\xff\x00", "request_body": b"a=1"})
    log = json.loads(har.render([exchange, binary]))["log"]
    assert log["version"] == "1.2" and len(log["entries"]) == 2
    first, second = log["entries"]
    assert first["request"]["url"] == "http://127.0.0.1:1/n/a%20b?x=1"
    assert first["request"]["queryString"] == [{"name": "x", "value": "1"}]
    assert first["response"]["status"] == 404 and first["response"]["content"]["text"] == '{"error": true}'
    assert first["_source"] == "created_id_usable" and first["_phase"] == "stateful"
    assert second["response"]["content"] == {
        "size": 2,
        "mimeType": "application/json",
        "text": "/wA=",
        "encoding": "base64",
    }
    assert second["request"]["postData"]["text"] == "a=1"


def test_har_keeps_the_start_of_a_large_body_and_says_how_large_it_was() -> None:
    """A run keeps every exchange for --report-har: a server answering megabytes each time would fill the
    memory, so each body is kept to its first ``HAR_BODY_BYTES``, and the entry says what was left out."""
    traffic = Traffic(keep_exchanges=True)
    traffic.after_response(
        operation="GET /a",
        method="GET",
        url="http://127.0.0.1:1/a",
        request_headers={},
        request_body=None,
        status=200,
        response_headers=[("content-type", "application/json")],
        response_body=b"x" * (1 << 20),
        elapsed=0.01,
    )
    (kept,) = traffic.exchanges
    assert len(kept.response_body) == 64 * 1024 and kept.response_size == 1 << 20
    content = har.entry(kept)["response"]["content"]
    assert content["size"] == 1 << 20 and len(content["text"]) == 64 * 1024
    assert content["comment"] == "the first 65536 of 1048576 bytes: --report-har keeps 64 KiB of a body"


# Meant for a terminal (clear the screen, set the window title, a C1 CSI, reversed text) and an XML parser.
NASTY = "<script>alert(1)</script>\x1b[2J\x1b]0;owned\x07\x00\x0b\x7f\x9b31m\u202egnp.exe"


def test_a_servers_control_characters_are_spelled_out_in_the_terminal_and_junit() -> None:
    report = Report(kind="verify", target="ryng", url="http://127.0.0.1:1/ryng", seed=3)
    report.add_violation(
        Violation("POST /x", "not_a_server_error", f"500 {NASTY}", "no 5xx", f"HTTP 500: {NASTY}", NASTY)
    )
    report.errors.append(f"POST /x: Network Error: {NASTY}")
    report.inconclusive.append(Inconclusive("operation", "GET /y", NASTY))
    text = terminal.render(report)
    assert not set(text) & set("\x1b\x07\x00\x0b\x7f\x9b\u202e"), repr(text)
    assert "\\x1b[2J\\x1b]0;owned\\x07\\x00\\x0b\\x7f\\x9b31m\\u202egnp.exe" in text
    root = ET.fromstring(junit.render(report))  # XML 1.0 takes none of them
    assert "\\x1b[2J" in "".join(root.itertext())
    assert any("\\x1b[2J" in (e.get("message") or "") for e in root.iter("failure"))
    page = html.render(report)
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_an_operation_where_nothing_was_judged_is_not_shown_as_a_pass() -> None:
    report = Report(kind="verify", target="ryng", url="http://127.0.0.1:1/ryng", seed=3)
    report.record("workflow judgedNothing", "workflow", None)
    report.record("POST /judged", "status_code_conformance", True)
    rows = {
        line.split()[1]: line.split()[2]
        for line in terminal.render(report).splitlines()
        if line.startswith("workflow ") or line.startswith("POST ")
    }
    assert rows == {"judgedNothing": "n/a", "/judged": "ok"}


def _narrowed() -> Report:
    """A clean run the options narrowed: two checks, an operation and a workflow left out."""
    report = Report(kind="verify", target="ryng", url="http://127.0.0.1:1/ryng", seed=1)
    report.record("POST /a", "status_code_conformance", True)
    report.leave_out("check", "auth_failure_status", "--exclude-checks")
    report.leave_out("check", "auth_failure_message", "--exclude-checks")
    report.leave_out("check", "auth_failure_message", "--exclude-checks")  # said once
    report.leave_out("operation", "POST /b", "--exclude-operation POST /b")
    report.leave_out("workflow", "accessTokensExpire", "--exclude-workflow")
    return report


def test_a_run_that_left_something_out_is_conformant_only_in_what_it_tested() -> None:
    report = _narrowed()
    assert report.exit_code() == 0 and report.conformant  # the user's choice: said, not failed
    assert report.verdict == "conformant in what it tested"
    summary = (
        "operation POST /b; checks auth_failure_status, auth_failure_message; workflow accessTokensExpire"
    )
    assert report.left_out_summary() == summary

    text = terminal.render(report)
    assert text.rstrip().endswith(
        f"verify ryng: conformant in what it tested (left out: {summary}) (0 requests in 0.0 s, seed 1; "
        "exit code 0)"
    )
    assert "  - check auth_failure_status: --exclude-checks" in text
    assert "  - workflow accessTokensExpire: --exclude-workflow" in text

    data = json.loads(json_report.render(report))
    assert data["verdict"] == "conformant in what it tested" and data["narrowed"] is True
    assert data["left_out"][0] == {
        "kind": "check",
        "name": "auth_failure_status",
        "reason": "--exclude-checks",
    }
    assert {item["name"] for item in data["left_out"]} == {
        "auth_failure_status",
        "auth_failure_message",
        "POST /b",
        "accessTokensExpire",
    }

    page = html.render(report)
    assert "conformant in what it tested" in page and "<h2>Left out</h2>" in page
    assert "--exclude-operation POST /b" in page and summary in page

    suite = ET.fromstring(junit.render(report)).find("testsuite")
    assert suite is not None
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties["left_out"] == summary and properties["verdict"] == "conformant in what it tested"
    skipped = {
        case.get("name"): skip.get("message")
        for case in suite.iter("testcase")
        if case.get("classname") == "left out"
        for skip in case.iter("skipped")
    }
    assert skipped["check auth_failure_status"] == "left out by this run's options: --exclude-checks"
    assert len(skipped) == 4 and suite.get("skipped") == "4"


def test_many_left_out_of_one_kind_are_counted_and_a_full_run_keeps_its_words() -> None:
    report = Report(kind="verify", target="ryng", url="http://127.0.0.1:1/ryng", seed=1, rate_limit="60/m")
    report.record("POST /a", "status_code_conformance", True)
    assert report.verdict == "conformant" and json.loads(json_report.render(report))["left_out"] == []
    assert (
        terminal.render(report)
        .rstrip()
        .endswith("verify ryng: conformant (0 requests in 0.0 s, seed 1, paced at 60/m; exit code 0)")
    )
    for number in range(7):
        report.leave_out("check", f"check_{number}", "not in --checks auth_failure_status")
    assert report.left_out_summary() == "7 checks (not in --checks auth_failure_status)"
    report.violations.append(Violation("POST /a", "r", "t", "e", "g"))
    assert report.verdict == "1 violation(s)"  # a violation is one, whatever was left out
    assert "1 violation(s) (left out: 7 checks (not in --checks auth_failure_status))" in terminal.render(
        report
    )
