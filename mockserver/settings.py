"""Every default of the mock, once. The CLI and the config file only override what they are given."""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from mockserver.errors import MocklineError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_SEED = 1
DEFAULT_SECRET = "mockline"


@dataclass(frozen=True)
class Credentials:
    """What one API accepts. Every default is ``mockline``."""

    api_keys: tuple[str, ...] = (DEFAULT_SECRET,)
    basic: tuple[tuple[str, str], ...] = ((DEFAULT_SECRET, DEFAULT_SECRET),)
    bearer: tuple[str, ...] = (DEFAULT_SECRET,)
    clients: tuple[tuple[str, str], ...] = ((DEFAULT_SECRET, DEFAULT_SECRET),)
    users: tuple[tuple[str, str], ...] = ((DEFAULT_SECRET, DEFAULT_SECRET),)
    token_lifetime_seconds: int | None = None  # None: the spec's x-mockline.tokens.access
    accept_any: bool = False  # a spec served with --spec and no credentials configured: any well-formed ones

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Credentials:
        def pairs(items: Any) -> tuple[tuple[str, str], ...]:
            out = []
            for item in items:
                if isinstance(item, str):
                    user, _, secret = item.partition(":")
                    out.append((user, secret))
                else:
                    out.append((str(item[0]), str(item[1])))
            return tuple(out)

        base = cls()
        return cls(
            api_keys=tuple(data.get("api_keys", base.api_keys)),
            basic=pairs(data["basic"]) if "basic" in data else base.basic,
            bearer=tuple(data.get("bearer", base.bearer)),
            clients=pairs(data["clients"]) if "clients" in data else base.clients,
            users=pairs(data["users"]) if "users" in data else base.users,
            token_lifetime_seconds=(
                int(data["token_lifetime_seconds"]) if "token_lifetime_seconds" in data else None
            ),
        )


DEFAULT_CREDENTIALS = Credentials()


@dataclass(frozen=True)
class Settings:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    seed: int = DEFAULT_SEED
    apis: tuple[str, ...] = ()  # empty: every API
    clock: str = "realtime"  # realtime | manual
    time_scale: float = 1.0
    state: str = "memory"  # memory | sqlite:PATH | redis://HOST:PORT/DB
    namespace: str = "mockline"  # with redis:// state: the processes that share one mock (docs/scale-out.md)
    workers: int = 1  # worker processes on one port (more than 1 needs redis:// state)
    rate_limit: bool = True
    log_format: str = "text"  # text | json
    quiet: bool = False  # no access log
    dynamic_responses: bool = False
    journal_size: int = 10_000
    callback_timeout_seconds: float = 10.0
    callback_allow: tuple[str, ...] = ()  # empty: any host but the mock itself (see docs/callbacks.md)
    admin_token: str | None = (
        None  # required as Authorization: Bearer on /__admin when set (docs/exposure.md)
    )
    max_header_bytes: int = 64 * 1024  # request line and headers; more is answered 431 (docs/limits.md)
    header_timeout_seconds: float = 10.0  # from the first byte (or the connection) to the end of the headers
    body_timeout_seconds: float = 30.0  # from the end of the headers to the end of the body: 408
    idle_timeout_seconds: float = 5.0  # a kept-alive connection with no new request is closed
    send_timeout_seconds: float = 30.0  # a client that stops reading its answer is disconnected
    credentials: Mapping[str, Credentials] = field(default_factory=dict)
    specs: tuple[str, ...] = ()  # --spec PATH[=PREFIX]: any OpenAPI 3.0 document (docs/serving-any-spec.md)
    config: Mapping[str, Any] = field(default_factory=dict)  # the whole config file, for the engines

    def credentials_for(self, api: str) -> Credentials:
        return self.credentials.get(api) or DEFAULT_CREDENTIALS

    def section(self, name: str) -> Mapping[str, Any]:
        value = self.config.get(name, {})
        return value if isinstance(value, Mapping) else {}

    def merged(self, **overrides: Any) -> Settings:
        """These settings with the overrides that were really given (``None`` means not given)."""
        known = {f.name for f in fields(self)}
        given = {k: v for k, v in overrides.items() if v is not None and k in known}
        return replace(self, **given)


class ConfigError(MocklineError, ValueError):
    """The config file cannot be read or says something the mock does not understand."""


CONFIG_SCHEMA = Path(__file__).with_name("config.schema.json")
"""The config file's JSON Schema: every key the file may hold, what it allows, and its documentation
(``docs/configuration.md`` is generated from it). A key added here is accepted in the file; a top-level
key that is also a ``Settings`` field becomes that setting, any other is a section the engines read with
``Settings.section``."""


