"""Payment providers and the notices sent to them: the Financial Coalition's lever. A card
scheme, processor or exchange that learns a merchant account or a wallet is paid for abuse
material closes it, and the next brand on the same billing pipeline loses it too.

The **directory** of providers and their abuse contacts is `commerce.providers` (its
functions are named here too, where the interfaces look for them): a provider seeded from the
lexicon has no abuse e-mail and cannot be notified until an analyst adds one they have checked.

A **notice** names who sends it, the merchant account or wallet, the site and when it was
seen, and the evidence summary: the pages it was seen on with their fetch times and the
SHA-256 of each page as received. Never content, never an image, no HTML: a plain-text mail
queued through the outbox (`core.outbox`) like a takedown notice, with a reference, tracked
open → sent (the outbox delivered it) → answered (the provider's outcome recorded) or closed.
One notice at a time per subject and provider: a second is refused naming the first.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.agencies.models import Agency
from taskforce.commerce.kinds import IndicatorKind
from taskforce.commerce.models import (
    CommerceIndicator,
    CommercePage,
    CommerceSighting,
    CommerceSite,
    PaymentNotice,
    PaymentProvider,
)
from taskforce.commerce.providers import (
    KINDS,
    ProviderFields,
    add_provider,
    edit_provider,
    get_provider,
    list_providers,
    seed_from_lexicon,
)
from taskforce.commerce.service import own_indicator, own_row, own_site
from taskforce.core import sharing
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.caller import Caller, Permission
from taskforce.core.db import utcnow
from taskforce.core.errors import Conflict, Invalid
from taskforce.core.outbox import service as outbox
from taskforce.core.settings import Settings

OUTCOMES = (
    "account_closed",
    "funds_frozen",
    "under_review",
    "not_our_customer",
    "declined",
    "other",
)
OPEN = ("open", "sent")  # waiting for the provider
STATES = ("open", "sent", "answered", "closed")
OVERDUE_DAYS = 14  # a notice still unanswered this long after it went out is flagged
MAX_EVIDENCE_PAGES = 20  # pages listed in a notice; the count says how many more
NOTICE_SUBJECTS = {IndicatorKind.MERCHANT: "merchant", IndicatorKind.WALLET: "wallet"}


# --- notices ---------------------------------------------------------------------------------


def reference(notice_id: uuid.UUID) -> str:
    """How a notice is named in mail and on the phone."""
    return f"PN-{notice_id.hex[:8].upper()}"


def notice_ref(notice: PaymentNotice) -> str:
    """The outbox reference of the notice's mail."""
    return f"payment_notice:{notice.id}"


@dataclass(frozen=True)
class EvidencePage:
    url: str
    fetched_at: datetime
    sha256: str | None


@dataclass
class Evidence:
    """Where a subject was seen on a site: pages, first and last sighting."""

    first_seen: datetime
    last_seen: datetime
    pages: list[EvidencePage] = field(default_factory=list)
    more_pages: int = 0


def _evidence(session: Session, site: CommerceSite, indicator: CommerceIndicator) -> Evidence:
    rows = session.execute(
        select(
            CommercePage.final_url,
            CommercePage.url,
            CommercePage.fetched_at,
            CommercePage.body_sha256,
            CommerceSighting.seen_at,
        )
        .join(CommercePage, CommercePage.id == CommerceSighting.page_id)
        .where(CommerceSighting.site_id == site.id, CommerceSighting.indicator_id == indicator.id)
        .order_by(CommercePage.fetched_at.desc(), CommercePage.id)
    ).all()
    if not rows:
        raise Invalid("indicator", "must be an indicator seen on this site")
    pages: dict[tuple[str, str | None], EvidencePage] = {}
    for final_url, url, fetched_at, sha256, _ in rows:
        pages.setdefault(
            (final_url or url, sha256), EvidencePage(final_url or url, fetched_at, sha256)
        )
    kept = list(pages.values())
    seen = [r.seen_at for r in rows]
    return Evidence(
        first_seen=min(seen),
        last_seen=max(seen),
        pages=kept[:MAX_EVIDENCE_PAGES],
        more_pages=max(0, len(kept) - MAX_EVIDENCE_PAGES),
    )


