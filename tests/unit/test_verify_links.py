"""verify's pace and its links phase, without a server: what the specs declare and what is sent."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import pytest

from contracts import model, pairing
from contracts.loaders import load_spec
from contracts.reporting.model import Report
from contracts.runner import VerifyError, pacing
from contracts.traffic import Pacer, Traffic


def test_a_run_is_paced_by_the_limit_the_spec_documents() -> None:
    assert pacing(load_spec("ryng"), None) == ("60/m", 1.0, True)


def test_a_spec_without_a_documented_limit_is_not_paced() -> None:
    assert pacing(load_spec("diyalog"), None) == (None, 0.0, False)


def test_the_rate_limit_option_wins_over_the_spec() -> None:
    assert pacing(load_spec("ryng"), "off") == (None, 0.0, False)
    assert pacing(load_spec("ryng"), "120/m") == ("120/m", 0.5, False)
    assert pacing(load_spec("diyalog"), "2/s") == ("2/s", 0.5, False)
    with pytest.raises(VerifyError, match="--rate-limit 'fast'"):
        pacing(load_spec("ryng"), "fast")


def _links(spec: str) -> set[tuple[str, str]]:
    contract = model.from_document(spec, load_spec(spec))
    return {(link.source.operation_id, link.target.operation_id) for link in pairing.links(contract)}


def test_every_create_names_the_operations_that_take_its_id() -> None:
    assert _links("ryng") == {("makePreviewCall", "endPreviewCall")}
    assert _links("diyalog") == {("createInteraction", "deleteInteraction")}
    ringme = _links("ringme")
    for kind in ("Local", "Remote"):  # once each, though the create documents 200 and 201 alike
        for use in ("get", "update", "delete"):
            assert (f"create{kind}AgentEvent", f"{use}{kind}AgentEvent") in ringme
    assert len(ringme) == len(pairing.links(model.from_document("ringme", load_spec("ringme"))))


class Recorder:
    """Stands in for the HTTP player: answers from a script, keeps what was asked."""

    def __init__(self, answers: list[tuple[int, Any]]) -> None:
        self.answers = answers
        self.sent: list[tuple[str, dict[str, Any], Any]] = []

    def request(self, op: model.Operation, path_values: Mapping[str, Any], body: Any) -> pairing.Sent:
        self.sent.append((op.operation_id, dict(path_values), body))
        status, answer = self.answers.pop(0)
        return pairing.Sent(status, answer, "curl ...", f"HTTP {status}")


def _preview_link() -> pairing.Link:
    [link] = pairing.links(model.from_document("ryng", load_spec("ryng")))
    return link


def test_the_target_gets_the_created_ids_in_its_path_and_body() -> None:
    player = Recorder([(200, {"error": False, "data": {"callID": 5, "logID": 77}}), (200, {"error": False})])
    outcome = pairing.play(_preview_link(), player)
    assert outcome.passed is True
    (source, _, created_with), (target, path, body) = player.sent
    assert (source, target) == ("makePreviewCall", "endPreviewCall")
    assert created_with == {
        "agentID": 31,
        "campaignID": 318,
        "customerNumber": "+919845012345",
        "customerName": "Priya Nair",
        "terminalCallbackUrl": "https://crm.example.com/ryng/terminal",
        "connectCallbackUrl": "https://crm.example.com/ryng/connect",
    }
    assert path == {"callID": 5}
    assert body["logID"] == 77 and set(body) == {"logID", "dispositionName", "notes"}


def test_a_created_id_the_target_does_not_find_is_a_violation() -> None:
    player = Recorder([(200, {"error": False, "data": {"callID": 5, "logID": 77}}), (404, {})])
    outcome = pairing.play(_preview_link(), player)
    assert outcome.passed is False and outcome.violation is not None
    assert outcome.violation.rule == "created_id_usable" and outcome.violation.got == "HTTP 404"


@pytest.mark.parametrize(
    ("answers", "why"),
    [
        ([(500, {"error": True})], "makePreviewCall created nothing"),
        ([(200, {"error": False, "data": {"callID": 5, "logID": 77}}), (429, {})], "endPreviewCall answered"),
    ],
)
def test_a_pair_that_could_not_be_played_judges_nothing(answers: list[tuple[int, Any]], why: str) -> None:
    outcome = pairing.play(_preview_link(), Recorder(answers))
    assert outcome.passed is None and why in outcome.reason


def test_a_rate_limited_request_is_sent_again_after_its_retry_after() -> None:
    answers = iter(
        [
            httpx.Response(429, headers={"Retry-After": "0"}, stream=httpx.ByteStream(b"")),
            httpx.Response(200, stream=httpx.ByteStream(b'{"error": false}')),
        ]
    )
    client = httpx.Client(transport=httpx.MockTransport(lambda request: next(answers)))
    traffic = Traffic(pacer=Pacer(0.0))
    player = pairing.Player("http://api.test", {"x-access-token": "t"}, 5.0, traffic, client)
    link = _preview_link()
    sent = player.request(link.target, {"callID": 5}, {"logID": 1, "dispositionName": "x", "notes": ""})
    assert sent is not None and sent.status == 200 and player.sent == 2
    assert traffic.evidence.operations["PATCH /rest-api/v1/preview/call/{callID}"]["2xx"] == 1


class _Counted:
    """The player's surface the phase uses: ``request`` and a count of requests ``sent``."""

    def __init__(self, answers: list[tuple[int, Any]]) -> None:
        self.recorder = Recorder(answers)
        self.sent = 0

    def request(self, op: model.Operation, path_values: Mapping[str, Any], body: Any) -> pairing.Sent:
        self.sent += 1
        return self.recorder.request(op, path_values, body)


