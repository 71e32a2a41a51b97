"""`taskforce outbox`: see and deliver what is waiting to go out."""

from __future__ import annotations

import typer

from taskforce.core.console import out, state, unit
from taskforce.core.jobs import runner as jobs
from taskforce.core.outbox import service

app = typer.Typer(help="Outgoing e-mail and webhook notifications.", no_args_is_help=True)


@app.command("drain")
def drain(
    ctx: typer.Context,
    limit: int = typer.Option(500, "--limit", min=1, help="Most messages to send in this run"),
) -> None:
    """Send due notifications: e-mail through TASKFORCE_SMTP_HOST, webhooks over HTTP."""
    st = state(ctx)
    done = jobs.run(st.sessionmaker, service.delivery_job(st.settings), limit=limit)
    with unit(ctx) as session:
        left = service.count_pending(session)
    out.print(f"sent {done.done}, failed {done.claimed - done.done}, left {left}")


@app.command("list")
def list_pending(
    ctx: typer.Context,
    limit: int = typer.Option(50, "--limit", min=1, help="Most messages to list"),
) -> None:
    """Messages not yet delivered, oldest first, with their last error."""
    with unit(ctx) as session:
        messages = service.pending_messages(session, limit=limit)
        for m in messages:
            error = f"  last error: {m.last_error}" if m.last_error else ""
            due = m.next_attempt_at.isoformat(timespec="seconds") if m.next_attempt_at else "now"
            out.print(
                f"{m.created_at:%Y-%m-%d %H:%M:%S}Z  {m.channel:7} {m.recipient}  "
                f"{m.subject!r}  attempts {m.attempts}, next {due}{error}",
                markup=False,
            )
        out.print(f"{len(messages)} pending")
