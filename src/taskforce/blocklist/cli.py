"""`taskforce blocklist ...`: manage the URL block list at the hub, and check URLs against a
downloaded list at a provider (`check`, `sync` and `warning-page` need no database)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx
import typer

from taskforce.agencies import service as agency_service
from taskforce.blocklist import local, service, warning
from taskforce.blocklist.schemas import EntryCreate
from taskforce.core import signing
from taskforce.core.auth import service as auth_service
from taskforce.core.caller import Caller, Role, system_caller
from taskforce.core.console import err, out, state, unit
from taskforce.core.errors import TaskforceError
from taskforce.core.proposals.models import ChangeProposal
from taskforce.web import catalogue

app = typer.Typer(help="URL block list for internet providers.", no_args_is_help=True)
provider_app = typer.Typer(help="Internet providers that download the list.", no_args_is_help=True)
app.add_typer(provider_app, name="provider")


@app.command("add")
def add(
    ctx: typer.Context,
    url: str = typer.Argument(...),
    agency: str = typer.Option(..., "--agency", help="Agency that confirmed the URL"),
    prefix: bool = typer.Option(False, "--prefix", help="Block everything under this path"),
    category: str = typer.Option("", "--category"),
    reason: str = typer.Option("", "--reason"),
    source: str = typer.Option("", "--source", help="e.g. the report id"),
) -> None:
    """List a confirmed URL (or path prefix)."""
    with unit(ctx) as session:
        caller = agency_service.operator(session, agency)
        data = EntryCreate(
            url=url,
            match="prefix" if prefix else "exact",
            category=category,
            reason=reason,
            source=source,
        )
        entry = service.add_entry(session, caller, data)
        out.print(f"listed {entry.key} ({entry.match}) at version {entry.added_version}")


@app.command("remove")
def remove(
    ctx: typer.Context,
    entry_id: uuid.UUID = typer.Argument(...),
    agency: str = typer.Option(..., "--agency"),
    reason: str = typer.Option("content gone", "--reason"),
) -> None:
    """Take an entry off the list."""
    with unit(ctx) as session:
        caller = agency_service.operator(session, agency)
        entry = service.remove_entry(session, caller, entry_id, reason=reason)
        if isinstance(entry, ChangeProposal):
            out.print(
                f"proposed: {entry.summary}; the agency that listed it or the network "
                f"coordinator decides (proposal {entry.id})"
            )
            return
        out.print(f"removed {entry.key} at version {entry.removed_version}")


@app.command("export")
def export(
    ctx: typer.Context,
    out_file: Path = typer.Option(..., "--out", dir_okay=False),
    since: int | None = typer.Option(None, "--since"),
) -> None:
    """Write the signed list (or the changes since N) as providers download it."""
    with unit(ctx) as session:
        caller = Caller(role=Role.PROVIDER, channel="cli")  # a download at the console
        doc = service.document(session, caller, state(ctx).settings, since=since)
        out_file.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
        out.print(f"version {doc['version']} ({doc['kind']}) written to {out_file}")


@app.command("public-key")
def public_key(ctx: typer.Context) -> None:
    """Print the hub's public key (base64 of 32 raw bytes) for providers."""
    public = service.signing_key(state(ctx).settings).public_key()
    out.print(signing.public_b64(public), markup=False)


@provider_app.command("add")
def provider_add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The provider's name"),
    email: str = typer.Option(..., "--email", help="The provider's technical contact"),
    agency: str = typer.Option(..., "--agency", help="Member agency that sponsors it"),
    days: int | None = typer.Option(None, "--days", help="Token lifetime"),
) -> None:
    """Add an internet provider and print its download token (shown once)."""
    with unit(ctx) as session:
        caller = system_caller()
        user = auth_service.create_user(
            session, caller, email=email, agency_code=agency, role=Role.PROVIDER, display_name=name
        )
        issued = auth_service.create_token(
            session, caller, state(ctx).settings, user=user, name="blocklist", days=days
        )
        out.print(f"provider {name} ({user.email}) added; its token (shown once):")
        out.print(issued.secret, markup=False)


@app.command("check")
def check(
    urls: list[str] = typer.Argument(..., help="URLs to check"),
    list_file: Path = typer.Option(..., "--list", exists=True, dir_okay=False),
    public_key: str = typer.Option(..., "--public-key", help="The hub's key or its file"),
) -> None:
    """Offline: is each URL on a downloaded, verified list? One tab-separated line per URL
    (ok, blocked or invalid); exit 1 when any is blocked, 2 when the list does not verify."""
    try:
        checker = local.load(list_file, signing.load_public_given(public_key))
    except (TaskforceError, ValueError, KeyError) as error:
        err.print(f"error: {getattr(error, 'message', error)}", markup=False)
        raise typer.Exit(2) from None
    blocked = False
    for url in urls:
        try:
            found = checker.is_blocked(url)
        except TaskforceError as error:
            typer.echo(f"invalid\t{url}\t{error.message}")
            continue
        if found is None:
            typer.echo(f"ok\t{url}")
        else:
            blocked = True
            typer.echo(f"blocked\t{url}\t{found.match} {found.key}")
    if blocked:
        raise typer.Exit(1)


@app.command("sync")
def sync(
    hub: str = typer.Option(..., "--hub", help="The hub's base URL"),
    token: str = typer.Option(..., "--token", envvar="TASKFORCE_PROVIDER_TOKEN"),
    list_file: Path = typer.Option(..., "--list", dir_okay=False),
    public_key: str = typer.Option(..., "--public-key", help="The hub's key or its file"),
    full: bool = typer.Option(False, "--full", help="Fetch the whole list, not the changes"),
) -> None:
    """Bring the copy at --list up to the hub's version: the changes since the version held
    (signed deltas kept beside the signed list), or the whole list the first time. Run it from
    cron; exit 1 when the hub cannot be reached, 2 when what came does not verify."""
    try:
        public = signing.load_public_given(public_key)
        with httpx.Client(
            base_url=hub.rstrip("/"), headers={"Authorization": f"Bearer {token}"}, timeout=60
        ) as client:
            result = local.sync(client, list_file, public, full=full)
    except local.HubError as error:
        err.print(f"error: {error.message}", markup=False)
        raise typer.Exit(1) from None
    except TaskforceError as error:
        err.print(f"error: {error.message}; the copy held was kept", markup=False)
        raise typer.Exit(2) from None
    out.print(f"{list_file}: {result.summary()}", markup=False)


_WARNING_LANGUAGES = tuple(catalogue.CATALOGUES["warning"])


@app.command("warning-page")
def warning_page(
    out_file: Path = typer.Option(..., "--out", dir_okay=False),
    lang: str = typer.Option("en", "--lang", help=f"One of {', '.join(_WARNING_LANGUAGES)}"),
    report_url: str = typer.Option(
        "https://hub.example.org/report", "--report-url", help="Where to report material"
    ),
) -> None:
    """Write the static warning page a provider shows instead of a blocked URL."""
    if lang.lower() not in _WARNING_LANGUAGES:
        err.print(
            f"error: --lang: must be one of {', '.join(_WARNING_LANGUAGES)}",
            markup=False,
        )
        raise typer.Exit(2)
    out_file.write_text(warning.render(report_url, lang), encoding="utf-8")
    out.print(f"warning page written to {out_file}")


def install(cli: typer.Typer) -> None:
    """Adds this domain's commands to the `taskforce` command (`taskforce.cli`)."""
    cli.add_typer(app, name="blocklist")
