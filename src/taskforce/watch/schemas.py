"""What the urgent-lead API takes and gives.

A lead's view carries no report content: the report is read separately (reports service,
audited), so a lead can be listed, mailed and escalated without anyone reading what the
reporter wrote.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

NOTE_MAX = 1000


class LeadState(StrEnum):
    OPEN = "open"  # not yet acknowledged
    ALL = "all"


class TargetReason(StrEnum):
    """Why an agency was sent the lead."""

    REPORTER_COUNTRY = "reporter_country"
    SUSPECT_COUNTRY = "suspect_country"
    NO_MEMBER_AGENCY = "no_member_agency"  # the coordinator at once: nobody in the country
    ESCALATION = "escalation"  # the coordinator: nobody acknowledged in time
    ON_DUTY_DESK = "on_duty_desk"  # a desk on duty for the network (the rota) at that moment
    NEXT_DESK = "next_desk"  # the next desk on duty: nobody acknowledged in time


class StepKind(StrEnum):
    CREATED = "created"
    NOTIFIED = "notified"  # a target's desk was sent the lead (e-mail, webhook)
    TO_COORDINATOR = "to_coordinator"  # no member agency in a country: coordinator at once
    UNREACHABLE = "unreachable"  # nobody could be told (no member, no coordinator)
    ESCALATED = "escalated"
    NO_COORDINATOR = "no_coordinator"  # escalation due but no coordinator registered
    REMINDER = "reminder"
    ACKNOWLEDGED = "acknowledged"  # detail: the acknowledger's note
    ACK_NOTIFIED = "ack_notified"  # the other targets were told who took it
    TO_DUTY_DESK = "to_duty_desk"  # sent to a desk on duty for the network (the rota)
    TO_NEXT_DESK = "to_next_desk"  # passed to the next desk on duty (the rota)
    NO_DUTY_DESK = "no_duty_desk"  # the rota had no desk to pass it to: the coordinator next


STEP_LABELS: dict[str, str] = {
    StepKind.CREATED: "Lead created",
    StepKind.NOTIFIED: "Desk alerted",
    StepKind.TO_COORDINATOR: "Sent to the network coordinator",
    StepKind.UNREACHABLE: "Nobody could be alerted",
    StepKind.ESCALATED: "Escalated",
    StepKind.NO_COORDINATOR: "Escalation waiting",
    StepKind.REMINDER: "Reminder sent",
    StepKind.ACKNOWLEDGED: "Acknowledged",
    StepKind.ACK_NOTIFIED: "Other desks told",
    StepKind.TO_DUTY_DESK: "Sent to the desk on duty",
    StepKind.TO_NEXT_DESK: "Passed to the next desk on duty",
    StepKind.NO_DUTY_DESK: "No desk on duty to take it",
}

KIND_LABELS: dict[str, str] = {
    "danger": "Child in immediate danger",
    "grooming": "Grooming, meeting planned",
}


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind.replace("_", " ").capitalize())


class LeadAcknowledge(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(
        default="",
        max_length=NOTE_MAX,
        description="What the desk is doing, e.g. 'patrol sent, call-back number 0207 …'",
    )


class LeadSummary(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID
    report_id: uuid.UUID
    kind: str  # danger | grooming (the report's kind)
    kind_label: str
    reason: str  # plain words: why it is urgent
    reporter_country: str | None
    suspect_country: str | None
    received_at: datetime  # when the public report arrived
    created_at: datetime
    ack_due_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str  # "user@agency (CODE)" at the time, "" while open
    acknowledged_by_agency: str | None  # agency code
    escalated_at: datetime | None
    targets: list[str]  # agency codes the lead went to, in the order they were added


class LeadTargetRead(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agency: str  # code
    name: str
    country: str
    kind: str  # law_enforcement | hotline | coordinator
    timezone: str
    contact_desk: str
    contact_phone: str
    contact_email: str
    reason: TargetReason
    why: str  # the reason in plain words
    added_at: datetime


class LeadStepRead(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at: datetime
    step: str
    label: str
    agency: str | None  # code of the agency the step concerns
    detail: str


class LeadMessageRead(BaseModel):
    """One outgoing e-mail or webhook about the lead, and whether it actually went out."""

    model_config = ConfigDict(extra="forbid")

    channel: str  # email | webhook
    recipient: str  # the e-mail address; for another agency's webhook only "webhook of CODE"
    agency: str | None  # code of the agency it went to
    purpose: str  # alert | escalation | reminder | acknowledged
    subject: str
    created_at: datetime
    sent_at: datetime | None
    attempts: int
    last_error: str | None
    status: str  # sent | queued | retrying | failed


class LeadRead(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lead: LeadSummary
    note: str  # the acknowledger's note, "" while open
    targets: list[LeadTargetRead]
    steps: list[LeadStepRead]  # in time order
    messages: list[LeadMessageRead]  # oldest first


# --- reachability drills (watch/drills.py) ----------------------------------------------------

DRILL_WINDOW_MAX_DAYS = 31


class DrillState(StrEnum):
    SCHEDULED = "scheduled"  # not sent yet (the send time inside the window is never shown)
    SENT = "sent"  # waiting for the desk
    ACKNOWLEDGED = "acknowledged"
    NOT_ACKNOWLEDGED = "not_acknowledged"  # given up after `drill_give_up_hours`


class DrillSchedule(BaseModel):
    """One desk (its agency's code) or, without `desk`, every active desk; each is alerted at
    its own moment drawn at random in [window_start, window_end)."""

    model_config = ConfigDict(extra="forbid")

    desk: str | None = Field(default=None, max_length=32, description="agency code of the desk")
    window_start: datetime
    window_end: datetime


class DrillRead(BaseModel):
    """A drill as the coordinator sees it: never its send time, only its window."""

    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID
    desk: str  # agency code
    window_start: datetime
    window_end: datetime
    state: DrillState
    sent_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str
    seconds_to_acknowledge: int | None
    gave_up_at: datetime | None
    created_by: str
    created_at: datetime


class DrillPublic(BaseModel):
    """What the drill's link shows the desk: no case data, no send plan."""

    model_config = ConfigDict(extra="forbid")

    desk: str
    desk_name: str
    time_zone: str
    sent_at: datetime
    state: DrillState
    acknowledged_at: datetime | None
    acknowledged_by: str
    gave_up_at: datetime | None


# --- time to acknowledge (watch/statistics.py) ------------------------------------------------

STATISTICS_MAX_DAYS = 366
STATISTICS_METHOD = (
    "median: Python's statistics.median; 90th percentile: statistics.quantiles(n=10, "
    "method='inclusive'), its 9th cut point (a single time is its own 90th percentile)"
)


class AckFigures(BaseModel):
    """Alerts to one desk in the period and how fast it acknowledged them, in seconds."""

    model_config = ConfigDict(extra="forbid")

    alerts: int  # drills sent / urgent leads sent to the desk in the period
    acknowledged: int  # by this desk (the times below are theirs)
    not_acknowledged: int  # drill given up; lead still not taken by anyone after its deadline
    taken_elsewhere: int  # leads another desk acknowledged first (always 0 for drills)
    pending: int  # still inside the time allowed
    median_seconds: float | None
    p90_seconds: float | None


class DeskStatistics(BaseModel):
    model_config = ConfigDict(extra="forbid")

    desk: str  # agency code
    name: str
    drills: AckFigures
    leads: AckFigures


class StatisticsRead(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: datetime
    end: datetime
    method: str
    desks: list[DeskStatistics]  # by agency code


HANDOVER_NOTES_MAX = 4000  # characters of a handover's free text


class HandoverState(StrEnum):
    WAITING = "waiting"  # not acknowledged, deadline not passed
    OVERDUE = "overdue"  # not acknowledged, deadline passed
    ACKNOWLEDGED = "acknowledged"


class HandoverWrite(BaseModel):
    """What the outgoing desk chooses; everything else comes from the records."""

    model_config = ConfigDict(extra="forbid")

    to_desk: str | None = Field(
        default=None,
        max_length=32,
        description="agency code of the incoming desk; default: the first desk taking over",
    )
    leads: list[uuid.UUID] | None = Field(
        default=None, max_length=500, description="ids of the open leads to include; default all"
    )
    preservations: list[str] | None = Field(
        default=None,
        max_length=500,
        description="references of the pending preservations to include; default all",
    )
    notes: str = Field(default="", max_length=4 * HANDOVER_NOTES_MAX)


class HandoverAcknowledge(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HandoverRead(BaseModel):
    id: uuid.UUID
    from_desk: str
    to_desk: str
    shift_ends_at: datetime
    written_at: datetime
    written_by: str
    open_leads: list[dict[str, Any]]
    pending_preservations: list[dict[str, Any]]
    notes: str
    previous_digest: str
    digest: str
    ack_due_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str
    escalated_at: datetime | None
    state: HandoverState


class TurnRead(BaseModel):
    """The shift a desk is handing over and what it would hand over (the form's prefill)."""

    desk: str
    shift_starts_at: datetime
    shift_ends_at: datetime
    incoming: list[str]  # agency codes, the default first
    leads: list[dict[str, Any]]
    preservations: list[dict[str, Any]]
    written: list[uuid.UUID]  # handovers already written for this shift
