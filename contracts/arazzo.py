"""The Arazzo 1.0 language, as far as our behavioural contracts use it: documents, runtime expressions,
criteria. No HTTP here: :mod:`contracts.workflows` runs the workflows, :mod:`contracts.speclint` lints them.

- :func:`load` reads a workflow document (``specs/<api>.arazzo.yaml``) and the OpenAPI documents its
  ``sourceDescriptions`` name, and indexes their operations by ``operationId``.
- :class:`Scope` holds what a runtime expression can reach (inputs, the current exchange, step and
  workflow outputs); :func:`evaluate` resolves one expression, :func:`interpolate` a value that holds
  expressions whole (typed) or embedded in text as ``{$...}``.
- :func:`holds` judges one Criterion Object: a simple condition (``$statusCode == 201 && ...``), a
  regular expression, or a JSONPath (RFC 9535) evaluated, as Redocly's runner does, against a
  one-element list holding the context, so ``$[?count(@.records) > 0]`` asks about the context itself.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from contracts import model, patterns
from contracts.errors import ContractsError

HTTP_METHODS = ("get", "put", "post", "patch", "delete", "head", "options", "trace")
EMBEDDED = re.compile(r"\{(\$[^{}]+)\}")
SCHEMA_FILE = Path(__file__).with_name("arazzo-1.0.schema.json")


class ArazzoError(ContractsError):
    """A workflow document that cannot be read or does not hold together."""


class Unresolved(ContractsError, LookupError):
    """A runtime expression that reaches no value (an absent step output, body field or header)."""


# -- documents ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    source: str  # the sourceDescription's name
    operation_id: str
    method: str  # upper case
    path: str
    definition: Mapping[str, Any]  # resolved, as the contract model reads it
    parameters: tuple[model.Parameter, ...]  # the path item's and the operation's, merged


@dataclass
class Document:
    path: Path
    data: dict[str, Any]
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> OpenAPI document
    operations: dict[str, dict[str, Operation]] = field(default_factory=dict)  # source -> id -> op

    @property
    def workflows(self) -> list[dict[str, Any]]:
        return list(self.data.get("workflows") or [])

    def workflow(self, workflow_id: str) -> dict[str, Any]:
        for workflow in self.workflows:
            if workflow.get("workflowId") == workflow_id:
                return workflow
        raise ArazzoError(f"no workflow {workflow_id!r} in {self.path.name}")

    def operation(self, reference: str) -> Operation:
        """The operation a step's ``operationId`` names: ``createContact``, or
        ``$sourceDescriptions.<name>.<operationId>`` when more than one source is present."""
        if reference.startswith("$sourceDescriptions."):
            name, _, operation_id = reference[len("$sourceDescriptions.") :].partition(".")
            found = self.operations.get(name, {}).get(operation_id)
            if found is None:
                raise ArazzoError(f"{reference}: source {name!r} has no operation {operation_id!r}")
            return found
        matches = [ops[reference] for ops in self.operations.values() if reference in ops]
        if not matches:
            raise ArazzoError(f"operationId {reference!r} is in none of the source descriptions")
        if len(matches) > 1:
            raise ArazzoError(f"operationId {reference!r} is ambiguous: qualify it with $sourceDescriptions")
        return matches[0]

    def component(self, reference: str) -> Any:
        """``$components.parameters.auth`` and the like."""
        parts = reference.split(".")
        if len(parts) != 3 or parts[0] != "$components":
            raise ArazzoError(f"{reference!r} is not a $components reference")
        found = ((self.data.get("components") or {}).get(parts[1]) or {}).get(parts[2])
        if found is None:
            raise ArazzoError(f"{reference} is not defined")
        return found

    def resolve_local(self, node: Any) -> Any:
        """Follow ``$ref: '#/...'`` inside this document (workflow inputs use them)."""
        try:
            return model.resolve(self.data, node)
        except model.UnresolvableRef as exc:
            raise Unresolved(str(exc)) from exc


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise ArazzoError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ArazzoError(f"{path} is not a mapping at its top level")
    return data


def load_yaml(path: Path) -> dict[str, Any]:
    """A YAML or JSON file's top-level mapping (an OpenAPI or Arazzo document)."""
    return _read(path)


