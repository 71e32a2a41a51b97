"""`taskforce rota ...`: the 24/7 rota from the console (the operator acts as the network
coordinator): desks, rotations, rules, overrides, unavailability; who is on duty; gaps.

Desks are named by their agency's code; instants are ISO 8601 with their offset
("2026-12-08T22:00Z"); weekdays are 0 (Monday) to 6 (Sunday), as a list or ranges ("0-4,6")
or by name ("mon-fri").
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import typer
from pydantic import ValidationError

from taskforce.core.budgets import DEFAULT
from taskforce.core.caller import system_caller
from taskforce.core.console import err, out, unit
from taskforce.core.db import utcnow
from taskforce.rota import calendars, directory, schedule, service
from taskforce.rota.schemas import (
    DeskSet,
    DutyShiftRead,
    FixedShiftIn,
    OverrideCreate,
    Power,
    ReliableHours,
    RequirementCreate,
    RotationCreate,
    RotationKind,
    RuleCreate,
    TemporaryCreate,
    UnavailabilityCreate,
)

app = typer.Typer(
    help="The network's 24/7 rota: desks, rotations, rules, overrides; who is on duty; gaps.",
    no_args_is_help=True,
)
desk_app = typer.Typer(help="Member agencies' 24/7 desks.", no_args_is_help=True)
rotation_app = typer.Typer(help="Desks taking the duty in turn.", no_args_is_help=True)
rule_app = typer.Typer(help="Who holds the duty on which days and hours.", no_args_is_help=True)
override_app = typer.Typer(help="Add, remove or replace a desk for a window.", no_args_is_help=True)
unavailable_app = typer.Typer(help="When a desk cannot take the duty.", no_args_is_help=True)
requirement_app = typer.Typer(help="What must be covered at every instant.", no_args_is_help=True)
temporary_app = typer.Typer(
    help="An operation's own cover, replacing every rule for its window.", no_args_is_help=True
)
app.add_typer(desk_app, name="desk")
app.add_typer(rotation_app, name="rotation")
app.add_typer(rule_app, name="rule")
app.add_typer(override_app, name="override")
app.add_typer(unavailable_app, name="unavailable")
app.add_typer(requirement_app, name="requirement")
app.add_typer(temporary_app, name="temporary")

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _refuse(field: str, rule: str) -> typer.Exit:
    err.print(f"error: {field}: {rule}", markup=False)
    return typer.Exit(2)


@contextmanager
def _schema_input() -> Iterator[None]:
    """A model the console built that breaks a rule: its field and rule, exit code 2."""
    try:
        yield
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ())) or "input"
        raise _refuse(field, str(first.get("msg", "is invalid"))) from None


def _instant(value: str, option: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise _refuse(option, "must be ISO 8601 with its offset, e.g. 2026-12-08T22:00Z") from None


def _day(token: str, option: str) -> int:
    token = token.strip().lower()
    if token[:3] in DAY_NAMES and token.isalpha():
        return DAY_NAMES.index(token[:3])
    if token.isdigit() and int(token) <= 6:
        return int(token)
    raise _refuse(option, f'"{token}" is no weekday (0 Monday … 6 Sunday, or mon … sun)')


def parse_days(value: str, option: str = "--days") -> list[int]:
    """ "0-4,6", "mon-fri", "sat,sun" as weekday numbers."""
    days: set[int] = set()
    for part in (p for p in value.split(",") if p.strip()):
        if "-" in part:
            first, last = (_day(t, option) for t in part.split("-", 1))
            if last < first:
                raise _refuse(option, f'"{part}" runs backwards')
            days.update(range(first, last + 1))
        else:
            days.add(_day(part, option))
    return sorted(days)


def _reliable(value: str) -> ReliableHours:
    """ "mon-fri 08:00-18:00" as reliable hours."""
    try:
        days, hours = value.split()
        start, end = hours.split("-")
    except ValueError:
        raise _refuse("--reliable", 'like "mon-fri 08:00-18:00"') from None
    with _schema_input():
        return ReliableHours(weekdays=parse_days(days, "--reliable"), start=start, end=end)


def _list(value: str | None) -> list[str] | None:
    return None if value is None else [v.strip() for v in value.split(",") if v.strip()]


def _utc(at: datetime) -> str:
    return f"{at:%Y-%m-%d %H:%M}Z"


def _local(at: datetime, zone: str) -> str:
    return f"{at.astimezone(ZoneInfo(zone)):%a %H:%M}"


def _shift_line(s: DutyShiftRead) -> str:
    local = f"{_local(s.starts_at, s.time_zone)}-{_local(s.ends_at, s.time_zone)} {s.time_zone}"
    return (
        f"{s.agency}\t{_utc(s.starts_at)} - {_utc(s.ends_at)}\t({local})\t{s.source}\t"
        f"{s.contact_phone}\t{s.contact_email}"
    )


# --- desks ------------------------------------------------------------------------------------


@desk_app.command("set")
def desk_set(
    ctx: typer.Context,
    agency: str = typer.Argument(..., help="Agency code, e.g. GB-NCA"),
    languages: str | None = typer.Option(None, "--languages", help="ISO 639-1, e.g. en,es"),
    powers: str | None = typer.Option(
        None, "--powers", help=f"comma-separated: {', '.join(p.value for p in Power)}"
    ),
    reliable: list[str] | None = typer.Option(
        None, "--reliable", help='hours of reliable cover, "mon-fri 08:00-18:00" (repeatable)'
    ),
    time_zone: str | None = typer.Option(None, "--time-zone", help="IANA, e.g. Europe/Madrid"),
    subdivision: str | None = typer.Option(
        None, "--subdivision", help="for public holidays, e.g. BY (empty: none)"
    ),
    holidays: bool | None = typer.Option(
        None, "--holidays/--no-holidays", help="off duty on the country's public holidays"
    ),
    active: bool | None = typer.Option(None, "--active/--inactive", help="takes part at all"),
) -> None:
    """Register the agency's 24/7 desk or change it; an option left out keeps its value."""
    with _schema_input():
        data = DeskSet(
            languages=_list(languages),
            powers=_list(powers),
            reliable_hours=[_reliable(r) for r in reliable] if reliable else None,
            time_zone=time_zone,
            subdivision=subdivision,
            observes_holidays=holidays,
            is_active=active,
        )
    with unit(ctx) as session:
        desk = directory.set_desk(session, system_caller(), agency, data)
    out.print(
        f"desk {desk.agency}: {desk.time_zone}, languages {', '.join(desk.languages) or '-'}, "
        f"powers {', '.join(desk.powers) or '-'}",
        markup=False,
    )


