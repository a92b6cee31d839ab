"""The callback target rules: schemes, the mock's own addresses, --callback-allow; no traffic is sent."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from pathlib import Path

import pytest

from mockserver.cli import build_parser, settings_from
from mockserver.settings import ConfigError, load_config
from mockserver.targets import AllowRule, Refused, TargetPolicy
from tests.unit.test_layers import ROOT, offending

PORT = 8123


def verdict(policy: TargetPolicy, host: str, port: int = PORT) -> str:
    """``ok`` with the addresses the sender may use, or the refusal's reason."""
    try:
        return "ok " + " ".join(asyncio.run(policy.resolve(host, port)))
    except Refused as exc:
        return str(exc)


def own_interface_address() -> str | None:
    """A non-loopback address of this machine, if it has one (no packet is sent to find it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # a UDP connect only picks the route's source address
        except OSError:
            return None
        found = str(probe.getsockname()[0])
    return None if ipaddress.ip_address(found).is_loopback else found


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "0.0.0.0", "::ffff:127.0.0.1", "LOCALHOST"])
def test_a_mock_bound_to_every_address_refuses_each_local_name_for_itself(host: str) -> None:
    policy = TargetPolicy(listening=[("0.0.0.0", PORT)])
    assert "own listening address" in verdict(policy, host)
    assert verdict(policy, host, PORT + 1).startswith("ok"), "another port of this machine is fine"


def test_a_mock_bound_to_every_address_refuses_this_machine_s_own_interface_address() -> None:
    address = own_interface_address()
    if address is None:
        pytest.skip("this machine has no non-loopback address")
    assert "own listening address" in verdict(TargetPolicy(listening=[("0.0.0.0", PORT)]), address)
    assert verdict(TargetPolicy(listening=[("127.0.0.1", PORT)]), address).startswith("ok")


def test_a_remote_address_on_the_mock_s_port_is_not_the_mock() -> None:
    policy = TargetPolicy(listening=[("0.0.0.0", PORT), ("::", PORT)])
    assert verdict(policy, "192.0.2.10") == "ok 192.0.2.10"  # TEST-NET-1: never this machine


@pytest.mark.parametrize(
    ("listening", "host", "is_self"),
    [
        ("127.0.0.1", "localhost", True),
        ("127.0.0.1", "0.0.0.0", True),  # connecting to 0.0.0.0 reaches this machine
        ("127.0.0.1", "127.0.0.2", False),  # a socket bound to 127.0.0.1 is not reached there
        ("localhost", "127.0.0.1", True),
        ("::1", "::1", True),
        ("::1", "127.0.0.1", False),
    ],
)
def test_a_mock_bound_to_one_address_is_that_address(listening: str, host: str, is_self: bool) -> None:
    found = verdict(TargetPolicy(listening=[(listening, PORT)]), host)
    assert ("own listening address" in found) is is_self, found


def test_the_mock_learns_the_local_end_of_the_connections_it_accepts() -> None:
    policy = TargetPolicy(listening=[("127.0.0.1", 8000)])
    before = policy.generation
    assert verdict(policy, "127.0.0.1", 45123).startswith("ok")
    assert policy.learn(("127.0.0.1", 45123)) and policy.generation == before + 1
    assert not policy.learn(("127.0.0.1", 45123)), "already known"
    assert not policy.learn(("testserver", 80)), "an in-process client's made-up host is no address"
    assert not policy.learn(None) and not policy.learn(["127.0.0.1", 1])
    assert "own listening address" in verdict(policy, "localhost", 45123)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://127.0.0.1/x", "ftp:// is not allowed, only http and https URLs"),
        ("file:///etc/passwd", "file:// is not allowed"),
        ("gopher://127.0.0.1:70/", "gopher:// is not allowed"),
        ("127.0.0.1:8000/x", "is not allowed, only http and https URLs"),
        ("http:///x", "the URL names no host"),
        ("http://127.0.0.1:99999/", "not a valid URL"),
    ],
)
def test_only_http_and_https_urls_with_a_host_pass(url: str, reason: str) -> None:
    with pytest.raises(Refused, match="cannot deliver to") as refused:
        TargetPolicy().check_url(url)
    assert reason in str(refused.value)


@pytest.mark.parametrize("url", ["http://crm.example.com/t", "HTTPS://crm.example.com:8443/t?x=1"])
def test_http_and_https_urls_pass(url: str) -> None:
    assert TargetPolicy().check_url(url).hostname == "crm.example.com"


def test_callback_allow_keeps_only_the_named_hosts_and_networks() -> None:
    policy = TargetPolicy(allow=["crm.example.com", "10.0.0.0/8", "192.0.2.7"])
    assert verdict(policy, "10.1.2.3") == "ok 10.1.2.3"
    assert verdict(policy, "192.0.2.7") == "ok 192.0.2.7"
    refused = verdict(policy, "192.0.2.8")
    assert refused == (
        "refused: 192.0.2.8 is not an allowed callback target "
        "(callback-allow: crm.example.com, 10.0.0.0/8, 192.0.2.7)"
    )
    assert "not an allowed callback target" in verdict(policy, "::1")


def test_a_host_allowed_by_name_still_may_not_be_the_mock() -> None:
    policy = TargetPolicy(allow=["localhost"], listening=[("127.0.0.1", PORT)])
    assert verdict(policy, "localhost", PORT + 1).startswith("ok")
    assert "own listening address" in verdict(policy, "localhost")


@pytest.mark.parametrize(
    "entry", ["", "10.0.0.0/33", "http://crm.example.com", "user@host", "a b", "300.1.1.1/8"]
)
def test_a_malformed_allow_entry_is_refused_when_the_mock_starts(entry: str) -> None:
    with pytest.raises(ValueError, match="callback-allow"):
        AllowRule.parse(entry)


def test_callback_allow_comes_from_the_cli_repeated_or_from_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "mock.yaml"
    config.write_text("callback-allow: [crm.example.com, 10.0.0.0/8]\n")
    parser = build_parser()
    args = parser.parse_args(["serve", "--callback-allow", "127.0.0.1", "--callback-allow", "::1/128"])
    assert settings_from(args).callback_allow == ("127.0.0.1", "::1/128")
    assert settings_from(parser.parse_args(["serve", "--config", str(config)])).callback_allow == (
        "crm.example.com",
        "10.0.0.0/8",
    )
    config.write_text("callback_allow: crm.example.com\n")
    assert load_config(config).callback_allow == ("crm.example.com",)
    assert settings_from(parser.parse_args(["serve"])).callback_allow == ()


def test_a_bad_allow_entry_stops_the_cli_with_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    from mockserver.cli import main

    assert main(["serve", "--callback-allow", "10.0.0.0/33", "--port", "1"]) == 2
    assert "callback-allow: '10.0.0.0/33' is not a valid address or CIDR" in capsys.readouterr().err


def test_the_engine_holds_no_socket_dns_or_http_client_code() -> None:
    forbidden = ("socket", "ssl", "h11", "httpcore", "aiohttp", "mockserver.targets", "mockserver.delivery")
    assert offending(ROOT / "mockserver" / "core", forbidden) == {}


def test_that_check_finds_socket_code(tmp_path: Path) -> None:
    (tmp_path / "dns.py").write_text("import socket\nfrom mockserver.targets import TargetPolicy\n")
    assert offending(tmp_path, ("socket", "mockserver.targets")) == {
        "dns.py": ["mockserver.targets", "socket"]
    }


def test_a_config_value_that_is_not_hosts_is_a_config_error(tmp_path: Path) -> None:
    config = tmp_path / "mock.json"
    config.write_text('{"callback-allow": {"a": 1}}')
    with pytest.raises(ConfigError, match=r"callback[-_]allow"):
        load_config(config)


class CountingLookup:
    """A resolver that counts its lookups: names under ``.invalid`` fail, others give one address."""

    def __init__(self, answer: str = "192.0.2.10") -> None:
        self.answer = answer
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
        self.asked.append(host)
        await asyncio.sleep(0)  # concurrent callers arrive while this lookup is under way
        if host.endswith(".invalid"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [ipaddress.ip_address(self.answer)]


def test_a_host_is_looked_up_once_for_concurrent_and_repeated_deliveries() -> None:
    lookup, now = CountingLookup(), [0.0]
    policy = TargetPolicy(lookup=lookup, monotonic=lambda: now[0])

    async def many() -> list[list[str]]:
        return await asyncio.gather(*(policy.resolve("crm.example.com", 443) for _ in range(20)))

    assert asyncio.run(many()) == [["192.0.2.10"]] * 20
    assert lookup.asked == ["crm.example.com"]
    now[0] = 29.0
    assert verdict(policy, "CRM.example.com", 443) == "ok 192.0.2.10"  # names compare in any case
    assert lookup.asked == ["crm.example.com"]
    now[0] = 31.0  # past LOOKUP_TTL_SECONDS: asked again
    assert verdict(policy, "crm.example.com", 443) == "ok 192.0.2.10"
    assert lookup.asked == ["crm.example.com"] * 2


def test_a_failed_lookup_is_reused_as_the_same_retryable_error() -> None:
    lookup = CountingLookup()
    policy = TargetPolicy(lookup=lookup, monotonic=lambda: 0.0)

    async def fail() -> OSError:
        try:
            await policy.resolve("crm.example.invalid", 443)
        except OSError as exc:
            return exc
        raise AssertionError("the lookup should have failed")

    async def both() -> list[OSError]:
        return await asyncio.gather(fail(), fail())

    errors = [*asyncio.run(both()), asyncio.run(fail())]
    assert lookup.asked == ["crm.example.invalid"]
    assert {type(e) for e in errors} == {socket.gaierror}
    assert {str(e) for e in errors} == {f"[Errno {socket.EAI_NONAME}] Name or service not known"}
    assert len({id(e) for e in errors}) == 3  # each caller its own error (no shared traceback)


def test_the_rules_are_checked_again_on_a_remembered_lookup() -> None:
    lookup = CountingLookup(answer="127.0.0.1")
    policy = TargetPolicy(listening=[("127.0.0.1", PORT)], lookup=lookup, monotonic=lambda: 0.0)
    assert verdict(policy, "callbacks.example.com", PORT + 1) == "ok 127.0.0.1"
    assert "this mock's own listening address" in verdict(policy, "callbacks.example.com", PORT)
    assert "this mock's own listening address" in verdict(policy, "callbacks.example.com", PORT)
    allowed = TargetPolicy(allow=["10.0.0.0/8"], lookup=lookup, monotonic=lambda: 0.0)
    assert "not an allowed callback target" in verdict(allowed, "callbacks.example.com", PORT + 1)
    assert "not an allowed callback target" in verdict(allowed, "callbacks.example.com", PORT + 1)
    assert lookup.asked == ["callbacks.example.com"] * 3  # once per (policy, host, port)
