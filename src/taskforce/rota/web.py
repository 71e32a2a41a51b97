"""The rota's pages: /ui/rota (who is on duty now, the next handoffs, gaps ahead and the 14-day
timeline), /ui/rota/on-duty (who covers a capability at a time T, in a zone of the reader's
choice), /ui/rota/gaps (every gap of the next N days), /ui/rota/desks/{id} (a desk's
capabilities, unavailability, iCal feed and import) and the public feed /rota/feed/{secret}.ics.
The coordinator's forms (rotations, rules, overrides, temporary schedules) are in `plan`.

Every time is shown in the reader's zone (the `tz` parameter, by default their agency's) and in
UTC; a time typed into a form is read on the clock of the zone chosen beside it, by the rota's
one rule for local times (`engine.local_instant`: the missing hour is the instant the clocks
jump, the repeated hour its first occurrence).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile as ReceivedFile

from taskforce.core.budgets import DEFAULT
from taskforce.core.caller import Caller, Permission
from taskforce.core.db import utcnow
from taskforce.core.errors import Invalid
from taskforce.core.http import SessionDep, SettingsDep, client_ip
from taskforce.rota import calendars, directory, engine, service, timeline
from taskforce.rota import forms as rota_forms
from taskforce.rota.forms import (
    local_input,
    reliable_hours,
    split_error,
    times,
    viewer_zone,
    zone_choices,
    zone_field,
)
from taskforce.rota.models import DutyDesk
from taskforce.rota.schemas import MAX_DAYS, DeskSet, Power, UnavailabilityCreate
from taskforce.web.forms import CheckedWebDep, attempt, field_error
from taskforce.web.session import WebCaller, WebCallerDep, render

router = APIRouter(prefix="/ui", include_in_schema=False)
router.include_router(rota_forms.router)
# Without a login: a calendar app subscribes with the secret in the address.
feed_router = APIRouter(include_in_schema=False)

HANDOFF_HOURS = 48
TIMELINE_STEP = 7  # days the timeline's "earlier" and "later" links move


# --- the rota page ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Handoff:
    """A moment the duty changes hands: who hands over, who takes it."""

    at: datetime
    hands_over: tuple[str, ...]
    takes: tuple[str, ...]


def handoffs(
    shifts: list[engine.Shift], codes: dict[uuid.UUID, str], now: datetime, limit: int = 8
) -> list[Handoff]:
    """The next moments the duty changes hands after `now` (a shift that continues another of
    the same desk, from another source, is no handoff)."""
    ends = {(s.desk_id, s.ends_at) for s in shifts}
    starts = {(s.desk_id, s.starts_at) for s in shifts}
    horizon = now + timedelta(hours=HANDOFF_HOURS)
    moments: dict[datetime, tuple[set[str], set[str]]] = {}
    for s in shifts:
        code = codes.get(s.desk_id, "?")
        if now < s.starts_at < horizon and (s.desk_id, s.starts_at) not in ends:
            moments.setdefault(s.starts_at, (set(), set()))[1].add(code)
        if now < s.ends_at < horizon and (s.desk_id, s.ends_at) not in starts:
            moments.setdefault(s.ends_at, (set(), set()))[0].add(code)
    return [
        Handoff(at, tuple(sorted(out)), tuple(sorted(into)))
        for at, (out, into) in sorted(moments.items())
    ][:limit]


# English names of the languages desks declare most often; any other is shown by its code
LANGUAGES = {
    "ar": "Arabic", "de": "German", "en": "English", "es": "Spanish", "fr": "French",
    "it": "Italian", "ja": "Japanese", "nl": "Dutch", "pl": "Polish", "pt": "Portuguese",
    "ro": "Romanian", "ru": "Russian", "tl": "Tagalog", "tr": "Turkish", "uk": "Ukrainian",
    "zh": "Chinese",
}  # fmt: skip


def gap_meaning(power: str | None, language: str | None) -> str:
    """What a gap of a requirement means in words: a red bar alone does not say what is
    missing, and "Emergency disclosure: 03:00-07:00" reads like a shift, not a hole."""
    if power is None and language is None:
        return "No desk at all is on duty then."
    what = Power(power).label if power else "any help"
    what = what[0].lower() + what[1:]
    if language:
        what += f" in {LANGUAGES.get(language, language)}"
    return f"No desk on duty then offers {what}."


DESK_DAYS = 7  # a desk's page lists its own shifts and days off this far ahead


def desk_duty(
    rota: engine.Rota, desk_id: uuid.UUID, start: datetime, end: datetime
) -> tuple[list[tuple[datetime, datetime]], list[engine.OffDuty]]:
    """A desk's own shifts in [start, end), back-to-back pieces joined (a rule's shift that an
    override extends is one stretch of duty to the people working it), and its days off."""
    stretches: list[tuple[datetime, datetime]] = []
    for s in engine.shifts(rota, start, end):
        if s.desk_id != desk_id:
            continue
        if stretches and stretches[-1][1] >= s.starts_at:
            stretches[-1] = (stretches[-1][0], max(stretches[-1][1], s.ends_at))
        else:
            stretches.append((s.starts_at, s.ends_at))
    off = [o for o in engine.off_duty(rota, start, end) if o.desk_id == desk_id]
    return stretches, off


def _day(text: str, zone: ZoneInfo, now: datetime) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return now.astimezone(zone).date()


def draw_timeline(
    session: Session,
    caller: Caller,
    rota: engine.Rota,
    start_day: date,
    zone: ZoneInfo,
    now: datetime,
) -> timeline.Timeline:
    start, end = timeline.window(start_day, zone)
    codes = service.codes_of(session, {d.id for d in rota.desks})
    desks = sorted(((d.id, codes.get(d.id, d.code)) for d in rota.desks), key=lambda x: x[1])
    return timeline.draw(
        desks=desks,
        requirements=[(r.id, r.name) for r in rota.requirements],
        shifts=engine.shifts(rota, start, end),
        off_duty=engine.off_duty(rota, start, end),
        gaps=engine.gaps(rota, start, end),
        start_day=start_day,
        zone=zone,
        now=now,
    )


@router.get("/rota", response_class=HTMLResponse)
def rota_page(
    request: Request,
    session: SessionDep,
    web: WebCallerDep,
    tz: str = Query(default="", max_length=64),
    start: str = Query(default="", max_length=10),
) -> HTMLResponse:
    caller = web.caller
    service.require_read(caller)
    now = utcnow()
    zone = viewer_zone(session, caller, tz)
    service.ensure_any_desk(session)
    rota = service.load(session)
    codes = service.codes_of(session, {d.id for d in rota.desks})
    start_day = _day(start, zone, now)
    ahead = service.gaps(session, caller, days=30, now=now)
    return render(
        request,
        "rota/rota.html",
        {
            "tab": "rota",
            "on_duty": service.on_duty(session, caller, at=now),
            "handoffs": handoffs(engine.shifts(rota, now, now + timedelta(days=3)), codes, now),
            "gaps": ahead,
            "gap_meaning": gap_meaning,
            "may_manage": caller.can(Permission.MANAGE_ROTA),
            "timeline": draw_timeline(session, caller, rota, start_day, zone, now),
            "start_day": start_day,
            "earlier": start_day - timedelta(days=TIMELINE_STEP),
            "later": start_day + timedelta(days=TIMELINE_STEP),
            "desks": directory.list_desks(session, caller),
            "own": directory.own_desk(session, caller),
            "zones": zone_choices(session, caller, zone),
            "now_utc": now,
            "sources": timeline.SOURCE_LABELS,
            "colours": timeline.SOURCE_COLOURS,
            **times(zone),
        },
    )


# --- who is on duty at T, for a capability ------------------------------------------------------


@router.get("/rota/on-duty", response_class=HTMLResponse)
def on_duty_page(
    request: Request,
    session: SessionDep,
    web: WebCallerDep,
    at: str = Query(default="", max_length=32),
    tz: str = Query(default="", max_length=64),
    power: str = Query(default="", max_length=32),
    language: str = Query(default="", max_length=8),
) -> HTMLResponse:
    caller = web.caller
    service.require_read(caller)
    now = utcnow()
    error: Invalid | None = None
    zone = viewer_zone(session, caller, tz)
    found = []
    when = now
    try:
        if tz.strip():
            zone = zone_field(tz)
        when = local_input(at, zone, "at") if at.strip() else now
        chosen = None
        if power:
            if power not in {p.value for p in Power}:
                raise Invalid("power", "one of " + ", ".join(p.value for p in Power))
            chosen = Power(power)
        lang = language.strip().lower() or None
        if lang is not None and not re.fullmatch(r"[a-z]{2}", lang):
            raise Invalid("language", "an ISO 639-1 language code like en or es")
        found = service.on_duty(session, caller, at=when, power=chosen, language=lang)
    except Invalid as exc:
        error = exc
    return render(
        request,
        "rota/on_duty.html",
        {
            "tab": "on-duty",
            "found": found,
            "when": when,
            "asked": {"at": at, "tz": tz or zone.key, "power": power, "language": language},
            "powers": list(Power),
            "zones": zone_choices(session, caller, zone),
            "error": error,
            **times(zone),
        },
        status_code=422 if error else 200,
    )


# --- gaps -------------------------------------------------------------------------------------


@router.get("/rota/gaps", response_class=HTMLResponse)
def gaps_page(
    request: Request,
    session: SessionDep,
    web: WebCallerDep,
    days: str = Query(default="30", max_length=8),
    tz: str = Query(default="", max_length=64),
) -> HTMLResponse:
    caller = web.caller
    service.require_read(caller)
    now = utcnow()
    zone = viewer_zone(session, caller, tz)
    error: Invalid | None = None
    span = int(days) if days.strip().isdigit() else 0
    try:
        if not 1 <= span <= MAX_DAYS:
            raise Invalid("days", f"a whole number of days from 1 to {MAX_DAYS}")
        found = service.gaps(session, caller, days=span, now=now)
    except Invalid as exc:
        found, error = [], exc
    by_requirement: dict[str, list[Any]] = {}
    meanings: dict[str, str] = {}
    for requirement in service.list_requirements(session, caller):
        by_requirement[requirement.name] = []
        meanings[requirement.name] = gap_meaning(requirement.power, requirement.language)
    for gap in found:
        by_requirement.setdefault(gap.requirement, []).append(gap)
    return render(
        request,
        "rota/gaps.html",
        {
            "tab": "gaps",
            "by_requirement": by_requirement,
            "meanings": meanings,
            "may_manage": caller.can(Permission.MANAGE_ROTA),
            "total": len(found),
            "days": days,
            "error": error,
            "zones": zone_choices(session, caller, zone),
            "now_utc": now,
            **times(zone),
        },
        status_code=422 if error else 200,
    )


# --- a desk -----------------------------------------------------------------------------------


def _desk_page(
    request: Request,
    session: Session,
    web: WebCaller,
    desk_id: uuid.UUID,
    *,
    error: Invalid | None = None,
    feed_url: str | None = None,
    status_code: int = 200,
    tz: str = "",
) -> HTMLResponse:
    caller = web.caller
    desk = directory.get_desk(session, caller, desk_id)
    row = session.get(DutyDesk, desk_id)
    assert row is not None
    now = utcnow()
    zone = viewer_zone(session, caller, tz)
    desk_zone = ZoneInfo(desk.time_zone)
    # from a day back, so the shift under way shows from its real start, not from now
    since, ahead = now - timedelta(days=1), now + timedelta(days=DESK_DAYS)
    duty, off = desk_duty(service.load(session, start=since, end=ahead), desk_id, since, ahead)
    duty = [(a, b) for a, b in duty if b > now]
    off = [o for o in off if o.ends_at > now]
    return render(
        request,
        "rota/desk.html",
        {
            "tab": "desks",
            "desk": desk,
            "may_edit": service.may_edit_desk(caller, row),
            "may_manage": caller.can(Permission.MANAGE_ROTA),
            "unavailable": directory.list_unavailability(
                session, caller, desk_id, since=now - timedelta(days=1)
            ),
            "feed_created_at": row.feed_created_at,
            "feed_url": feed_url,
            "powers": list(Power),
            "error": error,
            "desk_tz": desk.time_zone,
            "duty": duty,
            "off": off,
            "desk_days": DESK_DAYS,
            "now_utc": now,
            "desk_span": lambda a, b: timeline.span_text(a, b, desk_zone),
            "desk_local": lambda at: timeline.local_text(at, desk_zone),
            "max_calendar_kib": DEFAULT.max_calendar_bytes // 1024,
            "imported": request.query_params.get("imported"),
            "replaced": request.query_params.get("replaced"),
            **times(zone),
        },
        status_code=status_code,
    )


@router.get("/rota/desks/{desk_id}", response_class=HTMLResponse)
def desk_page(
    request: Request,
    desk_id: uuid.UUID,
    session: SessionDep,
    web: WebCallerDep,
    tz: str = Query(default="", max_length=64),
) -> HTMLResponse:
    return _desk_page(request, session, web, desk_id, tz=tz)


def _refused(
    request: Request, session: Session, web: WebCaller, desk_id: uuid.UUID, exc: Invalid
) -> HTMLResponse:
    return _desk_page(request, session, web, desk_id, error=exc, status_code=422)


@router.post("/rota/desks/{desk_id}/feed", response_class=HTMLResponse)
def create_feed(
    request: Request,
    desk_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    web: CheckedWebDep,
) -> Response:
    """A new feed address. Its secret is in this answer only (only its hash is kept), so this
    one form answers with the page instead of redirecting; the page is never cached."""
    now = utcnow()
    secret = attempt(session, lambda: calendars.create_feed(session, web.caller, desk_id, now=now))
    base = (settings.public_url or str(request.base_url)).rstrip("/")
    url = base + calendars.feed_path(secret)
    return _desk_page(request, session, web, desk_id, feed_url=url, status_code=201)


@router.post("/rota/desks/{desk_id}/feed/revoke")
def revoke_feed(desk_id: uuid.UUID, session: SessionDep, web: CheckedWebDep) -> Response:
    calendars.revoke_feed(session, web.caller, desk_id)
    return RedirectResponse(f"/ui/rota/desks/{desk_id}#feed", status_code=303)


@router.post("/rota/desks/{desk_id}/import", response_class=HTMLResponse)
async def import_calendar(
    request: Request,
    desk_id: uuid.UUID,
    session: SessionDep,
    web: CheckedWebDep,
    file: UploadFile | str | None = File(default=None),
) -> Response:
    """The desk's unavailability calendar, replacing its last import (refused whole)."""
    calendars.managed_desk(session, web.caller, desk_id)  # 404 before a byte is looked at
    limit = DEFAULT.max_calendar_bytes
    # the form was parsed by the CSRF check (Starlette's UploadFile, FastAPI's subclass)
    data = await file.read(limit + 1) if isinstance(file, ReceivedFile) else b""
    if not data:
        return _refused(request, session, web, desk_id, Invalid("file", "choose an .ics file"))

    now = utcnow()

    def act() -> calendars.ImportResult:
        with service.watching_gaps(session, web.caller, now):  # the coordinator told of new gaps
            return calendars.import_unavailability(session, web.caller, desk_id, data, now=now)

    try:
        result = attempt(session, act)
    except Invalid as exc:
        return _refused(request, session, web, desk_id, exc)
    return RedirectResponse(
        f"/ui/rota/desks/{desk_id}?imported={result.added}&replaced={result.replaced}#unavailable",
        status_code=303,
    )


