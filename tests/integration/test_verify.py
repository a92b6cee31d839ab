"""``mockline verify`` against the mock, a correct fixture and a corpus of fixtures that each break one rule.

Every broken fixture must fail with the rule it breaks named; the mock and the correct fixtures must pass.
Runs use a fixed seed and few examples so the suite stays fast.
"""

from __future__ import annotations

import dataclasses
import json
import os
import statistics
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from contracts import model, negatives
from contracts.runner import VerifyOptions, run_to_report
from contracts.runner import phases as all_phases
from mockserver.app import create_app
from mockserver.cli import main
from mockserver.settings import Settings
from tests.fixtures.verify import free_port, serving
from tests.fixtures.verify.broken import (
    BREAKAGES,
    INCONCLUSIVE,
    MOCK_AUTH,
    OPERATIONS,
    PREFIX,
    SPECS,
    VERIFY_AUTH,
    corpus,
    fixture_app,
)
from tests.fixtures.verify.forbidden_ids import SPEC as THINGS
from tests.fixtures.verify.forbidden_ids import ThingsServer
from tests.fixtures.verify.negative import negative_events

ALL_PHASES = all_phases()
# The corpus runs every phase but coverage. Each broken fixture is caught (and each inconclusive one named)
# by the other phases alone, with the same rule and the same verdict; the coverage phase sends hundreds of
# boundary requests per operation (ryng: 2,000+), a third to two thirds of each run. The correct fixture
# (the control: the same runs pass on the mock unbroken) runs the same phases. The coverage phase still
# runs in full against the mock for every operation of each API (test_the_mock_passes_verify), which proves
# it adds no false violation, and in the readme-unpaced test, whose 429s come from it.
CORPUS_PHASES = tuple(p for p in ALL_PHASES if p != "coverage")

pytestmark = pytest.mark.slow


def options(
    spec: str,
    url: str,
    *,
    operations: tuple[str, ...] = (),
    max_examples: int = 3,
    phases: tuple[str, ...] = ALL_PHASES,
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
        rate_limit="off",  # the fixtures and these mocks have no limit (paced runs: bench/verify.py)
    )


def start_gaps(har: Path) -> list[float]:
    """Seconds between the starts of consecutive requests of a HAR file written by ``--report-har``."""
    started = sorted(
        datetime.fromisoformat(e["startedDateTime"]) for e in json.loads(har.read_text())["log"]["entries"]
    )
    return [(later - earlier).total_seconds() for earlier, later in pairwise(started)]


def test_the_corpus_has_at_least_five_broken_fixtures_per_spec() -> None:
    for spec in SPECS:
        assert len([name for s, name in corpus() if s == spec]) >= 5, spec


@pytest.mark.parametrize(("spec", "breakage"), corpus(), ids=[f"{s}-{b}" for s, b in corpus()])
def test_verify_names_the_rule_a_fixture_breaks(spec: str, breakage: str) -> None:
    phases = getattr(BREAKAGES[breakage], "phases", None)  # behavioural ones: the workflows phase alone
    own = getattr(BREAKAGES[breakage], "verify_auth", None)  # a fixture that takes credentials of its own
    with serving(fixture_app(spec, breakage)) as url:
        if phases:
            run = options(spec, url, phases=phases)
        else:
            run = options(spec, url, operations=OPERATIONS[spec], phases=CORPUS_PHASES)
        if own is not None:
            run = dataclasses.replace(run, headers=own.get("headers", {}), auth=own.get("auth"))
        report = run_to_report(run)
    rule = BREAKAGES[breakage].rule
    assert rule in report.broken_rules, f"{breakage} was caught only by {sorted(report.broken_rules)}"
    assert report.exit_code() == 1
    caught = next(v for v in report.violations if v.rule == rule)
    assert caught.expected and caught.got and caught.curl.startswith("curl ")


@pytest.mark.parametrize("spec", SPECS)
def test_a_correct_fixture_passes(spec: str) -> None:
    with serving(fixture_app(spec, "identity")) as url:
        run = options(spec, url, operations=OPERATIONS[spec], phases=CORPUS_PHASES)
        report = run_to_report(dataclasses.replace(run, auth=MOCK_AUTH[spec].get("auth")))
    assert report.violations == [], [(v.operation, v.rule, v.got) for v in report.violations]
    assert report.errors == [] and report.requests > 0
    unproven = {i.name for i in report.inconclusive}
    assert unproven <= UNPROVEN_ON_THE_MOCK[spec], report.inconclusive
    assert all("only a guessed id can succeed" in i.reason for i in report.inconclusive)
    assert report.exit_code() == (3 if unproven else 0)


