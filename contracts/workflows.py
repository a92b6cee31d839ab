"""``mockline verify``'s ``workflows`` phase: an API's behavioural contract, played over HTTP.

Each API may have an Arazzo document beside its spec (``specs/<api>.arazzo.yaml``) with one workflow per
rule about state (a create then read, a partial update, a cap, a conflict). :func:`run_document` plays
every workflow against a base URL with the run's credentials and turns a failing step into a
:class:`~contracts.reporting.model.Violation` like any other: the rule is the workflow and the step, the
expectation is the criterion that did not hold (and the spec element the workflow proves), and a curl
command reproduces the request.

- Inputs come from the document's ``x-mockline-credentials`` (which input carries which credential of
  the run), then their schema's ``default``, then a value drawn from the run's seed (a string from its
  ``pattern``, an integer within its bounds), so a workflow that leaves a value open still runs the
  same way twice.
- Steps of a source named ``mockline-admin`` go to the mock's control plane beside the API (``/__admin``
  on the same host). A workflow marked ``x-mockline-needs: controllable-clock`` cannot be played when the
  target has no such control plane (a real implementation): it is *inconclusive*, neither passed nor
  failed, and the run with it (``--exclude-workflow`` leaves it out, said in the report).
- What the documents declare does not apply in a run's conditions is *not applicable*:
  ``x-mockline-not-applicable-when`` on a step lists criteria under which its failure proves nothing (an
  agent busy on another call), and a workflow whose inputs are OAuth2 client credentials
  (``x-mockline-credentials``) does not apply to a run that authenticates by another scheme the spec
  offers (Basic, or a static API key): there are no tokens there. A workflow that applies but could not
  be played (no movable clock, a step answered 429 every time, an input the run gives no value for, the
  run's credentials refused) is *inconclusive* (:class:`Unplayable`): the run is not conformant.
- ``x-mockline-helper: true`` marks a workflow that only prepares others (it is run as their step, never
  on its own).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from contracts import arazzo, bounded, model, patterns
from contracts.arazzo import Document, Exchange, Scope, Unresolved
from contracts.errors import ContractsError
from contracts.reporting.model import Inconclusive, Violation

ADMIN_SOURCE = "mockline-admin"
ADMIN_PATH = "/__admin"
ADMIN_TIMEOUT = 180.0  # seconds for a control-plane request (a clock advance runs what falls due)
MAX_STEP_RUNS = 400  # a loop that never reaches its exit (a cap never enforced) ends here
PHASE = "workflows"


@dataclass
class Outcome:
    """How one workflow fared."""

    workflow_id: str
    rule: str  # the spec element the workflow proves
    label: str  # "workflow <id>"
    passed: bool = False
    not_applicable: str = ""  # why it does not apply in this run's conditions, as the document declares
    inconclusive: str = ""  # why it applies but could not be played against this target
    left_out: str = ""  # the option that left it out of this run
    violation: Violation | None = None
    requests: int = 0


@dataclass
class Target:
    base_url: str  # the API's base URL, e.g. http://127.0.0.1:8000/ringme
    credentials: Mapping[str, str] = field(default_factory=dict)  # headers the run sends
    oauth2: Mapping[str, str] = field(default_factory=dict)  # client_id / client_secret, when given
    seed: int = 0
    timeout: float = 10.0
    traffic: Any = None  # verify's contracts.traffic.Traffic: paces and counts every exchange
    # The spec's security scheme, other than OAuth2, that the run's credentials use ("basicAuth"): a run
    # under it has no OAuth2 tokens, so workflows about them do not apply. "" for OAuth2, or none found.
    other_scheme: str = ""
    # A new OAuth2 token for the run (``runner.renewal``), when its credentials are an OAuth2 client's: a
    # workflow whose first request is refused them (the token expired: a workflow moved the mock's clock
    # past its life, or another run did) renews them once and starts again.
    renew: Callable[[], Mapping[str, str] | None] | None = None

    @property
    def admin_url(self) -> str:
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}{ADMIN_PATH}"


RATE_LIMITED_TRIES = 3  # a step answered 429 goes again after the Retry-After, this many times in all


class StepFailed(ContractsError):
    def __init__(self, step_id: str, expected: str, exchange: Exchange | None, got: str = "") -> None:
        super().__init__(expected)
        self.step_id = step_id
        self.expected = expected
        self.exchange = exchange
        self.got = got
        self.operation = exchange.operation if exchange is not None else ""


class NotApplicable(ContractsError):
    """The document declares that the workflow does not apply in this run's conditions."""


