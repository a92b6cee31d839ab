"""``mockline verify``, ``verify-receiver`` and ``drive`` pointed at servers that answer badly on purpose
(``tests/fixtures/verify/hostile.py``): an answer too large to keep, one that never ends, a gzip bomb, a
body that trickles in, a Content-Length the body does not keep, a redirect to another host, a token
endpoint that answers garbage or lives elsewhere, and text meant for a terminal or a browser.

Whatever comes back, a run ends within its timeouts, reads at most 16 MiB of an answer, never prints a
traceback, names what went wrong and exits with a documented code; no credential goes anywhere the user
did not point it; the terminal, JUnit and HTML reports stay what they are.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from contracts.drive import Auth, drive
from contracts.loaders import load_spec
from contracts.runner import VerifyError, _reachable, token_url
from mockserver.cli import main
from tests.fixtures.verify.hostile import (
    MIB,
    Behaviour,
    answer,
    big,
    chunked,
    cut_short,
    gzip_bomb,
    hostile,
    redirect,
    trickle,
)

pytestmark = pytest.mark.slow

CAP = "16 MiB"  # contracts.bounded.MAX_ANSWER_BYTES
# Meant for a terminal (clear the screen, set the window title, colour), a browser and an XML parser.
NASTY = '{"success": false, "errorMessage": "<script>alert(1)</script>\x1b[2J\x1b]0;owned\x07\x00\x0b\x1f"}'
NASTY_BODY = NASTY.encode()
RUN_SECONDS = 45  # a bound on a whole run here, far above what a bounded one takes


def mockline(*argv: str, timeout: float = RUN_SECONDS) -> subprocess.CompletedProcess[str]:
    """``mockline ARGV`` as a user runs it; its output read as text whatever bytes it holds."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, "-m", "mockserver.cli", *argv],
        capture_output=True,
        text=True,
        errors="backslashreplace",
        timeout=timeout,
        env=env,
    )


