"""`taskforce observatory show|publish|snapshots|verify|internet-users`: the observatory's
figures from the console (the operator's seat: the coordinator's)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import typer

from taskforce.core.caller import system_caller
from taskforce.core.console import err, out, state, unit
from taskforce.core.db import utcnow
from taskforce.core.errors import NotFound
from taskforce.observatory import service
from taskforce.observatory.schemas import Figures

app = typer.Typer(
    help="The observatory: figures by hosting country, time to removal, children identified, "
    "hits between agencies; monthly snapshots published once and verifiable.",
    no_args_is_help=True,
)

PERIOD_HELP = "A month, YYYY-MM"
_T = TypeVar("_T")


def _n(value: int | None, threshold: int) -> str:
    return f"<{threshold}" if value is None else str(value)


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    """Columns aligned with spaces (tabs drift with a long country name): the first left, the
    figures right, each under its heading."""
    widths = [max(len(cell) for cell in column) for column in zip(head, *rows, strict=True)]

    def line(cells: list[str]) -> str:
        first, *rest = cells
        figures = (cell.rjust(width) for cell, width in zip(rest, widths[1:], strict=True))
        return "  " + "  ".join([first.ljust(widths[0]), *figures]).rstrip()

    return [line(head), *(line(row) for row in rows)]


def _text(f: Figures) -> str:
    t = f.threshold
    state_ = "live, as the figures stand now" if f.period == "live" else "as published"
    lines = [
        f"{f.period_start:%Y-%m} {state_} ({f.period_start:%Y-%m-%d} to "
        f"{f.period_end:%Y-%m-%d %H:%M} UTC), counts below {t} suppressed",
        f"URL reports received {_n(f.reports_received, t)}, "
        f"confirmed illegal {_n(f.reports_confirmed, t)}",
        "",
        "by hosting country:",
    ]
    rows = []
    for r in f.reports_by_country:
        rate = r.confirmed_per_internet_users
        per = f"{rate.per_million} ({rate.low}-{rate.high})" if rate is not None else "-"
        rows.append([f"{r.country} {r.name}", _n(r.received, t), _n(r.confirmed, t), per])
    head = ["country", "received", "confirmed", "confirmed per million internet users (95%)"]
    lines += _table(head, rows)
    lines += ["", "time to removal by hosting country:"]
    rows = []
    for m in f.removal_by_country:
        median = "-" if m.median_hours is None else str(m.median_hours)
        p90 = "-" if m.p90_hours is None else str(m.p90_hours)
        rows.append(
            [f"{m.country} {m.name}", _n(m.removed, t), median, p90, _n(m.open_past_deadline, t)]
        )
    head = ["country", "removed", "median hours", "90th pct hours", "open past deadline"]
    lines += _table(head, rows)
    lines += ["", "by month:"]
    rows = [
        [c.month, _n(c.value, t), _n(h.value, t)]
        for c, h in zip(f.children_identified, f.hits_between_agencies, strict=True)
    ]
    lines += _table(["month", "children identified", "hits between agencies"], rows)
    d = f.denominators
    users = (
        f"{d.internet_users_source} ({d.internet_users_year}, {d.internet_users_countries} "
        "countries)"
        if d.internet_users_source
        else "none loaded: rates per internet user omitted"
    )
    lines += ["", f"internet users: {users}", f"people: {d.people_source}", f.caveat]
    return "\n".join(lines)


def _published(read: Callable[[], _T], period: str) -> _T:
    """A published month's read; a month not published says which, and where the list is."""
    try:
        return read()
    except NotFound:
        err.print(
            f"error: snapshot not found: {period} has not been published "
            "(`taskforce observatory snapshots` lists the published months)",
            markup=False,
            soft_wrap=True,
        )
        raise typer.Exit(1) from None


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
            figures = _published(lambda: service.snapshot(session, period), period).figures
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
        check = _published(lambda: service.verify_published(session, period), period)
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
    except OSError as exc:
        err.print(
            f"error: file: {file} cannot be read: {exc.strerror or exc}",
            markup=False,
            soft_wrap=True,
        )
        raise typer.Exit(2) from None
    except UnicodeDecodeError:
        err.print(f"error: file: {file} is not UTF-8 text", markup=False, soft_wrap=True)
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
