"""What the watch writes: times in UTC and in each desk's own zone, the steps of a lead, and the
messages (queue entries, alerts by e-mail and webhook) that carry a lead to the desks.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.agencies.models import Agency
from taskforce.core.errors import Invalid
from taskforce.core.inbox import service as inbox
from taskforce.core.outbox import service as outbox
from taskforce.core.settings import Settings
from taskforce.watch.models import Handover, UrgentLead, UrgentLeadStep, UrgentLeadTarget
from taskforce.watch.schemas import (
    StepKind,
    TargetReason,
    kind_label,
)

# --- times ------------------------------------------------------------------------------------


def utc_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return "—"
    return value.astimezone(UTC).strftime(fmt) + " UTC"


def local_time(
    value: datetime | None,
    timezone: str | None,
    fmt: str = "%Y-%m-%d %H:%M",
    *,
    zone_name: bool = False,
) -> str:
    """`value` on the clock of an IANA zone, with its abbreviation ("03:58 CET"); with
    `zone_name`, the IANA name too ("03:58 CET, Europe/Paris"), since abbreviations repeat."""
    if value is None:
        return "—"
    try:
        zone = ZoneInfo(timezone) if timezone else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = value.astimezone(zone)
    text = f"{local.strftime(fmt)} {local.tzname()}"
    return f"{text}, {zone.key}" if zone_name else text


def minutes(delta: timedelta) -> int:
    """Whole minutes, rounded down (a deadline 59 seconds away is "0 min left")."""
    return int(delta.total_seconds() // 60)


# --- helpers ----------------------------------------------------------------------------------


def lead_reference(lead_id: uuid.UUID) -> str:
    return f"urgent_lead:{lead_id}"


def checked_country(value: str | None, field: str) -> str | None:
    if value is None or not value.strip():
        return None
    code = value.strip().upper()
    if len(code) != 2 or not code.isalpha():
        raise Invalid(field, "an ISO 3166-1 alpha-2 country code, e.g. GB")
    return code


def add_step(
    session: Session,
    lead: UrgentLead,
    step: StepKind,
    *,
    at: datetime,
    agency: Agency | None = None,
    detail: str = "",
) -> None:
    session.add(
        UrgentLeadStep(
            lead_id=lead.id,
            at=at,
            step=step.value,
            agency_id=agency.id if agency else None,
            detail=detail[:1000],
        )
    )


def lead_link(settings: Settings, lead: UrgentLead) -> str:
    return f"{settings.public_url.rstrip('/')}/ui/leads/{lead.id}"


def lead_targets(session: Session, lead_id: uuid.UUID) -> list[tuple[UrgentLeadTarget, Agency]]:
    rows = session.execute(
        select(UrgentLeadTarget, Agency)
        .join(Agency, Agency.id == UrgentLeadTarget.agency_id)
        .where(UrgentLeadTarget.lead_id == lead_id)
        .order_by(UrgentLeadTarget.added_at, Agency.code)
    ).all()
    return [(t, a) for t, a in rows]


def report_facts(lead: UrgentLead) -> tuple[str, datetime]:
    """The report's kind and arrival time: the only things of the report the watch knows,
    kept on the lead when it was opened."""
    return lead.kind, lead.received_at


def uncovered_desks(lead: UrgentLead, targets: Sequence[tuple[UrgentLeadTarget, Agency]]) -> str:
    """Why the coordinator had the lead at once: "no member agency in XX" / "no country"."""
    reasons = {t.reason for t, _ in targets}
    missing = []
    if lead.reporter_country and TargetReason.REPORTER_COUNTRY.value not in reasons:
        missing.append(lead.reporter_country)
    if (
        lead.suspect_country
        and lead.suspect_country != lead.reporter_country
        and TargetReason.SUSPECT_COUNTRY.value not in reasons
    ):
        missing.append(lead.suspect_country)
    if not lead.reporter_country and not lead.suspect_country:
        return "no country given"
    return "no member agency in " + " or ".join(missing) if missing else "no member agency"


def why_targeted(lead: UrgentLead, target: UrgentLeadTarget, uncovered: str) -> str:
    reason = target.reason
    if reason == TargetReason.REPORTER_COUNTRY:
        return f"reporter's country ({lead.reporter_country})"
    if reason == TargetReason.SUSPECT_COUNTRY:
        return f"suspect's country ({lead.suspect_country})"
    if reason == TargetReason.NO_MEMBER_AGENCY:
        return f"network coordinator: {uncovered}"
    if reason == TargetReason.ON_DUTY_DESK:
        return "on duty for the network (the rota)"
    if reason == TargetReason.NEXT_DESK:
        return "next desk on duty for the network: not acknowledged in time"
    return "escalation: not acknowledged in time"


# --- messages ---------------------------------------------------------------------------------


NO_CONTENT = (
    "This message deliberately carries no report content. Read the report in taskforce,\n"
    "where every read is recorded."
)


def alert_facts(lead: UrgentLead, agency: Agency, *, kind: str, received_at: datetime) -> list[str]:
    lines = [f"What:            {kind_label(kind)}"]
    lines.append(f"Reported from:   {lead.reporter_country or 'country not given'}")
    if lead.suspect_country:
        lines.append(f"Suspect's country: {lead.suspect_country}")
    lines.append(
        f"Received:        {utc_time(received_at)} = "
        f"{local_time(received_at, agency.timezone, zone_name=True)}"
    )
    lines.append(
        f"Acknowledge by:  {utc_time(lead.ack_due_at)} = "
        f"{local_time(lead.ack_due_at, agency.timezone, zone_name=True)}"
    )
    return lines


def queue_entry(
    session: Session,
    settings: Settings,
    lead: UrgentLead,
    agency: Agency,
    *,
    event: str,
    subject: str,
    body: str,
    now: datetime,
    kind: str,
    extra: dict[str, Any] | None = None,
) -> str:
    """E-mail to the desk and, where the agency has one, a webhook; returns how it was told."""
    reference = lead_reference(lead.id)
    outbox.enqueue_email(
        session,
        recipient=agency.contact_email,
        subject=subject,
        body=body,
        reference=reference,
        now=now,
    )
    told = f"e-mail to {agency.contact_email}"
    if agency.webhook_url:
        payload: dict[str, Any] = {
            "event": event,
            "lead": str(lead.id),
            "kind": kind,
            "ack_due_at": lead.ack_due_at.isoformat(timespec="seconds")
            if lead.ack_due_at
            else None,
            "url": lead_link(settings, lead),
            **(extra or {}),
        }
        outbox.enqueue_webhook(
            session,
            url=agency.webhook_url,
            event=event,
            body=json.dumps(payload, separators=(",", ":")),
            reference=reference,
            now=now,
        )
        told += " and webhook"
    return told


def send_alert(
    session: Session,
    settings: Settings,
    lead: UrgentLead,
    agency: Agency,
    *,
    kind: str,
    why: str,
    received_at: datetime,
    coordinator: Agency | None,
    others: Sequence[Agency],
    now: datetime,
    rota: bool = False,
) -> str:
    """The first alert; with `rota`, what is not acknowledged passes to the next desk on duty
    before the coordinator."""
    country = lead.reporter_country or "country not given"
    subject = (
        f"URGENT lead: {kind_label(kind)}, reported from {country} "
        f"- acknowledge by {utc_time(lead.ack_due_at, '%H:%M')}"
    )
    lines = [
        f"URGENT LEAD for the 24/7 desk of {agency.code} ({agency.name})",
        "",
        *alert_facts(lead, agency, kind=kind, received_at=received_at),
        f"Why your desk:   {why}",
        "",
        "Open the lead and acknowledge it (login required):",
        lead_link(settings, lead),
        "",
    ]
    if others:
        lines.append(
            "Also alerted: "
            + ", ".join(a.code for a in others)
            + ". The first desk to acknowledge takes the lead."
        )
    if rota:
        lines.append(
            "If no desk acknowledges it by then, it passes to the next desk on duty for the "
            + (
                f"network, then to the network coordinator ({coordinator.code})."
                if coordinator
                else "network."
            )
        )
    elif coordinator is not None and coordinator.id != agency.id:
        lines.append(
            "If no desk acknowledges it by then, it escalates to the network coordinator "
            f"({coordinator.code})."
        )
    elif coordinator is not None:
        lines.append(
            "If it is not acknowledged by then, reminders follow every "
            f"{settings.urgent_ack_minutes} minutes."
        )
    else:  # no coordinator registered: nobody to escalate to yet
        lines.append(
            "If no desk acknowledges it by then, reminders follow every "
            f"{settings.urgent_ack_minutes} minutes."
        )
    lines += ["", NO_CONTENT, ""]
    return queue_entry(
        session,
        settings,
        lead,
        agency,
        event="urgent_lead.created",
        subject=subject,
        body="\n".join(lines),
        now=now,
        kind=kind,
    )


def desk_label(agency: Agency) -> str:
    return f"{agency.code} ({agency.contact_desk}, {agency.contact_phone})"


# --- handovers between desks -----------------------------------------------------------------


def handover_link(settings: Settings, handover_id: uuid.UUID) -> str:
    return f"{settings.public_url.rstrip('/')}/ui/watch/handovers/{handover_id}"


def tell_incoming(
    session: Session,
    settings: Settings,
    handover: Handover,
    outgoing: Agency,
    incoming: Agency,
    *,
    now: datetime,
) -> None:
    """The incoming desk's e-mail and inbox notice: counts, deadline, link; nothing else."""
    zone = incoming.timezone
    title = (
        f"Handover from {outgoing.code}: {len(handover.open_leads)} open lead(s), "
        f"{len(handover.pending_preservations)} pending preservation(s)"
    )
    body = "\n".join(
        [
            f"The 24/7 desk of {outgoing.code} hands its shift over to your desk "
            f"({incoming.code}).",
            "",
            f"Shift ends:      {utc_time(handover.shift_ends_at)} = "
            f"{local_time(handover.shift_ends_at, zone, zone_name=True)}",
            f"Written by:      {handover.written_by}",
            f"Open leads:      {len(handover.open_leads)}",
            f"Preservations:   {len(handover.pending_preservations)} pending",
            f"Acknowledge by:  {utc_time(handover.ack_due_at)} = "
            f"{local_time(handover.ack_due_at, zone)}",
            "",
            "Read and acknowledge it (login required):",
            handover_link(settings, handover.id),
            "",
            "Not acknowledged by then, it goes to the network coordinator.",
            "",
            NO_CONTENT,
            "",
        ]
    )
    inbox.tell(
        session,
        agency_id=incoming.id,
        email=incoming.contact_email,
        kind="watch.handover",
        title=title,
        body=body,
        summary=f"Acknowledge by {utc_time(handover.ack_due_at)}.",
        link=f"/ui/watch/handovers/{handover.id}",
        reference=f"watch_handover:{handover.id}",
        now=now,
    )