@desk_app.command("list")
def desk_list(ctx: typer.Context) -> None:
    """Every desk: zone, languages, powers, holidays, whether it takes part."""
    with unit(ctx) as session:
        desks = directory.list_desks(session, system_caller())
    for d in desks:
        holidays = f"holidays {d.country}{'-' + d.subdivision if d.subdivision else ''}"
        out.print(
            f"{d.agency}\t{d.time_zone}\t{','.join(d.languages) or '-'}\t"
            f"{','.join(d.powers) or '-'}\t{holidays if d.observes_holidays else 'no holidays'}"
            f"\t{'active' if d.is_active else 'inactive'}",
            markup=False,
        )


# --- rotations and rules ----------------------------------------------------------------------


@rotation_app.command("add")
def rotation_add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Unique name, e.g. 'Night desk'"),
    members: str = typer.Option(..., "--members", help="agency codes in turn: GB-NCA,NL-NP"),
    kind: RotationKind = typer.Option(RotationKind.WEEKLY, "--kind"),
    length: int = typer.Option(1, "--length", help="shift length in units of --kind"),
    time_zone: str = typer.Option("UTC", "--time-zone", help="the clock handoffs are counted on"),
    starts_at: str = typer.Option(..., "--starts-at", help="first handoff, ISO 8601"),
    description: str = typer.Option("", "--description"),
) -> None:
    """Add a rotation; give it hours with `rota rule add --rotation NAME`."""
    with _schema_input():
        data = RotationCreate(
            name=name,
            description=description,
            kind=kind,
            shift_length=length,
            time_zone=time_zone,
            starts_at=_instant(starts_at, "--starts-at"),
            members=_list(members) or [],
        )
    with unit(ctx) as session:
        rotation = schedule.add_rotation(session, system_caller(), data)
    out.print(f"rotation {rotation.name} ({rotation.id}): {' > '.join(rotation.members)}")


