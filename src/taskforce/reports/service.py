"""Public reports: stored first, then flagged; receipts; rate limits; the form token.

A report is committed before anything else is attempted (the urgent lead, the audit entry),
so nothing that fails afterwards can lose it. The reporter's address is never stored: floods
are counted by a keyed hash of it, deleted when the window ends. The receipt code is shown once
and only its SHA-256 is kept.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.caller import Caller, Permission, Role
from taskforce.core.db import utcnow
from taskforce.core.errors import Invalid, NotFound
from taskforce.core.settings import Settings
from taskforce.hashsets.categories import SCHEMES
from taskforce.reports.models import (
    Report,
    ReportAddition,
    ReportAssessment,
    ReportThrottle,
)
from taskforce.reports.schemas import (
    ADDITION_MAX,
    Assessment,
    AssessmentCreate,
    Kind,
    ReportCreate,
    ReportInvalid,
    ReportRateLimited,
)
from taskforce.watch.models import UrgentLead

PUBLIC = Caller(role=Role.READ_ONLY, channel="public", email="member of the public")

WINDOW = timedelta(minutes=10)
REPORTS_PER_ADDRESS = 5  # per WINDOW
RECEIPT_TRIES_PER_ADDRESS = 10  # wrong codes per WINDOW, against guessing
ADDITIONS_PER_RECEIPT_HOUR = 5
FORM_TOKEN_AGE = 4 * 3600  # seconds a form may stay open

# No 0/O, 1/I/L: read aloud or copied by hand without mistakes. 31^16 ≈ 7e23 codes.
_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


# --- form token: CSRF protection without a cookie ---------------------------------------------


def _sign(settings: Settings, text: str) -> str:
    return hmac.new(settings.secret_key.encode(), text.encode(), hashlib.sha256).hexdigest()[:32]


def form_token(settings: Settings, now: float | None = None) -> str:
    """A signed, time-limited token for the hidden field: a page of this site must have been
    fetched (by anyone) within the last hours for a post to count."""
    issued = str(int(now if now is not None else time.time()))
    return f"{issued}.{_sign(settings, 'report-form:' + issued)}"


def check_form_token(settings: Settings, token: str, now: float | None = None) -> None:
    issued, _, signature = (token or "").partition(".")
    current = now if now is not None else time.time()
    valid = (
        issued.isdigit()
        and hmac.compare_digest(signature, _sign(settings, "report-form:" + issued))
        and 0 <= current - int(issued) <= FORM_TOKEN_AGE
    )
    if not valid:
        raise ReportInvalid("form", "err_form")


# --- throttle -------------------------------------------------------------------------------


def _address_key(settings: Settings, scope: str, address: str | None) -> str:
    """A keyed hash of the sender's address: enough to count, useless without the key."""
    return hmac.new(
        settings.secret_key.encode(), f"report-{scope}:{address or 'unknown'}".encode(),
        hashlib.sha256,
    ).hexdigest()  # fmt: skip


def _over_limit(session: Session, key: str, limit: int) -> bool:
    session.execute(delete(ReportThrottle).where(ReportThrottle.at < utcnow() - WINDOW))
    recent = session.scalar(select(func.count()).where(ReportThrottle.key_hash == key))
    return (recent or 0) >= limit


# --- receipts -------------------------------------------------------------------------------


def new_receipt_code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(16))
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def receipt_hash(code: str) -> str:
    """Codes are compared without case, spaces or dashes, as people type them back."""
    canonical = "".join(ch for ch in code.upper() if ch.isalnum())
    return hashlib.sha256(canonical.encode()).hexdigest()


# --- reporting ------------------------------------------------------------------------------


