"""The README's pytest plugin example, run as a user's test file, so that it cannot drift."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_plugin_example() -> str:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### pytest plugin") :]
    found = re.search(r"```python\n(.*?)```", section, re.S)
    assert found, "the README's pytest plugin section has no python example"
    return found.group(1)


def test_the_readme_plugin_example_passes_as_written(pytester: pytest.Pytester) -> None:
    example = readme_plugin_example()
    assert "def test_" in example and "mock_server" in example and "callback_sink" in example
    pytester.makepyfile(test_readme=example)
    # In a process of its own: an in-process run drops the modules it imported when it ends, and a later
    # test then met two copies of httpcore (its timeouts no longer became httpx's).
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=1)
