"""The dialer's pieces without HTTP: plans, magic numbers, sheets, pools, roster, engine rules."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from mockserver.core.clock import ManualClock, iso, iso_at
from mockserver.core.dialer import Dialer, NotCancellable, UnknownAgent, UnknownCall
from mockserver.core.dialer_intake import BadSheet, parse_sheet
from mockserver.core.dialer_payloads import pack, unpack
from mockserver.core.dialer_plan import (
    ANSWERED,
    MAGIC_NUMBERS,
    OUTCOMES,
    Draws,
    magic_for,
    plan_attempt,
    validate_odds,
)
from mockserver.core.dialer_roster import Pools
from mockserver.core.fakes import Fakes
from mockserver.core.outbox import Answer, Outbox, Outgoing
from mockserver.core.store import MemoryStore
from mockserver.core.timeline import Timeline


class Accept:
    def __init__(self) -> None:
        self.sent: list[Outgoing] = []

    async def send(self, outgoing: Outgoing) -> Answer:
        self.sent.append(outgoing)
        return Answer(status=200)


def engine(config: dict[str, Any] | None = None, seed: int = 1) -> tuple[Dialer, Timeline, Accept]:
    clock = ManualClock()
    timeline = Timeline(clock, MemoryStore())
    transport = Accept()
    dialer = Dialer(
        clock=clock,
        store=timeline.store,
        timeline=timeline,
        outbox=Outbox(timeline, transport),
        make_fakes=lambda salt: Fakes(seed, "en_IN", salt=salt),
        seed=seed,
        config=config or {},
        default_mapping="all-agents",  # what the handler reads from ryng.yaml
    )
    dialer.reset()
    return dialer, timeline, transport


ROUTE = {
    "terminal": {
        "url": "http://127.0.0.1:9/t",
        "operationId": "pushTransactionalTerminalCallback",
        "retry": {},
    }
}


def test_a_plan_depends_only_on_seed_call_and_attempt() -> None:
    assert plan_attempt(1, 7, 1, "+919845012345", 30) == plan_attempt(1, 7, 1, "+919845012345", 30)
    plans = {plan_attempt(1, 7, n, "+919845012345", 30) for n in range(1, 20)}
    assert len(plans) > 1


def test_draws_are_one_stream_per_key_past_the_first_block() -> None:
    first = Draws(1, 7, 2)
    numbers = [first.bits64() for _ in range(20)]  # a digest holds eight: this reads three blocks
    again = Draws(1, 7, 2)
    assert [again.bits64() for _ in range(20)] == numbers
    assert len(set(numbers)) == 20
    other = Draws(1, 7, 3)
    assert not set(numbers) & {other.bits64() for _ in range(20)}
    rolls = Draws(5, 5, 5)
    mean = sum(rolls.bits64() / 2**64 for _ in range(20_000)) / 20_000
    assert 0.49 < mean < 0.51


def test_a_plan_reads_its_attempts_own_stream_in_order() -> None:
    # An ordinary number: the outcome's roll, the agent's ring, the customer's ring, then the talk.
    for call_id in range(200):
        plan = plan_attempt(4, call_id, 2, f"+9197{call_id:08d}", 30)
        draws = Draws(4, call_id, 2)
        draws.bits64()  # the outcome's roll
        assert plan.agent_ring == 2 + draws.bits64() % 5
        low = {"answered": 4, "busy": 3, "no-answer": 30, "failed": 1}[plan.outcome]
        high = {"answered": 20, "busy": 8, "no-answer": 45, "failed": 3}[plan.outcome]
        assert plan.customer_ring == low + draws.bits64() % (high - low + 1)


def test_ordinary_numbers_follow_the_odds() -> None:
    outcomes = Counter(plan_attempt(3, i, 1, f"+9198{i:08d}", 30).outcome for i in range(4000))
    assert set(outcomes) == set(OUTCOMES)
    assert 0.65 < outcomes[ANSWERED] / 4000 < 0.75
    only_busy = validate_odds({"busy": 1})
    assert {plan_attempt(3, i, 1, f"+9198{i:08d}", 30, only_busy).outcome for i in range(50)} == {"busy"}


def test_answered_plans_are_plausible() -> None:
    for i in range(300):
        plan = plan_attempt(2, i, 1, f"+9197{i:08d}", 30)
        assert 2 <= plan.agent_ring <= 6 and 1 <= plan.customer_ring <= 45
        if plan.outcome == ANSWERED:
            assert 20 <= plan.talk <= 1800 and 1 <= plan.dispose <= 30 and plan.disposition
            assert plan.hangup_by in {"agent", "customer"}
        else:
            assert plan.talk == 0 and plan.disposition is None


def test_magic_numbers_force_their_sequence() -> None:
    for magic in MAGIC_NUMBERS:
        number = f"+9198450{magic.suffix}"
        assert magic_for(number) is magic
        for attempt in range(1, 5):
            expected = magic.outcomes[min(attempt, len(magic.outcomes)) - 1]
            assert plan_attempt(9, 1, attempt, number, 30).outcome == expected
    assert magic_for("+919845012345") is None


def test_bad_odds_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown outcome"):
        validate_odds({"voicemail": 1})
    with pytest.raises(ValueError):
        validate_odds({"busy": -1})


def test_iso_at_matches_the_clock_format_and_attempts_pack_both_ways() -> None:
    def by_strftime(moment: datetime) -> str:  # the format spelled out, not the code's own path
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"

    moments = (1767603600.0, 1767603600.25, 1767603600.9996, 1767657599.9999, 951782400.5, -86399.0015)
    for ts in moments:
        assert iso_at(ts) == by_strftime(datetime.fromtimestamp(round(ts, 3), tz=UTC))
        assert iso(datetime.fromtimestamp(ts, tz=UTC)) == by_strftime(datetime.fromtimestamp(ts, tz=UTC))
    assert iso_at(1767657599.9996) == "2026-01-06T00:00:00.000Z"  # the rounding carries into the next day
    assert iso(datetime(2026, 1, 5, 14, 30, tzinfo=timezone(timedelta(hours=5, minutes=30)))) == (
        "2026-01-05T09:00:00.000Z"
    )
    attempt = {"n": 1, "callLogID": 4, "agent": "a", "outcome": "busy", "dialed": 1.0}
    attempt |= {"leg0_up": None, "connected": None, "ended": 5.0, "talktime": 0}
    assert unpack(pack(attempt)) == attempt


def test_sheets_find_the_number_column_custom_fields_and_in_file_agents() -> None:
    sheet = "Name,Phone Number,Agent,Policy\nPriya,+919845012345,meera@example.com; x@example.com,Term\n"
    sheet += "No number,,a@example.com,\nArjun,9900112233,,Motor\n"
    names, rows = parse_sheet(sheet, in_file=True)
    assert names == {"customField1Name": "Name", "customField2Name": "Policy"}
    assert rows == [
        {
            "number": "+919845012345",
            "customField1": "Priya",
            "customField2": "Term",
            "agentsAssigned": ["meera@example.com", "x@example.com"],
        },
        {"number": "9900112233", "customField1": "Arjun", "customField2": "Motor"},
    ]
    names, rows = parse_sheet("number,agent\n+919845012345,meera@example.com\n", in_file=False)
    assert names == {"customField1Name": "agent"} and rows[0]["customField1"] == "meera@example.com"
    with pytest.raises(BadSheet):
        parse_sheet("number\nnot a number\n", in_file=False)
    with pytest.raises(BadSheet):
        parse_sheet("", in_file=False)


def test_pools_give_bigger_priority_first_then_the_oldest_and_respect_eligibility() -> None:
    pools = Pools()
    calls = [
        {"callID": 1, "priority": 1, "eligible": None},
        {"callID": 2, "priority": 5, "eligible": ["b"]},
        {"callID": 3, "priority": 5, "eligible": None},
        {"callID": 4, "priority": 9, "eligible": ["a", "b"]},
    ]
    for call in calls:
        pools.push(call)
    cancelled = {3}
    order = [pools.take("a", lambda c: c not in cancelled) for _ in range(3)]
    assert order == [4, 1, None]
    assert pools.take("b", lambda c: True) == 2


def test_the_default_roster_is_seeded_and_configured_agents_replace_it() -> None:
    first, _, _ = engine(seed=3)
    again, _, _ = engine(seed=3)
    other, _, _ = engine(seed=4)
    usernames = [a["username"] for a in first.agents()]
    assert usernames == [a["username"] for a in again.agents()] != [a["username"] for a in other.agents()]
    assert len(usernames) == 5 and all(u.endswith("@example.com") for u in usernames)
    assert [a["id"] for a in first.agents()] == [31, 32, 33, 34, 35]
    configured, _, _ = engine({"agents": [{"username": "solo@example.com", "number": "+919800000001"}]})
    assert [(a["username"], a["number"]) for a in configured.agents()] == [
        ("solo@example.com", "+919800000001")
    ]


def test_unknown_agents_join_the_roster_unless_the_config_says_reject() -> None:
    dialer, _, _ = engine()
    body = {
        "agentMapping": "global",
        "agents": ["new@example.com"],
        "customerData": {"jsonData": [{"number": "+919845012345"}]},
    }
    dialer.intake.add_to_queue(3, body, {}, "pushTransactional")
    assert "new@example.com" in [a["username"] for a in dialer.agents()]
    strict, _, _ = engine({"unknown_agents": "reject"})
    with pytest.raises(UnknownAgent):
        strict.intake.add_to_queue(3, body, {}, "pushTransactional")
    assert strict.calls() == []


def test_pushes_that_ask_the_same_share_one_setup_and_others_get_their_own() -> None:
    dialer, _, _ = engine()

    def push(number: str, url: str = "http://127.0.0.1:9/t", retries: int | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "agentMapping": "global",
            "agents": ["a@example.com"],
            "customerData": {"jsonData": [{"number": number}]},
        }
        if retries is not None:
            body["maxRetries"] = retries
        routes = {"terminal": {**ROUTE["terminal"], "url": url}}
        (call_id,) = dialer.intake.add_to_queue(3, body, routes, "pushTransactional")
        call = dialer.store.get("ryng:calls", str(call_id))
        assert call is not None
        return call

    first, second = push("+919845012341"), push("+919845012342")
    assert first["settings"] is second["settings"] and first["eligible"] is second["eligible"]
    elsewhere, fewer_retries = (
        push("+919845012343", url="http://127.0.0.1:9/u"),
        push("+919845012344", retries=0),
    )
    assert elsewhere["settings"]["routes"]["terminal"]["url"] == "http://127.0.0.1:9/u"
    assert fewer_retries["settings"]["maxRetries"] == 0 and first["settings"]["maxRetries"] == 2
    assert first["number"] != second["number"]


def test_cancel_refuses_unknown_and_attempted_calls() -> None:
    dialer, timeline, _ = engine()
    with pytest.raises(UnknownCall):
        dialer.cancel(1)
    (call_id,) = dialer.intake.add_to_queue(
        3, {"customerData": {"jsonData": [{"number": "+919811555001"}]}}, ROUTE, "x"
    )
    asyncio.run(timeline.advance(1))
    with pytest.raises(NotCancellable):
        dialer.cancel(call_id)


def test_one_busy_number_makes_one_terminal_callback_after_its_retries() -> None:
    dialer, timeline, transport = engine({"queue_defaults": {"maxRetries": 1, "retryInterval": 1}})
    dialer.intake.add_to_queue(3, {"customerData": {"jsonData": [{"number": "+919811555001"}]}}, ROUTE, "x")
    asyncio.run(timeline.advance(3600))
    (call,) = dialer.calls()
    assert [a["outcome"] for a in call["attempts"]] == ["busy", "busy"]
    (sent,) = transport.sent
    assert sent.payload["status"] == "busy" and sent.payload["callID"] == call["callID"]
