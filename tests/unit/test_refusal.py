"""An engine's refusal becomes the status its operation documents for that kind, in one place."""

from __future__ import annotations

from typing import Any

import pytest

from mockserver.core import crm, pbx, queue
from mockserver.core.errors import EngineError
from mockserver.errors import refusal
from mockserver.operations import Operation


def operation(*statuses: str) -> Operation:
    responses: dict[str, Any] = {code: {"description": code} for code in ("200", *statuses)}
    return Operation("api", "op", "POST", "/x", (), None, [], responses, {}, {})


@pytest.mark.parametrize(
    ("error", "documented", "status"),
    [
        (crm.NotFound("no such contact"), ("400", "404"), 404),
        (crm.UnknownReference("contact_id names no contact"), ("400", "404", "409"), 409),
        (pbx.LimitReached("limit of 2"), ("409",), 409),
        (pbx.Forbidden("not your client"), ("403", "404"), 403),
        (queue.NotFound("no interaction"), ("404",), 404),
        # a spec that documents the kind's other status gets that one
        (crm.NotFound("gone"), ("400", "410"), 410),
        (queue.Conflict("taken"), ("400", "422"), 422),
        (pbx.Forbidden("no"), ("401",), 401),
        (EngineError("bad input"), ("422",), 422),
        (EngineError("bad input"), ("400", "422"), 400),
        # documented nowhere: the usual status, as before
        (crm.UnknownReference("contact_id names no contact"), ("400", "404"), 409),
        (pbx.NotFound("no such agent"), ("400",), 404),
        (EngineError("bad input"), (), 400),
    ],
)
def test_the_status_is_the_one_the_operation_documents(
    error: EngineError, documented: tuple[str, ...], status: int
) -> None:
    answer = refusal(error, operation(*documented).responses)
    assert (answer.status, answer.message) == (status, error.message)


def test_without_an_operation_each_kind_has_its_usual_status() -> None:
    assert [refusal(e).status for e in (crm.NotFound("a"), queue.Conflict("b"), pbx.Forbidden("c"))] == [
        404,
        409,
        403,
    ]
    assert refusal(EngineError("d"), validation_status=422).status == 422
