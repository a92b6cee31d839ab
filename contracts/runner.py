"""``mockline verify``'s engine: Schemathesis' phases and checks plus ours, as a stream of events.

:func:`verify` loads a spec (one of ours by name, or any OpenAPI file), points it at a base URL, obtains
credentials (a header, Basic, Bearer, or an OAuth2 client-credentials token from the spec's token URL),
and runs Schemathesis' examples, coverage, fuzzing and stateful phases with every built-in check and the
ones in :mod:`contracts.checks`, positive and negative data alike, then the phases registered in
:data:`OWN_PHASES`. It yields :class:`Event` objects while it runs and ends with :class:`Finished`, whose
:class:`~contracts.reporting.model.Report` holds the conformance table, the violations and what the run
could not judge (inconclusive, from the answers :mod:`contracts.traffic` counted). Every request goes
through the run's :class:`~contracts.traffic.Traffic` (pacing, ``Retry-After``, evidence, HAR).
It never imports the mock: it speaks HTTP to whatever is there.
"""

from __future__ import annotations

import base64
import importlib
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import httpx

import contracts.errors
from contracts import bounded, checks, model
from contracts.errorshape import ErrorShape
from contracts.loaders import SpecNotFound, load_spec
from contracts.reporting.model import Inconclusive, Report, Violation
from contracts.traffic import MAX_RETRY_AFTER, Evidence, Pacer, Traffic, parse_rate

DEFAULT_MAX_EXAMPLES = 20
# A paced run (the spec documents a rate limit, or --rate-limit) spends each request dearly: Ryng's 60 a
# minute is one a second, so two minutes hold about 110 requests. The deterministic phases take most of
# them (Ryng: the documented examples and auth probes ~45, the negative cases ~25, links and workflows
# ~5); unless told otherwise the generated phases get this many examples per operation, and the phases
# in COSTLY_WHEN_PACED (coverage: hundreds of requests per operation, an hour at Ryng's limit) are left
# out, so that the run ends in under two minutes and every 429 stays the server's choice.
PACED_MAX_EXAMPLES = 1
COSTLY_WHEN_PACED = ("coverage",)
# Schemathesis runs these, in this order; phases of our own (OWN_PHASES) run after them.
SCHEMATHESIS_PHASES = ("examples", "coverage", "fuzzing", "stateful")

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

# Checks that Schemathesis counts as passed on answers they cannot judge: each is applicable only where
# its predicate holds, and shows "not applicable" elsewhere instead of a pass.
APPLICABLE: dict[str, Callable[[Any], bool]] = {
    "negative_data_rejection": lambda case: _is_negative(case),
    "positive_data_acceptance": lambda case: not _is_negative(case),
}


# Checks that judge an answer itself (its status, type, headers, body, speed): they judge a 429 answer
# too. Every other check judges behaviour that a 429 kept from happening, so a failure it draws from a
# 429 is no evidence of anything and is counted as not applicable.
JUDGES_THE_ANSWER_ITSELF = frozenset(
    {
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "max_response_time",
        "vendor_error_envelope",
    }
)


def _is_negative(case: Any) -> bool:
    meta = getattr(case, "meta", None)
    if meta is None:
        return False
    return bool(meta.generation.mode.is_negative) or any(
        info.mode.is_negative for info in meta.components.values()
    )


class VerifyError(contracts.errors.ContractsError):
    """A usage or connection problem: the run could not start (exit code 2)."""


@dataclass
class VerifyOptions:
    spec: str
    base_url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    auth: str | None = None  # basic:USER:PASS | bearer:TOKEN | oauth2:ID:SECRET
    seed: int | None = None
    max_examples: int | None = None  # None: DEFAULT_MAX_EXAMPLES, or PACED_MAX_EXAMPLES when paced
    operations: Sequence[str] = ()
    phases: Sequence[str] | None = None  # None: every phase
    workers: int = 1
    request_timeout: float = 10.0
    # "60/m": requests spaced evenly, at most this many per unit; "off": not paced; None: the limit the
    # spec documents (x-mockline.rate_limit), else not paced.
    rate_limit: str | None = None
    checks: Sequence[str] = ()  # only these checks (empty: all)
    exclude_checks: Sequence[str] = ()
    exclude_operations: Sequence[str] = ()
    exclude_workflows: Sequence[str] = ()  # workflowIds of the spec's Arazzo document not to play
    max_response_time: float | None = None  # seconds; a slower answer is a violation
    max_failures: int | None = None  # stop after this many failures
    har_path: str | None = None  # keep every exchange for a HAR file
    max_retry_wait: float = MAX_RETRY_AFTER  # the longest Retry-After honoured, in seconds
    # Where --auth oauth2: fetches its token: None for the spec's tokenUrl, which must then be on the base
    # URL's host (the client secret goes nowhere else unless the user names it here).
    token_url: str | None = None


