"""``mockline lint [SPEC ...]``: check specs against the rules in contracts.speclint."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from contracts.loaders import SpecNotFound, load_spec, spec_path
from contracts.speclint import Finding, lint_document, lint_shipped, lint_workflows


def register(subparsers: Any) -> None:
    lint = subparsers.add_parser("lint", help="check specs: validity, examples, provenance, traceability")
    lint.add_argument(
        "specs", nargs="*", metavar="SPEC", help="spec names or OpenAPI files (default: all of ours)"
    )
    lint.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        findings: list[Finding] = []
        if not args.specs:
            findings = lint_shipped()
        for spec in args.specs:
            if spec.endswith(".arazzo.yaml"):  # a behavioural contract (Arazzo workflows)
                findings += lint_workflows(Path(spec))
                continue
            findings += lint_document(spec_path(spec).stem, load_spec(spec))
    except SpecNotFound as exc:
        print(f"mockline lint: {exc}", file=sys.stderr)
        return 2
    for finding in findings:
        print(finding)
    checked = ", ".join(args.specs) if args.specs else "every shipped spec and TRACEABILITY.md"
    print(f"{len(findings)} finding(s) in {checked}")
    return 1 if findings else 0
