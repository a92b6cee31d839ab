"""Every exchange of a ``mockline verify`` run passes through one :class:`Traffic`: paced, counted, kept.

- :class:`Pacer` spaces requests evenly (``--rate-limit 60/m`` sends one a second) and, when an answer
  carries ``Retry-After``, holds every request until that time has passed.
- :class:`Evidence` counts answers per operation and status class and per phase. From the counts it
  names what the run could not judge (:meth:`Evidence.inconclusive`): an operation that never got a
  success answer, one whose given credentials were refused every time, a phase where more than 10% of
  the answers were 429.
- The exchanges themselves are kept for ``--report-har`` only when asked for (each answer's body to its
  first ``har.BODY_BYTES``), and every request a custom check built on its own is listed with the exact
  URL it went to.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from contracts.reporting.har import BODY_BYTES
from contracts.reporting.model import Exchange, FollowUp, Inconclusive

RATE_LIMITED_SHARE = 0.10  # a phase with more 429 answers than this share is inconclusive
MAX_RETRY_AFTER = 120.0  # seconds; a longer Retry-After is waited for this long at most
_RATE = re.compile(r"^\s*(\d+)\s*/\s*([smh])\s*$")
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}


def parse_rate(text: str) -> float:
    """Seconds between two requests for a rate written ``N/s``, ``N/m`` or ``N/h``."""
    match = _RATE.match(text)
    if match is None or int(match.group(1)) == 0:
        raise ValueError(f"--rate-limit {text!r}: write it as N/s, N/m or N/h with N > 0, e.g. 60/m")
    return _UNITS[match.group(2)] / int(match.group(1))


def retry_after_seconds(value: str, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> float | None:
    """A ``Retry-After`` value (seconds or an HTTP date) in seconds from now; None when unreadable."""
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - now()).total_seconds()
    return max(0.0, min(MAX_RETRY_AFTER, seconds))


class Pacer:
    """Spaces requests ``interval`` seconds apart and holds them while a ``Retry-After`` runs."""

    def __init__(
        self,
        interval: float = 0.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        max_hold: float = MAX_RETRY_AFTER,
    ) -> None:
        self.interval = interval
        self.max_hold = max_hold  # the longest Retry-After honoured, in seconds
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0
        self._held_until = 0.0
        self._lock = threading.Lock()
        self.waited = 0.0  # seconds spent waiting, for the report

    def wait(self) -> None:
        """Block until the next request may go."""
        with self._lock:
            now = self._clock()
            at = max(now, self._next, self._held_until)
            self._next = at + self.interval
            delay = at - now
            self.waited += delay
        if delay > 0:
            self._sleep(delay)

    def hold(self, seconds: float) -> None:
        """No request goes for ``seconds`` from now (a server said ``Retry-After``)."""
        with self._lock:
            self._held_until = max(self._held_until, self._clock() + min(seconds, self.max_hold))


def status_class(status: int) -> str:
    return "429" if status == 429 else f"{status // 100}xx"


@dataclass
class Evidence:
    """Answers counted per operation (status classes, credentials refused) and per phase."""

    auth_statuses: frozenset[int] = frozenset({401, 403})
    operations: dict[str, Counter[str]] = field(default_factory=dict)
    phases: dict[str, Counter[str]] = field(default_factory=dict)

    def add(self, phase: str, operation: str | None, status: int, *, with_credentials: bool) -> None:
        kind = status_class(status)
        counts = self.phases.setdefault(phase, Counter())
        counts["answers"] += 1
        counts[kind] += 1
        if operation is None:
            return
        counts = self.operations.setdefault(operation, Counter())
        counts["answers"] += 1
        counts[kind] += 1
        if with_credentials:
            counts["with credentials"] += 1
            if status in self.auth_statuses:
                counts["credentials refused"] += 1

    def inconclusive(self, operations: Iterable[str], *, credentials_given: bool) -> list[Inconclusive]:
        """What the run cannot vouch for, each with its reason and the counts behind it."""
        found: list[Inconclusive] = []
        for phase, counts in self.phases.items():
            limited = counts["429"]
            if counts["answers"] and limited / counts["answers"] > RATE_LIMITED_SHARE:
                share = round(100 * limited / counts["answers"])
                found.append(
                    Inconclusive(
                        scope="phase",
                        name=phase,
                        reason=(
                            f"{limited} of {counts['answers']} answers ({share}%) were 429 Too Many Requests, "
                            f"more than {round(100 * RATE_LIMITED_SHARE)}%: pace the run with --rate-limit "
                            "or lift the server's limit"
                        ),
                        counts=dict(counts),
                    )
                )
        for operation in sorted(operations):
            counts = self.operations.get(operation, Counter())
            refused, given = counts["credentials refused"], counts["with credentials"]
            if not counts["answers"]:
                reason = "no answer at all: no request reached this operation"
            elif counts["2xx"]:
                continue
            elif credentials_given and refused and 2 * refused >= given:
                # "Every time": every request that carried them and got past routing (a 404 or 405 for a
                # path or method the server does not have never reaches its credential check).
                reason = (
                    f"the credentials given were refused ({refused} of {given} requests that carried them) "
                    "and no request succeeded"
                )
            else:
                reason = f"no success (2xx) answer in {counts['answers']} answers"
            found.append(Inconclusive(scope="operation", name=operation, reason=reason, counts=dict(counts)))
        return found


class Traffic:
    """The one observer of a run's exchanges: pacing, evidence, follow-ups and (optionally) a HAR log."""

    def __init__(
        self,
        *,
        pacer: Pacer | None = None,
        evidence: Evidence | None = None,
        credentials: Mapping[str, str] | None = None,
        keep_exchanges: bool = False,
    ) -> None:
        self.pacer = pacer or Pacer()
        self.evidence = evidence or Evidence()
        self.credentials = {k.lower(): v for k, v in (credentials or {}).items()}
        self.keep_exchanges = keep_exchanges
        self.phase = "setup"
        self.exchanges: list[Exchange] = []
        self.follow_ups: list[FollowUp] = []
        self._lock = threading.Lock()

    def before_request(self) -> None:
        self.pacer.wait()

    def carries_credentials(self, headers: Mapping[str, str]) -> bool:
        """Whether a request carried every credential header the run was given, with its value."""
        if not self.credentials:
            return False
        sent = {str(k).lower(): str(v) for k, v in headers.items()}
        return all(sent.get(name) == value for name, value in self.credentials.items())

    def after_response(
        self,
        *,
        operation: str | None,
        method: str,
        url: str,
        request_headers: Mapping[str, str],
        request_body: bytes | None,
        status: int,
        response_headers: Iterable[tuple[str, str]],
        response_body: bytes,
        elapsed: float,
        http_version: str = "HTTP/1.1",
        follow_up_of: tuple[str, str] | None = None,  # (check, operation checked)
        needs_credentials: bool = True,  # False for an operation the spec lets anyone call
    ) -> None:
        """Count one answer, honour its ``Retry-After``, and keep what the reports need of it."""
        headers = list(response_headers)
        if status in {429, 503}:
            value = next((v for k, v in headers if k.lower() == "retry-after"), "")
            seconds = retry_after_seconds(value)
            if seconds is not None:
                self.pacer.hold(seconds)
        with self._lock:
            phase = self.phase
            self.evidence.add(
                phase,
                operation,
                status,
                with_credentials=needs_credentials and self.carries_credentials(request_headers),
            )
            if follow_up_of is not None:
                check, checked = follow_up_of
                self.follow_ups.append(
                    FollowUp(
                        check=check, operation=checked, method=method, url=url, status=status, phase=phase
                    )
                )
            if self.keep_exchanges:
                self.exchanges.append(
                    Exchange(
                        started=(datetime.now(UTC) - timedelta(seconds=elapsed)).isoformat(),
                        phase=phase,
                        source=follow_up_of[0] if follow_up_of else "schemathesis",
                        method=method,
                        url=url,
                        request_headers=[(str(k), str(v)) for k, v in request_headers.items()],
                        request_body=request_body,
                        status=status,
                        response_headers=headers,
                        response_body=bytes(response_body[:BODY_BYTES]),
                        elapsed_ms=round(elapsed * 1000, 3),
                        http_version=http_version,
                        response_size=len(response_body) if len(response_body) > BODY_BYTES else None,
                    )
                )
