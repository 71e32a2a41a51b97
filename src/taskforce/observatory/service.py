"""The observatory's figures for members (live, audited), monthly snapshots published once by
the coordinator and never changed (their canonical JSON's SHA-256 stored and written into the
audit chain, so a journalist can cite "as of" and anyone can check it), the internet-user
figures the rates divide by, and the CSV and JSON downloads.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from taskforce.agencies.models import Agency
from taskforce.core.audit import service as audit
from taskforce.core.audit.models import AuditEntry
from taskforce.core.audit.service import Operation
from taskforce.core.auth.models import User
from taskforce.core.caller import Caller, Permission
from taskforce.core.errors import Forbidden, Invalid, NotFound
from taskforce.core.settings import Settings
from taskforce.observatory import denominators, figures
from taskforce.observatory.models import Snapshot
from taskforce.observatory.schemas import Figures, SnapshotRead

PERIOD = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])$")
PUBLISH_ACTION = "observatory.publish"
# the `observatory_threshold` setting's default; interfaces pass the setting's value
THRESHOLD = int(Settings.model_fields["observatory_threshold"].default)
ONCE = "a month is published once: its snapshot never changes"


class AlreadyPublished(Invalid):
    """A second publication of a month (409): published figures never change."""

    http_status = 409
    code = "conflict"


def month(period: str) -> tuple[datetime, datetime]:
    """[start, end) of a month written "2026-11" (UTC)."""
    found = PERIOD.match(period.strip())
    if found is None:
        raise Invalid("period", "a month written YYYY-MM, e.g. 2026-11")
    start = datetime(int(found[1]), int(found[2]), 1, tzinfo=UTC)
    return start, figures.add_months(start, 1)


def canonical(data: dict[str, Any]) -> bytes:
    """The bytes a snapshot's hash covers: sorted keys, no spaces, UTF-8 (RFC 8785-like for
    the values the figures hold: strings, integers, floats rounded when computed, null)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest(data: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(data)).hexdigest()


# --- live figures ---------------------------------------------------------------------------


def _member(caller: Caller) -> None:
    """Members of an agency, and the coordinator's desk."""
    if caller.agency_id is None and not caller.can(Permission.PUBLISH_STATISTICS):
        raise Forbidden("the observatory's live figures are for member agencies")
    caller.require(Permission.READ)


def live(
    session: Session,
    caller: Caller,
    period: str | None,
    now: datetime,
    *,
    threshold: int = THRESHOLD,
) -> Figures:
    """The figures of a month (default: the current one) as they stand now, for members; a
    month not over yet ends now. Audited as a consultation."""
    _member(caller)
    start, end = month(period) if period else month(figures.label(now))
    if start > now:
        raise Invalid("period", "a month that has begun")
    result = figures.compute(
        session, start=start, end=min(end, now), threshold=threshold, now=now, period="live"
    )
    audit.record(
        session,
        caller,
        action="observatory.live",
        operation=Operation.CONSULTATION,
        detail={"period": figures.label(start), "threshold": threshold},
    )
    return result


# --- snapshots ------------------------------------------------------------------------------


