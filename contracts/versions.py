"""The versions a run depends on: mockline's own and those of the libraries whose behaviour it builds on.

``mockline --version`` prints them, and verify's reports carry them, so that a result can be traced to
the exact environment that produced it (the lock file pins it; a report from elsewhere may differ).
"""

from __future__ import annotations

import platform
from importlib import metadata

# The distributions whose releases change what mockline does: the serving stack, the test generator and
# the validator. Their names as installed (PyPI names).
LIBRARIES = ("connexion", "schemathesis", "openapi-core")


def version_of(distribution: str) -> str:
    """The installed version of a distribution, or ``not installed``."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def collect() -> dict[str, str]:
    """mockline, each of :data:`LIBRARIES` and Python, in that order."""
    versions = {"mockline": version_of("mockline")}
    versions.update((name, version_of(name)) for name in LIBRARIES)
    versions["python"] = platform.python_version()
    return versions


def describe(versions: dict[str, str] | None = None) -> str:
    """One line: ``mockline 0.1.0 (connexion 3.3.0, schemathesis 4.32.5, openapi-core 0.23.1, python 3.11.7)``."""
    found = dict(versions if versions is not None else collect())
    own = found.pop("mockline", "unknown")
    return f"mockline {own} (" + ", ".join(f"{name} {value}" for name, value in found.items()) + ")"
