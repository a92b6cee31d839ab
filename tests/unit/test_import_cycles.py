"""No module of ours imports itself in a circle, not even for type checking only.

The handler registry used to live on ``Runtime``: ``runtime.py`` imported ``mockserver.handlers`` for the
``Handler`` type, and ``handlers/__init__.py`` imported ``Runtime`` back under ``TYPE_CHECKING``. The
circle is checked on the source (every import statement, guarded or not) and by importing the modules
that formed it, each alone in a fresh interpreter.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("mockserver", "contracts")


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph(root: Path, packages: tuple[str, ...] = PACKAGES) -> dict[str, set[str]]:
    """module -> the modules of ours it imports anywhere in its source (also inside functions and
    ``if TYPE_CHECKING:`` blocks)."""
    files = {module_name(p, root): p for pkg in packages for p in sorted((root / pkg).rglob("*.py"))}
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in files else base
                    for alias in node.names
                ]
            for target in targets:
                while target and target not in files:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_of_ours_imports_in_a_circle() -> None:
    assert cycles(import_graph(ROOT)) == []


def test_the_cycle_finder_finds_a_type_checking_circle(tmp_path: Path) -> None:
    pkg = tmp_path / "mockserver"
    (pkg / "handlers").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "runtime.py").write_text("from mockserver.handlers import Handler\n")
    (pkg / "handlers" / "__init__.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from mockserver.runtime import Runtime\n"
    )
    (pkg / "handlers" / "ryng.py").write_text("from . import HandlerSet\nfrom ..runtime import Runtime\n")
    (pkg / "clean.py").write_text("import json\nfrom mockserver import runtime\n")
    graph = import_graph(tmp_path, ("mockserver",))
    assert graph["mockserver.handlers.ryng"] == {"mockserver.handlers", "mockserver.runtime"}
    assert graph["mockserver.clean"] == {"mockserver.runtime"}
    assert cycles(graph) == [["mockserver.handlers", "mockserver.runtime"]]


@pytest.mark.parametrize("module", ["mockserver.runtime", "mockserver.handlers", "mockserver.registry"])
def test_each_module_of_the_old_circle_imports_alone(module: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", f"import {module}"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
