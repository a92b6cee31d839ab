"""What happens when the dialer rings a customer: the outcome, ring and talk times, who hangs up first.

Each attempt draws from its own random source (``Draws``), keyed by (seed, callID, attempt number), so
the same seed gives the same calls whatever order they are dialled in, and again after a restart. Magic numbers
(last six digits, like Twilio's test numbers) force an outcome or a sequence; docs/magic-numbers.md
lists them.
"""

from __future__ import annotations

import hashlib
import math
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from mockserver.core.fakes import DISPOSITIONS

ANSWERED = "answered"
BUSY = "busy"
NO_ANSWER = "no-answer"
FAILED = "failed"
OUTCOMES = (ANSWERED, BUSY, NO_ANSWER, FAILED)

DEFAULT_ODDS: Mapping[str, float] = {ANSWERED: 0.70, BUSY: 0.12, NO_ANSWER: 0.13, FAILED: 0.05}
"""How often an ordinary number ends each way (config: ``ryng: {outcomes: {...}}``)."""

LONG_CALL_SECONDS = 2700
SHORT_HANGUP_SECONDS = 12


@dataclass(frozen=True)
class Magic:
    """A number suffix that forces what happens: ``outcomes[i]`` for attempt i+1 (the last one repeats)."""

    suffix: str
    summary: str
    outcomes: tuple[str, ...]
    talk: int | None = None
    hangup_by: str | None = None


MAGIC_NUMBERS: tuple[Magic, ...] = (
    Magic("555000", "answered at once, a one-minute call", (ANSWERED,), talk=60, hangup_by="agent"),
    Magic("555001", "always busy", (BUSY,)),
    Magic("555002", "never answers (no answer on every attempt)", (NO_ANSWER,)),
    Magic("555003", "busy twice, then answered", (BUSY, BUSY, ANSWERED), talk=90, hangup_by="agent"),
    Magic(
        "555004", "answered, a long call (45 minutes)", (ANSWERED,), talk=LONG_CALL_SECONDS, hangup_by="agent"
    ),
    Magic(
        "555005",
        "answered, the customer hangs up first after a few seconds",
        (ANSWERED,),
        talk=SHORT_HANGUP_SECONDS,
        hangup_by="customer",
    ),
    Magic("555006", "unreachable: the call fails on every attempt", (FAILED,)),
)
_BY_SUFFIX = {m.suffix: m for m in MAGIC_NUMBERS}


def magic_for(number: str) -> Magic | None:
    return _BY_SUFFIX.get(number[-6:])


class Plan(NamedTuple):
    """One attempt, decided before it starts. Times are whole seconds. (A tuple: every attempt of a
    campaign makes one.)"""

    outcome: str
    agent_ring: int  # until the agent picks up
    customer_ring: int  # until the customer picks up, or until the attempt fails
    talk: int  # seconds both parties are on the line (0 unless answered)
    hangup_by: str | None  # agent | customer, for answered calls
    dispose: int  # seconds after the call the agent takes to dispose (<= maxDispose)
    disposition: str | None
    magic: str | None = None


_KEY = struct.Struct("<3Q").pack  # (seed, callID, attempt), each as 64 bits
_BLOCK = struct.Struct("<8Q").unpack  # one digest: eight numbers, as many as a plan takes
_MASK = (1 << 64) - 1


class Draws:
    """The numbers one attempt draws, from its own stream: BLAKE2b of (seed, callID, attempt, block),
    eight 64-bit numbers a digest. A plan takes at most eight, so one C call makes them all; seeding a
    Mersenne Twister (``random.Random``) cost more than the rest of the plan, and a generator written in
    Python (SplitMix64) still half of it, at a million and a half plans a big campaign."""

    __slots__ = ("_block", "_key", "_next", "_numbers")

    def __init__(self, seed: int, call_id: int, attempt: int) -> None:
        self._key = _key(seed, call_id, attempt)
        self._block = 0
        self._numbers: tuple[int, ...] = _BLOCK(hashlib.blake2b(self._key).digest())
        self._next = 0

    def bits64(self) -> int:
        at = self._next
        if at == 8:  # the next block of the same stream
            self._block += 1
            key = self._key + self._block.to_bytes(8, "little")
            self._numbers, at = _BLOCK(hashlib.blake2b(key).digest()), 0
        self._next = at + 1
        return self._numbers[at]


