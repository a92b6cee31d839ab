"""pytest plugin for mockline (entry point ``pytest11: mockline``).

Fixtures:

- ``mock_server``: the mock, one per test session on a free loopback port with a manual clock and no rate
  limit, reset before each test. ``mock_server.url_for("ryng")`` is where an API lives; ``.clock``,
  ``.journal``, ``.advance(seconds)``, ``.requests()`` and ``.deliveries()`` give its time and history.
- ``callback_sink``: a ``mockline listen`` receiver, one per session, emptied before each test. Point
  callback URLs at ``callback_sink.url`` and assert with
  ``callback_sink.assert_received(event="call-ended", count=1, callID=7)``; a failed assertion lists the
  deliveries that nearly matched.

This is the one module of ``contracts`` that imports the mock (to start it).
"""

from __future__ import annotations

import socket
import threading
import time
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import pytest

from contracts import model
from contracts.listen import ListenOptions, Recorder, clip, create_listener


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _Served:
    """An ASGI app under uvicorn in a daemon thread on 127.0.0.1."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        import uvicorn

        self.port = port or _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="critical", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name=f"mockline:{self.port}", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"mockline: the server on port {self.port} did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class MockServer:
    """The running mock, as a test sees it."""

    def __init__(self, served: _Served, app: Any) -> None:
        self._served = served
        self.app = app
        self.runtime = app.runtime
        self.url = served.url
        self.client = httpx.Client(base_url=self.url, timeout=10)

    def url_for(self, api: str) -> str:
        """Base URL of one API: ``url_for("ryng")`` is ``http://127.0.0.1:PORT/ryng``."""
        return (
            self.url + self.runtime.apis[api].prefix
            if api in self.runtime.apis
            else self.url + model.contract(api).prefix  # an API this mock does not serve
        )

    @property
    def clock(self) -> Any:
        return self.runtime.clock

    @property
    def journal(self) -> Any:
        return self.runtime.journal

    def reset(self) -> None:
        self.client.post("/__admin/reset").raise_for_status()
        self.journal.clear()  # the reset request itself is not part of the next test's history

    def advance(self, seconds: float) -> dict[str, Any]:
        """Move the manual clock on; whatever falls due (callbacks included) runs before this returns."""
        response = self.client.post("/__admin/clock/advance", json={"seconds": seconds})
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def requests(self, **filters: Any) -> list[dict[str, Any]]:
        """The journal: what the mock was asked and answered (filters: api, operationId, status)."""
        return list(self.journal.entries(**filters))

    def deliveries(self, **filters: Any) -> list[dict[str, Any]]:
        params = {k: v for k, v in filters.items() if v is not None}
        found: list[dict[str, Any]] = []
        while True:  # the list comes in pages
            response = self.client.get("/__admin/deliveries", params=params)
            response.raise_for_status()
            page = response.json()
            found += page["deliveries"]
            if not page.get("next_cursor"):
                return found
            params["cursor"] = page["next_cursor"]


class CallbackSink:
    """A receiver for the callbacks and webhooks a test makes the mock (or its own code) send."""

    def __init__(self, served: _Served, recorder: Recorder) -> None:
        self._served = served
        self.recorder = recorder
        self.url = served.url + "/callbacks"
        self.base_url = served.url

    def received(self, **filters: Any) -> list[dict[str, Any]]:
        return self.recorder.entries(**filters)

    def clear(self) -> None:
        self.recorder.clear()

    def assert_received(
        self,
        event: str | None = None,
        count: int | None = None,
        *,
        kind: str | None = None,
        api: str | None = None,
        valid: bool | None = True,
        within: float = 2.0,
        **fields: Any,
    ) -> list[dict[str, Any]]:
        """Deliveries matching every criterion. Without ``count``: at least one, returned as soon as one is
        in, or a failure once ``within`` seconds have passed without one. With ``count``: exactly ``count``
        (0 included) when ``within`` seconds have passed, so it always waits them out (a match arriving
        later would change the count), and fails at once when more than ``count`` are in. ``event`` matches
        the payload's event, the callback's name or the operationId; ``kind`` the callback's operationId (any
        of those the URL leaves open); ``fields`` match payload fields, a dict the nested fields it names.
        On failure, the nearest misses are listed."""
        if count is not None and count < 0:
            raise ValueError(f"count={count}: a number of deliveries is 0 or more")
        if within < 0:
            raise ValueError(f"within={within}: a number of seconds is 0 or more")
        criteria: dict[str, Any] = {"event": event, "kind": kind, "api": api, "valid": valid}
        criteria = {k: v for k, v in criteria.items() if v is not None}
        started = time.monotonic()
        deadline = started + within
        while True:
            over = time.monotonic() >= deadline  # before reading: whatever came in by the deadline counts
            entries = self.recorder.entries()
            matches = [e for e in entries if not _mismatches(e, criteria, fields)]
            if count is None:
                if matches:
                    return matches
            elif len(matches) > count:
                break  # too many already: no wait can mend that
            elif over and len(matches) == count:
                return matches
            if over:
                break
            time.sleep(min(0.02, max(deadline - time.monotonic(), 0.0)))
        wanted = ", ".join(f"{k}={v!r}" for k, v in {**criteria, **fields}.items()) or "anything"
        expectation = "at least one delivery" if count is None else f"{count} deliveries"
        when = (
            f"after {time.monotonic() - started:.2f} s of the {within:g} s"
            if count is not None and len(matches) > count
            else f"in {within:g} s"
        )
        lines = [
            f"expected {expectation} with {wanted}; got {len(matches)} of {len(entries)} received {when}"
        ]
        ranked = sorted(entries, key=lambda e: len(_mismatches(e, criteria, fields)))
        near = [e for e in ranked if e not in matches][:5]
        if near:
            lines.append("nearest deliveries:")
            for entry in near:
                differences = "; ".join(_mismatches(entry, criteria, fields))
                lines.append(
                    f"  #{entry['id']} {entry['method']} {entry['path']} {entry.get('api')} "
                    f"{entry.get('kind')} event={entry.get('event')!r} valid={entry['valid']}: {differences}"
                )
                for problem in entry.get("problems", [])[:3]:
                    lines.append(f"      invalid because {problem}")
        raise AssertionError("\n".join(lines))