@dataclass
class PhaseRun:
    """What a phase of our own gets: the run's spec, target, credentials, traffic and report."""

    options: VerifyOptions
    document: Mapping[str, Any]
    base_url: str
    credentials: Mapping[str, str]
    traffic: Traffic
    report: Report
    seed: int
    # ("POST /things", "GET /things/{id}") pairs some phase judged (the links phase, or created_id_usable
    # on a follow-up): shared with the checks' context, so that the run can tell at its end which
    # declared link no phase judged.
    judged_pairs: set[tuple[str, str]]
    unjudged_links: list[Any] = field(default_factory=list)  # contracts.pairing.Unjudged


# Phases of our own, run after Schemathesis' in this order: name -> a function that runs the phase,
# adds to ``PhaseRun.report`` and yields events (Tested, Problem). A module adds its phase here.
OWN_PHASES: dict[str, Callable[[PhaseRun], Iterator[Event]]] = {}


def _own_phase(module: str, summary: str) -> Callable[[PhaseRun], Iterator[Event]]:
    """A phase whose module has ``phase(report, options, document, base_url, credentials, seed, traffic,
    *, problem, tested)``; imported when the phase runs (the module imports this one)."""

    def run_phase(run: PhaseRun) -> Iterator[Event]:
        phase = importlib.import_module(f"contracts.{module}").phase
        yield from phase(
            run.report,
            run.options,
            run.document,
            run.base_url,
            run.credentials,
            run.seed,
            run.traffic,
            problem=Problem,
            tested=Tested,
        )

    run_phase.__doc__ = summary
    return run_phase


OWN_PHASES["workflows"] = _own_phase(
    "workflows", "The API's Arazzo workflows (contracts/workflows.py), after Schemathesis' phases."
)

# Phases of our own that run BEFORE Schemathesis', on the server's state as the run found it.
FIRST_PHASES: dict[str, Callable[[PhaseRun], Iterator[Event]]] = {}


def _links(run: PhaseRun) -> Iterator[Event]:
    """The spec's create -> use links (contracts/pairing.py), before fuzzing changes the server's state."""
    from contracts import pairing

    yield from pairing.phase(
        run.report,
        run.document,
        run.base_url,
        run.credentials,
        run.options.request_timeout,
        run.traffic,
        problem=Problem,
        tested=Tested,
        judged_pairs=run.judged_pairs,
        unjudged=run.unjudged_links,
    )


FIRST_PHASES["links"] = _links


OWN_PHASES["negative"] = _own_phase(
    "negatives",
    "One request per anyOf/oneOf branch, not and format of every request schema (contracts/negatives.py).",
)


def phases() -> tuple[str, ...]:
    """Every phase verify knows, in the order it runs them."""
    return (*FIRST_PHASES, *SCHEMATHESIS_PHASES, *OWN_PHASES)


def all_checks() -> list[str]:
    """Every check verify can run: Schemathesis' and mockline's."""
    return sorted(EXPECTATIONS)


@dataclass
class Event:
    """Something that happened during a run."""


@dataclass
class Started(Event):
    spec: str
    base_url: str
    operations: int
    seed: int
    pacing: str = ""  # how the run is paced and what that leaves out, in words; "" when not paced
    left_out: str = ""  # what the options left out, in words (Report.left_out_summary); "" when nothing


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


def credentials(
    document: Mapping[str, Any], options: VerifyOptions, traffic: Traffic | None = None
) -> dict[str, str]:
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
        token = _oauth2_token(document, options, client_id, secret, traffic or Traffic())
        headers["Authorization"] = f"Bearer {token}"
    else:
        raise VerifyError(
            f"--auth {options.auth!r}: use basic:USER:PASS, bearer:TOKEN or oauth2:CLIENT_ID:SECRET"
        )
    return headers


