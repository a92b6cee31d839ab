"""The layers ARCHITECTURE.md draws, checked on the imports themselves.

Each rule below is one sentence of ARCHITECTURE.md ("Layers and imports"); ``violations`` applies every
rule to a source tree. It must find nothing in ours, and it must find each rule broken in
``tests/fixtures/layers/misplaced``, a tree of deliberately misplaced imports (one file per rule).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MISPLACED = ROOT / "tests" / "fixtures" / "layers" / "misplaced"
HTTP_LIBRARIES = ("connexion", "starlette", "httpx", "uvicorn", "h11")
# contracts/model.py and the modules it reads specs with: the one door of contracts/ the mock may use.
SPEC_LAYER = (
    "contracts.model",
    "contracts.loaders",
    "contracts.oas30",
    "contracts.errorshape",
    "contracts.export",
)
MOCK_MAY_IMPORT = ("contracts.model",)


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(root: Path, path: Path) -> set[str]:
    """Every module a file imports, relative imports made absolute; ``from a import b`` counts as both ``a``
    and ``a.b`` (``b`` may be a module: ``from contracts import checks``)."""
    package = module_name(root, path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            if node.module is not None:
                found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


@dataclass(frozen=True)
class Rule:
    says: str  # the sentence in ARCHITECTURE.md
    applies: Callable[[str], bool]  # to which of our modules
    forbidden: Callable[[str], bool]  # which imports it may not have


RULES = (
    Rule(
        "mockserver/core/ imports no HTTP library",
        lambda m: within(m, ("mockserver.core",)),
        lambda i: within(i, HTTP_LIBRARIES),
    ),
    Rule(
        "mockserver/core/ imports nothing of mockserver outside core",
        lambda m: within(m, ("mockserver.core",)),
        lambda i: within(i, ("mockserver",)) and not within(i, ("mockserver.core",)),
    ),
    Rule(
        "mockserver/core/ imports nothing of contracts/",
        lambda m: within(m, ("mockserver.core",)),
        lambda i: within(i, ("contracts",)),
    ),
    Rule(
        "mockserver/ (but cli.py) imports of contracts/ only contracts/model.py",
        lambda m: within(m, ("mockserver",)) and m != "mockserver.cli",
        lambda i: within(i, ("contracts",)) and not within(i, MOCK_MAY_IMPORT) and i != "contracts",
    ),
    Rule(
        "contracts/ never imports mockserver (but pytest_plugin.py)",
        lambda m: within(m, ("contracts",)) and m != "contracts.pytest_plugin",
        lambda i: within(i, ("mockserver",)),
    ),
    Rule(
        "the spec layer (model, loaders, oas30, errorshape, export) imports nothing of ours above it",
        lambda m: within(m, SPEC_LAYER),
        lambda i: within(i, ("mockserver", "contracts")) and not within(i, SPEC_LAYER) and i != "contracts",
    ),
    Rule(
        "the spec layer imports no HTTP library",
        lambda m: within(m, SPEC_LAYER),
        lambda i: within(i, HTTP_LIBRARIES),
    ),
    Rule(
        "contracts/loaders.py imports nothing of ours",
        lambda m: m == "contracts.loaders",
        lambda i: within(i, ("mockserver", "contracts")),
    ),
)


def violations(root: Path) -> list[str]:
    """``module imports what: the rule it breaks`` for every file under root's mockserver/ and contracts/."""
    found = []
    for top in ("mockserver", "contracts"):
        for path in sorted((root / top).rglob("*.py")):
            module = module_name(root, path)
            imported = imports_of(root, path)
            for rule in RULES:
                if rule.applies(module):
                    bad = sorted(i for i in imported if rule.forbidden(i))
                    bad = [i for i in bad if not any(i.startswith(j + ".") for j in bad)]  # a, not also a.b
                    found += [f"{module} imports {i}: {rule.says}" for i in bad]
    return found


def test_our_code_keeps_every_rule() -> None:
    assert violations(ROOT) == []


def test_each_rule_rejects_its_misplaced_import() -> None:
    found = violations(MISPLACED)
    broken = {line.split(": ", 1)[1] for line in found}
    assert broken == {rule.says for rule in RULES}, "a rule no misplaced import proves"
    assert found == [
        "mockserver.core.climbs imports mockserver.app: "
        "mockserver/core/ imports nothing of mockserver outside core",
        "mockserver.core.climbs imports mockserver.handlers: "
        "mockserver/core/ imports nothing of mockserver outside core",
        "mockserver.core.leaks imports starlette.requests: mockserver/core/ imports no HTTP library",
        "mockserver.core.reads_specs imports contracts: mockserver/core/ imports nothing of contracts/",
        "mockserver.handlers.checks_itself imports contracts.checks: "
        "mockserver/ (but cli.py) imports of contracts/ only contracts/model.py",
        "mockserver.handlers.checks_itself imports contracts.loaders: "
        "mockserver/ (but cli.py) imports of contracts/ only contracts/model.py",
        "mockserver.handlers.checks_itself imports contracts.workflows: "
        "mockserver/ (but cli.py) imports of contracts/ only contracts/model.py",
        "contracts.loaders imports contracts.oas30: contracts/loaders.py imports nothing of ours",
        "contracts.model imports contracts.checks: "
        "the spec layer (model, loaders, oas30, errorshape, export) imports nothing of ours above it",
        "contracts.model imports httpx: the spec layer imports no HTTP library",
        "contracts.starts_the_mock imports mockserver.app: "
        "contracts/ never imports mockserver (but pytest_plugin.py)",
    ]


def test_architecture_states_exactly_the_rules_enforced_here() -> None:
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    section = text.split("### Layers and imports", 1)[1].split("\n\n")
    listed = next(part for part in section if part.startswith("- "))
    stated = [line[2:] for line in listed.splitlines()]
    assert stated == [rule.says for rule in RULES]
