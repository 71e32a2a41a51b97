"""The payment provider directory: card schemes, processors, exchanges, wallet services and
banks that notices go to (`commerce.payments`), with their abuse contact, the lexicon terms
that name them on a page and, for an exchange, the chains it handles.

It is seeded from the extraction lexicon (names, kinds, terms and chains only): no contact
address is ever invented for a real company, so a seeded provider has no abuse e-mail and
cannot be notified until an analyst adds one they have checked. Reference data, like hosting
providers: reading needs INVESTIGATE_SITES and is not audited; changing it needs
MANAGE_HOSTING (as hosting providers' abuse contacts), each change audited.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from taskforce.commerce import lexicon
from taskforce.commerce.kinds import Chain
from taskforce.commerce.models import PaymentProvider
from taskforce.commerce.service import web_url
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.caller import Caller, Permission
from taskforce.core.db import utcnow
from taskforce.core.errors import Invalid, NotFound
from taskforce.hosting.service import normalise_abuse_email, normalise_country, normalise_name

KINDS = ("card_scheme", "processor", "exchange", "wallet_service", "bank", "other")
MAX_TERMS = 50


class LexiconProcessor(Protocol):
    """What the extraction lexicon says of a provider (`commerce.lexicon.processors()`)."""

    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def terms(self) -> Sequence[str]: ...
    @property
    def chains(self) -> Sequence[str]: ...


@dataclass(frozen=True)
class ProviderFields:
    """A provider as an analyst enters it; every field checked by `_checked`."""

    name: str
    kind: str = "processor"
    country: str | None = None
    abuse_email: str | None = None
    website: str | None = None
    terms: Sequence[str] = ()
    chains: Sequence[str] = ()
    notes: str = ""


def _terms(raw: Iterable[str]) -> list[str]:
    terms = list(dict.fromkeys(" ".join(t.split()).lower() for t in raw if t.strip()))
    if len(terms) > MAX_TERMS:
        raise Invalid("terms", f"at most {MAX_TERMS} terms")
    for term in terms:
        if len(term) > 100:
            raise Invalid("terms", "each term at most 100 characters")
    return terms


def _chains(raw: Iterable[str]) -> list[str]:
    chains = list(dict.fromkeys(c.strip().lower() for c in raw if c.strip()))
    known = {c.value for c in Chain}
    for chain in chains:
        if chain not in known:
            raise Invalid("chains", "each one of: " + ", ".join(sorted(known)))
    return chains


def _checked(data: ProviderFields) -> dict[str, object]:
    if data.kind not in KINDS:
        raise Invalid("kind", "one of: " + ", ".join(KINDS))
    notes = data.notes.strip()
    if len(notes) > 1000:
        raise Invalid("notes", "at most 1000 characters")
    website = (data.website or "").strip()
    return {
        "name": normalise_name(data.name),
        "kind": data.kind,
        "country": normalise_country(data.country),
        "abuse_email": normalise_abuse_email(data.abuse_email),
        "website": web_url(website, "website") if website else None,
        "terms": _terms(data.terms),
        "chains": _chains(data.chains),
        "notes": notes,
    }


def _name_taken(session: Session, name: str, but: uuid.UUID | None = None) -> None:
    query = select(PaymentProvider.id).where(func.lower(PaymentProvider.name) == name.lower())
    if but is not None:
        query = query.where(PaymentProvider.id != but)
    if session.scalar(query) is not None:
        raise Invalid("name", "a provider of that name is in the directory already")


def list_providers(session: Session, caller: Caller) -> list[PaymentProvider]:
    """The directory by name (reference data: not case data, reads not audited)."""
    caller.require(Permission.INVESTIGATE_SITES)
    return list(session.scalars(select(PaymentProvider).order_by(PaymentProvider.name)))


def get_provider(session: Session, caller: Caller, provider_id: uuid.UUID) -> PaymentProvider:
    caller.require(Permission.INVESTIGATE_SITES)
    provider = session.get(PaymentProvider, provider_id)
    if provider is None:
        raise NotFound("payment provider")
    return provider


def add_provider(
    session: Session, caller: Caller, data: ProviderFields, *, now: datetime | None = None
) -> PaymentProvider:
    caller.require(Permission.MANAGE_HOSTING)
    values = _checked(data)
    _name_taken(session, str(values["name"]))
    now = now or utcnow()
    provider = PaymentProvider(**values, created_at=now, updated_at=now)
    session.add(provider)
    session.flush()
    _audit_change(session, caller, provider, "commerce.provider.add", values)
    return provider


def edit_provider(
    session: Session,
    caller: Caller,
    provider_id: uuid.UUID,
    data: ProviderFields,
    *,
    now: datetime | None = None,
) -> PaymentProvider:
    """Change a provider's record (an abuse e-mail checked on its site, new terms)."""
    caller.require(Permission.MANAGE_HOSTING)
    provider = get_provider(session, caller, provider_id)
    values = _checked(data)
    _name_taken(session, str(values["name"]), but=provider.id)
    changed = {k: v for k, v in values.items() if getattr(provider, k) != v}
    for key, value in changed.items():
        setattr(provider, key, value)
    if changed:
        provider.updated_at = now or utcnow()
        _audit_change(session, caller, provider, "commerce.provider.edit", changed)
    return provider


def _audit_change(
    session: Session,
    caller: Caller,
    provider: PaymentProvider,
    action: str,
    values: dict[str, object],
) -> None:
    audit.record(
        session,
        caller,
        action=action,
        operation=Operation.ALTERATION,
        subject_type="payment_provider",
        subject_id=provider.id,
        detail={"name": provider.name, "fields": sorted(values)},
    )


def seed_from_lexicon(
    session: Session,
    caller: Caller,
    processors: Iterable[LexiconProcessor] | None = None,
    *,
    now: datetime | None = None,
) -> int:
    """Add the lexicon's providers (`lexicon.processors()` unless given) the directory lacks,
    by name: their terms and chains, and no abuse e-mail (an analyst adds one they have
    checked). Returns how many were added."""
    caller.require(Permission.MANAGE_HOSTING)
    if processors is None:
        processors = lexicon.processors()
    known = {n.lower() for n in session.scalars(select(PaymentProvider.name))}
    added = 0
    for entry in processors:
        if entry.name.lower() in known:
            continue
        kind = entry.kind if entry.kind in KINDS else "other"
        add_provider(
            session,
            caller,
            ProviderFields(
                name=entry.name,
                kind=kind,
                terms=list(entry.terms),
                chains=[c for c in entry.chains if c in {x.value for x in Chain}],
                notes="From the extraction lexicon: no abuse contact until one is checked.",
            ),
            now=now,
        )
        known.add(entry.name.lower())
        added += 1
    return added
