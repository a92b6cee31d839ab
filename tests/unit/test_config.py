"""The config file has a schema: it is documented from it, checked against it at start, and kept in step
with the settings and the ``serve`` flags."""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import fields
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from mockserver.app import create_app
from mockserver.cli import banner, build_parser, main
from mockserver.config_doc import render
from mockserver.settings import ConfigError, Settings, config_schema, load_config

ROOT = Path(__file__).resolve().parents[2]
NOT_IN_THE_FILE = {"credentials", "config"}  # Settings fields that hold sections, not options


def _sections() -> dict[str, Any]:
    return {k: v for k, v in config_schema()["properties"].items() if "examples" in v}


def _options() -> dict[str, Any]:
    return {k: v for k, v in config_schema()["properties"].items() if "examples" not in v}


def test_the_committed_configuration_doc_is_the_one_the_schema_generates() -> None:
    committed = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert committed == render(), "run: python -m mockserver.config_doc docs/configuration.md"


def test_the_doc_check_fails_on_a_stale_copy(tmp_path: Path) -> None:
    from mockserver.config_doc import main as doc_main

    stale = tmp_path / "configuration.md"
    stale.write_text(render().replace("Seeded contacts.", "Contacts."), encoding="utf-8")
    assert doc_main([str(stale), "--check"]) == 1
    assert doc_main([str(stale)]) == 0 and doc_main([str(stale), "--check"]) == 0


def _examples_shown(doc: str) -> dict[str, list[Any]]:
    """The yaml examples the doc shows under each section heading, read back as data."""
    shown: dict[str, list[Any]] = {}
    for part in doc.split("\n## `")[1:]:
        name, _, body = part.partition("`\n")
        blocks = re.findall(r"^Example:\n\n```yaml\n(.*?)\n```$", body, flags=re.MULTILINE | re.DOTALL)
        shown[name] = [yaml.safe_load(block) for block in blocks]
    return shown


def test_every_section_has_an_example_and_the_doc_shows_it() -> None:
    shown = _examples_shown(render())
    wanted = {"credentials", "chaos", "faults", "ryng", "diyalog", "ringotel-crm", "ringme"}
    assert wanted <= set(_sections())
    for name, section in _sections().items():
        assert section["examples"], name
        assert shown.get(name) == [{name: example} for example in section["examples"]], name
    credentials = _sections()["credentials"]["examples"][0]
    assert set(credentials) == {"ryng", "diyalog", "ringotel-crm", "ringme"}, "an example for each API"


def test_settings_fields_and_serve_flags_are_all_in_the_schema() -> None:
    """A new option is a Settings field, a schema property and (perhaps) a flag: this names the one missed."""
    settings = {f.name for f in fields(Settings)} - NOT_IN_THE_FILE
    assert sorted(settings - set(_options())) == [], "Settings fields the config schema does not list"
    assert sorted(set(_options()) - settings) == [], "schema options no Settings field takes"
    serve = next(
        a.choices["serve"] for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)
    )
    dests = {a.dest for a in serve._actions if a.option_strings} - {"help", "config"}
    assert sorted(dests - set(_options())) == [], "serve flags the config file cannot set"


def _write(tmp_path: Path, data: Any, name: str = "mockline.yaml") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data) if name.endswith(".json") else yaml.safe_dump(data), encoding="utf-8")
    return path


def test_a_file_made_of_every_example_is_accepted_and_takes_effect(tmp_path: Path) -> None:
    data = {name: section["examples"][0] for name, section in _sections().items()}
    data.update({"clock": "manual", "time-scale": 2, "seed": 9, "rate_limit": False})
    settings = load_config(_write(tmp_path, data))
    assert (settings.clock, settings.time_scale, settings.seed, settings.rate_limit) == (
        "manual",
        2,
        9,
        False,
    )
    assert settings.credentials_for("ryng").api_keys == ("s3cret-ryng-token",)
    assert settings.credentials_for("ringme").users == (("admin@pbx.example.com", "correct-horse"),)
    app = create_app(settings, http_client=httpx.AsyncClient())
    shown = banner(settings, app.runtime.apis, app.runtime)
    assert "ringme client 12: local agents 136 137; remote agents 212" in shown
    assert "ryng agents: asha.verma@example.com, rahul@example.com" in shown
    assert app.runtime.faults.for_operation("ryng", "pushTransactional") is not None
    app.runtime.faults.replace([])
    assert app.runtime.faults.for_operation("ryng", "pushTransactional") is None
    app.runtime.reset()  # back to the configured state, faults included
    assert [(r["api"], r["operationId"]) for r in app.runtime.faults.rules()] == [
        ("ryng", "pushTransactional"),
        ("ringme", "*"),
    ]


