"""Re-checks, run by the background worker through `core.jobs`: each open notice's URL is fetched
(head only, `fetch.py`) until the content is gone; a notice left unanswered is chased, then
escalated; content that moved is followed to its new host.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.agencies.models import Agency
from taskforce.agencies.schemas import AgencyKind
from taskforce.blocklist import service as blocklist_service
from taskforce.core.db import utcnow
from taskforce.core.jobs import runner as jobs
from taskforce.core.outbox import service as outbox
from taskforce.core.proposals.models import ChangeProposal
from taskforce.core.settings import Settings
from taskforce.hosting import addresses as hosting_addresses
from taskforce.hosting.models import HostingProvider
from taskforce.takedown.fetch import CheckResult, Outcome
from taskforce.takedown.models import TakedownCheck, TakedownNotice
from taskforce.takedown.service import (
    LEASE,
    Checker,
    notice_ref,
    record_event,
    reference,
    send_notice,
)

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
        send_notice(session, settings, notice, agency, now, first=True)
    elif (
        notice.recipient
        and notice.last_sent_at is not None
        and now - notice.last_sent_at >= timedelta(hours=settings.takedown_resend_hours)
    ):
        send_notice(session, settings, notice, agency, now, first=False)
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
            reference=notice_ref(notice),
            now=now,
        )
    record_event(
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
        record_event(session, notice, "address", f"answers from {ip}, {where}", now)
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
        record_event(
            session, notice, "address", f"now answers from {ip} (same network as before)", now
        )
        return
    new_where = f"{location.provider_name or 'an unknown network'} ({location.country or '?'})"
    record_event(session, notice, "moved", f"moved from {old} to {ip}, {new_where}", now)
    if location.country:
        notice.hosting_country = location.country
    if moved_network:
        notice.provider_id = location.provider_id
        notice.recipient = location.abuse_email
        notice.sends = 0  # the new host has not been told yet; _chase sends at once
        if notice.recipient is None:
            record_event(
                session, notice, "no_contact", f"no abuse contact known for {new_where}", now
            )
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
                reference=notice_ref(notice),
                now=now,
            )
            record_event(
                session, notice, "told", f"{member.code} told of the move into its country", now
            )


def _removed(
    session: Session, notice: TakedownNotice, agency: Agency, at: datetime, why: str
) -> None:
    notice.status = "removed"
    notice.removed_at = at
    notice.closed_reason = why[:500]
    notice.next_check_at = None
    record_event(session, notice, "removed", why, at)
    if notice.report_id is not None:
        for entry in blocklist_service.entries_from(session, f"report:{notice.report_id}"):
            if entry.removed_version is None:
                done = blocklist_service.remove_entry(
                    session,
                    agency_service.job_caller(agency, "takedown re-checker"),
                    entry.id,
                    reason=f"content removed, notice {reference(notice.id)}",
                )
                if isinstance(done, ChangeProposal):  # another agency keeps the entry now
                    why = f"proposed taking it off the block list: {entry.key}"
                    record_event(session, notice, "unlist_proposed", why, at)
                    continue
                record_event(
                    session, notice, "unlisted", f"taken off the block list: {entry.key}", at
                )
