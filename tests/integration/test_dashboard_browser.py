"""The dashboard in a real browser: Debian's chromium, driven by Selenium through chromium-driver.

Each test serves a mock (manual clock) and a callback receiver on loopback ports, drives the page as a
person would, and waits (bounded) for what the page shows. The run also takes the screenshots that
docs/dashboard.md shows: into a temporary folder, or into the folder named by MOCKLINE_SCREENSHOTS
(``MOCKLINE_SCREENSHOTS=docs/img`` refreshes the committed ones).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from mockserver.app import create_app
from mockserver.settings import Settings
from tests.fixtures import serving
from tests.integration.test_dashboard_hostile import PAGES, TokenSettings

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
if not (CHROMIUM and CHROMEDRIVER):
    pytest.skip(
        "the browser tests need Debian's chromium and chromium-driver (make system-tools installs them)",
        allow_module_level=True,
    )

from selenium import webdriver  # noqa: E402 - only once the browser is known to be there
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

PUSH = "/ryng/rest-api/v1/progressive/queue/12/transactional"
RYNG = {"x-access-token": "mockline"}
WAIT = 20  # seconds any one thing may take to show


@dataclass
class Sink:
    """A callback receiver: answers ``status`` (500 to the first ``fail_first`` requests) and keeps what
    it received."""

    status: int = 200
    fail_first: int = 0
    received: list[dict[str, Any]] = field(default_factory=list)
    body: bytes | None = None  # what it answers (else "ok", or "no" to a failure)
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                while (await receive())["type"] != "lifespan.shutdown":
                    await send({"type": "lifespan.startup.complete"})
                await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.received.append({"method": scope["method"], "path": scope["path"], "body": body})
        status = 500 if len(self.received) <= self.fail_first else self.status
        answer = self.body if self.body is not None else b"no" if status >= 400 else b"ok"
        headers = [(b"content-length", str(len(answer)).encode()), *self.headers]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": answer})


@dataclass
class Rig:
    url: str
    sink_url: str
    sink: Sink
    app: Any
    browser: WebDriver
    http: httpx.Client

    def open(self, path: str) -> None:
        self.browser.get(self.url + path)
        WebDriverWait(self.browser, WAIT).until(
            lambda b: b.execute_script("return document.body.classList.contains('connected')")
        )
        self.browser.execute_script("window.__sameDocument = true")

    def texts(self, css: str) -> list[str]:
        """The text of every match, read in one go (a live refresh cannot swap them half-way)."""
        found: list[str] = self.browser.execute_script(
            "return Array.from(document.querySelectorAll(arguments[0])).map(e => e.innerText ?? e.textContent)",
            css,
        )
        return found

    def wait_for(self, css: str, text: str | None = None) -> str:
        """Wait until an element matching ``css`` (holding ``text``) shows; its text."""

        def found(_browser: WebDriver) -> str | bool:
            for each in self.texts(css):
                if text is None or text in each:
                    return each or " "  # an element with no text (an input) is found all the same
            return False

        shown: str = WebDriverWait(self.browser, WAIT).until(found)
        return shown

    def attribute(self, css: str, text: str, name: str) -> str:
        self.wait_for(css, text)
        value: str = self.browser.execute_script(
            "return Array.from(document.querySelectorAll(arguments[0]))"
            ".find(e => (e.innerText ?? e.textContent).includes(arguments[1])).getAttribute(arguments[2])",
            css,
            text,
            name,
        )
        return value

    def click(self, css: str, text: str | None = None) -> None:
        """Click the first match, found and clicked in one step."""
        self.wait_for(css, text)
        clicked = self.browser.execute_script(
            "const e = Array.from(document.querySelectorAll(arguments[0]))"
            ".find(e => arguments[1] === null || (e.innerText ?? e.textContent).includes(arguments[1]));"
            "if (e) { e.focus(); e.click(); } return !!e;",
            css,
            text,
        )
        assert clicked, f"nothing to click at {css} ({text})"

    def live(self, on: bool) -> None:
        self.browser.execute_script(
            "const box = document.getElementById('live'); if (box.checked !== arguments[0]) box.click();", on
        )

    def not_reloaded(self) -> bool:
        return bool(self.browser.execute_script("return window.__sameDocument === true"))

    def push(self, number: str = "+919845555000") -> None:
        lead = {
            "agentMapping": "global",
            "agents": ["asha.verma@example.com"],
            "customerData": {
                "connectCallbackUrl": self.sink_url + "/connect",
                "terminalCallbackUrl": self.sink_url + "/terminal",
                "jsonData": [{"number": number, "customField1": "Asha"}],
            },
        }
        assert self.http.post(PUSH, headers=RYNG, json=lead).status_code == 200

    def screenshot(self, name: str, folder: Path) -> None:
        target = folder / name
        self.browser.save_screenshot(str(target))
        assert target.stat().st_size > 10_000, f"{name} looks empty"


def _browser(width: int = 1280, height: int = 900) -> WebDriver:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
        f"--window-size={width},{height}",
    ):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)


@pytest.fixture
def rig() -> Iterator[Rig]:
    sink = Sink()
    config = {"ryng": {"scheduled_call": False}}  # the lists hold what the tests make
    app = create_app(Settings(clock="manual", rate_limit=False, seed=7, config=config))
    with serving(sink) as sink_url, serving(app) as url, httpx.Client(base_url=url, timeout=15) as http:
        browser = _browser()
        try:
            yield Rig(url, sink_url, sink, app, browser, http)
        finally:
            browser.quit()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wanted = os.environ.get("MOCKLINE_SCREENSHOTS")
    folder = Path(wanted) if wanted else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_a_pushed_lead_appears_without_a_reload(rig: Rig) -> None:
    rig.open("/dashboard/calls")
    rig.wait_for("td.empty")
    rig.push()
    assert "+919845555000" in rig.wait_for('tr[data-call="1"]')
    assert rig.not_reloaded()


def test_advancing_the_clock_from_the_page_brings_the_terminal_callback(rig: Rig, shots: Path) -> None:
    rig.sink.fail_first = 1  # the connect callback fails once, then goes through on its retry
    rig.push()
    rig.push("+919845555001")
    rig.open("/")
    rig.screenshot("overview.png", shots)
    rig.open("/dashboard/calls/1")
    rig.click("button", "+10 min")
    rig.wait_for(".status", "Clock: 2026-01-05T09:10:00.000Z")
    rig.wait_for('[data-testid="callback-marker"].ok', "200")
    assert "delivered" in rig.wait_for("tbody tr", "terminal")
    assert any("500" in m for m in rig.texts('[data-testid="callback-marker"].fail'))
    assert any(r["path"] == "/terminal" for r in rig.sink.received)
    assert rig.not_reloaded()
    rig.screenshot("call-timeline.png", shots)


def test_failed_attempts_then_retry_now_delivers(rig: Rig, shots: Path) -> None:
    rig.sink.status = 500
    rig.push()
    rig.http.post("/__admin/clock/advance", json={"seconds": 3600})
    rig.open("/dashboard/deliveries?state=failed&callback=terminal")
    delivery_id = rig.attribute("tr[data-delivery]", "failed", "data-delivery")
    rig.open(f"/dashboard/deliveries/{delivery_id}")
    rig.wait_for('[data-testid="attempts"] tbody tr.fail')
    failed = rig.texts('[data-testid="attempts"] tbody tr.fail')
    assert len(failed) >= 2 and all("500" in r for r in failed)
    rig.sink.status = 200
    rig.click("button", "Retry now")
    rig.wait_for("h1 .badge-delivered", "delivered")
    rows = rig.texts('[data-testid="attempts"] tbody tr')
    assert len(rows) == len(failed) + 1 and "200" in rows[-1]
    assert rig.not_reloaded()
    rig.push("+919812345678")  # a second call, answered, for the picture
    rig.http.post("/__admin/clock/advance", json={"seconds": 3600})
    rig.open("/dashboard/deliveries")
    rig.wait_for("tr[data-delivery]", "delivered")
    rig.screenshot("deliveries.png", shots)


def test_logging_a_ringme_agent_in_shows_the_subscriptions_delivery(rig: Rig) -> None:
    form = {"grant_type": "client_credentials", "client_id": "mockline", "client_secret": "mockline"}
    token = rig.http.post("/ringme/oauth/token", data=form).json()["access_token"]
    subscribed = rig.http.post(
        "/ringme/api/ver1.0/client/12/agent/local/136/event/",
        headers={"authorization": f"Bearer {token}"},
        json={"url": rig.sink_url + "/agent", "event_type": "agent-login", "method": "POST"},
    )
    assert subscribed.status_code in (200, 201), subscribed.text
    rig.open("/dashboard/agents")
    rig.wait_for('[data-testid="subscriptions"]', "agent-login")
    rig.click('tr[data-agent="local-136"] button', "Log in")
    rig.wait_for('tr[data-agent="local-136"]', "available")
    rig.wait_for('[data-testid="agent-deliveries"] tr[data-delivery]', "pending")
    rig.click("button", "+1 min")
    rig.wait_for('[data-testid="agent-deliveries"] tr[data-delivery]', "delivered")
    assert [r["path"] for r in rig.sink.received] == ["/agent"]
    assert rig.not_reloaded()


def test_a_request_copied_as_curl_runs_again(rig: Rig) -> None:
    rig.push()
    rig.open("/dashboard/requests?api=ryng")
    rig.live(False)  # hold the page still while the entry is open
    rig.click("li[data-request] summary", "pushTransactional")
    rig.click("li[data-request] details[open] button[data-copy]")
    rig.wait_for(".status", "curl command")  # copied, or the browser refused and the page says so
    command = rig.attribute("li[data-request] details[open] button[data-copy]", "Copy", "data-copied")
    assert command.startswith("curl ") and PUSH in command
    assert [command] == rig.texts("li[data-request] details[open] pre.curl")
    before = len(rig.app.runtime.journal._entries)
    run = subprocess.run(
        ["bash", "-c", command + " -w '\\n%{http_code}'"], capture_output=True, text=True, timeout=30
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().endswith("200"), run.stdout
    assert len(rig.app.runtime.journal._entries) == before + 1
    calls = rig.http.get("/__admin/calls").json()
    assert calls["total"] == 2  # the copy made a second call, as the original did the first


def test_the_pages_read_on_a_phone(rig: Rig, shots: Path) -> None:
    phone = {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True}
    rig.browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", phone)  # type: ignore[attr-defined]
    rig.push()
    for path in ("/", "/dashboard/calls", "/dashboard/deliveries", "/dashboard/requests"):
        rig.open(path)
        width, page = rig.browser.execute_script(
            "return [window.innerWidth, document.documentElement.scrollWidth]"
        )
        assert width == 390
        assert page <= width, f"{path} scrolls sideways on a phone"
        if path == "/dashboard/calls":
            rig.screenshot("phone-calls.png", shots)


def test_faults_are_edited_in_place_and_take_effect(rig: Rig) -> None:
    rig.open("/dashboard/faults")
    rig.click("button", "Add a rule")
    rig.browser.execute_script(
        "const row = document.querySelector('tr[data-fault]');"
        'const set = (n, v) => { row.querySelector(`[name="${n}"]`).value = v; };'
        "set('api', 'ryng'); set('operationId', 'pushTransactional'); set('error_rate', '1'); set('status', '503');"
    )
    rig.click("button", "Save rules")
    rig.wait_for(".status", "1 fault rule(s) in force")
    assert rig.http.get("/__admin/faults").json()["faults"] == [
        {
            "api": "ryng",
            "operationId": "pushTransactional",
            "error_rate": 1.0,
            "status": 503,
            "latency_ms": 0.0,
        }
    ]
    lead = {
        "agentMapping": "global",
        "agents": ["a@example.com"],
        "customerData": {"jsonData": [{"number": "+919812345678"}]},
    }
    assert rig.http.post(PUSH, headers=RYNG, json=lead).status_code == 503
    rig.wait_for('tr[data-fault] input[name="api"]')  # the page shows the rule it saved
    assert (
        rig.browser.execute_script(
            "return document.querySelector('tr[data-fault] input[name=\"operationId\"]').value"
        )
        == "pushTransactional"
    )


HOSTILE = '<script>window.__xss=1</script>"><img src=x onerror="window.__xss=1">\u202egnp.exe'
WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
"""


