"""``mockline drive ringotel-crm --base-url URL [--auth ...]``: play Ringotel's call workflow against a CRM."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from contracts.drive import Auth, UsageError, drive


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "drive",
        help="play a vendor's workflow against an implementation (ringotel-crm: Ringotel's call hooks)",
        description=(
            "Plays Ringotel's call workflow against a CRM that implements the reference contract: "
            "Users, an incoming call, FindContact, CreateContact (when no contact is found), CreateActivity, "
            "AssignActivity, UpdateActivity, StopCallActivity and UpdateCallRecording. Each response is "
            "validated against the contract and its ids are carried to the next step. Exit code 0: every "
            "step passed; 1: a step failed (named, with what was expected and what came back); 2: usage or "
            "connection error."
        ),
    )
    parser.add_argument("workflow", choices=["ringotel-crm"], help="the workflow to play")
    parser.add_argument(
        "--base-url", required=True, help="the CRM's API root, e.g. http://127.0.0.1:8000/ringotel"
    )
    parser.add_argument(
        "--auth",
        metavar="basic:USER:PASS|bearer:TOKEN|oauth2:ID:SECRET",
        help="credentials to send (OAuth2 fetches a token at BASE_URL/oauth/token first)",
    )
    parser.add_argument("--caller", help="the incoming caller's number (default: a random +1 202 555 number)")
    parser.add_argument(
        "--recording-url", help="attach the recording as this link instead of uploading a file"
    )
    parser.add_argument(
        "--timeout", type=float, default=10.0, help="seconds for each whole answer (default 10)"
    )
    parser.add_argument("--seed", type=int, help="seed for the generated call data")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        auth = Auth.parse(args.auth)
        report = asyncio.run(
            drive(
                args.base_url,
                auth,
                caller=args.caller,
                recording_url=args.recording_url,
                timeout=args.timeout,
                seed=args.seed,
            )
        )
    except UsageError as exc:
        print(f"mockline drive: {exc}", file=sys.stderr)
        return 2
    return report.exit_code