def tell_coordinator(
    session: Session,
    settings: Settings,
    handover: Handover,
    outgoing: str,
    incoming: Agency,
    coordinator: Agency,
    *,
    late: int,
    now: datetime,
) -> None:
    """The coordinator's e-mail and inbox notice of a handover nobody acknowledged."""
    title = f"Handover {outgoing} → {incoming.code} not acknowledged ({late} min overdue)"
    body = "\n".join(
        [
            f"ESCALATED HANDOVER for the network coordinator's 24/7 desk ({coordinator.code})",
            "",
            f"{outgoing} handed its shift over to {incoming.code}, who has not acknowledged it.",
            "",
            f"Shift ended:     {utc_time(handover.shift_ends_at)}",
            f"Written:         {utc_time(handover.written_at)} by {handover.written_by}",
            f"Due:             {utc_time(handover.ack_due_at)} "
            f"({settings.handover_ack_minutes} min)",
            f"Open leads:      {len(handover.open_leads)}",
            f"Preservations:   {len(handover.pending_preservations)} pending",
            f"Incoming desk:   {incoming.contact_desk}, {incoming.contact_phone}",
            "",
            "Make sure a desk picks it up (login required):",
            handover_link(settings, handover.id),
            "",
            NO_CONTENT,
            "",
        ]
    )
    inbox.tell(
        session,
        agency_id=coordinator.id,
        email=coordinator.contact_email,
        kind="watch.handover_overdue",
        title=title,
        subject=f"ESCALATED {title}",
        body=body,
        summary=f"Due {utc_time(handover.ack_due_at)}; {incoming.code}: {incoming.contact_phone}",
        link=f"/ui/watch/handovers/{handover.id}",
        reference=f"watch_handover:{handover.id}",
        now=now,
    )


