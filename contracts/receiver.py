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

``--set NAME=VALUE`` (``overrides``) sets a field of every payload sent (valid ones, the minimal one, the
duplicate, the retry; an invalid one keeps its fault): the user's token, an id their system knows. A
field the spec marks as a credential the receiver checks (``x-mockline-credential``, Ringotel's
``api_token``) is the receiver's own secret, which only the user can give: once given, one more delivery
carries it wrong (the right value with more after it) and must get the refusal the callback documents
(``wrong_credential_refused``). Not given, the deliveries carry the example's value, which a correct
receiver refuses: a valid delivery answered with exactly that refusal is inconclusive (with the flag to
give), never a violation, and the report names the credential check as left out.
"""

from __future__ import annotations

import copy
import functools
import json
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlparse

import httpx

from contracts import bounded, callbacks, model
from contracts.callbacks import CallbackKind
from contracts.checks import _WRONG_SUFFIX as WRONG_SUFFIX
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
    "wrong_credential_refused": (
        "the refusal the callback documents (its 401 or 403, else its 4xx) for a delivery whose credential "
        "field (x-mockline-credential) is wrong"
    ),
}
WRONG_CREDENTIAL = "wrong_credential_refused"
# What the user puts in place of their receiver's own secret in the hint a run gives.
YOUR_TOKEN = "YOUR_TOKEN"
# Between the attempt given up on and its retry: the receiver has the attempt first (a retry that overtook
# it would be the first delivery the receiver saw), and is still at work on it if it takes longer.
RETRY_AFTER_SECONDS = 0.1


class ReceiverError(ContractsError):
    """A usage or connection problem (exit code 2)."""


# -- --set NAME=VALUE ------------------------------------------------------------------------------------


def parse_set(text: str) -> tuple[str, str]:
    """``NAME=VALUE`` as (NAME, VALUE text), split at the first ``=``."""
    name, sep, value = text.partition("=")
    if not sep or name in ("", "/"):
        raise ReceiverError(
            f"--set {text!r}: write NAME=VALUE, NAME a top-level field or a JSON pointer (/params/domain)"
        )
    return name, value


def field_path(name: str) -> tuple[str, ...]:
    """The keys from a payload's root that NAME names: a JSON pointer (``/params/domain``, RFC 6901
    escapes read) or, without a leading ``/``, one top-level field's name."""
    if name.startswith("/"):
        return tuple(model.unescape_token(token) for token in name[1:].split("/"))
    return (name,)


def field_name(pointer: str) -> str:
    """How ``--set`` names the field at ``pointer``: a top-level field by its name, any other by the
    pointer."""
    path = field_path(pointer)
    return path[0] if len(path) == 1 and not path[0].startswith("/") else pointer


def field_value(text: str, schema: Any) -> Any:
    """VALUE as JSON when it parses as JSON, else the text; a field the spec types as a string takes the
    text as given (``--set api_token=12345`` sends ``"12345"``), unless VALUE is a JSON string, or null
    where the string may be null."""
    try:
        value = json.loads(text)
    except ValueError:
        return text
    if isinstance(value, str) or not isinstance(schema, Mapping) or schema.get("type") != "string":
        return value
    return None if value is None and schema.get("nullable") else text


def _properties(schema: Mapping[str, Any]) -> dict[str, Any]:
    found = dict(schema.get("properties") or {})
    for part in schema.get("allOf") or []:
        if isinstance(part, Mapping):
            found.update(_properties(part))
    return found


def _schema_at(schema: Any, path: tuple[str, ...]) -> Mapping[str, Any] | None:
    """The schema of the field at ``path`` in a payload of ``schema``; None where it declares none."""
    node = schema
    for key in path:
        if not isinstance(node, Mapping):
            return None
        properties = _properties(node)
        if key in properties:
            node = properties[key]
        elif key.isdigit() and isinstance(node.get("items"), Mapping):
            node = node["items"]
        else:
            return None
    return node if isinstance(node, Mapping) else None


def _lookup(payload: Any, path: tuple[str, ...]) -> tuple[bool, Any]:
    """Whether ``path`` reaches into ``payload``, and what it reaches (one step at a time, as a pointer)."""
    try:
        return True, functools.reduce(model.child, path, payload)
    except model.UnresolvableRef:
        return False, None


