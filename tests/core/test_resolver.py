"""Resolvers (hosts file, system DNS) and the rule for which addresses may be reached.

The machine running the tests has no internet: nothing here asks public DNS. The system resolver
is exercised on `localhost` and on RFC 6761 `.invalid` names; its error mapping and its time limit
are exercised by replacing `socket.getaddrinfo` for the test.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from taskforce.core.resolver import (
    HostNotFound,
    ResolveFailed,
    Resolver,
    StaticResolver,
    SystemResolver,
    make_resolver,
    refusal,
)
from taskforce.core.settings import Settings

# --- StaticResolver ---------------------------------------------------------------------------


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hosts"
    path.write_text(text, encoding="utf-8")
    return path


def test_hosts_file_comments_blank_lines_and_several_names(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "# lab hosts\n"
        "\n"
        "203.0.113.10   shop.example.com  www.shop.example.com   # the shop\n"
        "   \t\n"
        "2001:db8::10   shop.example.com\n"
        "198.51.100.4\tmirror.example.org\n",
    )
    resolver = StaticResolver.from_hosts_file(path)
    assert resolver.name == f"static hosts file {path}"
    assert resolver.resolve("shop.example.com") == ["203.0.113.10", "2001:db8::10"]
    assert resolver.resolve("www.shop.example.com") == ["203.0.113.10"]
    assert resolver.resolve("mirror.example.org") == ["198.51.100.4"]


def test_ipv4_first_distinct_and_canonical(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "2001:DB8:0:0::20 cdn.example.com\n"
        "203.0.113.20 cdn.example.com\n"
        "2001:db8::20 cdn.example.com\n"
        "198.51.100.20 cdn.example.com\n"
        "203.0.113.20 cdn.example.com\n",
    )
    assert StaticResolver.from_hosts_file(path).resolve("cdn.example.com") == [
        "203.0.113.20",
        "198.51.100.20",
        "2001:db8::20",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("203.0.113.1 ok.example.com\nnot-an-ip bad.example.com\n", "line 2: 'not-an-ip' is not"),
        ("203.0.113.1\n", "line 1: address 203.0.113.1 is followed by no host name"),
        ("# fine\n\n203.0.113.300 x.example.com\n", "line 3: '203.0.113.300' is not an IP"),
        ("203.0.113.1 ok.example.com 198.51.100.1\n", "line 1: '198.51.100.1' is an IP address"),
        ("203.0.113.1 bad/name.example.com\n", "line 1: 'bad/name.example.com' is not a valid"),
        ("203.0.113.1 a..example.com\n", "line 1: 'a..example.com' is not a valid host name"),
        ("[2001:db8::1] x.example.com\n", "line 1: '[2001:db8::1]' is not an IP address"),
    ],
)
def test_bad_hosts_line_names_its_number(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ValueError, match="line") as caught:
        StaticResolver.from_hosts_file(path)
    assert str(caught.value).startswith(f"{path}, ")
    assert message in str(caught.value)


def test_hosts_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "hosts"
    path.write_bytes(b"203.0.113.1 ok.example.com\n203.0.113.2 caf\xe9.example.com\n")
    with pytest.raises(ValueError, match=r"line 2: not UTF-8 text"):
        StaticResolver.from_hosts_file(path)


def test_unknown_host_is_not_found() -> None:
    resolver = StaticResolver({"shop.example.com": ["203.0.113.10"]})
    with pytest.raises(HostNotFound) as caught:
        resolver.resolve("other.example.com")
    assert caught.value.host == "other.example.com"
    assert str(caught.value) == "other.example.com: no such host"


@pytest.mark.parametrize(
    "spelling", ["shop.example.com", "SHOP.Example.COM", "shop.example.com.", " Shop.example.com. "]
)
def test_case_and_trailing_dot_are_ignored(spelling: str) -> None:
    resolver = StaticResolver({"Shop.Example.com.": ["203.0.113.10"]})
    assert resolver.resolve(spelling) == ["203.0.113.10"]


def test_idn_names_compare_in_punycode(tmp_path: Path) -> None:
    path = write(
        tmp_path, "203.0.113.30 bücher.example.com\n198.51.100.30 xn--mnchen-3ya.example\n"
    )
    resolver = StaticResolver.from_hosts_file(path)
    for spelling in ("bücher.example.com", "BÜCHER.example.com", "xn--bcher-kva.example.com"):
        assert resolver.resolve(spelling) == ["203.0.113.30"]
    assert resolver.resolve("münchen.example") == ["198.51.100.30"]


@pytest.mark.parametrize(
    "resolver", [StaticResolver({}), SystemResolver()], ids=["static", "system"]
)
@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        ("203.0.113.5", "203.0.113.5"),
        ("2001:db8::5", "2001:db8::5"),
        ("[2001:DB8:0::5]", "2001:db8::5"),
        ("127.0.0.1", "127.0.0.1"),
    ],
)
def test_ip_literal_resolves_to_itself(resolver: Resolver, literal: str, expected: str) -> None:
    assert resolver.resolve(literal) == [expected]


def test_invalid_host_name_is_not_found() -> None:
    with pytest.raises(HostNotFound, match="not a valid host name"):
        StaticResolver({}).resolve("exa mple.com")
    with pytest.raises(HostNotFound, match="not a valid host name"):
        SystemResolver().resolve("exa mple.com")


def test_static_table_refuses_a_bad_address() -> None:
    with pytest.raises(ValueError, match=r"address 'nope' of 'shop.example.com' is not an IP"):
        StaticResolver({"shop.example.com": ["nope"]})


# --- SystemResolver ---------------------------------------------------------------------------


def test_system_resolver_on_localhost() -> None:
    addresses = SystemResolver().resolve("localhost")
    assert addresses
    assert all(ipaddress.ip_address(a).is_loopback for a in addresses)
    assert len(set(addresses)) == len(addresses)
    versions = [ipaddress.ip_address(a).version for a in addresses]
    assert versions == sorted(versions)


@pytest.mark.parametrize("name", ["nothing.invalid", "Shop.Example.INVALID.", "invalid"])
def test_system_resolver_invalid_tld_does_not_exist(name: str) -> None:
    with pytest.raises(HostNotFound) as caught:
        SystemResolver().resolve(name)
    assert caught.value.host == name


def fake_getaddrinfo(monkeypatch: pytest.MonkeyPatch, behaviour: Any) -> list[str]:
    """Replace getaddrinfo for one test; returns the list of names it was asked."""
    asked: list[str] = []

    def getaddrinfo(host: str, *_args: Any, **_kwargs: Any) -> Any:
        asked.append(host)
        return behaviour(host)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def raiser(exc: BaseException) -> Any:
    def behaviour(_host: str) -> Any:
        raise exc

    return behaviour


@pytest.mark.parametrize("code", ["EAI_NONAME", "EAI_NODATA"])
def test_system_resolver_maps_no_such_name(monkeypatch: pytest.MonkeyPatch, code: str) -> None:
    if not hasattr(socket, code):
        pytest.skip(f"{code} does not exist on this platform")
    fake_getaddrinfo(monkeypatch, raiser(socket.gaierror(getattr(socket, code), "no such name")))
    with pytest.raises(HostNotFound):
        SystemResolver().resolve("gone.example.com")


def test_system_resolver_maps_temporary_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_getaddrinfo(
        monkeypatch,
        raiser(socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")),
    )
    with pytest.raises(ResolveFailed) as caught:
        SystemResolver().resolve("shop.example.com")
    assert caught.value.host == "shop.example.com"
    assert caught.value.reason == "system DNS failed: Temporary failure in name resolution"


def test_system_resolver_gives_up_after_its_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()

    def hang(_host: str) -> Any:
        release.wait(30)
        raise socket.gaierror(socket.EAI_AGAIN, "released")

    fake_getaddrinfo(monkeypatch, hang)
    started = time.monotonic()
    try:
        with pytest.raises(ResolveFailed) as caught:
            SystemResolver(timeout=0.2).resolve("slow.example.com")
    finally:
        release.set()
    assert caught.value.reason == "no answer from system DNS within 0.2 s"
    assert time.monotonic() - started < 10  # a hang guard, not a timing claim


def test_system_resolver_orders_and_dedupes_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    stream, tcp = socket.SOCK_STREAM, socket.IPPROTO_TCP
    answers = [
        (socket.AF_INET6, stream, tcp, "", ("2001:db8::1", 0, 0, 0)),
        (socket.AF_INET, stream, tcp, "", ("203.0.113.1", 0)),
        (socket.AF_INET6, stream, tcp, "", ("2001:db8:0::1", 0, 0, 0)),
        (socket.AF_INET, stream, tcp, "", ("198.51.100.1", 0)),
        (socket.AF_INET, stream, tcp, "", ("203.0.113.1", 0)),
    ]
    asked = fake_getaddrinfo(monkeypatch, lambda _host: answers)
    result = SystemResolver().resolve("Shop.Example.com.")
    assert result == ["203.0.113.1", "198.51.100.1", "2001:db8::1"]
    assert asked == ["shop.example.com"]


def test_system_resolver_asks_for_idn_in_punycode(monkeypatch: pytest.MonkeyPatch) -> None:
    answer = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("203.0.113.9", 0))]
    asked = fake_getaddrinfo(monkeypatch, lambda _host: answer)
    assert SystemResolver().resolve("Bücher.example.com") == ["203.0.113.9"]
    assert asked == ["xn--bcher-kva.example.com"]


def test_system_resolver_timeout_must_be_positive() -> None:
    with pytest.raises(ValueError, match="timeout must be more than 0"):
        SystemResolver(timeout=0)


# --- make_resolver ----------------------------------------------------------------------------


def test_make_resolver_uses_the_hosts_file_when_set(tmp_path: Path) -> None:
    path = write(tmp_path, "203.0.113.10 shop.example.com\n")
    resolver = make_resolver(Settings(data_dir=tmp_path, resolver_hosts_file=path))
    assert isinstance(resolver, StaticResolver)
    assert resolver.resolve("shop.example.com") == ["203.0.113.10"]
    assert isinstance(make_resolver(Settings(data_dir=tmp_path)), SystemResolver)


def test_hosts_file_setting_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "203.0.113.10 shop.example.com\n")
    monkeypatch.setenv("TASKFORCE_RESOLVER_HOSTS_FILE", str(path))
    assert Settings(data_dir=tmp_path).resolver_hosts_file == path


# --- refusal ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ip", "reason"),
    [
        ("127.0.0.1", "127.0.0.1 is a loopback address"),
        ("127.8.9.10", "127.8.9.10 is a loopback address"),
        ("10.1.2.3", "10.1.2.3 is a private address"),
        ("172.16.0.1", "172.16.0.1 is a private address"),
        ("192.168.1.1", "192.168.1.1 is a private address"),
        ("169.254.169.254", "169.254.169.254 is link-local"),
        ("100.64.0.1", "100.64.0.1 is shared address space (CGNAT)"),
        ("203.0.113.7", "203.0.113.7 is reserved for documentation"),
        ("198.51.100.7", "198.51.100.7 is reserved for documentation"),
        ("192.0.2.7", "192.0.2.7 is reserved for documentation"),
        ("224.0.0.251", "224.0.0.251 is a multicast address"),
        ("0.0.0.0", "0.0.0.0 is the unspecified address"),  # noqa: S104 - an address judged
        ("0.1.2.3", "0.1.2.3 is in 0.0.0.0/8 ('this network')"),
        ("240.0.0.1", "240.0.0.1 is reserved"),
        ("255.255.255.255", "255.255.255.255 is the broadcast address"),
        ("198.18.0.1", "198.18.0.1 is reserved for network benchmarks"),
        ("::1", "::1 is a loopback address"),
        ("::", ":: is the unspecified address"),
        ("fe80::1", "fe80::1 is link-local"),
        ("fe80::1%eth0", "fe80::1%eth0 is link-local"),
        ("fd12:3456::1", "fd12:3456::1 is a unique-local address"),
        ("ff02::1", "ff02::1 is a multicast address"),
        ("2001:db8::1", "2001:db8::1 is reserved for documentation"),
        ("2001::1", "2001::1 is reserved for IETF protocols (Teredo, ORCHID and others)"),
        ("fec0::1", "fec0::1 is a site-local address (deprecated)"),
        ("::7f00:1", "::7f00:1 is a deprecated IPv4-compatible address"),
        ("4000::1", "4000::1 is reserved"),
        (
            "::ffff:127.0.0.1",
            "::ffff:7f00:1 is the IPv4-mapped form of 127.0.0.1, which is a loopback address",
        ),
        (
            "::ffff:169.254.169.254",
            "::ffff:a9fe:a9fe is the IPv4-mapped form of 169.254.169.254, which is link-local",
        ),
        (
            "64:ff9b::10.0.0.1",
            "64:ff9b::a00:1 is the NAT64 form of 10.0.0.1, which is a private address",
        ),
        (
            "2002:7f00:1::",
            "2002:7f00:1:: is the 6to4 form of 127.0.0.1, which is a loopback address",
        ),
        (
            "2002:cb00:7107::1",
            "2002:cb00:7107::1 is the 6to4 form of 203.0.113.7, "
            "which is reserved for documentation",
        ),
        ("x", "'x' is not an IP address"),
        ("", "'' is not an IP address"),
        ("example.com", "'example.com' is not an IP address"),
    ],
)
def test_refused_addresses(ip: str, reason: str) -> None:
    assert refusal(ip) == reason


@pytest.mark.parametrize(
    "ip",
    [
        # example.com's own addresses (IANA): public unicast, and never contacted here
        "93.184.215.14",
        "2606:2800:21f:cb07:6820:80da:af6b:8b2c",
        "::ffff:93.184.215.14",
        "64:ff9b::93.184.215.14",
        "2002:5db8:d70e::1",
    ],
)
def test_public_addresses_pass(ip: str) -> None:
    assert refusal(ip) is None


def test_allow_list_admits_lab_networks() -> None:
    allow = [ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("2001:db8::/32")]
    assert refusal("127.0.0.1", allow) is None
    assert refusal("::ffff:127.0.0.1", allow) is None  # judged by the IPv4 address inside
    assert refusal("2001:db8::44", allow) is None
    assert refusal("127.0.0.2", allow) == "127.0.0.2 is a loopback address"
    assert refusal("10.0.0.1", allow) == "10.0.0.1 is a private address"
    assert refusal("nope", allow) == "'nope' is not an IP address"
