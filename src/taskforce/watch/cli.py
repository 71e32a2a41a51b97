"""`taskforce watch ...`: the 24/7 watch at the console. `watch handover` writes, lists and
acknowledges handovers for a desk (`--agency`, acting as its operator) and verifies their
hash chain."""

from __future__ import annotations

import uuid

import typer
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.core.caller import Caller, agency_operator, system_caller
from taskforce.core.console import err, out, state, unit
from taskforce.watch import handovers
from taskforce.watch.messages import utc_time

app = typer.Typer(
    help="The 24/7 watch: urgent leads, handovers between desks.", no_args_is_help=True
)
handover_app = typer.Typer(
    help="Handovers from the outgoing desk to the incoming one.", no_args_is_help=True
)
app.add_typer(handover_app, name="handover")


def _desk_operator(session: Session, code: str) -> Caller:
    agency = agency_service.get_by_code(session, code)
    return agency_operator(agency.id, agency.code, agency.country)


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
        caller = _desk_operator(session, agency)
        try:
            leads = [uuid.UUID(value) for value in lead] or None
        except ValueError:
            err.print("error: leads: each --lead is a lead's id (a UUID)")
            raise typer.Exit(2) from None
        data = handovers.HandoverWrite(
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
        caller = _desk_operator(session, agency) if agency else system_caller()
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
            )


@handover_app.command("ack")
def handover_ack(
    ctx: typer.Context,
    handover_id: uuid.UUID = typer.Argument(..., help="The handover's id"),
    agency: str = typer.Option(..., "--agency", help="The incoming desk's agency code"),
) -> None:
    """Acknowledge a handover for the incoming desk."""
    with unit(ctx) as session:
        caller = _desk_operator(session, agency)
        done = handovers.acknowledge(session, caller, handover_id)
        out.print(f"handover {done.id} acknowledged at {utc_time(done.acknowledged_at)}")


@handover_app.command("verify")
def handover_verify(ctx: typer.Context) -> None:
    """Walk the handovers' hash chain; exit 1 naming the first that does not match."""
    with unit(ctx) as session:
        result = handovers.verify(session)
        broken = result.broken
        problem = (
            f"handover {broken.id} (written {utc_time(broken.written_at)}): {result.problem}; "
            f"{result.checked} of {result.total} verified before it"
            if broken is not None
            else ""
        )
    if problem:
        err.print(f"error: {problem}", markup=False)
        raise typer.Exit(1)
    out.print(f"{result.total} handover(s) verified: the chain is intact")


def install(cli: typer.Typer) -> None:
    """Adds this domain's commands to the `taskforce` command (`taskforce.cli`)."""
    cli.add_typer(app, name="watch")
