"""Host name resolution that can be swapped out, and the rule for which addresses may be reached.

Hosting-country routing and URL re-checks both turn a host name into addresses. They do it
through a `Resolver`, so that an air-gapped lab, the demo and the tests can answer every name from
a hosts-format file (`TASKFORCE_RESOLVER_HOSTS_FILE`) instead of DNS.

Rules every resolver keeps:

1. `resolve()` returns distinct IP address strings in canonical form, IPv4 before IPv6, otherwise
   in the order found, so routing steps read the same on every run.
2. A name that does not exist (NXDOMAIN, or no address) raises `HostNotFound`; a temporary failure
   or a timeout raises `ResolveFailed`. The two differ for the caller: a vanished host means the
   reported content is gone, a failing resolver means "try again later".
3. Names are compared case-insensitively, a trailing dot is ignored and internationalised names
   are compared in their punycode (IDNA 2008 with UTS 46 mapping), so `Shop.Example.COM.` and
   `shop.example.com` are one host.
4. An IP literal given as the host (`203.0.113.7`, `[2001:db8::1]`) resolves to itself.
5. Names under `.invalid` never exist (RFC 6761 section 6.4): they are answered without asking DNS.

`refusal()` says whether taskforce may open a connection to an address: only globally routable
unicast addresses pass. IPv4 addresses wrapped in IPv6 (IPv4-mapped, NAT64, 6to4) are judged by the
IPv4 address inside, since that is where the packets end up. Networks named in an allow-list (labs
and tests) pass too.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import NoReturn, Protocol

import idna

from taskforce.core.settings import Settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

__all__ = [
    "Address",
    "HostNotFound",
    "Network",
    "ResolveFailed",
    "Resolver",
    "StaticResolver",
    "SystemResolver",
    "make_resolver",
    "refusal",
]


class HostNotFound(Exception):
    """The name does not exist, or has no address: for a reported URL, its host is gone."""

    def __init__(self, host: str, detail: str = "no such host") -> None:
        super().__init__(f"{host}: {detail}")
        self.host = host


class ResolveFailed(Exception):
    """Resolution failed for now (timeout, unreachable name server): ask again later."""

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(f"{host}: {reason}")
        self.host = host
        self.reason = reason


class Resolver(Protocol):
    """Turns a host name into addresses; see the module docstring for the rules."""

    name: str
    """Shown to analysts in routing steps, e.g. "system DNS"."""

    def resolve(self, host: str) -> list[str]: ...


# --- host names -----------------------------------------------------------------------------

_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")


def _ip_literal(host: str) -> Address | None:
    text = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _canonical_name(host: str) -> str:
    """Lower-case ASCII (punycode) form without trailing dot; ValueError if no host can have it.

    ASCII names are only lower-cased, not run through IDNA, which would refuse the underscores that
    internal names and hosts files often carry.
    """
    name = host.strip().rstrip(".")
    if not name.isascii():
        try:
            name = idna.encode(name, uts46=True).decode("ascii")
        except idna.IDNAError as exc:
            raise ValueError(f"{host!r} is not a valid host name ({exc})") from None
    name = name.lower()
    labels = name.split(".")
    if not name or len(name) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise ValueError(f"{host!r} is not a valid host name")
    return name


def _ordered(addresses: Iterable[Address]) -> list[str]:
    """Distinct, IPv4 first, otherwise in the order given (rule 1)."""
    seen: dict[str, Address] = {}
    for address in addresses:
        seen.setdefault(str(address), address)
    return [text for text, address in sorted(seen.items(), key=lambda item: item[1].version)]


# --- system DNS -----------------------------------------------------------------------------

_NOT_FOUND_ERRORS = {
    code
    for code in (getattr(socket, "EAI_NONAME", None), getattr(socket, "EAI_NODATA", None))
    if code is not None
}


class SystemResolver:
    """The operating system's resolver (hosts file, DNS) with a time limit.

    `getaddrinfo` has no timeout of its own, so it runs in a daemon thread that is abandoned, not
    joined, when the limit passes; a hung lookup therefore cannot hold a check or keep the process
    from exiting.
    """

    name: str = "system DNS"

    def __init__(self, timeout: float = 5.0) -> None:
        if not timeout > 0:
            raise ValueError(f"timeout must be more than 0 seconds, not {timeout}")
        self.timeout = timeout

    def resolve(self, host: str) -> list[str]:
        literal = _ip_literal(host.strip())
        if literal is not None:
            return [str(literal)]
        try:
            name = _canonical_name(host)
        except ValueError:
            raise HostNotFound(host, "not a valid host name") from None
        if name == "invalid" or name.endswith(".invalid"):
            raise HostNotFound(host)
        answer: list[tuple[object, ...]] = []
        failure: list[BaseException] = []
        done = threading.Event()

        def lookup() -> None:
            try:
                answer.extend(
                    entry[4] for entry in socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)
                )
            except BaseException as exc:  # handed to the waiting thread, which judges it
                failure.append(exc)
            finally:
                done.set()

        threading.Thread(target=lookup, name=f"resolve {name}", daemon=True).start()
        if not done.wait(self.timeout):
            raise ResolveFailed(host, f"no answer from {self.name} within {self.timeout:g} s")
        if failure:
            self._raise_for(host, failure[0])
        addresses = [ipaddress.ip_address(str(sockaddr[0])) for sockaddr in answer]
        if not addresses:
            raise HostNotFound(host, "no address")
        return _ordered(addresses)

    def _raise_for(self, host: str, exc: BaseException) -> NoReturn:
        if isinstance(exc, socket.gaierror):
            if exc.errno in _NOT_FOUND_ERRORS:
                raise HostNotFound(host) from None
            raise ResolveFailed(host, f"{self.name} failed: {exc.strerror or exc}") from None
        if isinstance(exc, UnicodeError):  # a label Python's idna codec will not encode
            raise HostNotFound(host, "not a valid host name") from None
        if isinstance(exc, OSError):
            raise ResolveFailed(host, f"{self.name} failed: {exc}") from None
        raise exc


# --- static table (hosts file) --------------------------------------------------------------


class StaticResolver:
    """A fixed table of names, for air-gapped labs, the demo and tests: no other name exists."""

    def __init__(
        self, hosts: Mapping[str, Sequence[str]], *, name: str = "static host table"
    ) -> None:
        self.name = name
        table: dict[str, list[Address]] = {}
        for host, ips in hosts.items():
            key = _canonical_name(host)
            for ip in ips:
                try:
                    table.setdefault(key, []).append(ipaddress.ip_address(ip))
                except ValueError:
                    raise ValueError(f"address {ip!r} of {host!r} is not an IP address") from None
        self._table = {key: _ordered(addresses) for key, addresses in table.items() if addresses}

    @classmethod
    def from_hosts_file(cls, path: Path | str) -> StaticResolver:
        """Read `/etc/hosts` format: `IP name [name...]`, `#` starts a comment.

        A name on several lines gets every address of those lines (so IPv4 and IPv6 can sit on
        lines of their own, as `localhost` does). A bad line stops the read with a ValueError that
        names the file and line: a lab must not run half-configured.
        """
        path = Path(path)
        hosts: dict[str, list[str]] = {}
        for number, raw in enumerate(path.read_bytes().splitlines(), start=1):
            where = f"{path}, line {number}"
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise ValueError(f"{where}: not UTF-8 text") from None
            fields = line.split("#", 1)[0].split()
            if not fields:
                continue
            ip, names = fields[0], fields[1:]
            if _ip_literal(ip) is None or ip.startswith("["):
                raise ValueError(f"{where}: {ip!r} is not an IP address")
            if not names:
                raise ValueError(f"{where}: address {ip} is followed by no host name")
            for name in names:
                if _ip_literal(name) is not None:
                    raise ValueError(f"{where}: {name!r} is an IP address, not a host name")
                try:
                    key = _canonical_name(name)
                except ValueError as exc:
                    raise ValueError(f"{where}: {exc}") from None
                hosts.setdefault(key, []).append(ip)
        return cls(hosts, name=f"static hosts file {path}")

    def resolve(self, host: str) -> list[str]:
        literal = _ip_literal(host.strip())
        if literal is not None:
            return [str(literal)]
        try:
            key = _canonical_name(host)
        except ValueError:
            raise HostNotFound(host, "not a valid host name") from None
        addresses = self._table.get(key)
        if addresses is None:
            raise HostNotFound(host)
        return list(addresses)


def make_resolver(settings: Settings) -> Resolver:
    """The resolver settings ask for: the hosts file when one is set, else the system's DNS."""
    if settings.resolver_hosts_file is not None:
        return StaticResolver.from_hosts_file(settings.resolver_hosts_file)
    return SystemResolver()


