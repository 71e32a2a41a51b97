"""A desk's calendars: its shifts out as an iCal feed, its unavailability in from an iCal file.

The feed is served without a login at /rota/feed/{secret}.ics, so a phone's calendar can
subscribe: the secret (32 random bytes, URL-safe) is shown once when made, and only its
SHA-256 is kept (`DutyDesk.feed_secret_hash`); making a new one revokes the old, revoking
leaves none, and an unknown or revoked secret is a plain 404. Every read of a feed is audited.
The feed carries the next 60 days of the desk's final shifts (the engine's, after holidays,
unavailability and overrides), in UTC: the subscriber's calendar shows them in its own zone.

An imported file is the desk's whole unavailability calendar: its events (recurring ones
expanded with `recurring-ical-events`, RRULE, RDATE and EXDATE included, for the next 366
days) replace every window an earlier import gave the desk, and nothing the desk declared by
hand. All-day events are whole local days and floating times are read on the desk's clock
(`engine.local_instant`, the rota's one rule for local times); cancelled and "free"
(TRANSP:TRANSPARENT) events are skipped. A file that is too large, is not iCalendar, or has
an event with no DTSTART or one that ends before it starts is refused whole, naming the line
and the rule, before anything is written.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.budgets import DEFAULT, Budget
from taskforce.core.caller import Caller, Permission, Role
from taskforce.core.db import utcnow
from taskforce.core.errors import Invalid, NotFound
from taskforce.rota import engine
from taskforce.rota.intervals import ShiftLike
from taskforce.rota.models import DeskUnavailability, DutyDesk

FEED_DAYS = 60
IMPORT_DAYS = 366
MAX_WINDOWS = 5_000  # unavailable windows one file may give in IMPORT_DAYS
PRODID = "-//taskforce//24-7 duty rota//EN"
REASON_MAX = 200
UID_MAX = 255


# --- the feed's secret ------------------------------------------------------------------------


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def feed_path(secret: str) -> str:
    return f"/rota/feed/{secret}.ics"


def can_manage(caller: Caller, desk: DutyDesk) -> bool:
    """The coordinator manages every desk; a desk's own agency (KEEP_WATCH) manages its own."""
    if caller.can(Permission.MANAGE_ROTA):
        return True
    return caller.can(Permission.KEEP_WATCH) and caller.agency_id == desk.agency_id


def managed_desk(session: Session, caller: Caller, desk_id: uuid.UUID) -> DutyDesk:
    """The desk, if the caller may manage its calendars; else it is not found (404)."""
    desk = session.get(DutyDesk, desk_id)
    if desk is None or not can_manage(caller, desk):
        raise NotFound("desk")
    return desk


def _audit(session: Session, caller: Caller, desk: DutyDesk, action: str, **detail: Any) -> None:
    audit.record(
        session,
        caller,
        action=action,
        operation=Operation.ALTERATION,
        subject_type="duty_desk",
        subject_id=desk.id,
        subject_agency_id=desk.agency_id,
        detail=detail or None,
    )


def create_feed(
    session: Session, caller: Caller, desk_id: uuid.UUID, *, now: datetime | None = None
) -> str:
    """A new secret for the desk's feed, returned once (only its hash is kept); the old
    address, if any, stops working."""
    desk = managed_desk(session, caller, desk_id)
    secret = secrets.token_urlsafe(32)
    replaced = desk.feed_secret_hash is not None
    desk.feed_secret_hash = secret_hash(secret)
    desk.feed_created_at = now or utcnow()
    session.flush()
    _audit(session, caller, desk, "rota.feed.create", replaced_old=replaced)
    return secret


def revoke_feed(session: Session, caller: Caller, desk_id: uuid.UUID) -> bool:
    """The desk's feed address stops working; False if it had none."""
    desk = managed_desk(session, caller, desk_id)
    had = desk.feed_secret_hash is not None
    desk.feed_secret_hash = None
    desk.feed_created_at = None
    session.flush()
    if had:
        _audit(session, caller, desk, "rota.feed.revoke")
    return had


_SECRET = re.compile(r"^[A-Za-z0-9_-]{32,64}$")


def desk_for_secret(session: Session, secret: str) -> DutyDesk | None:
    if not _SECRET.match(secret):
        return None
    return session.scalars(
        select(DutyDesk).where(
            DutyDesk.feed_secret_hash == secret_hash(secret), DutyDesk.is_active.is_(True)
        )
    ).one_or_none()