def _subject(indicator: CommerceIndicator) -> tuple[str, str]:
    kind = IndicatorKind(indicator.kind)
    if kind not in NOTICE_SUBJECTS:
        raise Invalid("indicator", "a notice is about a merchant account or a wallet")
    return NOTICE_SUBJECTS[kind], indicator.value


def notice_text(
    notice: PaymentNotice,
    agency: Agency,
    provider: PaymentProvider,
    site: CommerceSite,
    indicator: CommerceIndicator,
    evidence: Evidence,
) -> tuple[str, str]:
    """Subject and plain-text body. It says what the account or wallet is paid for by its
    category only, and lists evidence by address, time and hash: never content."""
    ref = reference(notice.id)
    if notice.subject_kind == "wallet":
        chain = indicator.detail.upper()
        what = f"the {chain or 'cryptocurrency'} wallet {notice.subject}"
        line = f"  Wallet:        {notice.subject} ({chain or 'chain not recorded'})"
    else:
        what = f"the merchant account {notice.subject}"
        line = f"  Merchant:      {notice.subject}" + (
            f" (processor: {indicator.detail})" if indicator.detail else ""
        )
    subject = f"Payments for child sexual abuse material: {what} [{ref}]"
    lines = [
        f"To the abuse and compliance desk of {provider.name},",
        "",
        f"{agency.name} ({agency.code}, {agency.country}), a member of the taskforce network "
        "against online child sexual exploitation, found the payment detail below on a "
        "commercial site selling access to child sexual abuse material.",
        "",
        line,
        f"  Site:          {site.url}",
        f"  Seen:          {evidence.first_seen:%Y-%m-%d %H:%M} UTC to "
        f"{evidence.last_seen:%Y-%m-%d %H:%M} UTC",
        f"  Reference:     {ref}",
        "",
        "Evidence (pages where it was seen, when they were fetched, SHA-256 of each page as "
        "received; the content itself is not sent):",
    ]
    for page in evidence.pages:
        lines.append(f"  - {page.url}")
        lines.append(
            f"    fetched {page.fetched_at:%Y-%m-%d %H:%M:%S} UTC, "
            f"SHA-256 {page.sha256 or 'not recorded'}"
        )
    if evidence.more_pages:
        lines.append(f"  ... and {evidence.more_pages} more page(s), kept by {agency.code}.")
    lines += [
        "",
        "Please review the account or wallet under your terms and the law, and tell us what you "
        "did (closed, frozen, under review, not your customer). Do not visit the site to look "
        "at the material; the police may ask you to preserve records.",
        "",
        f"Answer by replying to this message, or call {agency.contact_desk} on "
        f"{agency.contact_phone} ({agency.contact_email}), quoting {ref}.",
    ]
    return subject, "\n".join(lines) + "\n"


def send_notice(
    session: Session,
    caller: Caller,
    settings: Settings,  # noqa: ARG001 - the interfaces' one signature for workflows
    *,
    indicator_id: uuid.UUID,
    provider_id: uuid.UUID,
    site_id: uuid.UUID,
    now: datetime | None = None,
) -> PaymentNotice:
    """Queue a notice about a merchant account or wallet of the caller's site to a provider;
    refused while a notice about it to that provider is still open (naming it), and for a
    provider with no abuse e-mail yet."""
    site = own_site(session, caller, site_id)
    indicator = own_indicator(session, caller, indicator_id)
    subject_kind, subject = _subject(indicator)
    provider = session.get(PaymentProvider, provider_id)
    if provider is None:
        raise Invalid("provider", "must be a provider of the directory")
    if not provider.abuse_email:
        raise Invalid(
            "provider",
            f"{provider.name} has no abuse e-mail yet: add one you have checked to the "
            "directory before notifying it",
        )
    existing = session.scalar(
        select(PaymentNotice)
        .where(
            sharing.owned_by(PaymentNotice.owner_agency_id, caller),
            PaymentNotice.provider_id == provider.id,
            PaymentNotice.subject_kind == subject_kind,
            PaymentNotice.subject == subject,
            PaymentNotice.status.in_(OPEN),
        )
        .limit(1)
    )
    if existing is not None:
        raise Conflict(
            f"notice {reference(existing.id)} about this {subject_kind} to {provider.name} "
            f"is still {existing.status} (since {existing.created_at:%Y-%m-%d})"
        )
    evidence = _evidence(session, site, indicator)
    agency = session.get(Agency, caller.agency_id)
    assert agency is not None
    now = now or utcnow()
    notice = PaymentNotice(
        id=uuid.uuid4(),
        owner_agency_id=agency.id,
        provider_id=provider.id,
        site_id=site.id,
        indicator_id=indicator.id,
        subject_kind=subject_kind,
        subject=subject,
        recipient=provider.abuse_email,
        status="open",
        created_at=now,
        created_by_user_id=caller.user_id,
        outbox_reference=None,
    )
    mail_subject, body = notice_text(notice, agency, provider, site, indicator, evidence)
    notice.evidence = body
    notice.outbox_reference = notice_ref(notice)
    session.add(notice)
    outbox.enqueue_email(
        session,
        recipient=provider.abuse_email,
        subject=mail_subject,
        body=body,
        reference=notice.outbox_reference,
        reply_to=agency.contact_email,
        now=now,
    )
    session.flush()
    audit.record(
        session,
        caller,
        action="commerce.payment_notice.send",
        operation=Operation.DISCLOSURE,
        subject_type="payment_notice",
        subject_id=notice.id,
        subject_agency_id=agency.id,
        recipients=[provider.abuse_email],
        detail={
            "provider": provider.name,
            "subject_kind": subject_kind,
            "subject": subject,
            "site": str(site.id),
            "pages": len(evidence.pages) + evidence.more_pages,
        },
    )
    return notice