def renewal(
    document: Mapping[str, Any], options: Any, traffic: Traffic | None = None
) -> Callable[[], dict[str, str] | None] | None:
    """How to get the run's credentials again (a new OAuth2 token), when they are an OAuth2 client's: a
    phase whose requests the server refuses once a token has expired (a workflow moved the mock's clock
    past its life, or another run did) renews it, as any client does. The callable returns the new
    headers, also handed to ``traffic`` (which tells the run's credentials in what it records), or None
    when no token was issued."""
    if not str(getattr(options, "auth", None) or "").lower().startswith("oauth2:"):
        return None

    def renew() -> dict[str, str] | None:
        try:
            fresh = credentials(document, options, traffic)
        except contracts.errors.ContractsError:
            return None
        if traffic is not None:
            traffic.credentials = {k.lower(): v for k, v in fresh.items()}
        return fresh

    return renew


def token_url(document: Mapping[str, Any], base_url: str, given: str | None = None) -> str:
    """Where ``--auth oauth2:`` posts its client id and secret: ``given`` (``--token-url``), else the spec's
    tokenUrl resolved against ``base_url``, which must then be on the base URL's scheme, host and port:
    a spec does not get to send the user's client secret to a host the user did not name."""
    if given is not None:
        if urlparse(given).scheme not in {"http", "https"} or not urlparse(given).netloc:
            raise VerifyError(f"--token-url {given!r} is not an http(s) URL")
        return given
    schemes = (document.get("components") or {}).get("securitySchemes") or {}
    for scheme in schemes.values():
        if scheme.get("type") != "oauth2":
            continue
        flows = scheme.get("flows") or {}
        flow: Mapping[str, Any] = flows.get("clientCredentials") or next(iter(flows.values()), {})
        url = str(flow.get("tokenUrl") or "")
        if not url:
            continue
        if not urlparse(url).scheme:
            return base_url.rstrip("/") + "/" + url.lstrip("/")
        if _origin(url) != _origin(base_url):
            raise VerifyError(
                f"--auth oauth2: the spec's token URL {url} is not on the host of --base-url {base_url}: "
                f"mockline sends the client secret there only when told to, with --token-url {url}"
            )
        return url
    raise VerifyError("--auth oauth2: the spec declares no OAuth2 token URL")


def _origin(url: str) -> tuple[str, str, int | None]:
    parsed = urlparse(url)
    scheme = parsed.scheme.lower()
    return scheme, (parsed.hostname or "").lower(), parsed.port or {"http": 80, "https": 443}.get(scheme)


# An access token as RFC 6749 spells it (1*VSCHAR: printable ASCII), and as long as a header takes.
_TOKEN = re.compile(r"[\x20-\x7e]+")
MAX_TOKEN_BYTES = 16 * 1024


def _oauth2_token(
    document: Mapping[str, Any], options: VerifyOptions, client_id: str, secret: str, traffic: Traffic
) -> str:
    url = token_url(document, options.base_url, getattr(options, "token_url", None))
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    try:
        traffic.before_request()
        with bounded.client(options.request_timeout) as client:
            response = client.post(url, data=form)
    except httpx.HTTPError as exc:
        raise VerifyError(f"cannot get an OAuth2 token from {url}: {exc}") from exc
    traffic.after_response(
        operation=_operation_at(document, options.base_url, "post", url),  # the spec's token operation
        method="POST",
        url=url,
        request_headers=dict(response.request.headers),
        request_body=response.request.content,
        status=response.status_code,
        response_headers=list(response.headers.items()),
        response_body=response.content,
        elapsed=response.elapsed.total_seconds(),
    )
    try:
        body = response.json()
    except ValueError:
        body = None
    token = body.get("access_token") if isinstance(body, dict) else None
    if response.status_code != 200 or not isinstance(token, str) or not token:
        raise VerifyError(
            f"the token endpoint {url} did not issue a token: "
            f"{checks.describe(response.status_code, response.headers, response.content, 200)}"
        )
    if len(token) > MAX_TOKEN_BYTES:
        raise VerifyError(
            f"the token endpoint {url} issued an access_token of {len(token)} characters, longer than the "
            f"{MAX_TOKEN_BYTES} a request header is given here"
        )
    if not _TOKEN.fullmatch(token):
        raise VerifyError(
            f"the token endpoint {url} issued an access_token that cannot go in a header (RFC 6749 allows "
            f"printable ASCII only): {token[:100]!r}"
        )
    return token