def test_hostile_content_runs_nothing_breaks_no_policy_and_long_strings_fit_a_phone(rig: Rig) -> None:
    rig.browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": WATCH})  # type: ignore[attr-defined]
    rig.sink.status = 500
    rig.sink.body = b'<img src=x onerror="window.__xss=2"><script>window.__xss=2</script>' + b"B" * 3000
    rig.sink.headers = [(b"x-evil", b'"><img src=x onerror="window.__xss=3">')]
    long_url = rig.sink_url + "/connect?" + "a" * 1500
    lead = {
        "agentMapping": "global",
        "agents": ["asha.verma@example.com"],
        "customerData": {
            "connectCallbackUrl": long_url,
            "terminalCallbackUrl": "javascript:window.__xss=4//" + "b" * 1500,
            "jsonData": [{"number": "+919845555000", "customField1": HOSTILE, "customField2": "C" * 3000}],
        },
    }
    assert rig.http.post(PUSH, headers=RYNG, json=lead).status_code == 200
    crm = ("mockline", "mockline")
    contact = {"firstname": HOSTILE + "D" * 2000, "lastname": "<b>L</b>", "phone": "+12125550100"}
    assert rig.http.post("/ringotel/contacts", auth=crm, json=contact).status_code == 201
    assert (
        rig.http.post(
            "/diyalog/CreateInteraction",
            headers={"Auth-Token": "mockline"},
            json={"customerId": HOSTILE + "E" * 2000},
        ).status_code
        == 200
    )
    rig.http.post("/__admin/clock/advance", json={"seconds": 3600})
    phone = {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True}
    rig.browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", phone)  # type: ignore[attr-defined]
    for path in PAGES[:-1]:  # every page the hostile-content test reads over HTTP, but the 404
        rig.open(path)
        rig.browser.execute_script(
            "document.querySelectorAll('details').forEach(d => d.open = true)"  # the answers, the journal
        )
        xss, csp, width, page = rig.browser.execute_script(
            "return [window.__xss, window.__csp, window.innerWidth, document.documentElement.scrollWidth]"
        )
        assert xss is None, f"{path}: injected script ran ({xss})"
        assert csp == [], f"{path}: the page breaks its own content security policy: {csp}"
        assert page <= width, f"{path} scrolls sideways on a phone ({page} px for {width})"
    # a live refresh swaps fresh content in: what it brings runs nothing either
    rig.open("/dashboard/requests")
    count = "return document.querySelectorAll('li[data-request]').length"
    before = rig.browser.execute_script(count)
    assert rig.http.post(PUSH, headers=RYNG, json=lead).status_code == 200
    WebDriverWait(rig.browser, WAIT).until(lambda b: b.execute_script(count) > before)
    assert rig.browser.execute_script("return [window.__xss, window.__csp]") == [None, []]
    assert rig.not_reloaded()


