"""`taskforce outbox`: see and deliver what is waiting to go out."""

from __future__ import annotations

import typer

from taskforce.core.console import out, state, unit
from taskforce.core.outbox import service

app = typer.Typer(help="Outgoing e-mail and webhook notifications.", no_args_is_help=True)


@app.command("drain")
def drain(
    ctx: typer.Context,
    limit: int = typer.Option(500, "--limit", min=1, help="Most messages to send in this run"),
) -> None:
    """Send due notifications: e-mail through TASKFORCE_SMTP_HOST, webhooks over HTTP."""
    settings = state(ctx).settings
    with unit(ctx) as session:
        report = service.drain(session, settings, limit=limit)
    out.print(f"sent {report.sent}, failed {report.failed}, left {report.left}")


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