class Unplayable(ContractsError):
    """The workflow applies, but could not be played against this target: no evidence either way."""


# -- inputs ------------------------------------------------------------------------------------------------


def generate(schema: Mapping[str, Any], rng: random.Random) -> Any:
    if "enum" in schema:
        return rng.choice(list(schema["enum"]))
    kind = schema.get("type")
    if kind == "integer":
        low = int(schema.get("minimum", 1))
        return rng.randint(low, int(schema.get("maximum", low + 10**6)))
    if kind == "boolean":
        return rng.choice([True, False])
    if kind == "string":
        if "pattern" in schema:
            sampled = patterns.sample(str(schema["pattern"]), rng)
            if sampled is not None:
                return sampled
        return "mockline-" + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(8))
    return None


def workflow_inputs(document: Document, workflow: Mapping[str, Any], target: Target) -> dict[str, Any]:
    schema = document.resolve_local(workflow.get("inputs") or {})
    properties: Mapping[str, Any] = schema.get("properties") or {}
    mapping: Mapping[str, Any] = document.data.get("x-mockline-credentials") or {}
    rng = random.Random(f"{target.seed}:{document.path.name}:{workflow.get('workflowId')}")
    values: dict[str, Any] = {}
    for name, prop in properties.items():
        source = mapping.get(name) or {}
        if "header" in source:
            header = _lookup(target.credentials, str(source["header"]))
            if header is not None:
                values[name] = header
                continue
        if "oauth2" in source:
            if str(source["oauth2"]) in target.oauth2:
                values[name] = target.oauth2[str(source["oauth2"])]
            continue
        if "default" in prop:
            values[name] = prop["default"]
        elif name not in mapping:
            drawn = generate(prop, rng)
            if drawn is not None:
                values[name] = drawn
    return values


