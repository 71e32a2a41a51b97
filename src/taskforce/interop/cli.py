"""`taskforce export ...` and `taskforce import ...`: what an agency may pass on, written as a
STIX 2.1 bundle, MISP event JSON or a MISP feed, each signed and audited; MISP events read into
a case as selectors. The operator acts for the agency named by `--agency` (its code)."""

from __future__ import annotations

import typer

export_app = typer.Typer(
    help="Export what an agency may pass on (GREEN, not marked 'not for export'): STIX 2.1, "
    "MISP, a MISP feed; signed, audited.",
    no_args_is_help=True,
)
import_app = typer.Typer(help="Import indicators into a case (MISP events).", no_args_is_help=True)


# --- STIX 2.1 bundles, their detached signatures ------------------------------------------------


# --- MISP events and the MISP feed; MISP import -------------------------------------------------


def install(cli: typer.Typer) -> None:
    """Adds this domain's commands to the `taskforce` command (`taskforce.cli`)."""
    cli.add_typer(export_app, name="export")
    cli.add_typer(import_app, name="import")
