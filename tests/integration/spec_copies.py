"""Serving an edited copy of the shipped specs, to see the mock follow what a spec says.

A test edits a value in a copy of ``specs/``, serves the copy and asks the mock over HTTP: the answer
must follow the copy. A value written a second time in code keeps the shipped value and fails. The shipped
value itself is read from the YAML with PyYAML (``shipped``), never with mockline's own readers.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from contracts import loaders
from mockserver.app import MockApp, create_app
from mockserver.settings import Settings


def shipped(api: str) -> dict[str, Any]:
    """The shipped spec, read with PyYAML alone (no loader of ours)."""
    loaded: dict[str, Any] = yaml.safe_load((loaders.specs_dir() / f"{api}.yaml").read_text("utf-8"))
    return loaded


def serve_edited(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    api: str,
    edits: list[tuple[str, str]],
    served: tuple[str, ...] | None = None,
    **settings: Any,
) -> MockApp:
    """A mock serving ``api`` (or the vendor APIs ``served``) from a copy of the specs where each ``old``
    line of the spec of ``api`` (written exactly once there) reads ``new``; ``settings`` (credentials,
    config) go to the mock's ``Settings``."""
    copy = tmp_path / "specs"
    shutil.copytree(loaders.specs_dir(), copy)
    target = copy / f"{api}.yaml"
    text = target.read_text("utf-8")
    for old, new in edits:
        assert text.count(old) == 1, f"{old!r} is not written exactly once in {api}.yaml"
        text = text.replace(old, new)
    target.write_text(text, "utf-8")
    monkeypatch.setattr(loaders, "_PACKAGED", copy)  # the first place specs_dir() looks
    assert loaders.specs_dir() == copy
    apis = (api,) if served is None else served
    mock = Settings(clock="manual", rate_limit=False, seed=7, apis=apis, **settings)
    return create_app(mock, http_client=httpx.AsyncClient())


def edited_messages(api: str, marker: str = "EDITED ") -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Every message of ``api``'s ``x-mockline.messages`` (read with PyYAML) with ``marker`` put in front,
    and the edits that write them so into a copy of the spec."""
    messages = {
        key: text for key, text in shipped(api)["x-mockline"]["messages"].items() if not key.startswith("x-")
    }
    edits = [(f"    {key}: {text}\n", f"    {key}: {marker}{text}\n") for key, text in messages.items()]
    return {key: marker + text for key, text in messages.items()}, edits
