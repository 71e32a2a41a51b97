from __future__ import annotations

import typer

from taskforce.agencies import service
from taskforce.agencies.schemas import AgencyCreate
from taskforce.core.caller import system_caller
from taskforce.core.console import out, unit

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
            ),
        )
        out.print(f"registered {agency.code} ({agency.name}, {agency.country}, {agency.timezone})")


@app.command("list")
def list_agencies(ctx: typer.Context) -> None:
    """The directory: agencies with their 24/7 contact points."""
    with unit(ctx) as session:
        for a in service.list_agencies(session):
            out.print(
                f"{a.code}\t{a.country}\t{a.timezone}\t{a.name}\t"
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
