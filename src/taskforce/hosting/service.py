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

The domain's modules: `addresses.py` parses addresses and blocks and answers where one is
hosted; this module keeps the provider directory; `networks.py` imports a network table;
`stewardship.py` turns a change to another agency's record into a proposal.

The directory is reference data like the agency directory: every member may read it (READ),
reads are not audited; changes need MANAGE_HOSTING and each is audited. A provider's record is
kept by the agency that registered it: anyone else's change becomes a proposal to its keeper or
the network's stewards (`stewardship.py`), and an import leaves such lines out, as bad lines.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

import pycountry
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from taskforce.agencies.models import Agency
from taskforce.agencies.service import normalise_email
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.caller import Caller, Permission
from taskforce.core.errors import Conflict, Invalid, NotFound
from taskforce.core.proposals.models import ChangeProposal
from taskforce.hosting import stewardship
from taskforce.hosting.addresses import bounds, find_network, parse_address, parse_network
from taskforce.hosting.models import HostingNetwork, HostingProvider
from taskforce.hosting.schemas import (
    ASN_MAX,
    NetworkRead,
    ProviderCreate,
    ProviderPage,
    ProviderRead,
    ProviderSummary,
    ProviderUpdate,
)

_ASN_RULE = f"must be an AS number from 1 to {ASN_MAX}, like 64500 or AS64500"
_COUNTRY_RULE = "must be an ISO 3166-1 alpha-2 code like GB or NL"
_ASN_RE = re.compile(r"^(?:AS)?\s*(\d{1,10})$", re.IGNORECASE)


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
    keeper_agency = (
        session.get(Agency, provider.owner_agency_id) if provider.owner_agency_id else None
    )
    keeper = keeper_agency.code if keeper_agency is not None else None
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
