"""Telling the coordinator of new gaps in the rota: one inbox notice and one e-mail per change
(and per run of the worker's gap watch that finds gaps time brought within 30 days).

A change that opens several gaps at once (a desk deactivated, a rotation shortened) is one
event for the coordinator, so it is told once, with every new gap listed, rather than with a
notice and an e-mail per gap. Times are given in UTC and on the coordinator's own clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from taskforce.agencies.models import Agency
from taskforce.core.inbox import service as inbox
from taskforce.rota.schemas import GAPS_LINK

KIND = "rota.gap"
LISTED = 20  # gaps named one by one; more are counted


@dataclass(frozen=True, slots=True)
class NewGap:
    requirement: str
    starts_at: datetime
    ends_at: datetime


def utc(at: datetime) -> str:
    return f"{at:%a %d %b %Y %H:%M} UTC"


def local(at: datetime, zone: str) -> str:
    return f"{at.astimezone(ZoneInfo(zone)):%a %d %b %Y %H:%M %Z} ({zone})"


def gap_line(gap: NewGap, zone: str) -> str:
    return (
        f"{gap.requirement}: from {utc(gap.starts_at)} to {utc(gap.ends_at)}\n"
        f"    your time: {local(gap.starts_at, zone)} to {local(gap.ends_at, zone)}"
    )


def title(gaps: list[NewGap]) -> str:
    first = gaps[0]
    if len(gaps) == 1:
        return f"New gap in the 24/7 rota: {first.requirement}, from {utc(first.starts_at)}"
    return (
        f"{len(gaps)} new gaps in the 24/7 rota, the first: {first.requirement}, "
        f"from {utc(first.starts_at)}"
    )


def body(gaps: list[NewGap], zone: str, *, changed_by: str | None) -> str:
    """`changed_by` None: no change opened the gaps, time brought them within 30 days."""
    if changed_by is None:
        cause = "As time passes, these intervals come within the next 30 days of the 24/7 rota"
    else:
        cause = (
            f"A change to the 24/7 rota by {changed_by} leaves these intervals of the next 30 days"
        )
    lines = [cause, "without a desk on duty that meets the requirement:", ""]
    lines += [gap_line(g, zone) for g in gaps[:LISTED]]
    if len(gaps) > LISTED:
        lines.append(f"... and {len(gaps) - LISTED} more")
    lines += ["", f"Every gap of the rota: the Gaps page in taskforce, {GAPS_LINK}", ""]
    return "\n".join(lines)


def tell_coordinator(
    session: Session,
    coordinator: Agency,
    gaps: list[NewGap],
    *,
    changed_by: str | None,
    now: datetime,
) -> None:
    """Post the notice and queue the e-mail in the change's (or the gap watch's) transaction;
    `changed_by` None: the gaps came with time, not with a change."""
    if not gaps:
        return
    subject = title(gaps)
    text = body(gaps, coordinator.timezone, changed_by=changed_by)
    inbox.tell(
        session,
        agency_id=coordinator.id,
        email=coordinator.contact_email,
        kind=KIND,
        title=subject,
        body=text,
        summary=text,
        link=GAPS_LINK,
        reference=f"rota-gaps-{now:%Y%m%dT%H%M%S}",
        now=now,
    )
