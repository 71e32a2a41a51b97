"""`taskforce hosting import|locate|provider ...`: the hosting directory from the console."""

from __future__ import annotations

from pathlib import Path

import pycountry
import typer
from pydantic import ValidationError
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

from taskforce.core.caller import system_caller
from taskforce.core.console import err, out, unit
from taskforce.core.errors import Invalid
from taskforce.core.proposals.models import ChangeProposal
from taskforce.hosting import addresses, networks, service
from taskforce.hosting.schemas import ImportReport, ProviderCreate, ProviderUpdate

app = typer.Typer(
    help="Hosting providers, their networks and abuse contacts; where an address is hosted.",
    no_args_is_help=True,
)
provider_app = typer.Typer(help="The provider directory.", no_args_is_help=True)
app.add_typer(provider_app, name="provider")

SHOWN_BAD_LINES = 20


def _schema_error(exc: ValidationError) -> typer.Exit:
    first = exc.errors()[0]
    name = ".".join(str(p) for p in first.get("loc", ())) or "input"
    err.print(f"error: {name}: {first.get('msg', 'is invalid')}", markup=False)
    return typer.Exit(2)


def _counts(report: ImportReport) -> str:
    return (
        f"{report.added:,} added, {report.updated:,} updated, {report.unchanged:,} unchanged, "
        f"{report.rejected:,} bad"
    )


@app.command("import")
def import_(
    ctx: typer.Context,
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
    source: str = typer.Option("", "--source", help="Where the table comes from (default: name)"),
) -> None:
    """Import a network table (CSV: network, provider, and optionally asn, country,
    abuse_email, network_country). Bad lines are listed and skipped; exit code 2 if any.
    Each batch is committed: an interrupted import keeps what it wrote, and running it again
    finishes it (a re-import changes nothing)."""
    size = file.stat().st_size
    read = [0]
    columns = (
        TextColumn("importing"),
        BarColumn(bar_width=24),
        DownloadColumn(),
        TextColumn("{task.fields[counts]}"),
        TimeRemainingColumn(),
    )
    with unit(ctx) as session, Progress(*columns, console=err) as progress:
        task = progress.add_task("import", total=size or None, counts="")

        def after_batch(report: ImportReport) -> None:
            session.commit()
            progress.update(task, completed=read[0], counts=_counts(report))

        def count(n: int) -> None:
            read[0] += n

        with file.open("rb") as stream:
            report = networks.import_networks(
                session,
                system_caller(),
                networks.read_lines(stream, on_bytes=count),
                source=source or file.name,
                after_batch=after_batch,
            )
    for bad in report.bad_lines[:SHOWN_BAD_LINES]:
        shown = f" ({bad.value})" if bad.value else ""
        err.print(f"line {bad.line}: {bad.field}{shown} {bad.rule}", markup=False)
    if report.rejected > SHOWN_BAD_LINES:
        err.print(f"... and {report.rejected - SHOWN_BAD_LINES:,} more bad lines")
    out.print(
        f"{report.source}: {report.lines_read:,} lines read: {report.added:,} networks added, "
        f"{report.updated:,} updated, {report.unchanged:,} unchanged, {report.rejected:,} bad "
        f"lines; {report.providers_created:,} providers created, "
        f"{report.providers_updated:,} updated",
        markup=False,
    )
    if report.rejected:
        raise typer.Exit(2)


@app.command("locate")
def locate(
    ctx: typer.Context,
    ips: list[str] = typer.Argument(..., metavar="IP...", help="IPv4 or IPv6 addresses"),
) -> None:
    """Where each address is hosted, whom a takedown notice goes to, and why."""
    failed = False
    with unit(ctx) as session:
        caller = system_caller()
        for ip in ips:
            try:
                where = addresses.locate_address(session, caller, ip)
            except Invalid as exc:
                err.print(f"error: {ip}: {exc.rule}", markup=False)
                failed = True
                continue
            provider = where.provider_name or "provider unknown"
            if where.asn:
                provider += f" (AS{where.asn})"
            contact = where.abuse_email or "no abuse contact"
            country = where.country or "no hosting country"
            source = f" ({where.country_source})" if where.country_source else ""
            out.print(f"{where.ip}\t{country}{source}\t{provider}\t{contact}", markup=False)
            for step in where.steps:
                out.print(f"  - {step}", markup=False)
    if failed:
        raise typer.Exit(2)


def _country(code: str | None) -> str:
    if not code:
        return "—"
    country = pycountry.countries.get(alpha_2=code)
    name = getattr(country, "common_name", None) or getattr(country, "name", None)
    return f"{code} {name}" if name else code


