"""Test data of the observatory: a small month with known answers (threshold 3 in these
tests, so a few rows pass it): October 2026, URL reports hosted in NL, DE, GB and not
located; takedown notices to NL and DE hosts; children identified; hits between agencies
and inside one."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from builders import Network, Person, add_selector, make_agency, make_case, make_person
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from taskforce.cases.models import Hit
from taskforce.core.caller import Role
from taskforce.core.settings import Settings
from taskforce.core.sharing import SharingLevel
from taskforce.reports.models import Report, ReportAssessment
from taskforce.series.models import Series, Victim
from taskforce.takedown.models import TakedownNotice

OCT = datetime(2026, 10, 1, tzinfo=UTC)
NOV = datetime(2026, 11, 1, tzinfo=UTC)
NOW = datetime(2026, 11, 15, 12, tzinfo=UTC)
THRESHOLD = 3


def hub_coordinator(session: Session) -> Person:
    """The network's coordinator (network admin of the hub agency INT-HUB): who publishes."""
    hub = make_agency(session, "INT-HUB")
    return make_person(session, hub, role=Role.NETWORK_ADMIN, email="admin@hub.example.com")


def report(
    session: Session,
    at: datetime,
    country: str | None,
    *verdicts: str,
    kind: str = "url",
    duplicate_of: uuid.UUID | None = None,
) -> Report:
    """A public report with its assessments, oldest first (the last one is the latest)."""
    row = Report(
        kind=kind,
        details={"url": "https://files.example.net/x"},
        language="en",
        receipt_hash=hashlib.sha256(uuid.uuid4().bytes).hexdigest(),
        created_at=at,
        hosting_country=country,
        duplicate_of_id=duplicate_of,
    )
    session.add(row)
    session.flush()
    for i, verdict in enumerate(verdicts):
        session.add(
            ReportAssessment(
                report_id=row.id,
                assessment=verdict,
                created_at=at + timedelta(hours=1 + i),
            )
        )
    session.flush()
    return row


def notice(
    session: Session,
    agency_id: uuid.UUID,
    country: str,
    created: datetime,
    *,
    removed_after_hours: float | None = None,
    deadline_days: float = 2,
    status: str | None = None,
) -> TakedownNotice:
    removed_at = (
        None if removed_after_hours is None else created + timedelta(hours=removed_after_hours)
    )
    row = TakedownNotice(
        agency_id=agency_id,
        url="https://files.example.net/x",
        url_hash=hashlib.sha256(uuid.uuid4().bytes).hexdigest(),
        host="files.example.net",
        hosting_country=country,
        status=status or ("removed" if removed_at else "open"),
        created_at=created,
        deadline_at=created + timedelta(days=deadline_days),
        removed_at=removed_at,
    )
    session.add(row)
    session.flush()
    return row


def when(session: Session, hits: list[uuid.UUID], at: datetime) -> None:
    assert hits, "the selector made no hit"
    session.execute(update(Hit).where(Hit.id.in_(hits)).values(created_at=at))


@dataclass
class Month:
    net: Network


def build_month(session: Session, settings: Settings, net: Network) -> Month:
    day = OCT + timedelta(days=3)
    # reports received: NL 5 (3 confirmed: one confirmed then overturned), DE 4 (all
    # confirmed), GB 2 (1 confirmed), not located 3; not counted: a duplicate, a grooming
    # report, reports of September and November
    first = report(session, day, "NL", "illegal_material")
    report(session, day, "NL", "illegal_material")
    report(session, day, "NL", "not_illegal", "illegal_material")
    report(session, day, "NL", "illegal_material", "not_illegal")
    report(session, day, "NL")
    report(session, day, "NL", "duplicate", duplicate_of=first.id)
    report(session, day, "NL", kind="grooming")
    report(session, OCT - timedelta(seconds=1), "NL", "illegal_material")
    report(session, NOV, "NL", "illegal_material")
    for _ in range(4):
        report(session, day, "DE", "illegal_material")
    report(session, day, "GB", "illegal_material")
    report(session, day, "GB", "harmful_legal")
    for _ in range(3):
        report(session, day, None)
    # takedown: NL removed 4 in October (10, 20, 30, 40 hours), one removed in November but
    # open past its deadline at October's end, two open past deadline, one open whose
    # deadline is in November, one withdrawn; DE removed 1
    gb = net.gb.user.agency_id
    assert gb is not None
    for hours in (10, 20, 30, 40):
        notice(session, gb, "NL", day, removed_after_hours=hours)
    notice(session, gb, "NL", OCT, removed_after_hours=24 * 33)
    notice(session, gb, "NL", day)
    notice(session, gb, "NL", day)
    notice(session, gb, "NL", NOV - timedelta(hours=1))
    notice(session, gb, "NL", day, status="withdrawn")
    notice(session, gb, "DE", day, removed_after_hours=5)
    # children identified: October 3 (one safeguarded), September 1; one still unidentified
    series = Series(name="Blue Room", owner_agency_id=gb, sharing=SharingLevel.RED)
    session.add(series)
    session.flush()
    for i, (status, at) in enumerate(
        [
            ("identified", day),
            ("identified", day),
            ("safeguarded", day),
            ("identified", OCT - timedelta(days=10)),
            ("unidentified", None),
        ]
    ):
        session.add(Victim(series_id=series.id, label=f"V{i}", status=status, identified_at=at))
    session.flush()
    # hits: GB x NL three in October and one in August; GB x GB one in October
    gb_case = make_case(session, net.gb, sharing=SharingLevel.GREEN)
    nl_case = make_case(session, net.nl, sharing=SharingLevel.GREEN)
    other_gb_case = make_case(session, net.gb, title="Operation Other")
    for i, at in enumerate([day, day, day, datetime(2026, 8, 10, tzinfo=UTC)]):
        add_selector(session, settings, net.gb, gb_case, "email", f"fox{i}@example.com")
        added = add_selector(session, settings, net.nl, nl_case, "email", f"fox{i}@example.com")
        when(session, [h.id for h in added.hits], at)
    add_selector(session, settings, net.gb, gb_case, "email", "same@example.com")
    added = add_selector(session, settings, net.gb, other_gb_case, "email", "same@example.com")
    when(session, [h.id for h in added.hits], day)
    assert session.scalar(select(Hit).limit(1)) is not None
    return Month(net=net)
