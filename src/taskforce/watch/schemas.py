"""What the urgent-lead API takes and gives.

A lead's view carries no report content: the report is read separately (reports service,
audited), so a lead can be listed, mailed and escalated without anyone reading what the
reporter wrote.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

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
