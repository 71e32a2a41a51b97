"""`taskforce chats …`: import exports into a case, the participants and identifiers found,
the review queue, and the evaluation harness on a labelled corpus."""

from __future__ import annotations

import uuid

import typer
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.cases import service as case_service
from taskforce.chats import review
from taskforce.core.auth import service as auth_service
from taskforce.core.caller import Caller
from taskforce.core.console import err, out, state, unit
from taskforce.core.errors import Invalid, NotFound

app = typer.Typer(
    help="Chat logs: import exports into a case, confirm participants as selectors, the "
    "review queue, and the tagger's evaluation on a labelled corpus.",
    no_args_is_help=True,
)

# --- import (importing.py) -------------------------------------------------------------------

# --- participants and identifiers (participants.py) ------------------------------------------

# --- the review queue (review.py) ------------------------------------------------------------

REVIEW_AGENCY = typer.Option(..., "--agency", help="Your agency's code, e.g. GB-NCA")


def _risk(risk: float | None) -> str:
    return "unscored" if risk is None else f"{risk:.2f}"


@app.command("queue")
def queue_command(
    ctx: typer.Context,
    agency: str = REVIEW_AGENCY,
    case: str | None = typer.Option(None, "--case", help="Only this case (its reference)"),
    everything: bool = typer.Option(
        False, "--all", help="Every conversation, reviewed or not (default: those to review)"
    ),
    limit: int = typer.Option(50, "--limit", min=1, max=500, help="Conversations listed"),
) -> None:
    """The agency's conversations to review, riskiest first (flagged ones first, unscored
    last): id, risk, flagged, decision, case, messages, tactics, title. A score is a lead for a
    reviewer, never evidence by itself. Exit 1 when there is nothing to list."""
    settings = state(ctx).settings
    with unit(ctx) as session:
        caller = agency_service.operator(session, agency)
        case_id = case_service.find_case(session, caller, case).id if case else None
        page = review.queue(
            session,
            caller,
            threshold=settings.chats_review_threshold,
            case_id=case_id,
            decision="all" if everything else "unreviewed",
            limit=limit,
        )
    for item in page.items:
        tactics = ", ".join(f"{t.label} ×{t.count}" for t in item.tactics) or "-"
        out.print(
            f"{item.id}\t{_risk(item.risk)}\t{'FLAGGED' if item.flagged else '-'}\t"
            f"{item.decision}\t{item.case_reference}\t{item.message_count} messages\t"
            f"{tactics}\t{item.title}",
            markup=False,
            soft_wrap=True,
        )
    counts = ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in page.counts.items())
    err.print(f"threshold {page.threshold:.2f}; {counts}", markup=False)
    if not page.items:
        err.print(
            "nothing to review" + ("" if everything else " (--all lists reviewed ones too)"),
            markup=False,
        )
        raise typer.Exit(1)


def _reviewer(session: Session, agency: str, email: str) -> Caller:
    """The person a decision is recorded for: a user of the agency, active."""
    operator = agency_service.operator(session, agency)
    user = auth_service.find_user(session, email)
    if user is None or user.agency_id != operator.agency_id or not user.is_active:
        raise NotFound(f"user {email.strip()} of {agency.strip().upper()}")
    return auth_service.caller_for(session, user, channel="cli")


@app.command("review")
def review_command(
    ctx: typer.Context,
    conversation_id: str = typer.Argument(..., help="The conversation's id (from chats queue)"),
    decision: str = typer.Option(..., "--decision", help="concern, no_concern or unclear"),
    note: str = typer.Option(
        "",
        "--note",
        help="What you saw (required for concern, unclear, and no_concern on a "
        "flagged conversation)",
    ),
    agency: str = REVIEW_AGENCY,
    reviewer: str = typer.Option(
        ..., "--reviewer", help="Your e-mail: the decision is recorded as yours"
    ),
) -> None:
    """Record a reviewer's decision on a conversation (kept with the earlier ones, audited)."""
    try:
        chat_id = uuid.UUID(conversation_id.strip())
    except ValueError:
        raise Invalid("conversation", "must be a conversation id (a UUID)") from None
    settings = state(ctx).settings
    with unit(ctx) as session:
        caller = _reviewer(session, agency, reviewer)
        done = review.decide(
            session,
            caller,
            chat_id,
            decision=decision.strip().lower().replace(" ", "_"),
            note=note,
            threshold=settings.chats_review_threshold,
        )
        said = f"{chat_id}: {done.decision} recorded for {caller.email} (risk {_risk(done.risk)})"
    out.print(said, markup=False)


# --- evaluation (evaluation.py) --------------------------------------------------------------


def install(cli: typer.Typer) -> None:
    """Adds this domain's commands to the `taskforce` command (`taskforce.cli`)."""
    cli.add_typer(app, name="chats")
