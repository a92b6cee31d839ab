"""What a handler is given (``Call``) and what it gives back (``Reply``): plain data, no ASGI."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mockserver.operations import Operation


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    content: bytes


@dataclass
class Call:
    operation: Operation
    path_params: dict[str, Any]
    query: dict[str, Any]
    headers: Mapping[str, str]
    body: Any
    media_type: str | None
    files: dict[str, Upload] = field(default_factory=dict)
    principal: str | None = None
    prefer: Mapping[str, str] = field(default_factory=dict)
    raw_json: bytes = b""  # a JSON body as it came in, for the journal

    @property
    def api(self) -> str:
        return self.operation.api

    @property
    def operation_id(self) -> str:
        return self.operation.operation_id

    def query_int(self, name: str) -> int:
        """Query parameter ``name`` as a whole number: as sent, else the ``default`` the operation's spec
        gives it (a parameter the spec does not default must be sent)."""
        if name in self.query:
            return int(self.query[name])
        for parameter in self.operation.parameters:
            if (
                parameter.name == name
                and parameter.location == "query"
                and parameter.spec.default is not None
            ):
                return int(parameter.spec.default)
        raise LookupError(f"{self.operation_id} has no query parameter {name!r} with a default")


@dataclass
class Reply:
    status: int
    body: Any = None
    media_type: str | None = None  # None: the first media type the spec documents for this status
    headers: dict[str, str] = field(default_factory=dict)
