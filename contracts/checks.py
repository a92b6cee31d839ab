"""Checks Schemathesis cannot express on its own, registered the same way as its own (``@check``).

They read the vendor's rules from the spec's ``x-mockline.errors`` block and send a few probe requests of
their own (without credentials, a created id used again, a DELETE repeated), so they need to know the
run's base URL and credentials: :func:`bind` attaches a :class:`VerifyContext` to a loaded schema and
the checks find it through the case. A case whose schema has no context (someone else's Schemathesis
run in the same process) is left alone.

Every failure is a :class:`Violated`, which carries what the rule expected, what came back and a curl
command for the request that showed it. A check with nothing to judge returns True, which Schemathesis
records as no judgement at all: the report shows it as "not applicable", never as a pass.

Every probe goes through the run's :class:`~contracts.traffic.Traffic` (pacing, ``Retry-After``, the
follow-up list the reports print) and gets its URL from :mod:`contracts.urls`; the ``before_call`` and
``after_call`` hooks at the end put Schemathesis' own requests through the same Traffic.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import shlex
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
import schemathesis
from schemathesis.core.failures import Failure

from contracts import model, patterns
from contracts.errorshape import ErrorShape
from contracts.model import to_json_schema
from contracts.traffic import Traffic, retry_after_seconds
from contracts.urls import case_path_values, request_url

_FORMATS = model.FORMAT_CHECKER

# The rules this module adds, with what each expects. The runner reports them next to Schemathesis' own.
RULES: dict[str, str] = {
    "vendor_error_envelope": "every error response in the vendor's error shape (x-mockline.errors.template)",
    "auth_failure_status": "the documented auth failure status for a request without valid credentials",
    "auth_failure_message": "the documented auth failure message for a request without valid credentials",
    "created_id_usable": "an id answered by a create to be found by the operations that address it",
    "deleted_id_gone": "404 when an id that was just deleted is deleted again",
}

_INVALID_SECRET = "mockline-verify-invalid-credential"
# Appended to the run's own secret to make a wrong one: a server that compares only the start of a key
# (``startswith``, a truncated compare) lets it in, one that compares the whole key does not.
_WRONG_SUFFIX = "-mockline-verify-invalid"
_PROBES_PER_PAIR = 2
_RATE_LIMIT_RETRIES = 3  # a probe answered 429 with Retry-After is sent again after the wait, this often
_TRANSPORT_HEADERS = {"user-agent", "accept-encoding", "accept", "connection", "content-length"}


class Violated(Failure):
    """A mockline rule was broken."""

    code = "ML900"
    kind_title = "mockline rule broken"

    def __init__(
        self,
        *,
        operation: str,
        rule: str,
        title: str,
        expected: str,
        got: str,
        curl: str = "",
        message: str = "",
    ) -> None:
        super().__init__(
            operation=operation, title=title, message=message or f"Expected {expected}; got {got}"
        )
        self.rule = rule
        self.expected = expected
        self.got = got
        self.curl = curl

    @property
    def _unique_key(self) -> str:
        return f"{self.rule}|{self.title}"


@dataclass
class VerifyContext:
    """What the checks need to know about one run."""

    document: Mapping[str, Any]
    base_url: str
    credentials: Mapping[str, str]  # headers that carry the credentials the run was given
    timeout: float = 10.0
    errors: ErrorShape | None = None
    traffic: Traffic = field(default_factory=Traffic)
    _auth_probes: dict[str, tuple[int, Any, str]] = field(default_factory=dict)
    _pair_counts: dict[tuple[str, str], int] = field(default_factory=dict)
    # (create, use) pairs a follow-up judged: the use found the created id (2xx) or lost it (404, 410)
    judged_pairs: set[tuple[str, str]] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.errors is None:
            self.errors = ErrorShape.from_document(self.document)

    @functools.cached_property
    def contract(self) -> model.Contract:
        """The run's document read once into the contract model (operations, resolved)."""
        return model.from_document(str(self.document.get("info", {}).get("title", "api")), self.document)

    def errors_status(self) -> int:
        return self.errors.auth_status if self.errors is not None else 401


