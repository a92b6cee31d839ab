"""Where a callback or webhook may go: the rules checked before the sender opens a connection.

* Only ``http`` and ``https`` URLs with a host; anything else is refused for good (no retry).
* Never the mock itself: the target host is resolved and each address compared with the addresses and
  ports the mock listens on. A mock bound to ``0.0.0.0`` or ``::`` listens on every local address, so
  any address of this machine (loopback, an interface's own address, ``0.0.0.0`` itself) on its port is
  the mock; ``localhost`` is whatever it resolves to. The sender connects to the addresses checked here,
  never resolving the name a second time.
* A name's lookup is remembered for ``LOOKUP_TTL_SECONDS`` of real time, a failed one too (as the same
  retryable error), and concurrent deliveries to one host share one lookup: without this every attempt
  to an unresolvable host (a fuzzer's ``example.com`` callback URL) paid a resolver round trip of tens
  of milliseconds inside the timeline's sequence, and a clock advance crawled. The policy checks below
  run on every attempt, cached addresses or not.
* ``--callback-allow HOST|CIDR`` (repeatable; config key ``callback-allow``): when given, a target must
  be one of the named hosts or resolve into one of the networks.

A refusal is a ``Refused`` with a sentence that says why; the delivery fails at once with it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from mockserver.errors import MocklineError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
SCHEMES = ("http", "https")
LOOKUP_TTL_SECONDS = 30.0
"""How long (real time) a host's lookup, or its failure, is reused."""
_LOOKUPS_KEPT = 1024
Lookup = Callable[[str, int], Awaitable[list[IPAddress]]]


class Refused(MocklineError):
    """The target breaks a rule: the delivery fails at once, with this message as its reason."""


