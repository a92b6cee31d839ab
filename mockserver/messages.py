"""Validation failures in plain words, built from the schema that was broken.

A validator says *which keyword* of *which schema* an instance broke; this module turns that into a sentence
that names the field and the rule: ``agentMapping must be one of global, inline, all-agents, not
'round-robin'``, ``agents is required when agentMapping is global``. Every word about a field comes from the
spec: the keyword's value (the enum, the pattern, the minimum), the object's ``properties`` (to suggest the
field a misspelt key was meant to be), or, for an ``anyOf``/``oneOf`` rule, the branches that failed. A
schema may word its own failure instead: ``x-mockline: {message: ...}`` on the schema that holds the
keyword (a whole sentence).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Failure:
    """One broken keyword, whichever validator found it."""

    keyword: str
    instance: Any
    instance_path: tuple[str | int, ...]
    schema_path: tuple[str | int, ...]  # ends with the keyword
    detail: Mapping[str, Any] = field(default_factory=dict)
    branches: tuple[tuple[Failure, ...], ...] = ()  # anyOf / oneOf: the failures of each branch


@dataclass(frozen=True)
class Worded:
    """A failure in words: the field it is about (a path under ``root``) and what is wrong with it."""

    path: tuple[str | int, ...]
    text: str
    whole: bool = False  # the text is a whole sentence (a schema's own message), not said of the field


def node_at(schema: Any, path: Sequence[str | int]) -> Any:
    """The part of ``schema`` at ``path`` (a validator's schema path), or None when it is not there."""
    node = schema
    for part in path:
        found = isinstance(node, Mapping) and part in node
        if found or (isinstance(node, list) and isinstance(part, int) and part < len(node)):
            node = node[part]
        else:
            return None
    return node


def word(failure: Failure, json_schema: Any, source: Any) -> list[Worded]:
    """What ``failure`` means, in words. ``json_schema`` is what was validated (the schema path is its
    path); ``source`` is the spec's own schema, read for ``x-mockline`` messages."""
    parent_path = failure.schema_path[:-1]
    own = node_at(source, parent_path)
    if isinstance(own, Mapping):
        custom = (
            (own.get("x-mockline") or {}).get("message")
            if isinstance(own.get("x-mockline"), Mapping)
            else None
        )
        if isinstance(custom, str) and custom:
            return [Worded(failure.instance_path, custom, whole=True)]
    holder = node_at(json_schema, parent_path)
    holder = holder if isinstance(holder, Mapping) else {}
    keyword = failure.keyword
    if keyword == "not":
        # A rule written as ``not: {title: <the rule in words>, ...}`` is said by its title.
        refused = holder.get("not")
        if isinstance(refused, Mapping) and isinstance(refused.get("title"), str):
            return [Worded(failure.instance_path, refused["title"], whole=True)]
    value = failure.instance
    here = failure.instance_path
    if keyword == "required":
        missing = failure.detail.get("property")
        names = [missing] if isinstance(missing, str) else _missing(holder, value)
        return [Worded((*here, name), "is required") for name in names]
    if keyword == "additionalProperties":
        known = list((holder.get("properties") or {}).keys())
        unexpected = failure.detail.get("unexpected")
        if not isinstance(unexpected, list):
            unexpected = [k for k in value if k not in known] if isinstance(value, Mapping) else []
        return [Worded((*here, str(key)), _unknown_key(str(key), known)) for key in unexpected]
    if keyword in {"anyOf", "oneOf"} and failure.branches:
        return [_alternatives(failure, json_schema, source)]
    return [Worded(here, _predicate(keyword, holder, value))]


def _missing(holder: Mapping[str, Any], value: Any) -> list[str]:
    required = holder.get("required") or []
    return [str(n) for n in required if not isinstance(value, Mapping) or n not in value]


def _unknown_key(key: str, known: list[str]) -> str:
    if not known:
        return "is not allowed here"
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]}?" if close else f"use one of {', '.join(known)}"
    return f"is not a known field ({hint})"


_TYPE_WORDS = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "object": "an object",
    "array": "a list",
    "null": "null",
}
_FORMAT_WORDS = {
    "uri": "an absolute URI",
    "email": "an e-mail address",
    "date-time": "a date-time such as 2026-01-05T09:00:00Z",
    "date": "a date such as 2026-01-05",
    "uuid": "a UUID",
    "ipv4": "an IPv4 address",
    "byte": "base64 text",
}


