from __future__ import annotations

import typer

from taskforce.agencies import service as agency_service
from taskforce.cases import service
from taskforce.cases.schemas import CaseUpdate, export_standing
from taskforce.core.caller import system_caller
from taskforce.core.console import out, unit

noise_app = typer.Typer(help="The noise list: values that never make hits.", no_args_is_help=True)
case_app = typer.Typer(help="Cases: an agency's marks on its own cases.", no_args_is_help=True)


@case_app.command("not-for-export")
def not_for_export(
    ctx: typer.Context,
    reference: str = typer.Argument(..., help="The case, e.g. GB-NCA-2026-0007"),
    agency: str = typer.Option(..., "--agency", help="The owning agency's code"),
    undo: bool = typer.Option(False, "--undo", help="Allow the case to be exported again"),
) -> None:
    """Keep a GREEN case inside the hub: no STIX bundle, MISP event or TAXII collection carries
    its selectors (AMBER and RED cases never leave anyway). Recorded in the case's history."""
    with unit(ctx) as session:
        caller = agency_service.operator(session, agency)
        case = service.find_case(session, caller, reference)
        service.update_case(session, caller, case.id, CaseUpdate(not_for_export=not undo))
        out.print(f"{case.reference}: {export_standing(case.sharing, case.not_for_export)}")


@noise_app.command("add")
def add_noise(
    ctx: typer.Context,
    kind: str = typer.Argument(..., help="Selector type, e.g. ip or email"),
    pattern: str = typer.Argument(..., help="Value; for ip also a CIDR; for email also @domain"),
    reason: str = typer.Option(..., "--reason", help="Why this value is noise"),
) -> None:
    """Declare a value noise: it stays on cases but makes no new hits."""
    with unit(ctx) as session:
        entry = service.add_noise(
            session, system_caller(), kind=kind, pattern=pattern, reason=reason
        )
        out.print(f"noise: {entry.kind} {entry.pattern} ({entry.reason})")


@noise_app.command("list")
def list_noise(ctx: typer.Context) -> None:
    """Built-in and admin-added noise entries."""
    with unit(ctx) as session:
        caller = system_caller()
        for row in service.list_noise(session, caller):
            origin = "built-in" if row.builtin else "added"
            out.print(f"{row.type}\t{row.pattern}\t{origin}\t{row.reason}")


def install(cli: typer.Typer) -> None:
    """Adds this domain's commands to the `taskforce` command (`taskforce.cli`)."""
    cli.add_typer(noise_app, name="noise")
    cli.add_typer(case_app, name="case")
