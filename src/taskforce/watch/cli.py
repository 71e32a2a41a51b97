"""`taskforce watch ...`: the 24/7 watch at the console. `watch handover` writes, lists and
acknowledges handovers for a desk (`--agency`, acting as its operator) and verifies their
hash chain; `watch drill` schedules and lists reachability drills and `watch statistics` gives
the time each desk takes to acknowledge (both as the network's operator)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime

import typer

from taskforce.agencies import service as agency_service
from taskforce.core.caller import system_caller
from taskforce.core.console import err, out, state, unit
from taskforce.core.errors import Invalid
from taskforce.watch import drills, handovers, hashing, schemas, statistics
from taskforce.watch.messages import utc_time
from taskforce.watch.schemas import DrillSchedule

app = typer.Typer(
    help="The 24/7 watch: urgent leads, handovers between desks, drills, time to acknowledge.",
    no_args_is_help=True,
)
handover_app = typer.Typer(
    help="Handovers from the outgoing desk to the incoming one.", no_args_is_help=True
)
app.add_typer(handover_app, name="handover")
drill_app = typer.Typer(
    help="Unannounced reachability drills of the 24/7 desks.", no_args_is_help=True
)
app.add_typer(drill_app, name="drill")


@handover_app.command("write")
def handover_write(
    ctx: typer.Context,
    agency: str = typer.Option(..., "--agency", help="The outgoing desk's agency code"),
    to_desk: str | None = typer.Option(
        None, "--to", help="The incoming desk's agency code (default: the first taking over)"
    ),
    lead: list[str] = typer.Option(
        [], "--lead", help="An open lead's id to include (repeatable; default: every one)"
    ),
    preservation: list[str] = typer.Option(
        [], "--preservation", help="A pending preservation's reference (repeatable; default: all)"
    ),
    notes: str = typer.Option("", "--notes", help=f"Free text, at most {handovers.NOTES_MAX}"),
) -> None:
    """Hand the desk's current shift over (the rota says when it ends and who takes over)."""
    with unit(ctx) as session:
        caller = agency_service.operator(session, agency)
        try:
            leads = [uuid.UUID(value) for value in lead] or None
        except ValueError:
            err.print("error: leads: each --lead is a lead's id (a UUID)")
            raise typer.Exit(2) from None
        data = schemas.HandoverWrite(
            to_desk=to_desk,
            leads=leads,
            preservations=list(preservation) or None,
            notes=notes,
        )
        written = handovers.write(session, state(ctx).settings, caller, data)
        view = handovers.get(session, caller, written.id)
        out.print(
            f"handover {view.id}: {view.from_desk} → {view.to_desk}, shift ends "
            f"{utc_time(view.shift_ends_at)}, {len(view.open_leads)} open lead(s), "
            f"{len(view.pending_preservations)} pending preservation(s); acknowledge by "
            f"{utc_time(view.ack_due_at)}",
            markup=False,
            soft_wrap=True,
        )


@handover_app.command("list")
def handover_list(
    ctx: typer.Context,
    agency: str | None = typer.Option(
        None, "--agency", help="A desk's agency code (default: every desk, as the coordinator)"
    ),
    open_only: bool = typer.Option(False, "--open", help="Only those not yet acknowledged"),
) -> None:
    """Handovers from and to a desk, unacknowledged first."""
    with unit(ctx) as session:
        caller = agency_service.operator(session, agency) if agency else system_caller()
        rows = handovers.list_handovers(session, caller, open_only=open_only)
        if not rows:
            out.print("no handovers")
            return
        for row in rows:
            taken = (
                f"acknowledged {utc_time(row.acknowledged_at)} by {row.acknowledged_by}"
                if row.acknowledged_at
                else f"{row.state.value}, due {utc_time(row.ack_due_at)}"
            )
            out.print(
                f"{row.id}  {row.from_desk} → {row.to_desk}  shift ends "
                f"{utc_time(row.shift_ends_at)}  written {utc_time(row.written_at)}  {taken}",
                markup=False,
                soft_wrap=True,
            )


@handover_app.command("ack")
def handover_ack(
    ctx: typer.Context,
    handover_id: uuid.UUID = typer.Argument(..., help="The handover's id"),
    agency: str = typer.Option(..., "--agency", help="The incoming desk's agency code"),
) -> None:
    """Acknowledge a handover for the incoming desk."""
    with unit(ctx) as session:
        caller = agency_service.operator(session, agency)
        done = handovers.acknowledge(session, caller, handover_id)
        out.print(f"handover {done.id} acknowledged at {utc_time(done.acknowledged_at)}")