@rotation_app.command("list")
def rotation_list(ctx: typer.Context) -> None:
    with unit(ctx) as session:
        rotations = schedule.list_rotations(session, system_caller())
    for r in rotations:
        out.print(
            f"{r.id}\t{r.name}\t{r.shift_length} {r.kind}\t{r.time_zone}\t"
            f"from {_utc(r.starts_at)}\t{' > '.join(r.members)}",
            markup=False,
        )


@rule_app.command("add")
def rule_add(
    ctx: typer.Context,
    desk: str | None = typer.Option(None, "--desk", help="agency code"),
    rotation: str | None = typer.Option(None, "--rotation", help="rotation name"),
    days: str = typer.Option("mon-sun", "--days", help='weekdays the window starts: "mon-fri"'),
    start: str = typer.Option(..., "--start", help="HH:MM"),
    end: str = typer.Option(..., "--end", help="HH:MM, 24:00 end of day; before start: overnight"),
    time_zone: str | None = typer.Option(None, "--time-zone", help="default: the desk's"),
    label: str = typer.Option("", "--label"),
) -> None:
    """Give a desk or a rotation the duty on the days from start to end."""
    with _schema_input():
        data = RuleCreate(
            desk=desk,
            rotation=rotation,
            weekdays=parse_days(days),
            start=start,
            end=end,
            time_zone=time_zone,
            label=label,
        )
    with unit(ctx) as session:
        rule = schedule.add_rule(session, system_caller(), data)
    who = rule.desk or f"rotation {rule.rotation}"
    out.print(f"rule {rule.id}: {who} {rule.start}-{rule.end} {rule.time_zone}", markup=False)
    for warning in rule.warnings:
        err.print(f"warning: {warning}", markup=False)


@rule_app.command("list")
def rule_list(ctx: typer.Context) -> None:
    with unit(ctx) as session:
        rules = schedule.list_rules(session, system_caller())
    for r in rules:
        days = ",".join(DAY_NAMES[d] for d in r.weekdays)
        who = r.desk or f"rotation {r.rotation}"
        out.print(f"{r.id}\t{who}\t{days}\t{r.start}-{r.end}\t{r.time_zone}", markup=False)


@rule_app.command("delete")
def rule_delete(ctx: typer.Context, rule_id: uuid.UUID = typer.Argument(...)) -> None:
    with unit(ctx) as session:
        schedule.delete_rule(session, system_caller(), rule_id)
    out.print(f"deleted rule {rule_id}")


# --- overrides and unavailability -------------------------------------------------------------


@override_app.command("add")
def override_add(
    ctx: typer.Context,
    starts_at: str = typer.Option(..., "--from", help="ISO 8601 with offset"),
    ends_at: str = typer.Option(..., "--to", help="ISO 8601 with offset"),
    add: str | None = typer.Option(None, "--add", help="desk put on duty (agency code)"),
    remove: str | None = typer.Option(None, "--remove", help="desk taken off duty"),
    reason: str = typer.Option("", "--reason"),
) -> None:
    """Add a desk, remove one, or both (replace) for the window."""
    with _schema_input():
        data = OverrideCreate(
            starts_at=_instant(starts_at, "--from"),
            ends_at=_instant(ends_at, "--to"),
            add=add,
            remove=remove,
            reason=reason,
        )
    with unit(ctx) as session:
        o = schedule.add_override(session, system_caller(), data)
    out.print(f"override {o.id}: {_override_what(o.add, o.remove)}", markup=False)


def _override_what(add: str | None, remove: str | None) -> str:
    if add and remove:
        return f"{add} replaces {remove}"
    return f"{add} added" if add else f"{remove} removed"


@override_app.command("list")
def override_list(
    ctx: typer.Context,
    all_: bool = typer.Option(False, "--all", help="past overrides too"),
) -> None:
    """Overrides still to come or under way (all with --all)."""
    with unit(ctx) as session:
        found = schedule.list_overrides(session, system_caller(), since=None if all_ else utcnow())
    for o in found:
        out.print(
            f"{o.id}\t{_utc(o.starts_at)} - {_utc(o.ends_at)}\t{_override_what(o.add, o.remove)}"
            f"\t{o.reason}",
            markup=False,
        )


