"""Every spec loads where our users will load it: Connexion, openapi-core and Schemathesis."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import connexion
import pytest
import schemathesis
from connexion.resolver import Resolver
from hypothesis import HealthCheck, Phase, given, settings
from openapi_core import OpenAPI

from contracts.loaders import SpecNotFound, load_spec, spec_names, spec_path

ROOT = Path(__file__).resolve().parents[2]


def _noop() -> None:
    return None


@pytest.mark.parametrize("name", spec_names())
def test_connexion_loads_the_spec(name: str) -> None:
    app = connexion.AsyncApp(__name__)
    app.add_api(spec_path(name), resolver=Resolver(lambda _op: _noop))
    stack, _ = app.middleware._build_middleware_stack()
    assert stack is not None


@pytest.mark.parametrize("name", spec_names())
def test_openapi_core_loads_the_spec(name: str) -> None:
    spec = OpenAPI.from_dict(load_spec(name))
    assert spec.spec is not None


@pytest.mark.parametrize("name", spec_names())
def test_schemathesis_generates_a_case_for_every_operation(name: str) -> None:
    schema = schemathesis.openapi.from_dict(load_spec(name))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations, f"{name} has no operations"
    for operation in operations:
        assert _draw_one(operation).operation.label == operation.label


def _draw_one(operation: Any) -> schemathesis.Case:
    """One generated case, without Hypothesis' shrinking (which costs seconds per operation)."""
    drawn: list[schemathesis.Case] = []

    @settings(
        max_examples=1,
        database=None,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def draw(case: schemathesis.Case) -> None:
        drawn.append(case)

    draw()
    assert drawn, f"no case generated for {operation.label}"
    return drawn[0]


def test_the_wheel_carries_the_specs_and_finds_them_without_the_source_tree(tmp_path: Path) -> None:
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("mockline-*.whl")
    unpacked = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        archive.extractall(unpacked)
    for name in spec_names():
        assert f"contracts/_specs/{name}.yaml" in names
    assert "mockserver/config.schema.json" in names, "the config file's schema ships with the package"
    assert "mockserver/core/records.zdict" in names, (
        "so does the dictionary sealed records are compressed with"
    )
    probe = "from contracts.loaders import specs_dir, spec_names; print(specs_dir()); print(','.join(spec_names()))"
    found = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(unpacked)},
    )
    assert found.returncode == 0, found.stderr
    folder, names_line = found.stdout.splitlines()
    assert folder == str(unpacked / "contracts" / "_specs")
    assert names_line.split(",") == spec_names()


def test_a_spec_with_a_key_written_twice_is_refused(tmp_path: Path) -> None:
    """PyYAML keeps the last of two equal keys without a word; our loader refuses the document."""
    text = spec_path("mockline-admin").read_text(encoding="utf-8")
    twice = text.replace("\nsecurity:\n", "\nsecurity: []\nsecurity:\n", 1)
    assert twice != text
    copy = tmp_path / "admin-twice.yaml"
    copy.write_text(twice, encoding="utf-8")
    with pytest.raises(SpecNotFound, match="'security' is written twice"):
        load_spec(copy)
    for name in spec_names():  # every shipped spec has each key once
        load_spec(name)