@provider_app.command("add")
def provider_add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Name, unique, e.g. 'Fictional Hosting B.V.'"),
    asn: str | None = typer.Option(None, "--asn", help="AS number, e.g. 64500 or AS64500"),
    country: str | None = typer.Option(None, "--country", help="ISO 3166-1 alpha-2, e.g. NL"),
    abuse_email: str | None = typer.Option(None, "--abuse-email", help="Where notices go"),
    notes: str = typer.Option("", "--notes"),
) -> None:
    """Add a hosting provider to the directory."""
    with unit(ctx) as session:
        try:
            data = ProviderCreate(
                name=name,
                asn=service.normalise_asn(asn),
                country=country,
                abuse_email=abuse_email,
                notes=notes,
            )
        except ValidationError as exc:
            raise _schema_error(exc) from None
        p = service.create_provider(session, system_caller(), data)
        out.print(
            f"added {p.name} ({'AS' + str(p.asn) if p.asn else 'no ASN'}, {p.country or '—'}, "
            f"{p.abuse_email or 'NO ABUSE CONTACT'}) id {p.id}",
            markup=False,
        )


@provider_app.command("list")
def provider_list(
    ctx: typer.Context,
    query: str = typer.Option("", "--query", "-q", help="Name, e-mail, AS number or address"),
    without_contact: bool = typer.Option(
        False, "--without-contact", help="Only providers no notice can be sent to"
    ),
    limit: int = typer.Option(100, "--limit", min=1, max=500),
) -> None:
    """The directory, tab-separated: name, ASN, country, abuse contact, number of networks."""
    with unit(ctx) as session:
        page = service.list_providers(
            session, system_caller(), query=query, without_contact=without_contact, limit=limit
        )
    if not page.items:
        out.print("no hosting provider")
        return
    for p in page.items:
        asn = f"AS{p.asn}" if p.asn else "—"
        contact = p.abuse_email or "NO ABUSE CONTACT (no notice can be sent)"
        networks = f"{p.network_count:,} network{'' if p.network_count == 1 else 's'}"
        out.print(f"{p.name}\t{asn}\t{p.country or '—'}\t{contact}\t{networks}", markup=False)
    if page.total > len(page.items):
        err.print(f"{len(page.items)} of {page.total:,} providers; use --query or --limit")


@provider_app.command("show")
def provider_show(ctx: typer.Context, ref: str = typer.Argument(..., metavar="NAME_OR_ID")) -> None:
    """One provider with its networks."""
    with unit(ctx) as session:
        caller = system_caller()
        provider = service.find_provider(session, caller, ref)
        p = service.get_provider(session, caller, provider.id)
    out.print(f"{p.name}  (id {p.id})", markup=False)
    out.print(f"  ASN            {'AS' + str(p.asn) if p.asn else '—'}", markup=False)
    out.print(f"  country        {_country(p.country)}", markup=False)
    contact = p.abuse_email or "NONE: no takedown notice can be sent to this provider"
    out.print(f"  abuse contact  {contact}", markup=False)
    if p.notes:
        out.print(f"  notes          {p.notes}", markup=False)
    out.print(f"  networks       {p.network_count:,}", markup=False)
    for n in p.networks:
        used = f"  (used in {n.country})" if n.country else ""
        out.print(f"    {n.cidr}{used}", markup=False)
    if p.network_count > len(p.networks):
        out.print(f"    ... and {p.network_count - len(p.networks):,} more", markup=False)


@provider_app.command("set-contact")
def provider_set_contact(
    ctx: typer.Context,
    ref: str = typer.Argument(..., metavar="NAME_OR_ID"),
    email: str | None = typer.Argument(None, help="The abuse e-mail address"),
    clear: bool = typer.Option(False, "--clear", help="Remove the abuse contact"),
    notes: str | None = typer.Option(None, "--notes", help="Replace the notes"),
) -> None:
    """Set (or with --clear remove) a provider's abuse contact, where takedown notices go."""
    if email is not None and clear:
        err.print("error: give an e-mail address or --clear, not both")
        raise typer.Exit(2)
    if email is None and not clear and notes is None:
        err.print("error: give an e-mail address, --clear or --notes")
        raise typer.Exit(2)
    with unit(ctx) as session:
        caller = system_caller()
        provider = service.find_provider(session, caller, ref)
        fields: dict[str, str | None] = {}
        if email is not None or clear:
            fields["abuse_email"] = email
        if notes is not None:
            fields["notes"] = notes
        try:
            data = ProviderUpdate.model_validate(fields)
        except ValidationError as exc:
            raise _schema_error(exc) from None
        p = service.update_provider(session, caller, provider.id, data)
        if isinstance(p, ChangeProposal):  # the console is a steward: not expected
            out.print(f"proposed: {p.summary} (proposal {p.id})", markup=False)
            return
        out.print(f"{p.name}: abuse contact {p.abuse_email or 'none'}", markup=False)


def install(cli: typer.Typer) -> None:
    """Adds this domain's commands to the `taskforce` command (`taskforce.cli`)."""
    cli.add_typer(app, name="hosting")
