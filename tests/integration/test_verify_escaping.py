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
    return VerifyOptions(spec=SPEC, base_url=url, seed=1, max_examples=10, phases=phases)


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
