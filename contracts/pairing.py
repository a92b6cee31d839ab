"""The ``links`` phase of ``mockline verify``: every create -> use pairing the spec declares, played first.

A spec declares that an id one operation answers is taken by another as an OpenAPI Link Object on the
answer (``makePreviewCall`` 200 -> ``endPreviewCall`` with ``callID: $response.body#/data/callID``).
This phase plays each link once, before Schemathesis' phases change the server's state: the source
operation with its documented example (path values from its parameters' examples, the first JSON request
example), then, when that succeeded, the target with the link's values filled into its own documented
example. A target that answers 404 or 410 for what was just created breaks ``created_id_usable``, a
success passes it; a link that could not be judged (no documented example to send, the source created
nothing, the target refused otherwise: a 403, a 409, a 429) counts as "not applicable" on the row and is
handed back as :class:`Unjudged`: the run names it inconclusive at its end unless another phase judged
the same pair (``created_id_usable`` following the link during Schemathesis' phases). Both requests go
through the run's :class:`~contracts.traffic.Traffic`, so they are paced and counted: a target's success
answer is evidence for that operation, which generated requests rarely reach since they cannot guess a
live id.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from contracts import bounded, checks, model
from contracts.reporting.model import Violation
from contracts.urls import request_url

PHASE = "links"
RULE = "created_id_usable"
RATE_LIMITED_TRIES = 3  # a request answered 429 is sent again, after its Retry-After, this often in all


@dataclass(frozen=True)
class Link:
    """One Link Object: from ``source`` answering ``status`` to ``target``."""

    name: str
    source: model.Operation
    status: str
    target: model.Operation
    parameters: Mapping[str, Any]  # target parameter name ("path.id" or "id") -> expression or literal
    request_body: Any  # an expression, or an object of them; None when the link names no body


def links(contract: model.Contract) -> list[Link]:
    """Every link of ``contract`` whose target exists, in document order."""
    found: list[Link] = []
    seen: set[tuple[str, str]] = set()
    for source in contract.operations:
        for status, response in (source.definition.get("responses") or {}).items():
            for name, link in ((response or {}).get("links") or {}).items():
                target = contract.by_id.get(str(link.get("operationId", "")))
                if target is not None and (source.operation_id, name) not in seen:  # 200 and 201 alike
                    seen.add((source.operation_id, name))
                    body = link.get("requestBody")
                    found.append(Link(name, source, str(status), target, link.get("parameters") or {}, body))
    return found


def _example(parameter: model.Parameter) -> Any:
    """The parameter's first example, else its schema's default (None when it has neither)."""
    shown = parameter.examples
    return shown[0] if shown else parameter.default


def _json_example(op: model.Operation) -> tuple[str, Any] | None:
    for media_type, media in (op.request_body.content if op.request_body else {}).items():
        if media_type.endswith("json") and media.examples:
            return media_type, next(iter(media.examples.values()))
    return None


@dataclass
class Sent:
    status: int
    body: Any
    curl: str
    described: str


class Sender(Protocol):
    def request(self, op: model.Operation, path_values: Mapping[str, Any], body: Any) -> Sent | None: ...


class Player:
    """Sends one operation's request with the run's credentials, through the run's traffic."""

    def __init__(
        self,
        base_url: str,
        headers: Mapping[str, str],
        timeout: float,
        traffic: Any,
        client: httpx.Client | None = None,
    ) -> None:
        self.client = client or bounded.client(timeout)
        self.base_url = base_url
        self.headers = dict(headers)
        self.timeout = timeout
        self.traffic = traffic
        self.sent = 0  # requests sent, for the report

    def request(self, op: model.Operation, path_values: Mapping[str, Any], body: Any) -> Sent | None:
        """None when the request cannot be built (a path value or a required JSON body is missing)."""
        url = request_url(self.base_url, op.path, path_values)
        if url is None:
            return None
        headers = dict(self.headers)
        query = {
            p.name: _example(p)
            for p in op.parameters
            if p.location == "query" and p.required and _example(p) is not None
        }
        data: bytes | None = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body).encode("utf-8")
        elif op.request_body is not None and op.request_body.required:
            return None
        for _attempt in range(RATE_LIMITED_TRIES):
            self.traffic.before_request()  # paced, and held while a Retry-After runs
            self.sent += 1
            response = self.client.request(
                op.method, url, params=query, headers=headers, content=data, timeout=self.timeout
            )
            self.traffic.after_response(
                operation=f"{op.method} {op.path}",
                method=op.method,
                url=str(response.request.url),
                request_headers=dict(response.request.headers),
                request_body=data,
                status=response.status_code,
                response_headers=list(response.headers.items()),
                response_body=response.content,
                elapsed=response.elapsed.total_seconds(),
            )
            if response.status_code != 429:
                break
        try:
            parsed = response.json()
        except ValueError:
            parsed = None
        curl = checks.curl_command(
            op.method, str(response.request.url), {**self.headers, **headers}, data.decode() if data else None
        )
        return Sent(
            response.status_code,
            parsed,
            curl,
            checks.describe(response.status_code, response.headers, response.content),
        )


@dataclass
class Outcome:
    label: str  # "makePreviewCall -> endPreviewCall (EndThisPreviewCall)"
    passed: bool | None  # None: not judged
    reason: str = ""
    violation: Violation | None = None


