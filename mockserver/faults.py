"""Faults set through the control plane: per operation, an error rate and an added latency."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ANY = "*"


@dataclass(frozen=True)
class Fault:
    error_rate: float = 0.0
    status: int = 500
    latency_ms: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"error_rate": self.error_rate, "status": self.status, "latency_ms": self.latency_ms}


class Faults:
    """Rules keyed by ``api`` and ``operationId`` (``*`` for any); the most specific rule wins."""

    def __init__(self, seed: int, initial: list[Mapping[str, Any]] | None = None) -> None:
        self._rules: dict[tuple[str, str], Fault] = {}
        self._rng = random.Random(seed)
        self._initial = list(initial or [])  # the config file's ``faults:``, in force again after a reset
        self.replace(self._initial)

    def replace(self, rules: list[Mapping[str, Any]]) -> None:
        self._rules = {
            (str(r.get("api", ANY)), str(r.get("operationId", ANY))): Fault(
                error_rate=float(r.get("error_rate", 0.0)),
                status=int(r.get("status", 500)),
                latency_ms=float(r.get("latency_ms", 0.0)),
            )
            for r in rules
        }

    def rules(self) -> list[dict[str, Any]]:
        return [{"api": api, "operationId": op, **f.to_json()} for (api, op), f in self._rules.items()]

    def for_operation(self, api: str, operation_id: str) -> Fault | None:
        if not self._rules:
            return None
        for key in ((api, operation_id), (api, ANY), (ANY, operation_id), (ANY, ANY)):
            if key in self._rules:
                return self._rules[key]
        return None

    def roll(self, fault: Fault) -> bool:
        return fault.error_rate > 0 and self._rng.random() < fault.error_rate

    def clear(self) -> None:
        self.replace(self._initial)
