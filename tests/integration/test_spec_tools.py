"""The specs in the third-party tools users feed them to: Redocly, Spectral, openapi-spec-validator,
openapi-python-client and Prism.

Every shipped spec, unchanged, must pass each tool; each check is also run on a copy carrying a defect
the specs once had (tests/fixtures/specs/), and must fail there. The Node tools are the versions pinned
in tools/package.json (`make node-tools`); they run with telemetry and update checks off.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from openapi_spec_validator import validate

from contracts.loaders import load_spec, spec_names, spec_path
from tests.fixtures import free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / "tools" / "node_modules" / ".bin"
FIXTURES = ROOT / "tests" / "fixtures" / "specs"
METHODS = ("get", "put", "post", "delete", "patch")
QUIET_ENV = {
    "REDOCLY_TELEMETRY": "off",
    "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true",
    "DO_NOT_TRACK": "1",
    "NO_UPDATE_NOTIFIER": "1",
    "npm_config_update_notifier": "false",
    "NODE_NO_WARNINGS": "1",
}

pytestmark = pytest.mark.slow


def _tool(name: str) -> str:
    path = BIN / name
    if not path.is_file():
        pytest.fail(f"{path} is missing: run `make node-tools` (tools/package.json pins it)")
    return str(path)


def _env() -> dict[str, str]:
    return {**os.environ, **QUIET_ENV}


# --- the checks: each returns the problems it found, [] when the spec passes ---------------------------


def redocly_errors(spec: Path) -> list[str]:
    """Errors of Redocly's recommended rules, under the checked-in redocly.yaml."""
    run = subprocess.run(
        [_tool("redocly"), "lint", "--format=json", "--config", str(ROOT / "redocly.yaml"), str(spec)],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=ROOT,
        timeout=120,
    )
    report = json.loads(run.stdout[run.stdout.index("{") :])
    return [
        f"{p['ruleId']} at {p['location'][0].get('pointer')}: {p['message']}"
        for p in report["problems"]
        if p["severity"] == "error"
    ]


def spectral_errors_each(specs: Sequence[Path]) -> dict[Path, list[str]]:
    """Errors of Spectral's spectral:oas ruleset, under the checked-in .spectral.yaml, for each spec, from
    one run of Spectral over all of them (its start-up is most of a run's time); each problem is filed
    under the file Spectral says it is in."""
    run = subprocess.run(
        [_tool("spectral"), "lint", "-f", "json", "-q", "-r", str(ROOT / ".spectral.yaml"), *map(str, specs)],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=ROOT,
        timeout=120,
    )
    out = run.stdout.strip()
    problems = json.loads(out[out.index("[") :]) if "[" in out else []
    assert problems or run.returncode == 0, run.stderr
    found: dict[Path, list[str]] = {spec.resolve(): [] for spec in specs}
    for p in problems:
        if p["severity"] == 0:
            source = (ROOT / p["source"]).resolve()
            found.setdefault(source, []).append(
                f"{p['code']} at {'.'.join(map(str, p['path']))}: {p['message']}"
            )
    assert set(found) == {spec.resolve() for spec in specs}, f"errors in another file: {sorted(found)}"
    return found


def generated_client(spec: Path, out: Path) -> tuple[Any, list[str]]:
    """Generate a client with openapi-python-client; the imported package, or None and the errors."""
    config = out / "config.yaml"
    config.write_text("post_hooks: []\n", encoding="utf-8")
    package = f"client_{spec.stem.replace('-', '_')}"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            str(spec),
            "--meta",
            "none",
            "--output-path",
            str(out / package),
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        cwd=out,
        timeout=300,
    )
    if not (out / package / "__init__.py").is_file():
        return None, [line for line in run.stdout.splitlines() if line.strip()][:12] or [run.stderr]
    sys.path.insert(0, str(out))
    try:
        importlib.invalidate_caches()
        module = importlib.import_module(package)
        importlib.import_module(f"{package}.models")
    finally:
        sys.path.remove(str(out))
    return module, []


