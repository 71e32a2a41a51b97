"""Addresses and network blocks: parsing, the registry country (iptocc), and where an address is
hosted (`locate`).

Blocks are stored as bounds in the IPv6-mapped space (IPv4 a.b.c.d is ::ffff:a.b.c.d), as 32
hex digits, so one range query works on both databases. Blocks may nest or overlap; the longest
prefix holding the address wins. Every block is a CIDR (its first address has no host bits), so
a block of length p that holds x starts at x with its last 128-p bits cleared: the lookup asks
the `first` index for those at most 129 values instead of scanning every block that starts
below x."""

from __future__ import annotations

import importlib.metadata
import ipaddress
import json
import re
import uuid
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Protocol

import iptocc
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from taskforce.core.caller import Caller, Permission
from taskforce.core.errors import Invalid
from taskforce.hosting.models import HostingNetwork, HostingProvider

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_MAPPED = 0xFFFF << 32  # ::ffff:0.0.0.0, where IPv4 lives in the IPv6-mapped space
_ADDRESS_RULE = "must be an IPv4 or IPv6 address"
_NETWORK_RULE = "must be a network in CIDR notation, like 203.0.113.0/24 or 2001:db8::/32"
# --- the registry (iptocc) -------------------------------------------------------------------


class _Distribution(Protocol):
    @property
    def version(self) -> str: ...

    @property
    def files(self) -> list[importlib.metadata.PackagePath] | None: ...


def describe_data_source(dist: _Distribution | None) -> str:
    """ "RIR delegated statistics via iptocc 3.3.170 (data of 2026-10-27)": the version of the
    installed wheel, the date its software bill of materials was made (the data is built in)."""
    if dist is None:
        return "RIR delegated statistics via iptocc (version unknown, data date unknown)"
    built = _sbom_date(dist)
    when = f"data of {built}" if built else "data date unknown"
    return f"RIR delegated statistics via iptocc {dist.version} ({when})"


def _sbom_date(dist: _Distribution) -> str | None:
    for path in dist.files or ():
        parts = path.parts
        if len(parts) < 3 or parts[-2] != "sboms" or not parts[0].endswith(".dist-info"):
            continue
        if not path.name.endswith(".cyclonedx.json"):
            continue
        try:
            stamp = json.loads(path.read_text(encoding="utf-8"))["metadata"]["timestamp"]
            return date.fromisoformat(str(stamp)[:10]).isoformat()
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return None


@lru_cache(maxsize=1)
def _data_source() -> str:
    try:
        return describe_data_source(importlib.metadata.distribution("iptocc"))
    except importlib.metadata.PackageNotFoundError:
        return describe_data_source(None)


DATA_SOURCE: str = _data_source()


def parse_address(ip: str | IPAddress, field_name: str = "ip") -> IPAddress:
    """An address from text (spaces and [brackets] around it allowed); an IPv4-mapped IPv6
    address (::ffff:8.8.8.8) is its IPv4 address."""
    if isinstance(ip, str):
        text = ip.strip()
        if text.startswith("[") and text.endswith("]"):
            text = text[1:-1]
        if not text or len(text) > 64:
            raise Invalid(field_name, _ADDRESS_RULE)
        try:
            address: IPAddress = ipaddress.ip_address(text)
        except ValueError:
            raise Invalid(field_name, _ADDRESS_RULE) from None
    else:
        address = ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            address = ipaddress.IPv6Address(address.compressed.split("%", 1)[0])
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
    return address


def registry_country(ip: str | IPAddress) -> str | None:
    """The country the address's block is registered in at its RIR (ISO alpha-2), or None for
    private, reserved and unallocated space. A malformed address is `Invalid("ip", ...)`."""
    address = parse_address(ip)
    country = iptocc.country_code(str(address))
    return country.upper() if country else None


_DOCUMENTATION = tuple(
    ipaddress.ip_network(n)
    for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32", "3fff::/20")
)
_SHARED = ipaddress.ip_network("100.64.0.0/10")