def index_operations(source: str, document: Mapping[str, Any]) -> dict[str, Operation]:
    try:
        spec = model.from_document(source, document)
    except (model.UnresolvableRef, ValueError) as exc:
        raise ArazzoError(f"source {source!r}: {exc}") from exc
    return {
        op.operation_id: Operation(source, op.operation_id, op.method, op.path, op.definition, op.parameters)
        for op in spec.operations
        if op.definition.get("operationId")
    }


def load(path: str | Path) -> Document:
    """A workflow document with its OpenAPI sources loaded (their ``url`` is relative to the document)."""
    path = Path(path)
    data = _read(path)
    document = Document(path=path, data=data)
    for source in data.get("sourceDescriptions") or []:
        if not isinstance(source, Mapping) or source.get("type", "openapi") != "openapi":
            continue
        name, url = str(source.get("name", "")), str(source.get("url", ""))
        if "://" in url:
            raise ArazzoError(f"source {name!r}: only local files are read, not {url}")
        openapi = _read((path.parent / url).resolve())
        document.sources[name] = openapi
        document.operations[name] = index_operations(name, openapi)
    return document


def pointer(document: Any, text: str) -> Any:
    """RFC 6901: the value at ``text`` (``/records/0/id``), or :class:`Unresolved`."""
    if text in ("", "/"):
        return document if text == "" else _child(document, "")
    if not text.startswith("/"):
        raise Unresolved(f"JSON pointer {text!r} does not start with '/'")
    node = document
    for raw in text[1:].split("/"):
        node = _child(node, model.unescape_token(raw))
    return node


def _child(node: Any, key: str) -> Any:
    try:
        return model.child(node, key)
    except model.UnresolvableRef:
        raise Unresolved(f"no value at {key!r}") from None


# -- runtime expressions ------------------------------------------------------------------------------------


@dataclass
class Exchange:
    """One request and its answer, as runtime expressions see them."""

    method: str
    url: str
    request_headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    path_params: dict[str, str] = field(default_factory=dict)
    request_body: Any = None
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: Any = None
    raw: bytes = b""
    operation: str = ""  # "PATCH /contacts/{contact_id}": the operation the step named


@dataclass
class Scope:
    document: Document
    inputs: Mapping[str, Any]
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)  # stepId -> outputs
    workflows: dict[str, dict[str, Any]] = field(default_factory=dict)  # workflowId -> {inputs, outputs}
    exchange: Exchange | None = None
    outputs: dict[str, Any] = field(default_factory=dict)  # this workflow's outputs so far


def _with_pointer(value: Any, rest: str) -> Any:
    return pointer(value, rest) if rest else value


def _split_pointer(text: str) -> tuple[str, str]:
    head, sep, rest = text.partition("#")
    return head, rest if sep else ""


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    raise Unresolved(f"no header {name}")


def _dotted(mapping: Mapping[str, Any], dotted: str, what: str) -> Any:
    node: Any = mapping
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise Unresolved(f"{what} has no {dotted!r}")
        node = node[part]
    return node


def evaluate(expression: str, scope: Scope) -> Any:
    """The value of one runtime expression; :class:`Unresolved` when it reaches nothing."""
    text = expression.strip()
    head, rest = _split_pointer(text)
    exchange = scope.exchange
    if head in ("$url", "$method", "$statusCode"):
        if exchange is None:
            raise Unresolved(f"{head} outside a step")
        if head == "$url":
            return exchange.url
        if head == "$method":
            return exchange.method
        if exchange.status is None:
            raise Unresolved("no answer yet")
        return exchange.status
    if head.startswith(("$request.", "$response.")):
        if exchange is None:
            raise Unresolved(f"{head} outside a step")
        side, _, part = head[1:].partition(".")
        kind, _, name = part.partition(".")
        if side == "request":
            if kind == "header":
                return _header(exchange.request_headers, name)
            if kind == "query":
                return _dotted(exchange.query, name, "the query")
            if kind == "path":
                return _dotted(exchange.path_params, name, "the path")
            if kind == "body":
                return _with_pointer(exchange.request_body, rest)
        else:
            if kind == "header":
                return _header(exchange.response_headers, name)
            if kind == "body":
                if exchange.status is None:
                    raise Unresolved("no answer yet")
                return _with_pointer(exchange.response_body, rest)
        raise Unresolved(f"unknown source {head!r}")
    if head.startswith("$inputs."):
        return _with_pointer(_dotted(scope.inputs, head[len("$inputs.") :], "the inputs"), rest)
    if head.startswith("$outputs."):
        return _with_pointer(_dotted(scope.outputs, head[len("$outputs.") :], "the outputs"), rest)
    if head.startswith("$steps."):
        step_id, _, tail = head[len("$steps.") :].partition(".")
        if not tail.startswith("outputs.") or step_id not in scope.steps:
            raise Unresolved(f"step {step_id!r} has not run or has no outputs")
        return _with_pointer(_dotted(scope.steps[step_id], tail[len("outputs.") :], f"step {step_id}"), rest)
    if head.startswith("$workflows."):
        workflow_id, _, tail = head[len("$workflows.") :].partition(".")
        kind, _, name = tail.partition(".")
        found = scope.workflows.get(workflow_id, {}).get(kind)
        if kind not in ("inputs", "outputs") or found is None:
            raise Unresolved(f"workflow {workflow_id!r} has not run")
        return _with_pointer(_dotted(found, name, f"workflow {workflow_id}"), rest)
    if head.startswith("$sourceDescriptions."):
        name, _, tail = head[len("$sourceDescriptions.") :].partition(".")
        for source in scope.document.data.get("sourceDescriptions") or []:
            if source.get("name") == name and tail == "url":
                return source.get("url")
        raise Unresolved(f"{head} names no source URL")
    if head.startswith("$components."):
        try:
            return scope.document.component(head)
        except ArazzoError as exc:
            raise Unresolved(str(exc)) from None
    raise Unresolved(f"{expression!r} is not a runtime expression")


