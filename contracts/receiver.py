"""``mockline verify-receiver``: drive a team's own callback or webhook receiver.

For every distinct kind of callback and webhook of a spec, the receiver gets: each named example and a
minimal payload (required fields only), which must be answered with a documented success status
(``x-retry.success_status``, 200 by default); invalid deliveries (not JSON, no fields, a field of the
wrong type), which may be refused but never with a 5xx; a duplicate of a valid delivery, which must be
answered 200 again; and a retry of a delivery whose first attempt the sender gave up on, which must be
answered 200 as well. The attempt given up on is written whole on a connection of its own, which is then
closed without reading a byte of the answer, so it is given up on however fast the receiver is; an attempt
that could not be written (the connection refused, say) leaves the retry unjudged and the kind
inconclusive. A kind the spec gives no example payload cannot be sent at all: it is named
inconclusive (exit code 3), never passed. The outcome is the same
:class:`~contracts.reporting.model.Report` that ``verify`` produces.
"""

from __future__ import annotations

import copy
import json
import socket
import ssl
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlparse

import httpx

from contracts import callbacks
from contracts.callbacks import CallbackKind
from contracts.checks import curl_command, describe
from contracts.errors import ContractsError
from contracts.loaders import SpecNotFound
from contracts.reporting.model import Inconclusive, Report, Violation

RULES: dict[str, str] = {
    "valid_callback_accepted": "a documented success status for a valid delivery",
    "invalid_callback_no_5xx": "no 5xx answer to an invalid delivery (refuse it with a 4xx, or accept it)",
    "no_server_error": "no 5xx answer to any delivery",
    "duplicate_accepted": "a documented success status for the same delivery sent again",
    "retry_accepted": "a documented success status for a retry after an attempt the sender gave up on",
}
# Between the attempt given up on and its retry: the receiver has the attempt first (a retry that overtook
# it would be the first delivery the receiver saw), and is still at work on it if it takes longer.
RETRY_AFTER_SECONDS = 0.1


class ReceiverError(ContractsError):
    """A usage or connection problem (exit code 2)."""


def distinct(kinds: list[CallbackKind]) -> list[CallbackKind]:
    """One kind per distinct shape: Ryng's six operations register the same two callbacks."""
    seen: dict[str, CallbackKind] = {}
    for kind in kinds:
        shape = json.dumps(
            [kind.method, kind.name, kind.operation.get("requestBody"), kind.operation.get("parameters")],
            sort_keys=True,
            default=str,
        )
        seen.setdefault(shape, kind)
    return list(seen.values())


def _minimal(kind: CallbackKind, payload: Any) -> Any:
    if not isinstance(payload, Mapping):
        return payload
    required = set(kind.required_fields())
    return {k: v for k, v in payload.items() if k in required}


def _wrong_type(kind: CallbackKind, payload: Any) -> Any:
    if not isinstance(payload, Mapping) or not payload:
        return {"unexpected": True}
    broken = copy.deepcopy(dict(payload))
    key = next((k for k in kind.required_fields() if k in broken), next(iter(broken)))
    broken[key] = {"not": "the documented type"}
    return broken


