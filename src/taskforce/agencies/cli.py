from __future__ import annotations

import typer

from taskforce.agencies import service
from taskforce.agencies.schemas import KIND_LABELS, AgencyCreate, AgencyKind
from taskforce.core.caller import system_caller
from taskforce.core.console import out, state, unit

app = typer.Typer(help="Member agencies and partnerships.", no_args_is_help=True)


@app.command("add")
def add(
    ctx: typer.Context,
    code: str = typer.Argument(..., help="Agency code, e.g. GB-NCA"),
    name: str = typer.Option(..., "--name"),
    country: str = typer.Option(..., "--country", help="ISO 3166-1 alpha-2, e.g. GB"),
    timezone: str = typer.Option(..., "--timezone", help="IANA time zone, e.g. Europe/London"),
    desk: str = typer.Option("24/7 duty desk", "--desk", help="Name of the 24/7 contact point"),
    phone: str = typer.Option(..., "--phone", help="24/7 phone, E.164 (+44...) or national"),
    email: str = typer.Option(..., "--email", help="24/7 e-mail"),
    webhook: str | None = typer.Option(None, "--webhook", help="URL notified of new hits"),
    kind: AgencyKind = typer.Option(
        AgencyKind.LAW_ENFORCEMENT, "--kind", help="What the member is, for report routing"
    ),
    notice_copy_to_police: bool = typer.Option(
        False, "--notice-copy-to-police", help="The law wants the police told of every notice"
    ),
    takedown_deadline_hours: int | None = typer.Option(
        None, "--takedown-deadline-hours", min=1, help="Hours a host has to remove (default: hub's)"
    ),
) -> None:
    """Register a member agency with its 24/7 contact point."""
    with unit(ctx) as session:
        agency = service.register_agency(
            session,
            system_caller(),
            AgencyCreate(
                code=code,
                name=name,
                country=country,
                timezone=timezone,
                contact_desk=desk,
                contact_phone=phone,
                contact_email=email,
                webhook_url=webhook,
                kind=kind,
                notice_copy_to_police=notice_copy_to_police,
                takedown_deadline_hours=takedown_deadline_hours,
            ),
            webhook_allow_networks=state(ctx).settings.webhook_allow_networks,
        )
        out.print(
            f"registered {agency.code} ({agency.name}, {agency.country}, {agency.timezone}, "
            f"{KIND_LABELS[agency.kind]})"
        )


@app.command("list")
def list_agencies(ctx: typer.Context) -> None:
    """The directory: agencies with their 24/7 contact points."""
    with unit(ctx) as session:
        for a in service.list_agencies(session):
            out.print(
                f"{a.code}\t{a.country}\t{a.timezone}\t{KIND_LABELS[a.kind]}\t{a.name}\t"
                f"{a.contact_desk}\t{a.contact_phone}\t{a.contact_email}"
            )


@app.command("partner")
def partner(
    ctx: typer.Context,
    code: str = typer.Argument(..., help="Agency code"),
    partner_code: str = typer.Argument(..., help="Partner agency code"),
    remove: bool = typer.Option(False, "--remove", help="End the partnership"),
) -> None:
    """Record (or end) a standing partnership between two agencies."""
    with unit(ctx) as session:
        if remove:
            service.remove_partnership(
                session, system_caller(), code=code, partner_code=partner_code
            )
            out.print(f"partnership {code.upper()} – {partner_code.upper()} ended")
        else:
            service.add_partnership(session, system_caller(), code=code, partner_code=partner_code)
            out.print(f"partnership {code.upper()} – {partner_code.upper()} recorded")


def install(cli: typer.Typer) -> None:
    """Adds this domain's commands to the `taskforce` command (`taskforce.cli`)."""
    cli.add_typer(app, name="agency")