# --- which addresses may be reached ----------------------------------------------------------


def _v4_nets(*pairs: tuple[str, str]) -> list[tuple[ipaddress.IPv4Network, str]]:
    return [(ipaddress.IPv4Network(net), why) for net, why in pairs]


def _v6_nets(*pairs: tuple[str, str]) -> list[tuple[ipaddress.IPv6Network, str]]:
    return [(ipaddress.IPv6Network(net), why) for net, why in pairs]


# First match wins, so narrower networks come before the wider ones that hold them.
_IPV4_RULES = _v4_nets(
    ("0.0.0.0/32", "the unspecified address"),
    ("0.0.0.0/8", "in 0.0.0.0/8 ('this network')"),
    ("10.0.0.0/8", "a private address"),
    ("100.64.0.0/10", "shared address space (CGNAT)"),
    ("127.0.0.0/8", "a loopback address"),
    ("169.254.0.0/16", "link-local"),
    ("172.16.0.0/12", "a private address"),
    ("192.0.0.0/24", "reserved for IETF protocol assignments"),
    ("192.0.2.0/24", "reserved for documentation"),
    ("192.88.99.0/24", "reserved (deprecated 6to4 relay anycast)"),
    ("192.168.0.0/16", "a private address"),
    ("198.18.0.0/15", "reserved for network benchmarks"),
    ("198.51.100.0/24", "reserved for documentation"),
    ("203.0.113.0/24", "reserved for documentation"),
    ("224.0.0.0/4", "a multicast address"),
    ("255.255.255.255/32", "the broadcast address"),
    ("240.0.0.0/4", "reserved"),
)
_IPV6_RULES = _v6_nets(
    ("::/128", "the unspecified address"),
    ("::1/128", "a loopback address"),
    ("::/96", "a deprecated IPv4-compatible address"),
    ("100::/64", "a discard-only address"),
    ("64:ff9b:1::/48", "a local-use NAT64 address"),
    ("2001::/23", "reserved for IETF protocols (Teredo, ORCHID and others)"),
    ("2001:db8::/32", "reserved for documentation"),
    ("3fff::/20", "reserved for documentation"),
    ("fc00::/7", "a unique-local address"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "a site-local address (deprecated)"),
    ("ff00::/8", "a multicast address"),
)
_GLOBAL_UNICAST_V6 = ipaddress.IPv6Network("2000::/3")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _why_v4(address: ipaddress.IPv4Address) -> str | None:
    for network, why in _IPV4_RULES:
        if address in network:
            return why
    return None if address.is_global else "not a globally routable address"


