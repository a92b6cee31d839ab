"""A journal entry as a curl command that repeats it against this mock.

An argument holding a control or bidirectional character is written in bash's ``$'...'`` quoting, the
character spelt as the ``\\xHH`` bytes of its UTF-8: the command shows what it sends (a right-to-left
override would turn the rest of it round) and bash, in any locale, sends the same bytes.

Credentials come from the settings (the first one the operation accepts), not from the journal: the
journal may hold another client's secrets, and a command to copy should work as it is. Only an OAuth2
bearer token, which the mock itself issued, is taken from the request as it came.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from mockserver import jsonbody

if TYPE_CHECKING:
    from mockserver.runtime import Runtime

# Characters that change how the text around them reads without showing themselves: C0 and C1 controls
# (but tab and line breaks) and the bidirectional marks, embeddings, overrides and isolates.
HIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
BASE_URL_PLACEHOLDER = "{base}"
_SKIP = {"host", "content-length", "connection", "accept-encoding", "user-agent", "accept", "authorization"}


def body_of(entry: Mapping[str, Any]) -> str | None:
    raw = entry.get("body_json")
    if isinstance(raw, bytes | bytearray):
        return bytes(raw).decode("utf-8", "replace")
    body = entry.get("body")
    if body is None:
        return None
    if isinstance(body, str):
        return body
    if isinstance(body, Mapping) and _content_type(entry) == "application/x-www-form-urlencoded":
        return urlencode([(k, v) for k, vs in body.items() for v in (vs if isinstance(vs, list) else [vs])])
    return jsonbody.encode(body).decode("utf-8")


def _content_type(entry: Mapping[str, Any]) -> str | None:
    headers = entry.get("headers")
    if isinstance(headers, Mapping) and headers.get("content-type"):
        return str(headers["content-type"]).split(";", 1)[0].strip()
    if entry.get("body_json") is not None:
        return "application/json"
    body = entry.get("body")
    if isinstance(body, Mapping):
        return "application/x-www-form-urlencoded" if entry.get("api") == "ringme" else "application/json"
    if isinstance(body, str):
        return "text/plain"
    return None


def _auth(rt: Runtime, entry: Mapping[str, Any]) -> tuple[list[str], dict[str, str]]:
    """curl arguments and query parameters that carry the first credential the operation accepts."""
    api = rt.apis.get(str(entry.get("api")))
    if api is None:
        return [], {}
    operation = api.operations.get(str(entry.get("operationId")))
    requirements = operation.security if operation is not None else []
    if not requirements:
        return [], {}
    creds = rt.settings.credentials_for(api.name)
    for name in requirements[0]:
        scheme = api.security_schemes.get(name, {})
        kind = scheme.get("type")
        if kind == "apiKey" and scheme.get("in") == "query":
            return [], {str(scheme.get("name")): creds.api_keys[0]}
        if kind == "apiKey":
            return ["-H", f"{scheme.get('name')}: {creds.api_keys[0]}"], {}
        if kind == "http" and str(scheme.get("scheme", "")).lower() == "basic":
            user, secret = creds.basic[0]
            return ["-u", f"{user}:{secret}"], {}
        if kind == "http":
            return ["-H", f"Authorization: Bearer {creds.bearer[0]}"], {}
        if kind == "oauth2":
            headers = entry.get("headers")
            sent = headers.get("authorization") if isinstance(headers, Mapping) else None
            token = (
                sent if sent and sent != "[redacted]" else "Bearer <a token from the oauth/token operation>"
            )
            return ["-H", f"Authorization: {token}"], {}
    return [], {}


def curl(rt: Runtime, entry: Mapping[str, Any], base_url: str = BASE_URL_PLACEHOLDER) -> str:
    """The command, with ``{base}`` standing for the mock's address (the page fills it in)."""
    auth_args, auth_query = _auth(rt, entry)
    query = str(entry.get("query") or "")
    if auth_query:
        extra = urlencode(auth_query)
        query = f"{query}&{extra}" if query else extra
    url = f"{base_url}{entry.get('path', '')}" + (f"?{query}" if query else "")
    args = ["curl", "-sS", "-X", str(entry.get("method", "GET")), url, *auth_args]
    headers = entry.get("headers")
    if isinstance(headers, Mapping):
        for key, value in headers.items():
            if key.lower() not in _SKIP and not key.lower().startswith(("sec-", "x-forwarded")):
                if any(key.lower() == a.split(":", 1)[0].lower() for a in auth_args[1::2]):
                    continue
                args += ["-H", f"{key}: {value}"]
    body = body_of(entry)
    content_type = _content_type(entry)
    if body is not None:
        if content_type and not (isinstance(headers, Mapping) and "content-type" in headers):
            args += ["-H", f"content-type: {content_type}"]
        args += ["--data-raw", body]
    return " ".join(_quote(a) for a in args)


def _quote(arg: str) -> str:
    if not HIDDEN.search(arg):
        return shlex.quote(arg)
    out = []
    for c in arg:
        if c in "\\'":
            out.append("\\" + c)
        elif HIDDEN.match(c):
            out.append("".join(f"\\x{b:02x}" for b in c.encode()))
        else:
            out.append(c)
    return "$'" + "".join(out) + "'"