def is_expression(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("$") and " " not in value.strip()


def as_text(value: Any) -> str:
    """How a value reads inside text, as Redocly's runner writes it: strings bare, numbers plainly,
    objects and lists as JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return json.dumps(value)
    return json.dumps(value, separators=(",", ":"))


def interpolate(value: Any, scope: Scope) -> Any:
    """``value`` with its runtime expressions resolved: a string that is one expression keeps the type
    of what it reaches; ``{$...}`` inside text is replaced by the value's text."""
    if isinstance(value, str):
        if is_expression(value):
            return evaluate(value, scope)
        return EMBEDDED.sub(lambda m: as_text(evaluate(m.group(1), scope)), value)
    if isinstance(value, Mapping):
        return {k: interpolate(v, scope) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, scope) for v in value]
    return value


def expressions_in(value: Any) -> Iterator[str]:
    """Every runtime expression a value holds, whole or embedded (for lint)."""
    if isinstance(value, str):
        if is_expression(value):
            yield value.strip()
        else:
            yield from (m.group(1) for m in EMBEDDED.finditer(value))
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from expressions_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from expressions_in(item)


# -- criteria -------------------------------------------------------------------------------------------------

_MISSING = object()
_TOKEN = re.compile(
    r"\s*(?:(?P<op>==|!=|<=|>=|&&|\|\||<|>|!|\(|\))"
    r"|(?P<str>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")"
    r"|(?P<num>-?\d+(?:\.\d+)?(?![\w.]))"
    r"|(?P<word>true|false|null)(?![\w$])"
    r"|(?P<expr>\$[^\s=!<>&|()]+))"
)