@router.post("/rota/desks/{desk_id}/unavailability", response_class=HTMLResponse)
def add_unavailability(
    request: Request,
    desk_id: uuid.UUID,
    session: SessionDep,
    web: CheckedWebDep,
    starts_at: str = Form(default="", max_length=32),
    ends_at: str = Form(default="", max_length=32),
    tz: str = Form(default="", max_length=64),
    reason: str = Form(default="", max_length=400),
) -> Response:
    try:
        zone = zone_field(tz)
        data = UnavailabilityCreate(
            starts_at=local_input(starts_at, zone, "starts_at"),
            ends_at=local_input(ends_at, zone, "ends_at"),
            reason=reason.strip(),
        )
        attempt(session, lambda: directory.add_unavailability(session, web.caller, desk_id, data))
    except ValidationError as exc:
        return _refused(request, session, web, desk_id, split_error(field_error(exc)))
    except Invalid as exc:
        return _refused(request, session, web, desk_id, exc)
    return RedirectResponse(f"/ui/rota/desks/{desk_id}#unavailable", status_code=303)


@router.post("/rota/desks/{desk_id}/unavailability/{row_id}/delete")
def delete_unavailability(
    desk_id: uuid.UUID, row_id: uuid.UUID, session: SessionDep, web: CheckedWebDep
) -> Response:
    directory.delete_unavailability(session, web.caller, row_id)
    return RedirectResponse(f"/ui/rota/desks/{desk_id}#unavailable", status_code=303)


