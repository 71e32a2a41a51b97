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

import math
import statistics
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

import pycountry
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.agencies.models import Agency
from taskforce.agencies.schemas import AgencyKind
from taskforce.blocklist import service as blocklist_service
from taskforce.core import sharing
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.caller import Caller, Permission, Role
from taskforce.core.db import utcnow
from taskforce.core.errors import Conflict, Invalid
from taskforce.core.jobs import runner as jobs
from taskforce.core.outbox import service as outbox
from taskforce.core.outbox.models import OutboxMessage
from taskforce.core.proposals.models import ChangeProposal
from taskforce.core.settings import Settings
from taskforce.hashsets.categories import SCHEMES
from taskforce.hosting import addresses as hosting_addresses
from taskforce.hosting.models import HostingProvider
from taskforce.takedown.fetch import CheckResult, Outcome
from taskforce.takedown.models import TakedownCheck, TakedownEvent, TakedownNotice

LEASE = timedelta(minutes=10)  # a claimed notice is left to the worker checking it


class Checker(Protocol):
    """What re-checks a URL (`takedown.fetch.UrlChecker`; tests pass their own)."""

    def check(self, url: str) -> CheckResult: ...


def reference(notice_id: uuid.UUID) -> str:
    """How a notice is named in mail and on the phone."""
    return f"TD-{notice_id.hex[:8].upper()}"


def _ref(notice: TakedownNotice) -> str:
    return f"takedown_notice:{notice.id}"


def _job(agency: Agency) -> Caller:
    """The hub acting for an agency in the background (re-checks, block-list removals)."""
    return Caller(
        role=Role.AGENCY_ADMIN,
        channel="job",
        agency_id=agency.id,
        agency_code=agency.code,
        country=agency.country,
        email="takedown re-checker",
    )


def _event(session: Session, notice: TakedownNotice, kind: str, detail: str, at: datetime) -> None:
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
        _event(session, existing, "confirmed", f"confirmed again by {agency.code}", now)
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
    _event(
        session, notice, "issued", f"issued by {caller.label} for {host}, hosted by {where}", now
    )
    recipients = []
    if notice.recipient:
        _send(session, settings, notice, agency, now, first=True)
        recipients.append(notice.recipient)
    else:
        _event(
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
    ).tuples()
    return dict(rows.all())


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


def _send(
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
        reference=_ref(notice),
        reply_to=agency.contact_email,
        now=now,
    )
    notice.sends += 1
    notice.last_sent_at = now
    kind = "sent" if first else "resent"
    _event(session, notice, kind, f"notice {kind} to {notice.recipient}", now)


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
            reference=_ref(notice),
            reply_to=agency.contact_email,
            now=now,
        )
        _event(session, notice, "copy", f"copy to the police: {force.code}", now)
    if not police:
        _event(
            session,
            notice,
            "copy",
            f"the law wants the police told, but no law-enforcement member is in {agency.country}",
            now,
        )
    return [p.code for p in police]


# --- re-checks ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    notice_id: uuid.UUID
    url: str


def recheck_job(
    settings: Settings, checker: Checker
) -> jobs.Job[TakedownNotice, Claim, CheckResult]:
    """Re-checks as a background job (`core.jobs`): open notices due for a check are claimed
    with a lease, checked without a transaction and each check recorded in its own."""
    return jobs.Job(
        name="takedown.recheck",
        model=TakedownNotice,
        lease_column=TakedownNotice.next_check_at,
        lease=LEASE,
        due=lambda now: [
            TakedownNotice.status == "open",
            TakedownNotice.next_check_at.is_not(None),
            TakedownNotice.next_check_at <= now,
        ],
        order=(TakedownNotice.next_check_at, TakedownNotice.id),
        take=lambda notice: Claim(notice.id, notice.url),
        work=lambda claim: checker.check(claim.url),
        record=lambda session, claim, result, now: (
            record_check(session, settings, claim.notice_id, result, now=now) is not None
        ),
    )


