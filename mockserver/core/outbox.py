"""Callbacks and webhooks, due on the clock, retried by the rules the spec gives, kept in a journal.

A delivery is plain data in the store (collection ``deliveries``): where it goes, what it carries, its
state (``pending``, ``delivered`` or ``failed``) and every attempt made. Sending is done by an injected
``Transport``; the engine never speaks HTTP itself.

Delivery is at least once: an attempt's outcome is recorded together with the removal of its job (see
``timeline``), so an attempt a kill interrupts goes again after the restart, marked ``after_restart``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, NamedTuple, Protocol

from mockserver.core import pages
from mockserver.core.clock import iso_at
from mockserver.core.compact import Sealable
from mockserver.core.errors import Conflict, NotFound
from mockserver.core.pages import Page
from mockserver.core.store import Document
from mockserver.core.timeline import AFTER_RESTART, Commit, Timeline

COLLECTION = "deliveries"
SEQUENCE = "delivery"
JOB_KIND = "deliver"


class Settled(Sealable):
    """A delivery no attempt will change in place (delivered, failed, cancelled), kept sealed by the store
    (``compact``); a retry reads it back and puts a pending copy."""

    __slots__ = ()
    shared = ("retry",)


_NO_META: Mapping[str, Any] = MappingProxyType({})
_RULES_KEPT = 1024
"""Retry descriptions ``Outbox.rule`` knows by identity at most (past that it starts again)."""


def _kept(record: Document) -> Document:
    return Settled(record) if record["state"] != "pending" else record


@dataclass(frozen=True)
class RetryRule:
    """How often to try and what counts as received. The spec's ``x-retry`` arrives complete (the contract
    model fills in what a spec leaves out); these defaults serve only a test's hand-made rule."""

    attempts: int = 1
    interval_seconds: float = 60.0
    success_status: tuple[int, ...] = (200,)

    @classmethod
    def from_spec(cls, rule: Mapping[str, Any] | None) -> RetryRule:
        base = cls()
        if not rule:
            return base
        return cls(
            attempts=int(rule.get("attempts", base.attempts)),
            interval_seconds=float(rule.get("interval_seconds", base.interval_seconds)),
            success_status=tuple(int(s) for s in rule.get("success_status", base.success_status)),
        )


class Outgoing(NamedTuple):
    """One request to send: the body goes as JSON, as a form, or (for GET) in the query string. (A tuple:
    two are made per delivery, and a frozen dataclass took three times as long to make.)"""

    method: str
    url: str
    payload: Mapping[str, Any]
    encoding: str = "json"  # json | form | query


@dataclass(frozen=True)
class Answer:
    """What one attempt got: the receiver's status, how long it took, its headers and the start of its
    body, or an error. ``final`` means the target itself is refused: the delivery fails without retries."""

    status: int | None = None
    error: str | None = None
    latency_ms: float | None = None
    headers: Mapping[str, str] | None = None
    body: str | None = None
    body_truncated: bool = False
    final: bool = False


class Transport(Protocol):
    async def send(self, outgoing: Outgoing) -> Answer: ...


PayloadCheck = Callable[[Document], list[str]]
"""Validates a delivery's payload against its spec before it leaves; returns the problems found."""


@dataclass
class Chaos:
    """Off by default. Rates are probabilities per delivery; the outbox's seeded RNG decides.

    * duplicate: the delivery goes twice (the copy is its own record, ``duplicate_of`` the original);
    * delay: the first attempt waits 1 to ``max_delay_seconds`` longer;
    * reorder: the delivery is held back and goes right after the next delivery to the same URL (or after
      ``max_delay_seconds`` if none comes).

    Each delivery chaos touched says how in its ``chaos`` list.
    """

    duplicate_rate: float = 0.0
    reorder_rate: float = 0.0
    delay_rate: float = 0.0
    max_delay_seconds: float = 30.0

    def __post_init__(self) -> None:
        for name in ("duplicate_rate", "reorder_rate", "delay_rate"):
            rate = getattr(self, name)
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"chaos.{name} must be between 0 and 1, not {rate}")
        if self.max_delay_seconds < 1.0:
            raise ValueError("chaos.max_delay_seconds must be at least 1")

    @property
    def enabled(self) -> bool:
        return any((self.duplicate_rate, self.reorder_rate, self.delay_rate))


@dataclass
class OutboxStats:
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    by_state: dict[str, int] = field(default_factory=dict)


