"""Credentials checked as the spec's security requirements say, against the configured ones."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any, NamedTuple

from mockserver.core.tokens import TokenIssuer
from mockserver.settings import Credentials


class Verdict(NamedTuple):  # a tuple: built on every request, and cheaper than a dataclass
    ok: bool
    principal: str | None = None
    reason: str = ""


def check(
    requirements: list[dict[str, list[str]]],
    schemes: Mapping[str, Any],
    headers: Mapping[str, str],
    query: Mapping[str, Any],
    credentials: Credentials,
    tokens: TokenIssuer,
) -> Verdict:
    """Passes when every scheme of at least one requirement passes (OpenAPI's OR of ANDs)."""
    if not requirements:
        return Verdict(True)
    reasons: list[str] = []
    for requirement in requirements:
        if not requirement:
            return Verdict(True)
        principal = None
        failed = False
        for name in requirement:
            verdict = _scheme(schemes.get(name, {}), headers, query, credentials, tokens)
            if not verdict.ok:
                reasons.append(verdict.reason)
                failed = True
                break
            principal = verdict.principal
        if not failed:
            return Verdict(True, principal)
    return Verdict(False, reason=_best(reasons))


def _best(reasons: list[str]) -> str:
    for reason in reasons:
        if "expired" in reason:
            return reason
    informative = [r for r in reasons if not r.startswith("no ")]
    return (informative or reasons or ["credentials are missing"])[0]


def _scheme(
    scheme: Mapping[str, Any],
    headers: Mapping[str, str],
    query: Mapping[str, Any],
    credentials: Credentials,
    tokens: TokenIssuer,
) -> Verdict:
    kind = scheme.get("type")
    if kind == "apiKey":
        name = scheme.get("name", "")
        where = scheme.get("in", "header")
        if where == "header":
            value = headers.get(name.lower())
        elif where == "cookie":
            value = _cookie(headers.get("cookie", ""), name)
        else:
            value = query.get(name)
        if not value:
            return Verdict(False, reason=f"no {name} {where} was sent")
        if value in credentials.api_keys or credentials.accept_any:
            return Verdict(True, principal=str(value))
        return Verdict(False, reason=f"the {name} {where} is not a valid key")
    authorization = headers.get("authorization", "")
    auth_type, _, value = authorization.partition(" ")
    if kind == "http" and scheme.get("scheme", "").lower() == "basic":
        if auth_type.lower() != "basic":
            return Verdict(False, reason="no Basic Authorization header was sent")
        try:
            user, _, password = base64.b64decode(value, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return Verdict(False, reason="the Basic credentials are not valid base64 of user:password")
        if (user, password) in credentials.basic or credentials.accept_any:
            return Verdict(True, principal=user)
        return Verdict(False, reason="the Basic user name or password is wrong")
    if kind in {"http", "oauth2", "openIdConnect"}:
        if auth_type.lower() != "bearer" or not value:
            return Verdict(False, reason="no Bearer token was sent in the Authorization header")
        if kind == "http" and value in credentials.bearer:
            return Verdict(True, principal="bearer")
        if credentials.accept_any:
            return Verdict(True, principal="bearer")
        state = tokens.state(value)
        if state == "valid":
            return Verdict(True, principal="oauth2")
        if state == "expired":
            return Verdict(False, reason="the access token has expired; request a new one")
        return Verdict(False, reason="the Bearer token is not one this server issued")
    return Verdict(False, reason=f"unsupported security scheme type {kind!r}")


def _cookie(header: str, name: str) -> str | None:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None