def _tokens(condition: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    text = condition.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise ArazzoError(f"cannot read condition {condition!r} at {text[position:]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
        while position < len(text) and text[position].isspace():
            position += 1
    return tokens


class _Parser:
    """condition := or; or := and ('||' and)*; and := unary ('&&' unary)*;
    unary := '!' unary | '(' or ')' | operand (cmp operand)?"""

    def __init__(self, tokens: list[tuple[str, str]], resolve: Callable[[str], Any]) -> None:
        self.tokens = tokens
        self.position = 0
        self.resolve = resolve

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise ArazzoError("the condition ends too early")
        self.position += 1
        return token

    def parse(self) -> bool:
        value = self.disjunction()
        if self.peek() is not None:
            raise ArazzoError(f"unexpected {self.peek()[1]!r} in the condition")  # type: ignore[index]
        return value

    def disjunction(self) -> bool:
        value = self.conjunction()
        while self.peek() == ("op", "||"):
            self.take()
            right = self.conjunction()
            value = value or right
        return value

    def conjunction(self) -> bool:
        value = self.unary()
        while self.peek() == ("op", "&&"):
            self.take()
            right = self.unary()
            value = value and right
        return value

    def unary(self) -> bool:
        token = self.peek()
        if token == ("op", "!"):
            self.take()
            return not self.unary()
        if token == ("op", "("):
            self.take()
            value = self.disjunction()
            if self.take() != ("op", ")"):
                raise ArazzoError("a '(' is not closed")
            return value
        left = self.operand()
        following = self.peek()
        if (
            following is not None
            and following[0] == "op"
            and following[1] in ("==", "!=", "<", "<=", ">", ">=")
        ):
            self.take()
            return _compare(left, following[1], self.operand())
        return left is not _MISSING and bool(left)

    def operand(self) -> Any:
        kind, text = self.take()
        if kind == "str":
            return re.sub(r"\\(.)", r"\1", text[1:-1])
        if kind == "num":
            return float(text) if "." in text else int(text)
        if kind == "word":
            return {"true": True, "false": False, "null": None}[text]
        if kind == "expr":
            return self.resolve(text)
        raise ArazzoError(f"expected a value, found {text!r}")


def _compare(left: Any, op: str, right: Any) -> bool:
    if left is _MISSING or right is _MISSING:
        # An absent value equals nothing, not even null; it differs from everything.
        return op == "!="
    if isinstance(left, bool) or isinstance(right, bool):
        equal = left is right if isinstance(left, bool) and isinstance(right, bool) else False
    elif isinstance(left, int | float) and isinstance(right, int | float):
        equal = left == right
    elif isinstance(left, int | float | str) and isinstance(right, int | float | str):
        equal = str(left) == str(right)  # a number and its text are equal, as in JavaScript's ==
    else:
        equal = left == right
    if op == "==":
        return bool(equal)
    if op == "!=":
        return not equal
    numbers = [_number(left), _number(right)]
    if numbers[0] is None or numbers[1] is None:
        return False
    a, b = numbers[0], numbers[1]
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def condition_expressions(condition: str) -> list[str]:
    """The runtime expressions a simple condition reads (for lint)."""
    return [text for kind, text in _tokens(condition) if kind == "expr"]


def criterion_type(criterion: Mapping[str, Any]) -> str:
    kind = criterion.get("type", "simple")
    if isinstance(kind, Mapping):  # a Criterion Expression Type Object: {type: jsonpath, version: ...}
        kind = kind.get("type", "simple")
    return str(kind)


@functools.lru_cache(maxsize=256)
def regex(condition: str) -> re.Pattern[str]:
    """A ``regex`` criterion's condition, read as ECMA-262 reads it (as the JavaScript runners of Arazzo
    documents, Redocly's and Spectral's, do): ``(?<name>...)`` and ``\\p{L}`` work, Python's own
    ``(?P<name>...)`` does not. ``ArazzoError`` when it is no such pattern. Read once per condition: a
    workflow judges its criteria at every step it plays."""
    if not patterns.is_ecma(condition):
        raise ArazzoError(f"regex criterion {condition!r} is not an ECMA-262 regular expression")
    try:
        return patterns.compiled(condition)
    except patterns.PatternError as exc:
        raise ArazzoError(f"regex criterion {exc}: Python has no exact spelling of it") from None


def holds(criterion: Mapping[str, Any], scope: Scope) -> bool:
    """Whether one Criterion Object holds in ``scope``."""
    kind = criterion_type(criterion)
    condition = str(criterion.get("condition", ""))
    if kind == "simple":

        def resolve(expression: str) -> Any:
            try:
                return evaluate(expression, scope)
            except Unresolved:
                return _MISSING

        return _Parser(_tokens(condition), resolve).parse()
    try:
        context = evaluate(str(criterion.get("context", "")), scope)
    except Unresolved:
        return False
    if kind == "regex":
        return regex(condition).search(as_text(context)) is not None
    if kind == "jsonpath":
        import jsonpath_rfc9535

        def substitute(match: re.Match[str]) -> str:
            value = evaluate(match.group(1), scope)
            return json.dumps(value) if isinstance(value, str | list | dict) else as_text(value)

        try:
            query = EMBEDDED.sub(substitute, condition)
            return len(jsonpath_rfc9535.find(query, [context])) > 0
        except Unresolved:
            return False
        except Exception as exc:  # the library's syntax errors have no common root
            raise ArazzoError(f"JSONPath {condition!r}: {exc}") from exc
    raise ArazzoError(f"criterion type {kind!r} is not supported (simple, regex, jsonpath)")


def describe_criterion(criterion: Mapping[str, Any]) -> str:
    kind = criterion_type(criterion)
    condition = " ".join(str(criterion.get("condition", "")).split())
    if kind == "simple":
        return condition
    return f"{criterion.get('context')} matches {kind} {condition}"