class _Driver:
    def __init__(self, url: str, headers: Mapping[str, str], timeout: float, report: Report) -> None:
        self.url = url
        self.headers = dict(headers)
        self.timeout = timeout
        self.report = report
        self.client = httpx.Client(timeout=timeout)

    def _url(self, query: str) -> str:
        return self.url + (("&" if "?" in self.url else "?") + query if query else "")

    def send(
        self, kind: CallbackKind, query: str, headers: Mapping[str, str], body: bytes | None
    ) -> tuple[httpx.Response | None, str]:
        url = self._url(query)
        all_headers = {**self.headers, **headers}
        curl = curl_command(kind.method, url, all_headers, body)
        self.report.requests += 1
        for attempt in (1, 2):
            try:
                response = self.client.request(kind.method, url, headers=all_headers, content=body)
            except httpx.TimeoutException:
                self.client.close()  # the sender gave up: its connection goes with it
                self.client = httpx.Client(timeout=self.timeout)
                return None, curl
            except httpx.HTTPError as exc:
                if attempt == 2 or isinstance(exc, httpx.ConnectError):
                    raise ReceiverError(f"cannot reach the receiver at {self.url}: {exc}") from exc
                # A kept-alive connection the receiver closed: once more on a fresh one.
                self.client.close()
                self.client = httpx.Client(timeout=self.timeout)
            else:
                return response, curl
        raise AssertionError("unreachable")

    def give_up(
        self, kind: CallbackKind, query: str, headers: Mapping[str, str], body: bytes | None
    ) -> str | None:
        """Send a delivery and give up on it: the whole request is written on a connection of its own, which
        is then closed without reading a byte of the answer, and the retry may follow
        ``RETRY_AFTER_SECONDS`` later. The receiver gets the whole delivery and may work on it; the sender
        never learns what it answered, however fast it was. Returns why the attempt could not be made, or
        None when it was."""
        # The request as httpx writes it (Host, Content-Length, the client's own headers), the one its
        # retry is sent as, with the connection to be closed.
        built = self.client.build_request(
            kind.method,
            self._url(query),
            headers={**self.headers, **headers, "Connection": "close"},
            content=body,
        )
        head = f"{built.method} {built.url.raw_path.decode('ascii')} HTTP/1.1\r\n".encode("ascii")
        fields = b"".join(name + b": " + value + b"\r\n" for name, value in built.headers.raw)
        request = head + fields + b"\r\n" + built.read()
        host, https = built.url.host, built.url.scheme == "https"
        port = built.url.port or (443 if https else 80)
        self.report.requests += 1
        try:
            connection = socket.create_connection((host, port), timeout=self.timeout)
            try:
                if https:
                    connection = ssl.create_default_context().wrap_socket(connection, server_hostname=host)
                connection.sendall(request)
            finally:
                connection.close()  # without reading the answer: the sender has given up
        except OSError as exc:
            return f"{exc.__class__.__name__}: {exc}"
        time.sleep(RETRY_AFTER_SECONDS)
        return None


def verify_receiver(
    spec: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10.0,
    on_result: Callable[[bool], None] | None = None,
) -> Report:
    parsed = urlparse(url)
    if parsed.scheme not in {"http", "https"} or not parsed.netloc:
        raise ReceiverError(f"--url {url!r} is not an http(s) URL")
    try:
        found = distinct(callbacks.kinds(spec))
    except SpecNotFound as exc:
        raise ReceiverError(str(exc)) from exc
    if not found:
        raise ReceiverError(f"{spec} declares no callbacks or webhooks")
    report = Report(kind="verify-receiver", target=spec, url=url)
    driver = _Driver(url, headers or {}, timeout, report)
    started = time.perf_counter()
    try:
        for kind in found:
            _drive(kind, driver, report, on_result or (lambda ok: None))
    finally:
        driver.client.close()
        report.duration_seconds = time.perf_counter() - started
    return report


