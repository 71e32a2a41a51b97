"""`taskforce proposal`: see and decide proposed changes to shared records from the console.

The console acts as a network admin (a steward: it decides proposals about hosting providers);
`--agency CODE` acts as that agency's administrator instead, e.g. the network coordinator or the
agency that listed a block-list entry (block-list proposals need the block-list permission,
which network admins do not hold).
"""

from __future__ import annotations

import uuid

import typer
from sqlalchemy.orm import Session

from taskforce.core.auth import service as auth_service
from taskforce.core.caller import Caller, agency_operator, system_caller
from taskforce.core.console import out, unit
from taskforce.core.errors import NotFound
from taskforce.core.proposals import service
from taskforce.core.proposals.schemas import ProposalRead

app = typer.Typer(help="Proposed changes to shared records.", no_args_is_help=True)

AGENCY = typer.Option(None, "--agency", help="Act as this agency's administrator")


def _caller(session: Session, agency: str | None) -> Caller:
    if agency is None:
        return system_caller()
    row = auth_service.agency_row(session, code=agency)
    if row is None:
        raise NotFound("agency")
    return agency_operator(row.id, row.code, row.country)


def _show(p: ProposalRead) -> None:
    keeper = p.owner_agency or "the network"
    out.print(
        f"{p.id}  {p.state:8}  {p.proposed_at:%Y-%m-%d %H:%M}Z  {p.title}: {p.target_label}\n"
        f"    {p.summary}\n"
        f"    proposed by {p.proposed_by}; kept by {keeper}"
        + (f"; why: {p.reason}" if p.reason else "")
        + (
            f"\n    {p.state} by {p.decided_by}: {p.decision_reason or p.outcome}"
            if p.decided_by
            else ""
        ),
        markup=False,
    )


@app.command("list")
def list_proposals(
    ctx: typer.Context,
    state_: str = typer.Option("pending", "--state", help="pending, approved, rejected or all"),
    agency: str | None = AGENCY,
    limit: int = typer.Option(100, "--limit", min=1, max=500),
) -> None:
    """Proposals, pending ones oldest first."""
    with unit(ctx) as session:
        page = service.list_proposals(session, _caller(session, agency), state=state_, limit=limit)
        for p in page.items:
            _show(p)
        out.print(f"{len(page.items)} of {page.total} {state_}")


def _decide(
    ctx: typer.Context, proposal_id: uuid.UUID, approve: bool, reason: str, agency: str | None
) -> None:
    with unit(ctx) as session:
        caller = _caller(session, agency)
        proposal = service.decide(session, caller, proposal_id, approve=approve, reason=reason)
        _show(service.describe(session, caller, proposal))


@app.command("approve")
def approve(
    ctx: typer.Context,
    proposal_id: uuid.UUID = typer.Argument(...),
    reason: str = typer.Option("", "--reason"),
    agency: str | None = AGENCY,
) -> None:
    """Apply a proposed change."""
    _decide(ctx, proposal_id, True, reason, agency)


@app.command("reject")
def reject(
    ctx: typer.Context,
    proposal_id: uuid.UUID = typer.Argument(...),
    reason: str = typer.Option(..., "--reason", help="Why the record stays as it is"),
    agency: str | None = AGENCY,
) -> None:
    """Leave the record as it is."""
    _decide(ctx, proposal_id, False, reason, agency)
