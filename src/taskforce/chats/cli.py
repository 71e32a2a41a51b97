"""`taskforce chats …`: import exports into a case, the participants and identifiers found,
the review queue, and the evaluation harness on a labelled corpus."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Chat logs: import exports into a case, confirm participants as selectors, the "
    "review queue, and the tagger's evaluation on a labelled corpus.",
    no_args_is_help=True,
)

# --- import (importing.py) -------------------------------------------------------------------

# --- participants and identifiers (participants.py) ------------------------------------------

# --- the review queue (review.py) ------------------------------------------------------------

# --- evaluation (evaluation.py) --------------------------------------------------------------


def install(cli: typer.Typer) -> None:
    """Adds this domain's commands to the `taskforce` command (`taskforce.cli`)."""
    cli.add_typer(app, name="chats")