def test_pages_left_behind_free_their_event_stream_and_back_reconnects(rig: Rig) -> None:
    """A page the browser keeps for "back" must not keep its stream: after six such (the browser's
    connections per host) the next page would wait for one to time out, a minute."""
    bus = rig.app.runtime.events
    for n in range(8):
        path = ("/", "/dashboard/calls", "/dashboard/deliveries", "/dashboard/faults")[n % 4]
        started = time.monotonic()
        rig.open(path)
        took = time.monotonic() - started
        assert took < 10, f"page {n + 1} ({path}) took {took:.0f} s to open"
        WebDriverWait(rig.browser, WAIT).until(lambda _b: len(bus.subscribers) == 1)

    def connected(browser: WebDriver) -> bool:
        return bool(browser.execute_script("return document.body.classList.contains('connected')"))

    rig.browser.back()  # /dashboard/deliveries
    rig.browser.back()  # /dashboard/calls, perhaps from the browser's back-forward cache
    assert rig.browser.current_url.endswith("/dashboard/calls")
    WebDriverWait(rig.browser, WAIT).until(connected)
    WebDriverWait(rig.browser, WAIT).until(lambda _b: len(bus.subscribers) == 1)
    rig.push()  # the page came back following the mock live
    assert "+919845555000" in rig.wait_for('tr[data-call="1"]')


def test_with_an_admin_token_the_page_acts_through_its_cookie_and_holds_no_token() -> None:
    """The token is asked once (``?token=``) and kept in an HttpOnly cookie; the page's own calls to the
    control plane go with that cookie, so no page (and no script on it) holds the token."""
    app = create_app(TokenSettings(clock="manual", rate_limit=False, seed=7))
    with serving(app) as url, httpx.Client(base_url=url, timeout=15) as http:
        browser = _browser()
        try:
            rig = Rig(url, "", Sink(), app, browser, http)
            rig.open("/dashboard/calls?token=s3cret")
            assert "s3cret" not in browser.page_source
            assert browser.execute_script("return document.cookie") == ""  # HttpOnly: no script reads it
            rig.click("button", "+10 min")
            rig.wait_for(".status", "Clock: 2026-01-05T09:10:00.000Z")
            clock = http.get("/__admin/clock", headers={"authorization": "Bearer s3cret"}).json()
            assert clock["now"] == "2026-01-05T09:10:00.000Z"
        finally:
            browser.quit()