def submit_report(
    session: Session, settings: Settings, data: ReportCreate, *, address: str | None
) -> tuple[Report, str]:
    """Store a report and return it with its receipt code (the only time the code exists in
    clear). The caller commits at once, then calls `after_report`."""
    key = _address_key(settings, "report", address)
    if _over_limit(session, key, REPORTS_PER_ADDRESS):
        raise ReportRateLimited("err_rate", minutes=WINDOW.seconds // 60)
    code = new_receipt_code()
    urgent = data.kind == Kind.DANGER or (data.kind == Kind.GROOMING and data.meeting)
    details = dict(data.details)
    if data.kind == Kind.GROOMING:
        details["meeting"] = "yes" if data.meeting else "no"
    report = Report(
        kind=data.kind.value, details=details, country=data.country, language=data.language,
        status="new", urgent=urgent, receipt_hash=receipt_hash(code), created_at=utcnow(),
    )  # fmt: skip
    session.add(report)
    session.add(ReportThrottle(key_hash=key, at=utcnow()))
    session.flush()
    return report, code


def after_report(session: Session, report_id: uuid.UUID) -> None:
    """What follows a stored report: the urgent lead, the audit entry."""
    report = session.get(Report, report_id)
    if report is None:
        return
    if report.urgent:
        session.add(UrgentLead(report_id=report.id, created_at=utcnow()))
    audit.record(
        session, PUBLIC, action="report.public.create", operation=Operation.COLLECTION,
        subject_type="public_report", subject_id=report.id,
        detail={"kind": report.kind, "urgent": report.urgent, "country": report.country},
    )  # fmt: skip
    session.flush()


def add_to_report(
    session: Session, settings: Settings, code: str, text: str, *, address: str | None
) -> ReportAddition:
    """More information from the reporter, found by the hash of their receipt code. Wrong codes
    count against the address (guessing); additions count against the receipt."""
    key = _address_key(settings, "receipt", address)
    if _over_limit(session, key, RECEIPT_TRIES_PER_ADDRESS):
        raise ReportRateLimited("err_rate", minutes=WINDOW.seconds // 60)
    text = text.strip()
    if not text:
        raise ReportInvalid("more", "err_required")
    if len(text) > ADDITION_MAX:
        raise ReportInvalid("more", "err_too_long", max=ADDITION_MAX)
    report = session.scalar(select(Report).where(Report.receipt_hash == receipt_hash(code)))
    if report is None:
        session.add(ReportThrottle(key_hash=key, at=utcnow()))
        raise ReportInvalid("receipt", "err_receipt")
    recent = session.scalar(
        select(func.count()).where(
            ReportAddition.report_id == report.id,
            ReportAddition.created_at >= utcnow() - timedelta(hours=1),
        )
    )
    if (recent or 0) >= ADDITIONS_PER_RECEIPT_HOUR:
        raise ReportRateLimited("err_rate_receipt")
    addition = ReportAddition(report_id=report.id, text=text, created_at=utcnow())
    session.add(addition)
    session.flush()
    audit.record(
        session, PUBLIC, action="report.public.add", operation=Operation.COLLECTION,
        subject_type="public_report", subject_id=report.id,
    )  # fmt: skip
    return addition


# --- the hotline queue ----------------------------------------------------------------------


def queue(session: Session, caller: Caller, *, limit: int = 200) -> list[Report]:
    """New reports, urgent first, then oldest first (the longest waiting)."""
    caller.require(Permission.HANDLE_REPORTS)
    reports = list(
        session.scalars(
            select(Report)
            .where(Report.status == "new")
            .order_by(Report.urgent.desc(), Report.created_at, Report.id)
            .limit(limit)
        )
    )
    audit.record(
        session, caller, action="report.queue.read", operation=Operation.CONSULTATION,
        detail={"shown": len(reports)},
    )  # fmt: skip
    return reports


def get_report(
    session: Session, caller: Caller, report_id: uuid.UUID
) -> tuple[Report, list[ReportAddition], list[ReportAssessment]]:
    """One report with what the reporter added and its assessments; every read is audited."""
    caller.require(Permission.HANDLE_REPORTS)
    report = session.get(Report, report_id)
    if report is None:
        raise NotFound("report")
    audit.record(
        session, caller, action="report.read", operation=Operation.CONSULTATION,
        subject_type="public_report", subject_id=report.id,
    )  # fmt: skip
    additions = list(
        session.scalars(
            select(ReportAddition)
            .where(ReportAddition.report_id == report.id)
            .order_by(ReportAddition.created_at)
        )
    )
    assessments = list(
        session.scalars(
            select(ReportAssessment)
            .where(ReportAssessment.report_id == report.id)
            .order_by(ReportAssessment.created_at)
        )
    )
    return report, additions, assessments


def assess(
    session: Session, caller: Caller, report_id: uuid.UUID, data: AssessmentCreate
) -> ReportAssessment:
    """Record a verdict; illegal material needs a category of the taskforce scheme."""
    caller.require(Permission.HANDLE_REPORTS)
    report = session.get(Report, report_id)
    if report is None:
        raise NotFound("report")
    category = (data.category or "").strip() or None
    if data.assessment == Assessment.ILLEGAL_MATERIAL:
        if category is None or category not in SCHEMES["taskforce"]:
            raise Invalid("category", "choose a category of the taskforce scheme")
        if not SCHEMES["taskforce"][category].illegal:
            raise Invalid("category", "choose a category of illegal material")
    else:
        category = None
    note = data.note.strip()
    if len(note) > 2000:
        raise Invalid("note", "at most 2000 characters")
    row = ReportAssessment(
        report_id=report.id, assessment=data.assessment.value, category=category, note=note,
        agency_id=caller.agency_id, user_id=caller.user_id, created_at=utcnow(),
    )  # fmt: skip
    session.add(row)
    report.status = "assessed"
    session.flush()
    audit.record(
        session, caller, action="report.assess", operation=Operation.ALTERATION,
        subject_type="public_report", subject_id=report.id,
        detail={"assessment": data.assessment.value, "category": category},
    )  # fmt: skip
    return row
