"""The spec checker passes our specs and rejects each kind of broken copy, naming the rule."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from contracts.loaders import load_spec, spec_names, specs_dir
from contracts.speclint import (
    Finding,
    _validate,
    lint_descriptor,
    lint_document,
    lint_shipped,
    lint_traceability,
)
from mockserver.cli import main

PUSH = "/rest-api/v1/progressive/queue/{queueID}/transactional"
PUSH_POINTER = "/paths/~1rest-api~1v1~1progressive~1queue~1{queueID}~1transactional/post"


def _push(doc: dict[str, Any]) -> dict[str, Any]:
    op: dict[str, Any] = doc["paths"][PUSH]["post"]
    return op


def test_every_shipped_spec_and_the_traceability_table_pass() -> None:
    assert lint_shipped() == []


@pytest.mark.parametrize("name", spec_names())
def test_each_spec_passes_on_its_own(name: str) -> None:
    assert lint_document(name, load_spec(name)) == []


def _bad_enum_in_request_example(doc: dict[str, Any]) -> None:
    examples = _push(doc)["requestBody"]["content"]["application/json"]["examples"]
    next(iter(examples.values()))["value"]["agentMapping"] = "round-robin"


def _bad_uri_in_request_example(doc: dict[str, Any]) -> None:
    examples = _push(doc)["requestBody"]["content"]["application/json"]["examples"]
    next(iter(examples.values()))["value"]["customerData"]["terminalCallbackUrl"] = "not a url"


def _bad_response_example(doc: dict[str, Any]) -> None:
    examples = _push(doc)["responses"]["200"]["content"]["application/json"]["examples"]
    next(iter(examples.values()))["value"]["error"] = "no"


def _missing_operation_id(doc: dict[str, Any]) -> None:
    del _push(doc)["operationId"]


def _duplicate_operation_id(doc: dict[str, Any]) -> None:
    _push(doc)["operationId"] = "appendCampaign"


def _missing_summary(doc: dict[str, Any]) -> None:
    del _push(doc)["summary"]


def _no_error_response(doc: dict[str, Any]) -> None:
    responses = _push(doc)["responses"]
    for code in [c for c in responses if c[0] in "45"]:
        del responses[code]


def _unnamed_example(doc: dict[str, Any]) -> None:
    del _push(doc)["responses"]["200"]["content"]["application/json"]["examples"]


def _bad_provenance(doc: dict[str, Any]) -> None:
    _push(doc)["x-provenance"] = "guessed"


def _no_retry_rule(doc: dict[str, Any]) -> None:
    terminal = _push(doc)["callbacks"]["terminal"]
    del next(iter(terminal.values()))["post"]["x-retry"]


def _zero_attempts(doc: dict[str, Any]) -> None:
    terminal = _push(doc)["callbacks"]["terminal"]
    next(iter(terminal.values()))["post"]["x-retry"]["attempts"] = 0


def _template_off_schema(doc: dict[str, Any]) -> None:
    doc["x-mockline"]["errors"]["template"] = {"failed": True, "reason": "{message}"}


def _invalid_openapi(doc: dict[str, Any]) -> None:
    del _push(doc)["responses"]["200"]["description"]


def _unmarked_enum_on_a_property(doc: dict[str, Any]) -> None:
    # The callback schema has its own x-provenance: a property still needs one for its enum.
    del doc["components"]["schemas"]["CampaignConnectCallback"]["properties"]["event"]["x-provenance"]


def _unmarked_strict_body(doc: dict[str, Any]) -> None:
    del doc["components"]["schemas"]["PushTransactionalRequest"]["x-provenance"]


def _format_added_without_provenance(doc: dict[str, Any]) -> None:
    doc["components"]["schemas"]["CampaignConnectCallback"]["properties"]["agentUsername"]["format"] = "email"


def _required_added_without_provenance(doc: dict[str, Any]) -> None:
    doc["components"]["schemas"]["LegDetails"]["required"] = ["leg0Status"]


def _strictness_added_to_an_inline_schema(doc: dict[str, Any]) -> None:
    media = _push(doc)["responses"]["200"]["content"]["application/json"]
    media["schema"] = {"type": "object", "additionalProperties": False, "properties": {"error": {}}}


PREVIEW = "/rest-api/v1/preview/call"


def _link(doc: dict[str, Any]) -> dict[str, Any]:
    link: dict[str, Any] = doc["paths"][PREVIEW]["post"]["responses"]["200"]["links"]["EndThisPreviewCall"]
    return link


def _link_to_no_operation(doc: dict[str, Any]) -> None:
    _link(doc)["operationId"] = "endPreviewCal"


def _link_fills_a_parameter_the_target_lacks(doc: dict[str, Any]) -> None:
    _link(doc)["parameters"] = {"callId": "$response.body#/data/callID"}


def _link_with_a_malformed_expression(doc: dict[str, Any]) -> None:
    _link(doc)["parameters"]["callID"] = "$response.bodyy#/data/callID"


def _link_pointer_the_answer_lacks(doc: dict[str, Any]) -> None:
    _link(doc)["parameters"]["callID"] = "$response.body#/data/callId"


def _link_reads_a_request_parameter_the_source_lacks(doc: dict[str, Any]) -> None:
    _link(doc)["parameters"]["callID"] = "$request.path.callID"


def _link_body_field_the_target_lacks(doc: dict[str, Any]) -> None:
    _link(doc)["requestBody"] = {"logId": "$response.body#/data/logID"}


BROKEN: list[tuple[Callable[[dict[str, Any]], None], str, str]] = [
    (
        _bad_enum_in_request_example,
        "example-valid",
        f"{PUSH_POINTER}/requestBody/content/application~1json/examples/",
    ),
    (_bad_uri_in_request_example, "example-valid", "terminalCallbackUrl"),
    (_bad_response_example, "example-valid", f"{PUSH_POINTER}/responses/200"),
    (_missing_operation_id, "operation-id", PUSH_POINTER),
    (_duplicate_operation_id, "operation-id", "appendCampaign"),
    (_missing_summary, "summary", PUSH_POINTER),
    (_no_error_response, "error-response", PUSH_POINTER),
    (_unnamed_example, "named-example", f"{PUSH_POINTER}/responses/200"),
    (_bad_provenance, "provenance", f"{PUSH_POINTER}/x-provenance"),
    (_no_retry_rule, "retry-rule", "/callbacks/terminal/"),
    (_zero_attempts, "retry-rule", "attempts must be a whole number"),
    (_template_off_schema, "error-template", "/responses/400"),
    (_invalid_openapi, "openapi-valid", "/responses/200"),
    (
        _unmarked_enum_on_a_property,
        "constraint-provenance",
        "/components/schemas/CampaignConnectCallback/properties/event enum",
    ),
    (
        _unmarked_strict_body,
        "constraint-provenance",
        "/components/schemas/PushTransactionalRequest required, additionalProperties: false",
    ),
    (
        _format_added_without_provenance,
        "constraint-provenance",
        "CampaignConnectCallback/properties/agentUsername format",
    ),
    (_required_added_without_provenance, "constraint-provenance", "/components/schemas/LegDetails required"),
    (
        _strictness_added_to_an_inline_schema,
        "constraint-provenance",
        f"{PUSH_POINTER}/responses/200/content/application~1json/schema additionalProperties: false",
    ),
    (_link_to_no_operation, "link", "'endPreviewCal' names no operation"),
    (_link_fills_a_parameter_the_target_lacks, "link", "'callId' is not a parameter of endPreviewCall"),
    (_link_with_a_malformed_expression, "link", "is not a runtime expression"),
    (_link_pointer_the_answer_lacks, "link", "finds nothing in the documented answer 'call-initiated'"),
    (
        _link_reads_a_request_parameter_the_source_lacks,
        "link",
        "makePreviewCall has no path parameter 'callID'",
    ),
    (_link_body_field_the_target_lacks, "link", "'logId' is not a field of endPreviewCall's body"),
]


@pytest.mark.parametrize(
    ("breakage", "rule", "evidence"), BROKEN, ids=[b[0].__name__.strip("_") for b in BROKEN]
)
def test_a_broken_copy_is_rejected_by_the_right_rule(
    breakage: Callable[[dict[str, Any]], None], rule: str, evidence: str
) -> None:
    doc = load_spec("ryng")
    breakage(doc)
    findings = lint_document("ryng", doc)
    matching = [f for f in findings if f.rule == rule and evidence in f"{f.where} {f.message}"]
    assert matching, f"expected a {rule!r} finding mentioning {evidence!r}; got: {[str(f) for f in findings]}"


TOKEN_401 = "/paths/~1oauth~1token/post/responses/401"


def test_the_auth_failure_shape_is_required_where_credentials_are() -> None:
    """ringme's token endpoint answers 401 in OAuth's own shape and requires no credentials, so the mock
    never fails it with its problem-details 401: accepted as shipped, rejected once it is secured."""
    doc = load_spec("ringme")
    assert doc["paths"]["/oauth/token"]["post"]["security"] == []
    assert [f for f in lint_document("ringme", doc) if f.rule == "error-template"] == []
    del doc["paths"]["/oauth/token"]["post"]["security"]  # now under the document's bearer token
    findings = [(f.where, f.message) for f in lint_document("ringme", doc) if f.rule == "error-template"]
    assert findings == [
        (
            TOKEN_401,
            "the mock answers 401 as application/problem+json, but this response documents application/json",
        )
    ]


def test_a_format_is_really_checked_not_just_the_type() -> None:
    doc = load_spec("ryng")
    _bad_uri_in_request_example(doc)
    (finding,) = [f for f in lint_document("ryng", doc) if f.rule == "example-valid"]
    assert "is not a 'uri'" in finding.message


def test_an_example_is_judged_by_its_pattern_as_ecma_reads_it() -> None:
    # Python's jsonschema reads a pattern with re: (?<name>...) stopped the lint with re.error, and
    # ^...$ let a value with a final newline through where the server refuses it.
    schema = {"type": "string", "pattern": r"^(?<year>\d{4})-(?<month>\d{2})$"}
    assert _validate("x", {}, "here", "example", "2024-05", schema, "request") == []
    (late,) = _validate("x", {}, "here", "example", "2024-05\n", schema, "request")
    assert late.rule == "example-valid"
    assert _validate("x", {}, "here", "example", "any", {"pattern": r"^\p{Lu}$"}, "request") == []


def test_a_dangling_traceability_pointer_is_reported_with_its_line(tmp_path: Path) -> None:
    table = tmp_path / "TRACEABILITY.md"
    good = "| Ryng | agents | `ryng.yaml#/components/schemas` | seed |"
    dangling = "| Ryng | nothing | `ryng.yaml#/components/schemas/NoSuchSchema` | seed |"
    missing_file = "| X | y | `nowhere.yaml#/paths` | seed |"
    table.write_text("\n".join(["| a | b | c | d |", good, dangling, missing_file]), encoding="utf-8")
    findings = lint_traceability(table, specs_dir())
    assert [(f.where, f.rule) for f in findings] == [("line 3", "traceability"), ("line 4", "traceability")]
    assert "NoSuchSchema" in findings[0].message
    assert "nowhere.yaml does not exist" in findings[1].message


def _descriptor() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(
        (specs_dir() / "ringotel-crm.integration.json").read_text(encoding="utf-8")
    )
    return loaded


def test_the_ringotel_descriptor_agrees_with_the_crm_spec() -> None:
    assert lint_descriptor(_descriptor(), load_spec("ringotel-crm")) == []


def test_a_descriptor_hook_pointing_nowhere_is_reported() -> None:
    descriptor = _descriptor()
    descriptor["API"]["Users"]["request_path"] = "/people"
    findings = lint_descriptor(descriptor, load_spec("ringotel-crm"))
    assert [(f.where, f.rule) for f in findings] == [("/API/Users", "descriptor")]


def test_a_descriptor_field_the_spec_does_not_know_is_reported() -> None:
    descriptor = _descriptor()
    hook = next(h for h in descriptor["API"].values() if isinstance(h.get("request_parameters"), dict))
    hook["request_parameters"]["favourite_colour"] = "$colour$"
    findings = lint_descriptor(descriptor, load_spec("ringotel-crm"))
    assert any("'favourite_colour' is not a field of the request body" in f.message for f in findings)


def test_lint_command_fails_a_broken_file_and_names_the_rule(capsys: pytest.CaptureFixture[str]) -> None:
    fixture = Path(__file__).parent.parent / "fixtures" / "specs" / "missing-operation-id.yaml"
    assert main(["lint", str(fixture)]) == 1
    out = capsys.readouterr().out
    assert "[operation-id]" in out and "[example-valid]" in out


def test_lint_command_passes_the_shipped_specs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint"]) == 0
    assert "0 finding(s)" in capsys.readouterr().out


def test_findings_read_as_sentences() -> None:
    finding = Finding("ryng", "/paths/~1x/get", "summary", "listX has no summary")
    assert str(finding) == "ryng#/paths/~1x/get: [summary] listX has no summary"


def test_constraint_provenance_covers_vendor_specs_only() -> None:
    doc = load_spec("mockline-admin")
    findings = lint_document("mockline-admin", doc)
    assert findings == []
    doc = load_spec("ryng")
    _required_added_without_provenance(doc)
    assert [f.rule for f in lint_document("ryng", doc)] == ["constraint-provenance"]


CAP_EXAMPLE = "/components/responses/LimitReached/content/application~1problem+json/examples/cap-reached"


def _cap_example(doc: dict[str, Any]) -> dict[str, Any]:
    media = doc["components"]["responses"]["LimitReached"]["content"]["application/problem+json"]
    example: dict[str, Any] = media["examples"]["cap-reached"]
    return example


def test_an_example_that_shows_a_message_must_show_the_spec_message() -> None:
    """ringme's cap example says it shows message ``subscription_cap``: the two texts may not drift."""
    doc = load_spec("ringme")
    assert _cap_example(doc)["x-mockline-message"] == "subscription_cap"
    assert [f for f in lint_document("ringme", doc) if f.rule == "message-example"] == []
    doc["x-mockline"]["messages"]["subscription_cap"] = "The cap of {limit} subscriptions is reached."
    findings = [(f.where, f.message) for f in lint_document("ringme", doc) if f.rule == "message-example"]
    assert findings == [
        (
            CAP_EXAMPLE,
            "no text of this example is message 'subscription_cap' "
            "('The cap of {limit} subscriptions is reached.', placeholders filled in)",
        )
    ]
    _cap_example(doc)["x-mockline-message"] = "no_such_message"
    findings = [(f.where, f.message) for f in lint_document("ringme", doc) if f.rule == "message-example"]
    assert findings == [(CAP_EXAMPLE, "x-mockline.messages states no message 'no_such_message'")]


