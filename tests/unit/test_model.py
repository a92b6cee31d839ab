"""The one contract model: our five specs and a third-party one, read once into typed objects."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import yaml

from contracts import model
from contracts.loaders import load_spec, spec_names

FOREIGN = Path(__file__).resolve().parents[1] / "fixtures" / "model" / "orders.yaml"


def refs_in(node: object) -> list[str]:
    if isinstance(node, dict):
        here = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return here + [r for v in node.values() for r in refs_in(v)]
    if isinstance(node, list):
        return [r for v in node for r in refs_in(v)]
    return []


@pytest.mark.parametrize("name", spec_names())
def test_each_of_our_specs_reads_whole_with_no_reference_left(name: str) -> None:
    spec = model.contract(name)
    raw = load_spec(name)
    assert refs_in(spec.document) == []
    declared = [
        (method.upper(), path)
        for path, item in raw["paths"].items()
        for method in item
        if method in model.METHODS
    ]
    assert sorted((op.method, op.path) for op in spec.operations) == sorted(declared)
    assert spec.prefix == raw["x-mockline"]["prefix"]
    assert len({op.operation_id for op in spec.operations}) == len(spec.operations)


def test_the_model_is_built_once_per_file() -> None:
    assert model.contract("ryng") is model.contract("ryng")


def test_ryng_callbacks_name_the_operation_that_registers_them() -> None:
    ryng = model.contract("ryng")
    push = ryng.callbacks_of("pushTransactional")
    assert [(c.name, c.operation_id) for c in push] == [
        ("connect", "pushTransactionalConnectCallback"),
        ("terminal", "pushTransactionalTerminalCallback"),
    ]
    assert push[0].expression == "{$request.body#/customerData/connectCallbackUrl}"
    assert push[0].encoding == "json" and push[0].retry.attempts == 2 and push[0].retry.interval_seconds == 60
    assert push[0].payload_schema is not None and "queueID" in push[0].payload_schema["required"]
    assert ryng.rate_limit == model.RateLimit(60, 60, "x-access-token")
    assert ryng.errors.auth_status == 403 and ryng.states_errors


def test_ringme_callback_encodings_come_from_the_spec() -> None:
    ringme = model.contract("ringme")
    kinds = {(c.method, c.encoding) for c in ringme.callbacks}
    assert kinds == {("GET", "query"), ("POST", "form")}


def test_a_third_party_spec_reads_the_same_way() -> None:
    spec = model.contract(FOREIGN)
    create = spec.operation("createOrder")
    assert create.method == "POST" and create.path == "/orders" and create.success_status == 201
    assert [(p.name, p.location, p.required) for p in create.parameters] == [("Tenant", "header", True)]
    assert set(create.request_body.content) == {"application/json", "application/x-www-form-urlencoded"}
    assert create.request_body.content["application/json"].examples["small"]["item"] == "pen"
    assert create.responses["400"].content["application/problem+json"].schema == {"type": "object"}
    assert create.security == ({"apiKey": []},)
    # the operation's own header parameter overrides nothing of the path's: getOrder has its own Tenant
    assert spec.operation("getOrder").parameter("Tenant").required is False
    # a recursive schema is inlined once; where it contains itself it stays a reference
    order = create.request_body.content["application/json"].schema
    assert order["properties"]["parent"] == {"$ref": "#/components/schemas/Order"}
    shipped, cancelled = spec.callbacks
    assert (shipped.source, shipped.name, shipped.encoding) == ("createOrder", "shipped", "form")
    assert shipped.retry == model.RetryRule(3, 30.0, (200, 204))
    assert shipped.pointer == "/paths/~1orders/post/callbacks/shipped/{$request.body#~1notifyUrl}/post"
    # no x-retry: one attempt, and the 2xx answers the webhook documents count as received
    assert (cancelled.is_webhook, cancelled.encoding, cancelled.retry) == (
        True,
        "query",
        model.RetryRule(1, 60.0, (200,)),
    )
    assert cancelled.payload_schema == {
        "type": "object",
        "properties": {"id": {"type": "integer"}},
        "required": ["id"],
    }
    assert not spec.states_errors and spec.errors.media_type == "application/problem+json"
    assert spec.prefix == "/orders"


def test_a_reference_to_nothing_is_named(tmp_path: Path) -> None:
    broken = yaml.safe_load(FOREIGN.read_text())
    broken["paths"]["/orders"]["post"]["responses"]["400"] = {"$ref": "#/components/responses/Nope"}
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(broken))
    with pytest.raises(model.UnresolvableRef, match="#/components/responses/Nope"):
        model.contract(path)


def test_a_reference_to_a_sibling_file_is_followed(tmp_path: Path) -> None:
    (tmp_path / "shared.yaml").write_text("Thing: {type: object, required: [a]}\n")
    doc = {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/t": {
                "post": {
                    "operationId": "t",
                    "requestBody": {
                        "content": {"application/json": {"schema": {"$ref": "shared.yaml#/Thing"}}}
                    },
                    "responses": {"200": {"description": "ok"}},
                }
            }
        },
    }
    (tmp_path / "main.json").write_text(json.dumps(doc))
    body = model.contract(tmp_path / "main.json").operation("t").request_body
    assert body.content["application/json"].schema == {"type": "object", "required": ["a"]}


def test_one_encoder_writes_booleans_as_json_does() -> None:
    assert model.form_encode({"a": True, "b": False, "n": 3, "s": "x y", "none": None}) == (
        "a=true&b=false&n=3&s=x+y"
    )
    shipped = model.contract(FOREIGN).callbacks[0]
    query, headers, body = shipped.encode({"id": 7, "gift": True})
    assert query == "" and headers == {"content-type": "application/x-www-form-urlencoded"}
    assert parse_qs(body.decode()) == {"id": ["7"], "gift": ["true"]}
    query, headers, body = model.contract(FOREIGN).callbacks[1].encode({"id": 7})
    assert (query, headers, body) == ("id=7", {}, None)


def test_vendor_words_and_token_lifetimes_are_spec_data() -> None:
    ryng = model.contract("ryng")
    assert ryng.message("preview_started", sid="CA12") == "Call Initiated With SID CA12"
    assert ryng.message("queue_appended") == "Appending Queue..."
    with pytest.raises(LookupError, match="no message 'nope'"):
        ryng.message("nope")
    assert model.contract("ringme").token_lifetime() == 3600
    assert model.contract("ringotel-crm").token_lifetime() == 3600
    with pytest.raises(LookupError, match="no token lifetime"):
        model.contract(FOREIGN).token_lifetime()


def test_ryng_success_messages_are_the_ones_its_examples_show() -> None:
    """The words the mock answers with are the words the spec's own 200 examples show."""
    ryng = model.contract("ryng")
    shown = {
        media.examples[name].get("message")
        for op in ryng.operations
        for status, response in op.responses.items()
        if status.startswith("2")
        for media in response.content.values()
        for name in media.examples
        if isinstance(media.examples[name], dict)
    }
    for key in ("queue_created", "queue_appended", "campaign_processing", "call_cancelled"):
        assert ryng.message(key) in shown, key