@handover_app.command("verify")
def handover_verify(ctx: typer.Context) -> None:
    """Walk the handovers' hash chain; exit 1 naming the first that does not match."""
    with unit(ctx) as session:
        result = hashing.verify(session)
        problem = (
            f"handover {result.broken}: {result.problem}; {result.checked} of {result.total} "
            "verified before it"
            if result.broken is not None
            else ""
        )
    if problem:
        err.print(f"error: {problem}", markup=False, soft_wrap=True)
        raise typer.Exit(1)
    out.print(f"{result.total} handover(s) verified: the chain is intact")


# --- drills and time to acknowledge -----------------------------------------------------------


def instant(text: str | None, field: str) -> datetime | None:
    """An ISO 8601 time with its offset ("2026-12-03T02:00:00Z", "…+01:00")."""
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise Invalid(field, "an ISO 8601 time with its offset, e.g. 2026-12-03T02:00Z") from None
    if value.tzinfo is None:
        raise Invalid(field, "a time with its UTC offset, e.g. 2026-12-03T02:00:00Z")
    return value


def _minutes(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds / 60:.1f} min"


@drill_app.command("schedule")
def drill_schedule(
    ctx: typer.Context,
    window_start: str = typer.Option(..., "--from", help="Window start, ISO 8601 with offset"),
    window_end: str = typer.Option(..., "--to", help="Window end, ISO 8601 with offset"),
    desk: str | None = typer.Option(None, "--desk", help="Agency code of one desk"),
    every: bool = typer.Option(False, "--all", help="Every active desk"),
) -> None:
    """Schedule an unannounced drill: each desk is alerted at a random moment in the window
    (never shown)."""
    with unit(ctx) as session:
        if every == (desk is not None):
            raise Invalid("desk", "give --desk CODE or --all, not both")
        start = instant(window_start, "from")
        end = instant(window_end, "to")
        assert start is not None and end is not None
        made = drills.schedule(
            session,
            system_caller(),
            DrillSchedule(desk=desk, window_start=start, window_end=end),
        )
        out.print(
            f"{len(made)} drill(s) scheduled between {start.isoformat()} and {end.isoformat()}; "
            "the send times stay hidden"
        )


@drill_app.command("list")
def drill_list(
    ctx: typer.Context, limit: int = typer.Option(50, "--limit", min=1, max=1000)
) -> None:
    """Drills, newest window first: desk, window, state and time to acknowledge."""
    with unit(ctx) as session:
        rows = drills.list_drills(session, system_caller(), limit=limit)
        if not rows:
            out.print("no drills")
        for d in rows:
            took = (
                f" after {_minutes(d.seconds_to_acknowledge)}"
                if d.seconds_to_acknowledge is not None
                else ""
            )
            out.print(
                f"{d.id}  {d.desk:<12} {d.window_start:%Y-%m-%d %H:%M}–"
                f"{d.window_end:%Y-%m-%d %H:%M} UTC  {d.state.value}{took}",
                markup=False,
            )


@app.command("statistics")
def statistics_command(
    ctx: typer.Context,
    start: str | None = typer.Option(None, "--from", help="Default: 30 days before --to"),
    end: str | None = typer.Option(None, "--to", help="Default: now"),
    fmt: str = typer.Option("table", "--format", help="table, csv or json"),
) -> None:
    """Time to acknowledge per desk (median, 90th percentile) for drills and real leads."""
    with unit(ctx) as session:
        if fmt not in ("table", "csv", "json"):
            raise Invalid("format", "table, csv or json")
        figures = statistics.time_to_acknowledge(
            session,
            system_caller(),
            state(ctx).settings,
            start=instant(start, "from"),
            end=instant(end, "to"),
        )
        if fmt == "csv":
            out.print(statistics.to_csv(figures), end="", markup=False)
            return
        if fmt == "json":
            out.print(json.dumps(figures.model_dump(mode="json"), indent=1), markup=False)
            return
        out.print(f"{figures.start:%Y-%m-%d %H:%M} – {figures.end:%Y-%m-%d %H:%M} UTC")
        for row in figures.desks:
            for label, f in (("drills", row.drills), ("leads", row.leads)):
                out.print(
                    f"{row.desk:<12} {label:<6} alerts {f.alerts:>3}  acknowledged "
                    f"{f.acknowledged:>3}  not {f.not_acknowledged:>3}  median "
                    f"{_minutes(f.median_seconds)}  p90 {_minutes(f.p90_seconds)}",
                    markup=False,
                )
        out.print(figures.method, markup=False)


def install(cli: typer.Typer) -> None:
    """Adds this domain's commands to the `taskforce` command (`taskforce.cli`)."""
    cli.add_typer(app, name="watch")
