"""Our workflow documents are standard Arazzo: Redocly's ``respect`` runs each one, unchanged, against the
live mock and passes; against a CRM that breaks a rule it fails. The CLI comes from ``make node-tools``
(tools/package.json)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from contracts.loaders import VENDOR_SPECS, specs_dir, workflows_path
from mockserver.app import create_app
from mockserver.settings import Settings
from tests.fixtures import serving
from tests.fixtures.verify.broken import PREFIX, fixture_app

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
REDOCLY = ROOT / "tools" / "node_modules" / ".bin" / "redocly"


def respect(
    document: Path, servers: dict[str, str], inputs: dict[str, Any]
) -> subprocess.CompletedProcess[str]:
    if not REDOCLY.is_file():
        pytest.fail(f"{REDOCLY} is missing: run `make node-tools`")
    env = {**os.environ, "REDOCLY_TELEMETRY": "off", "NO_COLOR": "1", "CI": "true"}
    argv = [
        str(REDOCLY),
        "respect",
        document.name,
        "--server",
        ",".join(f"{k}={v}" for k, v in servers.items()),
    ]
    argv += ["--input", json.dumps(inputs), "--max-fetch-timeout", "20000"]
    return subprocess.run(
        argv, cwd=document.parent, env=env, capture_output=True, text=True, timeout=240, check=False
    )


SOURCE = {"ryng": "ryng", "diyalog": "diyalog", "ringotel-crm": "crm", "ringme": "ringme"}  # in each document


def inputs_for(api: str, root: str) -> dict[str, Any]:
    """The mock's default credentials as each document's inputs, and values for its open inputs."""
    oauth = {"oauthClientId": "mockline", "oauthClientSecret": "mockline"}
    if api == "ringme":
        form = {"grant_type": "client_credentials", "client_id": "mockline", "client_secret": "mockline"}
        token = httpx.post(f"{root}/ringme/oauth/token", data=form).json()["access_token"]
        return {"authorization": f"Bearer {token}", "url": "https://crm.example.com/ringme/abcdefgh", **oauth}
    if api == "ringotel-crm":
        return {"authorization": "Basic bW9ja2xpbmU6bW9ja2xpbmU=", "line": "4821", **oauth}
    if api == "diyalog":
        return {"authToken": "mockline", "customerId": "221122121"}
    return {"accessToken": "mockline", "unknownCallId": 912345678}


def servers_for(api: str, root: str) -> dict[str, str]:
    return {SOURCE[api]: root + PREFIX[api], "mockline-admin": root + "/__admin"}


def workflow_count(path: Path) -> int:
    return len(yaml.safe_load(path.read_text(encoding="utf-8"))["workflows"])


@pytest.mark.parametrize("api", VENDOR_SPECS)
def test_respect_runs_each_workflow_document_unchanged_against_the_mock(api: str) -> None:
    document = workflows_path(api)
    assert document is not None and document.parent == specs_dir()
    with serving(create_app(Settings(clock="manual"))) as root:
        result = respect(document, servers_for(api, root), inputs_for(api, root))
    output = result.stdout + result.stderr
    total = workflow_count(document)
    assert result.returncode == 0, output[-4000:]
    assert re.search(rf"Workflows: {total} passed, {total} total", output), output[-2000:]


def test_respect_fails_a_crm_whose_partial_update_resets_fields() -> None:
    document = workflows_path("ringotel-crm")
    assert document is not None
    with serving(fixture_app("ringotel-crm", "contact_patch_replaces")) as root:
        result = respect(document, servers_for("ringotel-crm", root), inputs_for("ringotel-crm", root))
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert re.search(r"✗ PATCH /contacts/\{contact_id\} - step update", output), output[-3000:]
