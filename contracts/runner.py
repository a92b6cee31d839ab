"""``mockline verify``'s engine: Schemathesis' phases and checks plus ours, as a stream of events.

:func:`verify` loads a spec (one of ours by name, or any OpenAPI file), points it at a base URL, obtains
credentials (a header, Basic, Bearer, or an OAuth2 client-credentials token from the spec's token URL),
and runs Schemathesis' examples, coverage, fuzzing and stateful phases with every built-in check and the
ones in :mod:`contracts.checks`, positive and negative data alike. It yields :class:`Event` objects while
it runs and ends with :class:`Finished`, whose :class:`~contracts.reporting.model.Report` holds the
conformance table and the violations. It never imports the mock: it speaks HTTP to whatever is there.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import httpx

import contracts.errors
from contracts import checks
from contracts.loaders import SpecNotFound, load_spec
from contracts.reporting.model import Report, Violation

DEFAULT_MAX_EXAMPLES = 20
PHASES = ("examples", "coverage", "fuzzing", "stateful")

# What each of Schemathesis' own checks expects, in the words the report uses.
EXPECTATIONS: dict[str, str] = {
    "not_a_server_error": "no 5xx answer, whatever the request",
    "status_code_conformance": "a status code the spec documents for this operation",
    "content_type_conformance": "a Content-Type the spec documents for this status",
    "response_headers_conformance": "the response headers the spec documents",
    "response_schema_conformance": "a body that validates against the documented schema",
    "negative_data_rejection": "a 4xx answer to a request that breaks the schema",
    "positive_data_acceptance": "a 2xx answer to a request that follows the schema",
    "missing_required_header": "a 4xx answer when a required header is missing",
    "unsupported_method": "405 for a method the path does not document",
    "allow_header_conformance": "an Allow header listing the documented methods on 405",
    "use_after_free": "404 for a resource after it was deleted",
    "ensure_resource_availability": "a created resource to be found by the operations that address it",
    "ignored_auth": "the request to be refused without valid credentials",
    "object_level_authorization": "one identity not reading what another created",
    "max_response_time": "an answer within the time limit",
    **checks.RULES,
}


class VerifyError(contracts.errors.ContractsError):
    """A usage or connection problem: the run could not start (exit code 2)."""


@dataclass
class VerifyOptions:
    spec: str
    base_url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    auth: str | None = None  # basic:USER:PASS | bearer:TOKEN | oauth2:ID:SECRET
    seed: int | None = None
    max_examples: int = DEFAULT_MAX_EXAMPLES
    operations: Sequence[str] = ()
    phases: Sequence[str] = PHASES
    workers: int = 1
    request_timeout: float = 10.0


@dataclass
class Event:
    """Something that happened during a run."""


@dataclass
class Started(Event):
    spec: str
    base_url: str
    operations: int
    seed: int


@dataclass
class PhaseStarted(Event):
    phase: str


@dataclass
class Tested(Event):
    """One scenario ran: an operation (or a stateful sequence) in one phase."""

    phase: str
    label: str
    ok: bool
    new_violations: list[Violation]


@dataclass
class Problem(Event):
    message: str


@dataclass
class Finished(Event):
    report: Report


def parse_header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise VerifyError(f"--header {text!r}: write it as 'NAME: VALUE'")
    return name.strip(), value.strip()


def credentials(document: Mapping[str, Any], options: VerifyOptions) -> dict[str, str]:
    """The headers that carry the run's credentials (``--header`` and ``--auth`` together)."""
    headers = dict(options.headers)
    if not options.auth:
        return headers
    kind, _, rest = options.auth.partition(":")
    kind = kind.lower()
    if kind == "basic" and ":" in rest:
        user, _, password = rest.partition(":")
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    elif kind == "bearer" and rest:
        headers["Authorization"] = f"Bearer {rest}"
    elif kind == "oauth2" and ":" in rest:
        client_id, _, secret = rest.partition(":")
        headers["Authorization"] = f"Bearer {_oauth2_token(document, options, client_id, secret)}"
    else:
        raise VerifyError(
            f"--auth {options.auth!r}: use basic:USER:PASS, bearer:TOKEN or oauth2:CLIENT_ID:SECRET"
        )
    return headers


