"""Notice and takedown: a confirmed URL's notice goes to its host's abuse contact, and the URL
is re-checked on a schedule until it is gone.

The life of a notice:

1. **Issued** when a hotline confirms a reported URL (`issue`): one open notice per URL (a URL
   confirmed again joins the open notice). Sent at once to the hosting provider's abuse
   contact (outbox e-mail, replies go to the agency's desk); when no contact is known the
   notice waits and goes out as soon as one is set. A copy goes to the country's police when
   the agency's legal profile says the law wants it (`notice_copy_to_police`).
2. **Re-checked** every `takedown_check_minutes` by the worker (`recheck_job`) with the
   SSRF-safe checker (`takedown.fetch`: status and headers only, never the body, never a
   media file, never an internal address). Each check is kept.
3. **Re-sent** every `takedown_resend_hours` while the content stays up (Project Arachnid's
   practice), **escalated** once when the deadline passes (the agency's own, else the hub's
   `takedown_deadline_hours`): the agency's desk and the network coordinator are told.
4. **Followed** when the content moves: a check that reaches another network's address
   records the move, and the notice goes to the new provider (and the new country's member
   is told) — sites jump between jurisdictions to avoid removal.
5. **Removed** when a check finds it gone (404, 410, 451, or the host no longer exists), or
   after `takedown_unreachable_checks` checks in a row could not reach it (recorded as
   such); the removal time is the first check that saw it gone, and the URL leaves the block
   list. Time to removal (from issue) is reported by country and provider.

Claims follow the outbox's pattern: `next_check_at` is pushed forward by a lease in a short
transaction (`SKIP LOCKED` on PostgreSQL), the HTTP check runs outside any transaction, and
the result is recorded in its own.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.agencies.models import Agency
from taskforce.agencies.schemas import AgencyKind
from taskforce.core import sharing
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.caller import Caller, Permission
from taskforce.core.db import utcnow
from taskforce.core.errors import Conflict, Invalid
from taskforce.core.outbox import service as outbox
from taskforce.core.outbox.models import OutboxMessage
from taskforce.core.settings import Settings
from taskforce.hashsets.categories import SCHEMES
from taskforce.hosting.models import HostingProvider
from taskforce.takedown.fetch import CheckResult
from taskforce.takedown.models import TakedownCheck, TakedownEvent, TakedownNotice

LEASE = timedelta(minutes=10)  # a claimed notice is left to the worker checking it


class Checker(Protocol):
    """What re-checks a URL (`takedown.fetch.UrlChecker`; tests pass their own)."""

    def check(self, url: str) -> CheckResult: ...


def reference(notice_id: uuid.UUID) -> str:
    """How a notice is named in mail and on the phone."""
    return f"TD-{notice_id.hex[:8].upper()}"


def notice_ref(notice: TakedownNotice) -> str:
    return f"takedown_notice:{notice.id}"


def record_event(
    session: Session, notice: TakedownNotice, kind: str, detail: str, at: datetime
) -> None:
    """One line of the timeline. Events of one moment keep the order they were written in (a
    microsecond apart), so "issued" never sorts after "sent"."""
    last: dict[uuid.UUID, datetime] = session.info.setdefault("takedown_event_at", {})
    previous = last.get(notice.id)
    if previous is not None and at <= previous < at + timedelta(milliseconds=1):
        at = previous + timedelta(microseconds=1)
    last[notice.id] = at
    session.add(
        TakedownEvent(id=uuid.uuid4(), notice_id=notice.id, at=at, kind=kind, detail=detail[:1000])
    )


# --- issuing --------------------------------------------------------------------------------


def open_notice_for(session: Session, url_hash: str) -> TakedownNotice | None:
    """The open notice for a URL (by the hash of its block-list key), if there is one."""
    return session.scalar(
        select(TakedownNotice)
        .where(TakedownNotice.url_hash == url_hash, TakedownNotice.status == "open")
        .order_by(TakedownNotice.created_at)
        .limit(1)
    )


def notices_of_report(session: Session, report_id: uuid.UUID) -> list[TakedownNotice]:
    return list(
        session.scalars(
            select(TakedownNotice)
            .where(TakedownNotice.report_id == report_id)
            .order_by(TakedownNotice.created_at)
        )
    )


def _deadline_hours(settings: Settings, agency: Agency) -> int:
    return agency.takedown_deadline_hours or settings.takedown_deadline_hours


def issue(
    session: Session,
    caller: Caller,
    settings: Settings,
    *,
    agency: Agency,
    url: str,
    url_hash: str,
    host: str,
    category: str | None,
    report_id: uuid.UUID | None,
    hosting_ip: str | None,
    hosting_country: str | None,
    provider_id: uuid.UUID | None,
) -> TakedownNotice:
    """Open a notice for a confirmed URL and send it (rule 1 of the module docstring)."""
    caller.require(Permission.HANDLE_REPORTS)
    now = utcnow()
    existing = open_notice_for(session, url_hash)
    if existing is not None:
        record_event(session, existing, "confirmed", f"confirmed again by {agency.code}", now)
        return existing
    provider = session.get(HostingProvider, provider_id) if provider_id else None
    notice = TakedownNotice(
        id=uuid.uuid4(),
        report_id=report_id,
        agency_id=agency.id,
        url=url,
        url_hash=url_hash,
        host=host,
        category=category,
        hosting_ip=hosting_ip,
        hosting_country=hosting_country,
        provider_id=provider.id if provider else None,
        recipient=provider.abuse_email if provider else None,
        status="open",
        created_at=now,
        deadline_at=now + timedelta(hours=_deadline_hours(settings, agency)),
        sends=0,
        next_check_at=now + timedelta(minutes=settings.takedown_check_minutes),
        checks=0,
        unreachable_streak=0,
        closed_reason="",
    )
    session.add(notice)
    session.flush()
    where = (
        f"{provider.name} ({hosting_country or 'country unknown'})"
        if provider
        else (f"an unknown network ({hosting_ip or 'address unknown'})")
    )
    record_event(
        session, notice, "issued", f"issued by {caller.label} for {host}, hosted by {where}", now
    )
    recipients = []
    if notice.recipient:
        send_notice(session, settings, notice, agency, now, first=True)
        recipients.append(notice.recipient)
    else:
        record_event(
            session,
            notice,
            "no_contact",
            "no abuse contact is known for this host's network: set one on the hosting "
            "provider's page (or on this notice) and the notice goes out",
            now,
        )
    recipients.extend(_copy_to_police(session, settings, notice, agency, now))
    audit.record(
        session,
        caller,
        action="takedown.issue",
        operation=Operation.DISCLOSURE,
        subject_type="takedown_notice",
        subject_id=notice.id,
        subject_agency_id=agency.id,
        recipients=recipients,
        detail={"host": host, "country": hosting_country},
    )
    session.flush()
    return notice


def category_label(code: str | None) -> str:
    """What the material is, in the words a host's abuse desk acts on, with the category."""
    if code and code in SCHEMES["taskforce"]:
        return f"child sexual abuse material (category {SCHEMES['taskforce'][code].label})"
    return "child sexual abuse material"