def _phase(
    answers: list[tuple[int, Any]],
) -> tuple[Report, list[Any], set[tuple[str, str]], list[pairing.Unjudged]]:
    contract = model.from_document("ryng", load_spec("ryng"))
    report = Report(kind="verify", target="ryng", url="http://api.test")
    judged: set[tuple[str, str]] = set()
    unjudged: list[pairing.Unjudged] = []
    player = _Counted(answers)
    events = list(
        pairing._play_all(
            contract,
            player,  # type: ignore[arg-type]
            report,
            problem=lambda message: ("problem", message),
            tested=lambda *args: ("tested", *args),
            judged_pairs=judged,
            unjudged=unjudged,
        )
    )
    return report, events, judged, unjudged


PREVIEW_PAIR = ("POST /rest-api/v1/preview/call", "PATCH /rest-api/v1/preview/call/{callID}")


def test_a_link_that_could_not_be_judged_is_handed_back_not_passed() -> None:
    created = (200, {"error": False, "data": {"callID": 5, "logID": 77}})
    report, events, judged, unjudged = _phase([created, (403, {"error": True})])
    assert judged == set()
    (link,) = unjudged
    assert (
        link.pair == PREVIEW_PAIR and link.label == "makePreviewCall -> endPreviewCall (EndThisPreviewCall)"
    )
    assert link.reason == "endPreviewCall answered HTTP 403"
    row = report.rows[("POST /rest-api/v1/preview/call", "created_id_usable")]
    assert (row.passed, row.failed, row.not_applicable) == (0, 0, 1)
    assert events == [
        (
            "problem",
            "makePreviewCall -> endPreviewCall (EndThisPreviewCall): not judged: endPreviewCall answered "
            "HTTP 403 (inconclusive unless a later phase judges it)",
        )
    ]
    assert report.requests == 2


def test_a_link_judged_either_way_is_a_judged_pair() -> None:
    created = (200, {"error": False, "data": {"callID": 5, "logID": 77}})
    for answer, passed in (((200, {"error": False}), 1), ((404, {}), 0)):
        report, _, judged, unjudged = _phase([created, answer])
        assert judged == {PREVIEW_PAIR} and unjudged == []
        assert report.rows[("POST /rest-api/v1/preview/call", "created_id_usable")].passed == passed