_CONTEXTS: dict[int, VerifyContext] = {}


def bind(schema: Any, context: VerifyContext) -> None:
    """Make ``context`` the one the checks use for cases of ``schema``."""
    _CONTEXTS[id(schema.raw_schema)] = context


def unbind(schema: Any) -> None:
    _CONTEXTS.pop(id(schema.raw_schema), None)


def context_of(case: Any) -> VerifyContext | None:
    return _CONTEXTS.get(id(case.operation.schema.raw_schema))


# --- helpers -------------------------------------------------------------------------------------------


def curl_command(method: str, url: str, headers: Mapping[str, str], body: bytes | str | None) -> str:
    parts = ["curl", "-X", method.upper(), shlex.quote(url)]
    for name, value in headers.items():
        parts += ["-H", shlex.quote(f"{name}: {value}")]
    if body:
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        parts += ["-d", shlex.quote(text)]
    return " ".join(parts)


def describe(status: int, headers: Mapping[str, Any], content: bytes, limit: int = 300) -> str:
    content_type = headers.get("content-type", "")
    if isinstance(content_type, list):
        content_type = content_type[0] if content_type else ""
    text = content.decode("utf-8", "replace")
    if len(text) > limit:
        text = text[:limit] + "..."
    return f"HTTP {status}" + (f" ({content_type})" if content_type else "") + (f": {text}" if text else "")


def _json(content: bytes) -> Any:
    try:
        return json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def _operation_document(case: Any) -> Mapping[str, Any]:
    return case.operation.definition.raw  # type: ignore[no-any-return]


def _security(case: Any, document: Mapping[str, Any]) -> list[Any]:
    raw = _operation_document(case)
    security = raw.get("security", document.get("security")) or []
    return list(security)


def _requires_credentials(case: Any, document: Mapping[str, Any]) -> bool:
    security = _security(case, document)
    return bool(security) and all(requirement for requirement in security)


def _credential_header_names(context: VerifyContext) -> set[str]:
    names = {name.lower() for name in context.credentials}
    schemes = (context.document.get("components") or {}).get("securitySchemes") or {}
    for scheme in schemes.values():
        if scheme.get("type") == "apiKey" and scheme.get("in") == "header":
            names.add(str(scheme.get("name", "")).lower())
        elif scheme.get("type") in {"http", "oauth2", "openIdConnect"}:
            names.add("authorization")
    return names


def _send(
    context: VerifyContext,
    kwargs: Mapping[str, Any],
    *,
    check: str,
    operation: str,
    counted_as: str | None = None,
) -> tuple[requests.Response, str]:
    """Send a probe through the run's pacing; wait out a 429's Retry-After and send it again.

    ``counted_as`` names the operation the probe is a real request of (a linked follow-up, sent with
    the run's credentials): its answer is then evidence for that operation too."""
    args = dict(kwargs)
    args.pop("auth", None)
    traffic = context.traffic
    for attempt in range(_RATE_LIMIT_RETRIES + 1):
        traffic.before_request()
        response = requests.request(timeout=context.timeout, allow_redirects=False, **args)
        prepared = response.request
        body = prepared.body if isinstance(prepared.body, bytes | str) else None
        raw = body.encode("utf-8") if isinstance(body, str) else body
        traffic.after_response(
            operation=counted_as,
            method=str(prepared.method),
            url=str(prepared.url),
            request_headers={k: str(v) for k, v in prepared.headers.items()},
            request_body=raw,
            status=response.status_code,
            response_headers=list(response.headers.items()),
            response_body=response.content,
            elapsed=response.elapsed.total_seconds(),
            follow_up_of=(check, operation),
        )
        # after_response made the pacer hold for the Retry-After; the next before_request waits it out.
        retry_after = retry_after_seconds(response.headers.get("retry-after", ""))
        if response.status_code != 429 or retry_after is None or attempt == _RATE_LIMIT_RETRIES:
            break
    headers = {k: str(v) for k, v in prepared.headers.items() if k.lower() not in _TRANSPORT_HEADERS}
    curl = curl_command(str(prepared.method), str(prepared.url), headers, body)
    return response, curl


