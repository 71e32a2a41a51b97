"""`taskforce commerce ...`: open a commercial site for an agency, crawl it in this process
(text only, progress on stderr), compute the agency's brands and distribution groups, and
print the GREEN wallet watch list. The operator acts for the agency named by `--agency`."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.cases import service as case_service
from taskforce.commerce import changes, crawling, graphs, recrawls, service, views, watchlist
from taskforce.commerce.models import CommerceCrawl, CommerceSite
from taskforce.core import sharing
from taskforce.core.caller import Caller, system_caller
from taskforce.core.console import err, out, state, unit
from taskforce.core.db import utcnow
from taskforce.core.errors import Invalid, NotFound

app = typer.Typer(
    help="Commercial sites: open one, crawl it (text only), its brands and distribution groups, "
    "the wallet watch list.",
    no_args_is_help=True,
)
site_app = typer.Typer(help="The agency's commercial sites.", no_args_is_help=True)
app.add_typer(site_app, name="site")

AGENCY = typer.Option(..., "--agency", help="The investigating agency's code, e.g. GB-NCA")


def _hop(raw: str) -> service.PathwayHop:
    url, _, referrer = raw.partition(",")
    return service.PathwayHop(url.strip(), referrer.strip() or None)


def _uuid(raw: str, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw.strip())
    except ValueError:
        raise Invalid(field, "must be an id (a UUID)") from None


@site_app.command("add")
def site_add(
    ctx: typer.Context,
    url: str = typer.Argument(..., help="The landing page, http(s)"),
    agency: str = AGENCY,
    case: str | None = typer.Option(None, "--case", help="Reference of a case of the agency"),
    report: str | None = typer.Option(None, "--report", help="Id of a confirmed URL report"),
    label: str = typer.Option("", "--label", help="Your name for the site"),
    depth: int = typer.Option(2, "--depth", help=f"Links followed, 0 to {service.MAX_DEPTH}"),
    pages: int = typer.Option(50, "--pages", help="Pages at most per crawl"),
    pathway: list[str] = typer.Option(
        [], "--pathway", help="A gateway hop before the landing page: URL[,REFERRER] (repeat)"
    ),
    recrawl_days: int | None = typer.Option(None, "--recrawl-days", help="Recrawl every N days"),
) -> None:
    """Open a site from a case of the agency or a confirmed URL report; print its id. The
    same URL again is the site already open (exit 1: nothing was added)."""
    with unit(ctx) as session:
        caller = agency_service.operator(session, agency)
        case_id = case_service.find_case(session, caller, case).id if case else None
        site, new = service.add_site(
            session,
            caller,
            state(ctx).settings,
            url=url,
            label=label,
            report_id=_uuid(report, "report") if report else None,
            case_id=case_id,
            depth=depth,
            page_limit=pages,
            pathway=[_hop(hop) for hop in pathway],
            recrawl_days=recrawl_days,
        )
        site_id, host = site.id, site.host
    if not new:
        err.print(f"{host}: already open as site {site_id}", markup=False)
        raise typer.Exit(1)
    out.print(f"site {site_id} opened: {host}", markup=False)
    out.print(f"crawl it: taskforce commerce crawl {site_id} --agency {agency}", markup=False)


@site_app.command("list")
def site_list(ctx: typer.Context, agency: str = AGENCY) -> None:
    """The agency's sites, newest first: id, host, the last crawl and pages fetched,
    indicators, the recrawl schedule, label."""
    with unit(ctx) as session:
        caller = agency_service.operator(session, agency)
        listing = views.list_sites(session, caller, limit=500)
    for s in listing.items:
        last = s.last_crawl
        crawled = f"{last.status} {last.pages_fetched} pages" if last else "never crawled"
        every = f"every {_n(s.recrawl_days, 'day')}" if s.recrawl_days else "no recrawl"
        every += ", paused" if s.status == recrawls.PAUSED else ""
        out.print(
            f"{s.id}\t{s.host}\t{crawled}\t{_n(s.indicators, 'indicator')}\t{every}\t{s.label}",
            markup=False,
            soft_wrap=True,
        )
    if not listing.items:
        err.print("no site yet: open one with taskforce commerce site add", markup=False)


def _site(session: Session, caller: Caller, raw: str) -> CommerceSite:
    """A site of the agency by its id, its URL or its host."""
    try:
        return service.own_site(session, caller, uuid.UUID(raw.strip()))
    except ValueError:
        pass
    found = list(
        session.scalars(
            select(CommerceSite).where(
                sharing.owned_by(CommerceSite.owner_agency_id, caller),
                (CommerceSite.url == raw.strip()) | (CommerceSite.host == raw.strip().lower()),
            )
        )
    )
    if len(found) != 1:
        raise NotFound("site") if not found else Invalid("site", "several sites: give the id")
    return found[0]


def _schedule(site: CommerceSite) -> str:
    if site.recrawl_days is None:
        return "not recrawled"
    every = f"recrawled every {_n(site.recrawl_days, 'day')}"
    if site.status == recrawls.PAUSED:
        return f"{every}, paused"
    due = f"{site.next_crawl_at:%Y-%m-%d %H:%M} UTC" if site.next_crawl_at else "not scheduled"
    return f"{every}, next crawl {due}"


@site_app.command("recrawl")
def site_recrawl(
    ctx: typer.Context,
    site: str = typer.Argument(..., help="The site's id, URL or host"),
    agency: str = AGENCY,
    days: int | None = typer.Option(None, "--days", help="Recrawl every N days"),
    off: bool = typer.Option(False, "--off", help="Stop recrawling the site"),
) -> None:
    """Set how often the site is recrawled (`--days N`) or stop it (`--off`); print the
    schedule and when the next crawl is due."""
    if (days is None) == (not off):
        err.print("error: days: give --days N or --off", markup=False)
        raise typer.Exit(2)
    _reschedule(
        ctx, agency, site, lambda s, c, i: recrawls.set_recrawl(s, c, i, None if off else days)
    )


def _reschedule(
    ctx: typer.Context,
    agency: str,
    site: str,
    change: Callable[[Session, Caller, uuid.UUID], CommerceSite],
) -> None:
    """Change a site's recrawl schedule and print it, with when the next crawl is due."""
    with unit(ctx) as session:
        caller = agency_service.operator(session, agency)
        done = change(session, caller, _site(session, caller, site).id)
        said = f"{done.host}: {_schedule(done)}"
    out.print(said, markup=False)