def render_feed(
    *, desk_id: uuid.UUID, label: str, shifts: Sequence[ShiftLike], now: datetime
) -> bytes:
    """The VCALENDAR of a desk's shifts (UTC times; UIDs stable from one read to the next, so
    a subscriber's calendar updates a shift instead of duplicating it)."""
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"{label} 24/7 duty")
    cal.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT1H")
    for shift in shifts:
        if shift.desk_id != desk_id:
            continue
        event = icalendar.Event()
        event.add("uid", f"{desk_id}-{shift.starts_at.astimezone(UTC):%Y%m%dT%H%M%SZ}@taskforce")
        event.add("dtstamp", now.astimezone(UTC))
        event.add("dtstart", shift.starts_at.astimezone(UTC))
        event.add("dtend", shift.ends_at.astimezone(UTC))
        event.add("summary", f"24/7 duty: {label}")
        event.add("description", f"{label} holds the network's 24/7 duty ({shift.source}).")
        event.add("categories", [shift.source])
        event.add("transp", "OPAQUE")
        cal.add_component(event)
    data: bytes = cal.to_ical()
    return data


def feed_caller(desk: DutyDesk, label: str, ip: str | None) -> Caller:
    """Who reads a feed: whoever holds the desk's secret (audited as the desk's feed)."""
    return Caller(
        role=Role.READ_ONLY,
        channel="feed",
        agency_id=desk.agency_id,
        email=f"iCal feed of {label}",
        ip=ip,
    )


def audit_feed_read(
    session: Session, desk: DutyDesk, label: str, *, shifts: int, ip: str | None
) -> None:
    audit.record(
        session,
        feed_caller(desk, label, ip),
        action="rota.feed.read",
        operation=Operation.DISCLOSURE,
        subject_type="duty_desk",
        subject_id=desk.id,
        subject_agency_id=desk.agency_id,
        detail={"shifts": shifts, "days": FEED_DAYS},
    )


# --- importing unavailability -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Window:
    """One unavailable window read from a file."""

    starts_at: datetime
    ends_at: datetime
    reason: str
    uid: str | None
    line: int  # where its VEVENT begins


@dataclass(frozen=True, slots=True)
class ImportResult:
    added: int
    replaced: int  # windows of an earlier import that this one replaced
    first: datetime | None
    last: datetime | None


_NAME = re.compile(r"^[A-Za-z0-9-]+(;[^:]*)?:")


@dataclass
class _Event:
    line: int
    names: set[str]
    uid: str | None


def _refuse(line: int, rule: str) -> Invalid:
    return Invalid("file", f"line {line}: {rule}")