def _case_url(case: Any, context: VerifyContext, kwargs: Mapping[str, Any]) -> str:
    """The case's URL with its path values encoded by :func:`contracts.urls.request_url` (decoded once
    from Schemathesis' own encoding), its query string as Schemathesis built it."""
    url = request_url(context.base_url, case.operation.path, case_path_values(case))
    if url is None:
        return str(kwargs["url"])
    query = urlsplit(str(kwargs["url"])).query
    return url + (f"?{query}" if query else "")


def _request_kwargs(case: Any, context: VerifyContext) -> dict[str, Any]:
    kwargs: dict[str, Any] = case.as_transport_kwargs(base_url=context.base_url)
    kwargs["url"] = _case_url(case, context, kwargs)
    headers = dict(kwargs.get("headers") or {})
    present = {name.lower() for name in headers}
    for name, value in context.credentials.items():
        if name.lower() not in present:
            headers[name] = value
    kwargs["headers"] = headers
    return kwargs


def _is_success(status: int) -> bool:
    return 200 <= status < 300


def _content_type(response: Any) -> str:
    value = response.headers.get("content-type", "")
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value).split(";", 1)[0].strip().lower()


def _documented_response(case: Any, document: Mapping[str, Any], status: int) -> Mapping[str, Any]:
    """The response the operation documents for ``status`` (its code, its range's ``NXX``, else
    ``default``), references resolved; empty when none."""
    responses = _operation_document(case).get("responses") or {}
    for key in (str(status), f"{str(status)[0]}XX", "default"):
        if key in responses:
            return model.resolve(document, responses[key]) or {}
    return {}


def _documented_media_types(case: Any, document: Mapping[str, Any], status: int) -> set[str]:
    return set((_documented_response(case, document, status).get("content") or {}).keys())


def keep_failure(failure: Any, case: Any, response: Any) -> bool:
    """Whether a failure stands. Three kinds do not:

    - a 5xx that the vendor documents for the operation, answering a request that follows the schema,
      in the vendor's error shape: Ryng, for one, documents 500 with ``Call ID does not exist``
      (a 5xx for schema-breaking input always stands);
    - an accepted "negative" case that Schemathesis generated as positive (its stateful phase can
      label a follow-up request with another case's mode);
    - an accepted "negative" form or multipart body whose only offence is a JSON type: on the wire
      every form value is text, so ``agents=true`` is the valid string ``"true"``.
    """
    kind = type(failure).__name__
    if kind == "AcceptedNegativeData":
        return _negative_on_the_wire(case)
    if kind != "ServerError" or response is None:
        return True
    context = context_of(case)
    if context is None or context.errors is None:
        return True
    status = response.status_code
    responses = _operation_document(case).get("responses") or {}
    if str(status) not in responses and f"{str(status)[0]}XX" not in responses:
        return True
    meta = case.meta
    if meta is None or meta.generation.mode.is_negative:
        return True
    if any(info.mode.is_negative for info in meta.components.values()):
        return True
    if _content_type(response) != context.errors.media_type:
        return True
    return bool(context.errors.envelope_problems(_json(response.content), status))


_FORM_TYPES = {"multipart/form-data", "application/x-www-form-urlencoded"}


def _negative_on_the_wire(case: Any) -> bool:
    meta = case.meta
    positive = meta is not None and not meta.generation.mode.is_negative
    if positive and not any(info.mode.is_negative for info in meta.components.values()):
        return False
    if (case.media_type or "").split(";")[0] not in _FORM_TYPES or not isinstance(case.body, Mapping):
        return True
    content = (_operation_document(case).get("requestBody") or {}).get("content", {})
    schema = (content.get(case.media_type.split(";")[0]) or {}).get("schema")
    context = context_of(case)
    if schema is None or context is None:
        return True
    resolved = to_json_schema(model.resolve(context.document, schema))
    properties = resolved.get("properties", {})
    as_sent = {name: _as_form_value(value, properties.get(name, {})) for name, value in case.body.items()}
    return not patterns.Draft4(resolved, format_checker=_FORMATS).is_valid(as_sent)