@router.post("/rota/desks/{desk_id}/capabilities", response_class=HTMLResponse)
def set_capabilities(
    request: Request,
    desk_id: uuid.UUID,
    session: SessionDep,
    web: CheckedWebDep,
    languages: str = Form(default="", max_length=200),
    powers: list[str] = Form(default_factory=list),
    reliable: str = Form(default="", max_length=4000),
) -> Response:
    desk = directory.get_desk(session, web.caller, desk_id)
    try:
        data = DeskSet(
            languages=[code for code in re.split(r"[\s,;]+", languages) if code],
            powers=[Power(p) for p in powers if p in {x.value for x in Power}],
            reliable_hours=reliable_hours(reliable),
        )
        attempt(session, lambda: directory.set_desk(session, web.caller, desk.agency, data))
    except ValidationError as exc:
        return _refused(request, session, web, desk_id, split_error(field_error(exc)))
    except Invalid as exc:
        return _refused(request, session, web, desk_id, exc)
    return RedirectResponse(f"/ui/rota/desks/{desk_id}", status_code=303)


# --- the feed ---------------------------------------------------------------------------------


@feed_router.get("/rota/feed/{name}")
def feed(request: Request, name: str, session: SessionDep) -> Response:
    """The desk's next 60 days of shifts; an unknown or revoked address is a 404."""
    secret = name.removesuffix(".ics")
    desk = calendars.desk_for_secret(session, secret) if name.endswith(".ics") else None
    if desk is None:
        return Response("not found\n", status_code=404, media_type="text/plain")
    now = utcnow()
    label = service.codes_of(session, {desk.id}).get(desk.id, "desk")
    found = engine.shifts(service.load(session), now, now + timedelta(days=calendars.FEED_DAYS))
    mine = [s for s in found if s.desk_id == desk.id]
    calendars.audit_feed_read(session, desk, label, shifts=len(mine), ip=client_ip(request))
    body = calendars.render_feed(desk_id=desk.id, label=label, shifts=mine, now=now)
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={
            "Content-Disposition": f'inline; filename="{label.lower()}-duty.ics"',
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
        },
    )
