"""The ringme PBX engine without HTTP: status changes, subscriptions, the cap, codes, reset."""

from __future__ import annotations

import asyncio

import pytest

from mockserver.core.clock import ManualClock
from mockserver.core.fakes import Fakes
from mockserver.core.outbox import Answer, Outbox, Outgoing, RetryRule
from mockserver.core.pbx import Defaults, DeliveryRule, LimitReached, NotFound, PbxEngine
from mockserver.core.store import MemoryStore
from mockserver.core.timeline import Timeline


def say(key: str, **values: object) -> str:
    """Stands in for ringme.yaml's messages (what the handler hands in): the key and its values."""
    return f"{key} {sorted(values.items())}" if values else key


# Stands in for the default state ringme.yaml's examples show (what the handler hands in).
DEFAULTS = Defaults(
    client_id="12",
    local_agent=136,
    extension="094",
    prefix="000",
    domain="ringme.ru",
    remote_agent=212,
    remote_number="79161234567",
    first_subscription=150,
)


class Recorder:
    def __init__(self) -> None:
        self.sent: list[Outgoing] = []

    async def send(self, outgoing: Outgoing) -> Answer:
        self.sent.append(outgoing)
        return Answer(status=200)


def build(config: dict[str, object] | None = None) -> tuple[PbxEngine, Timeline, Recorder]:
    clock = ManualClock()
    store = MemoryStore()
    timeline = Timeline(clock, store)
    transport = Recorder()
    outbox = Outbox(timeline, transport)
    rules = {
        "GET": DeliveryRule("deliverAgentEventByGet", "query", RetryRule()),
        "POST": DeliveryRule("deliverAgentEventByPost", "form", RetryRule()),
    }
    engine = PbxEngine(
        clock=clock,
        store=store,
        timeline=timeline,
        outbox=outbox,
        make_fakes=lambda: Fakes(1, "ru_RU", salt="t"),
        config=config or {},
        delivery=rules,
        say=say,
        subscription_limit=10,
        code_lifetime=600,
        defaults=DEFAULTS,
    )
    engine.reset()
    return engine, timeline, transport


def test_only_real_status_changes_enqueue_deliveries_with_the_subscription_method() -> None:
    engine, timeline, transport = build()
    engine.subscribe(
        "12", "local", 136, {"url": "http://r/get", "event_type": "agent-login", "method": "GET"}
    )
    engine.subscribe(
        "12", "local", 136, {"url": "http://r/post", "event_type": "agent-logout", "method": "POST"}
    )
    assert engine.set_status("12", "local", 136, "logged_out", "api")["changed"] is False
    first = engine.set_status("12", "local", 136, "available", "phone")
    assert first["changed"] and len(first["deliveries"]) == 1
    assert engine.set_status("12", "local", 136, "available", "api")["deliveries"] == []
    engine.set_status("12", "local", 136, "logged_out", "api")
    asyncio.run(timeline.advance(0))
    assert [(o.method, o.encoding, o.url) for o in transport.sent] == [
        ("GET", "query", "http://r/get"),
        ("POST", "form", "http://r/post"),
    ]
    assert transport.sent[0].payload["event_source"] == "phone"
    assert transport.sent[1].payload["agent_status"] == "logged_out"


def test_cap_unknown_ids_and_reset() -> None:
    engine, _, _ = build({"subscription_limit": 1})
    body = {"url": "http://r/", "event_type": "agent-login", "method": "GET"}
    made = engine.subscribe("12", "remote", 212, body)
    assert made["id"] == 150
    with pytest.raises(LimitReached, match=r"^subscription_cap \[\('limit', 1\)\]$"):
        engine.subscribe("12", "local", 136, body)
    with pytest.raises(NotFound):
        engine.subscription("12", "local", 136, made["id"])
    with pytest.raises(NotFound):
        engine.agent("12", "local", 1)
    with pytest.raises(NotFound):
        engine.limits("99")
    engine.store.clear()
    engine.reset()
    assert engine.limits("12") == {"agent_events": {"limit": 1, "used": 0}}


def test_authorization_codes_work_once_and_expire() -> None:
    engine, _, _ = build()
    code = engine.issue_code("app", "https://a.example/cb")["code"]
    assert engine.redeem_code(code, "other", "https://a.example/cb") == "code_other_client"
    assert engine.redeem_code(code, "app", "https://a.example/cb") is None
    assert engine.redeem_code(code, "app", "https://a.example/cb") == "code_invalid"
    late = engine.issue_code("app", None)["code"]
    engine.clock.advance(599)
    assert engine.redeem_code(engine.issue_code("app", None)["code"], "app", None) is None
    engine.clock.advance(1)  # the code_lifetime it was built with
    assert engine.redeem_code(late, "app", None) == "code_expired"