def verify(url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    """Diyalog's createInteraction, its documented example alone, a one-second request timeout."""
    return mockline(
        "verify", "diyalog", "--base-url", url, "--header", "Auth-Token: mockline",
        "--operation", "createInteraction", "--phases", "examples", "--max-examples", "1",
        "--seed", "1", "--rate-limit", "off", "--request-timeout", "1", *extra,
    )  # fmt: skip


def no_traceback(run: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in run.stderr + run.stdout, run.stderr[-3000:]
    return run.stdout + run.stderr


@pytest.mark.parametrize(
    "behaviour",
    [big(24 * MIB), chunked(64 * MIB)],
    ids=["content-length-24MiB", "chunked-64MiB"],
)
def test_verify_reads_no_answer_past_the_cap(behaviour: Behaviour) -> None:
    with hostile(behaviour) as served:
        run = verify(served.url)
    output = no_traceback(run)
    assert run.returncode == 2, output[-3000:]
    assert f"past {CAP}" in output
    assert served.sent and all(sent == -1 for sent in served.sent), served.sent  # each cut off unread


def test_verify_inflates_no_gzip_bomb_past_the_cap() -> None:
    with hostile(gzip_bomb(256 * MIB)) as served:
        started = time.monotonic()
        run = verify(served.url)
    output = no_traceback(run)
    assert run.returncode == 2, output[-3000:]
    assert f"past {CAP} once its gzip encoding is undone" in output
    assert time.monotonic() - started < 20


def test_a_trickling_answer_is_cut_off_at_the_request_timeout() -> None:
    """A byte every tenth of a second never lets a one-second read timeout pass: the timeout is the whole
    answer's, so each answer is given up on after a second, not after the twenty its body takes."""
    with hostile(trickle(b'{"success": true}' + b" " * 200, every=0.1)) as served:
        started = time.monotonic()
        run = verify(served.url)
        took = time.monotonic() - started
    output = no_traceback(run)
    assert run.returncode == 2, output[-3000:]
    assert "no whole answer within the 1 s timeout" in output
    assert took < 20, took


@pytest.mark.parametrize(
    ("behaviour", "words"),
    [
        (cut_short(100, b'{"a":'), "broke off after 5 of the 100 bytes"),
        (cut_short(100, b"{}", hang=3), "2 of the 100 bytes"),
        (
            answer(b"no gzip", "200 OK", "Content-Encoding: gzip"),
            "not the gzip its Content-Encoding declares",
        ),
    ],
    ids=["closed-mid-answer", "content-length-longer-than-the-body", "gzip-that-is-not"],
)
def test_an_answer_cut_short_is_named_as_such(behaviour: Behaviour, words: str) -> None:
    with hostile(behaviour) as served:
        run = verify(served.url)
    output = no_traceback(run)
    assert run.returncode == 2, output[-3000:]
    assert words in output
    assert "chunked encoding" not in output  # Schemathesis' words for it, about a body that is not chunked


def test_the_base_url_is_reached_without_reading_its_answer() -> None:
    """Whether the server is there is all the first request asks: a broken or huge body there is no
    reason to say it cannot be reached, nor to read it."""
    with hostile(cut_short(100, b'{"a":')) as served:
        _reachable(served.url + "/api", 1)
    with hostile(big(24 * MIB)) as served:
        _reachable(served.url + "/api", 1)
    assert served.sent == [-1]


def test_a_redirect_to_another_host_gets_no_credentials() -> None:
    """Schemathesis follows a redirect on the same host only, and mockline's own requests follow none: a
    3xx to another address is judged as the answer it is, and the credentials stay at home."""
    with (
        hostile(answer(b"{}"), host="127.0.0.2") as elsewhere,
        hostile(redirect(f"{elsewhere.url}/stolen")) as served,
    ):
        run = mockline(
            "verify", "diyalog", "--base-url", served.url, "--header", "Auth-Token: mockline",
            "--auth", "basic:user:secret", "--max-examples", "1", "--seed", "1", "--rate-limit", "off",
            "--phases", "links,examples,negative", "--request-timeout", "1",
        )  # fmt: skip
    no_traceback(run)
    assert run.returncode == 1 and len(served.requests) > 3
    assert elsewhere.requests == []


# --- the OAuth2 token endpoint -----------------------------------------------------------------------------


def _crm(url: str, *extra: str) -> list[str]:
    return [
        "verify", "ringotel-crm", "--base-url", url, "--auth", "oauth2:client:s3cret",
        "--operation", "listUsers", "--phases", "fuzzing", "--max-examples", "1", "--seed", "1",
        "--rate-limit", "off", "--request-timeout", "1", *extra,
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"[1, 2]", "did not issue a token"),
        (b'"token"', "did not issue a token"),
        (b'{"access_token": "abc\\r\\nX-Injected: 1", "token_type": "Bearer"}', "cannot go in a header"),
        (b'{"access_token": "' + b"a" * (64 * 1024 + 1) + b'"}', "longer than"),
    ],
    ids=["a-list", "a-string", "a-token-with-a-line-break", "a-token-of-64KiB"],
)
def test_a_token_endpoint_that_answers_garbage_stops_the_run(
    body: bytes, words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with hostile(answer(body)) as served:
        code = main(_crm(served.url))
    err = capsys.readouterr().err
    assert code == 2
    assert f"the token endpoint {served.url}/oauth/token" in err and words in err, err[-2000:]


def test_the_client_secret_goes_to_no_token_url_off_the_base_urls_host(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A spec whose token URL is on another host than --base-url: the secret goes there only when the user
    names it with --token-url."""
    with hostile(answer(b'{"no": "token"}')) as elsewhere, hostile(answer(b"{}")) as served:
        spec = tmp_path / "elsewhere.yaml"
        spec.write_text(ELSEWHERE.replace("TOKEN_URL", f"{elsewhere.url}/token"))
        argv = ["verify", str(spec), "--base-url", served.url, "--auth", "oauth2:client:s3cret"]
        argv += ["--phases", "examples", "--rate-limit", "off", "--request-timeout", "1"]
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert elsewhere.requests == [] and served.requests == [served.requests[0]]  # GET / alone
        assert f"--token-url {elsewhere.url}/token" in err and "client secret" in err
        assert main([*argv, "--token-url", f"{elsewhere.url}/token"]) == 2
        assert "did not issue a token" in capsys.readouterr().err
        assert [r.target for r in elsewhere.requests] == ["/token"]
        assert b"client_secret=s3cret" in elsewhere.requests[0].body


def test_a_token_url_on_another_host_is_refused_unless_given() -> None:
    document = load_spec(str(Path(__file__).parents[1] / "fixtures" / "specs" / "audit-security.yaml"))
    with pytest.raises(VerifyError, match=r"--token-url https://auth\.example\.com/token"):
        token_url(document, "http://127.0.0.1:9/api")
    assert token_url(document, "http://127.0.0.1:9/api", "https://auth.example.com/token") == (
        "https://auth.example.com/token"
    )
    assert (
        token_url(load_spec("ringme"), "http://127.0.0.1:9/ringme") == "http://127.0.0.1:9/ringme/oauth/token"
    )


ELSEWHERE = """openapi: 3.0.3
info: {title: elsewhere, version: '1'}
paths:
  /things:
    get:
      operationId: listThings
      responses:
        '200':
          description: the things
          content:
            application/json:
              schema: {type: object}
              example: {}
security: [{oauth2: []}]
components:
  securitySchemes:
    oauth2:
      type: oauth2
      flows: {clientCredentials: {tokenUrl: 'TOKEN_URL', scopes: {}}}
"""


# --- what a hostile answer can do to the reports -----------------------------------------------------------


def test_a_hostile_answer_reaches_no_terminal_and_breaks_no_report(tmp_path: Path) -> None:
    junit, html = tmp_path / "verify.xml", tmp_path / "verify.html"
    with hostile(answer(NASTY_BODY, "500 Internal Server Error", "X-Evil: <b>\x1b[31m")) as served:
        run = verify(served.url, "--junit-xml", str(junit), "--report", str(html))
    output = no_traceback(run)
    assert run.returncode == 1, output[-3000:]
    assert "\\x1b[2J" in run.stdout  # shown, as an escape
    assert not set(run.stdout + run.stderr) & {"\x1b", "\x07", "\x00", "\x0b", "\x1f"}
    root = ET.parse(junit).getroot()  # well-formed XML 1.0
    assert "\\x1b[2J" in "".join(root.itertext())
    page = html.read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_verify_receiver_shows_a_hostile_answer_escaped() -> None:
    with hostile(answer(NASTY_BODY, "500 Internal Server Error")) as served:
        run = mockline("verify-receiver", "ringotel-crm", "--url", f"{served.url}/hook", "--timeout", "1")
    no_traceback(run)
    assert run.returncode == 1
    assert "\\x1b[2J" in run.stdout and "\x1b" not in run.stdout and "\x00" not in run.stdout


# --- verify-receiver ---------------------------------------------------------------------------------------


def test_verify_receiver_gives_up_on_a_trickling_answer_at_its_timeout() -> None:
    with hostile(trickle(b'{"ok": true}' + b" " * 200, every=0.1)) as served:
        started = time.monotonic()
        run = mockline("verify-receiver", "ringotel-crm", "--url", f"{served.url}/hook", "--timeout", "0.3")
        took = time.monotonic() - started
    output = no_traceback(run)
    assert run.returncode == 1, output[-3000:]
    assert "no answer within the timeout" in output
    assert took < 20, took


def test_verify_receiver_reads_no_answer_past_the_cap() -> None:
    with hostile(big(24 * MIB)) as served:
        run = mockline("verify-receiver", "ringotel-crm", "--url", f"{served.url}/hook", "--timeout", "2")
    output = no_traceback(run)
    assert run.returncode == 2, output[-3000:]
    assert f"past {CAP}" in output and "cannot reach" not in output
    assert served.sent and all(sent == -1 for sent in served.sent), served.sent


# --- drive -------------------------------------------------------------------------------------------------


def _drive(url: str, timeout: float = 1.0) -> tuple[Any, list[str], float]:
    said: list[str] = []
    started = time.monotonic()
    report = asyncio.run(drive(url, Auth("none"), timeout=timeout, seed=1, say=said.append))
    return report, said, time.monotonic() - started


def test_drive_gives_up_on_a_trickling_answer_at_its_timeout() -> None:
    with hostile(trickle(b'{"records": []}' + b" " * 200, every=0.1)) as served:
        report, _, took = _drive(served.url, timeout=0.5)
    assert took < 3, took
    assert report.exit_code == 2 and report.failed is not None and report.failed.name == "Users"
    assert "no whole answer within the 0.5 s timeout" in report.failed.summary


def test_drive_reads_no_answer_past_the_cap() -> None:
    with hostile(big(24 * MIB)) as served:
        report, _, _ = _drive(served.url)
    assert report.exit_code == 2 and report.failed is not None
    assert f"past {CAP}" in report.failed.summary
    assert served.sent == [-1]


def test_drive_shows_a_hostile_answer_escaped() -> None:
    with hostile(answer(NASTY_BODY, "500 Internal Server Error")) as served:
        report, said, _ = _drive(served.url)
    assert report.exit_code == 1
    text = "\n".join(said)
    assert "\\x1b[2J" in text and "\x1b" not in text and "\x00" not in text


def test_requests_are_bounded_only_while_a_run_lasts() -> None:
    """The bound on requests' answers is lifted when the last run that set it ends (runs may nest)."""
    from requests.adapters import HTTPAdapter

    from contracts import bounded

    plain = HTTPAdapter.send
    with bounded.requests_bounded():
        with bounded.requests_bounded():
            assert HTTPAdapter.send is not plain
        assert HTTPAdapter.send is not plain
    assert HTTPAdapter.send is plain