def _rate_text(requests: int, window_seconds: int) -> str:
    units = {1: "s", 60: "m", 3600: "h"}
    if window_seconds in units:
        return f"{requests}/{units[window_seconds]}"
    return f"{requests} per {window_seconds} s"


def pacing(document: dict[str, Any], rate_limit: str | None) -> tuple[str | None, float, bool]:
    """The run's pace: (as written, seconds between requests, whether the spec's documented limit set it).

    ``rate_limit`` None takes the limit the spec documents (``x-mockline.rate_limit``): a faithful client
    honours the vendor's limit. ``off`` paces nothing."""
    if rate_limit is not None and rate_limit.strip().lower() == "off":
        return None, 0.0, False
    if rate_limit is None:
        documented = model.from_document("verify", document).rate_limit
        if documented is None:
            return None, 0.0, False
        rate_limit = _rate_text(documented.requests, documented.window_seconds)
        return rate_limit, documented.window_seconds / documented.requests, True
    try:
        return rate_limit, parse_rate(rate_limit), False
    except ValueError as exc:
        raise VerifyError(str(exc)) from exc


def _operation_at(document: Mapping[str, Any], base_url: str, method: str, url: str) -> str | None:
    """'METHOD /path' of the operation of ``document`` that ``url`` is (a path without parameters)."""
    base = base_url.rstrip("/")
    for path, item in (document.get("paths") or {}).items():
        if method in item and base + path == url.rstrip("/"):
            return f"{method.upper()} {path}"
    return None


def select_operations(
    document: dict[str, Any],
    filters: Sequence[str],
    exclude: Sequence[str] = (),
    left_out: Report | None = None,
) -> int:
    """Keep the operations named by ``filters`` (operationId, 'METHOD /path' or a path fragment), less
    those named by ``exclude`` (the same ways); say how many are left, and each one dropped to
    ``left_out`` with the option that dropped it."""

    def named(by: Sequence[str], names: set[str], path: str) -> list[str]:
        return [f for f in by if f in names or (f.startswith("/") and f in path)]

    kept = 0
    for operation in model.from_document("verify", document).operations:
        path, method = operation.path, operation.method.lower()
        names = {str(operation.definition.get("operationId", "")), f"{operation.method} {path}"}
        excluded = named(exclude, names, path)
        if (filters and not named(filters, names, path)) or excluded:
            if left_out is not None:
                reason = (
                    f"--exclude-operation {excluded[0]}"
                    if excluded
                    else f"not named by --operation {', '.join(filters)}"
                )
                left_out.leave_out("operation", f"{operation.method} {path}", reason)
            item = document["paths"][path]
            del item[method]
            if not any(m in item for m in model.METHODS):
                del document["paths"][path]
        else:
            kept += 1
    return kept


def _reachable(base_url: str, timeout: float) -> None:
    """Whether a server answers at ``base_url``: its head is enough (the body is not read, whatever it
    holds or however it breaks off)."""
    parsed = urlparse(base_url)
    if parsed.scheme not in {"http", "https"} or not parsed.netloc:
        raise VerifyError(f"--base-url {base_url!r} is not an http(s) URL")
    try:
        with httpx.stream("GET", base_url, timeout=timeout):
            pass
    except httpx.HTTPError as exc:
        raise VerifyError(f"cannot reach {base_url}: {exc}") from exc


def _check_selection(options: VerifyOptions) -> list[str]:
    """The checks ``--checks`` / ``--exclude-checks`` / ``--max-response-time`` leave to run."""
    known = set(all_checks())
    named = [*options.checks, *options.exclude_checks]
    unknown = sorted({name for name in named if name not in known and name != "all"})
    if unknown:
        raise VerifyError(f"unknown check {', '.join(unknown)}: choose from {', '.join(all_checks())}")
    chosen = known if not options.checks or "all" in options.checks else set(options.checks)
    chosen -= set(options.exclude_checks)
    chosen.discard("max_response_time")
    if options.max_response_time is not None:
        if options.max_response_time <= 0:
            raise VerifyError("--max-response-time: give a number of seconds above 0")
        if "max_response_time" in options.exclude_checks:
            raise VerifyError("--max-response-time with --exclude-checks max_response_time: choose one")
        chosen.add("max_response_time")
    if not chosen:
        raise VerifyError("no check is left to run")
    return sorted(chosen)


