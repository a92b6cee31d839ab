"""One exception root per package, and its module's docstring draws every exception under it."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import types

import pytest

import contracts
import mockserver
import mockserver.core
from contracts.errors import ContractsError
from mockserver.core.errors import CoreError
from mockserver.errors import MocklineError

# checks.Violated is a Schemathesis Failure: a finding Schemathesis catches and reports, not an error.
NOT_YET = ("schemathesis.core.failures.Failure",)


def modules_of(package: types.ModuleType, skip: str | None = None) -> list[types.ModuleType]:
    found = [package]
    for info in pkgutil.walk_packages(package.__path__, prefix=package.__name__ + "."):
        if skip is None or not (info.name == skip or info.name.startswith(skip + ".")):
            found.append(importlib.import_module(info.name))
    return found


def exceptions_in(modules: list[types.ModuleType]) -> list[type[BaseException]]:
    """The exception classes each module defines itself (not those it imports)."""
    return [
        cls
        for module in modules
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if cls.__module__ == module.__name__ and issubclass(cls, BaseException)
    ]


def strays(classes: list[type[BaseException]], root: type[BaseException]) -> list[str]:
    def exempt(cls: type) -> bool:
        return any(f"{base.__module__}.{base.__qualname__}" in NOT_YET for base in cls.__mro__)

    return sorted(
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in classes
        if not issubclass(cls, root) and not exempt(cls)
    )


def undrawn(classes: list[type[BaseException]], root: type[BaseException]) -> list[str]:
    tree = inspect.getmodule(root).__doc__ or ""  # type: ignore[union-attr]
    return sorted(
        cls.__qualname__
        for cls in classes
        if issubclass(cls, root) and not re.search(rf"\b{re.escape(cls.__qualname__)}\b", tree)
    )


PACKAGES = [
    (mockserver, "mockserver.core", MocklineError),
    (mockserver.core, None, CoreError),
    (contracts, None, ContractsError),
]


@pytest.mark.parametrize(("package", "skip", "root"), PACKAGES, ids=lambda p: getattr(p, "__name__", None))
def test_every_exception_of_a_package_has_its_root_and_is_drawn(
    package: types.ModuleType, skip: str | None, root: type[BaseException]
) -> None:
    classes = exceptions_in(modules_of(package, skip))
    assert root in classes
    assert strays(classes, root) == []
    assert undrawn(classes, root) == []


def test_the_checks_find_a_stray_and_an_undrawn_exception() -> None:
    module = types.ModuleType("fake_pkg.thing")
    exec(
        "from mockserver.errors import MocklineError\n"
        "class Stray(ValueError): pass\n"
        "class Hidden(MocklineError): pass\n"
        "class ApiErrorChild(MocklineError): pass\n",
        module.__dict__,
    )
    for cls in (module.Stray, module.Hidden, module.ApiErrorChild):
        cls.__module__ = module.__name__
    classes = exceptions_in([module])
    assert strays(classes, MocklineError) == ["fake_pkg.thing.Stray"]
    assert undrawn(classes, MocklineError) == ["ApiErrorChild", "Hidden"]
