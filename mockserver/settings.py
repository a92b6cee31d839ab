"""Every default of the mock, once. The CLI and the config file only override what they are given."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

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
    token_lifetime_seconds: int = 3600

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
            token_lifetime_seconds=int(data.get("token_lifetime_seconds", base.token_lifetime_seconds)),
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
    state: str = "memory"  # memory | sqlite:PATH
    rate_limit: bool = True
    log_format: str = "text"  # text | json
    quiet: bool = False  # no access log
    dynamic_responses: bool = False
    journal_size: int = 10_000
    callback_timeout_seconds: float = 10.0
    credentials: Mapping[str, Credentials] = field(default_factory=dict)
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


class ConfigError(ValueError):
    """The config file cannot be read or says something the mock does not understand."""


def load_config(path: str | Path) -> Settings:
    """Settings from a YAML or JSON config file: top-level option names, plus ``credentials``."""
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
        data = json.loads(text) if source.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read config file {source}: {exc}") from exc
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"config file {source} must hold a mapping at its top level")
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
    return Settings(credentials=credentials, config=dict(data), **options)