def _leave_out_checks(report: Report, options: VerifyOptions, enabled: Sequence[str]) -> None:
    """Name the checks a default run would have run that ``--checks`` / ``--exclude-checks`` left out
    (``max_response_time`` runs only when given a limit, so leaving it out changes nothing)."""
    left = set(all_checks()) - {"max_response_time"} - set(enabled)
    excluded = [name for name in options.exclude_checks if name in left]  # in the order given
    for name in [*excluded, *sorted(left - set(excluded))]:
        if name in options.exclude_checks:
            reason = "--exclude-checks"
        else:
            reason = f"not in --checks {','.join(options.checks)}"
        report.leave_out("check", name, reason)


def _check_workflow_names(options: VerifyOptions) -> None:
    """``--exclude-workflow`` names workflows of the spec's Arazzo document, or the run stops (exit 2)."""
    if not options.exclude_workflows:
        return
    from contracts import arazzo
    from contracts.loaders import workflows_path

    path = workflows_path(options.spec)
    if path is None:
        raise VerifyError(f"--exclude-workflow: {options.spec} has no Arazzo workflows to leave out")
    workflows = arazzo.load_yaml(path).get("workflows") or []  # the ids alone: not its sources
    known = [str(w.get("workflowId")) for w in workflows if not w.get("x-mockline-helper")]
    unknown = sorted(set(options.exclude_workflows) - set(known))
    if unknown:
        raise VerifyError(f"unknown workflow {', '.join(unknown)}: choose from {', '.join(known)}")


def operation_labels(document: Mapping[str, Any]) -> list[str]:
    """'METHOD /path' for every operation of ``document``, as Schemathesis labels them."""
    methods = ("get", "put", "post", "patch", "delete", "head", "options", "trace")
    return sorted(
        f"{method.upper()} {path}"
        for path, item in (document.get("paths") or {}).items()
        for method in item
        if method in methods
    )


def verify(options: VerifyOptions) -> Iterator[Event]:
    """Run every phase against ``options.base_url``; the last event is :class:`Finished`. Every answer of
    the run, Schemathesis' too, is read within :mod:`contracts.bounded`'s bounds."""
    with bounded.requests_bounded():
        yield from _verify(options)


