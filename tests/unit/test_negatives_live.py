"""The negative phase's valid requests address what the server has, and what it cannot judge is inconclusive.

An operation that takes an id in its path gets one the server has: the phase creates the resource as the
links phase does (through the spec's OpenAPI links), else takes the parameter's example. A case proves its
rule only when the valid request it came from got past the server's input checks; anything else (that
request refused, a 429, the credential failure status) is an ``Inconclusive`` of scope ``rule``, never a
pass and never a silent "not applicable". The phase runs here against a fake implementation of
tests/fixtures/specs/path-ids.yaml over ``httpx.MockTransport``, which logs every request.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from contracts import model, negatives, runner
from contracts.loaders import load_spec
from contracts.reporting.model import Report
from contracts.runner import VerifyOptions
from contracts.traffic import Traffic

SPEC = Path(__file__).resolve().parents[1] / "fixtures" / "specs" / "path-ids.yaml"
BASE = "http://things.test"
NOTE_RULE = "negative /components/schemas/Note/properties/url/format (format uri)"
RECEIPT_RULE = "negative /paths/~1things~1{thing_id}~1archive/post/requestBody/content/application~1json/schema/properties/receipt/format (format email)"
AT_RULE = "negative /paths/~1things~1{thing_id}~1archive/post/requestBody/content/application~1json/schema/properties/at/format (format date-time)"
HOMEPAGE_RULE = "negative /paths/~1things~1{thing_id}/patch/requestBody/content/application~1json/schema/properties/homepage/format (format uri)"


def _valid(fmt: str, value: Any) -> bool:
    """The fake server's own checks of a format, not the phase's validator: a validator that misjudged a
    format would then be caught, not agreed with."""
    if not isinstance(value, str):
        return False
    if fmt == "uri":
        parts = urlsplit(value)
        return bool(parts.scheme and parts.netloc) and " " not in value
    if fmt == "email":
        return re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value) is not None
    if fmt == "date-time":
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is not None and "T" in value
        except ValueError:
            return False
    raise AssertionError(f"the fake server checks no {fmt} format")


class Things:
    """A fake implementation of path-ids.yaml. It checks a body before it looks the id up (400, then 404),
    as the mock does. ``lenient`` accepts a note whose url is no URI; ``creates`` caps how many things it
    creates (then 400); ``archive_status`` answers every valid archive request with that status."""

    def __init__(
        self, *, lenient: bool = False, creates: int | None = None, archive_status: int = 200
    ) -> None:
        self.lenient = lenient
        self.creates = creates
        self.archive_status = archive_status
        self.things: dict[str, dict[str, Any]] = {}
        self.log: list[tuple[str, str, Any, int]] = []  # method, path, body, status

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        status, answer = self.answer(request.method, request.url.path, body)
        self.log.append((request.method, request.url.path, body, status))
        media_type = "application/json" if status < 400 else "application/problem+json"
        # A stream, as from a socket: a response built already read never gets its ``elapsed``.
        content = httpx.ByteStream(json.dumps(answer).encode())
        return httpx.Response(status, stream=content, headers={"content-type": media_type})

    def answer(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        problem = {"title": "Bad Request", "status": 400}
        if (method, path) == ("POST", "/things"):
            if self.creates is not None and len(self.things) >= self.creates:
                return 400, {"title": "A trial account holds one thing", "status": 400}
            thing_id = f"thing-{len(self.things) + 1}"
            self.things[thing_id] = {"revision": 7}
            return 201, {"id": thing_id, "revision": 7}
        found = re.fullmatch(r"/(things|widgets)/([^/]+)(/note|/archive)?", path)
        if found is None or not isinstance(body, dict):
            return 404, {"title": "Not Found", "status": 404}
        kind, thing_id, action = found.groups()
        if action == "/note" and not (self.lenient or _valid("uri", body.get("url"))):
            return 400, problem
        if action is None and "homepage" in body and not _valid("uri", body["homepage"]):
            return 400, problem
        if action == "/archive" and not (
            _valid("email", body.get("receipt")) and ("at" not in body or _valid("date-time", body["at"]))
        ):
            return 400, problem
        thing = self.things.get(thing_id) if kind == "things" else None
        if thing is None or thing.get("archived"):
            return 404, {"title": "Not Found", "status": 404}
        if action == "/archive":
            if body.get("revision") != thing["revision"]:
                return 409, {"title": "Conflict", "status": 409}
            if self.archive_status == 200:
                thing["archived"] = True
            return self.archive_status, {"title": "Archived", "status": self.archive_status}
        return 200, {}

    def sent(self, pattern: str) -> list[tuple[str, str, Any, int]]:
        return [entry for entry in self.log if re.fullmatch(pattern, entry[1])]


def run_phase(
    monkeypatch: pytest.MonkeyPatch, server: Things, *, operations: tuple[str, ...] = ()
) -> tuple[Report, list[tuple[str, str, bool]]]:
    """The negative phase over ``server``: the report, and (kind, text, passed) per event."""
    document = load_spec(str(SPEC))
    if operations:
        for item in document["paths"].values():
            for method in [m for m in item if m in model.METHODS]:
                if item[method]["operationId"] not in operations:
                    del item[method]
    monkeypatch.setattr(
        httpx, "Client", functools.partial(httpx.Client, transport=httpx.MockTransport(server))
    )
    report = Report(kind="verify", target=str(SPEC), url=BASE)
    events: list[tuple[str, str, bool]] = []

    def problem(message: str) -> None:
        events.append(("problem", message, False))

    def tested(_phase: str, label: str, ok: bool, _new: list[Any]) -> None:
        events.append(("tested", label, ok))

    options = VerifyOptions(spec=str(SPEC), base_url=BASE)
    for _ in negatives.phase(
        report, options, document, BASE, {"X-Key": "k"}, 1, Traffic(), problem=problem, tested=tested
    ):
        pass
    return report, events


def _passed(events: list[tuple[str, str, bool]]) -> set[str]:
    return {text for kind, text, ok in events if kind == "tested" and ok}


def test_a_path_id_operation_is_sent_an_id_of_a_thing_the_phase_created(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = Things()
    report, events = run_phase(monkeypatch, server, operations=("createThing", "noteThing"))
    assert f"POST /things/{{thing_id}}/note {NOTE_RULE}" in _passed(events), events
    assert [entry[3] for entry in server.sent("/things")] == [201]
    notes = server.sent("/things/.+/note")
    assert {path for _, path, _, _ in notes} == {"/things/thing-1/note"}
    assert [status for *_, status in notes] == [400, 200]  # the case refused, the valid request accepted
    assert report.violations == [] and report.inconclusive == []


def test_a_server_that_takes_a_broken_value_on_a_path_id_operation_is_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    report, _ = run_phase(monkeypatch, Things(lenient=True), operations=("createThing", "noteThing"))
    assert NOTE_RULE in report.broken_rules, report.inconclusive
    caught = next(v for v in report.violations if v.rule == NOTE_RULE)
    assert caught.got.startswith("HTTP 200") and "/things/thing-1/note" in caught.curl
    assert report.exit_code() == 1


def test_the_valid_requests_go_after_every_case_of_their_operation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Archiving is an action: were the valid request sent after the first case, the second case would meet
    an archived thing and its 404 (a documented client error) would pass for a refusal of its rule."""
    server = Things()
    _, events = run_phase(monkeypatch, server, operations=("createThing", "archiveThing"))
    archive = server.sent("/things/.+/archive")
    assert [status for *_, status in archive] == [400, 400, 200], archive
    assert {f"POST /things/{{thing_id}}/archive {rule}" for rule in (RECEIPT_RULE, AT_RULE)} <= _passed(
        events
    )


