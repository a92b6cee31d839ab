"""Everything one running mock holds: its APIs, clock, state, outbox, journal and engines.

Which handler answers an operation is not here: that is ``registry.py``, which sits above this module."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from mockserver.accesslog import AccessLog
from mockserver.core.clock import Clock
from mockserver.core.events import EventBus
from mockserver.core.fakes import Fakes
from mockserver.core.outbox import Chaos, Outbox, Transport
from mockserver.core.store import StateStore
from mockserver.core.timeline import Timeline
from mockserver.core.tokens import TokenIssuer
from mockserver.faults import Faults
from mockserver.journal import Journal
from mockserver.operations import Api, CallbackSpec
from mockserver.settings import Settings


class Engine(Protocol):
    def reset(self) -> None:
        """Bring the engine's default state back (after the store was cleared)."""
        ...


@dataclass
class Runtime:
    settings: Settings
    clock: Clock
    store: StateStore
    timeline: Timeline
    outbox: Outbox
    apis: dict[str, Api]
    journal: Journal
    faults: Faults
    engines: dict[str, Engine] = field(default_factory=dict)
    events: EventBus = field(default_factory=EventBus)
    access_log: AccessLog | None = None  # set by ``mockline serve`` unless --quiet
    _fakes: dict[str, Fakes] = field(default_factory=dict)
    _tokens: dict[str, TokenIssuer] = field(default_factory=dict)
    _rate_windows: dict[tuple[str, str, int], int] = field(default_factory=dict)

    def fakes_for(self, api: str, salt: str = "") -> Fakes:
        key = f"{api}:{salt}"
        if key not in self._fakes:
            locale = self.apis[api].locale if api in self.apis else "en_US"
            self._fakes[key] = Fakes(self.settings.seed, locale, salt=key)
        return self._fakes[key]

    def tokens_for(self, api: str) -> TokenIssuer:
        if api not in self._tokens:
            self._tokens[api] = TokenIssuer(api, self.clock, self.store, self.fakes_for(api, "tokens"))
        return self._tokens[api]

    def callback(self, api: str, operation_id: str, name: str, method: str = "POST") -> CallbackSpec:
        for spec in self.apis[api].operations[operation_id].callback_specs:
            if spec.name == name and spec.method == method.upper():
                return spec
        raise KeyError(f"{api}.{operation_id} declares no {method} callback named {name!r}")

    async def count_request(self, api: str, key: str, window_seconds: int) -> int:
        """Requests seen for this key in the current fixed window of clock time."""
        window = int(self.clock.stamp() // window_seconds)
        shared = getattr(self.store, "count_in_window", None)
        if shared is not None:  # a state shared by several processes (Redis) counts for all of them
            return int(await shared(f"{api}:{key}:{window_seconds}:{window}", window_seconds))
        slot = (api, key, window)
        count = self._rate_windows.get(slot, 0) + 1
        if len(self._rate_windows) > 10_000:
            self._rate_windows.clear()
        self._rate_windows[slot] = count
        return count

    def reset(self) -> None:
        self.store.clear()
        self.timeline.reset()
        self.journal.clear()
        self.faults.clear()
        self._fakes.clear()
        self._tokens.clear()
        self._rate_windows.clear()
        for engine in self.engines.values():
            engine.reset()


def chaos_from(settings: Settings) -> tuple[Chaos, random.Random]:
    section: Mapping[str, Any] = settings.section("chaos")
    chaos = Chaos(
        duplicate_rate=float(section.get("duplicate_rate", 0.0)),
        reorder_rate=float(section.get("reorder_rate", 0.0)),
        delay_rate=float(section.get("delay_rate", 0.0)),
        max_delay_seconds=float(section.get("max_delay_seconds", 30.0)),
    )
    return chaos, random.Random(settings.seed + 7919)


def build_outbox(
    timeline: Timeline, transport: Transport, settings: Settings, check: Callable[..., list[str]] | None
) -> Outbox:
    chaos, rng = chaos_from(settings)
    return Outbox(timeline, transport, check=check, chaos=chaos, rng=rng)