@override_app.command("delete")
def override_delete(ctx: typer.Context, override_id: uuid.UUID = typer.Argument(...)) -> None:
    with unit(ctx) as session:
        schedule.delete_override(session, system_caller(), override_id)
    out.print(f"deleted override {override_id}")


@unavailable_app.command("add")
def unavailable_add(
    ctx: typer.Context,
    agency: str = typer.Argument(..., help="the desk's agency code"),
    starts_at: str = typer.Option(..., "--from", help="ISO 8601 with offset"),
    ends_at: str = typer.Option(..., "--to", help="ISO 8601 with offset"),
    reason: str = typer.Option("", "--reason"),
) -> None:
    """The desk cannot take the duty in the window."""
    with _schema_input():
        data = UnavailabilityCreate(
            starts_at=_instant(starts_at, "--from"),
            ends_at=_instant(ends_at, "--to"),
            reason=reason,
        )
    caller = system_caller()
    with unit(ctx) as session:
        desk = directory.desk_of_agency(session, caller, agency)
        row = directory.add_unavailability(session, caller, desk.id, data)
    out.print(f"{row.desk} unavailable {_utc(row.starts_at)} - {_utc(row.ends_at)} ({row.id})")


@unavailable_app.command("import")
def unavailable_import(
    ctx: typer.Context,
    agency: str = typer.Argument(..., help="the desk's agency code"),
    path: Path = typer.Argument(..., help="the desk's unavailability calendar (.ics)"),
) -> None:
    """Replace the desk's imported unavailability with the events of an iCal file in the next
    366 days (recurring ones expanded); a file with an error is refused whole, naming its line."""
    limit = DEFAULT.max_calendar_bytes
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise _refuse("file", f"cannot be read ({exc.strerror})") from None
    caller = system_caller()
    now = utcnow()
    with unit(ctx) as session:
        desk = directory.desk_of_agency(session, caller, agency)
        with service.watching_gaps(session, caller, now):
            result = calendars.import_unavailability(session, caller, desk.id, data, now=now)
    out.print(
        f"{agency}: {result.added} unavailable windows imported, "
        f"{result.replaced} of the last import replaced"
    )


@unavailable_app.command("list")
def unavailable_list(
    ctx: typer.Context,
    agency: str = typer.Argument(..., help="the desk's agency code"),
    all_: bool = typer.Option(False, "--all", help="past windows too"),
) -> None:
    """The desk's windows of unavailability still to come or under way (all with --all)."""
    caller = system_caller()
    with unit(ctx) as session:
        desk = directory.desk_of_agency(session, caller, agency)
        rows = directory.list_unavailability(
            session, caller, desk.id, since=None if all_ else utcnow()
        )
    for u in rows:
        out.print(
            f"{u.id}\t{_utc(u.starts_at)} - {_utc(u.ends_at)}\t{u.source}\t{u.reason}",
            markup=False,
        )


@unavailable_app.command("delete")
def unavailable_delete(
    ctx: typer.Context, unavailability_id: uuid.UUID = typer.Argument(...)
) -> None:
    with unit(ctx) as session:
        directory.delete_unavailability(session, system_caller(), unavailability_id)
    out.print(f"deleted unavailability {unavailability_id}")


# --- requirements and temporary schedules -----------------------------------------------------


@requirement_app.command("add")
def requirement_add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="e.g. 'Preservation in Spanish'"),
    power: Power | None = typer.Option(None, "--power", help="any desk's, if left out"),
    language: str | None = typer.Option(None, "--language", help="ISO 639-1; any, if left out"),
) -> None:
    """Require a desk on duty with the power, in the language, at every instant."""
    with _schema_input():
        data = RequirementCreate(name=name, power=power, language=language)
    with unit(ctx) as session:
        row = service.add_requirement(session, system_caller(), data)
    out.print(f"requirement {row.name} ({row.id})")


@requirement_app.command("list")
def requirement_list(ctx: typer.Context) -> None:
    with unit(ctx) as session:
        rows = [
            (r.id, r.name, r.power or "any power", r.language or "any language")
            for r in service.list_requirements(session, system_caller())
        ]
    for row in rows:
        out.print("\t".join(str(v) for v in row), markup=False)