def _why_v6(address: ipaddress.IPv6Address) -> str | None:
    for network, why in _IPV6_RULES:
        if address in network:
            return why
    if address not in _GLOBAL_UNICAST_V6:
        return "reserved"
    return None if address.is_global else "not a globally routable address"


def _embedded_v4(address: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, str] | None:
    """The IPv4 address an IPv6 form carries to, and the name of that form."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped, "IPv4-mapped"
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF), "NAT64"
    if address.sixtofour is not None:
        return address.sixtofour, "6to4"
    return None


def refusal(ip: str, allow: Sequence[Network] = ()) -> str | None:
    """None if taskforce may connect to `ip`; otherwise why not, in plain words.

    An address inside an `allow` network is accepted whatever it is (labs, tests); for a wrapped
    IPv4 address, the IPv4 address inside may be allowed too.
    """
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return f"{ip!r} is not an IP address"
    if any(address in network for network in allow):
        return None
    if isinstance(address, ipaddress.IPv4Address):
        why = _why_v4(address)
        return None if why is None else f"{address} is {why}"
    embedded = _embedded_v4(address)
    if embedded is not None:
        inner, form = embedded
        if any(inner in network for network in allow):
            return None
        why = _why_v4(inner)
        return None if why is None else f"{address} is the {form} form of {inner}, which is {why}"
    why = _why_v6(address)
    return None if why is None else f"{address} is {why}"