def provider_names(session: Session, ids: set[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(
        select(HostingProvider.id, HostingProvider.name).where(HostingProvider.id.in_(wanted))
    ).all()
    return dict(rows)


def notice_text(
    settings: Settings,
    notice: TakedownNotice,
    agency: Agency,
    provider: HostingProvider | None,
    *,
    again: int = 0,
) -> tuple[str, str]:
    """Subject and body of the notice to the host: the address, what it is, what to do, whom
    to answer. It never describes the material beyond its category."""
    ref = reference(notice.id)
    subject = f"Notice of child sexual abuse material at {notice.host} [{ref}]"
    if again:
        subject = f"Reminder {again}: {subject}"
    local = notice.deadline_at.astimezone(ZoneInfo(agency.timezone))
    lines = [
        f"To the abuse desk of {provider.name if provider else 'the host of ' + notice.host},",
        "",
        f"{agency.name} ({agency.code}, {agency.country}), a member of the taskforce network "
        "against online child sexual exploitation, has assessed the content at the address "
        f"below as {category_label(notice.category)}.",
        "",
        f"  Address:    {notice.url}",
        f"  Hosted at:  {notice.hosting_ip or 'unknown'}"
        + (f" ({notice.hosting_country})" if notice.hosting_country else ""),
        f"  Reference:  {ref}",
        f"  Assessed:   {notice.created_at:%Y-%m-%d %H:%M} UTC",
        "",
        "Please remove it, or disable access to it, without delay, and keep the records your "
        "law requires: the police may ask for them. Do not forward or copy the material.",
        "",
        f"taskforce re-checks this address every {settings.takedown_check_minutes} minutes and "
        f"records when it is gone; this notice is sent again every "
        f"{settings.takedown_resend_hours} hours while it stays up, and is escalated if it is "
        f"still online on {notice.deadline_at:%Y-%m-%d %H:%M} UTC "
        f"({local:%Y-%m-%d %H:%M} {agency.timezone}).",
        "",
        f"Questions, or if you cannot act on this: reply to this message, or call "
        f"{agency.contact_desk} on {agency.contact_phone} ({agency.contact_email}), quoting {ref}.",
    ]
    if again:
        lines.insert(
            0, f"This is reminder {again}: the content was still online at our last check.\n"
        )
    return subject, "\n".join(lines) + "\n"


def send_notice(
    session: Session,
    settings: Settings,
    notice: TakedownNotice,
    agency: Agency,
    now: datetime,
    *,
    first: bool,
) -> None:
    provider = session.get(HostingProvider, notice.provider_id) if notice.provider_id else None
    assert notice.recipient is not None
    subject, body = notice_text(
        settings, notice, agency, provider, again=0 if first else notice.sends
    )
    outbox.enqueue_email(
        session,
        recipient=notice.recipient,
        subject=subject,
        body=body,
        reference=notice_ref(notice),
        reply_to=agency.contact_email,
        now=now,
    )
    notice.sends += 1
    notice.last_sent_at = now
    kind = "sent" if first else "resent"
    record_event(session, notice, kind, f"notice {kind} to {notice.recipient}", now)


def _copy_to_police(
    session: Session, settings: Settings, notice: TakedownNotice, agency: Agency, now: datetime
) -> list[str]:
    """Where the agency's law wants it, the country's police get a copy of each notice."""
    if not agency.notice_copy_to_police:
        return []
    police = agency_service.of_kind_in(session, AgencyKind.LAW_ENFORCEMENT, agency.country)
    for force in police:
        outbox.enqueue_email(
            session,
            recipient=force.contact_email,
            subject=f"Copy for the police: takedown notice {reference(notice.id)} ({notice.host})",
            body=(
                f"{agency.name} ({agency.code}) sent a takedown notice for child sexual abuse "
                f"material, as the law of {agency.country} requires you be told.\n\n"
                f"  Address:   {notice.url}\n  Hosted at: {notice.hosting_ip or 'unknown'}\n"
                f"  Reference: {reference(notice.id)}\n\n"
                f"The notice, its re-checks and the removal time: "
                f"{settings.public_url}/ui/takedown/{notice.id} (for {agency.code}); ask "
                f"{agency.contact_desk} on {agency.contact_phone} to hold the takedown if you need "
                "the content preserved first.\n"
            ),
            reference=notice_ref(notice),
            reply_to=agency.contact_email,
            now=now,
        )
        record_event(session, notice, "copy", f"copy to the police: {force.code}", now)
    if not police:
        record_event(
            session,
            notice,
            "copy",
            f"the law wants the police told, but no law-enforcement member is in {agency.country}",
            now,
        )
    return [p.code for p in police]


# --- what analysts do with a notice ---------------------------------------------------------


def _own(session: Session, caller: Caller, notice_id: uuid.UUID) -> TakedownNotice:
    caller.require(Permission.HANDLE_REPORTS)
    notice = session.get(TakedownNotice, notice_id)
    if notice is None or notice.agency_id != caller.agency_id:
        sharing.refuse(
            session,
            caller,
            action="takedown.read",
            subject_type="takedown_notice",
            subject_id=notice_id,
            missing="takedown notice",
        )
    return notice


def _open(notice: TakedownNotice) -> None:
    if notice.status != "open":
        raise Conflict(f"the notice is {notice.status}")


def set_recipient(
    session: Session, caller: Caller, settings: Settings, notice_id: uuid.UUID, email: str
) -> TakedownNotice:
    """An analyst names the abuse contact for this notice (e.g. found on the host's site)."""
    notice = _own(session, caller, notice_id)
    _open(notice)
    notice.recipient = agency_service.normalise_email(email, field="recipient")
    agency = session.get(Agency, notice.agency_id)
    assert agency is not None
    now = utcnow()
    record_event(
        session, notice, "contact", f"abuse contact set by {caller.label}: {notice.recipient}", now
    )
    send_notice(session, settings, notice, agency, now, first=notice.sends == 0)
    audit.record(
        session,
        caller,
        action="takedown.recipient",
        operation=Operation.DISCLOSURE,
        subject_type="takedown_notice",
        subject_id=notice.id,
        subject_agency_id=agency.id,
        recipients=[notice.recipient],
    )
    return notice


def check_now(session: Session, caller: Caller, notice_id: uuid.UUID) -> TakedownNotice:
    """Ask the worker to re-check at its next round."""
    notice = _own(session, caller, notice_id)
    _open(notice)
    notice.next_check_at = utcnow()
    record_event(session, notice, "check_asked", f"re-check asked by {caller.label}", utcnow())
    return notice


def withdraw(
    session: Session, caller: Caller, notice_id: uuid.UUID, *, reason: str
) -> TakedownNotice:
    """Stop chasing (e.g. the police asked to keep the content up for an operation)."""
    notice = _own(session, caller, notice_id)
    _open(notice)
    reason = reason.strip()
    if not reason:
        raise Invalid("reason", "say why the notice is withdrawn")
    if len(reason) > 500:
        raise Invalid("reason", "at most 500 characters")
    notice.status = "withdrawn"
    notice.closed_reason = reason
    notice.next_check_at = None
    record_event(session, notice, "withdrawn", f"withdrawn by {caller.label}: {reason}", utcnow())
    audit.record(
        session,
        caller,
        action="takedown.withdraw",
        operation=Operation.ALTERATION,
        subject_type="takedown_notice",
        subject_id=notice.id,
        justification=reason,
    )
    return notice


STATUSES = ("open", "removed", "withdrawn", "all")


def list_notices(
    session: Session, caller: Caller, *, status: str = "open", limit: int = 200, offset: int = 0
) -> tuple[list[TakedownNotice], int]:
    """The agency's notices, oldest open first (the longest online); audited."""
    caller.require(Permission.HANDLE_REPORTS)
    if status not in STATUSES:
        raise Invalid("status", f"one of: {', '.join(STATUSES)}")
    query = select(TakedownNotice).where(TakedownNotice.agency_id == caller.agency_id)
    if status != "all":
        query = query.where(TakedownNotice.status == status)
    total = int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    order = (
        (TakedownNotice.created_at, TakedownNotice.id)
        if status == "open"
        else (TakedownNotice.created_at.desc(), TakedownNotice.id)
    )
    notices = list(session.scalars(query.order_by(*order).limit(limit).offset(offset)))
    audit.record(
        session,
        caller,
        action="takedown.list",
        operation=Operation.CONSULTATION,
        detail={"status": status, "shown": len(notices)},
    )
    return notices, total


@dataclass
class NoticeView:
    notice: TakedownNotice
    provider: HostingProvider | None
    checks: list[TakedownCheck]
    events: list[TakedownEvent]
    messages: list[OutboxMessage]


def get_notice(session: Session, caller: Caller, notice_id: uuid.UUID) -> NoticeView:
    notice = _own(session, caller, notice_id)
    audit.record(
        session,
        caller,
        action="takedown.read",
        operation=Operation.CONSULTATION,
        subject_type="takedown_notice",
        subject_id=notice.id,
        subject_agency_id=notice.agency_id,
    )
    return NoticeView(
        notice=notice,
        provider=session.get(HostingProvider, notice.provider_id) if notice.provider_id else None,
        checks=list(
            session.scalars(
                select(TakedownCheck)
                .where(TakedownCheck.notice_id == notice.id)
                .order_by(TakedownCheck.at.desc(), TakedownCheck.id)
                .limit(200)
            )
        ),
        events=list(
            session.scalars(
                select(TakedownEvent)
                .where(TakedownEvent.notice_id == notice.id)
                .order_by(TakedownEvent.at, TakedownEvent.id)
            )
        ),
        messages=outbox.messages_for(session, [notice_ref(notice)]),
    )