def _shipped_yaml(name: str) -> dict[str, Any]:
    """A shipped spec read with PyYAML alone (no loader of ours)."""
    loaded: dict[str, Any] = yaml.safe_load((specs_dir() / f"{name}.yaml").read_text("utf-8"))
    return loaded


WITH_MESSAGES = [n for n in spec_names() if (_shipped_yaml(n).get("x-mockline") or {}).get("messages")]


def _shows(text: str, message: str) -> bool:
    """``text`` is ``message`` with each ``{placeholder}`` filled in by some text."""
    literals = re.split(r"\{[A-Za-z_][A-Za-z0-9_]*\}", message)
    return re.fullmatch(".+".join(re.escape(part) for part in literals), text, re.DOTALL) is not None


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    return [text for item in items for text in _strings(item)]


def _example_objects(node: Any, pointer: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Every Example Object (an entry of an ``examples`` map that has a ``value``), with its pointer."""
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        for key, child in node.items():
            where = f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}"
            if key == "examples" and isinstance(child, dict):
                found += [
                    (f"{where}/{name.replace('~', '~0').replace('/', '~1')}", example)
                    for name, example in child.items()
                    if isinstance(example, dict) and "value" in example
                ]
            found += _example_objects(child, where)
    elif isinstance(node, list):
        for index, child in enumerate(node):
            found += _example_objects(child, f"{pointer}/{index}")
    return found


@pytest.mark.parametrize("name", WITH_MESSAGES)
def test_every_example_that_shows_a_message_is_marked_and_kept_equal_to_it(name: str) -> None:
    """An example whose value shows one of the spec's messages says which (``x-mockline-message``), so
    lint's ``message-example`` sees the two drift apart: with every message edited, lint names each such
    example. Which examples show a message is found here from the YAML (PyYAML) alone."""
    doc = _shipped_yaml(name)
    messages = {k: str(v) for k, v in doc["x-mockline"]["messages"].items() if not str(k).startswith("x-")}
    examples = _example_objects(doc)
    shown = {
        where: sorted(
            k for k, text in messages.items() if any(_shows(s, text) for s in _strings(ex["value"]))
        )
        for where, ex in examples
    }
    shown = {where: keys for where, keys in shown.items() if keys}
    assert shown, f"no example of {name} shows a message"
    marked = {where: ex.get("x-mockline-message") for where, ex in examples if where in shown}
    assert {where: [key] for where, key in marked.items()} == shown
    for key, text in messages.items():
        doc["x-mockline"]["messages"][key] = "EDITED " + text
    drifted = {f.where for f in lint_document(name, doc) if f.rule == "message-example"}
    assert drifted == set(shown)


def _start_call_activity(doc: dict[str, Any]) -> dict[str, Any]:
    op: dict[str, Any] = doc["x-webhooks"]["StartCallActivity"]["post"]
    return op


def test_a_credential_field_is_marked_true_on_a_webhook_body_that_documents_its_refusal() -> None:
    doc = load_spec("ringotel-crm")
    token = doc["components"]["schemas"]["StartCallActivityEvent"]["properties"]["api_token"]
    assert token["x-mockline-credential"] is True
    assert [f for f in lint_document("ringotel-crm", doc) if f.rule == "credential-field"] == []
    token["x-mockline-credential"] = "yes"
    findings = [
        (f.where, f.message) for f in lint_document("ringotel-crm", doc) if f.rule == "credential-field"
    ]
    assert findings == [
        (
            "/components/schemas/StartCallActivityEvent/properties/api_token/x-mockline-credential",
            "x-mockline-credential must be true, not 'yes'",
        )
    ]
    doc = load_spec("ringotel-crm")
    del _start_call_activity(doc)["responses"]["403"]
    findings = [
        (f.where, f.message) for f in lint_document("ringotel-crm", doc) if f.rule == "credential-field"
    ]
    assert findings == [
        (
            "/x-webhooks/StartCallActivity/post/responses",
            "the receiver checks /api_token (x-mockline-credential), but no 4xx answer says how it refuses "
            "a wrong one",
        )
    ]
    doc = load_spec("ringotel-crm")
    contact = doc["components"]["schemas"]["Contact"]["properties"]
    next(iter(contact.values()))["x-mockline-credential"] = True
    findings = [f for f in lint_document("ringotel-crm", doc) if f.rule == "credential-field"]
    assert len(findings) == 1 and "no callback or webhook" in findings[0].message, findings
