"""Routes compiled from spec paths: parameters come back under the names the spec gives them."""

from __future__ import annotations

from mockserver.operations import Route, compile_expression


def test_a_route_returns_its_parameters_by_their_spec_names_even_with_hyphens() -> None:
    route = Route("/client/{client_id}/agent/{agent-id}/event/")
    found = route.pattern.fullmatch("/client/12/agent/7/event/")
    assert found is not None
    assert dict(zip(route.names, found.groups(), strict=True)) == {"client_id": "12", "agent-id": "7"}
    assert route.pattern.fullmatch("/client/12/agent/7/event") is None  # the trailing slash is the spec's


def test_runtime_expressions_read_the_body_query_and_headers() -> None:
    body = {"customerData": {"rows": [{"url": "http://127.0.0.1:9/a/b"}]}}
    assert (
        compile_expression("{$request.body#/customerData/rows/0/url}")(body, {}, {})
        == "http://127.0.0.1:9/a/b"
    )
    assert compile_expression("{$request.body#/customerData/missing}")(body, {}, {}) is None
    assert compile_expression("{$request.query.hook}")({}, {"hook": "q"}, {}) == "q"
    assert compile_expression("{$request.header.X-Hook}")({}, {}, {"x-hook": "h"}) == "h"