# Operations of the mock that verify cannot bring to a success answer, so it cannot vouch for them
# (inconclusive): none. Every create -> use pairing is an OpenAPI link, played by the links phase; the
# OAuth2 token endpoints get the credentials the run was given; and Ryng's cancelCall, whose id no answer
# of Ryng's carries, succeeds on its documented example because the mock's default state holds that
# call, scheduled and not tried yet (config ryng.scheduled_call).
UNPROVEN_ON_THE_MOCK: dict[str, set[str]] = {spec: set() for spec in SPECS}


@pytest.mark.parametrize("spec", SPECS)
def test_the_mock_passes_verify(spec: str) -> None:
    """Every phase. The negative phase comes last, after the workflows moved the mock's clock past the
    run's OAuth2 token (ringotel-crm, ringme: renewed), after the earlier phases left Ryng's example agent
    on a call (its documented 500 to the valid preview call: the case's 400 still proves the rule) and
    ringme's account near its subscription cap (one created subscription serves the read, update and
    delete): every case it derives is judged and passes, those of operations that take a path id too."""
    app = create_app(Settings(clock="manual", rate_limit=False))
    with serving(app) as url:
        run = dataclasses.replace(options(spec, url, max_examples=5), auth=MOCK_AUTH[spec].get("auth"))
        report, negative = negative_events(run)
    assert report.violations == [], [(v.operation, v.rule, v.title, v.got) for v in report.violations]
    assert report.errors == []
    unproven = {i.name for i in report.inconclusive if i.scope == "operation"}
    assert unproven <= UNPROVEN_ON_THE_MOCK[spec], [(i.name, i.reason) for i in report.inconclusive]
    assert [i for i in report.inconclusive if i.scope == "phase"] == []
    assert [m for m in negative["problems"] if "not judged" in m] == []
    assert [i for i in report.inconclusive if i.scope == "rule"] == []
    derived = {f"{c.label} {c.rule}" for c in negatives.derive(model.contract(spec), seed=1)[0]}
    assert set(negative["passed"]) == derived and negative["failed"] == []
    assert report.exit_code() == (3 if unproven else 0)


# specs/ryng.yaml documents (x-mockline.rate_limit) 60 requests per 60-second window: one a second.
RYNG_DOCUMENTED_INTERVAL = 1.0
# Each HAR start time is the answer's arrival less its elapsed time, a few milliseconds off the moment
# the pacer let the request go: a gap may read up to this share short.
PACING_TOLERANCE = 0.95


def test_verify_paces_itself_by_the_limit_the_spec_documents(tmp_path: Path) -> None:
    """The mock as the README starts it (realtime clock, Ryng's 60 a minute): verify at its defaults
    honours the documented limit (its requests start a second apart, as the HAR shows), so no answer is a
    429 and the linked pair is proven. Fewer than 60 requests would not draw a 429 unpaced either: the
    gaps between them are what proves the pace."""
    har = tmp_path / "paced.har"
    app = create_app(Settings(apis=("ryng",)))  # defaults: realtime clock, rate limit on
    with serving(app) as url:
        paced = options("ryng", url, operations=("makePreviewCall", "endPreviewCall"), max_examples=1)
        # None: as the spec documents, every phase the pace allows
        report = run_to_report(dataclasses.replace(paced, rate_limit=None, phases=None, har_path=str(har)))
    assert report.rate_limit == "60/m"
    gaps = start_gaps(har)
    assert len(gaps) >= 10, len(gaps)
    assert min(gaps) >= PACING_TOLERANCE * RYNG_DOCUMENTED_INTERVAL, [round(g, 3) for g in gaps]
    assert statistics.median(gaps) < 1.5 * RYNG_DOCUMENTED_INTERVAL, [round(g, 3) for g in gaps]
    assert report.violations == [], [(v.operation, v.rule, v.got) for v in report.violations]
    assert all(counts.get("429", 0) == 0 for counts in report.phase_counts.values()), report.phase_counts
    assert "coverage" not in report.phase_counts  # a paced run leaves it out unless asked
    assert report.phase_counts["links"]["2xx"] == 2 and report.exit_code() == 0