@functools.cache
def config_schema() -> Mapping[str, Any]:
    schema: dict[str, Any] = json.loads(CONFIG_SCHEMA.read_text(encoding="utf-8"))
    return schema


def config_problems(data: Any) -> list[str]:
    """What is wrong with a config file's content, each naming the key and what is allowed."""
    import jsonschema

    from contracts.model import resolve
    from mockserver.messages import field_path, word
    from mockserver.schemas import Problem, failure_of_python_error

    schema = resolve(config_schema())
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    found: list[str] = []
    for error in validator.iter_errors(data):
        for worded in word(failure_of_python_error(error), schema, schema):
            where = "" if worded.whole else field_path(worded.path)
            text = str(Problem(where, worded.text)) if where else f"the file {worded.text}"
            if text not in found:
                found.append(text)
    if isinstance(data, Mapping):
        # JSON Schema lets NaN and infinity through a number's bounds (YAML writes them .nan and .inf)
        options = config_schema().get("properties", {})
        for key, value in data.items():
            finite = not isinstance(value, float) or math.isfinite(value)
            if not finite and options.get(key, {}).get("type") == "number":
                found.append(f"{key} must be a finite number, not {value}")
    return sorted(found)


CHECKED_FLAGS = ("port", "time_scale", "workers", "namespace")
"""``serve`` flags argparse only parses: held here to the config file's rules for the same option."""


def flag_problems(given: Mapping[str, Any]) -> list[str]:
    """What is wrong with the ``serve`` flags given (option name -> value), each naming the flag."""
    found: list[str] = []
    for name in CHECKED_FLAGS:
        if given.get(name) is None:
            continue
        flag = "--" + name.replace("_", "-")
        for text in config_problems({name: given[name]}):
            found.append(flag + text[len(name) :] if text.startswith(name + " ") else f"{flag}: {text}")
    return found


def _spelled_as_schema(data: Mapping[str, Any]) -> dict[str, Any]:
    """Top-level options may be spelt as the flags are (``time-scale``) or with underscores."""
    known = config_schema().get("properties", {})
    out: dict[str, Any] = {}
    for key, value in data.items():
        snake = str(key).replace("-", "_")
        out[snake if snake in known and key not in known else key] = value
    return out


def _yaml_problem(exc: yaml.YAMLError, text: str) -> str:
    """PyYAML's error on one line: where (line, column, counted from 1), the problem, and what the parser
    was reading when it met it (PyYAML's own message spans several lines and quotes the text)."""
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None and exc.problem:
        mark = exc.problem_mark
        said = f"line {mark.line + 1}, column {mark.column + 1}: {exc.problem}"
        if exc.context:
            start = exc.context_mark
            at = f" at line {start.line + 1}, column {start.column + 1}" if start is not None else ""
            said += f" ({exc.context}{at})"
    elif isinstance(exc, yaml.reader.ReaderError):  # a character YAML does not allow, by its offset
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        said = f"line {line}, column {column}: {str(exc).splitlines()[0]}"
    else:
        said = str(exc)
    return " ".join(said.split())


def load_config(path: str | Path) -> Settings:
    """Settings from a YAML or JSON config file, checked against ``config.schema.json`` first."""
    source = Path(path)
    text = ""
    try:
        text = source.read_text(encoding="utf-8")
        data = json.loads(text) if source.suffix == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"cannot read config file {source}: line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"cannot read config file {source}: {_yaml_problem(exc, text)}") from exc
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read config file {source}: {exc}") from exc
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"config file {source} must hold a mapping at its top level")
    data = _spelled_as_schema(data)
    problems = config_problems(data)
    if problems:
        raise ConfigError(f"config file {source}: " + "; ".join(problems))
    credentials = {
        api: Credentials.from_mapping(value or {}) for api, value in (data.get("credentials") or {}).items()
    }
    options: dict[str, Any] = {}
    for f in fields(Settings):
        key = f.name.replace("_", "-")
        if f.name in {"credentials", "config"}:
            continue
        if f.name in data or key in data:
            options[f.name] = data.get(f.name, data.get(key))
    if "apis" in options:
        options["apis"] = tuple(options["apis"])
    if "specs" in options:
        options["specs"] = tuple(options["specs"])
    if "callback_allow" in options:
        allow = options["callback_allow"]
        allow = [allow] if isinstance(allow, str) else allow or []
        if not isinstance(allow, list) or not all(isinstance(entry, str) for entry in allow):
            raise ConfigError(
                f"config file {source}: callback-allow must be a host, an address or a CIDR, or a list of them"
            )
        options["callback_allow"] = tuple(allow)
    return Settings(credentials=credentials, config=dict(data), **options)