@requirement_app.command("delete")
def requirement_delete(ctx: typer.Context, requirement_id: uuid.UUID = typer.Argument(...)) -> None:
    with unit(ctx) as session:
        service.delete_requirement(session, system_caller(), requirement_id)
    out.print(f"deleted requirement {requirement_id}")


def _fixed_shift(value: str, index: int) -> FixedShiftIn:
    parts = value.split(",")
    if len(parts) != 3:
        raise _refuse("--shift", 'like "NL-NP,2026-12-15T00:00Z,2026-12-15T12:00Z"')
    desk, start, end = (p.strip() for p in parts)
    with _schema_input():
        return FixedShiftIn(
            desk=desk,
            starts_at=_instant(start, f"--shift {index + 1}"),
            ends_at=_instant(end, f"--shift {index + 1}"),
        )


@temporary_app.command("add")
def temporary_add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="e.g. 'Operation Heron'"),
    starts_at: str = typer.Option(..., "--from", help="ISO 8601 with offset"),
    ends_at: str = typer.Option(..., "--to", help="ISO 8601 with offset"),
    shift: list[str] | None = typer.Option(
        None, "--shift", help='"AGENCY,FROM,TO" (repeatable); no shift: nobody on duty'
    ),
) -> None:
    """For the window, these shifts replace every rule."""
    fixed = [_fixed_shift(value, i) for i, value in enumerate(shift or [])]
    with _schema_input():
        data = TemporaryCreate(
            name=name,
            starts_at=_instant(starts_at, "--from"),
            ends_at=_instant(ends_at, "--to"),
            shifts=fixed,
        )
    with unit(ctx) as session:
        made = schedule.add_temporary(session, system_caller(), data)
    out.print(f"temporary schedule {made.name} ({made.id}): {len(made.shifts)} shifts")


@temporary_app.command("list")
def temporary_list(
    ctx: typer.Context, all_: bool = typer.Option(False, "--all", help="past ones too")
) -> None:
    with unit(ctx) as session:
        found = schedule.list_temporary(session, system_caller(), since=None if all_ else utcnow())
    for t in found:
        desks = ", ".join(f"{s.desk} {_utc(s.starts_at)}-{_utc(s.ends_at)}" for s in t.shifts)
        out.print(
            f"{t.id}\t{t.name}\t{_utc(t.starts_at)} - {_utc(t.ends_at)}\t{desks or 'nobody'}",
            markup=False,
        )


@temporary_app.command("delete")
def temporary_delete(ctx: typer.Context, schedule_id: uuid.UUID = typer.Argument(...)) -> None:
    with unit(ctx) as session:
        schedule.delete_temporary(session, system_caller(), schedule_id)
    out.print(f"deleted temporary schedule {schedule_id}")


# --- who is on duty, gaps ---------------------------------------------------------------------


@app.command("on-duty")
def on_duty(
    ctx: typer.Context,
    at: str | None = typer.Option(None, "--at", help="ISO 8601 with offset; default now"),
    power: Power | None = typer.Option(None, "--power"),
    language: str | None = typer.Option(None, "--language", help="ISO 639-1, e.g. es"),
) -> None:
    """Who is on duty (for a power, in a language): one desk a line, with how to reach it."""
    when = _instant(at, "--at") if at else None
    with unit(ctx) as session:
        found = service.on_duty(session, system_caller(), at=when, power=power, language=language)
    if not found:
        err.print("nobody on duty")
    for s in found:
        out.print(_shift_line(s), markup=False)


@app.command("gaps")
def gaps(
    ctx: typer.Context,
    days: int = typer.Option(30, "--days", help="how many days ahead"),
) -> None:
    """Every interval of the next days in which a coverage requirement is not met."""
    with unit(ctx) as session:
        found = service.gaps(session, system_caller(), days=days)
    if not found:
        err.print(f"no gap in the next {days} days")
    for g in found:
        out.print(f"{g.requirement}\t{_utc(g.starts_at)} - {_utc(g.ends_at)}", markup=False)


def install(cli: typer.Typer) -> None:
    """Adds this domain's commands to the `taskforce` command (`taskforce.cli`)."""
    cli.add_typer(app, name="rota")
