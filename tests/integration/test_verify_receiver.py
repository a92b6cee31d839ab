"""``mockline verify-receiver`` against a correct receiver and receivers that each break one rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contracts.listen import ListenOptions, create_listener
from contracts.receiver import verify_receiver
from mockserver.cli import main
from tests.fixtures.verify import free_port, serving
from tests.fixtures.verify.given_up import one_connection, stuck_when_the_sender_hangs_up
from tests.fixtures.verify.receivers import (
    CREDENTIAL_RECEIVERS,
    CRM_TOKEN,
    RECEIVERS,
    SPEC_RECEIVERS,
    UNSEEN_RECEIVERS,
    checks_api_token,
    correct,
)

RULES = {
    "valid_callback_accepted",
    "invalid_callback_no_5xx",
    "no_server_error",
    "duplicate_accepted",
    "retry_accepted",
}
# The distinct kinds each spec's vendor sends, as the report labels them: Ryng's two callbacks differ in
# shape between the two operations that register them; Ringotel CRM sends two webhooks.
RYNG_KINDS = {
    "POST ryng.connect (appendCampaignConnectCallback)",
    "POST ryng.connect (pushTransactionalConnectCallback)",
    "POST ryng.terminal (appendCampaignTerminalCallback)",
    "POST ryng.terminal (pushTransactionalTerminalCallback)",
}
CRM_KINDS = {
    "POST ringotel-crm.StartCallActivity (startCallActivityEvent)",
    "POST ringotel-crm.StopCallActivity (stopCallActivityEvent)",
}
# One callback with an example payload and one (orderCancelled) without: the second cannot be sent.
WITHOUT_EXAMPLES = str(Path(__file__).parents[1] / "fixtures" / "verify" / "callback-without-examples.yaml")
UNSENDABLE = "POST callback-without-examples.cancelled (orderCancelled)"


def test_a_correct_receiver_passes() -> None:
    with serving(correct()) as url:
        report = verify_receiver("ryng", url + "/callbacks")
    assert report.conformant and report.exit_code() == 0
    assert report.requests > 0
    # Every kind was driven, and each through every rule: a run that sent one kind, or none, fails here.
    assert set(report.rows) == {(kind, rule) for kind in RYNG_KINDS for rule in RULES}
    assert all(row.passed and not row.failed for row in report.rows.values())


def test_a_kind_without_an_example_is_inconclusive_not_passed(tmp_path: Path) -> None:
    with serving(correct()) as url:
        report = verify_receiver(WITHOUT_EXAMPLES, url + "/callbacks")
        data = tmp_path / "receiver.json"
        code = main(["verify-receiver", WITHOUT_EXAMPLES, "--url", url + "/callbacks", "--report", str(data)])
    # The kind with an example was sent and answered well; the other was never sent.
    assert {kind for kind, _ in report.rows} == {"POST callback-without-examples.shipped (orderShipped)"}
    assert report.violations == [] and report.errors == []
    assert [(i.scope, i.name) for i in report.inconclusive] == [("operation", UNSENDABLE)]
    reason = report.inconclusive[0].reason
    assert "cancelled callback of placeOrder" in reason and "no example payload" in reason, reason
    assert not report.conformant and report.verdict == "inconclusive" and report.exit_code() == 3
    assert code == 3
    document = json.loads(data.read_text())
    assert document["verdict"] == "inconclusive" and document["exit_code"] == 3
    assert [i["name"] for i in document["inconclusive"]] == [UNSENDABLE]


def test_the_retry_follows_an_attempt_the_sender_really_gave_up_on() -> None:
    # A fast receiver that keeps a delivery "in progress" when its sender hangs up mid-work answers every
    # attempt it gets to the end within ~20 ms: a sender that merely waits 50 ms for the first attempt
    # reads its answer and never gives up on it, so the 409 to the retry was never met (retry_accepted
    # passed). The attempt is now given up on whatever the receiver's speed.
    with serving(stuck_when_the_sender_hangs_up()) as url:
        report = verify_receiver("ryng", url + "/callbacks")
    assert report.broken_rules == {"retry_accepted"}, sorted(report.broken_rules)
    assert {kind for (kind, rule), row in report.rows.items() if row.failed} == RYNG_KINDS
    assert all(not row.failed for (_, rule), row in report.rows.items() if rule != "retry_accepted")
    violation = next(v for v in report.violations if v.rule == "retry_accepted")
    assert violation.title.startswith("a retry after an attempt the sender gave up on: HTTP 409"), violation
    assert report.exit_code() == 1


def test_the_attempt_given_up_on_reaches_a_fast_receiver() -> None:
    # mockline listen answers at once; the attempt given up on still reaches it, as every other request.
    app = create_listener(ListenOptions(specs=["ryng"], quiet=True))
    with serving(app) as url:
        report = verify_receiver("ryng", url + "/callbacks")
    assert report.conformant, report.violations
    assert all(report.rows[(kind, "retry_accepted")].passed == 1 for kind in RYNG_KINDS)
    assert len(app.state.recorder.entries()) == report.requests


def test_a_retry_whose_first_attempt_could_not_be_sent_is_inconclusive(tmp_path: Path) -> None:
    # The receiver answers on the connection it has and refuses any other: the attempt to give up on, sent
    # on a connection of its own, is refused, so no retry followed an attempt given up on.
    with one_connection() as url:
        report = verify_receiver("ryng", url + "/callbacks")
    assert report.violations == [] and report.errors == []
    assert sorted((i.scope, i.name) for i in report.inconclusive) == [
        ("operation", k) for k in sorted(RYNG_KINDS)
    ]
    for item in report.inconclusive:
        assert item.reason.startswith("retry never judged: the first attempt of the retried delivery"), item
        assert "ConnectionRefusedError" in item.reason, item.reason
    for kind in RYNG_KINDS:
        row = report.rows[(kind, "retry_accepted")]
        assert (row.passed, row.failed, row.not_applicable) == (0, 0, 1)
    assert report.verdict == "inconclusive" and report.exit_code() == 3


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


@pytest.mark.parametrize("name", sorted(SPEC_RECEIVERS))
def test_verify_receiver_names_the_rule_a_receiver_of_each_spec_breaks(name: str) -> None:
    factory, spec, rule = SPEC_RECEIVERS[name]
    with serving(factory()) as url:
        report = verify_receiver(spec, url + "/callbacks")
    assert rule in report.broken_rules, sorted(report.broken_rules)
    assert report.exit_code() == 1


@pytest.mark.parametrize("name", sorted(UNSEEN_RECEIVERS))
def test_what_no_delivery_can_show_is_not_claimed(name: str) -> None:
    # A receiver that books a retry as a new event, takes any body or any api_token answers 200 as a good
    # one does: nothing on the wire tells them apart. A wrong api_token is refused only by a receiver that
    # knows the right one, which verify-receiver is not told here (no --set api_token): so it passes, the
    # report claims no rule beyond the answers it judged, and it names the token check as left out.
    factory, spec = UNSEEN_RECEIVERS[name]
    with serving(factory()) as url:
        report = verify_receiver(spec, url + "/callbacks")
    assert report.exit_code() == 0, sorted(report.broken_rules)
    assert {check for _, check in report.rows} == RULES
    if spec == "ringotel-crm":
        assert [(item.kind, item.name) for item in report.left_out] == [("check", WRONG_CREDENTIAL)]
        assert "--set api_token=YOUR_TOKEN" in report.left_out[0].reason, report.left_out
        assert report.verdict == "conformant in what it tested"
    else:
        assert report.left_out == [] and report.verdict == "conformant"


# -- the credential a webhook's body carries (Ringotel's api_token) -------------------------------------------

WRONG_CREDENTIAL = "wrong_credential_refused"
EXAMPLE_TOKEN = "7c1e0b5a-93f4-4d2e-8a61-2f0c9b7d4e11"  # the spec example's api_token


def test_a_receiver_given_its_own_token_passes_and_refuses_a_wrong_one() -> None:
    # A CRM configured with its own token refuses the example's; told that token, verify-receiver sends it
    # in every valid delivery, and one delivery with a wrong token, which the receiver refuses with the 403
    # the webhooks document.
    with serving(checks_api_token()) as url:
        report = verify_receiver("ringotel-crm", url + "/callbacks", overrides={"api_token": CRM_TOKEN})
    assert report.violations == [] and report.inconclusive == [] and report.left_out == []
    assert report.conformant and report.verdict == "conformant" and report.exit_code() == 0
    assert set(report.rows) == {(kind, rule) for kind in CRM_KINDS for rule in RULES | {WRONG_CREDENTIAL}}
    for kind in CRM_KINDS:
        row = report.rows[(kind, WRONG_CREDENTIAL)]
        assert (row.passed, row.failed, row.not_applicable) == (1, 0, 0)


def test_a_receiver_not_given_its_token_is_inconclusive_never_failing(tmp_path: Path) -> None:
    # The same receiver, run as before: every valid delivery carries the example's token and is refused with
    # exactly the documented 403. That is the receiver doing its job: inconclusive, with the flag to use.
    with serving(checks_api_token()) as url:
        report = verify_receiver("ringotel-crm", url + "/callbacks")
        data = tmp_path / "crm.json"
        code = main(["verify-receiver", "ringotel-crm", "--url", url + "/callbacks", "--report", str(data)])
    assert report.violations == [] and report.errors == []
    assert report.verdict == "inconclusive" and report.exit_code() == 3 and code == 3
    assert sorted((i.scope, i.name) for i in report.inconclusive) == [
        ("operation", k) for k in sorted(CRM_KINDS)
    ]
    for item in report.inconclusive:
        assert "403" in item.reason and "--set api_token=YOUR_TOKEN" in item.reason, item.reason
        assert EXAMPLE_TOKEN in item.reason, item.reason
    for kind in CRM_KINDS:  # the valid, duplicate and retried deliveries were judged by none of their rules
        for rule in ("valid_callback_accepted", "duplicate_accepted", "retry_accepted"):
            row = report.rows[(kind, rule)]
            assert (row.passed, row.failed) == (0, 0) and row.not_applicable >= 1, (kind, rule, row)
    assert [(item.kind, item.name) for item in report.left_out] == [("check", WRONG_CREDENTIAL)]
    document = json.loads(data.read_text())
    assert document["exit_code"] == 3 and document["violations"] == []
    assert [item["name"] for item in document["left_out"]] == [WRONG_CREDENTIAL]


@pytest.mark.parametrize("name", sorted(CREDENTIAL_RECEIVERS))
def test_a_receiver_that_takes_a_wrong_api_token_is_caught_when_the_token_is_given(name: str) -> None:
    with serving(CREDENTIAL_RECEIVERS[name]()) as url:
        report = verify_receiver("ringotel-crm", url + "/callbacks", overrides={"api_token": CRM_TOKEN})
    assert report.broken_rules == {WRONG_CREDENTIAL}, sorted(report.broken_rules)
    assert {kind for (kind, rule), row in report.rows.items() if row.failed} == CRM_KINDS
    violation = next(v for v in report.violations if v.rule == WRONG_CREDENTIAL)
    assert "HTTP 403" in violation.expected and violation.got.startswith("HTTP 200"), violation
    assert CRM_TOKEN + "-" in violation.curl, violation.curl  # the right token with more after it
    assert report.exit_code() == 1


def test_set_reaches_every_delivery_but_keeps_the_invalid_ones_invalid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A top-level field and JSON pointers into the body, a JSON value and a text one. mockline listen takes
    # any api_token, so the one rule broken is the wrong token's.
    app = create_listener(ListenOptions(specs=["ringotel-crm"], quiet=True))
    data = tmp_path / "crm.json"
    with serving(app) as url:
        argv = ["verify-receiver", "ringotel-crm", "--url", url + "/callbacks", "--report", str(data)]
        sets = ["--set", f"api_token={CRM_TOKEN}", "--set", "/params/extension=204"]
        assert main([*argv, *sets, "--set", "/params/call_start=1729693708999"]) == 1
    capsys.readouterr()
    assert {v["rule"] for v in json.loads(data.read_text())["violations"]} == {WRONG_CREDENTIAL}
    entries = app.state.recorder.entries()
    valid = [e for e in entries if e["valid"]]
    # per kind: the example (the minimal one is the same), the wrong token, the duplicate, the retry's two
    assert len(valid) == 2 * 5, [e["payload"] for e in entries]
    for entry in valid:
        payload = entry["payload"]
        assert payload["params"]["extension"] == "204"  # a string in the spec: the text as given
        assert payload["params"]["call_start"] == 1729693708999  # JSON: a number
    tokens = [e["payload"]["api_token"] for e in valid]
    assert tokens.count(CRM_TOKEN) == 2 * 4 and all(t.startswith(CRM_TOKEN) for t in tokens), tokens
    invalid = [e for e in entries if not e["valid"]]
    assert len(invalid) == 2 * 3 and all(e["problems"] for e in invalid)
    assert len(entries) == json.loads(data.read_text())["requests"]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_set_reaches_query_and_form_deliveries(method: str, capsys: pytest.CaptureFixture[str]) -> None:
    app = create_listener(ListenOptions(specs=["ringme"], quiet=True))
    with serving(app) as url:
        argv = ["verify-receiver", "ringme", "--url", url + "/callbacks", "--set", "agent_id=4711"]
        assert main([*argv, "--set", "extension_name=201*555@pbx.example"]) == 0
    capsys.readouterr()
    # (the invalid case "a field of the wrong type" is text on the wire, and so fits a string field)
    wrong_type = json.dumps({"not": "the documented type"}, separators=(",", ":"))
    entries = app.state.recorder.entries()
    sent = [
        e for e in entries if e["valid"] and e["method"] == method and wrong_type not in e["payload"].values()
    ]
    assert len(sent) >= 4, entries
    for entry in sent:
        assert entry["payload"]["agent_id"] == "4711"
        assert entry["payload"]["extension_name"] == "201*555@pbx.example"


def test_set_with_a_field_no_delivery_has_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    closed = f"http://127.0.0.1:{free_port()}/callbacks"  # nothing is sent: the option is refused first
    for name in ("api_tokn", "/params/nope", "/api_token/deeper"):
        assert main(["verify-receiver", "ringotel-crm", "--url", closed, "--set", f"{name}=x"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and name in err and "--set" in err, err
    assert main(["verify-receiver", "ryng", "--url", closed, "--set", "api_token=x"]) == 2
    assert "api_token" in capsys.readouterr().err
    assert main(["verify-receiver", "ringotel-crm", "--url", closed, "--set", "api_token"]) == 2
    assert "NAME=VALUE" in capsys.readouterr().err


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
    crm = tmp_path / "crm.json"
    with serving(correct()) as url:
        argv = ["verify-receiver", "ringotel-crm", "--url", url + "/callbacks", "--report", str(crm)]
        assert main(argv) == 0
    document = json.loads(crm.read_text())
    assert document["requests"] > 0 and document["inconclusive"] == []
    assert {row["operation"] for row in document["table"]} == CRM_KINDS
    assert {(row["operation"], row["check"]) for row in document["table"]} == {
        (kind, rule) for kind in CRM_KINDS for rule in RULES
    }
    closed = f"http://127.0.0.1:{free_port()}/callbacks"
    assert main(["verify-receiver", "ryng", "--url", closed]) == 2
    assert "cannot reach the receiver" in capsys.readouterr().err
    assert main(["verify-receiver", "diyalog", "--url", closed]) == 2
    assert "declares no callbacks" in capsys.readouterr().err