def _why_unregistered(address: IPAddress) -> str:
    """Why the registry has no country for an address, in words."""
    if any(address in n for n in _DOCUMENTATION if n.version == address.version):
        return "address reserved for documentation"
    if address.is_loopback:
        return "loopback address"
    if address.is_unspecified:
        return "unspecified address"
    if address.is_link_local:
        return "link-local address"
    if address.is_multicast:
        return "multicast address"
    if isinstance(address, ipaddress.IPv4Address) and address in _SHARED:
        return "shared address space of carrier-grade NAT"
    if address.is_private:
        return "private network address"
    if address.is_reserved:
        return "reserved address"
    return f"not in the {DATA_SOURCE}"


# --- addresses and blocks in the IPv6-mapped space --------------------------------------------


def _key(address: IPAddress) -> int:
    if isinstance(address, ipaddress.IPv4Address):
        return _MAPPED | int(address)
    return int(address)


def _hex(value: int) -> str:
    return f"{value:032x}"


def parse_network(text: str, field_name: str = "network") -> IPNetwork:
    """A block in CIDR notation; host bits set are refused (say which block was meant). An
    IPv4-mapped IPv6 block (::ffff:203.0.113.0/120) is the IPv4 block it maps."""
    raw = text.strip()
    if "/" not in raw:
        if raw and len(raw) <= 64:
            try:
                ipaddress.ip_address(raw)
            except ValueError:
                pass
            else:
                raise Invalid(field_name, "must give a prefix length, like 203.0.113.0/24")
        raise Invalid(field_name, _NETWORK_RULE)
    if len(raw) > 49:
        raise Invalid(field_name, _NETWORK_RULE)
    try:
        network: IPNetwork = ipaddress.ip_network(raw, strict=True)
    except ValueError:
        try:
            loose = ipaddress.ip_network(raw, strict=False)
        except ValueError:
            raise Invalid(field_name, _NETWORK_RULE) from None
        raise Invalid(field_name, f"has host bits set: the block is {loose}") from None
    if isinstance(network, ipaddress.IPv6Network) and network.prefixlen >= 96:
        mapped = network.network_address.ipv4_mapped
        if mapped is not None:
            return ipaddress.IPv4Network((mapped, network.prefixlen - 96))
    return network


@dataclass(frozen=True)
class Bounds:
    first: str
    last: str
    prefix_length: int  # in the IPv6-mapped space


def bounds(network: IPNetwork) -> Bounds:
    if isinstance(network, ipaddress.IPv4Network):
        return Bounds(
            _hex(_MAPPED | int(network.network_address)),
            _hex(_MAPPED | int(network.broadcast_address)),
            96 + network.prefixlen,
        )
    return Bounds(
        _hex(int(network.network_address)),
        _hex(int(network.broadcast_address)),
        network.prefixlen,
    )


_IPV4_CIDR = re.compile(r"^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})/(\d{1,2})$")


def parse_cidr(text: str, field_name: str = "network") -> tuple[str, Bounds]:
    """The canonical CIDR text and bounds of a block, by the rules of `parse_network`; plain
    IPv4 blocks are read without `ipaddress`, which costs more than the rest of an import line."""
    match = _IPV4_CIDR.match(text.strip())
    if match:
        octets = match.groups()[:4]
        length = int(match.group(5))
        if length <= 32 and all(o == "0" or (o[0] != "0" and int(o) <= 255) for o in octets):
            value = sum(int(o) << shift for o, shift in zip(octets, (24, 16, 8, 0), strict=True))
            size = 1 << (32 - length)
            if value % size == 0:
                first = _MAPPED | value
                return f"{'.'.join(octets)}/{length}", Bounds(
                    _hex(first), _hex(first + size - 1), 96 + length
                )
    network = parse_network(text, field_name)
    return str(network), bounds(network)


