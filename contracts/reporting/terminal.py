"""The terminal side of a run: a progress line per phase while it runs, then the conformance table and
every violation with the rule, what was expected, what came back and a curl command.

What a server answered is shown, never obeyed: :func:`printable` spells out the characters a terminal
would act on (an escape sequence that clears the screen or sets the window title, a carriage return that
writes over the line, an override that reverses what follows) before anything is printed."""

from __future__ import annotations

import re
import sys
from typing import TextIO

from contracts.reporting.model import Report

# C0 controls but the line break and the tab, DEL, C1 controls (U+009B is a CSI on its own), the marks and
# overrides that change the direction of what follows, and lone surrogates (no encoding writes them).
_UNPRINTABLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def printable(text: str) -> str:
    """``text`` with every character a terminal would act on written as its Python escape (``\\x1b``)."""
    return _UNPRINTABLE.sub(lambda found: found.group().encode("unicode_escape").decode("ascii"), text)


class Progress:
    """Prints one line per phase, filled with a mark per scenario (``.`` passed, ``F`` failed)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self._open = False
        self._count = 0
        self._phase = "checks"

    def header(self, text: str) -> None:
        self._end_line()
        print(printable(text), file=self.stream, flush=True)

    def phase(self, name: str) -> None:
        self._end_line()
        print(f"  {name:<12} ", end="", file=self.stream, flush=True)
        self._open = True
        self._phase = name
        self._count = 0

    def tick(self, ok: bool) -> None:
        if not self._open:
            self.phase(self._phase)  # the phase goes on after a note
        if self._count and self._count % 60 == 0:
            print("\n" + " " * 15, end="", file=self.stream)
        print("." if ok else "F", end="", file=self.stream, flush=True)
        self._count += 1

    def note(self, text: str) -> None:
        self._end_line()
        print(f"  ! {printable(text)}", file=self.stream, flush=True)

    def close(self) -> None:
        self._end_line()

    def _end_line(self) -> None:
        if self._open:
            print(file=self.stream, flush=True)
            self._open = False


def _counts(counts: dict[str, int]) -> str:
    order = ["answers", "2xx", "3xx", "4xx", "429", "5xx", "with credentials", "credentials refused"]
    return ", ".join(f"{key} {counts[key]}" for key in order if counts.get(key))


def render(report: Report) -> str:
    """The conformance table per operation and check, then the violations, what was inconclusive, what
    the run's options left out and every request a check built on its own."""
    lines: list[str] = ["", f"Conformance of {report.target} at {report.url}", ""]
    width = max([len(op) for op in report.operations()] + [20])
    inconclusive = {i.name: i for i in report.inconclusive if i.scope == "operation"}
    inconclusive |= {f"workflow {i.name}": i for i in report.inconclusive if i.scope == "workflow"}
    for operation in report.operations():
        rows = [row for (op, _), row in sorted(report.rows.items()) if op == operation]
        failed = [row for row in rows if row.failed]
        failing_rules = {v.rule for v in report.violations if v.operation == operation}
        passed = [row for row in rows if row.passed and not row.failed and row.check not in failing_rules]
        not_applicable = [row for row in rows if not row.passed and not row.failed]
        if failed or failing_rules:
            verdict = "FAIL"
        elif operation in inconclusive:
            verdict = "INCONCLUSIVE"
        elif not passed:
            verdict = "n/a"  # nothing was judged here: never shown as a pass
        else:
            verdict = "ok"
        summary = f"{len(passed)} checks passed" + (
            f", {len(not_applicable)} not applicable" if not_applicable else ""
        )
        lines.append(f"{operation:<{width}}  {verdict:<4}  {summary}")
        for rule in sorted({row.check for row in failed} | failing_rules):
            row = report.rows.get((operation, rule))
            counts = f"{row.failed} failed, {row.passed} passed" if row else "failed"
            lines.append(f"{'':<{width}}  FAIL  {rule} ({counts})")
    if report.violations:
        lines += ["", f"{len(report.violations)} violation(s):"]
        for number, v in enumerate(report.violations, 1):
            lines.append("")
            lines.append(f"{number}. [{v.rule}] {v.operation}: {v.title}")
            lines.append(f"   expected: {v.expected}")
            lines.append(f"   got:      {v.got}")
            if v.message and v.message not in v.got:
                detail = v.message.strip().replace("\n", "\n             ")
                lines.append(f"   detail:   {detail}")
            if v.curl:
                lines.append(f"   reproduce: {v.curl}")
    if report.inconclusive:
        lines += ["", f"Inconclusive ({len(report.inconclusive)}): not judged, so not conformant"]
        for item in report.inconclusive:
            lines.append(f"  - {item.scope} {item.name}: {item.reason}")
            if item.counts:
                lines.append(f"      answers: {_counts(item.counts)}")
    if report.left_out:
        lines += ["", f"Left out ({len(report.left_out)}), as this run's options said: not tested"]
        for left in report.left_out:
            lines.append(f"  - {left.kind} {left.name}: {left.reason}")
    if report.follow_ups:
        lines += [
            "",
            "Requests mockline's checks sent on their own (check, operation judged -> request sent):",
        ]
        for f in report.follow_ups:
            lines.append(f"  {f.check} {f.operation} -> {f.method} {f.url} -> {f.status}")
    if report.phase_counts:
        phases = "; ".join(f"{phase}: {_counts(counts)}" for phase, counts in report.phase_counts.items())
        lines += ["", f"Answers by phase: {phases}"]
    if report.errors:
        lines += ["", "Errors:"] + [f"  - {e}" for e in report.errors]
    seed = f", seed {report.seed}" if report.seed is not None else ""
    paced = f", paced at {report.rate_limit}" if report.rate_limit else ""
    left_out = f" (left out: {report.left_out_summary()})" if report.left_out else ""
    lines += [
        "",
        f"{report.kind} {report.target}: {report.verdict}{left_out} ({report.requests} requests in "
        f"{report.duration_seconds:.1f} s{seed}{paced}; exit code {report.exit_code()})",
    ]
    return printable("\n".join(lines))