def address(text: str) -> IPAddress | None:
    """An IP literal as an address (IPv4-mapped IPv6 as IPv4, zone dropped), or None for a name."""
    try:
        ip = ipaddress.ip_address(text.strip("[]").split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


@dataclass(frozen=True)
class AllowRule:
    """One ``--callback-allow`` entry: a host name (matched exactly, any case) or a network."""

    text: str
    host: str | None = None
    network: Network | None = None

    @classmethod
    def parse(cls, text: str) -> AllowRule:
        entry = text.strip()
        if not entry:
            raise ValueError("callback-allow: an entry is empty; give a host name, an address or a CIDR")
        if "/" in entry or address(entry) is not None:
            try:
                return cls(entry, network=ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError as exc:
                raise ValueError(f"callback-allow: {entry!r} is not a valid address or CIDR ({exc})") from exc
        if any(c in entry for c in ":@?#") or " " in entry:
            raise ValueError(f"callback-allow: {entry!r} is not a host name, an address or a CIDR")
        return cls(entry, host=entry.lower().rstrip("."))


class TargetPolicy:
    def __init__(
        self,
        allow: Iterable[str] = (),
        listening: Iterable[tuple[str, int]] = (),
        *,
        lookup: Lookup | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lookup = lookup or _getaddrinfo
        self._monotonic = monotonic
        self._lookups: dict[tuple[str, int], tuple[float, list[IPAddress] | OSError]] = {}
        self._lookups_in_flight: dict[tuple[str, int], asyncio.Future[list[IPAddress]]] = {}
        self.allow = tuple(AllowRule.parse(entry) for entry in allow)
        self._listening: set[tuple[str, int]] = set()
        self._listening_ips: dict[tuple[str, int], frozenset[IPAddress] | None] = {}
        self._local: dict[IPAddress, bool] = {}
        self._learnt: set[tuple[object, ...]] = set()
        self.generation = 0  # goes up with each listening address learnt: senders recheck their connections
        for host, port in listening:
            self.listening_on(host, port)

    # ---- where the mock listens --------------------------------------------------------------------

    def listening_on(self, host: str, port: int) -> bool:
        """Note an address and port the mock listens on; True if it was new."""
        key = (host.strip("[]").lower(), int(port))
        if key in self._listening:
            return False
        self._listening.add(key)
        self.generation += 1
        return True

    def learn(self, server: object) -> bool:
        """Note the local end of a connection the mock accepted (an ASGI scope's ``server``); only an IP
        literal and a port are taken (an in-process test client names a made-up host). True if new."""
        if type(server) is not tuple or server in self._learnt or len(server) != 2:
            return False
        self._learnt.add(server)
        host, port = server
        if not isinstance(host, str) or not isinstance(port, int) or address(host) is None:
            return False
        return self.listening_on(host, port)

    async def _own_addresses(self, host: str, port: int) -> frozenset[IPAddress] | None:
        """The addresses one listening entry stands for; None when it is a wildcard (every local one)."""
        key = (host, port)
        if key not in self._listening_ips:
            literal = address(host) if host else ipaddress.IPv4Address(0)
            if literal is not None:
                found = None if literal.is_unspecified else frozenset({literal})
            else:
                try:
                    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
                except OSError:
                    infos = []
                ips = {ip for info in infos if (ip := address(str(info[4][0]))) is not None}
                found = None if any(ip.is_unspecified for ip in ips) else frozenset(ips)
            self._listening_ips[key] = found
        return self._listening_ips[key]

    def _is_local(self, ip: IPAddress) -> bool:
        """Whether an address belongs to this machine: loopback, unspecified, or one a socket can bind."""
        known = self._local.get(ip)
        if known is None:
            known = ip.is_loopback or ip.is_unspecified
            if not known:
                family = socket.AF_INET if ip.version == 4 else socket.AF_INET6
                try:
                    with socket.socket(family, socket.SOCK_DGRAM) as probe:
                        probe.bind((str(ip), 0))  # succeeds only for an address of this machine
                    known = True
                except OSError:
                    known = False
            self._local[ip] = known
        return known

    async def is_self(self, ip: IPAddress, port: int) -> bool:
        for host, listening_port in tuple(self._listening):
            if listening_port != port:
                continue
            own = await self._own_addresses(host, port)
            if own is None:  # bound to every local address
                if self._is_local(ip):
                    return True
            elif ip in own or ip.is_unspecified:  # connecting to 0.0.0.0 reaches this machine
                return True
        return False

    # ---- the checks ------------------------------------------------------------------------------

    def check_url(self, url: str) -> SplitResult:
        """The URL split, if its scheme and host may be delivered to at all; otherwise ``Refused``."""
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
        except ValueError as exc:
            raise Refused(f"cannot deliver to {url!r}: not a valid URL ({exc})") from exc
        if parts.scheme.lower() not in SCHEMES:
            shown = f"{parts.scheme}://" if parts.scheme else "no scheme"
            raise Refused(f"cannot deliver to {url!r}: {shown} is not allowed, only http and https URLs")
        if not parts.hostname:
            raise Refused(f"cannot deliver to {url!r}: the URL names no host")
        return parts

    async def resolve(self, host: str, port: int) -> list[str]:
        """The addresses of ``host`` the sender may connect to, in resolver order; ``Refused`` if none.

        A failed lookup raises ``OSError`` (a retryable error, not a refusal)."""
        literal = address(host)
        if literal is not None:
            ips = [literal]
        else:
            ips = await self._addresses_of(host, port)
        for ip in ips:
            if await self.is_self(ip, port):
                named = f"{host} ({ip})" if literal is None else str(ip)
                raise Refused(
                    f"refused: {named} port {port} is this mock's own listening address; "
                    "a callback may not call the mock itself"
                )
        if self.allow:
            name = host.lower().rstrip(".")
            if not any(rule.host == name for rule in self.allow):
                ips = [ip for ip in ips if any(_within(ip, rule.network) for rule in self.allow)]
                if not ips:
                    allowed = ", ".join(rule.text for rule in self.allow)
                    raise Refused(
                        f"refused: {host} is not an allowed callback target (callback-allow: {allowed})"
                    )
        return [str(ip) for ip in ips]

    async def _addresses_of(self, host: str, port: int) -> list[IPAddress]:
        """The host's addresses, from a lookup made less than ``LOOKUP_TTL_SECONDS`` ago if there is one
        (a failure is raised again as a new ``OSError`` with the same words), else from one lookup that
        every concurrent caller for the same host and port waits on."""
        key = (host.lower(), port)
        kept = self._lookups.get(key)
        if kept is not None and kept[0] > self._monotonic():
            found = kept[1]
            if isinstance(found, OSError):
                raise type(found)(*found.args)
            return list(found)
        flight = self._lookups_in_flight.get(key)
        if flight is None:
            flight = self._lookups_in_flight[key] = asyncio.get_running_loop().create_future()
            try:
                result: list[IPAddress] | OSError = await self._lookup(host, port)
            except OSError as exc:
                result = exc
            except BaseException:  # this caller was cancelled (its timeout): the others get an error
                flight.set_exception(OSError(f"the lookup of {host} was interrupted"))
                flight.exception()
                raise
            finally:
                del self._lookups_in_flight[key]
            if len(self._lookups) >= _LOOKUPS_KEPT:
                self._lookups.clear()
            self._lookups[key] = (self._monotonic() + LOOKUP_TTL_SECONDS, result)
            if isinstance(result, OSError):
                flight.set_exception(result)
                flight.exception()  # retrieved here: no "never retrieved" warning when nobody else waits
            else:
                flight.set_result(result)
        try:
            found_now = await asyncio.shield(flight)
        except OSError as exc:
            raise type(exc)(*exc.args) from None  # each caller its own error object, same words
        return list(found_now)


async def _getaddrinfo(host: str, port: int) -> list[IPAddress]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(ip for info in infos if (ip := address(str(info[4][0]))) is not None))


def _within(ip: IPAddress, network: Network | None) -> bool:
    return network is not None and ip.version == network.version and ip in network