def record_check(
    session: Session,
    settings: Settings,
    notice_id: uuid.UUID,
    result: CheckResult,
    *,
    now: datetime | None = None,
) -> TakedownNotice | None:
    """Keep one check and move the notice on (rules 2 to 5 of the module docstring)."""
    now = now or utcnow()
    notice = session.get(TakedownNotice, notice_id)
    if notice is None or notice.status != "open":
        return notice
    agency = session.get(Agency, notice.agency_id)
    assert agency is not None
    session.add(
        TakedownCheck(
            id=uuid.uuid4(),
            notice_id=notice.id,
            at=now,
            outcome=result.outcome.value,
            status_code=result.status_code,
            ip=result.ip,
            final_url=result.final_url,
            content_type=(result.content_type or "")[:200] or None,
            detail=result.detail[:1000],
            elapsed_ms=result.elapsed_ms,
            hops=[{"url": h.url, "ip": h.ip, "status": h.status} for h in result.hops],
        )
    )
    notice.checks += 1
    notice.last_checked_at = now
    notice.last_outcome = result.outcome.value
    notice.next_check_at = now + timedelta(minutes=settings.takedown_check_minutes)
    if result.outcome == Outcome.GONE:
        _removed(session, notice, agency, now, f"gone: {result.detail}")
    elif result.outcome == Outcome.PRESENT:
        notice.unreachable_streak = 0
        if result.ip and result.ip != notice.hosting_ip:
            _follow_move(session, notice, agency, result.ip, now)
        _chase(session, settings, notice, agency, now)
    else:
        notice.unreachable_streak += 1
        if notice.unreachable_streak >= settings.takedown_unreachable_checks:
            since = _streak_start(session, notice) or now
            _removed(
                session,
                notice,
                agency,
                since,
                f"unreachable for {notice.unreachable_streak} checks in a row since "
                f"{since:%Y-%m-%d %H:%M} UTC (last: {result.detail})",
            )
        else:
            _chase(session, settings, notice, agency, now)
    session.flush()
    return notice


def _streak_start(session: Session, notice: TakedownNotice) -> datetime | None:
    rows = list(
        session.scalars(
            select(TakedownCheck.at)
            .where(TakedownCheck.notice_id == notice.id)
            .order_by(TakedownCheck.at.desc(), TakedownCheck.id.desc())
            .limit(notice.unreachable_streak)
        )
    )
    return rows[-1] if rows else None


def _chase(
    session: Session, settings: Settings, notice: TakedownNotice, agency: Agency, now: datetime
) -> None:
    """Still up: send a waiting notice, re-send an old one, escalate a late one."""
    if notice.recipient is None and notice.provider_id is not None:
        provider = session.get(HostingProvider, notice.provider_id)
        if provider is not None and provider.abuse_email:
            notice.recipient = provider.abuse_email
    if notice.recipient and notice.sends == 0:
        _send(session, settings, notice, agency, now, first=True)
    elif (
        notice.recipient
        and notice.last_sent_at is not None
        and now - notice.last_sent_at >= timedelta(hours=settings.takedown_resend_hours)
    ):
        _send(session, settings, notice, agency, now, first=False)
    if notice.escalated_at is None and now >= notice.deadline_at:
        _escalate(session, settings, notice, agency, now)


