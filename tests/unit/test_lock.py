"""uv.lock agrees with pyproject.toml, and the environment the suite runs in is the locked one.

Two judges of agreement, each shown to reject a pyproject.toml whose range moved without a re-lock:
uv's own (``uv lock --check``, offline) and a plain reading of both files (the ranges that
pyproject.toml asks for are the ranges uv.lock was resolved from, and every locked version meets them).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
UV = ROOT / ".uv" / "bin" / "uv"

# (group, name, extras, specifier): group is "" for the runtime dependencies, else the extra's name.
Wanted = tuple[str, str, frozenset[str], SpecifierSet]


def wanted_by_pyproject(pyproject: dict[str, Any]) -> set[Wanted]:
    project = pyproject["project"]
    groups = {"": project.get("dependencies", []), **project.get("optional-dependencies", {})}
    found = set()
    for group, lines in groups.items():
        for line in lines:
            req = Requirement(line)
            found.add((group, canonicalize_name(req.name), frozenset(req.extras), req.specifier))
    return found


def locked_from(lock: dict[str, Any], project: str) -> tuple[set[Wanted], dict[str, str]]:
    """What the lock was resolved from (its record of the project's requirements), and every pin."""
    pins = {package["name"]: package["version"] for package in lock["package"]}
    (root,) = [p for p in lock["package"] if p["name"] == project]
    found = set()
    for entry in root["metadata"]["requires-dist"]:
        extra = re.search(r"extra == '([^']+)'", entry.get("marker", ""))
        found.add(
            (
                extra.group(1) if extra else "",
                canonicalize_name(entry["name"]),
                frozenset(entry.get("extras", [])),
                SpecifierSet(entry.get("specifier", "")),
            )
        )
    return found, pins


def disagreements(pyproject_path: Path, lock_path: Path) -> list[str]:
    """Each way in which the lock is not the lock of this pyproject.toml; empty when they agree."""
    pyproject = tomllib.loads(pyproject_path.read_text(encoding="utf-8"))
    lock = tomllib.loads(lock_path.read_text(encoding="utf-8"))
    wanted = wanted_by_pyproject(pyproject)
    locked, pins = locked_from(lock, pyproject["project"]["name"])
    problems = [
        f"pyproject.toml asks for {w[1]}{w[3]} ({w[0] or 'runtime'}), not locked" for w in wanted - locked
    ]
    problems += [
        f"uv.lock was resolved for {w[1]}{w[3]} ({w[0] or 'runtime'}), gone" for w in locked - wanted
    ]
    for _group, name, _extras, specifier in wanted:
        if name not in pins:
            problems.append(f"{name} is not in uv.lock")
        elif not specifier.contains(Version(pins[name]), prereleases=True):
            problems.append(f"{name} {pins[name]} is locked, outside {specifier}")
    if lock.get("requires-python") != pyproject["project"].get("requires-python"):
        problems.append("requires-python differs")
    return problems


def uv() -> str:
    if not UV.exists():
        pytest.fail(f"{UV.relative_to(ROOT)} is missing: `make install` puts the pinned uv there")
    return str(UV)


def uv_check(folder: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "UV_NO_PROGRESS": "1"}
    return subprocess.run(
        [uv(), "lock", "--check", "--offline", "--directory", str(folder)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def project_copy(tmp_path: Path, old: str = "", new: str = "") -> Path:
    """pyproject.toml and uv.lock in a folder of their own, with one text of pyproject.toml replaced."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert old in text, old
    (tmp_path / "pyproject.toml").write_text(text.replace(old, new, 1), encoding="utf-8")
    shutil.copy(ROOT / "uv.lock", tmp_path / "uv.lock")
    return tmp_path


# A range loosened (the locked schemathesis still meets it), one tightened past the locked faker, and a
# dependency added: each is a pyproject.toml change that needs `make lock`.
CHANGES = [
    ('"schemathesis>=4.32,<5"', '"schemathesis>=4.30,<5"'),
    ('"faker>=40"', '"faker>=40,<40.1"'),
    ("dependencies = [\n", 'dependencies = [\n  "cowsay>=6",\n'),
]


def test_the_lock_is_the_lock_of_pyproject() -> None:
    assert disagreements(ROOT / "pyproject.toml", ROOT / "uv.lock") == []


def test_uv_finds_the_lock_up_to_date() -> None:
    checked = uv_check(ROOT)
    assert checked.returncode == 0, checked.stderr


@pytest.mark.parametrize(("old", "new"), CHANGES, ids=["loosened", "tightened", "added"])
def test_a_range_changed_without_a_re_lock_is_caught(tmp_path: Path, old: str, new: str) -> None:
    folder = project_copy(tmp_path, old, new)
    assert disagreements(folder / "pyproject.toml", folder / "uv.lock") != []
    checked = uv_check(folder)
    assert checked.returncode != 0
    assert "needs to be updated" in checked.stderr or "unsatisfiable" in checked.stderr, checked.stderr


def test_an_untouched_copy_passes_both_judges(tmp_path: Path) -> None:
    """The copies above fail for their change, not for being copies."""
    folder = project_copy(tmp_path)
    assert disagreements(folder / "pyproject.toml", folder / "uv.lock") == []
    checked = uv_check(folder)
    assert checked.returncode == 0, checked.stderr


def test_the_suite_runs_in_the_locked_environment() -> None:
    """What `make install` put in the venv is uv.lock: every package installed is locked at that version
    (``pip freeze`` shows the same), and uv finds nothing to add or remove (it also weighs the markers of
    locked packages that this Python does not need)."""
    lock = tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))
    locked = {p["name"]: p["version"] for p in lock["package"]}
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}
    assert {
        name: (version, locked.get(name))
        for name, version in installed.items()
        if locked.get(name) != version
    } == {}
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "UV_PROJECT_ENVIRONMENT": sys.prefix}
    checked = subprocess.run(
        [uv(), "sync", "--check", "--locked", "--offline", "--extra", "test", "--extra", "bench"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert checked.returncode == 0, checked.stderr


def test_uv_is_pinned_once() -> None:
    """The uv that make installs is the one pyproject.toml requires (the lock's format is uv's)."""
    pinned = re.search(r"^uv==(\S+)", (ROOT / "tools" / "uv-requirements.txt").read_text(), re.M)
    required = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["uv"]["required-version"]
    assert pinned is not None and required == f"=={pinned.group(1)}"


def exact_pins(requirements: list[str]) -> list[str]:
    """The requirements that pin one version (``==``/``===``): a library must not pin its users."""
    return [r for r in requirements if any(s.operator in ("==", "===") for s in Requirement(r).specifier)]


def test_the_wheel_keeps_ranges_for_its_users() -> None:
    """`pip install mockline` resolves the ranges; only uv.lock pins, and only for this project's own runs."""
    runtime = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert exact_pins(runtime) == []
    assert exact_pins(["faker>=40", "schemathesis==4.32.5", "httpx>=0.28,<1"]) == ["schemathesis==4.32.5"]