def _key(seed: int, call_id: int, attempt: int) -> bytes:
    return _KEY(seed & _MASK, call_id & _MASK, attempt & _MASK)


_TO_UNIT = 1.0 / (1 << 53)


def _unit(bits: int) -> float:
    """64 drawn bits as a number in [0, 1)."""
    return (bits >> 11) * _TO_UNIT


def plan_attempt(
    seed: int,
    call_id: int,
    attempt: int,
    number: str,
    max_dispose: int,
    odds: Odds | None = None,
) -> Plan:
    """The attempt's plan, drawn from ``Draws(seed, call_id, attempt)``: its first block holds the eight
    numbers a plan takes at most, read here in place (a campaign plans a million and a half attempts;
    ``Draws``'s method calls were half the cost of a plan). The numbers are taken in the order ``Draws``
    gives them: the same draws, the same plans."""
    drawn = _BLOCK(hashlib.blake2b(_key(seed, call_id, attempt)).digest())  # Draws' first block
    magic = magic_for(number)
    suffix = magic.suffix if magic is not None else None
    if magic is not None:
        outcome = magic.outcomes[min(attempt, len(magic.outcomes)) - 1]
        at = 0
    else:
        outcome = _pick(_unit(drawn[0]), odds or _DEFAULT)
        at = 1
    agent_ring = 2 + drawn[at] % 5
    low, high = _RINGS[outcome]
    customer_ring = low + drawn[at + 1] % (high - low + 1)
    if outcome != ANSWERED:
        return Plan(outcome, agent_ring, customer_ring, 0, None, 0, None, suffix)
    at += 2
    if magic is not None and magic.talk:
        talk = magic.talk
    else:
        talk = _talk(_unit(drawn[at]), _unit(drawn[at + 1]))
        at += 2
    if magic is not None and magic.hangup_by:
        hangup_by = magic.hangup_by
    else:
        hangup_by = _HANGUP_BY[drawn[at] % 2]
        at += 1
    dispose = 0
    if max_dispose > 0:
        least = max(1, max_dispose // 3)
        dispose = least + drawn[at] % (max_dispose - least + 1)
        at += 1
    disposition = DISPOSITIONS[drawn[at] % len(DISPOSITIONS)]
    return Plan(outcome, agent_ring, customer_ring, talk, hangup_by, dispose, disposition, suffix)


_HANGUP_BY = ("agent", "customer")


def _pick(roll: float, odds: Odds) -> str:
    """The outcome a roll in [0, 1) lands on, the odds laid end to end."""
    roll *= odds.total
    for outcome, weight in odds.weights:
        roll -= weight
        if roll < 0:
            return outcome
    return ANSWERED


def _talk(first: float, second: float) -> int:
    """Talk time: log-normal around two and a half minutes, between 20 s and 30 min (Box-Muller over two
    uniform draws)."""
    radius = math.sqrt(-2.0 * math.log(1.0 - first))
    seconds = math.exp(math.log(150) + 0.7 * radius * math.cos(math.tau * second))
    return int(min(1800, max(20, seconds)))


_RINGS: Mapping[str, tuple[int, int]] = {  # ring time by outcome: least and most seconds
    ANSWERED: (4, 20),
    BUSY: (3, 8),
    NO_ANSWER: (30, 45),
    FAILED: (1, 3),
}


class Odds(NamedTuple):
    """Each outcome's weight (in ``OUTCOMES`` order) and their sum: worked out once, read by every plan."""

    weights: tuple[tuple[str, float], ...]
    total: float


def validate_odds(odds: Mapping[str, Any]) -> Odds:
    """Outcome odds from the config file (outcomes left out never happen); bad entries are refused."""
    unknown = sorted(set(odds) - set(OUTCOMES))
    if unknown:
        raise ValueError(f"ryng.outcomes: unknown outcome {', '.join(unknown)}; use {', '.join(OUTCOMES)}")
    given = odds or DEFAULT_ODDS
    weights = tuple((o, float(given.get(o, 0.0))) for o in OUTCOMES)
    if any(w < 0 for _, w in weights) or sum(w for _, w in weights) <= 0:
        raise ValueError("ryng.outcomes: odds must be non-negative and not all zero")
    return Odds(weights, sum(w for _, w in weights))


_DEFAULT = validate_odds(DEFAULT_ODDS)