def test_the_default_banner_lists_the_seeded_ringme_client_and_agents() -> None:
    settings = Settings(clock="manual")
    app = create_app(settings, http_client=httpx.AsyncClient())
    shown = banner(settings, app.runtime.apis, app.runtime)
    assert "ringme client 12: local agents 136 137 138 139; remote agents 212 213 214" in shown
    assert "ryng agents: " in shown


BAD = [
    (
        {"credentials": {"ryng": {"token": "s3cret"}}},
        "credentials.ryng.token is not a known field (use one of api_keys)",
    ),
    ({"clock": "sometimes"}, "clock must be one of realtime, manual, not 'sometimes'"),
    ({"colck": "manual"}, "colck is not a known field (did you mean clock?)"),
    ({"port": "eighty"}, "port must be an integer, not 'eighty'"),
    ({"time_scale": 0}, "time_scale must be more than 0, not 0"),
    (
        {"state": "redis"},
        "state must match the pattern ^(memory|sqlite:.+|rediss?://.+|unix://.+)$, not 'redis'",
    ),
    (
        {"apis": ["ryng", "twilio"]},
        "apis[1] must be one of ryng, diyalog, ringotel-crm, ringme, not 'twilio'",
    ),
    ({"chaos": {"duplicate_rate": 2}}, "chaos.duplicate_rate must be at most 1, not 2"),
    ({"faults": [{"api": "ryng", "status": 200}]}, "faults[0].status must be at least 400, not 200"),
    ({"ryng": {"outcomes": {"answered": 1, "voicemail": 1}}}, "ryng.outcomes.voicemail is not a known field"),
    ({"ryng": {"agents": [{"number": "+911"}]}}, "ryng.agents[0].username is required"),
    ({"ringme": {"shifts": "sometimes"}}, "ringme.shifts must be seeded or a list, not 'sometimes'"),
    (
        {"ringme": {"clients": {"12": {"local_agents": [{"id": "x"}]}}}},
        "ringme.clients.12.local_agents[0].id",
    ),
    ({"diyalog": {"agents": -1}}, "diyalog.agents must be at least 0 or a list, not -1"),
]