def _escalate(
    session: Session, settings: Settings, notice: TakedownNotice, agency: Agency, now: datetime
) -> None:
    notice.escalated_at = now
    hours = int((now - notice.created_at).total_seconds() // 3600)
    told = [agency]
    coordinator = agency_service.coordinator(session)
    if coordinator is not None and coordinator.id != agency.id:
        told.append(coordinator)
    provider = session.get(HostingProvider, notice.provider_id) if notice.provider_id else None
    body = (
        f"Takedown notice {reference(notice.id)} passed its deadline: the content at\n"
        f"  {notice.url}\nwas still online at the last check, {hours} hours after the notice.\n\n"
        f"Host: {provider.name if provider else 'unknown provider'} "
        f"({notice.hosting_country or 'country unknown'}); notices sent: {notice.sends} to "
        f"{notice.recipient or 'nobody (no abuse contact known)'}.\n"
        f"Issued by {agency.code}. Timeline and checks: "
        f"{settings.public_url}/ui/takedown/{notice.id}\n"
    )
    for member in told:
        outbox.enqueue_email(
            session,
            recipient=member.contact_email,
            subject=f"Escalation: {notice.host} still online after {hours} h "
            f"[{reference(notice.id)}]",
            body=body,
            reference=_ref(notice),
            now=now,
        )
    _event(
        session,
        notice,
        "escalated",
        f"deadline passed with the content still online: told {', '.join(m.code for m in told)}",
        now,
    )


def _follow_move(
    session: Session,
    notice: TakedownNotice,
    agency: Agency,
    ip: str,
    now: datetime,
) -> None:
    """The content answers from another address: if that is another network, the notice goes
    to its provider, and a new country's member is told."""
    location = hosting_addresses.locate(session, ip)
    if notice.hosting_ip is None:  # the first address seen: learnt, not moved
        notice.hosting_ip = ip
        where = location.provider_name or "an unknown network"
        _event(session, notice, "address", f"answers from {ip}, {where}", now)
        if notice.provider_id is None and location.provider_id is not None:
            notice.provider_id = location.provider_id
            notice.recipient = notice.recipient or location.abuse_email
        notice.hosting_country = notice.hosting_country or location.country
        return
    moved_network = location.provider_id != notice.provider_id
    moved_country = bool(location.country) and location.country != notice.hosting_country
    old = f"{notice.hosting_ip or 'unknown'} ({notice.hosting_country or '?'})"
    notice.hosting_ip = ip
    if not (moved_network or moved_country):
        _event(session, notice, "address", f"now answers from {ip} (same network as before)", now)
        return
    new_where = f"{location.provider_name or 'an unknown network'} ({location.country or '?'})"
    _event(session, notice, "moved", f"moved from {old} to {ip}, {new_where}", now)
    if location.country:
        notice.hosting_country = location.country
    if moved_network:
        notice.provider_id = location.provider_id
        notice.recipient = location.abuse_email
        notice.sends = 0  # the new host has not been told yet; _chase sends at once
        if notice.recipient is None:
            _event(session, notice, "no_contact", f"no abuse contact known for {new_where}", now)
    if moved_country and location.country:
        members = agency_service.of_kind_in(
            session, AgencyKind.HOTLINE, location.country
        ) or agency_service.of_kind_in(session, AgencyKind.LAW_ENFORCEMENT, location.country)
        for member in members[:1]:
            if member.id == agency.id:
                continue
            outbox.enqueue_email(
                session,
                recipient=member.contact_email,
                subject=f"Content under notice moved into {location.country} "
                f"[{reference(notice.id)}]",
                body=(
                    f"Content that {agency.code} confirmed as child sexual abuse material and "
                    f"sent a takedown notice for moved to a host in {location.country}:\n"
                    f"  {notice.url}\n  now at {ip}, {new_where}\n\n"
                    f"{agency.code} keeps the notice and sends it to the new host; contact "
                    f"{agency.contact_desk} on {agency.contact_phone} to coordinate.\n"
                ),
                reference=_ref(notice),
                now=now,
            )
            _event(session, notice, "told", f"{member.code} told of the move into its country", now)


def _removed(
    session: Session, notice: TakedownNotice, agency: Agency, at: datetime, why: str
) -> None:
    notice.status = "removed"
    notice.removed_at = at
    notice.closed_reason = why[:500]
    notice.next_check_at = None
    _event(session, notice, "removed", why, at)
    if notice.report_id is not None:
        for entry in blocklist_service.entries_from(session, f"report:{notice.report_id}"):
            if entry.removed_version is None:
                done = blocklist_service.remove_entry(
                    session,
                    _job(agency),
                    entry.id,
                    reason=f"content removed, notice {reference(notice.id)}",
                )
                if isinstance(done, ChangeProposal):  # another agency keeps the entry now
                    why = f"proposed taking it off the block list: {entry.key}"
                    _event(session, notice, "unlist_proposed", why, at)
                    continue
                _event(session, notice, "unlisted", f"taken off the block list: {entry.key}", at)


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
    _event(
        session, notice, "contact", f"abuse contact set by {caller.label}: {notice.recipient}", now
    )
    _send(session, settings, notice, agency, now, first=notice.sends == 0)
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
    _event(session, notice, "check_asked", f"re-check asked by {caller.label}", utcnow())
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
    _event(session, notice, "withdrawn", f"withdrawn by {caller.label}: {reason}", utcnow())
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
        messages=outbox.messages_for(session, [_ref(notice)]),
    )


