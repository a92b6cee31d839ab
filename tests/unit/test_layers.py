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
HTTP_LIBRARIES = ("connexion", "starlette", "httpx", "uvicorn", "h11", "httpcore", "aiohttp")
NETWORK = ("socket", "ssl")
# contracts/model.py and the modules it reads specs with: the one door of contracts/ the mock may use.
SPEC_LAYER = (
    "contracts.model",
    "contracts.loaders",
    "contracts.oas30",
    "contracts.errors",
    "contracts.errorshape",
    "contracts.export",
    "contracts.patterns",
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
        "mockserver/core/ opens no sockets and resolves no names",
        lambda m: within(m, ("mockserver.core",)),
        lambda i: within(i, NETWORK),
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
        "the spec layer (model, loaders, oas30, errorshape, export, errors, patterns) imports nothing of ours above it",
        lambda m: within(m, SPEC_LAYER),
        lambda i: within(i, ("mockserver", "contracts")) and not within(i, SPEC_LAYER) and i != "contracts",
    ),
    Rule(
        "the spec layer imports no HTTP library",
        lambda m: within(m, SPEC_LAYER),
        lambda i: within(i, HTTP_LIBRARIES),
    ),
    Rule(
        "contracts/loaders.py imports nothing of ours but contracts/errors.py",
        lambda m: m == "contracts.loaders",
        lambda i: within(i, ("mockserver", "contracts")) and not within(i, ("contracts.errors",)),
    ),
)


def offending(
    folder: Path, forbidden: tuple[str, ...], allowed_files: tuple[str, ...] = ()
) -> dict[str, list[str]]:
    """Each file under ``folder`` that imports a forbidden module, with what it imports (absolute
    imports only: a folder outside our tree has no package to resolve relative ones against)."""
    out = {}
    for path in sorted(folder.rglob("*.py")):
        if path.name in allowed_files:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names} | {
            n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module and not n.level
        }
        bad = sorted(m for m in imported if within(m, forbidden))
        if bad:
            out[path.name] = bad
    return out


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
        "mockserver.core.dials imports socket: mockserver/core/ opens no sockets and resolves no names",
        "mockserver.core.leaks imports starlette.requests: mockserver/core/ imports no HTTP library",
        "mockserver.core.reads_specs imports contracts: mockserver/core/ imports nothing of contracts/",
        "mockserver.handlers.checks_itself imports contracts.checks: "
        "mockserver/ (but cli.py) imports of contracts/ only contracts/model.py",
        "mockserver.handlers.checks_itself imports contracts.loaders: "
        "mockserver/ (but cli.py) imports of contracts/ only contracts/model.py",
        "mockserver.handlers.checks_itself imports contracts.workflows: "
        "mockserver/ (but cli.py) imports of contracts/ only contracts/model.py",
        "contracts.loaders imports contracts.oas30: contracts/loaders.py imports nothing of ours but contracts/errors.py",
        "contracts.model imports contracts.checks: "
        "the spec layer (model, loaders, oas30, errorshape, export, errors, patterns) imports nothing of ours above it",
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


# --- one reader of specs ---------------------------------------------------------------------------------

SPEC_KEYS = ("$ref", "paths", "callbacks", "x-webhooks")
# Reading one of these keys outside contracts/model.py is a second resolver or walker, except here:
READERS_ALLOWED = {
    (
        "contracts/runner.py",
        "paths",
    ): "deletes from the raw document the operations the model's walk left out",
    ("contracts/export.py", "x-webhooks"): "renames x-webhooks to 3.1 webhooks in the document it writes",
    ("contracts/export.py", "$ref"): "points shared callbacks at their 3.1 place in the document it writes",
    ("mockserver/journal.py", "urlencode"): "writes a received query string back with its secrets redacted",
    ("mockserver/dashboard/__init__.py", "urlencode"): "writes the dashboard's own filter links",
    ("mockserver/dashboard/curl.py", "urlencode"): "writes a recorded form body back, as received, for curl",
}


def spec_readers(root: Path) -> list[str]:
    """Where code outside contracts/model.py reads a spec's ``$ref``, ``paths``, ``callbacks`` or
    ``x-webhooks`` itself (``d["paths"]``, ``d.get("$ref")``, ``d.pop("x-webhooks")``), or imports
    ``urlencode`` (the model's ``form_encode`` is the one form and query encoder)."""
    found = []
    for top in ("mockserver", "contracts"):
        for path in sorted((root / top).rglob("*.py")):
            where = path.relative_to(root).as_posix()
            if where == "contracts/model.py":
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                key = None
                if (
                    isinstance(node, ast.Subscript)
                    and isinstance(node.ctx, ast.Load)
                    and isinstance(node.slice, ast.Constant)
                ):
                    key = node.slice.value
                elif (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in {"get", "pop", "setdefault"}
                    and node.args
                    and isinstance(node.args[0], ast.Constant)
                ):
                    key = node.args[0].value
                elif (
                    isinstance(node, ast.ImportFrom)
                    and any(a.name == "urlencode" for a in node.names)
                    and (where, "urlencode") not in READERS_ALLOWED
                ):
                    found.append(f"{where}:{node.lineno} imports urlencode")
                if key in SPEC_KEYS and (where, key) not in READERS_ALLOWED:
                    found.append(f"{where}:{node.lineno} reads {key!r}")
    return found


def test_only_the_contract_model_resolves_walks_and_encodes() -> None:
    assert spec_readers(ROOT) == []


def test_the_spec_reader_check_finds_a_second_walker(tmp_path: Path) -> None:
    (tmp_path / "contracts").mkdir()
    (tmp_path / "mockserver").mkdir()
    (tmp_path / "contracts" / "walker.py").write_text(
        "from urllib.parse import urlencode\n"
        "def walk(doc):\n"
        "    for item in doc.get('paths', {}).values():\n"
        "        for op in item.values():\n"
        "            yield op['callbacks'], doc.get('$ref')\n"
        "    doc['$ref'] = '#/written'\n"
    )
    (tmp_path / "contracts" / "model.py").write_text("def walk(doc):\n    return doc['paths']\n")
    assert spec_readers(tmp_path) == [
        "contracts/walker.py:1 imports urlencode",
        "contracts/walker.py:3 reads 'paths'",
        "contracts/walker.py:5 reads 'callbacks'",
        "contracts/walker.py:5 reads '$ref'",
    ]
