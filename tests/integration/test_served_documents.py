"""Each API's spec as the mock serves it at ``/<prefix>/openapi.json`` and ``/<prefix>/openapi.yaml``: the
3.0.3 document as written in ``specs/`` (its ``$ref``s and schema names kept, for client generators),
with ``servers`` pointed at the mock, read here from the file itself."""

from __future__ import annotations

import asyncio
import datetime
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.fixtures.mockline_http import PREFIX, client_for, new_app

SPECS = Path(__file__).resolve().parents[2] / "specs"


def _as_json(document: dict[str, Any]) -> Any:
    """What a JSON reader gets from the document (YAML's dates become text)."""

    def text(value: object) -> str:
        if isinstance(value, datetime.date):
            return value.isoformat()
        raise TypeError(f"{type(value).__name__} in a spec")

    return json.loads(json.dumps(document, default=text))


def _digit_strings(node: Any) -> set[str]:
    if isinstance(node, str):
        return {node} if node.isdigit() else set()
    items = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
    return set().union(*map(_digit_strings, items)) if items else set()


async def _fetch(prefix: str) -> list[httpx.Response]:
    async with client_for(new_app()) as client:
        return [await client.get(prefix + path) for path in ("/openapi.json", "/openapi.yaml")]


@pytest.mark.parametrize("api", sorted(PREFIX))
def test_the_served_document_is_the_spec_as_written_pointed_at_the_mock(api: str) -> None:
    written = yaml.safe_load((SPECS / f"{api}.yaml").read_text(encoding="utf-8"))
    expected = {**written, "servers": [{"url": PREFIX[api]}]}
    as_json, as_yaml = asyncio.run(_fetch(PREFIX[api]))
    assert as_json.status_code == as_yaml.status_code == 200
    assert as_json.headers["content-type"] == "application/json"
    assert as_yaml.headers["content-type"].startswith("text/yaml")
    assert as_json.json() == _as_json(expected)
    assert yaml.safe_load(as_yaml.text) == expected
    # As any reader takes it back: no anchors or aliases, and a number-like string (Ryng's virtual number
    # 08047112233) quoted, which a YAML 1.2 reader (Prism, Redocly, Spectral) would read as a number.
    assert "*id" not in as_yaml.text
    for digits in _digit_strings(written):
        assert f"'{digits}'" in as_yaml.text or f'"{digits}"' in as_yaml.text, digits
    assert '"$ref":"#/components/' in as_json.text  # not written out: the schemas keep their names
