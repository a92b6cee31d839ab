"""``mockline export SPEC --openapi 3.1 [-o FILE]``: write a spec as an OpenAPI 3.1 document."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from openapi_spec_validator import OpenAPIV31SpecValidator

from contracts import patterns
from contracts.loaders import SpecNotFound, load_spec, to_yaml
from contracts.model import to_openapi_31


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "export",
        help="write a spec as an OpenAPI 3.1 document (real webhooks, JSON Schema 2020-12)",
        description=(
            "Derive an OpenAPI 3.1 document from one of our 3.0.3 specs (which stay the source): "
            "x-webhooks and subscribed callbacks become top-level webhooks, nullable becomes a null type. "
            "The result is checked with openapi-spec-validator's 3.1 validator before it is written."
        ),
    )
    parser.add_argument("spec", metavar="SPEC", help="a spec name (ryng, ringme, ...) or an OpenAPI 3.0 file")
    parser.add_argument("--openapi", required=True, choices=["3.1"], help="the OpenAPI version to write")
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write here (.json for JSON, else YAML; default: standard output)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        document = to_openapi_31(load_spec(args.spec))
    except SpecNotFound as exc:
        print(f"mockline export: {exc}", file=sys.stderr)
        return 2
    # Patterns are ECMA-262 (as the mock reads them), judged where they are written; the validator reads
    # them with Python's re, so what it says of them is left out.
    problems = patterns.not_ecma(document) + [
        error.message
        for error in OpenAPIV31SpecValidator(document).iter_errors()
        if not patterns.is_regex_complaint(error)
    ]
    if problems:
        for problem in problems:
            print(f"mockline export: not valid OpenAPI 3.1: {problem[:300]}", file=sys.stderr)
        return 1
    as_json = bool(args.output) and Path(args.output).suffix == ".json"
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n" if as_json else to_yaml(document)
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            print(f"mockline export: cannot write {args.output}: {exc.strerror}", file=sys.stderr)
            return 2
    else:
        sys.stdout.write(text)
    return 0