def _scan(text: str, budget: Budget) -> list[_Event]:
    """The file's structure, with line numbers: content lines, BEGIN/END nesting, and each
    VEVENT's properties (icalendar itself names no line)."""
    stack: list[tuple[str, int]] = []
    events: list[_Event] = []
    current: _Event | None = None
    logical: list[tuple[int, str]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if raw[:1] in (" ", "\t") and logical:
            start, previous = logical[-1]
            logical[-1] = (start, previous + raw[1:])
        else:
            logical.append((number, raw))
        if len(logical[-1][1]) > budget.max_field:
            raise _refuse(logical[-1][0], f"is longer than {budget.max_field:,} characters")
    if not any(line.strip() for _, line in logical):
        raise Invalid("file", "is empty: an iCalendar file begins with BEGIN:VCALENDAR")
    for number, line in logical:
        if not line.strip():
            continue
        if not _NAME.match(line):
            raise _refuse(number, "is not an iCalendar content line (NAME:value)")
        name, _, value = line.partition(":")
        name = name.split(";", 1)[0].upper()
        value = value.strip().upper()
        if not stack and not (name == "BEGIN" and value == "VCALENDAR"):
            raise _refuse(number, "an iCalendar file begins with BEGIN:VCALENDAR")
        if name == "BEGIN":
            stack.append((value, number))
            if value == "VEVENT":
                current = _Event(number, set(), None)
                events.append(current)
        elif name == "END":
            if not stack:
                raise _refuse(number, f"END:{value} closes nothing")
            opened, at = stack.pop()
            if opened != value:
                raise _refuse(number, f"END:{value} closes BEGIN:{opened} of line {at}")
            if value == "VEVENT":
                current = None
        elif current is not None and len(stack) >= 1 and stack[-1][0] == "VEVENT":
            current.names.add(name)
            if name == "UID":
                current.uid = line.partition(":")[2].strip()
    if stack:
        opened, at = stack[-1]
        raise Invalid("file", f"ends inside BEGIN:{opened} of line {at} (no END:{opened})")
    for event in events:
        if "DTSTART" not in event.names:
            rule = f"VEVENT{_uid(event.uid)} has no DTSTART (an event needs one)"
            raise _refuse(event.line, rule)
    return events


def _uid(uid: str | None) -> str:
    return f" {uid}" if uid else ""


def _instant(value: date | datetime, zone: ZoneInfo) -> datetime:
    """A DTSTART/DTEND value as UTC: a date is the desk's local midnight, a floating time the
    desk's clock (the rota's one rule), an aware time itself."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return engine.local_instant(value.date(), value.time(), zone)
        return value.astimezone(UTC)
    return engine.local_instant(value, time(0), zone)


def _bounds(component: Any, zone: ZoneInfo) -> tuple[datetime, datetime]:
    start_value = component.decoded("DTSTART")
    start = _instant(start_value, zone)
    if "DTEND" in component:
        end = _instant(component.decoded("DTEND"), zone)
    elif "DURATION" in component:
        end = start + component.decoded("DURATION")
    elif isinstance(start_value, datetime):
        end = start  # RFC 5545: a timed event with neither ends when it starts
    else:
        end = _instant(start_value + timedelta(days=1), zone)  # an all-day event: that day
    return start, end


def read_unavailability(
    data: bytes,
    zone: ZoneInfo,
    *,
    now: datetime,
    budget: Budget = DEFAULT,
    days: int = IMPORT_DAYS,
) -> list[Window]:
    """The unavailable windows of an iCal file that overlap the next `days` days, or `Invalid`
    (field "file", the line and the rule) for a file that cannot be trusted whole."""
    if len(data) > budget.max_calendar_bytes:
        raise Invalid("file", f"is larger than {budget.max_calendar_bytes:,} bytes")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise _refuse(line, "is not UTF-8 text (an iCalendar file is)") from None
    events = _scan(text, budget)
    try:
        calendar = icalendar.Calendar.from_ical(text)
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise Invalid("file", f"is not a valid iCalendar file ({exc})") from None
    found = list(calendar.walk("VEVENT"))
    if len(found) != len(events):  # both in document order; they always agree on a valid file
        raise Invalid("file", "is not a valid iCalendar file (its events could not be read)")
    for event, component in zip(events, found, strict=True):
        try:
            start, end = _bounds(component, zone)
        except (ValueError, KeyError, TypeError, AttributeError):
            rule = "has a DTSTART, DTEND or DURATION that is no date or time"
            raise _refuse(event.line, f"VEVENT{_uid(event.uid)} {rule}") from None
        if end < start:
            raise _refuse(
                event.line,
                f"VEVENT{_uid(event.uid)} ends before it starts "
                f"({end:%Y-%m-%d %H:%M} UTC before {start:%Y-%m-%d %H:%M} UTC)",
            )
    horizon = now + timedelta(days=days)
    try:
        occurrences = list(
            recurring_ical_events.of(calendar, skip_bad_series=False).between(now, horizon)
        )
    except Exception as exc:  # the library raises its own and dateutil's errors
        rule = f"has a recurrence (RRULE, RDATE or EXDATE) that cannot be read ({exc})"
        raise Invalid("file", rule) from None
    windows: list[Window] = []
    lines = {(e.uid or ""): e.line for e in events}
    for occurrence in occurrences:
        if str(occurrence.get("STATUS", "")).upper() == "CANCELLED":
            continue
        if str(occurrence.get("TRANSP", "")).upper() == "TRANSPARENT":
            continue
        start, end = _bounds(occurrence, zone)
        if end <= start or end <= now or start >= horizon:
            continue
        uid = str(occurrence.get("UID", "")).strip() or None
        reason = str(occurrence.get("SUMMARY", "")).strip() or "unavailable"
        windows.append(
            Window(
                start,
                end,
                reason[:REASON_MAX],
                uid[:UID_MAX] if uid else None,
                lines.get(uid or "", 0),
            )
        )
        if len(windows) > MAX_WINDOWS:
            raise Invalid(
                "file", f"gives more than {MAX_WINDOWS:,} unavailable windows in {days} days"
            )
    windows.sort(key=lambda w: (w.starts_at, w.ends_at))
    return windows


def import_unavailability(
    session: Session,
    caller: Caller,
    desk_id: uuid.UUID,
    data: bytes,
    *,
    now: datetime | None = None,
    budget: Budget = DEFAULT,
) -> ImportResult:
    """Replace the desk's imported unavailability with the file's (all or nothing)."""
    now = now or utcnow()
    desk = managed_desk(session, caller, desk_id)
    windows = read_unavailability(data, ZoneInfo(desk.time_zone), now=now, budget=budget)
    result = session.execute(
        delete(DeskUnavailability).where(
            DeskUnavailability.desk_id == desk.id, DeskUnavailability.source == "ical"
        )
    )
    replaced = int(getattr(result, "rowcount", 0) or 0)
    who = caller.email or caller.label
    session.add_all(
        DeskUnavailability(
            desk_id=desk.id,
            starts_at=w.starts_at,
            ends_at=w.ends_at,
            reason=w.reason,
            source="ical",
            ical_uid=w.uid,
            created_by=who,
            created_at=now,
        )
        for w in windows
    )
    session.flush()
    _audit(
        session,
        caller,
        desk,
        "rota.unavailability.import",
        added=len(windows),
        replaced=replaced,
    )
    return ImportResult(
        added=len(windows),
        replaced=replaced,
        first=windows[0].starts_at if windows else None,
        last=max(w.ends_at for w in windows) if windows else None,
    )
