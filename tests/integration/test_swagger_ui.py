"""Swagger UI at /<prefix>/ui/ renders Ringotel's and ringme's events, read from the 3.1 export.

A headless Chromium loads the page and prints the DOM once the scripts have run. The same Swagger UI
pointed at the 3.0 document (where the events can only be `x-webhooks` or callbacks) shows none of
them: that is the defect this page fixes, and the check must see it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from contracts.pytest_plugin import MockServer

pytestmark = pytest.mark.slow

EVENTS = {
    "ringotel-crm": [
        "A call started (Ringotel webhook integration)",
        "A call ended (Ringotel webhook integration)",
    ],
    "ringme": [
        "Agent status change sent as a GET query string",
        "Agent status change sent as a form-encoded POST body",
    ],
}


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("chromium is missing: `make system-tools` installs it")
    return found


def rendered(url: str, profile: Path) -> str:
    run = subprocess.run(
        [
            _chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-web-security",  # lets the local test page below read the 3.0 document
            f"--user-data-dir={profile}",
            "--virtual-time-budget=20000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return run.stdout


@pytest.mark.parametrize("api", sorted(EVENTS))
def test_swagger_ui_shows_the_webhooks_from_the_31_document(
    api: str, mock_server: MockServer, tmp_path: Path
) -> None:
    base = mock_server.url_for(api)
    document = httpx.get(f"{base}/openapi-3.1.json", timeout=30).json()
    assert document["openapi"] == "3.1.0" and document["webhooks"]
    assert document["servers"] == [{"url": urlsplit(base).path}], "Try it out goes to the mock"
    page = httpx.get(f"{base}/ui/", timeout=30)
    assert page.status_code == 200 and "openapi-3.1.json" in page.text
    assert "5." in httpx.get(f"{base}/ui/swagger-ui-bundle.js", timeout=30).text[:100_000]
    dom = rendered(f"{base}/ui/", tmp_path / "profile")
    assert "Webhooks" in dom
    for summary in EVENTS[api]:
        assert summary in dom


def test_the_same_ui_over_the_30_document_shows_no_events(mock_server: MockServer, tmp_path: Path) -> None:
    base = mock_server.url_for("ringme")
    page = httpx.get(f"{base}/ui/", timeout=30).text
    local = tmp_path / "ui.html"
    spec_31 = f'"{urlsplit(base).path}/openapi-3.1.json"'
    assert spec_31 in page
    local.write_text(
        page.replace("./", f"{base}/ui/").replace(spec_31, f'"{base}/openapi.json"'), encoding="utf-8"
    )
    dom = rendered(local.as_uri(), tmp_path / "profile")
    assert "Subscribe to a local agent" in dom, "the page rendered the 3.0 document's operations"
    for summary in EVENTS["ringme"]:
        assert summary not in dom
