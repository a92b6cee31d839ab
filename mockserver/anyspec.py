"""Any OpenAPI 3.0 document served beside (or instead of) ours: ``mockline serve --spec PATH[=PREFIX]``.

A foreign spec goes through the same machinery as ours (routing, validation, ``Prefer``, examples or
generated data, the outbox); what ours say in ``x-mockline`` gets a default here instead:

- its name is the file's stem (``pet-clinic.yaml`` -> ``pet-clinic``), its prefix the one given after
  ``=`` or none (the API answers at the root, as Prism serves it);
- its errors are RFC 9457 problem details (``ErrorShape.problem_details``), with no rate limit and no
  engine: every operation answers from the spec;
- credentials: any well-formed ones of the declared scheme, unless the config file names the API under
  ``credentials``;
- an operation that declares ``callbacks`` sends each of them after a successful answer, on the mock
  clock, to the URL its runtime expression gives, with a payload from the callback's example or generated
  from its schema; retried by the callback's ``x-retry`` when it has one, else tried once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from openapi_spec_validator import OpenAPIV30SpecValidator

from contracts import model
from contracts.model import SpecNotFound, UnresolvableRef, load_spec, spec_names, spec_path
from mockserver.core.outbox import Outgoing, RetryRule
from mockserver.errors import MocklineError
from mockserver.exchange import Call, Reply
from mockserver.generate import generate
from mockserver.operations import Api, CallbackSpec, Operation
from mockserver.registry import Registry
from mockserver.responses import spec_reply
from mockserver.runtime import Runtime
from mockserver.settings import Credentials, Settings


class SpecError(MocklineError, ValueError):
    """A ``--spec`` entry cannot be served: the file is missing, is not OpenAPI 3.0, or its name or prefix
    clashes with an API already served."""


@dataclass(frozen=True)
class ForeignSpec:
    name: str
    path: Path
    prefix: str
    document: dict[str, Any]


def parse_entry(entry: str) -> tuple[Path, str | None]:
    """``PATH`` or ``PATH=PREFIX``; the prefix starts with ``/`` (one is added when missing)."""
    path, sep, prefix = entry.partition("=")
    if not path:
        raise SpecError(f"--spec {entry!r}: give a path to an OpenAPI file, optionally =PREFIX")
    if not sep:
        return Path(path), None
    prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
    if not re.fullmatch(r"(/[A-Za-z0-9._~-]+)*", prefix):
        raise SpecError(f"--spec {entry!r}: the prefix must be a path such as /petclinic")
    return Path(path), prefix


def load_foreign(entries: tuple[str, ...], taken_prefixes: Mapping[str, str]) -> list[ForeignSpec]:
    """Each ``--spec`` entry loaded and checked: OpenAPI 3.0, a name and a prefix no other API has."""
    out: list[ForeignSpec] = []
    names = set(spec_names())
    prefixes = dict(taken_prefixes)  # prefix -> API name
    for entry in entries:
        path, prefix = parse_entry(entry)
        try:
            document = load_spec(spec_path(path))
        except (SpecNotFound, OSError, ValueError) as exc:
            raise SpecError(f"--spec {entry!r}: {exc}") from None
        version = str(document.get("openapi", ""))
        if not version.startswith("3.0"):
            found = version or (
                "Swagger " + str(document["swagger"]) if "swagger" in document else "no version"
            )
            raise SpecError(f"--spec {entry!r}: mockline serves OpenAPI 3.0 documents; this one is {found}")
        problems = _invalid(document)
        if problems:
            raise SpecError(f"--spec {entry!r} is not a valid OpenAPI 3.0 document: " + "; ".join(problems))
        name = re.sub(r"[^A-Za-z0-9_-]+", "-", path.stem).strip("-") or "api"
        if name in names:
            raise SpecError(
                f"--spec {entry!r}: an API named {name!r} is served already; rename the file"
                + (" (the name is one of mockline's own specs)" if name in spec_names() else "")
            )
        prefix = "" if prefix is None else prefix
        if prefix in prefixes:
            raise SpecError(
                f"--spec {entry!r}: the prefix {prefix or '/'!r} is {prefixes[prefix]}'s; give another as PATH=PREFIX"
            )
        names.add(name)
        prefixes[prefix] = name
        out.append(ForeignSpec(name, path, prefix, document))
    return out


def _invalid(document: Mapping[str, Any]) -> list[str]:
    """What makes the document invalid (the first five findings, each with where it is), and any ``$ref``
    that points at nothing.

    A ``pattern`` is an ECMA-262 regular expression (OpenAPI 3.0 says so): each is read as the request
    validator reads it, and named where it is written. The spec validator reads them with Python's ``re``,
    which refuses ECMA's ``(?<name>...)`` and ``\\p{L}`` and takes Python's own ``(?P<name>...)``, so what it
    says of a pattern is left out."""
    try:
        model.resolve(document)
    except UnresolvableRef as exc:
        return [str(exc)]
    found = model.not_ecma_patterns(document)[:5]
    for error in OpenAPIV30SpecValidator(document).iter_errors():
        if len(found) == 5:
            break
        if model.is_regex_complaint(error):
            continue
        where = model.pointer_to(error.absolute_path) or "/"
        found.append(f"{where}: {error.message.splitlines()[0][:200]}")
    return found


def with_open_credentials(settings: Settings, foreign: list[ForeignSpec]) -> Settings:
    """A foreign API with no credentials configured accepts any well-formed ones of its schemes."""
    known = {*spec_names(), *(spec.name for spec in foreign)}
    strangers = sorted(set(settings.credentials) - known)
    if strangers:
        raise SpecError(
            f"the config file gives credentials for {', '.join(strangers)}: no API of that name; use one of"
            f" {', '.join(sorted(known))}"
        )
    missing = {
        spec.name: Credentials(accept_any=True) for spec in foreign if spec.name not in settings.credentials
    }
    if not missing:
        return settings
    return replace(settings, credentials={**settings.credentials, **missing})


def register_callbacks(registry: Registry, api: Api) -> None:
    """Every operation of a foreign API that declares callbacks answers from its spec, then sends them."""
    for operation in api.operations.values():
        if operation.callback_specs and registry.get(api.name, operation.operation_id) is None:
            registry.add(api.name, operation.operation_id, answer_and_call_back)


def answer_and_call_back(call: Call, runtime: Runtime) -> Reply:
    reply = spec_reply(call, runtime)
    if 200 <= reply.status < 300:
        for callback in call.operation.callback_specs:
            _send(call, runtime, callback)
    return reply


def _send(call: Call, runtime: Runtime, callback: CallbackSpec) -> None:
    url = callback.url_of(call.body, call.query, call.headers)
    if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
        return  # the request named no URL for it (an optional field left out): nothing to call
    definition = _callback_operation(call.operation, callback)
    payload = _payload(callback, definition, runtime, call.api)
    rule = RetryRule.from_spec(callback.retry)  # the model's: x-retry, else the callback's 2xx answers
    runtime.outbox.enqueue(
        api=call.api,
        callback=callback.name,
        outgoing=Outgoing(
            callback.method, url, payload if isinstance(payload, Mapping) else {}, callback.encoding
        ),
        retry=rule,
        meta={"operationId": callback.operation_id, "trigger": call.operation_id},
    )


def _callback_operation(operation: Operation, callback: CallbackSpec) -> Mapping[str, Any]:
    for declared in operation.callbacks:
        if (declared.name, declared.expression, declared.method) == (
            callback.name,
            callback.expression,
            callback.method,
        ):
            return declared.operation.definition
    return {}


def _payload(callback: CallbackSpec, definition: Mapping[str, Any], runtime: Runtime, api: str) -> Any:
    content = (definition.get("requestBody") or {}).get("content", {})
    for media in content.values():
        if "example" in media:
            return media["example"]
        for example in (media.get("examples") or {}).values():
            if isinstance(example, Mapping) and "value" in example:
                return example["value"]
    if callback.schema is None:
        return {}
    fakes = runtime.fakes_for(api, callback.name)
    return generate(callback.schema.source, fakes, runtime.clock.now(), document=runtime.apis[api].document)