@dataclass(frozen=True)
class Unjudged:
    """A declared link this phase could not judge, and why: inconclusive unless another phase judges
    ``pair``."""

    pair: tuple[str, str]  # ("POST /things", "GET /things/{id}"), as Schemathesis labels operations
    label: str  # "createThing -> getThing (GetThing)"
    reason: str


def pair_of(link: Link) -> tuple[str, str]:
    return (f"{link.source.method} {link.source.path}", f"{link.target.method} {link.target.path}")


@dataclass(frozen=True)
class Created:
    """What a link's source created: its answer, and the path values it was sent with."""

    source: model.Operation
    path_values: Mapping[str, Any]  # the source's own path values
    answer: Any  # the source's answer body
    described: str = ""  # the answer in words ("HTTP 201 ..."), for a violation's message

    def handed(self, link: Link) -> tuple[dict[str, Any], Any]:
        """What ``link`` (from this source) hands its target: each parameter it names with its value, and
        its ``requestBody`` evaluated (the body fields it fills; None when it names none)."""
        used = {
            str(name).rpartition(".")[2]: checks.link_value(expression, self.answer, self.path_values)
            for name, expression in link.parameters.items()
        }
        if link.request_body is None:
            return used, None
        return used, checks.link_value(link.request_body, self.answer, self.path_values)


def create(link: Link, player: Sender) -> Created | str:
    """Play ``link``'s source with its documented example, as :func:`play` does first: what it created, or
    in words why nothing was. For a later phase that needs ids the server has (``negative``)."""
    source = link.source
    values = {p.name: _example(p) for p in source.parameters if p.location == "path"}
    example = _json_example(source)
    created = player.request(source, values, example[1] if example else None)
    if created is None:
        return f"{source.operation_id} has no documented example to send"
    if not 200 <= created.status < 300:
        return f"{source.operation_id} created nothing: {created.described}"
    return Created(source, values, created.body, created.described)


def play(link: Link, player: Sender) -> Outcome:
    """Create with the documented example, then use what was created."""
    label = f"{link.source.operation_id} -> {link.target.operation_id} ({link.name})"
    source = link.source
    created = create(link, player)
    if isinstance(created, str):
        return Outcome(label, None, created)
    target = link.target
    handed, filled = created.handed(link)
    used = {p.name: _example(p) for p in target.parameters if p.location == "path"} | handed
    body: Any = None
    target_example = _json_example(target)
    if target_example is not None:
        body = target_example[1]
    if link.request_body is not None:
        body = {**body, **filled} if isinstance(body, Mapping) and isinstance(filled, Mapping) else filled
    answer = player.request(target, used, body)
    if answer is None:
        return Outcome(
            label, None, f"{target.operation_id}: the link leaves a path value or its body unknown"
        )
    if 200 <= answer.status < 300:
        return Outcome(label, True)
    if answer.status in {404, 410}:
        target_label = f"{target.method} {target.path}"
        violation = Violation(
            operation=f"{source.method} {source.path}",
            rule=RULE,
            title=f"{target_label} does not find what {source.operation_id} created",
            expected=f"{target_label} to take the id {source.operation_id} answered (link {link.name})",
            got=answer.described,
            message=f"link {link.name}: {source.operation_id} answered {created.described}",
            curl=answer.curl,
            phase=PHASE,
        )
        return Outcome(label, False, violation=violation)
    return Outcome(label, None, f"{target.operation_id} answered {answer.described}")


def phase(
    report: Any,
    document: Mapping[str, Any],
    base_url: str,
    headers: Mapping[str, str],
    timeout: float,
    traffic: Any,
    *,
    problem: Callable[[str], Any],
    tested: Callable[[str, str, bool, list[Violation]], Any],
    judged_pairs: set[tuple[str, str]] | None = None,
    unjudged: list[Unjudged] | None = None,
) -> Iterator[Any]:
    """Play every link of ``document`` once; results into ``report``, events for the runner. The pairs
    judged go into ``judged_pairs``, the links that could not be judged into ``unjudged``."""
    contract = model.from_document(str(document.get("info", {}).get("title", "api")), document)
    player = Player(base_url, headers, timeout, traffic)
    yield from _play_all(
        contract,
        player,
        report,
        problem=problem,
        tested=tested,
        judged_pairs=judged_pairs if judged_pairs is not None else set(),
        unjudged=unjudged if unjudged is not None else [],
    )
    player.client.close()


def _play_all(
    contract: model.Contract,
    player: Player,
    report: Any,
    *,
    problem: Callable[[str], Any],
    tested: Callable[[str, str, bool, list[Violation]], Any],
    judged_pairs: set[tuple[str, str]],
    unjudged: list[Unjudged],
) -> Iterator[Any]:
    for link in links(contract):
        sent = player.sent
        try:
            outcome = play(link, player)
        except httpx.HTTPError as exc:
            report.errors.append(f"{PHASE}: {link.name}: {exc}")
            yield problem(f"{link.name}: {exc}")
            continue
        finally:
            report.requests += player.sent - sent
        operation = f"{link.source.method} {link.source.path}"
        if outcome.passed is None:
            report.record(operation, RULE, None)
            unjudged.append(Unjudged(pair_of(link), outcome.label, outcome.reason))
            yield problem(
                f"{outcome.label}: not judged: {outcome.reason} (inconclusive unless a later phase judges it)"
            )
            continue
        judged_pairs.add(pair_of(link))
        new = report.judged(operation, RULE, outcome.passed, outcome.violation)
        yield tested(PHASE, outcome.label, outcome.passed, new)
