"""`taskforce preservation record|list|show|confirm|extend|follow-up|withdraw|counts`: an
agency's preservation requests from the console, acting as the agency's 24/7 desk."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import typer
from pydantic import ValidationError

from taskforce.agencies import service as agency_service
from taskforce.core.caller import system_caller
from taskforce.core.console import err, out, state, unit
from taskforce.core.errors import Invalid
from taskforce.preservation import service, statistics
from taskforce.preservation.models import PreservationRequest
from taskforce.preservation.schemas import (
    LEGAL_BASIS_LABELS,
    STATUS_LABELS,
    Confirm,
    Extend,
    FollowUp,
    LegalBasis,
    PreservationCreate,
    Withdraw,
)

app = typer.Typer(
    help="Preservation requests at providers (Budapest Convention Art. 29, 30): recorded, "
    "confirmed, extended once, followed up, reminded before expiry.",
    no_args_is_help=True,
)

AGENCY_HELP = "The requesting agency's code, e.g. GB-NCA"


def _schema_error(exc: ValidationError) -> typer.Exit:
    first = exc.errors()[0]
    name = ".".join(str(p) for p in first.get("loc", ())) or "input"
    err.print(f"error: {name}: {first.get('msg', 'is invalid')}", markup=False)
    return typer.Exit(2)


def _time(text: str | None, field: str) -> datetime | None:
    """A date (midnight UTC) or an ISO time; UTC unless it names its offset."""
    if text is None or not text.strip():
        return None
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise Invalid(field, "a date like 2026-03-01 or a time like 2026-03-01T14:30Z") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _line(r: PreservationRequest) -> str:
    return (
        f"{r.reference}\t{STATUS_LABELS.get(r.status, r.status)}\t{r.provider}\t"
        f"expires {r.expires_at:%Y-%m-%d %H:%M} UTC\t{r.provider_reference or '—'}"
    )


@app.command("record")
def record(
    ctx: typer.Context,
    agency: str = typer.Option(..., "--agency", help=AGENCY_HELP),
    provider: str = typer.Option(..., "--provider", help="The provider's name"),
    identifier: list[str] = typer.Option(
        ...,
        "--identifier",
        "-i",
        help="type:value, e.g. email:fox@example.com or username:kik:fox (repeat for several)",
    ),
    legal_basis: str = typer.Option(
        ..., "--legal-basis", help="One of: " + ", ".join(b.value for b in LegalBasis)
    ),
    provider_country: str | None = typer.Option(None, "--provider-country", help="ISO alpha-2"),
    requesting_country: str | None = typer.Option(
        None, "--requesting-country", help="ISO alpha-2; default: the agency's country"
    ),
    sent: str | None = typer.Option(None, "--sent", help="When it was sent (UTC); default now"),
    expires: str | None = typer.Option(
        None, "--expires", help="Default: sent + preservation_days (90)"
    ),
    provider_reference: str = typer.Option("", "--provider-reference"),
    notes: str = typer.Option("", "--notes"),
    case: str | None = typer.Option(
        None, "--case", help="Id or reference of an open RED case of the agency; default: new"
    ),
) -> None:
    """Record a request sent to a provider; its identifiers become selectors of a RED case."""
    with unit(ctx) as session:
        caller = agency_service.operator(session, agency)
        try:
            data = PreservationCreate(
                provider=provider,
                provider_country=provider_country,
                identifiers=[
                    service.parse_identifier(text, n) for n, text in enumerate(identifier)
                ],
                legal_basis=legal_basis,
                requesting_country=requesting_country,
                sent_at=_time(sent, "sent_at"),
                expires_at=_time(expires, "expires_at"),
                provider_reference=provider_reference,
                notes=notes,
                case_id=service.own_case_id(session, caller, case) if case else None,
            )
        except ValidationError as exc:
            raise _schema_error(exc) from None
        request = service.record(session, caller, state(ctx).settings, data)
        view = service.get(session, caller, request.id)
        out.print(
            f"recorded {request.reference}: {len(request.identifiers)} identifier"
            f"{'' if len(request.identifiers) == 1 else 's'} on case {view.case_reference}"
            f" ({view.hits} hit{'' if view.hits == 1 else 's'}); expires "
            f"{request.expires_at:%Y-%m-%d %H:%M} UTC",
            markup=False,
        )


@app.command("list")
def list_(
    ctx: typer.Context,
    agency: str = typer.Option(..., "--agency", help=AGENCY_HELP),
    status: str = typer.Option(
        "active", "--status", help="active, expiring, all, or one status (e.g. confirmed)"
    ),
    provider: str = typer.Option("", "--provider", help="Part of the provider's name"),
    limit: int = typer.Option(100, "--limit", min=1, max=500),
) -> None:
    """The agency's requests, tab-separated: reference, status, provider, expiry, provider's
    reference (active ones: the soonest expiry first)."""
    with unit(ctx) as session:
        caller = agency_service.operator(session, agency)
        rows, total = service.list_requests(
            session, caller, status=status, provider=provider, limit=limit
        )
        for r in rows:
            out.print(_line(r), markup=False)
    if not rows:
        out.print("no preservation request")
    elif total > len(rows):
        err.print(f"{len(rows)} of {total} requests; use --limit")


@app.command("show")
def show(
    ctx: typer.Context,
    ref: str = typer.Argument(..., metavar="REFERENCE_OR_ID"),
    agency: str = typer.Option(..., "--agency", help=AGENCY_HELP),
    as_json: bool = typer.Option(False, "--json", help="The API's JSON"),
) -> None:
    """One request with its identifiers and timeline."""
    with unit(ctx) as session:
        caller = agency_service.operator(session, agency)
        view = service.get(session, caller, service.find(session, caller, ref).id)
        r = view.read
        if as_json:
            body = {
                **r.model_dump(mode="json"),
                "case_reference": view.case_reference,
                "hits": view.hits,
                "events": [
                    {"at": e.at.isoformat(), "kind": e.kind, "actor": e.actor, "detail": e.detail}
                    for e in view.events
                ],
            }
            out.print(json.dumps(body, indent=2), markup=False)
            return
        lines = [
            f"{r.reference} — {STATUS_LABELS.get(r.status, r.status)}",
            f"provider:    {r.provider}"
            + (f" ({r.provider_country})" if r.provider_country else ""),
            f"their ref:   {r.provider_reference or '—'}",
            f"basis:       {LEGAL_BASIS_LABELS.get(r.legal_basis, r.legal_basis)}",
            f"requested:   by {r.agency} for {r.requesting_country}",
            f"sent:        {r.sent_at:%Y-%m-%d %H:%M} UTC",
            f"expires:     {r.expires_at:%Y-%m-%d %H:%M} UTC"
            + (" (extended)" if r.extended_at else ""),
            f"case:        {view.case_reference or '—'} ({view.hits} hits)",
        ]
        if r.formal_reference:
            lines.append(f"formal:      {r.formal_reference}")
        lines.append("identifiers:")
        lines += [
            f"  {i.type}\t{i.platform + ':' if i.platform else ''}{i.normalised}"
            for i in r.identifiers
        ]
        lines.append("timeline:")
        lines += [f"  {e.at:%Y-%m-%d %H:%M}\t{e.kind}\t{e.detail}" for e in view.events]
        out.print("\n".join(lines), markup=False)


def _step(ctx: typer.Context, agency: str, ref: str, step: str, data: object) -> None:
    with unit(ctx) as session:
        caller = agency_service.operator(session, agency)
        request = service.find(session, caller, ref)
        if step == "confirm":
            assert isinstance(data, Confirm)
            service.confirm(session, caller, request.id, data)
        elif step == "extend":
            assert isinstance(data, Extend)
            service.extend(session, caller, state(ctx).settings, request.id, data)
        elif step == "follow-up":
            assert isinstance(data, FollowUp)
            service.follow_up(session, caller, request.id, data)
        else:
            assert isinstance(data, Withdraw)
            service.withdraw(session, caller, request.id, data)
        out.print(_line(request), markup=False)


@app.command("confirm")
def confirm(
    ctx: typer.Context,
    ref: str = typer.Argument(..., metavar="REFERENCE_OR_ID"),
    agency: str = typer.Option(..., "--agency", help=AGENCY_HELP),
    provider_reference: str = typer.Option("", "--provider-reference"),
    note: str = typer.Option("", "--note"),
) -> None:
    """The provider confirmed it keeps the data (its reference)."""
    _step(ctx, agency, ref, "confirm", Confirm(provider_reference=provider_reference, note=note))


@app.command("extend")
def extend(
    ctx: typer.Context,
    ref: str = typer.Argument(..., metavar="REFERENCE_OR_ID"),
    agency: str = typer.Option(..., "--agency", help=AGENCY_HELP),
    note: str = typer.Option("", "--note"),
) -> None:
    """Another term from the current expiry: once only (Art. 29(7))."""
    _step(ctx, agency, ref, "extend", Extend(note=note))


@app.command("follow-up")
def follow_up(
    ctx: typer.Context,
    ref: str = typer.Argument(..., metavar="REFERENCE_OR_ID"),
    agency: str = typer.Option(..., "--agency", help=AGENCY_HELP),
    formal_reference: str = typer.Option(
        ..., "--formal-reference", help="The MLA or production order's reference"
    ),
    note: str = typer.Option("", "--note"),
) -> None:
    """A formal request took over: the preservation has done its job."""
    try:
        data = FollowUp(formal_reference=formal_reference, note=note)
    except ValidationError as exc:
        raise _schema_error(exc) from None
    _step(ctx, agency, ref, "follow-up", data)


@app.command("withdraw")
def withdraw(
    ctx: typer.Context,
    ref: str = typer.Argument(..., metavar="REFERENCE_OR_ID"),
    agency: str = typer.Option(..., "--agency", help=AGENCY_HELP),
    reason: str = typer.Option(..., "--reason", help="Why it is no longer needed"),
) -> None:
    """The data is no longer needed."""
    try:
        data = Withdraw(reason=reason)
    except ValidationError as exc:
        raise _schema_error(exc) from None
    _step(ctx, agency, ref, "withdraw", data)


@app.command("counts")
def counts(
    ctx: typer.Context,
    agency: str | None = typer.Option(
        None, "--agency", help="One agency's own counts; default: the whole network's"
    ),
    fmt: str = typer.Option("table", "--format", help="table, csv or json"),
) -> None:
    """Requests per status, agency and provider, and those expiring within 14 days (numbers
    only, never an identifier)."""
    if fmt not in ("table", "csv", "json"):
        err.print("error: format: table, csv or json")
        raise typer.Exit(2)
    with unit(ctx) as session:
        caller = agency_service.operator(session, agency) if agency else system_caller()
        result = statistics.counts(session, caller)
    if fmt == "json":
        out.print(result.model_dump_json(indent=2), markup=False)
        return
    if fmt == "csv":
        out.print(statistics.csv_text(result), markup=False, end="")
        return
    lines = [
        f"{result.scope}: {result.total} requests, {result.active} active, "
        f"{result.expiring_soon} expiring within {result.soon_days} days",
        "status:\t" + ", ".join(f"{STATUS_LABELS[k]} {v}" for k, v in result.by_status.items()),
    ]
    for title, rows in (("agency", result.by_agency), ("provider", result.by_provider)):
        lines.append(f"by {title} (total / active / expiring soon):")
        lines += [f"  {r.key}\t{r.total}\t{r.active}\t{r.expiring_soon}" for r in rows]
    out.print("\n".join(lines), markup=False)


def install(cli: typer.Typer) -> None:
    """Adds this domain's commands to the `taskforce` command (`taskforce.cli`)."""
    cli.add_typer(app, name="preservation")
