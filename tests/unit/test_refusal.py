"""An engine's refusal becomes the status its operation documents for that kind, in one place."""

from __future__ import annotations

from pathlib import Path
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


def engine_catches(source: str, namespace: dict[str, Any]) -> list[str]:
    """The engine-refusal classes a module's ``except`` clauses name (they belong in the middleware)."""
    import ast

    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ExceptHandler) and node.type is not None:
            names = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
            for name in names:
                value: Any = None
                if isinstance(name, ast.Name):
                    value = namespace.get(name.id)
                elif isinstance(name, ast.Attribute) and isinstance(name.value, ast.Name):
                    value = getattr(namespace.get(name.value.id), name.attr, None)
                if isinstance(value, type) and issubclass(value, EngineError):
                    found.append(value.__name__)
    return found


def test_no_handler_catches_an_engine_refusal() -> None:
    from mockserver.handlers import handler_modules

    caught = {
        m.__name__: engine_catches(Path(str(m.__file__)).read_text(encoding="utf-8"), vars(m))
        for m in handler_modules()
    }
    assert {name: found for name, found in caught.items() if found} == {}


def test_the_handler_check_finds_a_catch() -> None:
    source = (
        "try:\n    pass\nexcept CrmError as exc:\n    raise refusal(exc)\n"
        "try:\n    pass\nexcept (KeyError, pbx.NotFound):\n    pass\n"
        "try:\n    pass\nexcept (ValueError, QueueConflict):\n    pass\n"
    )
    namespace = {"CrmError": crm.CrmError, "QueueConflict": queue.Conflict, "pbx": pbx}
    assert engine_catches(source, namespace) == ["CrmError", "NotFound", "Conflict"]
