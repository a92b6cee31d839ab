"""What verify-receiver sends as invalid is invalid as the receiver gets it: for every kind of callback
and webhook of every spec, the spec refuses each invalid delivery as it arrives (``callbacks.problems``,
the judge ``mockline listen`` uses). ringme's deliveries travel as a query string or a form body, where
every value is text: the object that broke a JSON field arrived there as a valid string."""

from __future__ import annotations

import pytest

from contracts import callbacks
from contracts.receiver import _unparseable, _wrong_type

KINDS = [kind for kind in callbacks.all_kinds() if kind.examples()]


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: f"{k.api}-{k.operation_id}-{k.callback.encoding}")
def test_each_invalid_delivery_is_one_the_spec_refuses_as_it_arrives(kind: callbacks.CallbackKind) -> None:
    first = next(iter(kind.examples().values()))
    assert callbacks.problems(kind, *kind.encode(first)) == []  # the example itself is valid
    wrong = _wrong_type(kind, first)
    assert wrong is not None and callbacks.problems(kind, *kind.encode(wrong))
    assert callbacks.problems(kind, *kind.encode({}))
    body_spec = kind.body_spec()
    if body_spec is not None:
        media_type = body_spec[0]
        assert callbacks.problems(kind, "", {"content-type": media_type}, _unparseable(media_type))