# --- time to removal ------------------------------------------------------------------------


@dataclass(frozen=True)
class RemovalRow:
    key: str  # a country code or a provider's name
    label: str
    notices: int
    removed: int
    still_online: int
    median_hours: float | None
    p90_hours: float | None
    within_24h: float | None  # share of removed notices removed within a day
    within_72h: float | None


def _percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile: the smallest value with at least `share` of values at or
    below it (what "90 % were removed within" means)."""
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)), 1) - 1]


def removal_statistics(
    session: Session,
    caller: Caller,
    *,
    by: Literal["country", "provider"] = "country",
    since: datetime | None = None,
) -> tuple[list[RemovalRow], RemovalRow]:
    """Time from notice to removal, per hosting country or provider, with the network-wide
    row. Figures over every member's notices (counts and times only, no URLs)."""
    caller.require(Permission.READ)
    query = select(
        TakedownNotice.hosting_country,
        TakedownNotice.provider_id,
        TakedownNotice.status,
        TakedownNotice.created_at,
        TakedownNotice.removed_at,
    ).where(TakedownNotice.status != "withdrawn")
    if since is not None:
        since = since if since.tzinfo else since.replace(tzinfo=UTC)  # a bare date is UTC
        query = query.where(TakedownNotice.created_at >= since)
    groups: dict[str, list[tuple[str, datetime, datetime | None]]] = defaultdict(list)
    everything: list[tuple[str, datetime, datetime | None]] = []
    providers: set[uuid.UUID] = set()
    for country, provider_id, status, created, removed in session.execute(query):
        key = (country or "") if by == "country" else (str(provider_id) if provider_id else "")
        if provider_id:
            providers.add(provider_id)
        groups[key].append((status, created, removed))
        everything.append((status, created, removed))
    names = (
        {
            str(p.id): p.name
            for p in session.scalars(
                select(HostingProvider).where(HostingProvider.id.in_(providers))
            )
        }
        if by == "provider" and providers
        else {}
    )
    rows = [_row(key, _group_label(by, key, names), items) for key, items in groups.items()]
    rows.sort(key=lambda r: (-r.notices, r.label))
    audit.record(
        session,
        caller,
        action="takedown.statistics",
        operation=Operation.CONSULTATION,
        detail={"by": by, "groups": len(rows)},
    )
    return rows, _row("", "All", everything)


def _group_label(by: str, key: str, names: dict[str, str]) -> str:
    if not key:
        return "country unknown" if by == "country" else "provider unknown"
    if by == "provider":
        return names.get(key, key)
    country = pycountry.countries.get(alpha_2=key)
    return str(getattr(country, "common_name", None) or country.name) if country else key


def _row(key: str, label: str, items: list[tuple[str, datetime, datetime | None]]) -> RemovalRow:
    hours = [
        (removed - created).total_seconds() / 3600
        for status, created, removed in items
        if status == "removed" and removed is not None
    ]
    return RemovalRow(
        key=key,
        label=label,
        notices=len(items),
        removed=len(hours),
        still_online=sum(1 for status, _, _ in items if status == "open"),
        median_hours=statistics.median(hours) if hours else None,
        p90_hours=_percentile(hours, 0.9) if hours else None,
        within_24h=sum(h <= 24 for h in hours) / len(hours) if hours else None,
        within_72h=sum(h <= 72 for h in hours) / len(hours) if hours else None,
    )
