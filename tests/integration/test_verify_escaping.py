"""Issue 16: follow-up requests take path values exactly once through one encoder.

The fixture's tenants and note ids need escaping (space, ``%``, ``/``, non-ASCII, a control character);
a faithful server passes with every phase and with the stateful phase alone, and one that really loses
what it created still fails with ``created_id_usable``.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import pytest

from contracts.reporting import terminal
from contracts.runner import VerifyOptions, run_to_report
from tests.fixtures.verify import serving
from tests.fixtures.verify.escaping import SPEC, NotesServer, note_id

pytestmark = pytest.mark.slow


def _options(url: str, phases: tuple[str, ...] | None) -> VerifyOptions:
    # The stateful phase follows a link only some of the time (Schemathesis draws that outside the
    # seed), so alone it gets more scenarios: enough that every operation is reached with success.
    examples = 25 if phases == ("stateful",) else 10
    return VerifyOptions(spec=SPEC, base_url=url, seed=1, max_examples=examples, phases=phases)


@pytest.mark.parametrize("phases", [None, ("stateful",)], ids=["every-phase", "stateful-alone"])
def test_a_faithful_server_whose_ids_need_escaping_passes(phases: tuple[str, ...] | None) -> None:
    server = NotesServer()
    with serving(server) as url:
        report = run_to_report(_options(url, phases))
    assert report.violations == [], [(v.rule, v.got, v.curl) for v in report.violations]
    assert report.inconclusive == [], report.inconclusive
    assert report.exit_code() == 0
    created = [f for f in report.follow_ups if f.check == "created_id_usable"]
    assert created and all(f.status == 200 for f in created)
    for follow_up in created:
        # Each segment decodes once to the raw value; nothing was encoded twice.
        tenant, _, note = urlsplit(follow_up.url).path.removeprefix("/tenants/").partition("/notes/")
        assert unquote(note) in {note_id(n) for n in range(1, server.created + 1)}
        assert unquote(tenant) in server.tenants
    # The report prints every follow-up with the exact URL it went to.
    text = terminal.render(report)
    for follow_up in report.follow_ups:
        assert f"{follow_up.method} {follow_up.url} -> {follow_up.status}" in text


def test_the_tenant_example_reaches_its_note_with_each_value_encoded_once() -> None:
    with serving(NotesServer()) as url:
        report = run_to_report(_options(url, ("examples",)))
    (follow_up,) = [f for f in report.follow_ups if f.check == "created_id_usable"]
    assert follow_up.url == (
        f"{url}/tenants/Acme%20%C3%9Cnited%2F100%25%20%07/notes/n%201%2F50%25%20%C3%A9%01"
    )
    assert follow_up.status == 200


@pytest.mark.parametrize("phases", [None, ("stateful",)], ids=["every-phase", "stateful-alone"])
def test_a_server_that_loses_what_it_created_fails_with_created_id_usable(
    phases: tuple[str, ...] | None,
) -> None:
    with serving(NotesServer(loses_created=True)) as url:
        report = run_to_report(_options(url, phases))
    assert "created_id_usable" in report.broken_rules
    assert report.exit_code() == 1
    caught = next(v for v in report.violations if v.rule == "created_id_usable")
    assert "/notes/n%20" in caught.curl and "%2520" not in caught.curl


def test_an_unpaced_run_against_a_rate_limit_is_inconclusive_and_a_paced_one_conformant() -> None:
    """Pacing (``--rate-limit``) and Retry-After against a gateway that allows 4 requests each half second."""
    from tests.fixtures.verify.limited import RateLimited

    options = {"spec": SPEC, "seed": 1, "max_examples": 3, "phases": ("examples", "stateful")}
    gateway = RateLimited(NotesServer(), per_window=4, window=0.5)
    with serving(gateway) as url:
        unpaced = run_to_report(VerifyOptions(base_url=url, **options))  # type: ignore[arg-type]
    assert unpaced.violations == [] and unpaced.exit_code() == 3
    assert any(i.scope == "phase" and "429" in i.reason for i in unpaced.inconclusive)
    # Each 429 came with Retry-After and was sent again after the wait: every operation still succeeded.
    assert [i for i in unpaced.inconclusive if i.scope == "operation"] == []

    gateway = RateLimited(NotesServer(), per_window=4, window=0.5)
    with serving(gateway) as url:
        paced = run_to_report(VerifyOptions(base_url=url, rate_limit="3/s", **options))  # type: ignore[arg-type]
    assert 429 not in gateway.answers and len(gateway.answers) > 20
    assert paced.violations == [] and paced.inconclusive == [] and paced.exit_code() == 0