def _with(payload: Any, path: tuple[str, ...], value: Any) -> Any:
    """A copy of ``payload`` with the field at ``path`` set to ``value`` (added to an object that lacks
    it); unchanged where the object or array it belongs to is missing."""
    found, parent = _lookup(payload, path[:-1])
    key = path[-1]
    if not found or not (
        isinstance(parent, Mapping) or (isinstance(parent, list) and key.isdigit() and int(key) < len(parent))
    ):
        return payload
    changed = copy.deepcopy(payload)
    _, parent = _lookup(changed, path[:-1])
    parent[int(key) if isinstance(parent, list) else key] = value
    return changed


class _Fields:
    """What ``--set`` does to the payloads of one kind: the (path, value) pairs of the fields it has."""

    def __init__(self, kind: CallbackKind, overrides: Mapping[str, str]) -> None:
        schema = kind.schema()
        examples = list(kind.examples().values())
        self.values: list[tuple[tuple[str, ...], Any]] = []
        self.names: dict[tuple[str, ...], str] = {}
        for name, text in overrides.items():
            path = field_path(name)
            declared = _schema_at(schema, path)
            if declared is None and not any(_lookup(example, path)[0] for example in examples):
                continue
            self.values.append((path, field_value(text, declared)))
            self.names[path] = name

    def apply(self, payload: Any) -> Any:
        for path, value in self.values:
            payload = _with(payload, path, value)
        return payload

    def credentials_not_given(self, kind: CallbackKind) -> list[str]:
        """The credential fields of ``kind`` (pointers) that no ``--set`` gave."""
        return [p for p in kind.callback.credential_fields if field_path(p) not in self.names]


def _top_level_fields(kinds: list[CallbackKind]) -> tuple[list[str], str]:
    """The top-level fields of the kinds' payloads, and a pointer to a field inside one ('' if none)."""
    names: dict[str, None] = {}
    inner = ""
    for kind in kinds:
        names.update(dict.fromkeys(str(k) for k in _properties(kind.schema() or {})))
        for example in kind.examples().values():
            if not isinstance(example, Mapping):
                continue
            names.update(dict.fromkeys(str(k) for k in example))
            for key, value in example.items():
                if not inner and isinstance(value, Mapping) and value:
                    inner = model.pointer_to((str(key), str(next(iter(value)))))
    return list(names), inner


def _fields_of(spec: str, found: list[CallbackKind], overrides: Mapping[str, str]) -> dict[int, _Fields]:
    """Each kind's ``_Fields``; a NAME no kind has, or a value that makes a valid payload invalid, is a
    usage error (raised before anything is sent)."""
    fields = {id(kind): _Fields(kind, overrides) for kind in found}
    for name in overrides:
        if not any(field_path(name) in f.names for f in fields.values()):
            known, inner = _top_level_fields(found)
            shown = ", ".join(known[:16]) + (f", ... ({len(known)} fields)" if len(known) > 16 else "")
            pointer = f"; a JSON pointer such as {inner} reaches inside one" if inner else ""
            raise ReceiverError(
                f"--set {name}: no delivery of {spec} has a field {name!r} (the top-level fields are "
                f"{shown}{pointer})"
            )
    for kind in found:
        given = fields[id(kind)]
        if not given.values:
            continue
        examples = kind.examples()
        first = next(iter(examples.values()), None)
        for payload in [*examples.values(), _minimal(kind, first)]:
            before = set(callbacks.problems(kind, *kind.encode(payload)))
            after = [
                p for p in callbacks.problems(kind, *kind.encode(given.apply(payload))) if p not in before
            ]
            if after:
                names = " ".join(f"--set {n}" for n in given.names.values())
                raise ReceiverError(
                    f"{names}: a valid {kind.name} delivery ({kind.operation_id}) no longer fits the spec "
                    f"with it: {after[0]}"
                )
    return fields


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


# Values a field is given to break it; the first that the spec refuses as it arrives is sent (an object is
# no string in JSON, but in a form body or a query string every value arrives as text).
_WRONG_VALUES: tuple[Any, ...] = ({"not": "the documented type"}, "not-a-value-it-takes", "-1", "")