def token_url(document: Mapping[str, Any], base_url: str) -> str:
    schemes = (document.get("components") or {}).get("securitySchemes") or {}
    for scheme in schemes.values():
        if scheme.get("type") != "oauth2":
            continue
        flows = scheme.get("flows") or {}
        flow: Mapping[str, Any] = flows.get("clientCredentials") or next(iter(flows.values()), {})
        url = str(flow.get("tokenUrl") or "")
        if url:
            if urlparse(url).scheme:
                return url
            return base_url.rstrip("/") + "/" + url.lstrip("/")
    raise VerifyError("--auth oauth2: the spec declares no OAuth2 token URL")


def _oauth2_token(document: Mapping[str, Any], options: VerifyOptions, client_id: str, secret: str) -> str:
    url = token_url(document, options.base_url)
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    try:
        response = httpx.post(url, data=form, timeout=options.request_timeout)
    except httpx.HTTPError as exc:
        raise VerifyError(f"cannot get an OAuth2 token from {url}: {exc}") from exc
    try:
        token = response.json().get("access_token")
    except ValueError:
        token = None
    if response.status_code != 200 or not isinstance(token, str) or not token:
        raise VerifyError(
            f"the token endpoint {url} did not issue a token: HTTP {response.status_code} {response.text[:200]}"
        )
    return token


def select_operations(document: dict[str, Any], filters: Sequence[str]) -> int:
    """Keep the operations named by ``filters`` (operationId, 'METHOD /path' or a path fragment)."""
    kept = 0
    for path in list(document.get("paths") or {}):
        item = document["paths"][path]
        for method in [m for m in item if m in {"get", "put", "post", "patch", "delete", "head", "options"}]:
            operation = item[method]
            names = {str(operation.get("operationId", "")), f"{method.upper()} {path}"}
            if filters and not any(f in names or (f.startswith("/") and f in path) for f in filters):
                del item[method]
            else:
                kept += 1
        if not any(m in item for m in ("get", "put", "post", "patch", "delete", "head", "options")):
            del document["paths"][path]
    return kept


def _reachable(base_url: str, timeout: float) -> None:
    parsed = urlparse(base_url)
    if parsed.scheme not in {"http", "https"} or not parsed.netloc:
        raise VerifyError(f"--base-url {base_url!r} is not an http(s) URL")
    try:
        httpx.get(base_url, timeout=timeout)
    except httpx.HTTPError as exc:
        raise VerifyError(f"cannot reach {base_url}: {exc}") from exc


