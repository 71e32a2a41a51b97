"""Hosting providers, their networks and abuse contacts, and where an address is hosted.

A public report of a URL goes to the hotline of the country where the content is hosted, and
the takedown notice to the hosting provider's abuse contact. Two offline sources answer "where":

- the **registry**: the RIR delegated statistics shipped in the `iptocc` wheel give the country
  an address block is *registered* in (who can act on a notice), with no provider;
- the **network table** (`HostingNetwork`): blocks an administrator imported or an analyst
  entered, each belonging to a `HostingProvider` with its ASN, country and abuse e-mail.

The hosting country routing uses is, in this order: the registry country (the jurisdiction
that can act on the notice); else the country recorded for the network block; else the
provider's country. `locate` returns that decision with the sentences that explain it.

Blocks are stored as bounds in the IPv6-mapped space (IPv4 a.b.c.d is ::ffff:a.b.c.d), as 32
hex digits, so one range query works on both databases. Blocks may nest or overlap (a provider's
/20 and a customer's /26 inside it); the longest prefix holding the address wins. Every block
is a CIDR (its first address has no host bits), so a block of length p that holds x starts at x
with its last 128-p bits cleared: the lookup asks the `first` index for those at most 129 values
instead of scanning every block that starts below x.

The directory is reference data like the agency directory: every member may read it (READ),
reads are not audited; changes need MANAGE_HOSTING and each is audited. A provider's record is
kept by the agency that registered it: anyone else's change becomes a proposal to its keeper or
the network's stewards (`stewardship.py`), and an import leaves such lines out, as bad lines.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.metadata
import ipaddress
import json
import re
import uuid
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from itertools import chain
from pathlib import Path
from typing import IO, Any, Protocol, cast

import iptocc
import pycountry
from sqlalchemy import Table, bindparam, func, insert, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from taskforce.agencies.models import Agency
from taskforce.agencies.service import normalise_email
from taskforce.cases.schemas import LineError
from taskforce.core import budgets
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.caller import Caller, Permission
from taskforce.core.db import is_postgres, utcnow
from taskforce.core.errors import Conflict, Invalid, NotFound
from taskforce.core.proposals import service as proposals
from taskforce.core.proposals.models import ChangeProposal
from taskforce.core.text import RULE as UNSTORABLE
from taskforce.core.text import unstorable
from taskforce.hosting import stewardship
from taskforce.hosting.models import HostingNetwork, HostingProvider
from taskforce.hosting.schemas import (
    ASN_MAX,
    ImportReport,
    NetworkRead,
    ProviderCreate,
    ProviderPage,
    ProviderRead,
    ProviderSummary,
    ProviderUpdate,
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_MAPPED = 0xFFFF << 32  # ::ffff:0.0.0.0, where IPv4 lives in the IPv6-mapped space
_ADDRESS_RULE = "must be an IPv4 or IPv6 address"
_NETWORK_RULE = "must be a network in CIDR notation, like 203.0.113.0/24 or 2001:db8::/32"
_ASN_RULE = f"must be an AS number from 1 to {ASN_MAX}, like 64500 or AS64500"
_COUNTRY_RULE = "must be an ISO 3166-1 alpha-2 code like GB or NL"
_ASN_RE = re.compile(r"^(?:AS)?\s*(\d{1,10})$", re.IGNORECASE)

BATCH_SIZE = 5000
ANALYZE_AFTER = 1000  # blocks added or moved by one import before PostgreSQL re-reads statistics
MAX_REPORTED_ERRORS = 1000
_PROVIDERS = cast(Table, HostingProvider.__table__)  # Core inserts: no ORM bookkeeping per row
_NETWORKS = cast(Table, HostingNetwork.__table__)
MAX_LINE = budgets.DEFAULT.max_field  # a longer line is one bad line, its rest never held

# Fictional providers on documentation ranges, for the demo and other domains' tests.
DEMO_NETWORKS = Path(__file__).with_name("demo_networks.csv")


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


# --- field rules -----------------------------------------------------------------------------


def normalise_name(name: str, field_name: str = "name") -> str:
    value = " ".join(name.split())
    if len(value) < 2:
        raise Invalid(field_name, "must be at least 2 characters")
    if len(value) > 200:
        raise Invalid(field_name, "must be at most 200 characters")
    return value


def normalise_asn(value: str | int | None, field_name: str = "asn") -> int | None:
    """An AS number from `64500`, `AS64500` or an int; None for none given."""
    if value is None:
        return None
    if isinstance(value, int):
        number = value
    else:
        text = value.strip()
        if not text:
            return None
        match = _ASN_RE.match(text)
        if match is None:
            raise Invalid(field_name, _ASN_RULE)
        number = int(match.group(1))
    if not 1 <= number <= ASN_MAX:
        raise Invalid(field_name, _ASN_RULE)
    return number


def normalise_country(value: str | None, field_name: str = "country") -> str | None:
    if value is None or not value.strip():
        return None
    code = value.strip().upper()
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        raise Invalid(field_name, _COUNTRY_RULE)
    return code


def normalise_abuse_email(value: str | None, field_name: str = "abuse_email") -> str | None:
    if value is None or not value.strip():
        return None
    if len(value.strip()) > 320:
        raise Invalid(field_name, "must be at most 320 characters")
    return normalise_email(value, field_name)


# --- the provider directory ------------------------------------------------------------------


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _network_counts(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    if not ids:
        return {}
    rows = session.execute(
        select(HostingNetwork.provider_id, func.count())
        .where(HostingNetwork.provider_id.in_(ids))
        .group_by(HostingNetwork.provider_id)
    ).all()
    return {provider_id: int(n) for provider_id, n in rows}


def _summary(provider: HostingProvider, count: int) -> ProviderSummary:
    return ProviderSummary(
        id=provider.id,
        name=provider.name,
        asn=provider.asn,
        country=provider.country,
        abuse_email=provider.abuse_email,
        network_count=count,
        updated_at=provider.updated_at,
    )


def list_providers(
    session: Session,
    caller: Caller,
    *,
    query: str = "",
    without_contact: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> ProviderPage:
    """The directory by name. `query` matches part of a name or abuse e-mail, an AS number
    (64500 or AS64500), a country code, or an address or block (the provider holding it)."""
    caller.require(Permission.READ)
    limit = max(1, min(limit, 500))
    offset = max(0, offset)
    stmt = select(HostingProvider)
    q = " ".join(query.split())[:200]
    if q:
        like = _like(q)
        terms: list[Any] = [
            HostingProvider.name.ilike(like, escape="\\"),
            HostingProvider.abuse_email.ilike(like, escape="\\"),
        ]
        match = _ASN_RE.match(q)
        if match and 1 <= int(match.group(1)) <= ASN_MAX:
            terms.append(HostingProvider.asn == int(match.group(1)))
        if len(q) == 2 and q.isalpha():
            terms.append(HostingProvider.country == q.upper())
        holder = _holder(session, q)
        if holder is not None:
            terms.append(HostingProvider.id == holder)
        stmt = stmt.where(or_(*terms))
    if without_contact:
        stmt = stmt.where(HostingProvider.abuse_email.is_(None))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        stmt.order_by(HostingProvider.name, HostingProvider.id).limit(limit).offset(offset)
    ).all()
    counts = _network_counts(session, [p.id for p in rows])
    return ProviderPage(
        items=[_summary(p, counts.get(p.id, 0)) for p in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


@dataclass(frozen=True)
class DirectorySummary:
    providers: int
    without_contact: int  # providers no takedown notice can be sent to
    networks: int


def directory_summary(session: Session, caller: Caller) -> DirectorySummary:
    caller.require(Permission.READ)
    providers = session.scalar(select(func.count()).select_from(HostingProvider)) or 0
    without = session.scalar(
        select(func.count())
        .select_from(HostingProvider)
        .where(HostingProvider.abuse_email.is_(None))
    )
    networks = session.scalar(select(func.count()).select_from(HostingNetwork)) or 0
    return DirectorySummary(providers=providers, without_contact=without or 0, networks=networks)


def _holder(session: Session, q: str) -> uuid.UUID | None:
    """The provider of the block holding an address (or a block's first address), if any."""
    text = q.split("/", 1)[0] if "/" in q else q
    try:
        address = parse_address(text)
    except Invalid:
        return None
    network = find_network(session, address)
    return network.provider_id if network else None


def _get(session: Session, provider_id: uuid.UUID) -> HostingProvider:
    provider = session.get(HostingProvider, provider_id)
    if provider is None:
        raise NotFound("hosting provider")
    return provider


def get_provider(
    session: Session, caller: Caller, provider_id: uuid.UUID, *, network_limit: int = 1000
) -> ProviderRead:
    """A provider with its networks (IPv4 first, in address order; at most `network_limit`,
    `network_count` says how many there are)."""
    caller.require(Permission.READ)
    return describe(session, _get(session, provider_id), network_limit=network_limit)


def find_provider(session: Session, caller: Caller, ref: str) -> HostingProvider:
    """A provider by id or by name (exact, else the only one of that name in any case)."""
    caller.require(Permission.READ)
    text = " ".join(ref.split())
    try:
        return _get(session, uuid.UUID(text))
    except ValueError:
        pass
    exact = session.scalar(select(HostingProvider).where(HostingProvider.name == text))
    if exact is not None:
        return exact
    stmt = select(HostingProvider).where(func.lower(HostingProvider.name) == text.lower())
    folded = list(session.scalars(stmt.limit(2)))
    if len(folded) == 1:
        return folded[0]
    raise NotFound("hosting provider")


def may_change(session: Session, caller: Caller, provider_id: uuid.UUID) -> bool:
    """Whether the caller's changes to this provider apply at once (it keeps the record, or is a
    steward) or are proposed; False without MANAGE_HOSTING."""
    if not caller.can(Permission.MANAGE_HOSTING):
        return False
    return stewardship.may_change(session, caller, _get(session, provider_id))


def describe(
    session: Session, provider: HostingProvider, *, network_limit: int = 1000
) -> ProviderRead:
    networks = session.scalars(
        select(HostingNetwork)
        .where(HostingNetwork.provider_id == provider.id)
        .order_by(HostingNetwork.first, HostingNetwork.prefix_length)
        .limit(max(0, network_limit))
    ).all()
    count = _network_counts(session, [provider.id]).get(provider.id, 0)
    keeper = (
        session.scalar(select(Agency.code).where(Agency.id == provider.owner_agency_id))
        if provider.owner_agency_id
        else None
    )
    return ProviderRead(
        **_summary(provider, count).model_dump(),
        notes=provider.notes,
        created_at=provider.created_at,
        networks=[NetworkRead.model_validate(n) for n in networks],
        keeper=keeper,
    )


def _name_taken(session: Session, name: str, but: uuid.UUID | None = None) -> None:
    stmt = select(HostingProvider.id).where(HostingProvider.name == name)
    if but is not None:
        stmt = stmt.where(HostingProvider.id != but)
    if session.scalar(stmt) is not None:
        raise Conflict(f"a hosting provider named {name!r} already exists")


def create_provider(session: Session, caller: Caller, data: ProviderCreate) -> HostingProvider:
    caller.require(Permission.MANAGE_HOSTING)
    name = normalise_name(data.name)
    provider = HostingProvider(
        name=name,
        asn=normalise_asn(data.asn),
        country=normalise_country(data.country),
        abuse_email=normalise_abuse_email(data.abuse_email),
        notes=data.notes.strip(),
        owner_agency_id=caller.agency_id,  # its keeper (none: the network's, see stewardship)
    )
    _name_taken(session, name)
    try:
        with session.begin_nested():
            session.add(provider)
            session.flush()
    except IntegrityError:
        raise Conflict(f"a hosting provider named {name!r} already exists") from None
    audit.record(
        session,
        caller,
        action="hosting.provider.create",
        operation=Operation.COLLECTION,
        subject_type="hosting_provider",
        subject_id=provider.id,
        detail={"name": name, "asn": provider.asn, "has_abuse_contact": bool(provider.abuse_email)},
    )
    return provider


def update_provider(
    session: Session, caller: Caller, provider_id: uuid.UUID, data: ProviderUpdate
) -> HostingProvider | ChangeProposal:
    """Change what is sent; `None` for the ASN, country or abuse e-mail clears it. From someone
    who does not keep the record, the change is proposed instead (and returned)."""
    caller.require(Permission.MANAGE_HOSTING)
    provider = _get(session, provider_id)
    fields = data.model_dump(exclude_unset=True)
    values: dict[str, object] = {}
    if fields.get("name") is not None:
        values["name"] = normalise_name(fields["name"])
        _name_taken(session, str(values["name"]), but=provider.id)
    if "asn" in fields:
        values["asn"] = normalise_asn(fields["asn"])
    if "country" in fields:
        values["country"] = normalise_country(fields["country"])
    if "abuse_email" in fields:
        values["abuse_email"] = normalise_abuse_email(fields["abuse_email"])
    if fields.get("notes") is not None:
        values["notes"] = str(fields["notes"]).strip()
    changes = sorted(k for k, v in values.items() if getattr(provider, k) != v)
    if not stewardship.may_change(session, caller, provider):
        if not changes:
            return provider  # nothing to propose
        proposed = {k: values[k] for k in changes}
        return stewardship.propose(
            session,
            caller,
            stewardship.PROVIDER_UPDATE,
            provider,
            payload=proposed,
            summary=stewardship.changes_in_words(provider, proposed),
            reason=data.reason,
        )
    for name in changes:
        setattr(provider, name, values[name])
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict(f"a hosting provider named {values.get('name')!r} already exists") from None
    audit.record(
        session,
        caller,
        action="hosting.provider.update",
        operation=Operation.ALTERATION,
        subject_type="hosting_provider",
        subject_id=provider.id,
        detail={"changes": changes},
    )
    return provider


def add_network(
    session: Session,
    caller: Caller,
    provider_id: uuid.UUID,
    *,
    cidr: str,
    country: str | None = None,
    reason: str = "",
) -> HostingNetwork | ChangeProposal:
    """Record a block of the provider. Blocks may nest or overlap (the longest prefix holding
    an address wins); the same block twice is a conflict naming the provider that has it. From
    someone who does not keep the provider's record, the block is proposed instead."""
    caller.require(Permission.MANAGE_HOSTING)
    provider = _get(session, provider_id)
    network = parse_network(cidr)
    text = str(network)
    country = normalise_country(country)
    _block_taken(session, text)
    if not stewardship.may_change(session, caller, provider):
        used = f" (used in {country})" if country else ""
        return stewardship.propose(
            session,
            caller,
            stewardship.NETWORK_ADD,
            provider,
            payload={"network": text, "country": country},
            summary=f"add the network {text}{used}",
            reason=reason,
        )
    b = bounds(network)
    row = HostingNetwork(
        provider_id=provider.id,
        cidr=text,
        first=b.first,
        last=b.last,
        prefix_length=b.prefix_length,
        country=country,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        _block_taken(session, text)
        raise
    audit.record(
        session,
        caller,
        action="hosting.network.add",
        operation=Operation.COLLECTION,
        subject_type="hosting_provider",
        subject_id=provider.id,
        detail={"network": text, "country": country},
    )
    return row


def _block_taken(session: Session, cidr: str) -> None:
    holder = session.scalar(
        select(HostingProvider.name)
        .join(HostingNetwork, HostingNetwork.provider_id == HostingProvider.id)
        .where(HostingNetwork.cidr == cidr)
    )
    if holder is not None:
        raise Conflict(f"{cidr} is already recorded, for {holder}")


def remove_network(
    session: Session, caller: Caller, network_id: uuid.UUID, *, reason: str = ""
) -> ChangeProposal | None:
    """Remove a block; from someone who does not keep the provider's record, the removal is
    proposed instead (and returned)."""
    caller.require(Permission.MANAGE_HOSTING)
    network = session.get(HostingNetwork, network_id)
    if network is None:
        raise NotFound("network")
    provider_id, cidr = network.provider_id, network.cidr
    provider = _get(session, provider_id)
    if not stewardship.may_change(session, caller, provider):
        return stewardship.propose(
            session,
            caller,
            stewardship.NETWORK_REMOVE,
            provider,
            payload={"network_id": str(network.id), "network": cidr},
            summary=f"remove the network {cidr}",
            reason=reason,
        )
    session.delete(network)
    session.flush()
    audit.record(
        session,
        caller,
        action="hosting.network.remove",
        operation=Operation.ALTERATION,
        subject_type="hosting_provider",
        subject_id=provider_id,
        detail={"network": cidr},
    )
    return None


# --- importing a network table ---------------------------------------------------------------


def read_lines(
    stream: IO[bytes], *, on_bytes: Callable[[int], None] | None = None
) -> Iterator[str | budgets.Breach]:
    """Text lines of an uploaded file, one at a time: UTF-8 (a byte that is not becomes U+FFFD,
    which the import refuses). A line longer than `MAX_LINE` bytes is a `Breach` (one bad
    line), its rest skipped unread into memory: cut into pieces, its tail would have been read
    as lines of its own. `on_bytes(n)` after each line (progress)."""
    while raw := stream.readline(MAX_LINE + 1):
        size = len(raw)
        if size > MAX_LINE and not raw.endswith(b"\n"):
            while (rest := stream.readline(1 << 20)) and not rest.endswith(b"\n"):
                size += len(rest)
            size += len(rest)
            raw = b""
        if on_bytes is not None:
            on_bytes(size)
        yield (
            raw.decode("utf-8", errors="replace")
            if raw
            else budgets.Breach("line", budgets.too_long(MAX_LINE, "bytes"))
        )


class _Numbered:
    """The lines for `csv.reader`, numbered; the too-long ones (`Breach`) held back to be
    reported, so that the numbers stay those of the file."""

    def __init__(self, lines: Iterable[str | budgets.Breach]) -> None:
        self._lines = iter(lines)
        self.number = 0
        self.held: list[tuple[int, budgets.Breach]] = []

    def __iter__(self) -> _Numbered:
        return self

    def __next__(self) -> str:
        while True:
            line = next(self._lines)
            self.number += 1
            if not isinstance(line, budgets.Breach):
                return line
            self.held.append((self.number, line))

    def report(self, tally: _Tally) -> None:
        for number, breach in self.held:
            tally.lines_read += 1
            tally.reject(number, breach.field, breach.rule, "")
        self.held.clear()


_COLUMNS = ("network", "provider", "asn", "country", "abuse_email", "network_country")
_PROVIDER_FIELDS = {"asn": "AS number", "country": "country", "abuse_email": "abuse e-mail"}


@dataclass
class _Line:
    line: int
    cidr: str
    bounds: Bounds
    provider: str
    asn: int | None
    country: str | None
    abuse_email: str | None
    network_country: str | None


@dataclass
class _Provider:
    """A provider of the file: what this import's lines said of it (value, line), and once its
    first batch is written, its id and what is stored."""

    given: dict[str, tuple[Any, int]] = field(default_factory=dict)
    id: uuid.UUID | None = None
    stored: dict[str, Any] = field(default_factory=dict)
    keeper: uuid.UUID | None = None  # the agency that keeps its record (stewardship)


@dataclass
class _Keepers:
    """Whose provider records this import may change: the importer's agency's and, for a
    steward, all (stewardship.py). Other lines are left out as bad lines: an import proposes
    nothing."""

    agency_id: uuid.UUID | None
    steward: bool
    codes: dict[uuid.UUID, str] = field(default_factory=dict)

    def foreign(self, keeper: uuid.UUID | None) -> bool:
        return not self.steward and (keeper is None or keeper != self.agency_id)

    def rule(self, session: Session, keeper: uuid.UUID | None, what: str) -> str:
        if keeper is None:
            who = "the network coordinator"
        else:
            if keeper not in self.codes:
                code = session.scalar(select(Agency.code).where(Agency.id == keeper))
                self.codes[keeper] = code or "another agency"
            who = self.codes[keeper]
        return f"{what}, whose record {who} keeps: propose the change on its page instead"


class _Seen:
    """The networks this import met already, 8 bytes each (64-bit digests), in sorted runs
    merged like a binary counter: a file of millions of blocks is never held in memory."""

    def __init__(self) -> None:
        self._runs: list[array[int]] = []

    @staticmethod
    def key(b: Bounds) -> int:
        digest = hashlib.blake2b(f"{b.first}/{b.prefix_length}".encode(), digest_size=8)
        return int.from_bytes(digest.digest(), "big")

    def __contains__(self, key: int) -> bool:
        for run in self._runs:
            i = bisect_left(run, key)
            if i < len(run) and run[i] == key:
                return True
        return False

    def add(self, keys: Iterable[int]) -> None:
        run = array("Q", sorted(set(keys)))
        while self._runs and len(self._runs[-1]) <= len(run):
            run = array("Q", sorted(chain(self._runs.pop(), run)))
        self._runs.append(run)


@dataclass
class _Tally:
    source: str
    lines_read: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    providers_created: int = 0
    updated_providers: set[uuid.UUID] = field(default_factory=set)
    bad_lines: list[LineError] = field(default_factory=list)
    batches: int = 0

    def reject(self, line: int, field_name: str, rule: str, value: str) -> None:
        self.rejected += 1
        if len(self.bad_lines) < MAX_REPORTED_ERRORS:
            self.bad_lines.append(LineError(line=line, field=field_name, rule=rule, value=value))

    def report(self) -> ImportReport:
        return ImportReport(
            source=self.source,
            lines_read=self.lines_read,
            added=self.added,
            updated=self.updated,
            unchanged=self.unchanged,
            rejected=self.rejected,
            providers_created=self.providers_created,
            providers_updated=len(self.updated_providers),
            bad_lines=list(self.bad_lines),
        )


def _header(row: list[str]) -> dict[str, int]:
    names = [c.strip().lstrip("\ufeff").strip().lower().replace(" ", "_") for c in row]
    columns: dict[str, int] = {}
    for index, name in enumerate(names):
        if name in _COLUMNS and name not in columns:
            columns[name] = index
    if "network" not in columns or "provider" not in columns:
        found = ", ".join(n for n in names if n) or "none"
        raise Invalid(
            "header",
            f"the first line must name the columns network and provider (found: {found}); "
            "asn, country, abuse_email and network_country are optional",
        )
    return columns


@lru_cache(maxsize=1 << 14)
def _import_email(raw: str) -> tuple[str | None, str | None]:
    """(address, None) or (None, rule): a file repeats a provider's contact on every line of
    its networks, and checking an address costs far more than reading the line."""
    try:
        return normalise_abuse_email(raw), None
    except Invalid as exc:
        return None, exc.rule


def _parse_line(number: int, row: list[str], columns: dict[str, int]) -> _Line:
    width = len(row)
    cells = {k: (row[i].strip() if i < width else "") for k, i in columns.items()}
    for name, value in cells.items():
        if "\ufffd" in value:
            raise Invalid(name, "is not UTF-8 text")
        if unstorable(value):
            raise Invalid(name, UNSTORABLE)
    raw_network = cells["network"]
    if not raw_network:
        raise Invalid("network", "is required")
    cidr, block = parse_cidr(raw_network)
    raw_provider = cells["provider"]
    if not raw_provider:
        raise Invalid("provider", "is required")
    provider = normalise_name(raw_provider, "provider")
    asn = normalise_asn(cells.get("asn"))
    country = normalise_country(cells.get("country"))
    email, rule = _import_email(cells.get("abuse_email", ""))
    if rule is not None:
        raise Invalid("abuse_email", rule)
    return _Line(
        line=number,
        cidr=cidr,
        bounds=block,
        provider=provider,
        asn=asn,
        country=country,
        abuse_email=email,
        network_country=normalise_country(cells.get("network_country"), "network_country"),
    )


def _raw(row: list[str], columns: dict[str, int], field_name: str) -> str:
    index = columns.get(field_name)
    if index is None:
        return ",".join(row)[:200]
    return row[index].strip()[:200] if index < len(row) else ""


def import_networks(
    session: Session,
    caller: Caller,
    lines: Iterable[str | budgets.Breach],
    *,
    source: str,
    after_batch: Callable[[ImportReport], None] | None = None,
) -> ImportReport:
    """Import a network table: CSV with a header naming at least `network` and `provider`
    (optional: the provider's `asn`, `country` and `abuse_email`, the block's own
    `network_country`; names case-insensitive, other columns ignored).

    The lines are read one at a time and written in batches of `BATCH_SIZE`. A bad line (its
    number, field and rule) is reported and skipped; the good ones are kept. Providers are
    found by exact name or created; the ASN, country and abuse e-mail the file gives replace
    the stored ones, a value the file leaves empty is kept. A block listed a second time, or a
    provider given two different values, is a bad line: so importing the same file again
    changes nothing (everything counts as unchanged). Each batch written leaves one audit
    entry; `after_batch(report so far)` runs after it (commit, progress)."""
    caller.require(Permission.MANAGE_HOSTING)
    source = " ".join(source.split())[:200] or "upload"
    tally = _Tally(source=source)
    keepers = _Keepers(caller.agency_id, proposals.is_steward(session, caller))
    providers: dict[str, _Provider] = {}
    seen = _Seen()
    batch: list[_Line] = []
    batch_keys: dict[int, int] = {}
    numbered = _Numbered(lines)
    reader = csv.reader(numbered)
    columns: dict[str, int] | None = None
    first_line = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            numbered.report(tally)
            break
        except csv.Error as exc:
            numbered.report(tally)
            if columns is None:
                raise Invalid("header", f"is not CSV ({exc})") from None
            tally.lines_read += 1
            tally.reject(numbered.number, "line", f"is not valid CSV ({exc})", "")
            continue
        numbered.report(tally)
        if not any(c.strip() for c in row) or row[0].lstrip().startswith("#"):
            continue
        if columns is None:
            columns = _header(row)
            first_line = numbered.number + 1
            continue
        tally.lines_read += 1
        number = numbered.number
        try:
            item = _parse_line(number, row, columns)
        except Invalid as exc:
            tally.reject(number, exc.field, exc.rule, _raw(row, columns, exc.field))
            continue
        key = _Seen.key(item.bounds)
        if key in batch_keys or key in seen:
            tally.reject(number, "network", "is listed earlier in this file", item.cidr)
            continue
        conflict = _note_provider(providers, item)
        if conflict is not None:
            field_name, earlier = conflict
            label = _PROVIDER_FIELDS[field_name]
            rule = f"differs from line {earlier} for the same provider (one {label} each)"
            tally.reject(number, field_name, rule, str(getattr(item, field_name)))
            continue
        batch_keys[key] = number
        batch.append(item)
        if len(batch) >= BATCH_SIZE:
            _write(session, caller, batch, providers, tally, keepers, lines=(first_line, number))
            seen.add(batch_keys)
            first_line = number + 1
            batch, batch_keys = [], {}
            if after_batch:
                after_batch(tally.report())
    if columns is None:
        raise Invalid("file", "is empty: the first line must name the columns network, provider")
    if batch or tally.batches == 0:  # an import that wrote nothing is recorded too
        span = (first_line, numbered.number)
        _write(session, caller, batch, providers, tally, keepers, lines=span)
    if is_postgres(session) and tally.added + tally.updated >= ANALYZE_AFTER:
        # Without fresh statistics PostgreSQL guesses that a lookup's IN list matches thousands
        # of blocks and scans the table (100 ms instead of 0.3 ms on 300,000 blocks) until
        # autovacuum gets round to it. ANALYZE samples the table; it blocks no reader or writer.
        session.execute(text("ANALYZE hosting_network"))
    _expire(session)
    report = tally.report()
    if after_batch:
        after_batch(report)
    return report


def _note_provider(providers: dict[str, _Provider], item: _Line) -> tuple[str, int] | None:
    """Note what the line says of its provider; a value differing from an earlier line's is
    returned as (field, that line) and the line must be refused."""
    known = providers.setdefault(item.provider, _Provider())
    for name in _PROVIDER_FIELDS:
        value = getattr(item, name)
        earlier = known.given.get(name)
        if value is not None and earlier is not None and earlier[0] != value:
            return name, earlier[1]
    for name in _PROVIDER_FIELDS:
        value = getattr(item, name)
        if value is not None and name not in known.given:
            known.given[name] = (value, item.line)
    return None


def _resolve(session: Session, providers: dict[str, _Provider], names: list[str]) -> list[str]:
    """Find the stored providers among `names` (one query); the names still unknown."""
    wanted = [n for n in names if providers[n].id is None]
    if not wanted:
        return []
    rows = session.execute(
        select(
            HostingProvider.id,
            HostingProvider.name,
            HostingProvider.asn,
            HostingProvider.country,
            HostingProvider.abuse_email,
            HostingProvider.owner_agency_id,
        ).where(HostingProvider.name.in_(wanted))
    ).all()
    for row in rows:
        p = providers[row.name]
        p.id = row.id
        p.stored = {"asn": row.asn, "country": row.country, "abuse_email": row.abuse_email}
        p.keeper = row.owner_agency_id
    return [n for n in wanted if providers[n].id is None]


def _write(
    session: Session,
    caller: Caller,
    batch: list[_Line],
    providers: dict[str, _Provider],
    tally: _Tally,
    keepers: _Keepers,
    *,
    lines: tuple[int, int],
) -> None:
    """Write one batch: new providers, providers' changed fields, new and moved networks; a
    line that would change a record the importer does not keep is a bad line."""
    before = (tally.added, tally.updated, tally.unchanged, tally.providers_created)
    updated_before = len(tally.updated_providers)
    names = list(dict.fromkeys(item.provider for item in batch))
    missing = set(_resolve(session, providers, names))
    existing = {}
    if batch:
        found = session.execute(
            select(
                HostingNetwork.id,
                HostingNetwork.cidr,
                HostingNetwork.provider_id,
                HostingNetwork.country,
                HostingProvider.name.label("holder"),
                HostingProvider.owner_agency_id.label("keeper"),
            )
            .join(HostingProvider, HostingProvider.id == HostingNetwork.provider_id)
            .where(HostingNetwork.cidr.in_([item.cidr for item in batch]))
        )
        existing = {row.cidr: row for row in found}
    accepted = []
    for item in batch:
        p = providers[item.provider]
        refused = _not_kept(session, keepers, item, p, existing.get(item.cidr))
        if refused is None:
            accepted.append(item)
            continue
        tally.reject(item.line, *refused)  # nothing of the line is written
        p.given = {k: given for k, given in p.given.items() if given[1] != item.line}
    batch = accepted
    names = list(dict.fromkeys(item.provider for item in batch))
    new_rows: list[dict[str, Any]] = []
    for name in names:
        p = providers[name]
        wanted = {k: v[0] for k, v in p.given.items()}
        if name in missing:
            p.id = uuid.uuid4()
            p.keeper = caller.agency_id
            p.stored = {"asn": None, "country": None, "abuse_email": None, **wanted}
            row = {"id": p.id, "name": name, "notes": "", "owner_agency_id": p.keeper}
            new_rows.append({**row, **p.stored})
            tally.providers_created += 1
            continue
        if keepers.foreign(p.keeper):
            continue  # not changed by this import: its lines are judged one by one below
        diff = {k: v for k, v in wanted.items() if p.stored.get(k) != v}
        if diff:
            assert p.id is not None
            session.execute(
                update(HostingProvider)
                .where(HostingProvider.id == p.id)
                .values(updated_at=utcnow(), **diff)
            )
            p.stored.update(diff)
            tally.updated_providers.add(p.id)
    if new_rows:
        session.execute(insert(_PROVIDERS), new_rows)

    inserts: list[dict[str, Any]] = []
    moves: list[dict[str, Any]] = []
    for item in batch:
        provider_id = providers[item.provider].id
        old = existing.get(item.cidr)
        if old is None:
            inserts.append(
                {
                    "id": uuid.uuid4(),
                    "provider_id": provider_id,
                    "cidr": item.cidr,
                    "first": item.bounds.first,
                    "last": item.bounds.last,
                    "prefix_length": item.bounds.prefix_length,
                    "country": item.network_country,
                }
            )
            continue
        country = item.network_country or old.country
        if old.provider_id != provider_id or old.country != country:
            moves.append({"id": old.id, "provider_id": provider_id, "country": country})
        else:
            tally.unchanged += 1
    if inserts:
        session.execute(insert(_NETWORKS), inserts)
        tally.added += len(inserts)
    if moves:
        session.execute(update(HostingNetwork), moves)
        tally.updated += len(moves)
    session.flush()
    tally.batches += 1
    audit.record(
        session,
        caller,
        action="hosting.import",
        operation=Operation.COLLECTION,
        subject_type="hosting_network",
        detail={
            "source": tally.source,
            "lines": list(lines),
            "added": tally.added - before[0],
            "updated": tally.updated - before[1],
            "unchanged": tally.unchanged - before[2],
            "providers_created": tally.providers_created - before[3],
            "providers_updated": len(tally.updated_providers) - updated_before,
            "rejected_so_far": tally.rejected,
        },
    )


def _not_kept(
    session: Session, keepers: _Keepers, item: _Line, p: _Provider, old: Any
) -> tuple[str, str, str] | None:
    """(field, rule, value) when the line would change a provider record the importer does not
    keep: its provider's fields, its networks, or a network recorded for it. A provider the
    import creates (no id yet) is the importer's."""
    if p.id is not None and keepers.foreign(p.keeper):
        for name in _PROVIDER_FIELDS:
            value = getattr(item, name)
            if value is not None and p.stored.get(name) != value:
                rule = keepers.rule(session, p.keeper, f"would change {item.provider}")
                return name, rule, str(value)
        country = item.network_country or (old.country if old is not None else None)
        if old is None or old.provider_id != p.id or old.country != country:
            rule = keepers.rule(session, p.keeper, f"would add a network to {item.provider}")
            return "network", rule, item.cidr
    if old is not None and old.provider_id != p.id and keepers.foreign(old.keeper):
        rule = keepers.rule(session, old.keeper, f"is recorded for {old.holder}")
        return "network", rule, item.cidr
    return None


def _expire(session: Session) -> None:
    """The import wrote with bulk statements: loaded providers and networks are stale."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, HostingProvider | HostingNetwork):
            session.expire(obj)