def _starts(x: int) -> list[str]:
    """Where a block of each length 0..128 holding x would start."""
    return sorted({_hex((x >> (128 - p)) << (128 - p)) for p in range(129)})


_LONGEST_PREFIX = (
    select(HostingNetwork)
    .where(
        HostingNetwork.first.in_(bindparam("starts", expanding=True)),
        HostingNetwork.last >= bindparam("x"),
    )
    .order_by(HostingNetwork.prefix_length.desc())
    .limit(1)
)  # built once: building it costs more than running it


def find_network(session: Session, ip: str | IPAddress) -> HostingNetwork | None:
    """The longest-prefix block of the network table holding the address, or None."""
    x = _key(parse_address(ip))
    return session.scalar(_LONGEST_PREFIX, {"starts": _starts(x), "x": _hex(x)})


# --- where is it hosted -------------------------------------------------------------------------


@dataclass(frozen=True)
class Location:
    """Where an address is hosted, who to send the notice to, and why (`steps`)."""

    ip: str
    registry_country: str | None
    network: str | None  # the block's CIDR
    network_country: str | None
    provider_id: uuid.UUID | None
    provider_name: str | None
    asn: int | None
    abuse_email: str | None
    country: str | None  # the hosting country routing uses
    country_source: str | None  # "registry" | "network table" | "provider" | None
    steps: tuple[str, ...]


def locate(session: Session, ip: str | IPAddress) -> Location:
    """Registry country, network block and provider of an address, and the hosting country by
    the rule: registry, else the block's country, else the provider's. No permission check
    (routing calls it for the public's reports); pages and the API use `locate_address`."""
    address = parse_address(ip)
    text = str(address)
    steps: list[str] = []
    registry = iptocc.country_code(text)
    registry = registry.upper() if registry else None
    if registry:
        steps.append(f"{DATA_SOURCE}: {text} is registered in {registry}")
    else:
        steps.append(f"{text}: no registry country ({_why_unregistered(address)})")

    network = find_network(session, address)
    provider = session.get(HostingProvider, network.provider_id) if network else None
    if network is None or provider is None:
        steps.append(f"network table: no block holds {text}; the hosting provider is not known")
    else:
        asn = f" (AS{provider.asn})" if provider.asn else ""
        contact = (
            f"abuse contact {provider.abuse_email}"
            if provider.abuse_email
            else "no abuse contact on record, so no takedown notice can be sent to it"
        )
        steps.append(f"network table: {network.cidr} belongs to {provider.name}{asn}, {contact}")
        if network.country:
            steps.append(f"network table: {network.cidr} is used in {network.country}")

    network_country = network.country if network else None
    provider_country = provider.country if provider else None
    country: str | None
    source: str | None
    if registry:
        country, source = registry, "registry"
        steps.append(f"hosting country {registry}, from the registry (who can act on a notice)")
        if network_country and network_country != registry:
            steps.append(f"the network table says {network_country}; the registry country is used")
    elif network_country:
        country, source = network_country, "network table"
        steps.append(f"hosting country {network_country}, from the network table")
    elif provider_country:
        country, source = provider_country, "provider"
        assert provider is not None
        steps.append(f"hosting country {provider_country}, where {provider.name} is registered")
    else:
        country, source = None, None
        steps.append("no hosting country: neither the registry nor the network table gives one")
    return Location(
        ip=text,
        registry_country=registry,
        network=network.cidr if network else None,
        network_country=network_country,
        provider_id=provider.id if provider else None,
        provider_name=provider.name if provider else None,
        asn=provider.asn if provider else None,
        abuse_email=provider.abuse_email if provider else None,
        country=country,
        country_source=source,
        steps=tuple(steps),
    )


def locate_address(session: Session, caller: Caller, ip: str) -> Location:
    """`locate` for a member looking an address up (pages, API, console): needs READ."""
    caller.require(Permission.READ)
    return locate(session, ip)
