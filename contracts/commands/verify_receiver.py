"""``mockline verify-receiver SPEC --url URL``: does a team's callback receiver behave?"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from contracts.commands.verify import add_common_options, write_outputs
from contracts.loaders import VENDOR_SPECS


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "verify-receiver",
        help="drive a callback or webhook receiver with valid, invalid, duplicate and retried deliveries",
        description=(
            "Send every kind of callback and webhook of SPEC to URL: valid ones (each named example and a "
            "minimal one), invalid ones, a duplicate, and a retry after an attempt the sender gave up on "
            "(written whole on a connection of its own and closed unread). The receiver must answer 200 to "
            "valid ones, duplicates and the retry, and never answer 5xx. Where the spec marks a body "
            "field as a credential the receiver checks (Ringotel's api_token), give the receiver's own "
            "value with --set: one more delivery then carries it wrong, and must get the refusal the "
            "webhook documents (wrong_credential_refused); without it, that check is left out, and a "
            "valid delivery answered with that refusal is inconclusive. Exit 0 when the receiver does all "
            "this, 1 when it does not, 2 on a usage or connection error, 3 when inconclusive: a kind the "
            "spec gives no example payload, or whose attempt to give up on could not be sent, or valid "
            "deliveries refused as a wrong credential is while they carried the example's."
        ),
    )
    parser.add_argument("spec", help=f"one of {', '.join(VENDOR_SPECS)}, or a path to an OpenAPI file")
    parser.add_argument(
        "--url", required=True, help="the receiver's URL, e.g. http://127.0.0.1:9000/callbacks"
    )
    add_common_options(parser)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        dest="sets",
        metavar="NAME=VALUE",
        help="set a field of every payload sent (valid ones, the minimal one, the duplicate, the retry; "
        "invalid ones keep their fault), e.g. --set api_token=YOUR_TOKEN (repeatable). NAME is a top-level "
        "field or a JSON pointer into the body (/params/domain). VALUE is read as JSON when it parses as "
        'JSON (42, true, {"a": 1}, "text"), else taken as a string; a field the spec types as a '
        "string takes the text as given. A NAME no payload of SPEC has is a usage error (exit 2)",
    )
    parser.add_argument(
        "--timeout", type=float, default=10.0, help="seconds for each whole answer (default 10)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from contracts.receiver import ReceiverError, parse_set, verify_receiver
    from contracts.reporting import terminal
    from contracts.runner import VerifyError, parse_header

    if args.report and not args.report.lower().endswith((".html", ".htm", ".json")):
        print(f"mockline: --report {args.report}: use a .html or .json file name", file=sys.stderr)
        return 2
    progress = terminal.Progress()
    try:
        headers = dict(parse_header(h) for h in args.headers)
        overrides = dict(parse_set(text) for text in args.sets)
        progress.header(f"mockline verify-receiver {args.spec} at {args.url}")
        report = verify_receiver(
            args.spec,
            args.url,
            headers=headers,
            timeout=args.timeout,
            on_result=progress.tick,
            overrides=overrides,
        )
    except (ReceiverError, VerifyError) as exc:
        progress.close()
        print(f"mockline: {terminal.printable(str(exc))}", file=sys.stderr)
        return 2
    progress.close()
    print(terminal.render(report), flush=True)
    failed = write_outputs(report, args)
    return failed if failed is not None else report.exit_code()
