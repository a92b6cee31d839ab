"""A call's life as a picture on the mock clock: the geometry of an inline SVG, no HTML here.

The call row has a bar per phase (queued, dialing and ringing of each attempt, talking, wrap-up,
retry waits) and a tick for each event of its history; the callbacks row has one marker per delivery
attempt, green when the receiver's answer counted as delivered and red otherwise, with the status.
Times are UTC, by the clock alone when the picture falls within one day, else with their date.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from mockserver.core.outbox import RetryRule

WIDTH = 1000.0
LEFT = 110.0
RIGHT = 20.0


def _ts(value: Any) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _utc(ts: float, form: str = "%H:%M:%S") -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime(form)


def picture(
    call: Mapping[str, Any], deliveries: Sequence[Mapping[str, Any]], now: datetime
) -> dict[str, Any]:
    created = _ts(call.get("created")) or now.timestamp()
    history = [
        (t, str(h.get("event")), h.get("detail"))
        for h in call.get("history") or []
        if (t := _ts(h.get("at"))) is not None
    ]
    attempts = list(call.get("attempts") or [])
    active = call.get("state") not in ("completed", "unreachable", "cancelled", "ended")
    marks: list[tuple[float, bool, str, str]] = []  # (time, delivered, label, title)
    for delivery in deliveries:
        rule = RetryRule.from_spec(delivery.get("retry"))
        for attempt in delivery.get("attempts") or []:
            at = _ts(attempt.get("at")) if isinstance(attempt, Mapping) else None
            if at is None:
                continue
            status = attempt.get("status")
            ok = isinstance(status, int) and status in rule.success_status
            label = str(status) if status is not None else "error"
            title = f"{delivery.get('callback')} callback #{delivery.get('id')}: {label}"
            if attempt.get("error"):
                title += f" ({attempt['error']})"
            marks.append((at, ok, label, title))
    times = [created, *(t for t, _, _ in history), *(m[0] for m in marks)]
    end = max(times)
    if active:
        end = max(end, now.timestamp())
    span = max(end - created, 1.0)
    scale = (WIDTH - LEFT - RIGHT) / span
    one_day = _utc(created, "%Y-%m-%d") == _utc(created + span, "%Y-%m-%d")
    titled, axis_form = ("%H:%M:%S", "%H:%M:%S") if one_day else ("%Y-%m-%d %H:%M:%S", "%m-%d %H:%M")

    def when(t: float) -> str:
        return _utc(t, titled)

    def x(t: float) -> float:
        return round(LEFT + (t - created) * scale, 2)

    bars: list[dict[str, Any]] = []

    def bar(start: float | None, stop: float | None, kind: str, label: str) -> None:
        if start is None:
            return
        stop = stop if stop is not None else (now.timestamp() if active else start)
        width = max(x(stop) - x(start), 2.0)
        bars.append(
            {
                "x": x(start),
                "w": round(width, 2),
                "kind": kind,
                "label": label,
                "title": f"{label}: {when(start)} to {when(stop)} ({stop - start:g} s)",
            }
        )

    first_dial = _ts(attempts[0].get("dialed")) if attempts else None
    bar(created, first_dial, "queued", "queued")
    previous_end: float | None = None
    for attempt in attempts:
        dialed = _ts(attempt.get("dialed"))
        connected = _ts(attempt.get("connected"))
        ended = _ts(attempt.get("ended"))
        n = attempt.get("attempt")
        if previous_end is not None and dialed is not None and dialed > previous_end:
            bar(previous_end, dialed, "retry", "retry wait")
        stop = connected or ended
        rings = [
            t
            for t, event, _ in history
            if event == "dialing-customer"
            and dialed is not None
            and t >= dialed
            and (stop is None or t <= stop)
        ]
        ring_from = rings[0] if rings else None
        if ring_from is not None and ring_from > (dialed or ring_from):
            bar(dialed, ring_from, "dialing", f"dialing #{n}")
            bar(ring_from, stop, "ringing", f"ringing #{n} ({attempt.get('outcome') or 'under way'})")
        else:
            bar(dialed, stop, "dialing", f"dialing #{n} ({attempt.get('outcome') or 'under way'})")
        if connected is not None:
            bar(connected, ended, "talking", f"talking #{n}")
        previous_end = ended
    disposed = next((t for t, event, _ in history if event == "disposed"), None)
    if previous_end is not None and disposed is not None and disposed > previous_end:
        bar(previous_end, disposed, "wrapup", "wrap-up")
    ticks = [
        {"x": x(t), "title": f"{when(t)} {event}" + (f" {detail}" if detail else "")}
        for t, event, detail in history
    ]
    markers = [
        {"x": x(t), "ok": ok, "label": label, "title": f"{when(t)} {title}"} for t, ok, label, title in marks
    ]
    anchors = ("start", "middle", "middle", "middle", "end")
    axis = [
        {
            "x": x(created + span * i / 4),
            "text": _utc(created + span * i / 4, axis_form),
            "anchor": anchors[i],
        }
        for i in range(5)
    ]
    return {
        "width": WIDTH,
        "left": LEFT,
        "bars": bars,
        "ticks": ticks,
        "markers": markers,
        "axis": axis,
        "disposed": x(disposed) if disposed is not None else None,
    }
