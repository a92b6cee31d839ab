"""What a verification found, as plain data: the conformance table and the violations.

``verify`` and ``verify-receiver`` both produce a :class:`Report`; the terminal, JUnit, HTML and JSON
reporters only read it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from contracts import versions as _versions


@dataclass
class Violation:
    """One broken rule, with what it takes to reproduce it."""

    operation: str  # "POST /contacts" or a callback kind
    rule: str  # the check that caught it: "response_schema_conformance", "vendor_error_envelope", ...
    title: str
    expected: str
    got: str
    message: str = ""
    curl: str = ""
    phase: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.operation, self.rule, self.title)


@dataclass
class Row:
    """How one check fared on one operation."""

    operation: str
    check: str
    passed: int = 0
    failed: int = 0

    @property
    def verdict(self) -> str:
        return "FAIL" if self.failed else "ok"


@dataclass
class Report:
    """The outcome of one ``verify`` or ``verify-receiver`` run."""

    kind: str  # "verify" | "verify-receiver"
    target: str  # spec name or path
    url: str
    seed: int | None = None
    duration_seconds: float = 0.0
    rows: dict[tuple[str, str], Row] = field(default_factory=dict)
    violations: list[Violation] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # problems that stopped part of the run
    requests: int = 0
    versions: dict[str, str] = field(default_factory=_versions.collect)  # mockline, key libraries, Python

    def record(self, operation: str, check: str, ok: bool) -> None:
        row = self.rows.get((operation, check))
        if row is None:
            row = self.rows[(operation, check)] = Row(operation, check)
        if ok:
            row.passed += 1
        else:
            row.failed += 1

    def add_violation(self, violation: Violation) -> bool:
        """Keep the first of each (operation, rule, title); say whether it was new."""
        if any(v.key == violation.key for v in self.violations):
            return False
        self.violations.append(violation)
        return True

    @property
    def conformant(self) -> bool:
        return not self.violations and not self.errors

    @property
    def broken_rules(self) -> set[str]:
        return {v.rule for v in self.violations}

    def exit_code(self) -> int:
        if self.violations:
            return 1
        return 2 if self.errors else 0

    def operations(self) -> list[str]:
        return sorted({op for op, _ in self.rows} | {v.operation for v in self.violations})

    def checks(self) -> list[str]:
        return sorted({check for _, check in self.rows} | {v.rule for v in self.violations})

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "target": self.target,
            "url": self.url,
            "seed": self.seed,
            "conformant": self.conformant,
            "exit_code": self.exit_code(),
            "duration_seconds": round(self.duration_seconds, 3),
            "requests": self.requests,
            "table": [
                {**asdict(row), "verdict": row.verdict}
                for row in sorted(self.rows.values(), key=lambda r: (r.operation, r.check))
            ],
            "violations": [asdict(v) for v in self.violations],
            "errors": list(self.errors),
            "versions": dict(self.versions),
        }
