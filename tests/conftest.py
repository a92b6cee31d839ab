"""Shared test helpers. Tests that need a server start it themselves on 127.0.0.1 with a free port."""

from __future__ import annotations

pytest_plugins = ["pytester"]