def _as_form_value(value: Any, schema: Mapping[str, Any]) -> Any:
    """What a server reads from one form field: text, typed as its schema says where the text allows."""
    if isinstance(value, list) and schema.get("type") == "array":
        return [_as_form_value(item, schema.get("items", {})) for item in value]
    if isinstance(value, bytes):
        text = value.decode("utf-8", "replace")
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(value) if isinstance(value, dict | list | bool) or value is None else str(value)
    kind = schema.get("type")
    try:
        if kind == "integer":
            return int(text)
        if kind == "number":
            return float(text)
    except ValueError:
        return text
    if kind == "boolean" and text in {"true", "false"}:
        return text == "true"
    return text


# --- the checks ----------------------------------------------------------------------------------------


@schemathesis.check
def vendor_error_envelope(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx and 5xx answer is the vendor's error template filled in."""
    context = context_of(case)
    if context is None or context.errors is None or response.status_code < 400:
        return True  # nothing to judge: not applicable
    rules = context.errors
    media_type = _content_type(response)
    documented = _documented_media_types(case, context.document, response.status_code)
    if media_type != rules.media_type and media_type in documented:
        return True  # this operation documents another error shape here (an OAuth2 error, say)
    got = describe(response.status_code, response.headers, response.content)
    if media_type != rules.media_type:
        raise Violated(
            operation=case.operation.label,
            rule="vendor_error_envelope",
            title=f"Error response is not {rules.media_type}",
            expected=f"Content-Type {rules.media_type} on a {response.status_code} answer",
            got=got,
        )
    problems = rules.envelope_problems(_json(response.content), response.status_code)
    if problems:
        raise Violated(
            operation=case.operation.label,
            rule="vendor_error_envelope",
            title="Error response is not in the vendor's error shape",
            expected=f"the error template {json.dumps(dict(rules.template))} filled in",
            got=got,
            message="; ".join(problems),
        )
    return None


_AUTH_PROBE = "auth_failure_status"  # the probe both auth checks judge is listed under this name


def _wrong_credential(name: str, given: str | None) -> str:
    """A wrong value for the credential header ``name``, in the scheme of the run's own value ``given``:
    Basic keeps the user and gets a wrong password, a Bearer token or a key gets a wrong token, each the
    right one with more after it. A header the run gave no value for gets a made-up one."""
    if given is None:
        return f"Bearer {_INVALID_SECRET}" if name == "authorization" else _INVALID_SECRET
    scheme, sep, value = given.partition(" ")
    if name != "authorization" or not sep:
        return given + _WRONG_SUFFIX
    if scheme.lower() == "basic":
        try:
            pair = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            pair = ""
        if ":" in pair:
            return f"{scheme} " + base64.b64encode((pair + _WRONG_SUFFIX).encode("utf-8")).decode("ascii")
    return given + _WRONG_SUFFIX


def _auth_probe(case: Any, response: Any, context: VerifyContext) -> tuple[int, Any, str, str] | None:
    """The operation's request once more, with its credentials left out (then with wrong ones).

    None when there is nothing to probe (the answer was no success, the operation needs no
    credentials) or when the probe itself was rate limited, which proves nothing either way.
    """
    if not _is_success(response.status_code) or not _requires_credentials(case, context.document):
        return None
    label = case.operation.label
    with context._lock:
        cached = context._auth_probes.get(label)
    if cached is None:
        names = _credential_header_names(context)
        kwargs = _request_kwargs(case, context)
        headers = {k: v for k, v in kwargs["headers"].items() if k.lower() not in names}
        worst: tuple[int, Any, str] | None = None
        given = {k.lower(): v for k, v in context.credentials.items()}
        for wrong in (False, True):
            attempt = dict(headers)
            if wrong:
                for name in names:
                    attempt[name] = _wrong_credential(name, given.get(name))
            probe, curl = _send(context, {**kwargs, "headers": attempt}, check=_AUTH_PROBE, operation=label)
            if probe.status_code == 429:
                return None
            result = (probe.status_code, probe, curl)
            if worst is None or probe.status_code != context.errors_status():
                worst = result
            if probe.status_code != context.errors_status():
                break
        assert worst is not None
        cached = worst
        with context._lock:
            context._auth_probes[label] = cached
    status, probe, curl = cached
    return status, probe, curl, label


@schemathesis.check
def auth_failure_status(ctx: Any, response: Any, case: Any) -> bool | None:
    """A request without valid credentials gets the documented auth failure status."""
    context = context_of(case)
    if context is None or context.errors is None:
        return True
    found = _auth_probe(case, response, context)
    if found is None:
        return True
    status, probe, curl, label = found
    expected = context.errors.auth_status
    if status != expected:
        raise Violated(
            operation=label,
            rule="auth_failure_status",
            title=f"Missing or wrong credentials answered {status}, not {expected}",
            expected=f"HTTP {expected} when the credentials are missing or wrong",
            got=describe(status, probe.headers, probe.content),
            curl=curl,
        )
    return None


@schemathesis.check
def auth_failure_message(ctx: Any, response: Any, case: Any) -> bool | None:
    """The auth failure says what the vendor documents."""
    context = context_of(case)
    if context is None or context.errors is None or not context.errors.auth_message:
        return True
    found = _auth_probe(case, response, context)
    if found is None:
        return True
    status, probe, curl, label = found
    rules = context.errors
    field_name = rules.message_field
    if status != rules.auth_status or field_name is None:
        return True  # the status is wrong already (auth_failure_status says so): no message to judge
    body = _json(probe.content)
    message = body.get(field_name) if isinstance(body, Mapping) else None
    if not isinstance(message, str) or not message.startswith(rules.auth_message):
        raise Violated(
            operation=label,
            rule="auth_failure_message",
            title="Auth failure does not carry the documented message",
            expected=f"{field_name!r} starting with {rules.auth_message!r}",
            got=describe(status, probe.headers, probe.content),
            curl=curl,
        )
    return None


def _find_key(value: Any, key: str, depth: int = 0) -> Any:
    if depth > 3:
        return None
    if isinstance(value, Mapping):
        if key in value and isinstance(value[key], str | int) and not isinstance(value[key], bool):
            return value[key]
        for item in value.values():
            found = _find_key(item, key, depth + 1)
            if found is not None:
                return found
    return None


def _pointer(document: Any, pointer: str) -> Any:
    current = document
    for part in pointer.lstrip("/").split("/"):
        if not part:
            continue
        try:
            current = model.child(current, model.unescape_token(part))
        except model.UnresolvableRef:
            return None
    return current


FollowUp = tuple[str, str, model.Operation, dict[str, Any], Any]  # path, method, operation, values, body


def link_value(expression: Any, body: Any, known: Mapping[str, Any]) -> Any:
    """A link's runtime expression evaluated on the create's answer (``$response.body#/...``) and
    request path (``$request.path.NAME``); a literal, or an object of them, as it stands."""
    if isinstance(expression, Mapping):
        return {key: link_value(value, body, known) for key, value in expression.items()}
    if not isinstance(expression, str):
        return expression
    if expression.startswith("$response.body#"):
        return _pointer(body, expression[len("$response.body#") :])
    if expression == "$response.body":
        return body
    if expression.startswith("$request.path."):
        return known.get(expression[len("$request.path.") :])
    return expression


def _follow_ups(case: Any, body: Any, context: VerifyContext) -> tuple[list[FollowUp], bool]:
    """Operations that address what this response created, with their raw path values filled in, and
    whether the spec declared them (OpenAPI ``links``) rather than this module guessing them by path.

    The values are raw: the case's own path values decoded once from Schemathesis' encoding, the
    created ids as the server answered them. :func:`contracts.urls.request_url` encodes them once.
    A link's ``requestBody`` (an object of runtime expressions) is evaluated into the body part it
    fills in; None when the link names no body.
    """
    raw = _operation_document(case)
    known: dict[str, Any] = case_path_values(case)
    source_path = case.operation.path.rstrip("/")
    contract = context.contract
    found = []
    links: dict[str, Any] = {}
    for response in (raw.get("responses") or {}).values():
        links.update((model.resolve(context.document, response) or {}).get("links") or {})
    for link in links.values():
        target = contract.by_id.get(link.get("operationId"))
        if target is None:
            continue
        values = dict(known)
        for name, expression in (link.get("parameters") or {}).items():
            values[name.rpartition(".")[2]] = link_value(expression, body, known)  # "path.id" or "id"
        filled = link_value(link["requestBody"], body, known) if "requestBody" in link else None
        found.append((target.path, target.method.lower(), target, values, filled))
    if found:
        return found, True
    for op in contract.operations:
        path = op.path
        names = [p.name for p in op.parameters if p.location == "path"]
        if path.rstrip("/") == source_path or not path.startswith(source_path + "/") or not names:
            continue
        values = dict(known)
        for name in names:
            if name not in values:
                values[name] = _find_key(body, name)
            if values.get(name) is None and name.lower().endswith("id") and isinstance(body, Mapping):
                values[name] = body.get("id")  # {event_id} addressed by the "id" of the created event
        if all(values.get(name) is not None for name in names) and any(n not in known for n in names):
            found.append((path, op.method.lower(), op, values, None))
    return found, False


def _example_body(op: model.Operation) -> tuple[str, Any] | None:
    for media_type, media in (op.request_body.content if op.request_body else {}).items():
        if media.examples:
            return media_type, next(iter(media.examples.values()))
    return None


@schemathesis.check
def created_id_usable(ctx: Any, response: Any, case: Any) -> bool | None:
    """An id answered by a create is found again by the operations that address it: a success answer to
    the follow-up passes, a 404 or 410 fails, any other answer (403, 409, 429, 5xx) judges nothing."""
    context = context_of(case)
    if context is None or case.operation.method.lower() not in {"post", "put"}:
        return True
    if not _is_success(response.status_code):
        return True
    body = _json(response.content)
    if not isinstance(body, Mapping):
        return True
    label = case.operation.label
    found, declared = _follow_ups(case, body, context)
    # One follow-up, reading the resource back where the spec allows it: the scenario goes on with what
    # it created (a delete here would pull it from under the stateful phase's next step). The links
    # phase plays every declared pair.
    order = {"get": 0, "patch": 1, "put": 2, "post": 3, "delete": 4}
    targets = sorted(found, key=lambda t: (order.get(t[1], 3), t[0]))
    judged = False
    for path, method, op, values, filled in targets[:1]:
        pair = (label, f"{method.upper()} {path}")
        with context._lock:
            count = context._pair_counts.get(pair, 0)
            if count >= _PROBES_PER_PAIR:
                continue
            context._pair_counts[pair] = count + 1
        url = request_url(context.base_url, path, values)
        if url is None:
            continue
        headers = dict(context.credentials)
        data: bytes | None = None
        example = _example_body(op)
        if example is not None:
            media_type, value = example
            if not media_type.endswith("json"):
                continue
            if isinstance(filled, Mapping) and isinstance(value, Mapping):
                value = {**value, **filled}  # the link's body values over the documented example
            elif filled is not None:
                value = filled
            headers["Content-Type"] = media_type
            data = json.dumps(value).encode("utf-8")
        elif method in {"put", "patch", "post"} and op.request_body is not None and op.request_body.required:
            continue
        probe, curl = _send(
            context,
            {"method": method.upper(), "url": url, "headers": headers, "data": data},
            check="created_id_usable",
            operation=label,
            counted_as=f"{method.upper()} {path}" if declared else None,
        )
        # Only a success shows the id was found, and only a 404 or 410 that it was lost: any other answer
        # (a 403, a 409, a 429, a 500) proves nothing either way about the id, and is not a pass.
        if probe.status_code in {404, 410} or _is_success(probe.status_code):
            with context._lock:
                context.judged_pairs.add(pair)
        if _is_success(probe.status_code):
            judged = True
        elif probe.status_code in {404, 410}:
            raise Violated(
                operation=label,
                rule="created_id_usable",
                title=f"{method.upper()} {path} does not find what {label} created",
                expected=f"{method.upper()} {path} to find the id {label} answered ({values})",
                got=describe(probe.status_code, probe.headers, probe.content),
                curl=curl,
            )
    return None if judged else True


@schemathesis.check
def deleted_id_gone(ctx: Any, response: Any, case: Any) -> bool | None:
    """Deleting what was just deleted answers 404, where the operation documents 404."""
    context = context_of(case)
    if context is None or case.operation.method.lower() != "delete" or not _is_success(response.status_code):
        return True
    if not case.path_parameters or "404" not in (_operation_document(case).get("responses") or {}):
        return True
    label = case.operation.label
    with context._lock:
        count = context._pair_counts.get((label, label), 0)
        if count >= _PROBES_PER_PAIR:
            return True
        context._pair_counts[(label, label)] = count + 1
    probe, curl = _send(context, _request_kwargs(case, context), check="deleted_id_gone", operation=label)
    if probe.status_code == 429:
        return True
    if probe.status_code != 404:
        raise Violated(
            operation=label,
            rule="deleted_id_gone",
            title="Deleting a deleted id again did not answer 404",
            expected="HTTP 404 for the id that was just deleted",
            got=describe(probe.status_code, probe.headers, probe.content),
            curl=curl,
        )
    return None


# --- plain-text answers -----------------------------------------------------------------------------------


def _documented_schema(case: Any, document: Mapping[str, Any], status: int, media_type: str) -> Any:
    """The schema the operation documents for ``status`` in ``media_type``, references resolved."""
    content = _documented_response(case, document, status).get("content") or {}
    media = content.get(media_type) or {}
    return model.resolve(document, media.get("schema")) if "schema" in media else None


@schemathesis.deserializer("text/plain")
def plain_text(ctx: Any, response: Any) -> str:
    """A ``text/plain`` answer read as the string it is, where the operation documents a string schema
    for it (Diyalog's verdict words: an ``enum``), so that ``response_schema_conformance`` judges the text
    instead of passing it unread (Schemathesis reads no plain text). Elsewhere (a run that is not
    mockline's, a schema of another type) it stays unread, as before."""
    case = getattr(ctx, "case", None)
    context = context_of(case) if case is not None else None
    if context is None:
        raise NotImplementedError("text/plain is read only in a mockline verify run")
    schema = _documented_schema(case, context.document, response.status_code, "text/plain")
    if not isinstance(schema, Mapping) or schema.get("type") != "string":
        raise NotImplementedError("text/plain is read only where the spec documents a string schema")
    return bytes(response.content).decode(response.encoding or "utf-8", "replace")


# --- hooks: every request Schemathesis sends goes through the run's pacing and evidence ------------------


@schemathesis.hook
def before_call(ctx: Any, case: Any, kwargs: Any) -> None:
    context = context_of(case)
    if context is not None:
        context.traffic.before_request()


@schemathesis.hook
def after_call(ctx: Any, case: Any, response: Any) -> None:
    context = context_of(case)
    if context is None:
        return
    request = response.request
    body = request.body if isinstance(request.body, bytes | str) else None
    context.traffic.after_response(
        operation=case.operation.label,
        method=str(request.method),
        url=str(request.url),
        request_headers={k: str(v) for k, v in request.headers.items()},
        request_body=body.encode("utf-8") if isinstance(body, str) else body,
        status=response.status_code,
        response_headers=[(k, v) for k, values in response.headers.items() for v in values],
        response_body=response.content,
        elapsed=response.elapsed,
        http_version=response.http_version,
        needs_credentials=_requires_credentials(case, context.document),
    )