def _own_notice(session: Session, caller: Caller, notice_id: uuid.UUID) -> PaymentNotice:
    return own_row(
        session,
        caller,
        PaymentNotice,
        notice_id,
        action="commerce.payment_notice.read",
        subject_type="payment_notice",
        missing="payment notice",
    )


def _delivered(session: Session, notices: Sequence[PaymentNotice]) -> dict[uuid.UUID, str]:
    """A notice whose mail the outbox delivered becomes `sent`, at the delivery's time.
    Returns, for the open notices whose mail the outbox gave up on, its last error (the abuse
    address bounced: the analyst corrects the directory and sends again)."""
    waiting = {n.outbox_reference: n for n in notices if n.status == "open" and n.outbox_reference}
    failed: dict[uuid.UUID, str] = {}
    if not waiting:
        return failed
    for message in outbox.messages_for(session, [r for r in waiting if r]):
        notice = waiting.get(message.reference or "")
        if notice is None or notice.status != "open":
            continue
        if message.sent_at is not None:
            notice.status = "sent"
            notice.sent_at = message.sent_at
        elif message.attempts >= outbox.MAX_ATTEMPTS:
            failed[notice.id] = message.last_error or "the mail could not be delivered"
    return failed


def _open_notice(session: Session, caller: Caller, notice_id: uuid.UUID) -> PaymentNotice:
    """A notice of the caller's agency still waiting for its answer (its delivery read first:
    a notice the outbox has sent is `sent`); an answered or closed one is a conflict."""
    notice = _own_notice(session, caller, notice_id)
    _delivered(session, [notice])
    if notice.status not in OPEN:
        raise Conflict(f"notice {reference(notice.id)} is {notice.status}")
    return notice


def record_answer(
    session: Session,
    caller: Caller,
    notice_id: uuid.UUID,
    *,
    outcome: str,
    text: str = "",
    now: datetime | None = None,
) -> PaymentNotice:
    """The provider's answer: its outcome (closed, frozen, under review, ...) and its words."""
    notice = _open_notice(session, caller, notice_id)
    if outcome not in OUTCOMES:
        raise Invalid("outcome", "one of: " + ", ".join(OUTCOMES))
    text = text.strip()
    if len(text) > 2000:
        raise Invalid("answer", "at most 2000 characters")
    notice.status = "answered"
    notice.answered_at = now or utcnow()
    notice.answer_outcome = outcome
    notice.answer = text
    audit.record(
        session,
        caller,
        action="commerce.payment_notice.answer",
        operation=Operation.ALTERATION,
        subject_type="payment_notice",
        subject_id=notice.id,
        subject_agency_id=notice.owner_agency_id,
        detail={"outcome": outcome},
    )
    return notice