def _wrong_type(kind: CallbackKind, payload: Any) -> Any:
    """``payload`` with one field (a required one first) of a value the spec refuses as the receiver gets
    it, encoded as the vendor sends it; None when no field can be so broken (then nothing is sent as
    such: a delivery the spec takes is no invalid one)."""
    if not isinstance(payload, Mapping) or not payload:
        return {"unexpected": True}
    required = [k for k in kind.required_fields() if k in payload]
    for key in [*required, *(k for k in payload if k not in required)]:
        for wrong in _WRONG_VALUES:
            broken = {**payload, key: wrong}  # a top-level field replaced: encoding only reads the rest
            if callbacks.problems(kind, *kind.encode(broken)):
                return broken
    return None


def _unparseable(media_type: str) -> bytes:
    """A body no reader of ``media_type`` can read: JSON cut short, else bytes that are no UTF-8 text (a
    form body takes any text, ``{not json`` too)."""
    return b"{not json" if media_type.endswith("json") else b"\xff\xfe%zz"


class _Driver:
    def __init__(self, url: str, headers: Mapping[str, str], timeout: float, report: Report) -> None:
        self.url = url
        self.headers = dict(headers)
        self.timeout = timeout
        self.report = report
        self.client = bounded.client(timeout)

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
            except httpx.TimeoutException:  # no whole answer in time (bounded.AnswerTimeout too)
                self.client.close()  # the sender gave up: its connection goes with it
                self.client = bounded.client(self.timeout)
                return None, curl
            except bounded.AnswerError as exc:  # too large, or broken off: no answer to judge
                raise ReceiverError(f"no usable answer from the receiver at {self.url}: {exc}") from exc
            except httpx.HTTPError as exc:
                if attempt == 2 or isinstance(exc, httpx.ConnectError):
                    raise ReceiverError(f"cannot reach the receiver at {self.url}: {exc}") from exc
                # A kept-alive connection the receiver closed: once more on a fresh one.
                self.client.close()
                self.client = bounded.client(self.timeout)
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
    overrides: Mapping[str, str] | None = None,
) -> Report:
    """Drive the receiver at ``url`` with every kind of callback and webhook of ``spec``. ``overrides``
    maps ``--set`` NAMEs (a top-level field or a JSON pointer) to their VALUE text; a NAME no delivery
    has, or a VALUE that makes a valid delivery invalid, raises ``ReceiverError`` before anything is
    sent."""
    parsed = urlparse(url)
    if parsed.scheme not in {"http", "https"} or not parsed.netloc:
        raise ReceiverError(f"--url {url!r} is not an http(s) URL")
    try:
        found = distinct(callbacks.kinds(spec))
    except SpecNotFound as exc:
        raise ReceiverError(str(exc)) from exc
    if not found:
        raise ReceiverError(f"{spec} declares no callbacks or webhooks")
    fields = _fields_of(spec, found, overrides or {})
    report = Report(kind="verify-receiver", target=spec, url=url)
    driver = _Driver(url, headers or {}, timeout, report)
    started = time.perf_counter()
    not_given: dict[str, None] = {}  # credential fields no --set gave, as --set names them
    try:
        for kind in found:
            given = fields[id(kind)]
            checker = _Kind(kind, driver, report, on_result or (lambda ok: None), given)
            checker.drive()
            not_given.update(dict.fromkeys(field_name(p) for p in checker.not_given))
    finally:
        driver.client.close()
        report.duration_seconds = time.perf_counter() - started
    if not_given:
        names = ", ".join(not_given)
        report.leave_out(
            "check",
            WRONG_CREDENTIAL,
            f"no --set {names}: verify-receiver does not know the receiver's own {names} (the spec shows "
            f"an example), so it sent no delivery with a wrong one (give it: {_flags(not_given)})",
        )
    return report


def _flags(names: Iterable[str]) -> str:
    return " ".join(f"--set {name}={YOUR_TOKEN}" for name in names)


def _wrong(value: Any) -> Any:
    """The right credential with more after it: a receiver that compares only its start takes it."""
    if isinstance(value, int) and not isinstance(value, bool):
        return int(f"{value}1")
    return (value if isinstance(value, str) else json.dumps(value)) + WRONG_SUFFIX