_MISSING = object()


def _shown(value: Any) -> str:
    """A value as a failure message quotes it: its repr, clipped."""
    return clip(repr(value), 120)


def _differences(where: str, value: Any, wanted: Any) -> list[str]:
    """How a payload's ``value`` at ``where`` differs from ``wanted`` (empty when it matches). A dict
    matches the keys it names, nested; a number matches its text (forms and queries carry only text); a
    bool matches only a bool (``True`` is not ``1``) or its form spelling (``"true"``)."""
    if value is _MISSING:
        return [f"{where} is missing"]
    if isinstance(wanted, Mapping):
        if not isinstance(value, Mapping):
            return [f"{where} is {_shown(value)}, not an object"]
        found: list[str] = []
        for key, inner in wanted.items():
            found += _differences(f"{where}.{key}", value.get(key, _MISSING), inner)
        return found
    if isinstance(wanted, bool) or isinstance(value, bool):
        same = (type(value) is type(wanted) and value == wanted) or (
            isinstance(value, str) and isinstance(wanted, bool) and value == str(wanted).lower()
        )
    elif isinstance(value, str) != isinstance(wanted, str) and isinstance(value, (str, int, float)):
        same = str(value) == str(wanted)
    else:
        same = value == wanted
    return [] if same else [f"{where} is {_shown(value)}, not {_shown(wanted)}"]


def _mismatches(
    entry: Mapping[str, Any], criteria: Mapping[str, Any], fields: Mapping[str, Any]
) -> list[str]:
    found = []
    for key, wanted in criteria.items():
        if key == "event":
            if wanted not in {entry.get("event"), entry.get("callback"), entry.get("kind")}:
                found.append(f"event is {entry.get('event')!r}, not {wanted!r}")
        elif key == "kind":  # any callback the URL left open
            if wanted != entry.get("kind") and wanted not in (entry.get("kinds") or []):
                found.append(f"kind is {' or '.join(entry.get('kinds') or [str(None)])}, not {wanted!r}")
        elif entry.get(key) != wanted:
            found.append(f"{key} is {entry.get(key)!r}, not {wanted!r}")
    payload = entry.get("payload")
    for key, wanted in fields.items():
        if isinstance(payload, Mapping):
            found += _differences(key, payload.get(key, _MISSING), wanted)
        elif payload is None:
            found.append(f"{key}: the delivery has no payload")
        else:
            kind = "text" if isinstance(payload, str) else type(payload).__name__
            found.append(f"{key}: the payload is {kind}, not fields: {_shown(payload)}")
    return found


@pytest.fixture(scope="session")
def mockline_server_session() -> Iterator[MockServer]:
    """The session's one mock server (use ``mock_server``, which also resets it)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # connexion's import of starlette.testclient warns on import
        from mockserver.app import create_app
        from mockserver.settings import Settings

        port = _free_port()
        app = create_app(Settings(port=port, clock="manual", rate_limit=False))
    served = _Served(app, port)  # the port its settings name: callbacks to it are refused as the mock's own
    server = MockServer(served, app)
    try:
        yield server
    finally:
        server.client.close()
        served.stop()


@pytest.fixture
def mock_server(mockline_server_session: MockServer) -> MockServer:
    """The mock, reset: empty state, journal and outbox, the clock back at its start."""
    mockline_server_session.reset()
    return mockline_server_session


@pytest.fixture(scope="session")
def mockline_callback_sink_session() -> Iterator[CallbackSink]:
    recorder = Recorder()
    served = _Served(create_listener(ListenOptions(quiet=True), recorder=recorder))
    try:
        yield CallbackSink(served, recorder)
    finally:
        served.stop()


@pytest.fixture
def callback_sink(mockline_callback_sink_session: CallbackSink) -> CallbackSink:
    """A callback and webhook receiver at ``callback_sink.url``, emptied before each test."""
    mockline_callback_sink_session.clear()
    return mockline_callback_sink_session