def _drive(kind: CallbackKind, driver: _Driver, report: Report, tick: Callable[[bool], None]) -> None:
    label = f"{kind.method} {kind.api}.{kind.name} ({kind.operation_id})"
    success = kind.success_status
    expected_ok = " or ".join(f"HTTP {s}" for s in success)

    def judge(
        rule: str, case: str, response: httpx.Response | None, curl: str, ok: bool, expected: str
    ) -> None:
        report.record(label, rule, ok)
        tick(ok)
        if not ok:
            got = (
                "no answer within the timeout"
                if response is None
                else describe(response.status_code, response.headers, response.content)
            )
            report.add_violation(
                Violation(
                    label, rule, f"{case}: {got.split(':', 1)[0]}", expected, got, curl=curl, phase=case
                )
            )

    def server_error(case: str, response: httpx.Response | None, curl: str) -> None:
        ok = response is not None and response.status_code < 500
        judge("no_server_error", case, response, curl, ok, RULES["no_server_error"])

    examples = kind.examples()
    if not examples:
        # Every delivery below is built from an example: with none, the receiver was sent nothing of this
        # kind, so the run cannot vouch for it.
        what = (
            f"the {kind.name} webhook"
            if kind.source is None
            else f"the {kind.name} callback of {kind.source}"
        )
        report.inconclusive.append(
            Inconclusive(
                scope="operation",
                name=label,
                reason=(
                    f"never sent: the spec gives {what} ({kind.operation_id}) no example payload "
                    "(neither of its request body nor of its query parameters), and verify-receiver "
                    "builds every delivery it sends from one"
                ),
            )
        )
        return
    first = next(iter(examples.values()))
    valid = dict(examples)
    minimal = _minimal(kind, first)
    if minimal != first:
        valid["minimal (required fields only)"] = minimal
    for name, payload in valid.items():
        response, curl = driver.send(kind, *kind.encode(payload))
        ok = response is not None and response.status_code in success
        judge(
            "valid_callback_accepted",
            f"valid {name}",
            response,
            curl,
            ok,
            f"{expected_ok} for a valid delivery",
        )
        server_error(f"valid {name}", response, curl)

    invalid: dict[str, tuple[str, dict[str, str], bytes | None]] = {
        "a field of the wrong type": kind.encode(_wrong_type(kind, first)),
        "no fields at all": kind.encode({}),
    }
    if kind.body_spec() is not None:
        media_type = kind.body_spec()[0]  # type: ignore[index]
        invalid["a body that does not parse"] = ("", {"content-type": media_type}, b"{not json")
    for name, (query, extra, body) in invalid.items():
        response, curl = driver.send(kind, query, extra, body)
        ok = response is not None and response.status_code < 500
        judge(
            "invalid_callback_no_5xx",
            f"invalid: {name}",
            response,
            curl,
            ok,
            RULES["invalid_callback_no_5xx"],
        )

    response, curl = driver.send(kind, *kind.encode(first))
    ok = response is not None and response.status_code in success
    judge(
        "duplicate_accepted", "the same delivery again", response, curl, ok, f"{expected_ok} for a duplicate"
    )
    server_error("duplicate", response, curl)

    # A retry: the sender gives up on the first attempt (written whole, its answer never read), then sends
    # the same delivery again a moment later.
    retried = _retry_payload(kind, first)
    failure = driver.give_up(kind, *kind.encode(retried))
    if failure is not None:
        # No attempt was given up on, so a retry would be one more delivery: retry_accepted is not judged.
        report.record(label, "retry_accepted", None)
        report.inconclusive.append(
            Inconclusive(
                scope="operation",
                name=label,
                reason=(
                    "retry never judged: the first attempt of the retried delivery, the one the sender gives "
                    f"up on, could not be sent ({failure}), so the receiver got no retry after an attempt "
                    "given up on"
                ),
            )
        )
        return
    response, curl = driver.send(kind, *kind.encode(retried))
    ok = response is not None and response.status_code in success
    judge(
        "retry_accepted",
        "a retry after an attempt the sender gave up on",
        response,
        curl,
        ok,
        f"{expected_ok} for the retry",
    )
    server_error("retry", response, curl)


def _retry_payload(kind: CallbackKind, payload: Any) -> Any:
    """A delivery not sent before (so that the retry is not a plain duplicate): the example, other ids."""
    if not isinstance(payload, Mapping):
        return payload
    changed = dict(payload)
    for key, value in payload.items():
        if "id" in key.lower() and isinstance(value, int) and not isinstance(value, bool):
            changed[key] = value + 7919
        elif "id" in key.lower() and isinstance(value, str) and value.isdigit():
            changed[key] = str(int(value) + 7919)
    return changed
