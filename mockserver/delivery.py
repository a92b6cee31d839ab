"""Sends one due callback or webhook over an injected ``httpx.AsyncClient``; never raises."""

from __future__ import annotations

import httpx

from mockserver.core.outbox import Answer, Outgoing

USER_AGENT = "mockline-callbacks/0.1"


class HttpxTransport:
    def __init__(self, client: httpx.AsyncClient, timeout_seconds: float) -> None:
        self.client = client
        self.timeout = timeout_seconds

    async def send(self, outgoing: Outgoing) -> Answer:
        payload = {k: v for k, v in outgoing.payload.items() if v is not None}
        kwargs: dict[str, object] = {"timeout": self.timeout, "headers": {"user-agent": USER_AGENT}}
        if outgoing.encoding == "json":
            kwargs["json"] = dict(outgoing.payload)
        elif outgoing.encoding == "form":
            kwargs["data"] = {k: str(v) for k, v in payload.items()}
        else:
            kwargs["params"] = {k: str(v) for k, v in payload.items()}
        try:
            response = await self.client.request(outgoing.method, outgoing.url, **kwargs)  # type: ignore[arg-type]
        except httpx.TimeoutException:
            return Answer(error=f"timed out after {self.timeout:g} s")
        except httpx.HTTPError as exc:
            return Answer(error=f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
        return Answer(status=response.status_code)
