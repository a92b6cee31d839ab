"""A big Ryng campaign, simulated to its last terminal callback: time and peak memory.

The campaign is created empty (``POST /campaign`` with its first slice) and the rest of its leads
arrive by ``POST /campaign/{campaignID}`` (appendCampaign), 100,000 a request at most, as the spec's ``maxItems`` allows.
Then the manual clock is advanced a simulated day at a time until nothing is left to run. Each
request goes through the mock's whole HTTP path in process; terminal callbacks are answered by an
in-memory transport that counts them (loopback HTTP delivery is measured by ``bench.dialer`` and
``bench.senders``: at ~7,000 deliveries/s it alone would be the figure). The request journal is off (it
would keep the request bodies). Each size runs in its own process, so that peak memory (the process's
max RSS) is its own.

* ``campaign_100k_*``: 100,000 leads. Target: under 250 MB.
* ``campaign_1m_*``: 1,000,000 leads in ten appends. Targets: under 3 minutes and under 1 GB.

Each prints ``wall_s`` (from start-up to the last terminal callback, less the time the bench spends writing
the request bodies), ``reference_s`` (``bench.reference``, the machine's speed, timed in the same process
just before and just after; their mean) and ``wall_in_references`` (``wall_s`` over it: the campaign's
cost in units of the machine's speed of the moment, a rough gauge of the hour and not a correction),
``cpu_s`` (the process's CPU time: on a machine shared with other work, the wall time is this plus the
waiting), ``intake_s`` (the requests alone), ``peak_mb`` (max RSS in MiB, 2**20 bytes: 1 GB is 954 of
them, or 1,024 if a GB is 2**30 bytes), the simulated days and the callbacks sent.

``python -m bench.campaign`` prints the figures as JSON; ``python -m bench.campaign run LEADS`` runs one.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import subprocess
import sys
import time
from typing import Any

from bench import reference

PUSH_LIMIT = 100_000  # Ryng's maxItems on customerData.jsonData
SIZES = {"100k": 100_000, "1m": 1_000_000}
TEAM = 5  # agents: the tenant default; more shortens the simulated time, not the work


class _Count:
    """Answers every callback with 200 at once and counts the terminal ones."""

    def __init__(self) -> None:
        from mockserver.core.outbox import Answer

        self.sent = 0
        self.terminal = 0
        self._ok = Answer(status=200)  # one answer for all: the transport's own cost is not the figure

    async def send(self, outgoing: Any) -> Any:
        self.sent += 1
        if outgoing.payload.get("callbackType") == "terminal":
            self.terminal += 1
        return self._ok


def _body(start: int, count: int, *, first: bool) -> bytes:
    rows = ",".join(
        f'{{"number":"+9198{i:08d}","customField1":"Lead {i}"}}' for i in range(start, start + count)
    )
    head = '{"name":"bench","customFieldNames":{"customField1Name":"Name"},' if first else "{"
    url = "http://127.0.0.1:9/terminal"
    return (head + f'"customerData":{{"terminalCallbackUrl":"{url}","jsonData":[{rows}]}}}}').encode()


async def _campaign(leads: int) -> dict[str, float]:
    import httpx

    from mockserver.app import create_app
    from mockserver.cli import tune_gc
    from mockserver.settings import Settings

    reference_before = reference.seconds()
    started = time.perf_counter()
    config = {"ryng": {"team_size": TEAM}}
    settings = Settings(
        apis=("ryng",), clock="manual", rate_limit=False, seed=1, journal_size=0, config=config
    )
    app = create_app(settings)
    tune_gc()  # as ``mockline serve`` does once its app is made
    runtime = app.runtime
    count = _Count()
    runtime.outbox.transport = count
    headers = {"x-access-token": "mockline", "content-type": "application/json"}
    intake_s = 0.0
    client_s = 0.0  # making the request bodies: the client's work, not the mock's
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mock") as client:
        campaign_id = None
        for start in range(0, leads, PUSH_LIMIT):
            made = time.perf_counter()
            content = _body(start, min(PUSH_LIMIT, leads - start), first=campaign_id is None)
            sent = time.perf_counter()
            client_s += sent - made
            if campaign_id is None:
                r = await client.post("/ryng/rest-api/v1/campaign", content=content, headers=headers)
                campaign_id = r.headers.get("x-mockline-campaign-id")  # Ryng answers no id; the mock says it
            else:
                path = f"/ryng/rest-api/v1/campaign/{campaign_id}"
                r = await client.post(path, content=content, headers=headers)
            intake_s += time.perf_counter() - sent
            if r.status_code != 200 or campaign_id is None:
                raise RuntimeError(f"{r.request.url.path} answered {r.status_code}: {r.text[:200]}")
            del content
        simulated = 0.0
        while True:
            await runtime.timeline.advance(86_400.0)
            simulated += 86_400.0
            if runtime.timeline.next_due() is None:
                break
    wall = time.perf_counter() - started - client_s
    reference_s = (reference_before + reference.seconds()) / 2
    if count.terminal != leads:
        raise RuntimeError(f"{count.terminal} terminal callbacks for {leads} leads")
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "wall_s": round(wall, 1),
        "reference_s": round(reference_s, 3),
        "wall_in_references": round(wall / reference_s, 1),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "intake_s": round(intake_s, 1),
        "peak_mb": round(usage.ru_maxrss / 1024, 1),
        "simulated_days": round(simulated / 86_400, 1),
        "callbacks": float(count.sent),
    }


def _in_subprocess(leads: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.campaign", "run", str(leads)],
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def run(sizes: dict[str, int] | None = None) -> dict[str, float]:
    figures: dict[str, float] = {}
    for name, leads in (sizes or SIZES).items():
        for key, value in _in_subprocess(leads).items():
            figures[f"campaign_{name}_{key}"] = value
    return figures


def main(argv: list[str]) -> int:
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    if argv[:1] == ["run"]:
        print(json.dumps(asyncio.run(_campaign(int(argv[1])))))
        return 0
    print(json.dumps(run(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
