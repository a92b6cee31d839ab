"""What the README and docs/*.md name must exist in the code: links and their anchors, every ``mockline``
verb's flags, every ``/__admin`` path and method, every ``make`` target, every config key and config
example, and the shape of every ``mockline verify`` verdict line shown as real output.

Each check reads the committed text, so a claim that the code stopped making true fails here, naming the
file and line."""

from __future__ import annotations

import argparse
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from contracts import model
from contracts.receiver import field_path, parse_set
from mockserver.cli import build_parser
from mockserver.settings import config_problems, config_schema

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
ADMIN_SPEC = ROOT / "specs" / "mockline-admin.yaml"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# Served under /__admin beside the spec's operations: the spec itself and its Swagger UI (no state).
ADMIN_DOCUMENTS = (
    "/__admin/ui/",
    "/__admin/openapi.json",
    "/__admin/openapi.yaml",
    "/__admin/openapi-3.1.json",
)
# Commands of other tools whose flags the docs show (uv, Redocly's respect, npm, curl).
FOREIGN = re.compile(r"(?:^|[\s/])(?:uv|redocly|npm|curl|pip|pytest|wrk)\b")


# ---------------------------------------------------------------------------------------------------------
# Reading the docs


def _fenced(text: str) -> Iterator[tuple[int, str, str]]:
    """Each fenced block: the line number of its first line, its info string, and its text."""
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        match = re.match(r"^\s*```(\S*)", lines[i])
        if match:
            start, info, body = i + 2, match.group(1), []
            i += 1
            while i < len(lines) and not lines[i].lstrip().startswith("```"):
                body.append(lines[i])
                i += 1
            yield start, info, "\n".join(body)
        i += 1


def _prose(text: str) -> str:
    """The text with fenced blocks blanked (line numbers kept)."""
    out, inside = [], False
    for line in text.split("\n"):
        if line.lstrip().startswith("```"):
            inside = not inside
            out.append("")
        else:
            out.append("" if inside else line)
    return "\n".join(out)


def _spans(text: str) -> Iterator[tuple[int, str]]:
    """Inline code spans of the prose, with their line, joined where they wrap."""
    prose = _prose(text)
    for match in re.finditer(r"`([^`]+)`", prose):
        yield prose.count("\n", 0, match.start()) + 1, match.group(1).replace("\n", " ")


def _joined(start: int, body: str) -> Iterator[tuple[int, str]]:
    """A block's lines with their numbers, a shell line's continuations (``\\``) joined to it."""
    lines = body.split("\n")
    i = 0
    while i < len(lines):
        number, line = start + i, lines[i]
        while line.rstrip().endswith("\\") and i + 1 < len(lines):
            i += 1
            line = line.rstrip()[:-1] + " " + lines[i].strip()
        yield number, line
        i += 1


def _code_lines(text: str) -> Iterator[tuple[int, str]]:
    """Lines of fenced blocks, continuations joined, a ``$ `` prompt taken off."""
    for start, _, body in _fenced(text):
        for number, line in _joined(start, body):
            yield number, re.sub(r"^\s*\$ ", "", line)


def _snippets(text: str) -> Iterator[tuple[int, str]]:
    yield from _spans(text)
    yield from _code_lines(text)


