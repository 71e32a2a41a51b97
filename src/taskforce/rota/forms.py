"""The rota's forms: reading what people type (a time on a chosen zone's clock, a zone), and the
coordinator's page /ui/rota/plan, where rotations, rules, overrides (add, remove, replace),
temporary schedules and coverage requirements are written through `schedule` and `service`.

A refused form is shown again with what was typed and the error next to its field (fields are
named `<form>.<field>`, so two forms on one page never show each other's errors); a change
that succeeds redirects (an override to the rota page, on the week it starts, so the
coordinator sees it on the timeline).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.core.caller import Caller
from taskforce.core.db import utcnow
from taskforce.core.errors import Invalid
from taskforce.core.http import SessionDep
from taskforce.rota import directory, engine, schedule, service, timeline
from taskforce.rota.schemas import (
    FixedShiftIn,
    OverrideCreate,
    Power,
    ReliableHours,
    RequirementCreate,
    RotationCreate,
    RotationKind,
    RuleCreate,
    TemporaryCreate,
    is_zone,
)
from taskforce.web.forms import CheckedWebDep, attempt, field_error
from taskforce.web.session import WebCaller, WebCallerDep, render

router = APIRouter(include_in_schema=False)

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

# --- reading what people type -----------------------------------------------------------------


def agency_zone(session: Session, caller: Caller) -> str:
    agency = agency_service.get(session, caller.agency_id) if caller.agency_id else None
    return agency.timezone if agency else "UTC"


def viewer_zone(session: Session, caller: Caller, tz: str) -> ZoneInfo:
    """The zone the reader asked for, else their agency's: the grid and every time shown."""
    tz = tz.strip()
    return ZoneInfo(tz if tz and is_zone(tz) else agency_zone(session, caller))


def zone_field(value: str, field: str = "tz") -> ZoneInfo:
    if not is_zone(value.strip()):
        raise Invalid(field, "must be an IANA time zone like Europe/Amsterdam")
    return ZoneInfo(value.strip())


def local_input(value: str, zone: ZoneInfo, field: str) -> datetime:
    """A time typed into a form ("2026-03-29T02:30", as <input type=datetime-local> sends it)
    read on the clock of `zone`, as UTC (a time with an offset is taken as it is)."""
    text = value.strip().replace(" ", "T")
    if not text:
        raise Invalid(field, "a date and time like 2026-03-29T14:30")
    try:
        typed = datetime.fromisoformat(text)
    except ValueError:
        raise Invalid(field, "a date and time like 2026-03-29T14:30") from None
    if typed.tzinfo is not None:
        return typed.astimezone(UTC)
    return engine.local_instant(typed.date(), typed.time().replace(second=0), zone)


def input_value(at: datetime, zone: ZoneInfo) -> str:
    """An instant as a datetime-local field shows it on `zone`'s clock."""
    return at.astimezone(zone).strftime("%Y-%m-%dT%H:%M")


