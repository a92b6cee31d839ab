"""Who may drive the control plane and read the dashboard while they take no token.

On loopback with no admin token (the default), ``/__admin`` and the dashboard trust whoever reaches them:
only this machine can. A web page open in this machine's browser can reach them too, two ways:

- DNS rebinding: a page on a name its owner controls re-points that name at 127.0.0.1, and its script,
  now "same origin", reads the journal and drives the control plane. Its requests name that domain in
  ``Host``. So these two answer only a ``Host`` that no one else controls: an IP address, ``localhost`` or
  a name under it, or a name without a dot (the in-process clients' ``http://mock``).
- cross-site requests: any page may send a form POST (``/__admin/reset`` needs no body). Browsers say
  where such a request comes from in ``Origin``: a request that changes something and comes from another
  origin than the one it is addressed to is refused. Tools send no ``Origin``, and the dashboard's own
  script sends its own.

With an admin token the Host rule does not apply: a page cannot send the Bearer header, and the dashboard's
cookie (``SameSite=Strict``) is tied to the name it was set for. But a page on another port of the same
host is the same "site" and its requests carry that cookie: a change carried by the cookie alone must
come from the mock's own page (``cross_site``). The words are the control plane's spec's
(``x-mockline.messages``: ``foreign_host``, ``cross_site``).
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

from contracts import model

STATUS = 403
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


def refusal(method: str, headers: Mapping[str, str], token: str | None) -> str | None:
    """Why a request to the control plane or the dashboard is refused (answered ``STATUS``), or None.
    ``headers``: lower-case names."""
    if token:
        return None
    host = headers.get("host", "")
    name = host_name(host)
    if name and not _nobody_elses(name):
        return _words()("foreign_host", host=host)
    return cross_site(method, headers)


def cross_site(method: str, headers: Mapping[str, str]) -> str | None:
    """Why a change sent from another page than the mock's own is refused, or None (a read, a request no
    page sent, or one from the mock's own page). Also asked with a token, of a request that carries it
    only in the dashboard's cookie, which a page on another port of the same host would send too."""
    origin = headers.get("origin")
    host = headers.get("host", "")
    if method.upper() not in _SAFE and origin is not None and not _same_origin(origin, host):
        return _words()("cross_site", origin=origin, host=host)
    return None


@functools.cache
def cookie_name() -> str:
    """The cookie the dashboard keeps the admin token in: the control plane's spec names it (its
    ``adminCookie`` scheme). Read once: every page and control-plane request with a token asks (looking
    the contract up again stats the spec file each time, 17 us)."""
    return str(model.contract(model.ADMIN_SPEC).security_schemes["adminCookie"]["name"])


def cookie_holds(headers: Mapping[str, str], token: str) -> bool:
    """Whether the request carries the admin token in the dashboard's cookie."""
    name = cookie_name()
    for part in headers.get("cookie", "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name and hmac.compare_digest(value.encode(), token.encode()):
            return True
    return False


def host_name(host: str) -> str:
    """The name or address in a ``Host`` header, without its port (IPv6 without its brackets)."""
    host = host.strip()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host[1:]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _nobody_elses(name: str) -> bool:
    name = name.lower().rstrip(".")
    try:
        ipaddress.ip_address(name)
        return True  # an address, not a name anyone could re-point
    except ValueError:
        pass
    return name == "localhost" or name.endswith(".localhost") or "." not in name


def _same_origin(origin: str, host: str) -> bool:
    parts = urlsplit(origin)
    return bool(parts.scheme in ("http", "https") and parts.netloc and parts.netloc.lower() == host.lower())


def _words() -> Callable[..., str]:
    return model.contract(model.ADMIN_SPEC).message