def verify(options: VerifyOptions) -> Iterator[Event]:
    """Run every phase against ``options.base_url``; the last event is :class:`Finished`."""
    import schemathesis
    from schemathesis.engine import Status, events, from_schema

    try:
        document = load_spec(options.spec)
    except SpecNotFound as exc:
        raise VerifyError(str(exc)) from exc
    unknown = [p for p in options.phases if p not in PHASES]
    if unknown:
        raise VerifyError(f"unknown phase {', '.join(unknown)}: choose from {', '.join(PHASES)}")
    if select_operations(document, options.operations) == 0:
        raise VerifyError(f"no operation of {options.spec} matches {', '.join(options.operations)}")
    base_url = options.base_url.rstrip("/")
    _reachable(base_url, options.request_timeout)
    headers = credentials(document, options)
    document.pop("servers", None)

    config: dict[str, Any] = {
        "base-url": base_url,
        "headers": headers,
        "workers": options.workers,
        "request-timeout": options.request_timeout,
        "generation": {"max-examples": options.max_examples, "mode": "all"},
        "phases": {name: {"enabled": name in options.phases} for name in PHASES},
        # A curl command that reproduces a failure needs the credentials it was sent with.
        "output": {"sanitization": {"enabled": False}},
    }
    if options.seed is not None:
        config["seed"] = options.seed
    st_config = schemathesis.Config.from_dict(config)
    schema = schemathesis.openapi.from_dict(document, config=st_config)
    seed = schema.config.seed

    @schema.hook
    def filter_failure(_context: Any, failure: Any, case: Any, response: Any) -> bool:
        return checks.keep_failure(failure, case, response)

    context = checks.VerifyContext(
        document=schema.raw_schema, base_url=base_url, credentials=headers, timeout=options.request_timeout
    )
    checks.bind(schema, context)
    report = Report(kind="verify", target=options.spec, url=base_url, seed=seed)
    started = time.perf_counter()
    yield Started(options.spec, base_url, len(list(schema.get_all_operations())), seed)
    try:
        for event in from_schema(schema).execute():
            if isinstance(event, events.PhaseStarted) and event.phase.name.value in PHASES:
                yield PhaseStarted(event.phase.name.value)
            elif isinstance(event, events.ScenarioFinished) and event.status != Status.SKIP:
                new = _collect(report, event.phase.value, event.recorder)
                label = event.label or event.recorder.label
                yield Tested(event.phase.value, label, event.status == Status.SUCCESS, new)
            elif isinstance(event, events.NonFatalError):
                message = f"{event.label}: {event.info.title}: {event.info.message}".strip()
                report.errors.append(message)
                yield Problem(message)
            elif isinstance(event, events.FatalError):
                message = f"Schemathesis stopped: {event.exception}"
                report.errors.append(message)
                yield Problem(message)
            elif isinstance(event, events.EngineFinished):
                for failure in event.failures:
                    report.add_violation(_violation(failure, "after run", None, None))
    finally:
        checks.unbind(schema)
    report.duration_seconds = time.perf_counter() - started
    yield Finished(report)


def run_to_report(options: VerifyOptions) -> Report:
    """:func:`verify` without the progress: just the final report."""
    for event in verify(options):
        if isinstance(event, Finished):
            return event.report
    raise AssertionError("verify() ended without a Finished event")


def _collect(report: Report, phase: str, recorder: Any) -> list[Violation]:
    from schemathesis.engine import Status

    new: list[Violation] = []
    report.requests += len(recorder.interactions)
    for case_id, nodes in recorder.checks.items():
        node = recorder.cases.get(case_id)
        operation = node.value.operation.label if node is not None else recorder.label
        for check in nodes:
            if check.status == Status.SUCCESS:
                report.record(operation, check.name, True)
            elif check.status == Status.FAILURE and check.failure_info is not None:
                report.record(operation, check.name, False)
                failure = check.failure_info.failure
                interaction = recorder.interactions.get(failure.case_id or case_id)
                response = interaction.response if interaction is not None else None
                violation = _violation(
                    failure, phase, check.name, response, code_sample=check.failure_info.code_sample
                )
                violation.operation = violation.operation or operation
                if report.add_violation(violation):
                    new.append(violation)
    return new


def _violation(
    failure: Any, phase: str, check_name: str | None, response: Any, *, code_sample: str = ""
) -> Violation:
    rule = getattr(failure, "rule", None) or check_name or type(failure).__name__
    got = getattr(failure, "got", None)
    if got is None:
        if response is not None:
            got = checks.describe(response.status_code, response.headers, response.content)
        else:
            got = failure.message
    return Violation(
        operation=failure.operation or "",
        rule=rule,
        title=failure.title,
        expected=getattr(failure, "expected", None) or EXPECTATIONS.get(rule, rule),
        got=got,
        message=failure.message,
        curl=getattr(failure, "curl", "") or code_sample,
        phase=phase,
    )
