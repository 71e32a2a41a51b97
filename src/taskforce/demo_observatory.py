"""The demo's observatory: last month's history of the network's hotlines (URL reports across
hosting countries, their assessments and takedown notices) and children identified over the
year, then last month's snapshot published by the coordinator.

The history is written as archived rows (one multi-row insert per table), not routed and
assessed one by one through the hotline: a month of hundreds of reports would take the demo
minutes, and the figures read only what the rows say. Every value is fictional
(`*.example` hosts). Internet-user figures are not loaded: the demo does not invent a
denominator, so its pages show the rates per million people only and say why.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.core.caller import Caller
from taskforce.core.settings import Settings
from taskforce.core.sharing import SharingLevel
from taskforce.observatory import figures, service
from taskforce.reports.models import Report, ReportAssessment
from taskforce.series.models import Series, Victim
from taskforce.takedown.models import TakedownNotice

# last month's URL reports by hosting country (None: not located); some pass the threshold
# of 10, some do not (and one more is suppressed with them: the total would reveal it)
HOSTED: tuple[tuple[str | None, int], ...] = (
    ("NL", 96),
    ("US", 61),
    ("DE", 34),
    ("FR", 18),
    ("GB", 12),
    ("RU", 7),
    ("BR", 4),
    ("PH", 2),
    (None, 11),
)
CONFIRMED_SHARE = 0.6
HOSTS = ("img.polder-share.example", "pics.tulip-gallery.example", "photos.prairie-host.example")


@dataclass
class ObservatorySummary:
    period: str
    sha256: str
    reports: int  # the archive's rows written here
    countries: int
    suppressed: int  # countries whose received count is shown as "fewer than N"
    received: int | None = None  # as published: the archive and the month's live reports


def build(
    session: Session,
    settings: Settings,
    coordinator: Caller,
    hub_code: str,
    rng: random.Random,
    now: datetime,
) -> ObservatorySummary:
    """Last month's history, then its snapshot published."""
    start, end = service.month(figures.label(figures.add_months(figures.month_start(now), -1)))
    agency = agency_service.get_by_code(session, hub_code)
    reports: list[dict[str, Any]] = []
    assessments: list[dict[str, Any]] = []
    notices: list[dict[str, Any]] = []
    span = int((end - start).total_seconds())
    for country, count in HOSTED:
        for _ in range(count):
            rid = uuid.uuid4()
            at = start + timedelta(seconds=rng.randrange(span - 7 * 86400))
            reports.append(
                {
                    "id": rid,
                    "kind": "url",
                    "details": {"url": f"https://{rng.choice(HOSTS)}/g/{rng.randint(100, 9999)}"},
                    "language": "en",
                    "status": "assessed",
                    "urgent": False,
                    "receipt_hash": hashlib.sha256(rid.bytes).hexdigest(),
                    "created_at": at,
                    "hosting_country": country,
                    "receiving_agency_id": agency.id,
                    "route_attempts": 0,
                }
            )
            confirmed = rng.random() < CONFIRMED_SHARE
            assessments.append(
                {
                    "id": uuid.uuid4(),
                    "report_id": rid,
                    "assessment": "illegal_material" if confirmed else "not_illegal",
                    "category": "baseline" if confirmed else None,
                    "note": "(demo archive)",
                    "agency_id": agency.id,
                    "created_at": at + timedelta(hours=rng.uniform(1, 20)),
                }
            )
            if confirmed and country is not None:
                issued = at + timedelta(hours=rng.uniform(2, 24))
                removed = rng.random() < 0.85
                notices.append(
                    {
                        "id": uuid.uuid4(),
                        "report_id": rid,
                        "agency_id": agency.id,
                        "url": reports[-1]["details"]["url"],
                        "url_hash": hashlib.sha256(rid.bytes + b"notice").hexdigest(),
                        "host": "files.example.net",
                        "hosting_country": country,
                        "status": "removed" if removed else "open",
                        "created_at": issued,
                        "deadline_at": issued + timedelta(days=2),
                        "removed_at": (
                            issued + timedelta(hours=rng.lognormvariate(3.3, 0.9))
                            if removed
                            else None
                        ),
                        "closed_reason": "gone on re-check (demo archive)" if removed else "",
                        "origin_node": "local",
                    }
                )
    session.execute(insert(Report), reports)
    session.execute(insert(ReportAssessment), assessments)
    session.execute(insert(TakedownNotice), notices)
    _identified(session, agency.id, rng, now)
    session.flush()
    published = service.publish(
        session,
        coordinator,
        figures.label(start),
        now,
        threshold=settings.observatory_threshold,
    )
    rows = published.figures.reports_by_country
    return ObservatorySummary(
        period=published.period,
        sha256=published.sha256,
        reports=len(reports),
        countries=len(rows),
        suppressed=sum(1 for r in rows if r.received is None),
        received=published.figures.reports_received,
    )


def _identified(session: Session, agency_id: uuid.UUID, rng: random.Random, now: datetime) -> None:
    """Children identified over the last twelve months (numbers only: no details kept)."""
    series = Series(
        name="Identified children (demo archive)",
        owner_agency_id=agency_id,
        sharing=SharingLevel.RED,
        status_public=False,
    )
    session.add(series)
    session.flush()
    first = figures.add_months(figures.month_start(now), -12)
    victims = []
    for month in range(12):
        begins = figures.add_months(first, month)
        for i in range(rng.randint(4, 22)):
            victims.append(
                {
                    "id": uuid.uuid4(),
                    "series_id": series.id,
                    "label": f"A{month:02d}-{i:02d}",
                    "status": "safeguarded" if i % 3 == 0 else "identified",
                    "identified_at": begins + timedelta(days=rng.randint(0, 27)),
                    "identified_by_agency_id": agency_id,
                    "created_at": begins,
                    "updated_at": begins,
                }
            )
    session.execute(insert(Victim), victims)