@pytest.mark.parametrize(("data", "message"), BAD, ids=[m.split(" ")[0] for _, m in BAD])
def test_unknown_keys_and_bad_values_are_refused_naming_the_key_and_what_is_allowed(
    tmp_path: Path, data: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        load_config(_write(tmp_path, data))
    assert message in str(refused.value)


def test_json_config_files_are_checked_the_same_way(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="clock must be one of realtime, manual"):
        load_config(_write(tmp_path, {"clock": "sometimes"}, "mockline.json"))


def test_serve_stops_at_start_on_a_bad_config_with_the_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, {"credentials": {"ryng": {"token": "s3cret"}}})
    assert main(["serve", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "credentials.ryng.token is not a known field (use one of api_keys)" in err


BAD_FLAGS = [
    (["--port", "70000"], "--port must be at most 65535, not 70000"),
    (["--port", "-1"], "--port must be at least 0, not -1"),
    (["--time-scale", "0"], "--time-scale must be more than 0, not 0.0"),
    (["--time-scale", "-1"], "--time-scale must be more than 0, not -1.0"),
    (["--time-scale", "nan"], "--time-scale must be a finite number, not nan"),
    (["--time-scale", "inf"], "--time-scale must be a finite number, not inf"),
    (["--workers", "0"], "--workers must be at least 1, not 0"),
    (["--workers", "65", "--state", "redis://127.0.0.1:1/0"], "--workers must be at most 64, not 65"),
    (["--workers", "1000", "--state", "redis://127.0.0.1:1/0"], "--workers must be at most 64, not 1000"),
    # a namespace is part of every Redis key: one with a ':' could reach into another's keys
    (
        ["--namespace", "team:a", "--state", "redis://127.0.0.1:1/0"],
        "--namespace must match the pattern ^[A-Za-z0-9_.-]{1,64}$, not 'team:a'",
    ),
    (["--namespace", ""], "--namespace must match the pattern ^[A-Za-z0-9_.-]{1,64}$, not ''"),
]


@pytest.mark.parametrize(
    ("state", "said"),
    [
        ("foo://x", "--state takes 'memory', 'sqlite:PATH' or 'redis://HOST:PORT/DB', not 'foo://x'"),
        ("sqlite:", "--state takes 'memory', 'sqlite:PATH' or 'redis://HOST:PORT/DB', not 'sqlite:'"),
    ],
)
def test_a_state_that_is_none_of_the_kinds_names_every_kind(
    state: str, said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--clock", "manual", "--port", "0", "--state", state]) == 2
    assert capsys.readouterr().err == f"mockline: {said}\n"


@pytest.mark.parametrize(("argv", "message"), BAD_FLAGS, ids=[" ".join(a) for a, _ in BAD_FLAGS])
def test_serve_flags_are_held_to_the_rules_the_config_file_is(argv: list[str], message: str) -> None:
    from mockserver.cli import settings_from

    args = build_parser().parse_args(["serve", "--clock", "manual", *argv])
    with pytest.raises(ConfigError) as refused:
        settings_from(args)
    assert str(refused.value) == message


@pytest.mark.parametrize("value", [".inf", ".nan"])
def test_a_time_scale_that_is_not_finite_is_refused_in_the_file_too(tmp_path: Path, value: str) -> None:
    path = tmp_path / "mockline.yaml"
    path.write_text(f"time_scale: {value}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="time_scale must be a finite number"):
        load_config(path)


@pytest.mark.parametrize("argv", [["--time-scale", "inf"], ["--time-scale", "nan"], ["--port", "70000"]])
def test_serve_stops_with_one_line_on_a_bad_flag(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--clock", "realtime", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mockline: ") and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize("workers", ["65", "1000"])
def test_too_many_workers_with_redis_state_stop_serve_with_one_line_before_anything_starts(
    workers: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Port 1 has no Redis: the refusal comes before any connection, any bound port and any worker.
    import mockserver.app
    import mockserver.workers

    def started(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("serve went on to start workers or an app")

    monkeypatch.setattr(mockserver.workers, "supervise", started)
    monkeypatch.setattr(mockserver.workers, "bind_each", started)
    monkeypatch.setattr(mockserver.app, "create_app", started)
    argv = ["serve", "--state", "redis://127.0.0.1:1/0", "--workers", workers, "--port", "0"]
    assert main(argv) == 2
    assert capsys.readouterr().err == f"mockline: --workers must be at most 64, not {workers}\n"


def test_too_many_workers_in_the_config_file_are_refused_with_redis_state_too(tmp_path: Path) -> None:
    path = _write(tmp_path, {"state": "redis://127.0.0.1:1/0", "workers": 65})
    with pytest.raises(ConfigError, match="workers must be at most 64, not 65"):
        load_config(path)


BROKEN_YAML = [
    ("clock: manual\n  port: 8000\n", 2, 7, "mapping values are not allowed here"),
    (
        'clock: "manual\nport: 1\n',
        3,
        1,
        "found unexpected end of stream (while scanning a quoted scalar at line 1, column 8)",
    ),
    (
        "clock: manual\n\tport: 1\n",
        2,
        1,
        "found character '\\t' that cannot start any token (while scanning for the next token)",
    ),
    (
        "apis: [ryng\nseed: 1\n",
        2,
        5,
        "expected ',' or ']', but got ':' (while parsing a flow sequence at line 1, column 7)",
    ),
    ("seed: 1\nclock: manual\nb: *nope\n", 3, 4, "found undefined alias 'nope'"),
    ("seed: 1\nclock: \x01\n", 2, 8, "unacceptable character #x0001: special characters are not allowed"),
]


@pytest.mark.parametrize(
    ("text", "line", "column", "problem"), BROKEN_YAML, ids=[p.split(" ")[0] for *_, p in BROKEN_YAML]
)
def test_a_config_file_that_is_not_yaml_stops_serve_with_one_line_naming_the_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, line: int, column: int, problem: str
) -> None:
    path = tmp_path / "mockline.yaml"
    path.write_text(text, encoding="utf-8")
    assert main(["serve", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert err == f"mockline: cannot read config file {path}: line {line}, column {column}: {problem}\n"


def test_a_config_file_that_is_not_json_is_worded_the_same_way(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "mockline.json"
    path.write_text('{"clock": "manual",\n "seed": }', encoding="utf-8")
    assert main(["serve", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert err == f"mockline: cannot read config file {path}: line 2, column 10: Expecting value\n"


def test_a_sqlite_state_that_cannot_be_opened_stops_the_mock_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    not_a_db = tmp_path / "notes.txt"
    not_a_db.write_text("not a database, " * 100, encoding="utf-8")
    for state in (f"sqlite:{tmp_path}", f"sqlite:{not_a_db}", f"sqlite:{tmp_path}/missing/dir/state.db"):
        assert main(["serve", "--state", state]) == 2, state
        err = capsys.readouterr().err
        assert err.startswith(f"mockline: --state {state}: ") and err.count("\n") == 1, err
