"""Find and load the OpenAPI documents that ship with mockline.

The specs live in the source tree's top-level ``specs/`` folder; a built wheel carries the same files as
``contracts/_specs``. Callers name a spec (``ryng``) or give a path to any OpenAPI file.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from pathlib import Path
from typing import Any

import yaml

from contracts.errors import ContractsError

_PACKAGED = Path(__file__).parent / "_specs"
_SOURCE_TREE = Path(__file__).resolve().parent.parent / "specs"

_YAML_BASE: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: ~10x faster


class _YAML_LOADER(_YAML_BASE):
    """Safe YAML that refuses a key written twice in one mapping: PyYAML keeps the last silently, so a
    spec with two ``security`` lists would lose one without a word (YAML 1.2 forbids duplicates)."""

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, str | int | float | bool) and key in seen:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    f"the key {key!r} is written twice",
                    key_node.start_mark,
                )
            if isinstance(key, str | int | float | bool):
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


VENDOR_SPECS = ("ryng", "diyalog", "ringotel-crm", "ringme")
ADMIN_SPEC = "mockline-admin"
WORKFLOWS_SUFFIX = ".arazzo.yaml"  # an API's behavioural contract (Arazzo), beside its spec


class SpecNotFound(ContractsError, LookupError):
    """Raised when a spec name is not one of ours and is not a readable file either."""


def specs_dir() -> Path:
    """The folder holding our specs, whether installed from a wheel or run from a checkout."""
    for candidate in (_PACKAGED, _SOURCE_TREE):
        if (candidate / f"{ADMIN_SPEC}.yaml").is_file():
            return candidate
    raise SpecNotFound(f"mockline's specs are missing: looked in {_PACKAGED} and {_SOURCE_TREE}")


def spec_names() -> list[str]:
    """Names of every spec that ships with mockline, vendor APIs first."""
    present = {p.stem for p in specs_dir().glob("*.yaml") if not p.name.endswith(WORKFLOWS_SUFFIX)}
    ordered = [n for n in (*VENDOR_SPECS, ADMIN_SPEC) if n in present]
    return ordered + sorted(present - set(ordered))


def spec_path(name_or_path: str | Path) -> Path:
    """Resolve a spec name (``ryng``) or a file path to the document's path."""
    candidate = Path(name_or_path)
    if candidate.suffix in {".yaml", ".yml", ".json"} and candidate.is_file():
        return candidate
    named = specs_dir() / f"{name_or_path}.yaml"
    if named.is_file():
        return named
    raise SpecNotFound(
        f"no spec named {str(name_or_path)!r}: use one of {', '.join(spec_names())} or a path to an OpenAPI file"
    )


@functools.lru_cache(maxsize=32)
def _load_cached(path: Path, mtime: float) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    try:
        document = json.loads(text) if path.suffix == ".json" else yaml.load(text, Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        raise SpecNotFound(f"{path} is not readable YAML: {exc}") from None
    if not isinstance(document, dict):
        raise SpecNotFound(f"{path} is not an OpenAPI document (its top level is not a mapping)")
    return document


def load_spec(name_or_path: str | Path) -> dict[str, Any]:
    """The raw document (``$ref`` left as written). Callers get their own copy to change freely."""
    path = spec_path(name_or_path)
    return copy.deepcopy(_load_cached(path, path.stat().st_mtime))


def workflows_path(name: str) -> Path | None:
    """The Arazzo document beside spec ``name`` (``specs/ryng.arazzo.yaml``), if there is one."""
    candidate = Path(name)
    if candidate.suffix in {".yaml", ".yml", ".json"} and candidate.is_file():
        sibling = candidate.with_name(candidate.stem + WORKFLOWS_SUFFIX)
        return sibling if sibling.is_file() else None
    named = specs_dir() / f"{name}{WORKFLOWS_SUFFIX}"
    return named if named.is_file() else None


class _PlainDumper(yaml.SafeDumper):
    """Writes a node used twice out twice (no anchors, no aliases), and quotes every string a YAML 1.2
    reader would take for a number (``08047112233``, which PyYAML's YAML 1.1 rules leave bare)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


_NUMBER_LIKE = re.compile(
    r"[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9]*)?)([eE][-+]?[0-9]+)?|0o[0-7]+|0x[0-9a-fA-F]+"
)


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if _NUMBER_LIKE.fullmatch(value):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="'")
    return dumper.represent_str(value)


_PlainDumper.add_representer(str, _string)


def to_yaml(document: Any) -> str:
    """A document as YAML that every reader takes back as it was: no anchors, number-like strings quoted
    (``mockline export``, and the mock's ``/<prefix>/openapi.yaml``)."""
    return str(yaml.dump(document, Dumper=_PlainDumper, sort_keys=False, allow_unicode=True, width=110))
