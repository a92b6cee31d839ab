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
    not_applicable: int = 0  # answers the check had nothing to judge on

    @property
    def verdict(self) -> str:
        if self.failed:
            return "FAIL"
        return "ok" if self.passed else "n/a"


@dataclass
class Inconclusive:
    """Something the run could not judge, and why: the run is then not conformant (exit code 3)."""

    scope: str  # "operation" | "phase" | "link" | "workflow"
    name: str  # "GET /contacts", "fuzzing", "createThing -> getThing (GetThing)" or a workflowId
    reason: str
    counts: dict[str, int] = field(default_factory=dict)  # answers by status class, credentials refused


@dataclass
class LeftOut:
    """Something the run was told to leave out, and by what: named in every report, never counted as
    tested (a run that left something out is conformant only in what it tested)."""

    kind: str  # "phase" | "operation" | "check" | "workflow"
    name: str  # "negative", "POST /contacts", "auth_failure_status" or a workflowId
    reason: str  # the option that left it out: "--exclude-checks", "not named by --operation createContact"


LEFT_OUT_KINDS = ("phase", "operation", "check", "workflow")  # the order reports name them in
_LISTED = 6  # a kind with more left out than this is counted in the verdict line, not listed


@dataclass
class FollowUp:
    """A request one of mockline's checks built on its own, with the exact URL it was sent to."""

    check: str
    operation: str  # the operation whose answer the check was judging
    method: str
    url: str
    status: int
    phase: str = ""


@dataclass
class Exchange:
    """One request and its answer, as ``--report-har`` writes it."""

    started: str  # ISO 8601
    phase: str
    source: str  # "schemathesis" or the check that sent it
    method: str
    url: str
    request_headers: list[tuple[str, str]]
    request_body: bytes | None
    status: int
    response_headers: list[tuple[str, str]]
    response_body: bytes  # its start, when the answer was longer (``response_size``)
    elapsed_ms: float
    http_version: str = "HTTP/1.1"
    response_size: int | None = None  # bytes the answer's body had, when more than were kept


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
    inconclusive: list[Inconclusive] = field(default_factory=list)
    follow_ups: list[FollowUp] = field(default_factory=list)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # operation -> status class -> answers
    phase_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    rate_limit: str | None = None  # the pacing the run was given ("60/m")
    left_out: list[LeftOut] = field(default_factory=list)  # what the run's options left out

    def leave_out(self, kind: str, name: str, reason: str) -> None:
        """Say that the run left ``name`` out (once each), and why."""
        if not any((item.kind, item.name) == (kind, name) for item in self.left_out):
            self.left_out.append(LeftOut(kind, name, reason))

    def left_out_summary(self) -> str:
        """What the run left out, in a few words: ``checks auth_failure_status, auth_failure_message``;
        a kind with many names is counted (``20 checks (not in --checks auth_failure_status)``)."""
        parts: list[str] = []
        for kind in LEFT_OUT_KINDS:
            items = [item for item in self.left_out if item.kind == kind]
            if not items:
                continue
            plural = f"{kind}s" if len(items) > 1 else kind
            if len(items) <= _LISTED:
                parts.append(f"{plural} {', '.join(item.name for item in items)}")
            else:
                reasons = {item.reason for item in items}
                why = f" ({reasons.pop()})" if len(reasons) == 1 else ""
                parts.append(f"{len(items)} {plural}{why}")
        return "; ".join(parts)

    def record(self, operation: str, check: str, ok: bool | None) -> None:
        """Count one judgement of ``check`` on ``operation``: passed, failed, or None (not applicable)."""
        row = self.rows.get((operation, check))
        if row is None:
            row = self.rows[(operation, check)] = Row(operation, check)
        if ok is None:
            row.not_applicable += 1
        elif ok:
            row.passed += 1
        else:
            row.failed += 1

    def judged(self, operation: str, check: str, ok: bool, violation: Violation | None) -> list[Violation]:
        """One judgement of a phase: its row counted, its violation (if any) kept; the violations it added
        (none when one like it was kept already), for the phase's ``tested`` event."""
        self.record(operation, check, ok)
        return [violation] if violation is not None and self.add_violation(violation) else []

    def add_violation(self, violation: Violation) -> bool:
        """Keep the first of each (operation, rule, title); say whether it was new."""
        if any(v.key == violation.key for v in self.violations):
            return False
        self.violations.append(violation)
        return True

    @property
    def conformant(self) -> bool:
        return not self.violations and not self.errors and not self.inconclusive

    @property
    def verdict(self) -> str:
        """``conformant``, ``N violation(s)``, ``errors`` or ``inconclusive``, as the reports word it; a run
        that left something out is ``conformant in what it tested``, never plain ``conformant``."""
        if self.violations:
            return f"{len(self.violations)} violation(s)"
        if self.errors:
            return "errors"
        if self.inconclusive:
            return "inconclusive"
        return "conformant in what it tested" if self.left_out else "conformant"

    @property
    def broken_rules(self) -> set[str]:
        return {v.rule for v in self.violations}

    def exit_code(self) -> int:
        """0 conformant, 1 violations, 2 the run could not start or broke off, 3 inconclusive."""
        if self.violations:
            return 1
        if self.errors:
            return 2
        return 3 if self.inconclusive else 0

    def operations(self) -> list[str]:
        return sorted(
            {op for op, _ in self.rows}
            | {v.operation for v in self.violations}
            | {i.name for i in self.inconclusive if i.scope == "operation"}
        )

    def checks(self) -> list[str]:
        return sorted({check for _, check in self.rows} | {v.rule for v in self.violations})

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "target": self.target,
            "url": self.url,
            "seed": self.seed,
            "conformant": self.conformant,
            "verdict": self.verdict,
            "exit_code": self.exit_code(),
            "duration_seconds": round(self.duration_seconds, 3),
            "requests": self.requests,
            "table": [
                {**asdict(row), "verdict": row.verdict}
                for row in sorted(self.rows.values(), key=lambda r: (r.operation, r.check))
            ],
            "violations": [asdict(v) for v in self.violations],
            "inconclusive": [asdict(i) for i in self.inconclusive],
            "follow_ups": [asdict(f) for f in self.follow_ups],
            "answers": {"by_operation": self.counts, "by_phase": self.phase_counts},
            "rate_limit": self.rate_limit,
            "narrowed": bool(self.left_out),
            "left_out": [asdict(item) for item in self.left_out],
            "errors": list(self.errors),
            "versions": dict(self.versions),
        }
