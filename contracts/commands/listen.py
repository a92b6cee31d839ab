"""``mockline listen --port P``: receive, validate, print and record callbacks and webhooks."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from contracts.listen import MAX_BODY_BYTES, MAX_RECEIVED
from contracts.loaders import VENDOR_SPECS


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "listen",
        help="receive callbacks and webhooks: validate, print and record them (GET /received)",
        description=(
            "A callback and webhook receiver for development. Each delivery is labelled by the callback its "
            "URL was registered for (a path naming the operation, /pushTransactional/connect, tells it "
            "exactly; /connect names the callback only), validated against it and printed; GET /received "
            "lists them. --fail-first and --timeout-first make the "
            "first attempts of each delivery fail so that the retries can be watched. The newest "
            "--max-received deliveries are kept (and at most 64 MiB of what they were sent), the oldest dropped "
            "and counted; a body past --max-body-bytes is answered 413 unread."
        ),
    )
    parser.add_argument("--port", type=int, required=True, help="port to listen on")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--spec",
        action="append",
        choices=VENDOR_SPECS,
        dest="specs",
        help="only this spec's callbacks (repeatable)",
    )
    parser.add_argument(
        "--fail-first", type=int, default=0, metavar="N", help="answer 500 to the first N attempts"
    )
    parser.add_argument(
        "--timeout-first", type=int, default=0, metavar="N", help="then leave the next N attempts unanswered"
    )
    parser.add_argument(
        "--hang-seconds", type=float, default=15.0, help="how long an unanswered attempt hangs (default 15)"
    )
    parser.add_argument(
        "--status", type=int, default=200, help="status for a received delivery (default 200)"
    )
    parser.add_argument(
        "--max-received",
        type=int,
        default=MAX_RECEIVED,
        metavar="N",
        help=f"deliveries kept for GET /received; the oldest are dropped past it (default {MAX_RECEIVED:,})",
    )
    parser.add_argument(
        "--max-body-bytes",
        type=int,
        default=MAX_BODY_BYTES,
        metavar="N",
        help=f"a body past this is answered 413 and not read (default {MAX_BODY_BYTES:,}: 1 MiB)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from contracts.listen import ListenOptions, create_listener

    if not 0 < args.port < 65536:
        print(f"mockline: --port {args.port} is not a port number", file=sys.stderr)
        return 2
    for flag, value in (("--max-received", args.max_received), ("--max-body-bytes", args.max_body_bytes)):
        if value < 1:
            print(f"mockline: {flag} {value}: at least 1", file=sys.stderr)
            return 2
    options = ListenOptions(
        specs=list(args.specs or []),
        fail_first=args.fail_first,
        timeout_first=args.timeout_first,
        hang_seconds=args.hang_seconds,
        status=args.status,
        max_received=args.max_received,
        max_body_bytes=args.max_body_bytes,
    )
    app = create_listener(options)
    print(
        f"mockline listening on http://{args.host}:{args.port}/ for callbacks of "
        f"{', '.join(options.specs) or 'every spec'}; what arrived: GET http://{args.host}:{args.port}/received",
        flush=True,
    )
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    except OSError as exc:
        print(f"mockline: {exc}", file=sys.stderr)
        return 2
    return 0
