"""OAuth2 access tokens issued by the mock, valid for a lifetime measured on the mock's clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from mockserver.core.clock import Clock
from mockserver.core.fakes import Fakes
from mockserver.core.store import StateStore

TokenState = Literal["valid", "expired", "unknown"]


class TokenIssuer:
    def __init__(self, api: str, clock: Clock, store: StateStore, fakes: Fakes) -> None:
        self.collection = f"tokens:{api}"
        self.clock = clock
        self.store = store
        self.fakes = fakes

    def issue(
        self, subject: str, lifetime_seconds: int, scope: str = "all", refresh: bool = False
    ) -> dict[str, Any]:
        token = self.fakes.hex(40)
        expires = self.clock.now() + timedelta(seconds=lifetime_seconds)
        record = {"token": token, "subject": subject, "scope": scope, "expires": expires.timestamp()}
        self.store.put(self.collection, token, record)
        grant: dict[str, Any] = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": lifetime_seconds,
            "scope": scope,
        }
        if refresh:
            refresh_token = self.fakes.hex(40)
            self.store.put(f"{self.collection}:refresh", refresh_token, {"subject": subject, "scope": scope})
            grant["refresh_token"] = refresh_token
        return grant

    def refresh_subject(self, refresh_token: str) -> str | None:
        record = self.store.get(f"{self.collection}:refresh", refresh_token)
        return None if record is None else str(record["subject"])

    def state(self, token: str) -> TokenState:
        record = self.store.get(self.collection, token)
        if record is None:
            return "unknown"
        expires = datetime.fromtimestamp(record["expires"], tz=self.clock.now().tzinfo)
        return "valid" if self.clock.now() < expires else "expired"
