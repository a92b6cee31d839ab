"""RFC 6901 JSON pointers: the spec layer's one escape and one step, and each reader that walks with them
(the spec layer's resolver, Arazzo's runtime expressions, verify's link values, the mock's callback URLs)."""

from __future__ import annotations

import pytest

from contracts import arazzo, checks
from contracts.oas30 import (
    UnresolvableRef,
    child,
    escape_token,
    pointer_to,
    resolve_pointer,
    unescape_token,
)
from mockserver.operations import compile_expression

DOCUMENT = {"paths": {"/a~b": {"get": {"tags": ["x", "y"]}}}, "": {"empty": True}}


def test_a_token_is_escaped_and_read_back() -> None:
    assert escape_token("/a~b") == "~1a~0b"
    assert escape_token(3) == "3"
    assert unescape_token("~1a~0b") == "/a~b"
    assert unescape_token("~01") == "~1", "~0 is read after ~1, so ~01 is a tilde and a one"
    assert pointer_to(("paths", "/a~b", "get")) == "/paths/~1a~0b/get"
    assert pointer_to(()) == ""


def test_a_step_reads_a_member_or_an_index_and_refuses_anything_else() -> None:
    assert child({"a": 1}, "a") == 1
    assert child(["x", "y"], "1") == "y"
    for node, token in (({"a": 1}, "b"), (["x"], "1"), (["x"], "-"), ("text", "0"), (None, "a")):
        with pytest.raises(UnresolvableRef, match=repr(token)):
            child(node, token)


def test_the_spec_layer_resolver() -> None:
    assert resolve_pointer(DOCUMENT, "/paths/~1a~0b/get/tags/1") == "y"
    assert resolve_pointer(DOCUMENT, "") is DOCUMENT
    with pytest.raises(UnresolvableRef, match=r"'/paths/~1a~0b/put' does not resolve: no 'put' there"):
        resolve_pointer(DOCUMENT, "/paths/~1a~0b/put")


def test_arazzo_pointers_are_strict() -> None:
    assert arazzo.pointer(DOCUMENT, "/paths/~1a~0b/get/tags/0") == "x"
    assert arazzo.pointer(DOCUMENT, "/") == {"empty": True}, "'/' names the member whose key is empty"
    with pytest.raises(arazzo.Unresolved, match="no value at 'put'"):
        arazzo.pointer(DOCUMENT, "/paths/~1a~0b/put")
    with pytest.raises(arazzo.Unresolved, match="does not start with '/'"):
        arazzo.pointer(DOCUMENT, "paths")


def test_verify_s_link_values_and_the_mock_s_callback_urls_read_none_where_nothing_is() -> None:
    assert checks._pointer(DOCUMENT, "/paths/~1a~0b/get/tags/1") == "y"
    assert checks._pointer(DOCUMENT, "/paths/~1a~0b/put/tags") is None
    read = compile_expression("{$request.body#/paths/~1a~0b/get/tags/0}")
    assert read(DOCUMENT, {}, {}) == "x"
    assert compile_expression("{$request.body#/paths/~1a~0b/get/tags/2}")(DOCUMENT, {}, {}) is None