def test_the_mock_as_the_readme_starts_it_is_inconclusive_unless_paced_or_unlimited() -> None:
    """Ryng's 60 requests a minute: an unpaced run is mostly 429s, which prove nothing."""
    app = create_app(Settings(apis=("ryng",), clock="manual"))  # the rate limit is on by default
    with serving(app) as url:
        unpaced = options("ryng", url, operations=("pushTransactional", "createQueue"))
        # The mock's Retry-After counts seconds of its manual clock, which stands still: do not wait.
        report = run_to_report(dataclasses.replace(unpaced, max_retry_wait=0.0))
    assert report.violations == [], [(v.operation, v.rule, v.got) for v in report.violations]
    limited = [i for i in report.inconclusive if i.scope == "phase"]
    assert limited and all("429" in i.reason and i.counts["429"] > i.counts["answers"] // 10 for i in limited)
    assert report.exit_code() == 3 and not report.conformant


@pytest.mark.parametrize(
    ("spec", "fixture"),
    [(spec, name) for name, cls in INCONCLUSIVE.items() for spec in cls.specs],
)
def test_a_fixture_that_gives_no_evidence_is_inconclusive(spec: str, fixture: str) -> None:
    with serving(fixture_app(spec, fixture)) as url:
        report = run_to_report(options(spec, url, operations=OPERATIONS[spec], phases=CORPUS_PHASES))
    assert report.violations == [], [(v.operation, v.rule, v.got) for v in report.violations]
    scope = INCONCLUSIVE[fixture].scope  # type: ignore[attr-defined]
    named = [i for i in report.inconclusive if i.scope == scope]
    assert named, report.inconclusive
    if fixture == "refuses_every_credential":
        assert all(
            "credentials given were refused" in i.reason for i in named if i.counts.get("with credentials")
        )
        assert any(i.counts.get("credentials refused") for i in named)
    assert report.exit_code() == 3


def test_cli_exits_3_and_names_what_is_inconclusive_in_every_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junit, html, data = tmp_path / "r.xml", tmp_path / "r.html", tmp_path / "r.json"
    with serving(fixture_app("diyalog", "refuses_every_credential")) as url:
        argv = ["verify", "diyalog", "--base-url", f"{url}/diyalog", "--header", "Auth-Token: mockline"]
        argv += ["--seed", "1", "--max-examples", "2", "--phases", "examples", "--junit-xml", str(junit)]
        assert main([*argv, "--report", str(html)]) == 3
        assert main([*argv, "--report", str(data)]) == 3
    out = capsys.readouterr().out
    assert "INCONCLUSIVE" in out and "credentials given were refused" in out and "exit code 3" in out
    document = json.loads(data.read_text())
    assert document["exit_code"] == 3 and document["verdict"] == "inconclusive"
    item = document["inconclusive"][0]
    assert item["reason"] and item["counts"]["credentials refused"] > 0
    errors = [e for e in ET.parse(junit).getroot().iter("error") if e.get("type") == "inconclusive"]
    assert errors and "refused" in (errors[0].get("message") or "")
    page = html.read_text()
    assert "inconclusive" in page and "credentials refused" in page


def test_cli_paces_requests_and_writes_every_exchange_as_har(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    har = tmp_path / "run.har"
    with serving(fixture_app("diyalog", "identity")) as url:
        argv = ["verify", "diyalog", "--base-url", f"{url}/diyalog", "--header", "Auth-Token: mockline"]
        argv += ["--seed", "1", "--max-examples", "2", "--phases", "examples", "--rate-limit", "2/s"]
        argv += ["--exclude-operation", "DELETE /{interactionId}", "--exclude-checks", "max_response_time"]
        argv += ["--report-har", str(har)]
        code = main(argv)
    out = capsys.readouterr().out
    entries = json.loads(har.read_text())["log"]["entries"]
    assert "paced at 2/s" in out and code in (0, 3)
    assert entries and all(e["request"]["url"].startswith(url) for e in entries)
    assert not any(e["request"]["method"] == "DELETE" for e in entries if e["_source"] == "schemathesis")
    assert {e["_source"] for e in entries} > {"schemathesis"}  # the checks' own requests are paced too
    # 2 a second: every request, Schemathesis' and the checks' own, starts half a second after the last.
    gaps = start_gaps(har)
    assert len(gaps) >= 8, len(gaps)
    assert min(gaps) >= PACING_TOLERANCE * 0.5, [round(g, 3) for g in gaps]
    assert statistics.median(gaps) < 0.75, [round(g, 3) for g in gaps]
    assert {e["_phase"] for e in entries} >= {"examples"}


def test_cli_checks_and_max_failures_choose_what_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with serving(fixture_app("ryng", "wrong_auth_code")) as url:
        base = ["verify", "ryng", "--base-url", f"{url}/ryng", "--header", "x-access-token: mockline"]
        base += [
            "--rate-limit",
            "off",
            "--seed",
            "1",
            "--max-examples",
            "2",
            "--operation",
            "makePreviewCall",
            "--phases",
            "examples",
        ]
        assert main([*base, "--checks", "auth_failure_status", "--max-failures", "1"]) == 1
        out = capsys.readouterr().out
        assert "[auth_failure_status]" in out and "[not_a_server_error]" not in out
        # Every other check is named as left out, and only there.
        assert out.count("not_a_server_error") == 1
        assert "  - check not_a_server_error: not in --checks auth_failure_status" in out
    # Every operation of Ryng answers a refused credential with the wrong status: a full run finds it on
    # several, and --max-failures 1 stops Schemathesis at the first.
    reports: dict[str, dict[str, Any]] = {}
    for name, limit in (("full", []), ("stopped", ["--max-failures", "1"])):
        with serving(fixture_app("ryng", "wrong_auth_code")) as url:
            data = tmp_path / f"{name}.json"
            argv = ["verify", "ryng", "--base-url", f"{url}/ryng", "--header", "x-access-token: mockline"]
            argv += ["--rate-limit", "off", "--seed", "1", "--max-examples", "2", "--phases", "examples"]
            assert main([*argv, *limit, "--report", str(data)]) == 1
            reports[name] = json.loads(data.read_text())
    capsys.readouterr()
    full, stopped = reports["full"], reports["stopped"]
    found = (len(full["violations"]), len(stopped["violations"]))
    assert found[0] >= 3 and 1 <= found[1] < found[0], found
    assert 0 < stopped["requests"] < full["requests"] // 2, (stopped["requests"], full["requests"])
    narrowed = tmp_path / "narrowed.json"
    with serving(fixture_app("ryng", "wrong_auth_code")) as url:  # a fresh server: the agent is free again
        base[3] = f"{url}/ryng"
        excluded = ["--exclude-checks", "auth_failure_status,auth_failure_message"]
        # The broken rules were left out on purpose: exit 0, but never a plain "conformant".
        assert main([*base, *excluded, "--report", str(narrowed)]) == 0
        out = capsys.readouterr().out
        assert "[auth_failure_status]" not in out and "verify ryng: conformant (" not in out
        assert (
            "verify ryng: conformant in what it tested (left out: phases links, coverage, fuzzing, stateful, "
            "workflows, negative; 7 operations (not named by --operation makePreviewCall); checks "
            "auth_failure_status, auth_failure_message) ("
        ) in out
        assert "  - check auth_failure_status: --exclude-checks" in out
        document = json.loads(narrowed.read_text())
        assert document["verdict"] == "conformant in what it tested" and document["narrowed"] is True
        left = {(item["kind"], item["name"]): item["reason"] for item in document["left_out"]}
        assert (
            left[("check", "auth_failure_status")]
            == left[("check", "auth_failure_message")]
            == ("--exclude-checks")
        )
        assert left[("operation", "POST /rest-api/v1/campaign")] == "not named by --operation makePreviewCall"
        assert left[("phase", "fuzzing")] == "--phases examples"
        assert main([*base, "--checks", "no_such_check"]) == 2
        assert "unknown check no_such_check" in capsys.readouterr().err
        assert main([*base, "--rate-limit", "fast"]) == 2
        assert "--rate-limit 'fast'" in capsys.readouterr().err


def test_a_created_id_the_read_refuses_is_no_pass_and_its_link_is_inconclusive(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The audit's repro: the read documents 200, 403 and 404; the server answers 200 for the documented
    id 1 alone and 403 for every id it created. Nothing showed a created id usable: verify used to say
    conformant (created_id_usable "2 passed", the link a printed note), exit 0."""
    data = tmp_path / "r.json"
    server = ThingsServer()
    with serving(server) as url:
        code = main(
            ["verify", THINGS, "--base-url", url, "--seed", "1", "--max-examples", "3", "--report", str(data)]
        )
    out = capsys.readouterr().out
    assert code == 3, out
    assert server.reads and {status for _, status in server.reads} == {403}
    document = json.loads(data.read_text())
    row = next(
        r for r in document["table"] if (r["operation"], r["check"]) == ("POST /things", "created_id_usable")
    )
    assert (row["passed"], row["failed"], row["verdict"]) == (0, 0, "n/a") and row["not_applicable"] > 0
    assert [(i["scope"], i["name"]) for i in document["inconclusive"]] == [
        ("link", "createThing -> getThing (GetThing)")
    ]
    reason = document["inconclusive"][0]["reason"]
    assert reason.startswith("getThing answered HTTP 403") and "no phase judged" in reason
    assert "- link createThing -> getThing (GetThing): getThing answered HTTP 403" in out
    assert f"verify {THINGS}: inconclusive (" in out and "exit code 3)" in out


def test_a_link_another_phase_judged_is_not_inconclusive() -> None:
    """The links phase's read of its created id is refused, later reads of created ids succeed: the pair
    is judged (created_id_usable passes on them), so the run is conformant."""
    server = ThingsServer(refused_reads=1)
    with serving(server) as url:
        report = run_to_report(VerifyOptions(spec=THINGS, base_url=url, seed=1, max_examples=3))
    assert server.reads[0][1] == 403 and 200 in {status for _, status in server.reads}
    assert report.rows[("POST /things", "created_id_usable")].passed > 0
    assert report.inconclusive == [] and report.violations == []
    assert report.exit_code() == 0 and report.verdict == "conformant"


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
    assert " s, seed 3; exit code 0)" in out  # the run prints its time and exit code
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "0" and int(suite.get("tests", "0")) > 0
    assert "<table>" in html.read_text() and "conformant" in html.read_text()
    assert json.loads(data.read_text())["conformant"] is True


def test_cli_exits_1_and_explains_each_violation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    junit, data = tmp_path / "r.xml", tmp_path / "r.json"
    with serving(fixture_app("ryng", "wrong_auth_code")) as url:
        argv = ["verify", "ryng", "--base-url", f"{url}/ryng", "--header", "x-access-token: mockline"]
        argv += ["--seed", "1", "--max-examples", "3", "--operation", "makePreviewCall"]
        argv += ["--rate-limit", "off"]
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


def test_a_run_keeps_no_example_database_to_replay_in_the_next(tmp_path: Path) -> None:
    """Hypothesis keeps the failing examples of a run in ./.hypothesis/examples and replays them first in
    the next, so a run would depend on the runs made before it in the same folder (and leave that folder in
    the user's project): verify keeps none. Its caches (constants, Unicode tables) go to the user's cache
    folder, not ./.hypothesis. The command runs as a user runs it, in a folder of its own."""
    work, cache = tmp_path / "project", tmp_path / "cache"
    work.mkdir()
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    env.pop("HYPOTHESIS_STORAGE_DIRECTORY", None)
    spec, breakage = "diyalog", "wrong_type"
    argv = [sys.executable, "-m", "mockserver.cli", "verify", spec, "--seed", "1", "--rate-limit", "off"]
    argv += ["--max-examples", "3", "--phases", "examples,fuzzing,stateful"]
    for name, value in VERIFY_AUTH[spec].get("headers", {}).items():
        argv += ["--header", f"{name}: {value}"]
    exits = []
    for _ in range(2):
        with serving(fixture_app(spec, breakage)) as url:
            run = subprocess.run(
                [*argv, "--base-url", url + PREFIX[spec]], cwd=work, env=env, capture_output=True
            )
        exits.append(run.returncode)
        assert not (work / ".hypothesis").exists()
        assert not (cache / "mockline" / "hypothesis" / "examples").exists()
    assert exits == [1, 1]
    assert (cache / "mockline" / "hypothesis").is_dir()  # where its caches went
