"""The Arazzo language our behavioural contracts use: runtime expressions, criteria, seeded inputs, lint.

Each criterion kind is shown holding and not holding; lint passes our four documents and rejects a
broken copy of one for each of its rules.
"""

from __future__ import annotations

import copy
import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from contracts import arazzo
from contracts.arazzo import Exchange, Scope, Unresolved
from contracts.arazzo_lint import lint
from contracts.loaders import VENDOR_SPECS, specs_dir, workflows_path
from contracts.patterns import sample as sample_pattern
from contracts.workflows import generate

SPECS = specs_dir()


@pytest.fixture(scope="module")
def document() -> arazzo.Document:
    return arazzo.load(SPECS / "ringotel-crm.arazzo.yaml")


def scope_with(document: arazzo.Document, **kwargs: Any) -> Scope:
    exchange = Exchange(
        "POST",
        "http://crm/contacts?x=1",
        {"Content-Type": "application/json"},
        {"x": "1"},
        {},
        {"phone": "+16465550001"},
        201,
        {"content-type": "application/json", "location": "/contacts/c-7"},
        {"contact_id": "c-7", "phone": "+16465550001", "records": [{"id": 1}, {"id": 2}], "n": 3},
    )
    return Scope(document=document, inputs={"line": "0001", "nested": {"a": 5}}, exchange=exchange, **kwargs)


def test_runtime_expressions_reach_the_exchange_inputs_and_steps(document: arazzo.Document) -> None:
    scope = scope_with(document, steps={"create": {"contactId": "c-7", "rows": [{"id": 9}]}})
    assert arazzo.evaluate("$statusCode", scope) == 201
    assert arazzo.evaluate("$method", scope) == "POST"
    assert arazzo.evaluate("$response.body#/records/1/id", scope) == 2
    assert arazzo.evaluate("$response.header.Location", scope) == "/contacts/c-7"
    assert arazzo.evaluate("$request.body#/phone", scope) == "+16465550001"
    assert arazzo.evaluate("$request.query.x", scope) == "1"
    assert arazzo.evaluate("$inputs.nested.a", scope) == 5
    assert arazzo.evaluate("$steps.create.outputs.contactId", scope) == "c-7"
    assert arazzo.evaluate("$steps.create.outputs.rows#/0/id", scope) == 9
    assert arazzo.evaluate("$sourceDescriptions.crm.url", scope) == "./ringotel-crm.yaml"
    for absent in (
        "$response.body#/nope",
        "$steps.other.outputs.x",
        "$inputs.missing",
        "$response.header.X-No",
    ):
        with pytest.raises(Unresolved):
            arazzo.evaluate(absent, scope)


def test_interpolation_keeps_types_whole_and_writes_text_embedded(document: arazzo.Document) -> None:
    scope = scope_with(document)
    payload = {"n": "$response.body#/n", "phone": "+1646555{$inputs.line}", "list": ["$statusCode"]}
    assert arazzo.interpolate(payload, scope) == {"n": 3, "phone": "+16465550001", "list": [201]}
    assert sorted(arazzo.expressions_in(payload)) == ["$inputs.line", "$response.body#/n", "$statusCode"]


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("$statusCode == 201", True),
        ("$statusCode == 200", False),
        ("$statusCode != 200 && $response.body#/n >= 3", True),
        ("$statusCode == 200 || $response.body#/n < 3", False),
        ("!($statusCode == 200)", True),
        ("$response.body#/contact_id == 'c-7'", True),
        ('$response.body#/contact_id == "c-8"', False),
        ("$response.body#/phone == $request.body#/phone", True),
        ("$response.body#/absent == null", False),  # absent is not null
        ("$response.body#/absent != 'x'", True),
        ("$response.body#/n > $inputs.nested.a", False),
        ("$statusCode == '201'", True),  # a number and its text compare equal, as in JavaScript
    ],
)
def test_simple_conditions(document: arazzo.Document, condition: str, expected: bool) -> None:
    assert arazzo.holds({"condition": condition}, scope_with(document)) is expected