def publish(
    session: Session, caller: Caller, period: str, now: datetime, *, threshold: int = THRESHOLD
) -> SnapshotRead:
    """Freeze a month that has ended: its figures computed now, stored with the SHA-256 of
    their canonical JSON, the hash written into the audit chain. Once only."""
    caller.require(Permission.PUBLISH_STATISTICS)
    start, end = month(period)
    label = figures.label(start)
    if end > now:
        raise Invalid("period", "a month that has ended")
    existing = session.scalar(select(Snapshot).where(Snapshot.period == label))
    if existing is not None:
        raise AlreadyPublished("period", ONCE, f"{label} was published already: {ONCE}")
    result = figures.compute(session, start=start, end=end, threshold=threshold, now=now)
    data = result.model_dump(mode="json")
    row = Snapshot(
        period=label,
        published_at=now,
        published_by_id=caller.user_id,
        threshold=threshold,
        figures=data,
        sha256=digest(data),
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:  # published meanwhile by another request
        raise AlreadyPublished("period", ONCE, f"{label} was published already: {ONCE}") from None
    audit.record(
        session,
        caller,
        action=PUBLISH_ACTION,
        operation=Operation.DISCLOSURE,
        subject_type="observatory_snapshot",
        subject_id=row.id,
        detail={"period": label, "sha256": row.sha256, "threshold": threshold},
    )
    return _read(session, row)


def published(session: Session) -> list[SnapshotRead]:
    """Every published month, the newest first (public: the figures are published)."""
    rows = session.scalars(select(Snapshot).order_by(Snapshot.period.desc()))
    return [_read(session, row) for row in rows]


def snapshot(session: Session, period: str) -> SnapshotRead:
    """One published month; NotFound when it was not published."""
    start, _ = month(period)
    row = session.scalar(select(Snapshot).where(Snapshot.period == figures.label(start)))
    if row is None:
        raise NotFound("snapshot")
    return _read(session, row)


def _read(session: Session, row: Snapshot) -> SnapshotRead:
    """The publisher named by agency code only: a person's name is not published."""
    by = None
    if row.published_by_id is not None:
        by = session.scalar(
            select(Agency.code)
            .join(User, User.agency_id == Agency.id)
            .where(User.id == row.published_by_id)
        )
    return SnapshotRead(
        period=row.period,
        published_at=row.published_at,
        published_by=by,
        threshold=row.threshold,
        sha256=row.sha256,
        figures=Figures.model_validate(row.figures),
    )


@dataclass(frozen=True)
class Verification:
    period: str
    stored: str  # the hash kept with the snapshot
    computed: str  # the hash of the figures as stored now
    audited: str | None = None  # the hash the audit chain recorded at publication

    @property
    def ok(self) -> bool:
        return self.stored == self.computed and self.audited in (None, self.stored)


def verify(row: Snapshot | SnapshotRead) -> Verification:
    """Recompute the hash of the stored figures: a snapshot altered after publication (its
    figures, or its hash) no longer matches."""
    data = row.figures if isinstance(row, Snapshot) else row.figures.model_dump(mode="json")
    return Verification(period=row.period, stored=row.sha256, computed=digest(data))


def verify_published(session: Session, period: str) -> Verification:
    """`verify` of a stored snapshot, and the hash its publication wrote into the audit chain
    compared too (the chain itself is checked by `taskforce audit verify`)."""
    start, _ = month(period)
    row = session.scalar(select(Snapshot).where(Snapshot.period == figures.label(start)))
    if row is None:
        raise NotFound("snapshot")
    found = verify(row)
    entry = session.scalar(
        select(AuditEntry.detail)
        .where(AuditEntry.action == PUBLISH_ACTION, AuditEntry.subject_id == row.id)
        .order_by(AuditEntry.seq)
        .limit(1)
    )
    audited = str(entry.get("sha256")) if isinstance(entry, dict) else "(no audit entry)"
    return Verification(found.period, found.stored, found.computed, audited)


# --- denominators -------------------------------------------------------------------------------


def load_internet_users(
    session: Session, caller: Caller, text: str, now: datetime
) -> denominators.Loaded:
    """The coordinator loads internet users per country (CSV `country,internet_users,year,
    source`): good lines kept, bad lines reported by number."""
    caller.require(Permission.PUBLISH_STATISTICS)
    rows, bad = denominators.parse(text, now=now)
    denominators.store(session, rows)
    audit.record(
        session,
        caller,
        action="observatory.internet_users",
        operation=Operation.ALTERATION,
        detail={"loaded": len(rows), "bad_lines": len(bad)},
    )
    return denominators.Loaded(loaded=[r.country for r in rows], bad_lines=bad)


# --- downloads ----------------------------------------------------------------------------------

CSV_COLUMNS = (
    "table",
    "period",
    "country",
    "name",
    "month",
    "received",
    "confirmed",
    "confirmed_per_million_internet_users",
    "ci95_low_internet_users",
    "ci95_high_internet_users",
    "confirmed_per_million_people",
    "ci95_low_people",
    "ci95_high_people",
    "removed",
    "median_hours",
    "p90_hours",
    "open_past_deadline",
    "value",
)


def _cell(value: int | float | str | None, threshold: int) -> str | int | float:
    """A suppressed count reads "<10"; an absent figure is empty."""
    return f"<{threshold}" if value is None else value


def csv_text(result: Figures) -> str:
    """All tables in one sheet a spreadsheet opens: a `table` column says which (reports,
    total, removal, children_identified, hits_between_agencies); suppressed counts "<10",
    suppressed or unavailable rates and times empty; the caveat and sources as last rows."""
    t = result.threshold
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, CSV_COLUMNS, lineterminator="\n", restval="")
    writer.writeheader()
    base = {"period": result.period}
    writer.writerow(
        base
        | {
            "table": "total",
            "received": _cell(result.reports_received, t),
            "confirmed": _cell(result.reports_confirmed, t),
        }
    )
    for r in result.reports_by_country:
        row: dict[str, Any] = base | {
            "table": "reports",
            "country": r.country,
            "name": r.name,
            "received": _cell(r.received, t),
            "confirmed": _cell(r.confirmed, t),
        }
        for suffix, rate in (
            ("internet_users", r.confirmed_per_internet_users),
            ("people", r.confirmed_per_people),
        ):
            if rate is not None:
                row[f"confirmed_per_million_{suffix}"] = rate.per_million
                row[f"ci95_low_{suffix}"] = rate.low
                row[f"ci95_high_{suffix}"] = rate.high
        writer.writerow(row)
    for m in result.removal_by_country:
        writer.writerow(
            base
            | {
                "table": "removal",
                "country": m.country,
                "name": m.name,
                "removed": _cell(m.removed, t),
                "median_hours": "" if m.median_hours is None else m.median_hours,
                "p90_hours": "" if m.p90_hours is None else m.p90_hours,
                "open_past_deadline": _cell(m.open_past_deadline, t),
            }
        )
    for table, values in (
        ("children_identified", result.children_identified),
        ("hits_between_agencies", result.hits_between_agencies),
    ):
        for v in values:
            writer.writerow(base | {"table": table, "month": v.month, "value": _cell(v.value, t)})
    d = result.denominators
    notes = [
        ("caveat", result.caveat),
        ("people_source", d.people_source),
        (
            "internet_users_source",
            f"{d.internet_users_source} ({d.internet_users_year})"
            if d.internet_users_source
            else "none loaded: rates per internet user omitted",
        ),
    ]
    for table, text in notes:
        writer.writerow(base | {"table": table, "name": text})
    return buffer.getvalue()


def json_text(result: Figures) -> str:
    """The figures as JSON (suppressed counts null; `threshold` says below what)."""
    return result.model_dump_json(indent=2)