def test_one_decoder_reads_a_form_as_text_the_last_of_a_repeated_field_unless_an_array() -> None:
    text = "a=1&a=2&tags=x&tags=y&blank=&s=x+y%26z"
    assert model.form_decode(text) == {"a": "2", "tags": "y", "blank": "", "s": "x y&z"}
    schema = {"type": "object", "properties": {"tags": {"type": "array"}, "a": {"type": "integer"}}}
    assert model.form_decode(text, schema) == {"a": "2", "tags": ["x", "y"], "blank": "", "s": "x y&z"}
    assert model.form_decode("") == {}
    assert model.form_decode(model.form_encode({"on": True, "n": 3})) == {"on": "true", "n": "3"}


def test_a_webhook_names_the_credential_its_receiver_checks_and_the_refusal_it_documents() -> None:
    # Ringotel's webhooks carry the integration's token in the body (x-mockline-credential on api_token)
    # and document the receiver's 403 for a wrong one: both read from the spec, none written in code.
    crm = model.contract("ringotel-crm")
    assert [(c.name, c.credential_fields, c.credential_refusal) for c in crm.webhooks] == [
        ("StartCallActivity", ("/api_token",), (403,)),
        ("StopCallActivity", ("/api_token",), (403,)),
    ]
    assert all(
        c.credential_fields == () for name in ("ryng", "ringme") for c in model.contract(name).callbacks
    )


def test_a_credential_field_may_be_nested_and_its_refusal_is_the_documented_auth_status() -> None:
    def webhook(responses: dict[str, object]) -> dict[str, object]:
        return {
            "openapi": "3.0.3",
            "info": {"title": "t", "version": "1"},
            "paths": {},
            "x-webhooks": {
                "paid": {
                    "post": {
                        "operationId": "paid",
                        "requestBody": {
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {
                                            "auth": {
                                                "type": "object",
                                                "properties": {
                                                    "token": {
                                                        "type": "string",
                                                        "x-mockline-credential": True,
                                                    },
                                                    "user": {"type": "string"},
                                                },
                                            },
                                            "amount": {"type": "integer", "x-mockline-credential": False},
                                        },
                                    }
                                }
                            }
                        },
                        "responses": responses,
                    }
                }
            },
        }

    many = {"200": {"description": "ok"}, "400": {"description": "bad"}, "401": {"description": "who"}}
    (paid,) = model.from_document("t", webhook(many)).callbacks
    assert paid.credential_fields == ("/auth/token",)
    assert paid.credential_refusal == (401,)  # of several 4xx, the one that refuses credentials
    (paid,) = model.from_document(
        "t", webhook({"200": {"description": "ok"}, "422": {"description": "no"}})
    ).callbacks
    assert paid.credential_refusal == (422,)  # else every 4xx it documents
    (paid,) = model.from_document("t", webhook({"200": {"description": "ok"}})).callbacks
    assert paid.credential_refusal == ()