def test_regex_and_jsonpath_criteria_hold_and_fail(document: arazzo.Document) -> None:
    scope = scope_with(document, steps={"s": {"id": 2}})
    regex = {"context": "$response.body#/contact_id", "type": "regex"}
    assert arazzo.holds({**regex, "condition": "^c-[0-9]+$"}, scope)
    assert not arazzo.holds({**regex, "condition": "^a-"}, scope)
    path = {"context": "$response.body", "type": "jsonpath"}
    assert arazzo.holds(
        {**path, "condition": "$[?count(@.records[?@.id == {$steps.s.outputs.id}]) == 1]"}, scope
    )
    assert not arazzo.holds({**path, "condition": "$[?count(@.records[?@.id == 7]) == 1]"}, scope)
    versioned = {"context": "$response.body", "type": {"type": "jsonpath", "version": "draft-goessner"}}
    assert arazzo.holds({**versioned, "condition": "$[?count(@.records[*]) > 1]"}, scope)


def test_regex_criteria_are_read_as_ecma_262(document: arazzo.Document) -> None:
    scope = scope_with(document)
    regex = {"context": "$response.body#/contact_id", "type": "regex"}
    assert arazzo.holds({**regex, "condition": "^(?<prefix>c)-\\d+$"}, scope)  # ECMA's named group
    assert arazzo.holds({**regex, "condition": "^\\p{L}-"}, scope)  # a Unicode property class
    with pytest.raises(arazzo.ArazzoError, match="not an ECMA-262"):
        arazzo.holds({**regex, "condition": "^(?P<prefix>c)"}, scope)  # Python's own spelling


def test_a_condition_that_cannot_be_read_is_an_error_not_a_verdict(document: arazzo.Document) -> None:
    with pytest.raises(arazzo.ArazzoError):
        arazzo.holds({"condition": "$statusCode === 201"}, scope_with(document))


def test_open_inputs_are_drawn_from_the_seed_and_fit_their_schema() -> None:
    for pattern in (
        r"^[0-9]{4}$",
        r"^https://crm\.example\.com/ringme/[a-z]{8}$",
        r"^\+1(646|917)555[0-9]{4}$",
    ):
        drawn = [sample_pattern(pattern, random.Random(7)) for _ in range(3)]
        assert len(set(drawn)) == 1, "the same seed draws the same value"
        assert re.fullmatch(pattern.strip("^$"), drawn[0]), drawn[0]
    value = generate({"type": "integer", "minimum": 900000000, "maximum": 999999999}, random.Random(1))
    assert 900000000 <= value <= 999999999


@pytest.mark.parametrize("api", VENDOR_SPECS)
def test_each_shipped_workflow_document_passes_lint(api: str) -> None:
    path = workflows_path(api)
    assert path is not None
    assert lint(path) == []