def _deref(document: Mapping[str, Any], node: Any) -> Any:
    """``node`` with its own top-level ``$ref`` followed (one level: the refs inside stay, since the checks
    below read schema names from them)."""
    while isinstance(node, Mapping) and isinstance(node.get("$ref"), str):
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def _fields(document: Mapping[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
    """A schema's own properties, with those of the objects its allOf merges in."""
    schema = _deref(document, schema)
    props: dict[str, Any] = {}
    for part in schema.get("allOf") or []:
        props.update(_fields(document, part))
    props.update(schema.get("properties") or {})
    return props


def _expected_type(document: Mapping[str, Any], schema: Any) -> list[str]:
    """What a property's Python annotation must mention: its primitive type(s), or [] for a model or an
    enum (anything but Any)."""
    schema = _deref(document, schema)
    if len(schema.get("allOf") or []) == 1:
        return _expected_type(document, schema["allOf"][0])
    alternatives = schema.get("oneOf") or schema.get("anyOf")
    if alternatives:
        return [t for sub in alternatives for t in _expected_type(document, sub)]
    if "enum" in schema:
        return []
    kind = schema.get("type")
    fmt = schema.get("format")
    if kind == "string":
        return [{"binary": "File", "date-time": "datetime", "date": "date"}.get(fmt, "str")]
    if kind is None and "properties" not in schema:
        return ["Any"]  # the spec allows any value
    return {"integer": ["int"], "number": ["float"], "boolean": ["bool"], "array": ["list["]}.get(kind, [])


def _python_name(name: str) -> str:
    from openapi_python_client.strings import PythonIdentifier

    return str(PythonIdentifier(name, prefix="field"))


def model_problems(package: Any, document: Mapping[str, Any]) -> list[str]:
    """Each object schema of components must be a model with every field, each typed as documented."""
    import attrs
    from openapi_python_client.strings import ClassName

    models = importlib.import_module(f"{package.__name__}.models")
    problems = []
    for name, schema in ((document.get("components") or {}).get("schemas") or {}).items():
        props = _fields(document, schema)
        if not props:
            continue
        # openapi-python-client names a model by its schema's title, when it has one.
        cls = getattr(models, str(ClassName(schema.get("title") or name, "")), None)
        if cls is None:
            problems.append(f"{name}: no model class")
            continue
        fields = {f.name: str(f.type) for f in attrs.fields(cls)}
        for prop, sub in props.items():
            annotation = fields.get(_python_name(prop))
            if annotation is None:
                problems.append(f"{name}.{prop}: missing from the model")
                continue
            expected = _expected_type(document, sub)
            if not expected and (annotation in {"Any", "Any | Unset"}):
                problems.append(f"{name}.{prop}: typed {annotation}, the spec gives a type")
            for word in expected:
                if word not in annotation:
                    problems.append(f"{name}.{prop}: typed {annotation}, expected {word}")
    return problems


def _json_request_bodies(document: Mapping[str, Any]) -> Iterator[tuple[str, str, Any]]:
    """(operationId, schema name, example) for each JSON request body given by a component schema."""
    for item in (document.get("paths") or {}).values():
        for method in METHODS:
            op = item.get(method)
            if not op:
                continue
            body = _deref(document, op.get("requestBody") or {})
            media = (body.get("content") or {}).get("application/json")
            if not media or "$ref" not in (media.get("schema") or {}):
                continue
            for example in (media.get("examples") or {}).values():
                example = _deref(document, example)
                yield op["operationId"], media["schema"]["$ref"].rsplit("/", 1)[-1], example["value"]


def body_problems(package: Any, document: Mapping[str, Any]) -> list[str]:
    """Build every documented JSON request body through the generated models; it must come back whole."""
    from openapi_python_client.strings import ClassName

    models = importlib.import_module(f"{package.__name__}.models")
    problems = []
    for op_id, schema, example in _json_request_bodies(document):
        cls = getattr(models, str(ClassName(schema, "")), None)
        if cls is None or not hasattr(cls, "from_dict"):
            problems.append(f"{op_id}: no model {schema} to build the body with")
            continue
        built = cls.from_dict(example).to_dict()
        if built != example:
            problems.append(f"{op_id}: {schema} built {built}, not the documented {example}")
    return problems


# --- Prism ---------------------------------------------------------------------------------------------


@contextlib.contextmanager
def prism(spec: Path) -> Iterator[str]:
    port = free_port()
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(
            [_tool("prism"), "mock", "-h", "127.0.0.1", "-p", str(port), str(spec)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=_env(),
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if process.poll() is not None:
                    log.seek(0)
                    pytest.fail(f"prism exited: {log.read()[-2000:]}")
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                    break
                time.sleep(0.2)
            else:
                pytest.fail("prism did not start listening within 60 s")
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(timeout=10)


def _sample(document: Mapping[str, Any], param: Mapping[str, Any]) -> str:
    if "example" in param:
        return str(param["example"])
    for example in (param.get("examples") or {}).values():
        return str(_deref(document, example)["value"])
    schema = _deref(document, param.get("schema") or {})
    for key in ("example", "default"):
        if key in schema:
            return str(schema[key])
    if schema.get("enum"):
        return str(schema["enum"][0])
    return "1" if schema.get("type") in {"integer", "number"} else "x"


def _credentials(document: Mapping[str, Any], op: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    headers: dict[str, str] = {}
    query: dict[str, str] = {}
    requirements = op.get("security", document.get("security") or [])
    schemes = (document.get("components") or {}).get("securitySchemes") or {}
    for name in requirements[0] if requirements else {}:
        scheme = schemes[name]
        if scheme["type"] == "apiKey":
            (headers if scheme["in"] == "header" else query)[scheme["name"]] = "prism"
        elif scheme.get("scheme") == "basic":
            headers["Authorization"] = "Basic cHJpc206cHJpc20="
        else:
            headers["Authorization"] = "Bearer prism"
    return headers, query


def _request(document: Mapping[str, Any], path: str, item: Mapping[str, Any], method: str) -> dict[str, Any]:
    op = item[method]
    headers, query = _credentials(document, op)
    params = [_deref(document, p) for p in [*item.get("parameters", []), *op.get("parameters", [])]]
    for param in params:
        if param["in"] == "path":
            path = path.replace("{" + param["name"] + "}", _sample(document, param))
        elif param.get("required") and param["in"] == "query":
            query[param["name"]] = _sample(document, param)
        elif param.get("required") and param["in"] == "header":
            headers[param["name"]] = _sample(document, param)
    request: dict[str, Any] = {"method": method.upper(), "url": path, "params": query, "headers": headers}
    body = _deref(document, op.get("requestBody") or {})
    content = body.get("content") or {}
    # JSON first: Prism 5 crashes (and stops answering) when it evaluates an operation's callbacks on a
    # multipart body, its own bug; Ryng's campaign uploads are checked through their JSON form.
    for media_type in sorted(content, key=lambda m: m != "application/json"):
        media = content[media_type]
        example = next(iter((media.get("examples") or {}).values()), None)
        value = _local_urls(_deref(document, example)["value"] if example else media.get("example"))
        if media_type == "application/json":
            request["json"] = value
        elif media_type == "application/x-www-form-urlencoded":
            request["data"] = value or {}
        elif media_type == "multipart/form-data":
            schema = _deref(document, media.get("schema") or {})
            files = {}
            data = {}
            for name, sub in (schema.get("properties") or {}).items():
                sub = _deref(document, sub)
                if sub.get("format") == "binary":
                    files[name] = (f"{name}.csv", b"number\n+15550100\n", "text/csv")
                elif name in (schema.get("required") or []) or (value and name in value):
                    data[name] = str((value or {}).get(name, _sample(document, {"schema": sub})))
            request["files"] = files
            request["data"] = data
        break
    return request


def _local_urls(value: Any) -> Any:
    """The example with every URL pointed at a closed port on 127.0.0.1: Prism fires the operation's
    callbacks at the addresses a request names, and a test sends traffic nowhere else."""
    if isinstance(value, dict):
        return {k: _local_urls(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_local_urls(v) for v in value]
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        return f"http://127.0.0.1:{_CLOSED_PORT}/callback"
    return value


_CLOSED_PORT = 9  # discard: nothing listens there on a test machine


def prism_problems(spec: Path) -> list[str]:
    """Every documented response example of every operation, asked of Prism with Prefer, comes back."""
    document = yaml.safe_load(spec.read_text(encoding="utf-8"))
    problems: list[str] = []
    with prism(spec) as base, httpx.Client(base_url=base, timeout=30) as client:
        for path, item in (document.get("paths") or {}).items():
            for method in METHODS:
                if method not in item:
                    continue
                op = item[method]
                for code, response in (op.get("responses") or {}).items():
                    response = _deref(document, response)
                    for media_type, media in (response.get("content") or {}).items():
                        for example_name, example in (media.get("examples") or {}).items():
                            request = _request(document, path, item, method)
                            request["headers"]["Prefer"] = f"code={code}, example={example_name}"
                            request["headers"]["Accept"] = media_type
                            where = f"{op['operationId']} {code} {example_name}"
                            try:
                                answer = client.request(**request)
                            except httpx.HTTPError as exc:
                                problems.append(f"{where}: no answer ({exc!r})")
                                continue
                            expected = _deref(document, example)["value"]
                            if answer.status_code != int(code):
                                problems.append(f"{where}: status {answer.status_code}: {answer.text[:200]}")
                            elif _body(answer) != expected:
                                problems.append(f"{where}: answered {answer.text[:200]}")
    return problems


def _body(answer: httpx.Response) -> Any:
    try:
        return answer.json()
    except ValueError:
        return answer.text


# --- the tests -----------------------------------------------------------------------------------------

SPECS = spec_names()


@pytest.mark.parametrize("name", SPECS)
def test_openapi_spec_validator_takes_every_spec_unchanged(name: str) -> None:
    validate(load_spec(name))


@pytest.mark.parametrize("name", SPECS)
def test_redocly_recommended_rules_find_no_error(name: str) -> None:
    assert redocly_errors(spec_path(name)) == []


@pytest.fixture(scope="module")
def exported_31(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each spec exported as OpenAPI 3.1 by ``mockline export``."""
    from mockserver.cli import main

    directory = tmp_path_factory.mktemp("export-31")
    exported = {}
    for name in SPECS:
        exported[name] = target = directory / f"{name}.yaml"
        assert main(["export", name, "--openapi", "3.1", "-o", str(target)]) == 0, name
    return exported


@pytest.fixture(scope="module")
def spectral_found(exported_31: dict[str, Path]) -> dict[Path, list[str]]:
    """Spectral's errors in every spec and in its 3.1 export, from one run of Spectral."""
    return spectral_errors_each([*(spec_path(name) for name in SPECS), *exported_31.values()])


@pytest.mark.parametrize("name", SPECS)
def test_spectral_oas_rules_find_no_error(name: str, spectral_found: dict[Path, list[str]]) -> None:
    assert spectral_found[spec_path(name).resolve()] == []


@pytest.mark.parametrize("name", SPECS)
def test_openapi_python_client_generates_models_with_every_field_and_builds_each_body(
    name: str, tmp_path: Path
) -> None:
    package, errors = generated_client(spec_path(name), tmp_path)
    assert errors == []
    assert hasattr(importlib.import_module(f"{package.__name__}.client"), "Client")
    document = load_spec(name)
    assert model_problems(package, document) == []
    assert body_problems(package, document) == []
    if name == "ryng":
        assert list(_json_request_bodies(document)), "the check must have bodies to build"


@pytest.mark.parametrize("name", SPECS)
def test_prism_answers_every_documented_example(name: str) -> None:
    assert prism_problems(spec_path(name)) == []


@pytest.mark.parametrize("name", SPECS)
def test_the_31_export_passes_redocly_and_spectral_too(
    name: str, exported_31: dict[str, Path], spectral_found: dict[Path, list[str]]
) -> None:
    target = exported_31[name]
    vendor_paths = ("no-path-trailing-slash",) if name == "ringme" else ()  # as redocly.yaml says
    assert [e for e in redocly_errors(target) if not e.startswith(vendor_paths)] == []
    assert spectral_found[target.resolve()] == []


# Each defect the specs once had, in a copy: the matching check must fail on it.


def test_redocly_config_switches_off_only_ringmes_trailing_slashes() -> None:
    config = yaml.safe_load((ROOT / "redocly.yaml").read_text(encoding="utf-8"))
    switched = {
        (api, rule)
        for api, entry in (config.get("apis") or {}).items()
        for rule, level in ((entry or {}).get("rules") or {}).items()
        if level in ("off", False)  # YAML 1.1 reads a bare off as false
    }
    assert switched == {("ringme", "no-path-trailing-slash")}
    assert not (config.get("rules") or {}), "no rule may be switched off for every spec"
    found = redocly_errors(FIXTURES / "trailing-slash.yaml")
    assert found and all(f.startswith("no-path-trailing-slash") for f in found)


def test_redocly_rejects_a_spec_without_security() -> None:
    assert any(f.startswith("security-defined") for f in redocly_errors(FIXTURES / "no-security.yaml"))


def test_redocly_and_spectral_reject_nullable_without_type() -> None:
    spec = FIXTURES / "nullable-without-type.yaml"
    assert any(f.startswith("nullable-type-sibling") for f in redocly_errors(spec))
    # Beside a clean spec in one run (as spectral_found runs them): each error is filed under its file.
    found = spectral_errors_each([spec_path("diyalog"), spec])
    assert any("nullable" in f for f in found[spec.resolve()])
    assert found[spec_path("diyalog").resolve()] == []


def test_openapi_python_client_fails_on_a_callback_given_by_reference(tmp_path: Path) -> None:
    package, errors = generated_client(FIXTURES / "callback-component-ref.yaml", tmp_path)
    assert package is None
    assert any("callbacks" in line for line in errors), errors


def test_a_rule_in_allof_beside_properties_loses_the_models_fields(tmp_path: Path) -> None:
    spec = FIXTURES / "allof-anyof-rule.yaml"
    package, errors = generated_client(spec, tmp_path)
    assert errors == []
    document = yaml.safe_load(spec.read_text(encoding="utf-8"))
    problems = model_problems(package, document) + body_problems(package, document)
    assert any("PushRequest" in p for p in problems), problems


def test_prism_check_fails_when_an_example_cannot_be_answered() -> None:
    problems = prism_problems(FIXTURES / "example-prism-refuses.yaml")
    assert problems and problems[0].startswith("createThing 201 created: status 4"), problems
