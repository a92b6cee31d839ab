"""``mockline verify SPEC --base-url URL``: does a running server implement the spec?"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from contracts.loaders import VENDOR_SPECS


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "verify",
        help="check that a running server implements a spec (Schemathesis + mockline's rules)",
        description=(
            "Run Schemathesis' examples, coverage, fuzzing and stateful phases, with all its checks and "
            "mockline's own (error envelope, auth failure code and message, created ids usable, deleted ids "
            "gone), against any server claiming to implement SPEC. Exit 0 when conformant, 1 on violations, "
            "2 on a usage or connection error, 3 when inconclusive: an operation never answered with "
            "success, the credentials were refused every time, or more than 10% of a phase's answers were "
            "429 (pace with --rate-limit), or a declared link or workflow could not be played. What "
            "--operation, --exclude-operation, --checks, --exclude-checks, --phases and --exclude-workflow "
            "leave out is named in every report, and the verdict reads 'conformant in what it tested'."
        ),
    )
    parser.add_argument("spec", help=f"one of {', '.join(VENDOR_SPECS)}, or a path to an OpenAPI file")
    parser.add_argument(
        "--base-url", required=True, help="where the API lives, e.g. http://127.0.0.1:8000/ryng"
    )
    add_common_options(parser)
    parser.add_argument(
        "--auth", help="basic:USER:PASS, bearer:TOKEN or oauth2:CLIENT_ID:SECRET (fetches a token)"
    )
    parser.add_argument(
        "--token-url",
        metavar="URL",
        help="where --auth oauth2: fetches its token (default: the spec's tokenUrl, resolved against "
        "--base-url; a tokenUrl on another host is used only when given here, since the client secret "
        "goes there)",
    )
    parser.add_argument("--seed", type=int, help="seed for data generation (printed when not given)")
    parser.add_argument(
        "--max-examples",
        type=int,
        help="examples per operation and phase (default 20; 1 when the run is paced)",
    )
    parser.add_argument(
        "--operation",
        action="append",
        default=[],
        dest="operations",
        help="only this operation: an operationId, 'METHOD /path' or a path fragment (repeatable)",
    )
    parser.add_argument(
        "--exclude-operation",
        action="append",
        default=[],
        dest="exclude_operations",
        help="leave this operation out, named as for --operation (repeatable)",
    )
    parser.add_argument(
        "--exclude-workflow",
        action="append",
        default=[],
        dest="exclude_workflows",
        metavar="WORKFLOW_ID",
        help="leave this workflow of the spec's Arazzo document out (repeatable), e.g. one that needs the "
        "mock's clock against a real server",
    )
    parser.add_argument(
        "--phases",
        help="comma-separated subset of links,examples,coverage,fuzzing,stateful,workflows,negative "
        "(default: all)",
    )
    parser.add_argument("--checks", help="comma-separated checks to run, or 'all' (default: all)")
    parser.add_argument("--exclude-checks", help="comma-separated checks not to run")
    parser.add_argument(
        "--rate-limit",
        metavar="N/s|N/m|off",
        help="pace requests evenly, at most N per second or minute; default: the limit the spec "
        "documents (Ryng: 60/m), which also leaves out the coverage phase and takes 1 example; "
        "'off' paces nothing; a Retry-After is always honoured",
    )
    parser.add_argument(
        "--max-response-time", type=float, metavar="SECONDS", help="an answer slower than this is a violation"
    )
    parser.add_argument("--max-failures", type=int, metavar="N", help="stop after N failures")
    parser.add_argument(
        "--max-retry-wait",
        type=float,
        default=120.0,
        metavar="SECONDS",
        help="wait at most this long for a Retry-After (default 120); 0 counts every 429 without waiting",
    )
    parser.add_argument("--report-har", metavar="PATH", help="write every exchange as a HAR 1.2 file")
    parser.add_argument("--workers", type=int, default=1, help="concurrent requests (default 1)")
    parser.add_argument(
        "--request-timeout",
        type=float,
        default=10.0,
        help="seconds for each whole answer, its body included (default 10); bodies past 16 MiB are not read",
    )
    parser.set_defaults(run=run)


def _names(text: str | None) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(",") if name.strip()) if text else ()


def add_common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--header", action="append", default=[], dest="headers", help="'NAME: VALUE' sent on every request"
    )
    parser.add_argument("--junit-xml", metavar="PATH", help="write a JUnit XML report")
    parser.add_argument("--report", metavar="PATH", help="write a report: .html (self-contained) or .json")


def write_outputs(report: Any, args: argparse.Namespace) -> int | None:
    """Write the requested report files; on a bad path, say so and return 2."""
    from contracts.reporting import junit, write_report

    try:
        if args.junit_xml:
            junit.write(report, args.junit_xml)
        if args.report:
            write_report(report, args.report)
    except (OSError, ValueError) as exc:
        print(f"mockline: {exc}", file=sys.stderr)
        return 2
    return None


def _keep_hypothesis_out_of_the_working_folder() -> None:
    """Hypothesis keeps caches (the constants it gathers, its Unicode tables) in ./.hypothesis of the folder
    it runs in: a verify run would leave that folder in the user's project. They go to the user's cache
    folder instead (``$XDG_CACHE_HOME/mockline/hypothesis``, else ``~/.cache/...``), unless
    ``HYPOTHESIS_STORAGE_DIRECTORY`` says where. (A run keeps no example database at all: ``runner``.)"""
    if os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
        return
    from hypothesis.configuration import set_hypothesis_home_dir

    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    set_hypothesis_home_dir(os.path.join(cache, "mockline", "hypothesis"))


def run(args: argparse.Namespace) -> int:
    from contracts.reporting import terminal
    from contracts.runner import (
        Finished,
        PhaseStarted,
        Problem,
        Started,
        Tested,
        VerifyError,
        VerifyOptions,
        parse_header,
        verify,
    )

    if args.report and not args.report.lower().endswith((".html", ".htm", ".json")):
        print(f"mockline: --report {args.report}: use a .html or .json file name", file=sys.stderr)
        return 2
    _keep_hypothesis_out_of_the_working_folder()
    progress = terminal.Progress()
    try:
        options = VerifyOptions(
            spec=args.spec,
            base_url=args.base_url,
            headers=dict(parse_header(h) for h in args.headers),
            auth=args.auth,
            seed=args.seed,
            max_examples=args.max_examples,
            operations=tuple(args.operations),
            phases=_names(args.phases) or None,
            workers=args.workers,
            request_timeout=args.request_timeout,
            rate_limit=args.rate_limit,
            checks=_names(args.checks),
            exclude_checks=_names(args.exclude_checks),
            exclude_operations=tuple(args.exclude_operations),
            exclude_workflows=tuple(args.exclude_workflows),
            max_response_time=args.max_response_time,
            max_failures=args.max_failures,
            max_retry_wait=args.max_retry_wait,
            har_path=args.report_har,
            token_url=args.token_url,
        )
        report = None
        for event in verify(options):
            if isinstance(event, Started):
                progress.header(
                    f"mockline verify {event.spec} at {event.base_url}: {event.operations} operations, "
                    f"seed {event.seed}"
                )
                if event.pacing:
                    progress.header(f"  {event.pacing}")
                if event.left_out:
                    progress.header(f"  left out by the options: {event.left_out}")
            elif isinstance(event, PhaseStarted):
                progress.phase(event.phase)
            elif isinstance(event, Tested):
                progress.tick(event.ok)
            elif isinstance(event, Problem):
                progress.note(event.message)
            elif isinstance(event, Finished):
                report = event.report
    except VerifyError as exc:
        progress.close()
        print(f"mockline: {terminal.printable(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        progress.close()
        print("mockline: interrupted", file=sys.stderr)
        return 2
    progress.close()
    assert report is not None
    print(terminal.render(report), flush=True)
    failed = write_outputs(report, args)
    return failed if failed is not None else report.exit_code()