@site_app.command("pause")
def site_pause(
    ctx: typer.Context,
    site: str = typer.Argument(..., help="The site's id, URL or host"),
    agency: str = AGENCY,
) -> None:
    """Stop recrawling the site for now; its schedule is kept for `resume`."""
    _reschedule(ctx, agency, site, recrawls.pause)


@site_app.command("resume")
def site_resume(
    ctx: typer.Context,
    site: str = typer.Argument(..., help="The site's id, URL or host"),
    agency: str = AGENCY,
) -> None:
    """Recrawl a paused site again on its schedule; print when the next crawl is due."""
    _reschedule(ctx, agency, site, recrawls.resume)


@site_app.command("history")
def site_history(
    ctx: typer.Context,
    site: str = typer.Argument(..., help="The site's id, URL or host"),
    agency: str = AGENCY,
    limit: int = typer.Option(20, "--limit", help="Crawls at most, newest first"),
) -> None:
    """The site's finished crawls, newest first: when, why, pages fetched and indicators
    sighted, then what changed since the crawl before (indented)."""
    with unit(ctx) as session:
        caller = agency_service.operator(session, agency)
        chosen = _site(session, caller, site)
        host = chosen.host
        entries = changes.history(session, caller, chosen.id, limit=limit)
    if not entries:
        out.print(f"{host}: no finished crawl yet", markup=False)
    for entry in entries:
        c = entry.crawl
        when = f"{c.finished_at:%Y-%m-%d %H:%M}" if c.finished_at else "?"
        said = f"{when} UTC  {c.reason} crawl {c.status}: {_n(c.pages, 'page')} fetched, "
        said += f"{_n(c.indicators, 'indicator')} sighted"
        out.print(said + (f"; {c.detail}" if c.status != "done" else ""), markup=False)
        if entry.changes is None and c.status == "done":
            out.print("  the first crawl: nothing to compare it with", markup=False)
        elif entry.changes == ():
            out.print("  no change since the crawl before", markup=False)
        for change in entry.changes or ():
            out.print(f"  {change.text}", markup=False, soft_wrap=True)