class _Kind:
    """Every delivery of one kind, judged into the report."""

    def __init__(
        self,
        kind: CallbackKind,
        driver: _Driver,
        report: Report,
        tick: Callable[[bool], None],
        given: _Fields,
    ) -> None:
        self.kind = kind
        self.driver = driver
        self.report = report
        self.tick = tick
        self.given = given
        self.label = f"{kind.method} {kind.api}.{kind.name} ({kind.operation_id})"
        self.expected_ok = " or ".join(f"HTTP {s}" for s in kind.success_status)
        self.credentials = kind.callback.credential_fields
        self.not_given = given.credentials_not_given(kind)
        # A wrong credential is refused as the callback documents, else with HTTP's own refusals.
        self.refusal = kind.callback.credential_refusal or (401, 403)
        self.refused: list[tuple[str, int]] = []  # valid deliveries refused so: (case, status)

    def judge(
        self,
        rule: str,
        case: str,
        response: httpx.Response | None,
        curl: str,
        ok: bool,
        expected: str,
        detail: str = "",
    ) -> None:
        self.report.record(self.label, rule, ok)
        self.tick(ok)
        if ok:
            return
        got = (
            "no answer within the timeout"
            if response is None
            else describe(response.status_code, response.headers, response.content)
        )
        title = f"{case}: {got.split(':', 1)[0]}"
        self.report.add_violation(
            Violation(self.label, rule, title, expected, got, message=detail, curl=curl, phase=case)
        )

    def server_error(self, case: str, response: httpx.Response | None, curl: str) -> None:
        ok = response is not None and response.status_code < 500
        self.judge("no_server_error", case, response, curl, ok, RULES["no_server_error"])

    def accepted(
        self, rule: str, case: str, response: httpx.Response | None, curl: str, expected: str
    ) -> None:
        """A valid delivery's answer must be a documented success. One refused as the callback refuses a
        wrong credential, while it carried the example's (no --set gave the receiver's own), is not
        judged: a correct receiver refuses the example's token. Given the receiver's own, it is a
        violation that says which value to look at."""
        ok = response is not None and response.status_code in self.kind.success_status
        detail = ""
        if not ok and response is not None and self.credentials and response.status_code in self.refusal:
            if self.not_given:
                self.report.record(self.label, rule, None)
                self.refused.append((case, response.status_code))
                return
            names = ", ".join(field_name(p) for p in self.credentials)
            flags = ", ".join(f"--set {self.given.names[field_path(p)]}" for p in self.credentials)
            detail = (
                f"HTTP {response.status_code} is how the spec says the receiver refuses a wrong {names}: "
                f"is the value given with {flags} the one the receiver is configured with?"
            )
        self.judge(rule, case, response, curl, ok, expected, detail)

    def send(self, payload: Any) -> tuple[httpx.Response | None, str]:
        return self.driver.send(self.kind, *self.kind.encode(payload))

    def drive(self) -> None:
        kind = self.kind
        examples = kind.examples()
        if not examples:
            self._never_sent()
            return
        example = next(iter(examples.values()))
        first = self.given.apply(example)
        valid = {name: self.given.apply(payload) for name, payload in examples.items()}
        minimal = self.given.apply(_minimal(kind, example))
        if minimal != first:
            required = set(kind.required_fields())
            extra = any(path[0] not in required for path, _ in self.given.values)
            valid["minimal (required fields" + (" and those --set)" if extra else " only)")] = minimal

        if not self.not_given:
            self._wrong_credentials(first)
        for name, payload in valid.items():
            response, curl = self.send(payload)
            expected = f"{self.expected_ok} for a valid delivery"
            self.accepted("valid_callback_accepted", f"valid {name}", response, curl, expected)
            self.server_error(f"valid {name}", response, curl)

        invalid: dict[str, tuple[str, dict[str, str], bytes | None]] = {}
        wrong = _wrong_type(kind, first)
        if wrong is not None:
            invalid["a field of the wrong type"] = kind.encode(wrong)
        invalid["no fields at all"] = kind.encode({})
        body_spec = kind.body_spec()
        if body_spec is not None:
            media_type = body_spec[0]
            invalid["a body that does not parse"] = (
                "",
                {"content-type": media_type},
                _unparseable(media_type),
            )
        for name, (query, extra_headers, body) in invalid.items():
            response, curl = self.driver.send(kind, query, extra_headers, body)
            ok = response is not None and response.status_code < 500
            rule = "invalid_callback_no_5xx"
            self.judge(rule, f"invalid: {name}", response, curl, ok, RULES[rule])

        response, curl = self.send(first)
        expected = f"{self.expected_ok} for a duplicate"
        self.accepted("duplicate_accepted", "the same delivery again", response, curl, expected)
        self.server_error("duplicate", response, curl)

        self._retry(self.given.apply(_retry_payload(kind, first)))
        if self.refused:
            self._credential_refused(example)

    def _never_sent(self) -> None:
        # Every delivery is built from an example: with none, the receiver was sent nothing of this kind,
        # so the run cannot vouch for it.
        kind = self.kind
        what = (
            f"the {kind.name} webhook"
            if kind.source is None
            else f"the {kind.name} callback of {kind.source}"
        )
        self.report.inconclusive.append(
            Inconclusive(
                scope="operation",
                name=self.label,
                reason=(
                    f"never sent: the spec gives {what} ({kind.operation_id}) no example payload "
                    "(neither of its request body nor of its query parameters), and verify-receiver "
                    "builds every delivery it sends from one"
                ),
            )
        )

    def _wrong_credentials(self, first: Any) -> None:
        """The receiver's own credential given: the same delivery with it wrong, before any other of this
        kind (so that nothing the receiver took already stands for it), must be refused."""
        what = "webhook" if self.kind.callback.is_webhook else "callback"
        documented = (
            f" (the refusal the {what} documents)"
            if self.kind.callback.credential_refusal
            else f" (the {what} documents no 4xx: HTTP's refusals of credentials)"
        )
        for pointer in self.credentials:
            path, name = field_path(pointer), field_name(pointer)
            response, curl = self.send(_with(first, path, _wrong(_lookup(first, path)[1])))
            case = f"a wrong {name} (the one given, with more after it)"
            ok = response is not None and response.status_code in self.refusal
            expected = " or ".join(f"HTTP {s}" for s in self.refusal) + documented + f" for a wrong {name}"
            self.judge(WRONG_CREDENTIAL, case, response, curl, ok, expected)
            self.server_error(case, response, curl)

    def _credential_refused(self, example: Any) -> None:
        """Valid deliveries carrying the example's credential got the documented refusal: inconclusive,
        with the flag that gives the receiver's own."""
        names = [field_name(p) for p in self.not_given]
        carried = ", ".join(f"{field_name(p)} {_lookup(example, field_path(p))[1]!r}" for p in self.not_given)
        statuses = " or ".join(str(s) for s in dict.fromkeys(status for _, status in self.refused))
        cases = "; ".join(case for case, _ in self.refused)
        self.report.inconclusive.append(
            Inconclusive(
                scope="operation",
                name=self.label,
                reason=(
                    f"{len(self.refused)} valid deliveries ({cases}) were answered {statuses}, the refusal "
                    f"the spec documents for a wrong {', '.join(names)}: they carried the spec example's "
                    f"{carried}, not the one the receiver is configured with; give it with {_flags(names)}"
                ),
            )
        )

    def _retry(self, retried: Any) -> None:
        """A retry: the sender gives up on the first attempt (written whole, its answer never read), then
        sends the same delivery again a moment later."""
        failure = self.driver.give_up(self.kind, *self.kind.encode(retried))
        if failure is not None:
            # No attempt was given up on, so a retry would be one more delivery: retry_accepted is not
            # judged.
            self.report.record(self.label, "retry_accepted", None)
            self.report.inconclusive.append(
                Inconclusive(
                    scope="operation",
                    name=self.label,
                    reason=(
                        "retry never judged: the first attempt of the retried delivery, the one the sender "
                        f"gives up on, could not be sent ({failure}), so the receiver got no retry after an "
                        "attempt given up on"
                    ),
                )
            )
            return
        response, curl = self.send(retried)
        case = "a retry after an attempt the sender gave up on"
        self.accepted("retry_accepted", case, response, curl, f"{self.expected_ok} for the retry")
        self.server_error("retry", response, curl)


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