REMINDER_KIND = "watch.handover_reminder"


def reminder_title(ends_at: datetime) -> str:
    """Also the reminder's key: one per desk and shift end."""
    return f"Your shift ends at {utc_time(ends_at)}: write the handover"


def remind_outgoing(
    session: Session, settings: Settings, agency: Agency, ends_at: datetime, *, now: datetime
) -> None:
    """The outgoing desk's reminder (inbox and e-mail) that no handover is written yet."""
    title = reminder_title(ends_at)
    link = f"{settings.public_url.rstrip('/')}/ui/watch/handovers/new"
    body = "\n".join(
        [
            f"The network duty of your desk ({agency.code}) ends at {utc_time(ends_at)} = "
            f"{local_time(ends_at, agency.timezone, zone_name=True)}, and no handover is "
            "written yet.",
            "",
            "Write it for the incoming desk (login required): open leads and pending",
            "preservations are filled in for you.",
            link,
            "",
        ]
    )
    inbox.tell(
        session,
        agency_id=agency.id,
        email=agency.contact_email,
        kind=REMINDER_KIND,
        title=title,
        body=body,
        summary=f"Ends {local_time(ends_at, agency.timezone)} your time.",
        link="/ui/watch/handovers/new",
        reference=f"duty_desk:{agency.code}",
        now=now,
    )
