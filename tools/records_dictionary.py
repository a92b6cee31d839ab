"""Train the Zstandard dictionary that sealed records are compressed with: mockserver/core/records.zdict.

The memory store compresses every finished call and settled delivery on its own (a few hundred bytes
each, two a lead), so what makes it cheap is a dictionary: text the records repeat, and the entropy tables
Zstandard would otherwise build for each record. This script makes the records a mock really seals, in
scenarios unlike the campaign benchmark's (other URLs, field names and numbers; queue calls with
priorities, retries and connect callbacks; receivers that answer with headers and a body, or fail), then
trains the dictionary on them. Training is deterministic: the same records give the same file.

Run it after a change to what a call or a delivery record holds, and commit the file it writes:

    .venv/bin/python tools/records_dictionary.py

``tests/unit/test_compact.py`` fails when the dictionary no longer fits the records a campaign makes.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import httpx
import zstandard

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mockserver.app import create_app  # noqa: E402
from mockserver.core.compact import DICTIONARY_PATH, LEVEL, Codec  # noqa: E402
from mockserver.core.dialer_calls import CALLS, FINISHED, StoredCall  # noqa: E402
from mockserver.core.outbox import COLLECTION, Answer, Outgoing, Settled  # noqa: E402
from mockserver.settings import Settings  # noqa: E402

SIZE = 8192  # bytes: with 4 KB the benchmark's records came out a third larger, with 16 or 32 KB 4-10% larger
HEADERS = {"x-access-token": "mockline", "content-type": "application/json"}
BASE = "/ryng/rest-api/v1"


class _Receiver:
    """Answers as a web framework would: headers and a short body, and now and then a failure."""

    def __init__(self) -> None:
        self.count = 0

    async def send(self, outgoing: Outgoing) -> Answer:
        self.count += 1
        if self.count % 11 == 0:
            return Answer(error="connection refused: nothing listens at crm.example.com:443")
        status = 503 if self.count % 7 == 0 else 200
        body = '{"received":true}' if status == 200 else '{"error":"try again later"}'
        headers = {
            "content-type": "application/json",
            "content-length": str(len(body)),
            "date": "Mon, 05 Jan 2026 09:00:00 GMT",
            "server": "nginx",
        }
        return Answer(
            status=status, latency_ms=round(3 + self.count % 40 * 0.731, 3), headers=headers, body=body
        )


def _rows(count: int, first: int, *, priorities: bool) -> list[dict[str, Any]]:
    rows = []
    for i in range(first, first + count):
        row: dict[str, Any] = {
            "number": f"+91{7 + i % 3}{(i * 7919) % 10**9:09d}",
            "customField1": f"Customer {i * 31 % 9973}",
            "customField2": ("Web form", "Referral", "Trade fair", "Renewal")[i % 4],
        }
        if priorities:
            row["priority"] = (i * 13) % 100
        rows.append(row)
    return rows


async def _scenarios() -> list[bytes]:
    settings = Settings(apis=("ryng",), clock="manual", rate_limit=False, seed=7, journal_size=0)
    app = create_app(settings)
    runtime = app.runtime
    runtime.outbox.transport = _Receiver()
    callbacks = {
        "terminalCallbackUrl": "https://crm.example.com/hooks/ryng/terminal",
        "connectCallbackUrl": "https://crm.example.com/hooks/ryng/connect",
    }
    names = {"customField1Name": "Full name", "customField2Name": "Lead source"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mock") as client:

        async def post(path: str, body: dict[str, Any]) -> httpx.Response:
            reply = await client.post(BASE + path, content=json.dumps(body), headers=HEADERS)
            if reply.status_code != 200:
                raise SystemExit(f"{path} answered {reply.status_code}: {reply.text[:300]}")
            return reply

        data = {**callbacks, "jsonData": _rows(1500, 1, priorities=False)}
        await post("/campaign", {"name": "Spring", "customFieldNames": names, "customerData": data})
        queue = {
            "name": "Renewals",
            "legDirection": "customer-first",
            "maxRetries": 2,
            "retryInterval": 5,
            "maxDisposeTime": 60,
            "customFieldNames": names,
            "customerData": {**callbacks, "jsonData": _rows(800, 5001, priorities=True)},
        }
        await post("/progressive/queue", queue)
        for i in range(300):
            push = {
                "maxRetries": 1,
                "customerData": {**callbacks, "jsonData": _rows(1, 9001 + i, priorities=True)},
            }
            await post("/progressive/queue/1/transactional", push)
        while runtime.timeline.next_due() is not None:
            await runtime.timeline.advance(86_400.0)
    store, codec = runtime.store, Codec(dictionary=b"")
    samples: list[bytes] = []
    for call in store.values(CALLS):
        if call["state"] in FINISHED:
            samples.append(_sealed(codec, StoredCall(call)))
    for record in store.values(COLLECTION):
        if record["state"] != "pending":
            samples.append(_sealed(codec, Settled(record)))
    return samples


def _sealed(codec: Codec, document: StoredCall | Settled) -> bytes:
    encoded = codec.encode(document)
    if not isinstance(encoded, bytes):
        raise SystemExit(f"a record JSON cannot hold: {document!r:.200}")
    return encoded


def main() -> int:
    if not DICTIONARY_PATH.exists():  # the mock that makes the samples reads it: none, at first
        DICTIONARY_PATH.write_bytes(b"")
    samples = asyncio.run(_scenarios())
    trained = zstandard.train_dictionary(SIZE, samples, level=LEVEL)
    DICTIONARY_PATH.write_bytes(trained.as_bytes())
    print(f"{DICTIONARY_PATH.relative_to(ROOT)}: {len(trained.as_bytes())} bytes from {len(samples)} records")
    return 0


if __name__ == "__main__":
    sys.exit(main())