class Outbox:
    def __init__(
        self,
        timeline: Timeline,
        transport: Transport,
        *,
        check: PayloadCheck | None = None,
        chaos: Chaos | None = None,
        rng: Any = None,
    ) -> None:
        self.timeline = timeline
        self.store = timeline.store
        self.clock = timeline.clock
        self.transport = transport
        self.check = check
        self.chaos = chaos or Chaos()
        self.rng = rng
        self._retry_docs: dict[RetryRule, dict[str, Any]] = {}
        self._rules: dict[int, tuple[Mapping[str, Any], RetryRule]] = {}  # id(spec) -> (spec, its rule)
        self._held: dict[str, tuple[int, int]] = {}  # url -> (delivery held back by chaos, its job)
        timeline.register(JOB_KIND, self._attempt, concurrent=True)
        self._by_call = CallIndex()
        for record in self.store.values(COLLECTION):  # a restart with SQLite state
            self._index(record)
        self.store.on_remote(COLLECTION, self._remote_delivery)

    def enqueue(
        self,
        *,
        api: str,
        callback: str,
        outgoing: Outgoing,
        retry: RetryRule,
        delay_seconds: float = 0.0,
        meta: Mapping[str, Any] | None = None,
    ) -> Document:
        """Record a delivery and schedule its first attempt; returns the stored record."""
        delivery_id = self.store.next_id(SEQUENCE)
        record: Document = {
            "id": delivery_id,
            "api": api,
            "callback": callback,
            "method": outgoing.method,
            "url": outgoing.url,
            "encoding": outgoing.encoding,
            "payload": dict(outgoing.payload),
            "state": "pending",
            "created_at": self.now_iso(),
            "retry": self._retry_doc(retry),
            "attempts": [],
            "next_attempt_at": None,
            **(meta or _NO_META),
        }
        if self.check is not None:
            problems = self.check(record)
            if problems:
                record["state"] = "failed"
                record["error"] = "payload does not match the spec: " + "; ".join(problems)
                self.store.put(COLLECTION, str(delivery_id), _kept(record))
                self._index(record)
                return record
        if not self._held and not self.chaos.enabled:  # no chaos, nothing held back: as it comes
            self._schedule(record, delay_seconds)
            self._index(record)
            return record
        twin = None
        if self._roll(self.chaos.duplicate_rate):
            twin = {
                **record,
                "id": self.store.next_id(SEQUENCE),
                "duplicate_of": delivery_id,
                "attempts": [],
            }
            twin["chaos"] = [f"duplicate of {delivery_id}"]
        for each in (record, twin) if twin is not None else (record,):
            self._chaos_schedule(each, delay_seconds)
            self._index(each)
        return record

    def _remote_delivery(self, _key: str, record: Document | None) -> None:
        if record is not None:  # another process of a shared store made or changed it
            self._index(record)

    def _index(self, record: Document) -> None:
        if record.get("callID") is not None:
            self._by_call.add(int(record["id"]), record["callID"])

    def _chaos_schedule(self, record: Document, delay: float) -> None:
        notes: list[str] = record.setdefault("chaos", []) if self.chaos.enabled else []
        if self._roll(self.chaos.delay_rate):
            extra = round(float(self.rng.uniform(1.0, self.chaos.max_delay_seconds)), 3)
            notes.append(f"delayed {extra:g} s")
            delay += extra
        held = self._held.pop(record["url"], None)
        if self._roll(self.chaos.reorder_rate):
            notes.append("reordered: held back until after the next delivery to the same URL")
            job = self._schedule(record, delay + self.chaos.max_delay_seconds)
            self._held[record["url"]] = (record["id"], job)
        else:
            self._schedule(record, delay)
        if held is not None:  # the one held back goes just after this one
            other = self.store.get(COLLECTION, str(held[0]))
            if other is not None and other["state"] == "pending" and self.timeline.cancel(held[1]):
                self._schedule(other, delay + 0.001)
        if self.chaos.enabled and not notes:
            del record["chaos"]
            self.store.put(COLLECTION, str(record["id"]), record)

    def now_iso(self) -> str:
        """The clock's time as text (``iso_at``: one string per instant, shared by the records and
        payloads made at it)."""
        return iso_at(self.clock.stamp())

    def _retry_doc(self, retry: RetryRule) -> dict[str, Any]:
        """One shared (never changed) document per rule: a campaign's deliveries all carry the same."""
        doc = self._retry_docs.get(retry)
        if doc is None:
            doc = self._retry_docs[retry] = {
                "attempts": retry.attempts,
                "interval_seconds": retry.interval_seconds,
                "success_status": list(retry.success_status),
            }
            self._rules[id(doc)] = (doc, retry)
        return doc

    def rule(self, spec: Mapping[str, Any]) -> RetryRule:
        """The rule a spec's retry description (``x-retry``, a route's ``retry``) or a record's ``retry``
        document says. Such objects are shared (a campaign's calls share their route's, a rule's records
        one document) and never changed: one seen lately is known by identity (the entry keeps it alive,
        so its id names it), any other is read."""
        known = self._rules.get(id(spec))
        if known is not None and known[0] is spec:
            return known[1]
        rule = RetryRule.from_spec(spec)
        if len(self._rules) >= _RULES_KEPT:
            self._rules = {id(doc): (doc, r) for r, doc in self._retry_docs.items()}
        self._rules[id(spec)] = (spec, rule)
        return rule

    def _schedule(self, record: Document, delay: float) -> int:
        if delay == 0:
            record["next_attempt_at"] = self.now_iso()
        else:
            record["next_attempt_at"] = iso_at(self.clock.stamp() + delay)
        self.store.put(COLLECTION, str(record["id"]), record)
        return self.timeline.schedule_in(delay, JOB_KIND, self._job_args(record))

    def _roll(self, rate: float) -> bool:
        return bool(rate) and self.rng is not None and self.rng.random() < rate

    async def _attempt(self, args: dict[str, Any]) -> Commit | None:
        """Send one attempt, then hand the timeline what to record: the attempt, the delivery's new state
        and its next attempt are committed in the same transaction that removes this attempt's job. An
        attempt cut short by a kill was never recorded, so it goes again after the restart (at least
        once); that attempt carries ``after_restart: true``."""
        record = self.store.get(COLLECTION, str(args["delivery"]))
        if record is None or record["state"] != "pending" or args.get("round", 0) != record.get("round", 0):
            return None  # settled, cancelled, or superseded by a retry (which scheduled its own attempt)
        at = self.now_iso()
        outgoing = Outgoing(record["method"], record["url"], record["payload"], record["encoding"])
        answer = await self.transport.send(outgoing)
        attempt: Document = {"at": at}
        if answer.status is not None:
            attempt["status"] = answer.status
        if answer.error is not None:
            attempt["error"] = answer.error
        _describe_answer(attempt, answer)
        if args.get(AFTER_RESTART):
            attempt[AFTER_RESTART] = True
        return lambda: self._record(int(args["delivery"]), attempt, answer, args.get("round", 0))

    def _record(self, delivery_id: int, attempt: Document, answer: Answer, round_: int = 0) -> None:
        record = self.store.get(COLLECTION, str(delivery_id))
        if record is None or record["state"] != "pending" or record.get("round", 0) != round_:
            return  # reset, settled, cancelled or retried anew while the attempt was out
        record["attempts"].append(attempt)
        rule = self.rule(record["retry"])
        if answer.status is not None and answer.status in rule.success_status:
            record["state"] = "delivered"
            record["next_attempt_at"] = None
        elif answer.final:
            record["state"] = "failed"
            record["error"] = answer.error or "the target was refused"
            record["next_attempt_at"] = None
        elif len(record["attempts"]) - record.get("attempt_base", 0) >= rule.attempts:
            record["state"] = "failed"
            record["next_attempt_at"] = None
        else:
            due = self.clock.stamp() + rule.interval_seconds
            record["next_attempt_at"] = iso_at(due)
            self.timeline.schedule_in(rule.interval_seconds, JOB_KIND, self._job_args(record))
        self.store.put(COLLECTION, str(record["id"]), _kept(record))

    # ---- acting on a delivery (the control plane's retry and cancel) ------------------------------

    @staticmethod
    def _job_args(record: Document) -> dict[str, Any]:
        round_ = record.get("round", 0)
        return {"delivery": record["id"], "round": round_} if round_ else {"delivery": record["id"]}

    @staticmethod
    def can_retry(record: Document) -> bool:
        """Whether a delivery was ever sendable: one whose payload never matched the spec was not."""
        return not str(record.get("error") or "").startswith("payload does not match the spec")

    def retry(self, delivery_id: int) -> Document:
        """Send again now, with a fresh round of the retry rule's attempts; the attempts made so far
        stay. A pending delivery's scheduled attempt is replaced by this one."""
        record = self.store.get(COLLECTION, str(delivery_id))
        if record is None:
            raise NotFound(f"No delivery has id {delivery_id}")
        if not self.can_retry(record):
            raise Conflict(f"Delivery {delivery_id} was never sent: {record['error']}")
        record["round"] = record.get("round", 0) + 1
        record["attempt_base"] = len(record["attempts"])
        record["state"] = "pending"
        record["next_attempt_at"] = self.now_iso()
        record.setdefault("retried_at", []).append(self.now_iso())
        self.store.put(COLLECTION, str(delivery_id), record)
        self.timeline.schedule_in(0, JOB_KIND, self._job_args(record))
        return record

    def cancel(self, delivery_id: int) -> Document:
        """Stop a pending delivery: no further attempt is made (``retry`` starts it again)."""
        record = self.store.get(COLLECTION, str(delivery_id))
        if record is None:
            raise NotFound(f"No delivery has id {delivery_id}")
        if record["state"] != "pending":
            raise Conflict(
                f"Delivery {delivery_id} is {record['state']}; only a pending one can be cancelled"
            )
        record["state"] = "cancelled"
        record["next_attempt_at"] = None
        record["round"] = record.get("round", 0) + 1  # its scheduled attempt finds itself superseded
        self.store.put(COLLECTION, str(delivery_id), _kept(record))
        return record

    def deliveries(self, **filters: Any) -> Iterator[Document]:
        """Every delivery in creation order, keeping those whose fields equal the filters given."""
        wanted = {k: str(v) for k, v in filters.items() if v is not None}
        # Filtered first, then sorted: settled deliveries are sealed, and only the matches are kept open.
        found = [
            r for r in self.store.values(COLLECTION) if all(str(r.get(k)) == v for k, v in wanted.items())
        ]
        yield from sorted(found, key=lambda r: r["id"])

    def delivery_page(self, after: int, limit: int, **filters: Any) -> Page:
        """Deliveries after the id ``after``, oldest first; costs O(limit) (see ``pages``). A ``callID``
        filter reads that call's deliveries only."""
        match = pages.equals(filters)
        call_id = filters.get("callID")
        if call_id is not None:
            hits: list[Document] = []
            for n in self._by_call.ids(call_id, after):
                record = self.store.get(COLLECTION, str(n))
                if record is not None and (match is None or match(record)):  # the index may be stale
                    if len(hits) == limit:
                        return Page(hits, str(hits[-1]["id"]))
                    hits.append(record)
            return Page(hits, None)
        return pages.forward(
            lambda n: self.store.get(COLLECTION, str(n)), after, self.store.last_id(SEQUENCE), limit, match
        )


