"""``mockline serve --spec``: a third-party OpenAPI 3.0 document, served over a real socket, passes
``mockline verify``, and its callback reaches a receiver on the loopback."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mockserver.app import create_app
from mockserver.cli import build_parser, main, settings_from
from tests.fixtures import mockline_serve, serving

SPEC = Path(__file__).resolve().parents[1] / "fixtures" / "specs" / "third_party" / "pet-clinic.yaml"
KEY = {"X-Clinic-Key": "any-key-will-do"}


def serve_settings(*extra: str) -> Any:
    # only loopback targets: verify generates callback URLs, and tests send traffic nowhere else
    args = build_parser().parse_args(
        ["serve", "--spec", str(SPEC), "--seed", "3", "--callback-allow", "127.0.0.1", *extra]
    )
    return settings_from(args)


def receiver(seen: list[dict[str, Any]]) -> Starlette:
    async def hook(request: Request) -> Response:
        seen.append({"headers": dict(request.headers), "body": await request.json()})
        return Response(status_code=204)

    return Starlette(routes=[Route("/hooks/clinic", hook, methods=["POST"])])


def test_a_third_party_spec_passes_verify_and_calls_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # verify proves that wrong credentials are refused, so the key is configured (by default a foreign
    # spec's mock takes any key: see the next tests)
    config = tmp_path / "mock.yaml"
    config.write_text("credentials:\n  pet-clinic:\n    api_keys: [k]\n")
    seen: list[dict[str, Any]] = []
    app = create_app(serve_settings("--config", str(config)))
    with serving(receiver(seen)) as hooks, serving(app) as mock:
        code = main(["verify", str(SPEC), "--base-url", mock, "--header", "X-Clinic-Key: k", "--seed", "1"])
        out = capsys.readouterr().out
        assert code == 0, out

        booking = {
            "petId": 7,
            "vet": "dr-olsen",
            "startsAt": "2026-12-01T09:30:00Z",
            "callbackUrl": f"{hooks}/hooks/clinic",
        }
        booked = httpx.post(f"{mock}/appointments", json=booking, headers={"X-Clinic-Key": "k"})
        assert booked.status_code == 201 and booked.json()["status"] == "requested"
        deadline = time.monotonic() + 15  # a bound, not a measurement: the clock runs in real time
        while not seen and time.monotonic() < deadline:
            time.sleep(0.05)
        deliveries = httpx.get(f"{mock}/__admin/deliveries").json()["deliveries"]

    assert len(seen) == 1, deliveries
    document = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    event = document["components"]["schemas"]["ConfirmationEvent"]
    jsonschema.validate(seen[0]["body"], event, format_checker=jsonschema.FormatChecker())
    ours = [d for d in deliveries if d["url"] == booking["callbackUrl"]]
    assert [(d["operationId"], d["state"], len(d["attempts"])) for d in ours] == [
        ("appointmentConfirmed", "delivered", 1)
    ]
    assert ours[0]["retry"]["attempts"] == 3  # the callback's x-retry


def test_foreign_errors_are_problem_details_and_any_key_is_accepted() -> None:
    app = create_app(serve_settings("--clock", "manual"))
    with serving(app) as mock:
        missing = httpx.get(f"{mock}/appointments")
        wrong = httpx.get(f"{mock}/appointments", params={"limit": "500"}, headers=KEY)
        bad_body = httpx.post(f"{mock}/appointments", json={"petId": "seven"}, headers=KEY)
        listed = httpx.get(f"{mock}/appointments", headers=KEY)
        preferred = httpx.get(f"{mock}/appointments/9", headers={**KEY, "Prefer": "code=404"})
        no_url = httpx.post(
            f"{mock}/appointments",
            json={"petId": 1, "vet": "dr-x", "startsAt": "2026-12-01T09:30:00Z"},
            headers=KEY,
        )
        deliveries = httpx.get(f"{mock}/__admin/deliveries").json()["deliveries"]
        ours = httpx.get(f"{mock}/ryng/rest-api/v1/progressive/queue/1/transactional")
    assert missing.status_code == 401
    assert missing.headers["content-type"] == "application/problem+json"
    assert "X-Clinic-Key" in missing.json()["detail"]
    assert (
        wrong.status_code == 400
        and wrong.json()["detail"] == "query parameter limit must be at most 100, not 500"
    )
    assert bad_body.status_code == 400 and bad_body.json()["status"] == 400
    assert "body.petId" in bad_body.json()["detail"] or "petId" in bad_body.json()["detail"]
    assert listed.status_code == 200 and listed.json()["items"][0]["id"] == 1001  # the spec's example
    assert preferred.status_code == 404 and preferred.json()["title"] == "Not Found"
    assert no_url.status_code == 201 and deliveries == []  # no URL given: nothing to call back
    assert ours.status_code == 404  # with --spec alone, our own APIs are not served


def test_configured_credentials_are_checked_for_a_foreign_spec(tmp_path: Path) -> None:
    config = tmp_path / "mock.yaml"
    config.write_text("credentials:\n  pet-clinic:\n    api_keys: [s3cret]\n")
    app = create_app(serve_settings("--clock", "manual", "--config", str(config)))
    with serving(app) as mock:
        refused = httpx.get(f"{mock}/appointments", headers=KEY)
        taken = httpx.get(f"{mock}/appointments", headers={"X-Clinic-Key": "s3cret"})
    assert (refused.status_code, taken.status_code) == (401, 200)


def test_the_serve_command_serves_a_spec_and_refuses_a_bad_one(tmp_path: Path) -> None:
    import subprocess
    import sys

    command = [sys.executable, "-m", "mockserver.cli", "serve", "--clock", "manual"]
    bad = tmp_path / "swagger.yaml"
    bad.write_text("swagger: '2.0'\ninfo: {title: t, version: '1'}\npaths: {}\n", encoding="utf-8")
    refused = subprocess.run([*command, "--spec", str(bad)], capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2
    assert "mockline serves OpenAPI 3.0 documents; this one is Swagger 2.0" in refused.stderr

    args = ("--clock", "manual", "--spec", f"{SPEC}=/clinic")
    with mockline_serve(*args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as server:
        stdout = server.process.stdout
        assert stdout is not None
        banner = [stdout.readline() for _ in range(3)]  # the address, then one line per API
        (line,) = [line for line in banner if "pet-clinic" in line]
        assert f"{server.base}/clinic " in line and "auth: any X-Clinic-Key header" in line, banner
        answer = httpx.get(f"{server.base}/clinic/appointments/3", headers=KEY)
        assert answer.status_code == 200 and set(answer.json()) >= {
            "id",
            "petId",
            "vet",
            "startsAt",
            "status",
        }


FIXTURES = SPEC.parents[1]


@pytest.mark.parametrize(
    ("name", "operations"),
    [
        ("audit-recursive.yaml", ["getTree", "getChain"]),  # a tree of itself: did not start
        ("audit-bounds.yaml", ["numbers", "regex"]),  # a bound below 1: a 500; patterns: any word
        ("audit-composition.yaml", ["listPets", "getLabels", "getShape"]),  # minProperties: {}
    ],
)
def test_generated_answers_of_real_world_schemas_pass_verify(
    name: str, operations: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    spec = FIXTURES / name
    app = create_app(
        settings_from(build_parser().parse_args(["serve", "--spec", str(spec), "--clock", "manual"]))
    )
    chosen = [arg for op in operations for arg in ("--operation", op)]
    with serving(app) as mock:
        code = main(
            ["verify", str(spec), "--base-url", mock, "--seed", "4", "--phases", "examples,fuzzing", *chosen]
        )
    out = capsys.readouterr().out
    assert code == 0, out
