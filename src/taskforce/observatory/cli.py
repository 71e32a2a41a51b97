"""`taskforce observatory show|publish|snapshots|verify|internet-users`: the observatory's
figures from the console (the operator's seat: the coordinator's)."""

from __future__ import annotations

from pathlib import Path

import typer

from taskforce.core.caller import system_caller
from taskforce.core.console import err, out, state, unit
from taskforce.core.db import utcnow
from taskforce.observatory import service
from taskforce.observatory.schemas import Figures

app = typer.Typer(
    help="The observatory: figures by hosting country, time to removal, children identified, "
    "hits between agencies; monthly snapshots published once and verifiable.",
    no_args_is_help=True,
)

PERIOD_HELP = "A month, YYYY-MM"


def _n(value: int | None, threshold: int) -> str:
    return f"<{threshold}" if value is None else str(value)


def _text(f: Figures) -> str:
    t = f.threshold
    lines = [
        f"period {f.period} ({f.period_start:%Y-%m-%d} to {f.period_end:%Y-%m-%d %H:%M} UTC), "
        f"counts below {t} suppressed",
        f"URL reports received {_n(f.reports_received, t)}, "
        f"confirmed illegal {_n(f.reports_confirmed, t)}",
        "by hosting country (received / confirmed / confirmed per million internet users):",
    ]
    for r in f.reports_by_country:
        rate = r.confirmed_per_internet_users
        per = f"{rate.per_million} ({rate.low}-{rate.high})" if rate is not None else "no rate"
        lines.append(f"  {r.country} {r.name}\t{_n(r.received, t)}\t{_n(r.confirmed, t)}\t{per}")
    lines.append("time to removal (removed / median h / 90th pct h / open past deadline):")
    for m in f.removal_by_country:
        median = "-" if m.median_hours is None else m.median_hours
        p90 = "-" if m.p90_hours is None else m.p90_hours
        lines.append(
            f"  {m.country} {m.name}\t{_n(m.removed, t)}\t{median}\t{p90}\t"
            f"{_n(m.open_past_deadline, t)}"
        )
    lines.append("month\tchildren identified\thits between agencies")
    for c, h in zip(f.children_identified, f.hits_between_agencies, strict=True):
        lines.append(f"  {c.month}\t{_n(c.value, t)}\t{_n(h.value, t)}")
    d = f.denominators
    users = (
        f"{d.internet_users_source} ({d.internet_users_year}, {d.internet_users_countries} "
        "countries)"
        if d.internet_users_source
        else "none loaded: rates per internet user omitted"
    )
    lines += [f"internet users: {users}", f"people: {d.people_source}", f.caveat]
    return "\n".join(lines)


@app.command("show")
def show(
    ctx: typer.Context,
    period: str | None = typer.Option(None, "--period", help=PERIOD_HELP + "; default: now"),
    fmt: str = typer.Option("text", "--format", help="text, json or csv"),
    published: bool = typer.Option(
        False, "--published", help="The published snapshot of the month, not live figures"
    ),
) -> None:
    """A month's figures: live (as they stand now), or as published with --published."""
    if fmt not in ("text", "json", "csv"):
        err.print("error: format: text, json or csv")
        raise typer.Exit(2)
    settings = state(ctx).settings
    with unit(ctx) as session:
        if published:
            if period is None:
                err.print("error: period: name the published month with --period")
                raise typer.Exit(2)
            figures = service.snapshot(session, period).figures
        else:
            figures = service.live(
                session,
                system_caller(),
                period,
                utcnow(),
                threshold=settings.observatory_threshold,
            )
    if fmt == "json":
        out.print(service.json_text(figures), markup=False)
    elif fmt == "csv":
        out.print(service.csv_text(figures), markup=False, end="")
    else:
        out.print(_text(figures), markup=False)


@app.command("publish")
def publish(
    ctx: typer.Context,
    period: str = typer.Option(..., "--period", help=PERIOD_HELP + " that has ended"),
) -> None:
    """Publish a month's snapshot: frozen, its hash in the audit chain. Once per month."""
    settings = state(ctx).settings
    with unit(ctx) as session:
        found = service.publish(
            session, system_caller(), period, utcnow(), threshold=settings.observatory_threshold
        )
    out.print(f"published {found.period}\tsha256 {found.sha256}", markup=False)


@app.command("snapshots")
def snapshots(ctx: typer.Context) -> None:
    """The published months, the newest first, with their hashes."""
    with unit(ctx) as session:
        rows = service.published(session)
    if not rows:
        err.print("no snapshot published yet")
        raise typer.Exit(1)
    for row in rows:
        out.print(
            f"{row.period}\tpublished {row.published_at:%Y-%m-%d %H:%M} UTC\t"
            f"threshold {row.threshold}\tsha256 {row.sha256}",
            markup=False,
        )


@app.command("verify")
def verify(
    ctx: typer.Context,
    period: str = typer.Option(..., "--period", help=PERIOD_HELP),
) -> None:
    """Recompute a snapshot's hash; compare it with the stored one and the audit chain's."""
    with unit(ctx) as session:
        check = service.verify_published(session, period)
    out.print(
        f"{check.period}\tstored {check.stored}\tcomputed {check.computed}\t"
        f"audit chain {check.audited}",
        markup=False,
    )
    if not check.ok:
        err.print(f"error: snapshot {check.period} does not match its hash: it was altered")
        raise typer.Exit(1)
    out.print("ok: the published figures are unchanged", markup=False)


@app.command("internet-users")
def internet_users(
    ctx: typer.Context,
    file: Path = typer.Argument(
        ..., help="CSV: country,internet_users,year,source (ISO alpha-2 or alpha-3)"
    ),
) -> None:
    """Load internet users per country (ITU, World Bank): the rates' denominators. Bad lines
    are reported, good ones kept."""
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        err.print(f"error: {file}: {exc}", markup=False)
        raise typer.Exit(2) from None
    with unit(ctx) as session:
        loaded = service.load_internet_users(session, system_caller(), text, utcnow())
    for number, why in loaded.bad_lines:
        err.print(f"line {number}: {why}", markup=False)
    out.print(f"loaded {len(loaded.loaded)} countries, {len(loaded.bad_lines)} bad lines")
    if not loaded.loaded:
        raise typer.Exit(1)


def install(cli: typer.Typer) -> None:
    """Adds this domain's commands to the `taskforce` command (`taskforce.cli`)."""
    cli.add_typer(app, name="observatory")