def test_one_created_thing_serves_the_links_of_its_create_until_an_action_uses_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = Things()
    report, events = run_phase(monkeypatch, server)
    # updateThing (a PATCH leaves the thing as it was) and noteThing share the first thing; noteThing is an
    # action, so archiveThing gets a thing of its own.
    assert [entry[3] for entry in server.sent("/things")] == [201, 201]
    assert {path for _, path, *_ in server.sent("/things/[^/]+")} == {"/things/thing-1"}
    assert {path for _, path, *_ in server.sent("/things/.+/note")} == {"/things/thing-1/note"}
    archive = server.sent("/things/.+/archive")
    assert {path for _, path, *_ in archive} == {"/things/thing-2/archive"}
    # The link's requestBody hands the revision the create answered, over the example's 99.
    assert archive[-1][2]["revision"] == 7 and archive[-1][3] == 200
    assert report.violations == []
    passed = _passed(events)
    assert f"PATCH /things/{{thing_id}} {HOMEPAGE_RULE}" in passed
    assert f"POST /things/{{thing_id}}/note {NOTE_RULE}" in passed


def test_a_rule_whose_valid_request_is_refused_is_inconclusive_not_passed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No link leads to a widget and its id has no example: the id is made up, the case's 400 proves nothing
    when the valid request gets a 404, and the run must not be conformant."""
    report, events = run_phase(monkeypatch, Things(), operations=("noteWidget",))
    name = f"POST /widgets/{{widget_id}}/note {NOTE_RULE}"
    found = [i for i in report.inconclusive if i.scope == "rule"]
    assert [i.name for i in found] == [name], report.inconclusive
    reason = found[0].reason
    assert "the valid request it was derived from was not accepted either (HTTP 404)" in reason, reason
    assert "widget_id was made up" in reason, reason
    assert name not in _passed(events)
    assert any(kind == "problem" and "not judged" in text for kind, text, _ in events)
    assert report.rows[("POST /widgets/{widget_id}/note", negatives.CHECK)].not_applicable == 1
    assert not report.conformant and report.exit_code() == 3


def test_a_create_that_creates_nothing_is_named_in_the_inconclusive_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    report, _ = run_phase(monkeypatch, Things(creates=0), operations=("createThing", "noteThing"))
    (item,) = [i for i in report.inconclusive if i.scope == "rule"]
    assert item.name == f"POST /things/{{thing_id}}/note {NOTE_RULE}"
    assert "createThing created nothing: HTTP 400" in item.reason, item.reason
    assert report.exit_code() == 3


def _archive_case() -> negatives.Case:
    cases, _ = negatives.derive(model.contract(str(SPEC)), seed=1)
    return next(c for c in cases if c.rule == RECEIPT_RULE)


def _answered(status: int) -> negatives.Sent:
    sent = negatives.Sent("POST", f"{BASE}/things/thing-1/archive", {}, b"{}")
    sent.status = status
    return sent


@pytest.mark.parametrize(
    ("valid_status", "judged"),
    [(200, True), (503, True), (500, None), (404, None), (409, None), (429, None)],
)
def test_a_refusal_counts_when_the_valid_request_got_past_the_input_checks(
    valid_status: int, judged: bool | None
) -> None:
    """Accepted, or a 5xx the operation documents (archiveThing: 503, as Ryng documents a busy agent's 500):
    the only difference between the two requests, the broken rule, made the client error. A 5xx it does
    not document, or any 4xx, proves nothing."""
    contract = model.contract(str(SPEC))
    case = _archive_case()
    refused = _answered(400)
    verdict = negatives.settle(
        case, refused, negatives.judge(case, refused, contract), _answered(valid_status), contract
    )
    assert verdict.ok is judged
    if judged is None:
        assert f"was not accepted either (HTTP {valid_status})" in verdict.reason
    accepted = _answered(200)
    violated = negatives.settle(
        case, accepted, negatives.judge(case, accepted, contract), _answered(valid_status), contract
    )
    assert violated.ok is False and violated.violation is not None


@pytest.mark.parametrize("spec", ["ringotel-crm", "ringme", str(SPEC)], ids=lambda s: Path(s).stem)
def test_the_credential_failure_status_is_not_worded_as_refused_credentials(spec: str) -> None:
    """ringotel-crm answers 403 to bad credentials, ringme 401; a spec with no error shape of its own may
    mean either. Either may also be what a server answers for an id it does not have, so the reason says
    what came back and what the spec uses it for, never that the credentials were refused."""
    contract = model.contract(spec)
    case = next(iter(negatives.derive(contract, seed=1)[0]))
    for status in {contract.errors.auth_status, *({401, 403} if not contract.states_errors else ())}:
        sent = _answered(status)
        verdict = negatives.judge(case, sent, contract)
        assert verdict.ok is None and f"HTTP {status}" in verdict.reason
        assert "were refused" not in verdict.reason and "credentials it refuses" in verdict.reason
        settled = negatives.settle(case, sent, verdict, _answered(200), contract)
        assert settled.ok is None and "was accepted (HTTP 200)" in settled.reason


def test_live_values_replace_the_path_value_but_not_a_broken_one() -> None:
    contract = model.contract("ringme")
    operation = contract.by_id["updateRemoteAgentEvent"]
    plain, _ = negatives.derive_operation(contract, operation, seed=1)
    live = negatives.Live(path={"event_id": 4242, "agent_id": "not an integer"})
    cases, _ = negatives.derive_operation(contract, operation, seed=1, live=live)
    assert [c.rule for c in cases] == [c.rule for c in plain]  # the same rules, the same draws
    for case in cases:
        assert case.baseline_parameters[("path", "event_id")] == 4242
        # A value the parameter's schema refuses is not used: the example stays.
        assert (
            case.baseline_parameters[("path", "agent_id")]
            == plain[0].baseline_parameters[("path", "agent_id")]
        )
    broken = next(c for c in cases if c.rule.endswith("(format int64)") and "EventId" in c.rule)
    assert broken.parameters[("path", "event_id")] == 2**63  # the case's own broken value stays


def test_the_token_operation_asks_a_token_for_the_runs_own_oauth2_client() -> None:
    """The spec's example client (crm-connector) is no client the server knows; the run was given one."""
    contract = model.contract("ringme")
    document = load_spec("ringme")
    base = "http://pbx.test/ringme"
    options = VerifyOptions(spec="ringme", base_url=base, auth="oauth2:mockline:s3cret")
    live = negatives._token_request(contract, document, options, base)
    assert list(live) == ["issueToken"]
    cases, _ = negatives.derive(contract, seed=1, live=live)
    (case,) = [c for c in cases if c.label == "POST /oauth/token"]
    grant = {"grant_type": "client_credentials", "client_id": "mockline", "client_secret": "s3cret"}
    assert {k: case.baseline_body[k] for k in grant} == grant
    assert case.body["redirect_uri"] == "not a uri"
    basic = VerifyOptions(spec="ringme", base_url=base, auth="basic:u:p")
    assert negatives._token_request(contract, document, basic, base) == {}


def test_renewal_hands_the_new_token_to_the_traffic_or_says_none_was_issued(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert runner.renewal({}, SimpleNamespace(auth="basic:a:b")) is None  # nothing to renew
    traffic = Traffic()
    monkeypatch.setattr(runner, "credentials", lambda *_: {"Authorization": "Bearer new"})
    renew = runner.renewal({}, SimpleNamespace(auth="oauth2:a:b"), traffic)
    assert renew is not None and renew() == {"Authorization": "Bearer new"}
    assert traffic.credentials == {"authorization": "Bearer new"}

    def refused(*_args: object) -> dict[str, str]:
        raise runner.VerifyError("the token endpoint did not issue a token")

    monkeypatch.setattr(runner, "credentials", refused)
    assert renew() is None and traffic.credentials == {"authorization": "Bearer new"}


def test_a_refused_oauth2_token_is_renewed_once_and_the_request_sent_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[str] = []

    def server(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization", ""))
        status = 200 if request.headers.get("authorization") == "Bearer new" else 401
        return httpx.Response(status, stream=httpx.ByteStream(b"{}"))

    contract = model.contract("ringme")  # answers 401 to credentials it refuses
    renewals: list[int] = []

    def token(*_args: object) -> dict[str, str]:  # the token endpoint's answer, as runner.credentials has it
        renewals.append(1)
        return {"Authorization": "Bearer new"}

    monkeypatch.setattr(runner, "credentials", token)
    traffic = Traffic()
    renew = runner.renewal({}, SimpleNamespace(auth="oauth2:mockline:mockline"), traffic)
    report = Report(kind="verify", target="ringme", url=BASE)
    with httpx.Client(transport=httpx.MockTransport(server)) as client:
        session = negatives._Session(
            client, {"Authorization": "Bearer old"}, traffic, 5.0, contract, report, renew
        )
        build: Callable[[], negatives.Sent] = lambda: negatives.Sent(  # noqa: E731
            "GET", f"{BASE}/x", {"Authorization": session.credentials["Authorization"], "Accept": "*/*"}, None
        )
        first = session.send(build(), "GET /x")
        assert first.status == 200 and first.renewed and first.headers["Accept"] == "*/*"
        assert seen == ["Bearer old", "Bearer new"] and traffic.credentials == {"authorization": "Bearer new"}
        session.credentials = {"Authorization": "Bearer other"}
        again = session.send(build(), "GET /x")
    assert again.status == 401 and not again.renewed and renewals == [1]  # once a phase
    assert report.requests == 3