def _length(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    hours, rest = divmod(minutes, 60)
    if hours >= 48:
        return f"{hours // 24} d {hours % 24} h"
    return f"{hours} h {rest:02d} min" if rest else f"{hours} h"


def times(zone: ZoneInfo) -> dict[str, Any]:
    """What the templates show times with: the reader's zone, and UTC beside it."""

    def utc(at: datetime, with_date: bool = True) -> str:
        return at.astimezone(UTC).strftime("%a %d %b %H:%M UTC" if with_date else "%H:%M UTC")

    def local(at: datetime, with_date: bool = True) -> str:
        return timeline.local_text(at, zone, with_date=with_date)

    return {
        "tz": zone.key,
        "local": local,
        "utc": utc,
        "span": lambda a, b: timeline.span_text(a, b, zone),
        "length": lambda a, b: _length(b - a),
        "input_value": lambda at: input_value(at, zone),
        "weekday_names": WEEKDAYS,
        "day_span": day_span,
        "reliable_text": reliable_text,
    }


def day_span(weekdays: Iterable[int]) -> str:
    """Weekdays as people write them: "Every day", "Mon–Fri", "Sat, Sun", "Mon–Wed, Fri"
    (a row of seven names is read letter by letter to find the one missing)."""
    days = sorted(set(weekdays))
    if len(days) == 7:
        return "Every day"
    runs: list[list[int]] = []
    for day in days:
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return ", ".join(
        f"{WEEKDAYS[r[0]]}–{WEEKDAYS[r[-1]]}" if len(r) > 2 else ", ".join(WEEKDAYS[d] for d in r)
        for r in runs
    )


def zone_choices(session: Session, caller: Caller, zone: ZoneInfo) -> list[str]:
    """The zones a reader is likely to want: theirs, UTC and every desk's."""
    zones = {zone.key, "UTC", agency_zone(session, caller)}
    zones |= {d.time_zone for d in directory.list_desks(session, caller)}
    return sorted(zones)


def split_error(error: Invalid, prefix: str = "") -> Invalid:
    """An error placed on its field: a whole-form rule that names one ("ends_at: must be
    after starts_at") next to that field, `languages.1` next to `languages`."""
    field, rule = error.field, error.rule
    named = re.match(r"^(\w+): (.+)$", rule)
    if field in ("form", "") and named:
        field, rule = named.group(1), named.group(2)
    return Invalid(prefix + field.split(".", 1)[0], rule)


_DAYS = {name.lower(): i for i, name in enumerate(WEEKDAYS)}


def _weekday(token: str) -> int:
    token = token.strip().lower()[:3]
    if token in _DAYS:
        return _DAYS[token]
    if token.isdigit() and int(token) <= 6:
        return int(token)
    raise ValueError(token)


def _weekdays_of(text: str) -> list[int]:
    """ "mon-fri", "sat,sun", "0-4" as weekday numbers (Monday 0)."""
    days: set[int] = set()
    for part in (p for p in text.split(",") if p.strip()):
        first, _, last = part.partition("-")
        a = _weekday(first)
        b = _weekday(last) if last else a
        if b < a:
            raise ValueError(part)
        days.update(range(a, b + 1))
    return sorted(days)


def reliable_hours(text: str) -> list[ReliableHours]:
    """One window a line, "mon-fri 08:00-18:00", on the desk's own clock."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            days, hours = line.split()
            start, end = hours.split("-")
            weekdays = _weekdays_of(days)
        except ValueError:
            rule = f'line {number}: days and hours like "mon-fri 08:00-18:00"'
            raise Invalid("reliable_hours", rule) from None
        try:
            found.append(ReliableHours(weekdays=weekdays, start=start, end=end))
        except ValidationError as exc:
            rule = split_error(field_error(exc)).rule
            raise Invalid("reliable_hours", f"line {number}: {rule}") from None
    return found


def reliable_text(windows: list[dict[str, Any]]) -> str:
    """Reliable hours as the form shows them, one window a line ("Mon-Fri 08:00-18:00")."""
    lines = []
    for window in windows:
        days = sorted(int(d) for d in window.get("weekdays", ()))
        runs: list[list[int]] = []
        for day in days:
            if runs and runs[-1][-1] == day - 1:
                runs[-1].append(day)
            else:
                runs.append([day])
        named = ",".join(
            WEEKDAYS[r[0]] if len(r) == 1 else f"{WEEKDAYS[r[0]]}-{WEEKDAYS[r[-1]]}" for r in runs
        )
        lines.append(f"{named} {window.get('start')}-{window.get('end')}")
    return "\n".join(lines)


# --- the coordinator's page -------------------------------------------------------------------


def _plan_page(
    request: Request,
    session: Session,
    web: WebCaller,
    *,
    error: Invalid | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    caller = web.caller
    service.require_manage(caller)
    now = utcnow()
    zone = viewer_zone(session, caller, "")
    return render(
        request,
        "rota/plan.html",
        {
            "tab": "plan",
            "desks": directory.list_desks(session, caller),
            "rotations": schedule.list_rotations(session, caller),
            "rules": schedule.list_rules(session, caller),
            "overrides": schedule.list_overrides(session, caller, since=now),
            "temporary": schedule.list_temporary(session, caller, since=now),
            "requirements": service.list_requirements(session, caller),
            "kinds": list(RotationKind),
            "powers": list(Power),
            "zones": zone_choices(session, caller, zone),
            "error": error,
            "now_value": input_value(now, zone),
            **times(zone),
        },
        status_code=status_code,
    )


@router.get("/rota/plan", response_class=HTMLResponse)
def plan_page(request: Request, session: SessionDep, web: WebCallerDep) -> HTMLResponse:
    return _plan_page(request, session, web)


def _submit(
    request: Request,
    session: Session,
    web: WebCaller,
    prefix: str,
    build: Callable[[], object],
    done: Callable[[object], str],
) -> Response:
    """Build the input and make the change in a savepoint; a refusal shows the page again
    with the error on its field (`prefix.field`), a success redirects to `done(result)`."""
    try:
        result = attempt(session, build)
    except ValidationError as exc:
        return _plan_page(
            request, session, web, error=split_error(field_error(exc), prefix), status_code=422
        )
    except Invalid as exc:
        return _plan_page(request, session, web, error=split_error(exc, prefix), status_code=422)
    return RedirectResponse(done(result), status_code=303)


def _code(value: str) -> str | None:
    return value.strip().upper() or None


@router.post("/rota/plan/overrides", response_class=HTMLResponse)
def add_override(
    request: Request,
    session: SessionDep,
    web: CheckedWebDep,
    starts_at: str = Form(default="", max_length=32),
    ends_at: str = Form(default="", max_length=32),
    tz: str = Form(default="", max_length=64),
    add: str = Form(default="", max_length=32),
    remove: str = Form(default="", max_length=32),
    reason: str = Form(default="", max_length=400),
) -> Response:
    """Add a desk, remove one, or both (replace); then the rota's timeline, on its week."""
    service.require_manage(web.caller)
    zone = ZoneInfo("UTC")

    def build() -> object:
        nonlocal zone
        zone = zone_field(tz)
        data = OverrideCreate(
            starts_at=local_input(starts_at, zone, "starts_at"),
            ends_at=local_input(ends_at, zone, "ends_at"),
            add=_code(add),
            remove=_code(remove),
            reason=reason.strip(),
        )
        return schedule.add_override(session, web.caller, data)

    def done(result: object) -> str:
        start = getattr(result, "starts_at", utcnow()).astimezone(zone).date()
        return f"/ui/rota?tz={zone.key}&start={start.isoformat()}#timeline"

    return _submit(request, session, web, "override.", build, done)


@router.post("/rota/plan/rules", response_class=HTMLResponse)
def add_rule(
    request: Request,
    session: SessionDep,
    web: CheckedWebDep,
    target: str = Form(default="", max_length=120),
    weekdays: list[int] = Form(default_factory=list),
    start: str = Form(default="", max_length=5),
    end: str = Form(default="", max_length=5),
    time_zone: str = Form(default="", max_length=64),
    label: str = Form(default="", max_length=200),
) -> Response:
    """`target` is "desk:GB-NCA" or "rotation:<name>"."""
    service.require_manage(web.caller)

    def build() -> object:
        kind, _, name = target.partition(":")
        if kind not in ("desk", "rotation") or not name:
            raise Invalid("target", "choose a desk or a rotation")
        data = RuleCreate(
            desk=name if kind == "desk" else None,
            rotation=name if kind == "rotation" else None,
            weekdays=weekdays,
            start=start.strip(),
            end=end.strip(),
            time_zone=time_zone.strip() or None,
            label=label.strip(),
        )
        return schedule.add_rule(session, web.caller, data)

    return _submit(request, session, web, "rule.", build, lambda _: "/ui/rota/plan#rules")


@router.post("/rota/plan/rotations", response_class=HTMLResponse)
def add_rotation(
    request: Request,
    session: SessionDep,
    web: CheckedWebDep,
    name: str = Form(default="", max_length=200),
    kind: str = Form(default="daily", max_length=16),
    shift_length: str = Form(default="1", max_length=8),
    time_zone: str = Form(default="", max_length=64),
    starts_at: str = Form(default="", max_length=32),
    members: str = Form(default="", max_length=4000),
    description: str = Form(default="", max_length=1000),
) -> Response:
    """Members are agency codes in turn, separated by commas or spaces."""
    service.require_manage(web.caller)

    def build() -> object:
        zone = zone_field(time_zone, "time_zone")
        if not shift_length.strip().isdigit():
            raise Invalid("shift_length", "a whole number of hours, days, weeks or months")
        data = RotationCreate(
            name=name.strip(),
            description=description.strip(),
            kind=kind,  # checked by the schema
            shift_length=int(shift_length),
            time_zone=zone.key,
            starts_at=local_input(starts_at, zone, "starts_at"),
            members=[c.upper() for c in re.split(r"[\s,;]+", members) if c],
        )
        return schedule.add_rotation(session, web.caller, data)

    return _submit(request, session, web, "rotation.", build, lambda _: "/ui/rota/plan#rotations")


_SHIFT_LINE = re.compile(r"^\s*(\S+)\s+(\S+)\s+(\S+)\s*$")


def _fixed_shifts(text: str, zone: ZoneInfo) -> list[FixedShiftIn]:
    """One shift a line: "NL-NP 2026-03-29T08:00 2026-03-29T20:00" on the form's clock."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = _SHIFT_LINE.match(line)
        if match is None:
            raise Invalid(
                "shifts",
                f"line {number}: DESK START END, e.g. NL-NP 2026-03-29T08:00 2026-03-29T20:00",
            )
        code, a, b = match.groups()
        try:
            found.append(
                FixedShiftIn(
                    desk=code.upper(),
                    starts_at=local_input(a, zone, "shifts"),
                    ends_at=local_input(b, zone, "shifts"),
                )
            )
        except ValidationError as exc:
            raise Invalid(
                "shifts", f"line {number}: {split_error(field_error(exc)).rule}"
            ) from None
        except Invalid as exc:
            raise Invalid("shifts", f"line {number}: {exc.rule}") from None
    return found


@router.post("/rota/plan/temporary", response_class=HTMLResponse)
def add_temporary(
    request: Request,
    session: SessionDep,
    web: CheckedWebDep,
    name: str = Form(default="", max_length=200),
    starts_at: str = Form(default="", max_length=32),
    ends_at: str = Form(default="", max_length=32),
    tz: str = Form(default="", max_length=64),
    shifts: str = Form(default="", max_length=40_000),
) -> Response:
    service.require_manage(web.caller)

    def build() -> object:
        zone = zone_field(tz)
        data = TemporaryCreate(
            name=name.strip(),
            starts_at=local_input(starts_at, zone, "starts_at"),
            ends_at=local_input(ends_at, zone, "ends_at"),
            shifts=_fixed_shifts(shifts, zone),
        )
        return schedule.add_temporary(session, web.caller, data)

    return _submit(request, session, web, "temporary.", build, lambda _: "/ui/rota/plan#temporary")


@router.post("/rota/plan/requirements", response_class=HTMLResponse)
def add_requirement(
    request: Request,
    session: SessionDep,
    web: CheckedWebDep,
    name: str = Form(default="", max_length=200),
    power: str = Form(default="", max_length=32),
    language: str = Form(default="", max_length=8),
) -> Response:
    service.require_manage(web.caller)

    def build() -> object:
        data = RequirementCreate(
            name=name.strip(),
            power=power or None,  # checked by the schema
            language=language.strip() or None,
        )
        return service.add_requirement(session, web.caller, data)

    return _submit(
        request, session, web, "requirement.", build, lambda _: "/ui/rota/plan#requirements"
    )


_DELETE: dict[str, Callable[[Session, Caller, uuid.UUID], None]] = {
    "overrides": lambda s, c, i: schedule.delete_override(s, c, i),
    "rules": lambda s, c, i: schedule.delete_rule(s, c, i),
    "rotations": lambda s, c, i: schedule.delete_rotation(s, c, i),
    "temporary": lambda s, c, i: schedule.delete_temporary(s, c, i),
    "requirements": lambda s, c, i: service.delete_requirement(s, c, i),
}


@router.post("/rota/plan/{kind}/{item_id}/delete", response_class=HTMLResponse)
def delete_item(
    request: Request, kind: str, item_id: uuid.UUID, session: SessionDep, web: CheckedWebDep
) -> Response:
    remove = _DELETE.get(kind)
    service.require_manage(web.caller)
    if remove is None:
        return _plan_page(
            request, session, web, error=Invalid("form", "nothing to delete"), status_code=404
        )
    try:
        attempt(session, lambda: remove(session, web.caller, item_id))
    except Invalid as exc:
        prefix = {"requirements": "requirement.", "rotations": "rotation."}.get(kind, "")
        return _plan_page(request, session, web, error=split_error(exc, prefix), status_code=422)
    return RedirectResponse(f"/ui/rota/plan#{kind}", status_code=303)