@app.command("crawl")
def crawl(
    ctx: typer.Context,
    site: str = typer.Argument(..., help="The site's id, URL or host"),
    agency: str = AGENCY,
) -> None:
    """Crawl the site now, in this process: progress on stderr (pages done of the limit, an
    estimate of the time left), then what was fetched, refused and failed, the indicators
    found and the wallets rejected. Exits 1 when no page was fetched."""
    settings = state(ctx).settings
    with unit(ctx) as session:
        caller = agency_service.operator(session, agency)
        chosen = _site(session, caller, site)
        crawl_id, host = service.queue_crawl(session, caller, chosen, now=utcnow()).id, chosen.host
    started = time.monotonic()

    def progress(step: crawling.Progress) -> None:
        spent = time.monotonic() - started
        left = step.page_limit - step.pages_done
        running = step.pages_done and step.status in service.ACTIVE
        eta = f", at most {spent / step.pages_done * left:.0f} s left" if running else ""
        err.print(
            f"{host}: pages {step.pages_done}/{step.page_limit} ({step.status}{eta})",
            markup=False,
        )

    crawling.run_until_done(
        state(ctx).sessionmaker,
        settings,
        crawling.make_fetcher(settings),
        crawl_id,
        progress=progress,
    )
    with unit(ctx) as session:
        done = session.get(CommerceCrawl, crawl_id)
        assert done is not None
        out.print(
            f"{host}: crawl {done.status} in {time.monotonic() - started:.1f} s: "
            f"{done.pages_fetched} pages fetched, {done.pages_refused} refused, "
            f"{done.pages_failed} failed; {done.indicators_found} indicators, "
            f"{done.wallets_rejected} wallets rejected (bad checksum)"
            + (f"; {done.detail}" if done.detail and done.status != "done" else ""),
            markup=False,
            soft_wrap=True,
        )
        fetched = done.pages_fetched
    if not fetched:
        err.print(f"{host}: no page was fetched", markup=False)
        raise typer.Exit(1)


def _n(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


@app.command("graph")
def graph(ctx: typer.Context, agency: str = AGENCY) -> None:
    """Compute the agency's brands and distribution groups from every sighting and print
    them (the runs before are kept). Exits 1 when no group was found."""
    with unit(ctx) as session:
        caller = agency_service.operator(session, agency)
        run = graphs.compute_for(session, caller, utcnow())
        found = graphs.latest_groups(session, caller)
        lines = [
            f"{g.kind}\t{g.label or g.key}\t{_n(len(g.site_ids), 'site')}\t"
            f"{_n(len(g.indicator_ids), 'indicator')}\t{g.id}"
            for g in found
        ]
        said = (
            f"{_n(run.sites, 'site')}, {_n(run.indicators, 'indicator')}, "
            f"{_n(run.links, 'link')}: {_n(run.groups, 'distribution group')}, "
            f"{_n(run.brands, 'brand')} ({run.seconds:.2f} s)"
        )
    for line in lines:
        out.print(line, markup=False)
    out.print(said, markup=False)
    if not lines:
        raise typer.Exit(1)


@app.command("watchlist")
def watch_list(
    ctx: typer.Context,
    fmt: str = typer.Option("text", "--format", help="text or csv"),
    agency: str | None = typer.Option(None, "--agency", help="Read as this agency (audited)"),
) -> None:
    """The GREEN wallet watch list every member receives: chain, address, listing agency,
    when and why."""
    if fmt not in ("text", "csv"):
        err.print("error: format: must be text or csv", markup=False)
        raise typer.Exit(2)
    with unit(ctx) as session:
        caller = agency_service.operator(session, agency) if agency else system_caller()
        if fmt == "csv":
            text = watchlist.to_csv(session, caller)
        else:
            rows = watchlist.current(session, caller)
            codes = watchlist.agency_codes(session, rows)
            text = "".join(
                f"{w.chain}\t{w.address}\t{watchlist.listed_by(w, codes)}\t"
                f"{w.listed_at:%Y-%m-%d}\t{w.reason}\n"
                for w in rows
            )
    out.print(text, end="", markup=False)
    if fmt == "text" and not text:
        err.print("the watch list is empty", markup=False)


def install(cli: typer.Typer) -> None:
    """Adds this domain's commands to the `taskforce` command (`taskforce.cli`)."""
    cli.add_typer(app, name="commerce")