def _verify(options: VerifyOptions) -> Iterator[Event]:
    import schemathesis
    from schemathesis.engine import Status, events, from_schema

    try:
        document = load_spec(options.spec)
    except SpecNotFound as exc:
        raise VerifyError(str(exc)) from exc
    rate, interval, documented = pacing(document, options.rate_limit)
    paced = interval > 0
    left_out = COSTLY_WHEN_PACED if paced and not options.phases else ()
    chosen_phases = tuple(options.phases) if options.phases else phases()
    chosen_phases = tuple(p for p in chosen_phases if p not in left_out)
    unknown = [p for p in chosen_phases if p not in phases()]
    if unknown:
        raise VerifyError(f"unknown phase {', '.join(unknown)}: choose from {', '.join(phases())}")
    max_examples = options.max_examples
    if max_examples is None:
        max_examples = PACED_MAX_EXAMPLES if paced else DEFAULT_MAX_EXAMPLES
    elif max_examples < 1:
        raise VerifyError("--max-examples: give a number above 0")
    described = ""
    if paced:
        why = "the limit the spec documents" if documented else "--rate-limit"
        plural = "" if max_examples == 1 else "s"
        described = f"paced at {rate} ({why}): {max_examples} generated example{plural} per operation"
        if left_out:
            described += f", {', '.join(left_out)} phase left out (--phases, --rate-limit off to change)"
    # What the options leave out is said in the report (a paced run's own leaving out of the costly
    # phases is a default, said on the run's first line).
    report = Report(kind="verify", target=options.spec, url=options.base_url.rstrip("/"), rate_limit=rate)
    if options.phases:
        for name in phases():
            if name not in chosen_phases:
                report.leave_out("phase", name, f"--phases {','.join(options.phases)}")
    if select_operations(document, options.operations, options.exclude_operations, report) == 0:
        raise VerifyError(
            f"no operation of {options.spec} is left to verify after --operation/--exclude-operation"
        )
    if options.max_failures is not None and options.max_failures < 1:
        raise VerifyError("--max-failures: give a number above 0")
    enabled = _check_selection(options)
    _leave_out_checks(report, options, enabled)
    _check_workflow_names(options)
    base_url = options.base_url.rstrip("/")
    errors = ErrorShape.from_document(document)
    auth_statuses = frozenset({errors.auth_status}) if errors is not None else frozenset({401, 403})
    traffic = Traffic(
        pacer=Pacer(interval, max_hold=options.max_retry_wait),
        evidence=Evidence(auth_statuses=auth_statuses),
        keep_exchanges=options.har_path is not None,
    )
    traffic.before_request()
    _reachable(base_url, options.request_timeout)
    headers = credentials(document, options, traffic)
    traffic.credentials = {k.lower(): v for k, v in headers.items()}
    document.pop("servers", None)
    labels = operation_labels(document)

    schemathesis_phases = [name for name in SCHEMATHESIS_PHASES if name in chosen_phases]
    config: dict[str, Any] = {
        "base-url": base_url,
        "headers": headers,
        "workers": options.workers,
        "request-timeout": options.request_timeout,
        # No example database: a run is what its seed makes it, whatever runs came before, and it writes
        # nothing (Hypothesis would keep failing examples in ./.hypothesis and replay them first).
        "generation": {"max-examples": max_examples, "mode": "all", "database": "none"},
        "phases": {name: {"enabled": name in schemathesis_phases} for name in SCHEMATHESIS_PHASES},
        # A 429 with Retry-After is waited out and sent again (unless told not to wait: then it is counted
        # as it came); our Pacer spaces every request.
        **({"rate-limit": "auto"} if options.max_retry_wait > 0 else {}),
        # A curl command that reproduces a failure needs the credentials it was sent with.
        "output": {"sanitization": {"enabled": False}},
    }
    if options.max_failures is not None:
        config["max-failures"] = options.max_failures
    if options.seed is not None:
        config["seed"] = options.seed
    st_config = schemathesis.Config.from_dict(config)
    st_config.projects.default.checks.update(
        included_check_names=enabled,
        excluded_check_names=sorted(set(all_checks()) - set(enabled)),
        max_response_time=options.max_response_time,
    )
    schema = schemathesis.openapi.from_dict(document, config=st_config)
    seed = schema.config.seed

    @schema.hook
    def filter_failure(_context: Any, failure: Any, case: Any, response: Any) -> bool:
        return checks.keep_failure(failure, case, response)

    context = checks.VerifyContext(
        document=schema.raw_schema,
        base_url=base_url,
        credentials=headers,
        timeout=options.request_timeout,
        traffic=traffic,
    )
    checks.bind(schema, context)
    report.seed = seed
    started = time.perf_counter()
    yield Started(
        options.spec,
        base_url,
        len(list(schema.get_all_operations())),
        seed,
        described,
        report.left_out_summary(),
    )
    run = PhaseRun(
        options,
        schema.raw_schema,
        base_url,
        headers,
        traffic,
        report,
        seed,
        judged_pairs=context.judged_pairs,
    )
    try:
        for name, first in FIRST_PHASES.items():
            if name in chosen_phases:
                traffic.phase = name
                yield PhaseStarted(name)
                yield from first(run)
        if schemathesis_phases:
            for event in from_schema(schema).execute():
                if isinstance(event, events.PhaseStarted):
                    traffic.phase = event.phase.name.value
                    if traffic.phase in schemathesis_phases:
                        yield PhaseStarted(traffic.phase)
                elif isinstance(event, events.ScenarioFinished) and event.status != Status.SKIP:
                    new = _collect(report, event.phase.value, event.recorder, enabled)
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
        for name, phase in OWN_PHASES.items():
            if name in chosen_phases:
                traffic.phase = name
                yield PhaseStarted(name)
                yield from phase(run)
    finally:
        checks.unbind(schema)
    report.duration_seconds = time.perf_counter() - started
    _conclude(report, traffic, labels, credentials_given=bool(headers))
    _name_unjudged_links(report, run)
    _say_what_no_link_reaches(report, schema.raw_schema)
    if options.har_path is not None:
        from contracts.reporting import har

        try:
            har.write(traffic.exchanges, options.har_path)
        except OSError as exc:
            raise VerifyError(f"--report-har {options.har_path}: {exc}") from exc
    yield Finished(report)


