"""A fictional 24/7 network for the urgent-lead tests.

GB has two law-enforcement agencies (GB-NCA, GB-CEOP) and a hotline (GB-IWF): urgent leads go
to the police, both desks. IE has only a hotline (IE-HL). NL has one police agency with a
webhook. FR has no member agency. INT-WATCH is the network coordinator (with a webhook).
US-HSI is a member that no lead in these tests reaches.
"""

from __future__ import annotations

import itertools
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from builders import Person, make_person
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.agencies.models import Agency
from taskforce.agencies.schemas import AgencyCreate, AgencyKind
from taskforce.core.caller import Role, system_caller
from taskforce.core.settings import Settings
from taskforce.reports.models import Report
from taskforce.watch import service
from taskforce.watch.models import UrgentLead

# 02:58 UTC on a December night: 02:58 in London (GMT), 03:58 in Amsterdam and Paris (CET),
# 21:58 the evening before in New York (EST).
RECEIVED = datetime(2026, 12, 3, 2, 58, tzinfo=UTC)
_OPENED = itertools.count(1)  # orders the leads a test opens

NL_HOOK = "https://hooks.example.com/nl-np/secret-token-1234"
WATCH_HOOK = "https://hooks.example.com/int-watch/secret-token-5678"

DETAILS = {
    "what": "Secret-Wren: a girl locked in the shed behind the bakery",
    "where": "Secret-Finch Lane 7",
}


def make_desk(
    session: Session,
    code: str,
    *,
    country: str,
    timezone: str,
    phone: str,
    kind: AgencyKind = AgencyKind.LAW_ENFORCEMENT,
    webhook_url: str | None = None,
) -> Agency:
    return agency_service.register_agency(
        session,
        system_caller(),
        AgencyCreate(
            code=code,
            name=f"{code} (fictional)",
            country=country,
            timezone=timezone,
            contact_desk=f"{code} 24/7 desk",
            contact_phone=phone,
            contact_email=f"desk@{code.lower()}.example.com",
            webhook_url=webhook_url,
            kind=kind,
        ),
    )


@dataclass
class Watch:
    gb: Person  # GB-NCA investigator
    ceop: Person  # GB-CEOP analyst
    nl: Person
    ie: Person
    coord: Person  # the coordinator's desk
    us: Person  # never a target here
    gb_reader: Person  # GB-NCA, read-only: may not handle reports


def make_watch(session: Session, *, coordinator: bool = True) -> Watch:
    gb = make_desk(session, "GB-NCA", country="GB", timezone="Europe/London", phone="+442079460001")
    ceop = make_desk(
        session, "GB-CEOP", country="GB", timezone="Europe/London", phone="+442079460002"
    )
    make_desk(
        session,
        "GB-IWF",
        country="GB",
        timezone="Europe/London",
        phone="+442079460003",
        kind=AgencyKind.HOTLINE,
    )
    ie = make_desk(
        session,
        "IE-HL",
        country="IE",
        timezone="Europe/Dublin",
        phone="+35316690000",
        kind=AgencyKind.HOTLINE,
    )
    nl = make_desk(
        session,
        "NL-NP",
        country="NL",
        timezone="Europe/Amsterdam",
        phone="+31201234567",
        webhook_url=NL_HOOK,
    )
    us = make_desk(
        session, "US-HSI", country="US", timezone="America/New_York", phone="+12025550123"
    )
    people = {
        "gb": make_person(session, gb),
        "ceop": make_person(session, ceop, role=Role.ANALYST),
        "nl": make_person(session, nl),
        "ie": make_person(session, ie, role=Role.ANALYST),
        "us": make_person(session, us),
        "gb_reader": make_person(session, gb, role=Role.READ_ONLY),
    }
    hub = (
        make_coordinator(session)
        if coordinator
        else make_desk(  # a desk for the coordinator's person, not a coordinator
            session,
            "INT-DESK",
            country="CH",
            timezone="Europe/Zurich",
            phone="+41445550000",
        )
    )
    people["coord"] = make_person(session, hub, role=Role.ANALYST)
    return Watch(**people)


def make_coordinator(session: Session) -> Agency:
    return make_desk(
        session,
        "INT-WATCH",
        country="FR",
        timezone="Europe/Paris",
        phone="+33199000001",
        kind=AgencyKind.COORDINATOR,
        webhook_url=WATCH_HOOK,
    )


def make_report(
    session: Session,
    *,
    kind: str = "danger",
    country: str | None = "GB",
    details: dict[str, Any] | None = None,
    received_at: datetime = RECEIVED,
) -> Report:
    report = Report(
        kind=kind,
        details=dict(details or DETAILS),
        country=country,
        language="en",
        status="new",
        urgent=True,
        receipt_hash=secrets.token_hex(32),
        created_at=received_at,
    )
    session.add(report)
    session.flush()
    return report


def open_lead(
    session: Session,
    settings: Settings,
    *,
    country: str | None = "GB",
    suspect: str | None = None,
    kind: str = "danger",
    received_at: datetime = RECEIVED,
    details: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> UrgentLead:
    """A lead opened on the test's clock, never today's: ``now`` defaults to a moment just after
    ``received_at``, later for each lead opened, so "newest first" follows the order of opening."""
    report = make_report(
        session, kind=kind, country=country, details=details, received_at=received_at
    )
    return service.open_lead(
        session,
        settings,
        report_id=report.id,
        kind=kind,
        reason="a child in immediate danger" if kind == "danger" else "a meeting is planned",
        reporter_country=country,
        suspect_country=suspect,
        received_at=received_at,
        now=now or received_at + timedelta(microseconds=next(_OPENED)),
    )