class CallIndex:
    """Which deliveries concern which call, in 8 bytes a delivery: slot ``id`` of one bytearray holds a
    digest of the delivery's callID, so finding a call's deliveries is a byte search at C speed (a few
    milliseconds over 1,000,000 deliveries) and the index costs no object per call (a 100,000-lead
    campaign's memory budget is tight). It lives in memory, is rebuilt at start, and may be stale after a
    reset or a rollback: readers check each record it names."""

    _WIDTH = 8

    def __init__(self) -> None:
        self._slots = bytearray()

    def add(self, delivery_id: int, call_id: Any) -> None:
        start = (delivery_id - 1) * self._WIDTH
        end = start + self._WIDTH
        slots = self._slots
        if len(slots) < end:  # grown a few thousand slots at a time (ids come in order); empty ones are zeros
            slots.extend(bytes(end - len(slots) + _GROWTH))
        slots[start:end] = _digest(call_id)

    def ids(self, call_id: Any, after: int = 0) -> Iterator[int]:
        """Ids above ``after`` whose slot holds this call's digest, in order."""
        pattern = _digest(call_id)
        at = max(after, 0) * self._WIDTH
        while (found := self._slots.find(pattern, at)) >= 0:
            if found % self._WIDTH == 0:
                yield found // self._WIDTH + 1
                at = found + self._WIDTH
            else:  # the bytes straddle two slots
                at = found + 1


_GROWTH = 8 * 4096
_EMPTY = bytes(CallIndex._WIDTH)


def _digest(call_id: Any) -> bytes:
    # The process's own string hash: the index lives and dies with the process (a fraction of the cost of
    # a cryptographic digest, which nothing here needs: a collision only costs a record read and skipped).
    digest = hash(str(call_id)).to_bytes(CallIndex._WIDTH, "little", signed=True)
    return digest if digest != _EMPTY else b"\x00" * 7 + b"\x01"  # all zeros marks an empty slot


def _describe_answer(attempt: Document, answer: Answer) -> None:
    """The receiver's answer on the attempt record, as far as the transport saw it."""
    if answer.latency_ms is not None:
        attempt["latency_ms"] = answer.latency_ms
    if answer.headers is not None:
        attempt["response_headers"] = dict(answer.headers)
    if answer.body is not None:
        attempt["response_body"] = answer.body
        if answer.body_truncated:
            attempt["response_body_truncated"] = True