def _ringme(tmp_path: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    """A broken copy of the ringme document beside copies of the specs it reads."""
    for name in ("ringme.yaml", "mockline-admin.yaml"):
        (tmp_path / name).write_text((SPECS / name).read_text(encoding="utf-8"), encoding="utf-8")
    data = yaml.safe_load((SPECS / "ringme.arazzo.yaml").read_text(encoding="utf-8"))
    broken = copy.deepcopy(data)
    change(broken)
    target = tmp_path / "ringme.arazzo.yaml"
    target.write_text(yaml.safe_dump(broken, sort_keys=False), encoding="utf-8")
    return target


def _workflow(data: dict[str, Any], workflow_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(w for w in data["workflows"] if w["workflowId"] == workflow_id)
    return found


def _step(data: dict[str, Any], workflow_id: str, step_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(s for s in _workflow(data, workflow_id)["steps"] if s["stepId"] == step_id)
    return found


BROKEN: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "wrong version": (lambda d: d.update(arazzo="2.0.0"), "arazzo-schema"),
    "no steps": (lambda d: _workflow(d, "deletedSubscriptionIsGone").update(steps=[]), "arazzo-schema"),
    "step with two targets": (
        lambda d: _step(d, "deletedSubscriptionIsGone", "remove").update(workflowId="clearLocalAgent"),
        "arazzo-schema",
    ),
    "unknown field": (lambda d: _workflow(d, "deletedSubscriptionIsGone").update(stepz=[]), "arazzo-schema"),
    "bad parameter location": (
        lambda d: _step(d, "deletedSubscriptionIsGone", "remove")["parameters"].append(
            {"name": "x", "in": "body", "value": 1}
        ),
        "arazzo-schema",
    ),
    "unknown operationId": (
        lambda d: _step(d, "deletedSubscriptionIsGone", "remove").update(operationId="removeSubscription"),
        "operation-resolves",
    ),
    "path parameter not given": (
        lambda d: _step(d, "deletedSubscriptionIsGone", "remove")["parameters"].pop(),
        "operation-resolves",
    ),
    "output nobody declares": (
        lambda d: _step(d, "deletedSubscriptionIsGone", "remove")["parameters"][-1].update(
            value="$steps.subscribeToDelete.outputs.subscriptionId"
        ),
        "expression-resolves",
    ),
    "undeclared input": (
        lambda d: _step(d, "deletedSubscriptionIsGone", "subscribeToDelete")["requestBody"]["payload"].update(
            url="{$inputs.address}/x"
        ),
        "expression-resolves",
    ),
    "misspelt source": (
        lambda d: _step(d, "deletedSubscriptionIsGone", "readRemoved")["successCriteria"].append(
            {"condition": "$respons.body#/id == 1"}
        ),
        "expression-resolves",
    ),
    "regex criterion in Python's spelling": (
        lambda d: _step(d, "deletedSubscriptionIsGone", "readRemoved")["successCriteria"].append(
            {"context": "$statusCode", "type": "regex", "condition": "(?P<code>404)"}
        ),
        "criterion-regex",
    ),
    "regex criterion that is no regex": (
        lambda d: _step(d, "deletedSubscriptionIsGone", "readRemoved")["successCriteria"].append(
            {"context": "$statusCode", "type": "regex", "condition": "40[4"}
        ),
        "criterion-regex",
    ),
    "goto to nowhere": (
        lambda d: _step(d, "capIsEnforcedAndCounted", "recount")["onSuccess"][0].update(stepId="counter"),
        "step-target",
    ),
    "stepId used twice": (
        lambda d: _step(d, "deletedSubscriptionIsGone", "remove").update(stepId="subscribeLocal"),
        "unique-ids",
    ),
    "no rule named": (
        lambda d: _workflow(d, "deletedSubscriptionIsGone").pop("x-mockline-rule"),
        "rule-pointer",
    ),
    "rule points at nothing": (
        lambda d: _workflow(d, "deletedSubscriptionIsGone").update(
            {"x-mockline-rule": "ringme.yaml#/components/responses/Gone"}
        ),
        "rule-pointer",
    ),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_lint_rejects_each_kind_of_broken_workflow_document(tmp_path: Path, case: str) -> None:
    change, rule = BROKEN[case]
    findings = lint(_ringme(tmp_path, change))
    assert rule in {found_rule for _, found_rule, _ in findings}, findings


def test_an_unchanged_copy_passes_so_the_broken_ones_fail_for_their_change(tmp_path: Path) -> None:
    assert lint(_ringme(tmp_path, lambda d: None)) == []


def test_mockline_lint_exits_1_on_a_broken_workflow_document(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mockserver.cli import main

    broken = _ringme(tmp_path, BROKEN["unknown operationId"][0])
    assert main(["lint", str(broken)]) == 1
    assert "[operation-resolves]" in capsys.readouterr().out
    assert main(["lint", str(SPECS / "ringme.arazzo.yaml")]) == 0