def _docs() -> list[tuple[str, str]]:
    return [(str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")) for path in DOCS]


# ---------------------------------------------------------------------------------------------------------
# Links and anchors


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", lambda m: m.group(1) or "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(text: str) -> set[str]:
    found: set[str] = set()
    for line in _prose(text).split("\n"):
        match = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if match:
            slug, n = _slug(match.group(1)), 0
            while (slug if n == 0 else f"{slug}-{n}") in found:
                n += 1
            found.add(slug if n == 0 else f"{slug}-{n}")
    return found


def broken_links(path: Path, text: str) -> list[str]:
    problems = []
    prose = _prose(text)
    for match in re.finditer(r"!?\[[^\]]*\]\(([^)\s]+)\)", prose):
        target = match.group(1)
        if re.match(r"^[a-z]+:", target):
            continue  # http, https, mailto: outside the repository
        line = prose.count("\n", 0, match.start()) + 1
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path
        if not resolved.exists():
            problems.append(f"line {line}: {target}: no file {resolved.relative_to(ROOT)}")
        elif (
            anchor
            and resolved.suffix == ".md"
            and anchor not in anchors(resolved.read_text(encoding="utf-8"))
        ):
            problems.append(f"line {line}: {target}: {resolved.name} has no heading #{anchor}")
    return problems


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_points_at_a_file_and_heading_that_exist(path: Path) -> None:
    assert broken_links(path, path.read_text(encoding="utf-8")) == []


# ---------------------------------------------------------------------------------------------------------
# mockline verbs and their flags


def _verbs() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    parser = build_parser()
    found: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found.update(action.choices)
    return parser, found


def _flags(parser: argparse.ArgumentParser) -> set[str]:
    return {option for action in parser._actions for option in action.option_strings}


def _commands(snippet: str) -> Iterator[tuple[str, str]]:
    """Each ``mockline VERB ...`` in a snippet: the verb (or a top-level flag) and the rest of the command,
    up to a shell separator or comment (``\\|`` is an alternative inside a table, not a pipe)."""
    snippet = snippet.replace("\\|", "/")
    for match in re.finditer(r"(?:^|[\s(/])mockline (\S+)([^|&;#]*)", snippet):
        yield match.group(1), match.group(2)


def flag_problems(text: str) -> list[str]:
    top, verbs = _verbs()
    everywhere = _flags(top) | {flag for parser in verbs.values() for flag in _flags(parser)}
    problems = []
    for line, snippet in _snippets(text):
        in_commands: set[str] = set()
        for verb, rest in _commands(snippet):
            if verb.startswith("--"):
                known, rest = _flags(top), verb + rest
            elif verb in verbs:
                known = _flags(verbs[verb])
            else:
                problems.append(f"line {line}: `mockline {verb}`: no such verb (there are {sorted(verbs)})")
                continue
            for flag in re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", rest):
                in_commands.add(flag)
                if flag not in known:
                    problems.append(f"line {line}: `mockline {verb}` has no {flag}")
        if FOREIGN.search(snippet) and "mockline " not in snippet:
            continue
        for flag in re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", snippet):
            if flag not in in_commands and flag not in everywhere:
                problems.append(f"line {line}: {flag} is a flag of no mockline verb")
    return problems


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_flag_written_beside_a_verb_is_one_of_that_verbs_flags(path: Path) -> None:
    assert flag_problems(path.read_text(encoding="utf-8")) == []


# ---------------------------------------------------------------------------------------------------------
# The control plane


def _admin_operations() -> dict[str, set[str]]:
    spec = yaml.safe_load(ADMIN_SPEC.read_text(encoding="utf-8"))
    return {
        re.sub(r"\{[^}]*\}", "{}", "/__admin" + path): {m.upper() for m in item if m.upper() in METHODS}
        for path, item in spec["paths"].items()
    }


def admin_problems(text: str) -> list[str]:
    operations = _admin_operations()
    problems = []
    for number, line in enumerate(text.split("\n"), 1):
        for match in re.finditer(
            r"(?:\b(GET|POST|PUT|PATCH|DELETE) )?(/__admin(?:/[^\s`'\"?)\]|,;]*)?)", line
        ):
            method, written = match.group(1), match.group(2)
            if written.endswith("..."):  # a family of paths: /__admin/ringme/...
                prefix = written[:-3]
                if not any(path.startswith(prefix) for path in operations):
                    problems.append(f"line {number}: {written}: no path of the admin spec starts so")
                continue
            written = written.rstrip(".:")
            if written == "/__admin" or written in ADMIN_DOCUMENTS:
                continue
            path = re.sub(r"\{[^}]*\}", "{}", written.rstrip("/"))
            if path not in operations:
                problems.append(f"line {number}: {written} is not a path of specs/mockline-admin.yaml")
            elif method and method not in operations[path]:
                problems.append(
                    f"line {number}: {method} {written}: the admin spec has {sorted(operations[path])}"
                )
    return problems


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_admin_path_and_method_written_is_in_the_admin_spec(path: Path) -> None:
    assert admin_problems(path.read_text(encoding="utf-8")) == []


# ---------------------------------------------------------------------------------------------------------
# make targets


def _make_targets() -> set[str]:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([a-z][a-z0-9-]*):(?!=)", makefile, flags=re.MULTILINE))


def make_problems(text: str) -> list[str]:
    targets = _make_targets()
    return [
        f"line {line}: make {target}: no such target in the Makefile"
        for line, snippet in _snippets(text)
        for target in re.findall(r"(?:^|[\s(])make ([a-z][a-z0-9-]*)", snippet)
        if target not in targets
    ]


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_make_target_named_is_in_the_makefile(path: Path) -> None:
    assert make_problems(path.read_text(encoding="utf-8")) == []


# ---------------------------------------------------------------------------------------------------------
# The config file


def _children(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """A schema node and the nodes its value may be (branches, $refs)."""
    schema = config_schema()
    if "$ref" in node:
        node = schema["$defs"][node["$ref"].split("/")[-1]]
    yield node
    for key in ("oneOf", "anyOf", "allOf"):
        for branch in node.get(key, []):
            yield from _children(branch)


def _key(node: dict[str, Any], part: str) -> dict[str, Any] | None:
    for option in _children(node):
        if part == "[]" and isinstance(option.get("items"), dict):
            return option["items"]
        if part.startswith("<") and isinstance(option.get("additionalProperties"), dict):
            return option["additionalProperties"]
        if part in option.get("properties", {}):
            found: dict[str, Any] = option["properties"][part]
            return found
    return None


def config_key_exists(dotted: str) -> bool:
    parts = re.findall(r"\[\]|[^.\[\]]+", dotted)
    parts[0] = parts[0] if parts[0] in config_schema()["properties"] else parts[0].replace("-", "_")
    node: dict[str, Any] | None = dict(config_schema())
    for part in parts:
        node = _key(node, part) if node is not None else None
    return node is not None


def _sections() -> set[str]:
    return {
        k for k, v in config_schema()["properties"].items() if v.get("type") == "object" or "examples" in v
    }


def config_problems_in(text: str) -> list[str]:
    problems = []
    sections = _sections()
    for line, span in _spans(text):
        dotted = re.fullmatch(r"([a-z][a-z-]*)((?:\.[\w<>-]+|\[\])+)", span)
        if (
            dotted
            and dotted.group(1) in sections
            and not re.search(r"\.(ya?ml|json|md|py)$", span)
            and not config_key_exists(span)
        ):
            problems.append(f"line {line}: `{span}` is not a key of mockserver/config.schema.json")
    for match in re.finditer(r"config(?: file)? key `([^`]+)`", _prose(text)):
        line = _prose(text).count("\n", 0, match.start()) + 1
        if not config_key_exists(match.group(1)):
            problems.append(
                f"line {line}: config key `{match.group(1)}` is not in mockserver/config.schema.json"
            )
    for start, info, body in _fenced(text):
        if info not in ("yaml", "yml"):
            continue
        try:
            data = yaml.safe_load(body)
        except yaml.YAMLError:
            continue
        if isinstance(data, dict) and set(data) & sections and not {"openapi", "arazzo"} & set(data):
            problems += [f"line {start}: the config example: {p}" for p in config_problems(data)]
    return problems


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_config_key_and_example_is_one_the_schema_takes(path: Path) -> None:
    assert config_problems_in(path.read_text(encoding="utf-8")) == []


# ---------------------------------------------------------------------------------------------------------
# verify's verdict line in transcripts

# As contracts/reporting/terminal.py prints it.
VERDICT = re.compile(
    r"^(?P<kind>verify|verify-receiver) (?P<target>\S+): (?P<verdict>conformant in what it tested|conformant|"
    r"\d+ violation\(s\)|inconclusive|errors)(?P<left_out> \(left out: [^)]+\))? \(\d+ requests in [\d.]+ s"
    r"(?:, seed \d+)?(?:, paced at \d+/[smh])?; exit code (?P<code>\d)\)$"
)
EXIT_CODES = {"conformant": "0", "conformant in what it tested": "0", "inconclusive": "3", "errors": "2"}


def _narrowing_flags() -> set[str]:
    """The options whose leaving out a verify report names, as verify's own help lists them."""
    description = _verbs()[1]["verify"].description or ""
    what = re.search(r"What (.*?) leave out", description, flags=re.DOTALL)
    assert what, "verify's help no longer says which options narrow a run"
    return set(re.findall(r"--[a-z-]+", what.group(1)))


def _receiver_leaves_out(command: str) -> bool:
    """Whether a ``verify-receiver`` run leaves the credential check out: the spec marks a field of a
    payload as the receiver's credential, and no ``--set`` gives it. (Every option of the verb takes a
    value, so the spec is the first word that is neither an option nor an option's value.)"""
    words = iter(shlex.split(command.removeprefix("$ "))[2:])
    spec, given = "", set()
    for word in words:
        if word == "--set":
            given.add(field_path(parse_set(next(words))[0]))
        elif word.startswith("--"):
            next(words, None)
        elif not spec:
            spec = word
    fields = {field_path(p) for c in model.contract(spec).callbacks for p in c.credential_fields}
    return bool(fields - given)


def verdict_problems(text: str) -> list[str]:
    narrowing = _narrowing_flags()
    problems = []
    for start, info, body in _fenced(text):
        if info not in ("text", ""):
            continue
        command = None
        for number, line in _joined(start, body):
            if line.startswith("$ mockline verify"):
                command = line
                continue
            if not re.match(r"^verify(-receiver)? \S+: ", line):
                continue
            match = VERDICT.match(line)
            if not match:
                problems.append(f"line {number}: not the verdict line verify prints today: {line}")
                continue
            verdict, code = match.group("verdict"), match.group("code")
            if EXIT_CODES.get(verdict, "1") != code:
                problems.append(
                    f"line {number}: {verdict!r} ends with exit code {EXIT_CODES.get(verdict, '1')}"
                )
            if command is not None:
                if command.startswith("$ mockline verify-receiver"):
                    # verify-receiver leaves out the credential check when no --set gives the credential
                    narrowed = _receiver_leaves_out(command)
                else:
                    narrowed = bool(set(re.findall(r"--[a-z-]+", command)) & narrowing)
                if narrowed != bool(match.group("left_out")):
                    problems.append(
                        f"line {number}: the command {'narrows' if narrowed else 'does not narrow'} the run, "
                        f"so verify's verdict {'names' if narrowed else 'names nothing'} left out; this one "
                        f"{'does not' if narrowed else 'does'}"
                    )
            command = None
    return problems


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_verify_verdict_shown_is_in_the_shape_verify_prints(path: Path) -> None:
    assert verdict_problems(path.read_text(encoding="utf-8")) == []


# ---------------------------------------------------------------------------------------------------------
# The checks catch what they are for


def test_the_checks_catch_a_broken_claim_of_each_kind() -> None:
    assert broken_links(ROOT / "README.md", "[x](docs/nope.md) [y](docs/verify.md#no-such-heading)") != []
    assert broken_links(ROOT / "README.md", "[x](docs/verify.md#exit-codes) [b](#benchmarks)") == []
    assert flag_problems("`mockline serve --no-such-flag`") != []
    assert flag_problems("`mockline listen --base-url URL`") != []  # a verify flag, not listen's
    assert flag_problems("`mockline verify ryng --base-url URL --phases negative`") == []
    assert admin_problems("`POST /__admin/clock/rewind`") != []
    assert admin_problems("`GET /__admin/clock/advance`") != []  # advance is a POST
    assert admin_problems("`POST /__admin/deliveries/{id}/retry` and `/__admin/ringme/...`") == []
    assert make_problems("`make deploy`") != [] and make_problems("`make serve`") == []
    assert config_problems_in("config key `callback-allowed`") != []
    assert (
        config_problems_in("`ryng.scheduled_calls`") != []
        and config_problems_in("`ryng.scheduled_call`") == []
    )
    assert config_problems_in("```yaml\nryng: {team_sise: 3}\n```\n") != []
    stale = "```text\n$ mockline verify x --phases workflows\nverify x: conformant (9 requests in 1.0 s, seed 1)\n```\n"
    assert verdict_problems(stale) != []
    receiver = "```text\n$ mockline verify-receiver ringotel-crm --url U{}\nverify-receiver ringotel-crm: {} (9 requests in 0.2 s; exit code {})\n```\n"
    left_out = "conformant in what it tested (left out: check wrong_credential_refused)"
    assert verdict_problems(receiver.format("", left_out, 0)) == []
    assert verdict_problems(receiver.format("", "conformant", 0)) != []  # the token check is left out
    assert verdict_problems(receiver.format(" --set api_token=T", "conformant", 0)) == []
    assert verdict_problems(receiver.format(" --set /api_token=T", left_out, 0)) != []
