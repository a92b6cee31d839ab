"""Issue 16: verify encodes a path value exactly once, through one function, whatever it holds."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts import urls
from contracts.loaders import load_spec
from tests.fixtures.verify.escaping import SPEC

NASTY = ["a b", "50%", "%41", "a/b", "é", "\x01", "\x7f", "2\x18Ú", "..", ".", "~-_.", "+", "?#[]@!$&'()*,;="]


@pytest.mark.parametrize("value", NASTY)
def test_a_raw_value_is_encoded_once_and_decodes_back(value: str) -> None:
    wire = urls.encode_path_value(value)
    assert urls.decode_path_value(wire) == value
    assert "/" not in wire and "?" not in wire and "#" not in wire and " " not in wire
    assert all(c.isascii() and c.isprintable() for c in wire)


def test_dot_segments_are_encoded_so_they_are_not_read_as_moves() -> None:
    assert urls.encode_path_value(".") == "%2E" and urls.encode_path_value("..") == "%2E%2E"


def test_the_issue_16_value_goes_out_encoded_once() -> None:
    assert urls.encode_path_value("2\x18Ú") == "2%18%C3%9A"  # was sent as 2%2518%25C3%259A


def test_expand_path_fills_each_placeholder_and_refuses_a_missing_one() -> None:
    template = "/tenants/{tenant}/notes/{note_id}"
    assert urls.expand_path(template, {"tenant": "a b", "note_id": 7}) == "/tenants/a%20b/notes/7"
    assert urls.expand_path(template, {"tenant": "a"}) is None
    assert urls.request_url("http://h/x/", "/n/{id}", {"id": "a/b"}) == "http://h/x/n/a%2Fb"
    assert urls.expand_path("/n/{flag}", {"flag": True}) == "/n/true"


class _Case:
    def __init__(self, **path_parameters: Any) -> None:
        self.path_parameters = path_parameters


def test_a_schemathesis_case_is_decoded_once() -> None:
    case = _Case(client_id="2%18%C3%9A", page=3)
    assert urls.case_path_values(case) == {"client_id": "2\x18Ú", "page": "3"}


_schema = schemathesis.openapi.from_dict(load_spec(SPEC))
_get_note = _schema["/tenants/{tenant}/notes/{note_id}"]["GET"]


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(case=_get_note.as_strategy())
def test_our_url_is_the_one_schemathesis_sends_for_the_same_case(case: Any) -> None:
    """The checks' requests and Schemathesis' own reach the same resource for any generated value."""
    ours = urls.request_url("http://h", case.operation.path, urls.case_path_values(case))
    assert ours is not None
    assert unquote(ours) == unquote("http://h" + case.formatted_path)
    assert ours == "http://h" + case.formatted_path


@given(st.text())
def test_any_text_round_trips(value: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return  # lone surrogates cannot go on the wire at all
    assert urls.decode_path_value(urls.encode_path_value(value)) == value