def _lookup(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None


# -- running ------------------------------------------------------------------------------------------------


class Runner:
    """Plays the workflows of one document against one target."""

    def __init__(self, document: Document, target: Target, client: httpx.Client) -> None:
        self.document = document
        self.target = target
        self.client = client
        self.requests = 0
        self._admin: bool | None = None
        self._renewed = False  # the workflow being played renewed the run's credentials already
        self.finished: dict[str, dict[str, Any]] = {}

    def has_control_plane(self) -> bool:
        if self._admin is None:
            try:
                answer = self.client.get(self.target.admin_url + "/clock")
                self._admin = answer.status_code == 200 and "now" in (answer.json() or {})
            except (httpx.HTTPError, ValueError, AttributeError):
                self._admin = False
        return self._admin

    def base_for(self, source: str) -> str:
        return self.target.admin_url if source == ADMIN_SOURCE else self.target.base_url.rstrip("/")

    def run(self, workflow: Mapping[str, Any]) -> Outcome:
        workflow_id = str(workflow.get("workflowId"))
        outcome = Outcome(workflow_id, str(workflow.get("x-mockline-rule", "")), f"workflow {workflow_id}")
        before = self.requests
        self._renewed = False
        try:
            inputs = workflow_inputs(self.document, workflow, self.target)
            missing = self._missing_inputs(workflow, inputs)
            mapping: Mapping[str, Any] = self.document.data.get("x-mockline-credentials") or {}
            oauth2 = [name for name in missing if "oauth2" in (mapping.get(name) or {})]
            if oauth2 and self.target.other_scheme:
                raise NotApplicable(
                    f"its inputs {', '.join(oauth2)} are OAuth2 client credentials and this run "
                    f"authenticates by {self.target.other_scheme}, which has no OAuth2 tokens "
                    "(--auth oauth2:ID:SECRET plays it)"
                )
            # A step of the control plane that is reached without one makes the workflow unplayable
            # there and then (send); one marked as needing the clock is not even started.
            if workflow.get("x-mockline-needs") == "controllable-clock" and not self.has_control_plane():
                raise Unplayable(
                    f"needs a clock it can move ({self.target.admin_url}/clock answers no mock clock); "
                    f"--exclude-workflow {workflow_id} leaves it out"
                )
            if missing:
                hint = " (--auth oauth2:ID:SECRET gives OAuth2 client credentials)" if oauth2 else ""
                raise Unplayable(f"the run gives no value for {', '.join(missing)}{hint}")
            try:
                self.execute(workflow, inputs)
            except StepFailed as exc:
                if not (self.requests - before == 1 and self._credentials_refused(exc) and self._renew()):
                    raise
                # Refused at its first request: nothing was done yet, so it starts again, renewed.
                self.execute(workflow, workflow_inputs(self.document, workflow, self.target))
            outcome.passed = True
        except NotApplicable as exc:
            outcome.not_applicable = str(exc)
        except Unplayable as exc:
            outcome.inconclusive = str(exc)
        except StepFailed as exc:
            if self._credentials_refused(exc):
                outcome.inconclusive = (
                    f"step {exc.step_id} was refused the run's credentials ({exc.exchange.status})"  # type: ignore[union-attr]
                )
            else:
                outcome.violation = self._violation(workflow, exc)
        outcome.requests = self.requests - before
        return outcome

    def _renew(self) -> bool:
        """The run's credentials renewed (a new OAuth2 token), at most once a workflow; whether they were."""
        if self.target.renew is None or self._renewed:
            return False
        self._renewed = True
        fresh = self.target.renew()
        if fresh is None:
            return False
        self.target.credentials = fresh
        return True

    def _credentials_refused(self, failure: StepFailed) -> bool:
        """A step that sent credentials (the run's, or a token a step obtained) was refused them: no
        evidence about the workflow's rule (verify names the refused credentials as inconclusive)."""
        traffic, exchange = self.target.traffic, failure.exchange
        return (
            traffic is not None
            and exchange is not None
            and exchange.status in traffic.evidence.auth_statuses
            and any(
                name.lower() in traffic.credentials or name.lower() == "authorization"
                for name in exchange.request_headers
            )
        )

    def _missing_inputs(self, workflow: Mapping[str, Any], inputs: Mapping[str, Any]) -> list[str]:
        """Inputs some step reads but the run could not fill (e.g. OAuth2 client credentials when the
        run was given a Bearer token)."""
        used = {
            expression.split(".")[1].split("#")[0]
            for expression in self._expressions(workflow.get("steps") or [])
            if expression.startswith("$inputs.")
        }
        return sorted(name for name in used if name not in inputs)

    def _expressions(self, node: Any) -> Iterator[str]:
        """The runtime expressions of ``node``, with those of the reusable components it names."""
        yield from arazzo.expressions_in(node)
        yield from self._referenced(node)

    def _referenced(self, node: Any) -> Iterator[str]:
        """The expressions of every component ``node`` names by ``reference`` and does not override
        the ``value`` of (``$components.parameters.token`` carries ``$inputs.accessToken``)."""
        if isinstance(node, Mapping):
            reference = node.get("reference")
            if isinstance(reference, str) and "value" not in node:
                try:
                    component = self.document.component(reference)
                except arazzo.ArazzoError:
                    component = None  # the step that uses it says so when it runs
                if component is not None:
                    yield from self._expressions(component)
            for item in node.values():
                yield from self._referenced(item)
        elif isinstance(node, list):
            for item in node:
                yield from self._referenced(item)

    def execute(self, workflow: Mapping[str, Any], inputs: Mapping[str, Any]) -> dict[str, Any]:
        """Run one workflow to its end; its outputs. Raises :class:`StepFailed`."""
        workflow_id = str(workflow.get("workflowId"))
        for dependency in workflow.get("dependsOn") or []:
            if dependency not in self.finished:
                other = self.document.workflow(str(dependency))
                self.execute(other, workflow_inputs(self.document, other, self.target))
        scope = Scope(document=self.document, inputs=inputs, workflows=self.finished)
        steps: list[Mapping[str, Any]] = list(workflow.get("steps") or [])
        index = {str(step.get("stepId")): i for i, step in enumerate(steps)}
        position, runs, retries = 0, 0, 0
        while position < len(steps):
            step = steps[position]
            step_id = str(step.get("stepId"))
            runs += 1
            if runs > MAX_STEP_RUNS:
                raise StepFailed(
                    step_id,
                    f"the workflow to end within {MAX_STEP_RUNS} steps (a loop never reached its exit)",
                    scope.exchange,
                    got=f"step {step_id} was still being repeated",
                )
            ok, failed = self.step(step, scope)
            actions = step.get("onSuccess" if ok else "onFailure") or []
            action = self._first_action(actions, scope)
            if action is None:
                if not ok:
                    raise failed or StepFailed(step_id, "the step to succeed", scope.exchange)
                position += 1
                retries = 0
                continue
            kind = action.get("type")
            if kind == "end":
                if not ok:
                    raise failed or StepFailed(step_id, "the step to succeed", scope.exchange)
                break
            if kind == "retry":
                time.sleep(min(float(action.get("retryAfter", 0)), 60.0))
                retries += 1
                if retries > int(action.get("retryLimit", 1)):
                    if not ok:
                        raise failed or StepFailed(step_id, "the step to succeed", scope.exchange)
                    position += 1
                continue
            if kind == "goto":
                if action.get("workflowId"):
                    other = self.document.workflow(str(action["workflowId"]))
                    self.execute(other, workflow_inputs(self.document, other, self.target))
                    break
                target = str(action.get("stepId"))
                if target not in index:
                    raise arazzo.ArazzoError(f"{workflow_id}: goto names no step {target!r}")
                position = index[target]
                retries = 0
                continue
            raise arazzo.ArazzoError(f"{workflow_id}: action type {kind!r} is not supported")
        outputs: dict[str, Any] = {}
        for name, expression in (workflow.get("outputs") or {}).items():
            try:
                outputs[name] = arazzo.interpolate(expression, scope)
            except Unresolved:
                outputs[name] = None
        self.finished[workflow_id] = {"inputs": dict(inputs), "outputs": outputs}
        return outputs

    def _first_action(self, actions: list[Any], scope: Scope) -> Mapping[str, Any] | None:
        for action in actions:
            if isinstance(action, Mapping) and "reference" in action:
                action = self.document.component(str(action["reference"]))
            if all(arazzo.holds(c, scope) for c in action.get("criteria") or []):
                return action  # type: ignore[no-any-return]
        return None

    def step(self, step: Mapping[str, Any], scope: Scope) -> tuple[bool, StepFailed | None]:
        step_id = str(step.get("stepId"))
        if step.get("workflowId"):
            child = self.document.workflow(str(step["workflowId"]))
            values = {}
            for parameter in step.get("parameters") or []:
                values[str(parameter["name"])] = self._value(parameter.get("value"), scope, step_id)
            defaults = workflow_inputs(self.document, child, self.target)
            scope.steps[step_id] = self.execute(child, {**defaults, **values})
            return True, None
        operation = self.document.operation(str(step["operationId"]))
        exchange = self.send(operation, step, scope)
        scope.exchange = exchange
        for criterion in step.get("successCriteria") or []:
            if not arazzo.holds(criterion, scope):
                excuse = step.get("x-mockline-not-applicable-when")
                if excuse and all(arazzo.holds(c, scope) for c in excuse):
                    raise NotApplicable(f"step {step_id} got {exchange.status}, which proves nothing here")
                return False, StepFailed(step_id, arazzo.describe_criterion(criterion), exchange)
        outputs: dict[str, Any] = {}
        for name, expression in (step.get("outputs") or {}).items():
            try:
                outputs[name] = arazzo.interpolate(expression, scope)
            except Unresolved as exc:
                return False, StepFailed(
                    step_id, f"output {name} ({expression}) to be in the answer", exchange, str(exc)
                )
        scope.steps[step_id] = outputs
        return True, None

    def _value(self, value: Any, scope: Scope, step_id: str) -> Any:
        try:
            return arazzo.interpolate(value, scope)
        except Unresolved as exc:
            raise StepFailed(step_id, f"{value} to have a value", scope.exchange, str(exc)) from None

    def send(self, operation: arazzo.Operation, step: Mapping[str, Any], scope: Scope) -> Exchange:
        step_id = str(step.get("stepId"))
        if operation.source == ADMIN_SOURCE and not self.has_control_plane():
            raise Unplayable(f"step {step_id} needs the mock's control plane ({self.target.admin_url})")
        path_params: dict[str, str] = {}
        query: dict[str, str] = {}
        headers: dict[str, str] = {}
        cookies: dict[str, str] = {}
        for parameter in step.get("parameters") or []:
            if "reference" in parameter:
                resolved = dict(self.document.component(str(parameter["reference"])))
                if "value" in parameter:
                    resolved["value"] = parameter["value"]
                parameter = resolved
            value = self._value(parameter.get("value"), scope, step_id)
            text = arazzo.as_text(value)
            where = {"path": path_params, "query": query, "header": headers, "cookie": cookies}.get(
                str(parameter.get("in"))
            )
            if where is not None:
                where[str(parameter["name"])] = text
        path = operation.path
        for name, text in path_params.items():
            path = path.replace("{" + name + "}", quote(text, safe=""))
        url = self.base_for(operation.source) + path
        if query:
            url += "?" + model.form_encode(query)
        content: bytes | None = None
        body: Any = None
        request_body = step.get("requestBody")
        if request_body:
            body = self._value(request_body.get("payload"), scope, step_id)
            for replacement in request_body.get("replacements") or []:
                body = _replace(
                    body, str(replacement["target"]), self._value(replacement.get("value"), scope, step_id)
                )
            media = str(request_body.get("contentType") or "application/json")
            headers.setdefault("Content-Type", media)
            if "json" in media:
                content = json.dumps(body).encode()
            elif media == "application/x-www-form-urlencoded" and isinstance(body, Mapping):
                content = model.form_encode(body).encode()
            else:
                content = arazzo.as_text(body).encode()
        if cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        exchange = Exchange(operation.method, url, dict(headers), query, path_params, body)
        exchange.operation = f"{operation.method} {operation.path}"
        try:
            # Moving the mock's clock runs every job that falls due, callbacks included: give it time.
            admin = operation.source == ADMIN_SOURCE
            timeout = max(self.target.timeout, ADMIN_TIMEOUT) if admin else self.target.timeout
            traffic = self.target.traffic
            for _attempt in range(RATE_LIMITED_TRIES):
                if traffic is not None:
                    traffic.before_request()  # paced, and held while a Retry-After runs
                response = self.client.request(
                    operation.method, url, headers=headers, content=content, timeout=timeout
                )
                if traffic is not None:
                    traffic.after_response(
                        operation=None if admin else exchange.operation,
                        method=operation.method.upper(),
                        url=url,
                        request_headers=headers,
                        request_body=content,
                        status=response.status_code,
                        response_headers=response.headers.items(),
                        response_body=response.content,
                        elapsed=response.elapsed.total_seconds(),
                    )
                self.requests += 1
                if response.status_code != 429 or traffic is None:
                    break
        except httpx.HTTPError as exc:
            raise StepFailed(step_id, "an answer", exchange, f"no answer: {exc}") from None
        if response.status_code == 429:
            # A refusal to answer at all is no evidence either way about the rule the workflow proves.
            raise Unplayable(f"step {step_id} was answered 429 (rate limited) {RATE_LIMITED_TRIES} times")
        exchange.status = response.status_code
        exchange.response_headers = {k.lower(): v for k, v in response.headers.items()}
        exchange.response_body = _body(response)
        exchange.raw = response.content
        return exchange

    def _violation(self, workflow: Mapping[str, Any], failure: StepFailed) -> Violation:
        from contracts.checks import curl_command, describe

        workflow_id = str(workflow.get("workflowId"))
        exchange = failure.exchange
        rule = str(workflow.get("x-mockline-rule", ""))
        summary = str(workflow.get("summary", workflow_id))
        operation = ""
        got = failure.got
        curl = ""
        if exchange is not None:
            path = urlsplit(exchange.url).path
            base_path = urlsplit(self.target.base_url).path.rstrip("/")
            operation = failure.operation or (
                f"{exchange.method} {path[len(base_path) :] if path.startswith(base_path) else path}"
            )
            if exchange.status is not None and not got:
                got = describe(exchange.status, exchange.response_headers, exchange.raw)
            body = None
            if exchange.request_body is not None:
                media = exchange.request_headers.get("Content-Type", "")
                body = (
                    json.dumps(exchange.request_body)
                    if "json" in media
                    else model.form_encode(exchange.request_body)
                    if isinstance(exchange.request_body, Mapping)
                    else arazzo.as_text(exchange.request_body)
                )
            curl = curl_command(exchange.method, exchange.url, exchange.request_headers, body)
        return Violation(
            operation=operation or f"workflow {workflow_id}",
            rule=f"workflow {workflow_id} / step {failure.step_id}",
            title=summary,
            expected=f"{failure.expected} ({rule})" if rule else failure.expected,
            got=got or "nothing",
            message=f"{self.document.path.name}: {summary}",
            curl=curl,
            phase=PHASE,
        )


def _replace(body: Any, target: str, value: Any) -> Any:
    if not target.startswith("/") or not isinstance(body, dict | list):
        return body
    node = body
    parts = [p.replace("~1", "/").replace("~0", "~") for p in target[1:].split("/")]
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    if isinstance(node, list):
        node[int(parts[-1])] = value
    else:
        node[parts[-1]] = value
    return body


def _body(response: httpx.Response) -> Any:
    if not response.content:
        return None
    if "json" in response.headers.get("content-type", "") or response.content[:1] in (b"{", b"["):
        try:
            return response.json()
        except ValueError:
            pass
    return response.text


def outside(workflow: Mapping[str, Any], document: Document, operations: set[str] | None) -> str | None:
    """The first operation a workflow uses (its child workflows' too) that the run did not keep; None
    when it uses only operations the run kept (``--operation`` / ``--exclude-operation`` narrow a run)."""
    if operations is None:
        return None
    for step in workflow.get("steps") or []:
        if step.get("operationId"):
            operation = document.operation(str(step["operationId"]))
            if operation.source != ADMIN_SOURCE and operation.operation_id not in operations:
                return operation.operation_id
        elif step.get("workflowId"):
            missing = outside(document.workflow(str(step["workflowId"])), document, operations)
            if missing is not None:
                return missing
    return None


def run_document(
    path: str | Path,
    target: Target,
    *,
    operations: set[str] | None = None,
    exclude: frozenset[str] = frozenset(),
) -> Iterator[Outcome]:
    """Play every workflow of the document (helpers only as steps of others), in document order; one
    left out (named in ``exclude``, or using an operation not in ``operations``) comes back unplayed, with
    the reason in ``Outcome.left_out``."""
    document = arazzo.load(path)
    with bounded.client(target.timeout) as client:
        runner = Runner(document, target, client)
        for workflow in document.workflows:
            if workflow.get("x-mockline-helper"):
                continue
            workflow_id = str(workflow.get("workflowId"))
            outcome = Outcome(
                workflow_id, str(workflow.get("x-mockline-rule", "")), f"workflow {workflow_id}"
            )
            unkept = outside(workflow, document, operations)
            if workflow_id in exclude:
                outcome.left_out = "--exclude-workflow"
            elif unkept is not None:
                outcome.left_out = f"uses {unkept}, which --operation/--exclude-operation left out"
            if outcome.left_out:
                yield outcome
                continue
            yield runner.run(workflow)


def oauth2_client(auth: str | None) -> dict[str, str]:
    """The OAuth2 client credentials of a ``--auth oauth2:ID:SECRET`` run, for workflows that fetch
    tokens of their own."""
    if not auth or not auth.lower().startswith("oauth2:"):
        return {}
    client_id, _, secret = auth.partition(":")[2].partition(":")
    return {"client_id": client_id, "client_secret": secret}


def remaining_operations(document: Mapping[str, Any]) -> set[str]:
    return {op.operation_id for op in model.from_document("verify", document).operations}


def other_scheme(document: Mapping[str, Any], auth: str | None, headers: Mapping[str, str]) -> str:
    """The spec's security scheme, other than OAuth2, that a run's ``--auth`` / ``--header`` credentials
    use: ``basicAuth`` for ``--auth basic:...``, an ``apiKey`` scheme for its header; "" when the run
    authenticates by OAuth2 (or by nothing the spec names)."""
    kind = (auth or "").partition(":")[0].lower()
    if not kind:  # credentials given as a header: 'Authorization: Basic ...' is Basic all the same
        kind = next((v.split(" ")[0].lower() for k, v in headers.items() if k.lower() == "authorization"), "")
    sent = {name.lower() for name in headers}
    schemes: Mapping[str, Any] = (document.get("components") or {}).get("securitySchemes") or {}
    for name, scheme in schemes.items():
        if not isinstance(scheme, Mapping):
            continue
        if scheme.get("type") == "http" and str(scheme.get("scheme", "")).lower() == kind:
            return str(name)
        if (
            scheme.get("type") == "apiKey"
            and scheme.get("in") == "header"
            and str(scheme.get("name", "")).lower() in sent
        ):
            return str(name)
    return ""


def phase(
    report: Any,
    options: Any,
    document: Mapping[str, Any],
    base_url: str,
    headers: Mapping[str, str],
    seed: int,
    traffic: Any = None,
    *,
    problem: Callable[[str], Any],
    tested: Callable[[str, str, bool, list[Violation]], Any],
) -> Iterator[Any]:
    """The ``workflows`` phase of ``mockline verify``: events for the runner, results into ``report``."""
    from contracts.loaders import workflows_path
    from contracts.runner import renewal  # the runner imports this module

    path = workflows_path(options.spec)
    if path is None:
        return
    target = Target(
        base_url,
        headers,
        oauth2_client(options.auth),
        seed,
        options.request_timeout,
        traffic,
        other_scheme(document, options.auth, options.headers),
        renewal(document, options, traffic),
    )
    narrowed = options.operations or options.exclude_operations
    operations = remaining_operations(document) if narrowed else None
    exclude = frozenset(options.exclude_workflows)
    try:
        for outcome in run_document(path, target, operations=operations, exclude=exclude):
            report.requests += outcome.requests
            if outcome.left_out:
                report.leave_out("workflow", outcome.workflow_id, outcome.left_out)
                yield problem(f"{outcome.label}: left out: {outcome.left_out}")
                continue
            if outcome.not_applicable:
                report.record(outcome.label, PHASE, None)
                yield problem(f"{outcome.label}: not applicable: {outcome.not_applicable}")
                continue
            if outcome.inconclusive:
                report.record(outcome.label, PHASE, None)
                report.inconclusive.append(
                    Inconclusive(scope="workflow", name=outcome.workflow_id, reason=outcome.inconclusive)
                )
                yield problem(f"{outcome.label}: inconclusive: {outcome.inconclusive}")
                continue
            new = report.judged(outcome.label, PHASE, outcome.passed, outcome.violation)
            yield tested(PHASE, outcome.label, outcome.passed, new)
    except arazzo.ArazzoError as exc:
        message = f"{path.name}: {exc}"
        report.errors.append(message)
        yield problem(message)