def close(
    session: Session,
    caller: Caller,
    notice_id: uuid.UUID,
    *,
    reason: str,
    now: datetime | None = None,
) -> PaymentNotice:
    """Stop waiting for an answer (the provider never answered; the site is gone)."""
    notice = _open_notice(session, caller, notice_id)
    reason = reason.strip()
    if not reason:
        raise Invalid("reason", "say why the notice is closed")
    if len(reason) > 2000:
        raise Invalid("reason", "at most 2000 characters")
    notice.status = "closed"
    notice.answered_at = now or utcnow()
    notice.answer = reason
    audit.record(
        session,
        caller,
        action="commerce.payment_notice.close",
        operation=Operation.ALTERATION,
        subject_type="payment_notice",
        subject_id=notice.id,
        subject_agency_id=notice.owner_agency_id,
        justification=reason,
    )
    return notice


@dataclass(frozen=True)
class NoticeRow:
    """A notice as lists show it: its reference, provider and whether the answer is late."""

    notice: PaymentNotice
    reference: str
    provider: str
    overdue: bool
    undelivered: str | None = None  # the outbox gave up: its last error


def is_overdue(notice: PaymentNotice, now: datetime) -> bool:
    """Still waiting `OVERDUE_DAYS` after it went out (or was queued, if never delivered)."""
    since = notice.sent_at or notice.created_at
    return notice.status in OPEN and now - since > timedelta(days=OVERDUE_DAYS)


def list_notices(
    session: Session,
    caller: Caller,
    *,
    site_id: uuid.UUID | None = None,
    state: str | None = None,
    now: datetime | None = None,
    limit: int = 200,
    offset: int = 0,
) -> tuple[list[NoticeRow], int]:
    """The agency's notices (one site's with `site_id`), newest first, each with its state and
    the overdue flag; audited."""
    caller.require(Permission.INVESTIGATE_SITES)
    if state is not None and state not in STATES:
        raise Invalid("state", "one of: " + ", ".join(STATES))
    query = select(PaymentNotice).where(sharing.owned_by(PaymentNotice.owner_agency_id, caller))
    if site_id is not None:
        own_site(session, caller, site_id)
        query = query.where(PaymentNotice.site_id == site_id)
    notices = list(
        session.scalars(query.order_by(PaymentNotice.created_at.desc(), PaymentNotice.id))
    )
    failed = _delivered(session, notices)
    if state is not None:
        notices = [n for n in notices if n.status == state]
    total = len(notices)
    shown = notices[offset : offset + limit]
    names = dict(
        session.execute(
            select(PaymentProvider.id, PaymentProvider.name).where(
                PaymentProvider.id.in_({n.provider_id for n in shown})
            )
        ).all()
    )
    now = now or utcnow()
    audit.record(
        session,
        caller,
        action="commerce.payment_notice.list",
        operation=Operation.CONSULTATION,
        subject_type="commerce_site" if site_id else None,
        subject_id=site_id,
        detail={"state": state, "shown": len(shown)},
    )
    rows = [
        NoticeRow(
            n, reference(n.id), names.get(n.provider_id, ""), is_overdue(n, now), failed.get(n.id)
        )
        for n in shown
    ]
    return rows, total


def get_notice(session: Session, caller: Caller, notice_id: uuid.UUID) -> PaymentNotice:
    """One notice of the agency, its state brought up to date from the outbox; audited."""
    notice = _own_notice(session, caller, notice_id)
    _delivered(session, [notice])
    audit.record(
        session,
        caller,
        action="commerce.payment_notice.read",
        operation=Operation.CONSULTATION,
        subject_type="payment_notice",
        subject_id=notice.id,
        subject_agency_id=notice.owner_agency_id,
    )
    return notice


# the directory's functions are named here too, where the interfaces look for them
__all__ = [
    "KINDS",
    "MAX_EVIDENCE_PAGES",
    "NOTICE_SUBJECTS",
    "OPEN",
    "OUTCOMES",
    "OVERDUE_DAYS",
    "STATES",
    "Evidence",
    "EvidencePage",
    "NoticeRow",
    "ProviderFields",
    "add_provider",
    "close",
    "edit_provider",
    "get_notice",
    "get_provider",
    "is_overdue",
    "list_notices",
    "list_providers",
    "notice_ref",
    "notice_text",
    "record_answer",
    "reference",
    "seed_from_lexicon",
    "send_notice",
]