def _conclude(report: Report, traffic: Traffic, labels: Sequence[str], *, credentials_given: bool) -> None:
    """Copy what the traffic saw into the report and name what the run could not judge."""
    evidence = traffic.evidence
    report.counts = {op: dict(counts) for op, counts in sorted(evidence.operations.items())}
    report.phase_counts = {phase: dict(counts) for phase, counts in evidence.phases.items()}
    report.follow_ups = list(traffic.follow_ups)
    # What the answers could not prove first, then what the phases themselves could not judge (a
    # workflow that could not be played).
    found = evidence.inconclusive(labels, credentials_given=credentials_given)
    report.inconclusive = [*found, *report.inconclusive]


def _name_unjudged_links(report: Report, run: PhaseRun) -> None:
    """A link the links phase could not judge (nothing created, no example to send, the target refused)
    is inconclusive, unless another phase judged the same pair (created_id_usable's follow-up found or
    lost the created id), or another link of the same pair was judged."""
    for link in run.unjudged_links:
        if link.pair in run.judged_pairs:
            continue
        source, target = link.pair
        report.inconclusive.append(
            Inconclusive(
                scope="link",
                name=link.label,
                reason=f"{link.reason}; no phase judged whether {target} takes what {source} creates",
            )
        )


def _say_what_no_link_reaches(report: Report, document: Mapping[str, Any]) -> None:
    """An operation left without a success answer that takes a path id no documented answer carries
    (no OpenAPI link leads to it): say so, since only a guessed id can reach its success."""
    from contracts import pairing

    contract = model.from_document("verify", document)
    linked = {link.target.operation_id for link in pairing.links(contract)}
    for item in report.inconclusive:
        op = next((o for o in contract.operations if f"{o.method} {o.path}" == item.name), None)
        if item.scope != "operation" or op is None or op.operation_id in linked:
            continue
        ids = [p.name for p in op.parameters if p.location == "path"]
        if ids and "2xx" not in item.counts:
            item.reason += (
                f"; no answer of this API carries the {', '.join(ids)} it takes (no OpenAPI link leads "
                "here), so only a guessed id can succeed"
            )


def run_to_report(options: VerifyOptions) -> Report:
    """:func:`verify` without the progress: just the final report."""
    for event in verify(options):
        if isinstance(event, Finished):
            return event.report
    raise AssertionError("verify() ended without a Finished event")


def _collect(report: Report, phase: str, recorder: Any, enabled: Sequence[str] = ()) -> list[Violation]:
    """Add one scenario's judgements to the report: passed, failed, or not applicable (a check that had
    nothing to judge on an answer, or one that Schemathesis counts as passed where it cannot apply)."""
    from schemathesis.engine import Status

    new: list[Violation] = []
    report.requests += len(recorder.interactions)
    for case_id, nodes in recorder.checks.items():
        node = recorder.cases.get(case_id)
        case = node.value if node is not None else None
        operation = case.operation.label if case is not None else recorder.label
        seen: set[str] = set()
        for check in nodes:
            seen.add(check.name)
            if check.status == Status.SUCCESS:
                applies = APPLICABLE.get(check.name)
                judged = case is None or applies is None or applies(case)
                report.record(operation, check.name, True if judged else None)
            elif check.status == Status.FAILURE and check.failure_info is not None:
                failure = check.failure_info.failure
                interaction = recorder.interactions.get(failure.case_id or case_id)
                response = interaction.response if interaction is not None else None
                if (
                    response is not None
                    and response.status_code == 429
                    and check.name not in JUDGES_THE_ANSWER_ITSELF
                ):
                    report.record(operation, check.name, None)
                    continue
                report.record(operation, check.name, False)
                violation = _violation(
                    failure, phase, check.name, response, code_sample=check.failure_info.code_sample
                )
                violation.operation = violation.operation or operation
                if report.add_violation(violation):
                    new.append(violation)
        if case_id in recorder.interactions:
            for name in enabled:
                if name not in seen:
                    report.record(operation, name, None)
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