def show(value: Any) -> str:
    """A value as a message quotes it: text in single quotes, anything else as JSON."""
    if isinstance(value, str):
        return repr(value) if len(value) <= 60 else repr(value[:57] + "...")
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _plain(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _predicate(keyword: str, holder: Mapping[str, Any], value: Any) -> str:
    """What a value that broke ``keyword`` of ``holder`` should have been."""
    rule: Any = holder.get(keyword)
    got = show(value)
    if keyword == "const":
        return f"must be {_plain(rule)}, not {got}"
    if keyword == "enum" and isinstance(rule, list):
        if len(rule) == 1:
            return f"must be {_plain(rule[0])}, not {got}"
        return f"must be one of {', '.join(_plain(v) for v in rule)}, not {got}"
    if keyword == "type":
        kinds = rule if isinstance(rule, list) else [rule]
        return f"must be {' or '.join(_TYPE_WORDS.get(str(k), str(k)) for k in kinds)}, not {got}"
    if keyword == "format":
        return f"must be {_FORMAT_WORDS.get(str(rule), f'a valid {rule}')}, not {got}"
    if keyword == "pattern":
        return f"must match the pattern {rule}, not {got}"
    if keyword == "minimum":
        strict = holder.get("exclusiveMinimum") is True
        return f"must be {'more than' if strict else 'at least'} {rule}, not {got}"
    if keyword == "maximum":
        strict = holder.get("exclusiveMaximum") is True
        return f"must be {'less than' if strict else 'at most'} {rule}, not {got}"
    if keyword == "exclusiveMinimum":
        return f"must be more than {holder.get('minimum', rule)}, not {got}"
    if keyword == "exclusiveMaximum":
        return f"must be less than {holder.get('maximum', rule)}, not {got}"
    if keyword == "multipleOf":
        return f"must be a multiple of {rule}, not {got}"
    if keyword == "minLength":
        return "must not be empty" if rule == 1 else f"must have at least {_count(int(rule), 'character')}"
    if keyword == "maxLength":
        return f"must have at most {_count(int(rule), 'character')}"
    if keyword == "minItems":
        return "must not be empty" if rule == 1 else f"must list at least {_count(int(rule), 'item')}"
    if keyword == "maxItems":
        return f"must list at most {_count(int(rule), 'item')}"
    if keyword == "minProperties":
        return "must not be empty" if rule == 1 else f"must have at least {_count(int(rule), 'field')}"
    if keyword == "maxProperties":
        return f"must have at most {_count(int(rule), 'field')}"
    if keyword == "uniqueItems":
        return "must not list the same item twice"
    if keyword == "not":
        banned = rule.get("enum") if isinstance(rule, Mapping) else None
        if isinstance(banned, list):
            return f"must not be {' or '.join(_plain(v) for v in banned)}"
        return f"must not be {got}"
    return f"is not allowed here ({got} breaks its {keyword} rule)"


def _alternatives(failure: Failure, json_schema: Any, source: Any) -> Worded:
    """An ``anyOf``/``oneOf`` none of whose branches held, as ``X is required when Y is V``.

    A branch that failed only on the value of a field the instance has is a condition that does not hold
    (``agentMapping`` is not "anything but global"): it is worded as what the field is. Every other branch
    is a requirement, worded by its own failures. A rule ``not A or B`` thus reads ``B when A``.
    """
    here = failure.instance_path
    conditions: list[str] = []
    requirements: list[list[Worded]] = []
    for branch in failure.branches:
        if branch and all(_is_condition(f, here) for f in branch):
            for f in branch:
                clause = f"{field_path(f.instance_path)} is {_plain(f.instance)}"
                if clause not in conditions:
                    conditions.append(clause)
        else:
            worded = [w for f in branch for w in word(f, json_schema, source)]
            if worded:
                requirements.append(worded)
    if not requirements:
        return Worded(here, f"matches none of the allowed forms ({'; '.join(conditions)})")
    first = requirements[0][0]
    merged = _one_of_kinds(requirements, first.path, failure.instance)
    if merged and not conditions:
        return Worded(first.path, merged)
    if all(len(group) == 1 and group[0].text == "is required" for group in requirements):
        # ``jsonData or campaignID is required``: the subject is the first field, the rest follow ``or``.
        others = [field_path(group[0].path) for group in requirements[1:]]
        text = "".join(f"or {name} " for name in others) + "is required"
        if conditions:
            text += " when " + " and ".join(conditions)
        return Worded(first.path, text)
    parts = []
    for group in requirements:
        parts.append(" and ".join(_relative(w, first.path) for w in group))
    text = " or ".join(parts)
    if conditions:
        text += " when " + " and ".join(conditions)
    return Worded(first.path, text)


def _one_of_kinds(requirements: list[list[Worded]], path: tuple[str | int, ...], value: Any) -> str | None:
    """``must be seeded or a list, not 'x'`` when every branch wants the same field to be something."""
    tail = f", not {show(value)}"
    kinds = []
    for group in requirements:
        if len(group) != 1 or group[0].path != path:
            return None
        text = group[0].text
        if not (text.startswith("must be ") and text.endswith(tail)):
            return None
        kinds.append(text[len("must be ") : -len(tail)])
    return f"must be {' or '.join(dict.fromkeys(kinds))}{tail}"


def _is_condition(failure: Failure, here: tuple[str | int, ...]) -> bool:
    """A failure on the value of a field below the rule's object (not a missing field, not a shape)."""
    return (
        failure.keyword in {"not", "enum"}
        and len(failure.instance_path) > len(here)
        and failure.instance_path[: len(here)] == here
    )


def field_path(path: tuple[str | int, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _relative(worded: Worded, subject: tuple[str | int, ...]) -> str:
    """The first clause is said of the subject (the Problem names it); later ones name their own field."""
    if worded.path == subject:
        return worded.text
    return f"{field_path(worded.path)} {worded.text}"
