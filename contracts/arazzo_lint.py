"""Lint for our Arazzo workflow documents (``specs/<api>.arazzo.yaml``), used by ``mockline lint``.

Rules, each a finding ``(where, rule, message)`` with ``where`` a JSON pointer into the document:

- ``arazzo-schema``: the document has the structure of Arazzo 1.0.x (``arazzo-1.0.schema.json``);
- ``operation-resolves``: every step's ``operationId`` names one operation of its source descriptions,
  and every path parameter that operation needs is given;
- ``expression-resolves``: every runtime expression reaches something that exists: a declared input,
  an output its step declares, a step or workflow of the document, a reusable component;
- ``criterion-regex``: every ``regex`` criterion's condition is an ECMA-262 regular expression that
  mockline can read exactly (``arazzo.regex``);
- ``step-target``: every ``goto``, ``workflowId`` and ``dependsOn`` names a step or workflow that exists;
- ``unique-ids``: workflowIds are unique, and stepIds unique in the whole document (Redocly's runner
  reads step outputs document-wide, so a stepId used twice confuses it);
- ``rule-pointer``: every workflow that is not a helper names the spec element it proves in
  ``x-mockline-rule`` (``<spec file>#<JSON pointer>``), and the pointer resolves.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import jsonschema

from contracts import arazzo, model
from contracts.arazzo import ArazzoError, Document, Unresolved

Problem = tuple[str, str, str]  # where, rule, message


@functools.cache
def _validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(arazzo.SCHEMA_FILE.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def _where(*parts: object) -> str:
    return model.pointer_to(parts) or "/"


def lint(path: str | Path) -> list[Problem]:
    """Every finding for one workflow document."""
    path = Path(path)
    try:
        document = arazzo.load(path)
    except ArazzoError as exc:
        return [("", "arazzo-schema", str(exc))]
    problems: list[Problem] = [
        (_where(*error.absolute_path), "arazzo-schema", error.message)
        for error in sorted(_validator().iter_errors(document.data), key=lambda e: list(map(str, e.path)))
    ]
    if problems:
        return problems  # meaning is only worth checking on a well-formed document
    problems += _unique_ids(document)
    for w, workflow in enumerate(document.workflows):
        problems += list(_workflow(document, w, workflow))
    return problems


def _unique_ids(document: Document) -> list[Problem]:
    problems: list[Problem] = []
    seen_workflows: set[str] = set()
    seen_steps: dict[str, str] = {}
    for w, workflow in enumerate(document.workflows):
        workflow_id = str(workflow["workflowId"])
        if workflow_id in seen_workflows:
            problems.append((_where("workflows", w), "unique-ids", f"workflowId {workflow_id} is used twice"))
        seen_workflows.add(workflow_id)
        for s, step in enumerate(workflow["steps"]):
            step_id = str(step["stepId"])
            if step_id in seen_steps:
                problems.append(
                    (
                        _where("workflows", w, "steps", s),
                        "unique-ids",
                        f"stepId {step_id} is also a step of {seen_steps[step_id]}",
                    )
                )
            seen_steps.setdefault(step_id, workflow_id)
    return problems


def _workflow(document: Document, w: int, workflow: Mapping[str, Any]) -> Iterator[Problem]:
    here = ("workflows", w)
    workflow_ids = {str(x["workflowId"]) for x in document.workflows}
    steps = {str(step["stepId"]): step for step in workflow["steps"]}
    inputs = document.resolve_local(workflow.get("inputs") or {})
    input_names = set((inputs.get("properties") or {}) if isinstance(inputs, Mapping) else ())
    yield from _rule_pointer(document, here, workflow)
    for d, dependency in enumerate(workflow.get("dependsOn") or []):
        if dependency not in workflow_ids:
            yield (_where(*here, "dependsOn", d), "step-target", f"dependsOn names no workflow {dependency}")

    def check(expression: str, where: tuple[object, ...], in_step: bool) -> Iterator[Problem]:
        problem = _expression_problem(document, expression, steps, input_names, workflow_ids, in_step)
        if problem:
            yield (_where(*where), "expression-resolves", f"{expression}: {problem}")

    for s, step in enumerate(workflow["steps"]):
        at = (*here, "steps", s)
        if step.get("operationId"):
            try:
                operation = document.operation(str(step["operationId"]))
            except ArazzoError as exc:
                yield (_where(*at, "operationId"), "operation-resolves", str(exc))
                operation = None
            if operation is not None:
                yield from _path_parameters(document, at, step, operation)
        elif step.get("workflowId") and step["workflowId"] not in workflow_ids:
            yield (_where(*at, "workflowId"), "step-target", f"no workflow {step['workflowId']}")
        elif step.get("operationPath"):
            yield (_where(*at, "operationPath"), "operation-resolves", "use operationId, not operationPath")
        for p, parameter in enumerate(step.get("parameters") or []):
            if "reference" in parameter:
                try:
                    document.component(str(parameter["reference"]))
                except ArazzoError as exc:
                    yield (_where(*at, "parameters", p), "expression-resolves", str(exc))
            for expression in arazzo.expressions_in(parameter.get("value")):
                yield from check(expression, (*at, "parameters", p, "value"), True)
        body = step.get("requestBody") or {}
        for expression in arazzo.expressions_in(body.get("payload")):
            yield from check(expression, (*at, "requestBody", "payload"), True)
        for kind in ("successCriteria", "x-mockline-not-applicable-when"):
            for c, criterion in enumerate(step.get(kind) or []):
                yield from _criterion(criterion, (*at, kind, c), check)
        for kind in ("onSuccess", "onFailure"):
            for a, action in enumerate(step.get(kind) or []):
                if "reference" in action:
                    continue
                if action.get("stepId") and action["stepId"] not in steps:
                    yield (_where(*at, kind, a), "step-target", f"goto names no step {action['stepId']}")
                if action.get("workflowId") and action["workflowId"] not in workflow_ids:
                    yield (
                        _where(*at, kind, a),
                        "step-target",
                        f"goto names no workflow {action['workflowId']}",
                    )
                for c, criterion in enumerate(action.get("criteria") or []):
                    yield from _criterion(criterion, (*at, kind, a, "criteria", c), check)
        for name, expression in (step.get("outputs") or {}).items():
            for found in arazzo.expressions_in(expression):
                yield from check(found, (*at, "outputs", name), True)
    for name, expression in (workflow.get("outputs") or {}).items():
        for found in arazzo.expressions_in(expression):
            yield from check(found, (*here, "outputs", name), False)


def _criterion(criterion: Mapping[str, Any], where: tuple[object, ...], check: Any) -> Iterator[Problem]:
    kind = arazzo.criterion_type(criterion)
    condition = str(criterion.get("condition", ""))
    if kind == "simple":
        try:
            found = arazzo.condition_expressions(condition)
        except ArazzoError as exc:
            yield (_where(*where, "condition"), "expression-resolves", str(exc))
            return
    else:
        found = [str(criterion.get("context", ""))]
        found += list(arazzo.expressions_in(condition)) if kind == "jsonpath" else []
        if kind == "regex":
            try:
                arazzo.regex(condition)
            except ArazzoError as exc:
                yield (_where(*where, "condition"), "criterion-regex", str(exc))
    for expression in found:
        yield from check(expression, (*where,), True)


def _expression_problem(
    document: Document,
    expression: str,
    steps: Mapping[str, Mapping[str, Any]],
    inputs: set[str],
    workflow_ids: set[str],
    in_step: bool,
) -> str:
    head, _, pointer = expression.partition("#")
    if pointer and not pointer.startswith("/"):
        return "a JSON pointer starts with '/'"
    if head in ("$url", "$method", "$statusCode") or head.startswith(("$request.", "$response.")):
        if not in_step:
            return "only a step can read its own request or answer"
        if head.startswith(("$request.", "$response.")):
            kind = head.split(".")[1] if head.count(".") else ""
            allowed = (
                {"header", "query", "path", "body"} if head.startswith("$request.") else {"header", "body"}
            )
            if kind not in allowed:
                return f"{head.split('.')[0]} has no part {kind!r}"
        return ""
    if head.startswith("$inputs."):
        name = head[len("$inputs.") :].split(".")[0]
        return "" if name in inputs else f"the workflow declares no input {name!r}"
    if head.startswith("$steps."):
        parts = head[len("$steps.") :].split(".")
        if len(parts) < 3 or parts[1] != "outputs":
            return "write $steps.<stepId>.outputs.<name>"
        step = steps.get(parts[0])
        if step is None:
            return f"no step {parts[0]!r} in this workflow"
        declared = set(step.get("outputs") or {})
        if step.get("workflowId"):
            with contextlib.suppress(ArazzoError):
                declared |= set(document.workflow(str(step["workflowId"])).get("outputs") or {})
        return "" if parts[2] in declared else f"step {parts[0]} declares no output {parts[2]!r}"
    if head.startswith("$workflows."):
        parts = head[len("$workflows.") :].split(".")
        if len(parts) < 3 or parts[1] not in ("inputs", "outputs"):
            return "write $workflows.<workflowId>.outputs.<name>"
        if parts[0] not in workflow_ids:
            return f"no workflow {parts[0]!r}"
        if parts[1] == "outputs" and parts[2] not in (document.workflow(parts[0]).get("outputs") or {}):
            return f"workflow {parts[0]} declares no output {parts[2]!r}"
        return ""
    if head.startswith(("$components.", "$sourceDescriptions.")):
        scope = arazzo.Scope(document=document, inputs={})
        try:
            arazzo.evaluate(head, scope)
        except Unresolved as exc:
            return str(exc)
        return ""
    if head.startswith("$outputs."):
        return ""
    return "not a runtime expression Arazzo defines"


def _path_parameters(
    document: Document, at: tuple[object, ...], step: Mapping[str, Any], operation: arazzo.Operation
) -> Iterator[Problem]:
    declared = {f"{p.location}:{p.name}": p.name for p in operation.parameters}
    given: set[str] = set()
    for parameter in step.get("parameters") or []:
        if "reference" in parameter:
            try:
                parameter = document.component(str(parameter["reference"]))
            except ArazzoError:
                continue
        key = f"{parameter.get('in')}:{parameter.get('name')}"
        given.add(key)
        if parameter.get("in") == "path" and key not in declared:
            yield (
                _where(*at, "parameters"),
                "operation-resolves",
                f"{operation.operation_id} has no path parameter {parameter.get('name')}",
            )
    for key, name in declared.items():
        if key.startswith("path:") and key not in given:
            yield (_where(*at, "parameters"), "operation-resolves", f"path parameter {name} is not given")


def _rule_pointer(
    document: Document, here: tuple[object, ...], workflow: Mapping[str, Any]
) -> Iterator[Problem]:
    if workflow.get("x-mockline-helper"):
        return
    rule = workflow.get("x-mockline-rule")
    if not isinstance(rule, str) or "#" not in rule:
        yield (
            _where(*here),
            "rule-pointer",
            "a workflow names the rule it proves: x-mockline-rule: <spec>#<pointer>",
        )
        return
    file, _, pointer = rule.partition("#")
    spec_path = document.path.parent / file
    if not spec_path.is_file():
        yield (_where(*here, "x-mockline-rule"), "rule-pointer", f"{file} is not beside this document")
        return
    try:
        arazzo.pointer(_spec(spec_path), pointer)
    except Unresolved:
        yield (_where(*here, "x-mockline-rule"), "rule-pointer", f"{rule} points at nothing")


@functools.cache
def _spec(path: Path) -> Any:
    return arazzo.load_yaml(path)
