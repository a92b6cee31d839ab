"""The layers ARCHITECTURE.md draws, checked on the imports themselves."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HTTP_LIBRARIES = ("connexion", "starlette", "httpx", "uvicorn")


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def offending(
    folder: Path, forbidden: tuple[str, ...], allowed_files: tuple[str, ...] = ()
) -> dict[str, list[str]]:
    """Each file under ``folder`` that imports a forbidden module, with what it imports."""
    out = {}
    for path in sorted(folder.rglob("*.py")):
        if path.name in allowed_files:
            continue
        bad = sorted(m for m in imports_of(path) if any(m == f or m.startswith(f + ".") for f in forbidden))
        if bad:
            out[path.name] = bad
    return out


def test_the_engine_has_no_http_in_it() -> None:
    assert (
        offending(
            ROOT / "mockserver" / "core",
            (
                *HTTP_LIBRARIES,
                "mockserver.app",
                "mockserver.handlers",
                "mockserver.dashboard",
                "mockserver.sse",
            ),
        )
        == {}
    )


def test_contracts_never_import_the_mock_except_the_pytest_plugin() -> None:
    assert offending(ROOT / "contracts", ("mockserver",), allowed_files=("pytest_plugin.py",)) == {}


def test_the_checker_finds_a_forbidden_import_and_passes_a_clean_one(tmp_path: Path) -> None:
    (tmp_path / "leaky.py").write_text(
        "import httpx\nfrom starlette.requests import Request\nfrom . import sibling\n"
    )
    (tmp_path / "clean.py").write_text("import json\nfrom httpxtra import thing\n")
    assert offending(tmp_path, HTTP_LIBRARIES) == {"leaky.py": ["httpx", "starlette.requests"]}
