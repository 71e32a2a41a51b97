"""The observatory's pages.

Public (`public_router`, no login, no cookie, no script, the public pages' strict policy):
/observatory (the latest published month, or a page saying none is yet), /observatory/2026-11
(one published month), its downloads /observatory/2026-11.json (the canonical JSON whose
SHA-256 is the one published, so `sha256sum` checks it) and .csv. Published figures only: a
month nobody published is the public 404. The drawings of a published month are made once
(it never changes) and kept.

Members (`router`): /ui/observatory, the live figures of a chosen month and the published
months; the coordinator publishes a month from there.
"""

from __future__ import annotations

import gettext
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

import pycountry
from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from taskforce.core.caller import Permission
from taskforce.core.db import utcnow
from taskforce.core.errors import Invalid, NotFound
from taskforce.core.http import SessionDep
from taskforce.observatory import charts, service, worldmap
from taskforce.observatory.schemas import CountryReports, Figures, Rate, SnapshotRead
from taskforce.web import catalogue
from taskforce.web.forms import CheckedWebDep, attempt
from taskforce.web.session import WebCallerDep, render

public_router = APIRouter(include_in_schema=False)
router = APIRouter(prefix="/ui", include_in_schema=False)

_PUBLIC_HEADERS = {
    "Cache-Control": "no-cache",  # published figures never change, but the latest month does
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; img-src 'self'; style-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}
_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_THOUSANDS = {"en": ",", "fr": "\u202f"}  # the others: a full stop
_DECIMAL = {"en": "."}  # the others: a comma
_CHART_ROWS = 15  # countries drawn in the time-to-removal chart (the table lists them all)


# --- words and numbers ------------------------------------------------------------------------


@cache
def _country_names(language: str) -> dict[str, str]:
    """ISO names in the page's language (pycountry's translations)."""
    try:
        names = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[language])
        translate: Callable[[str], str] = names.gettext
    except OSError:
        translate = str
    return {
        c.alpha_2: translate(getattr(c, "common_name", None) or c.name) for c in pycountry.countries
    }


def _number(language: str) -> Callable[[float], str]:
    thousands = _THOUSANDS.get(language, ".")
    decimal = _DECIMAL.get(language, ",")

    def fmt(value: float) -> str:
        text = f"{value:,.0f}" if value >= 100 or value == int(value) else f"{value:,.1f}"
        return text.replace(",", "\x00").replace(".", decimal).replace("\x00", thousands)

    return fmt


@dataclass
class View:
    """Everything a page draws from one month's figures, in one language."""

    figures: Figures
    t: dict[str, str]
    lang: str
    number: Callable[[float], str]
    map_svg: Markup
    legend: list[tuple[Markup, str]]
    reports: list[dict[str, str]]
    removal: list[dict[str, str]]
    removal_svg: Markup | None
    children: list[dict[str, str]]
    children_svg: Markup
    hits: list[dict[str, str]]
    hits_svg: Markup
    totals: dict[str, str] = field(default_factory=dict)
    month_title: str = ""


def _month_name(t: dict[str, str], period: str, *, full: bool = False) -> str:
    """ "November 2026" (or "Nov") from "2026-11", in the page's language."""
    if not _PERIOD.match(period):
        return period
    year, month = period.split("-")
    names = t["months_full" if full else "months"].split()
    return f"{names[int(month) - 1]} {year}" if full else names[int(month) - 1]


def build(figures: Figures, lang: str, *, ident: str = "obs") -> View:
    """The map, the charts and the tables of one month's figures (pure: no database)."""
    t = catalogue.texts("observatory", lang)
    number = _number(lang)
    threshold = figures.threshold
    fewer = t["fewer_than"].format(threshold=threshold)
    names = _country_names(lang)
    # a live view's period is "live": its month is where it starts
    title_month = _month_name(t, figures.period_start.strftime("%Y-%m"), full=True)

    def count(value: int | None) -> str:
        return fewer if value is None else number(value)

    def rate(value: Rate | None) -> str:
        if value is None:
            return t["no_figure"]
        return f"{number(value.per_million)} ({number(value.low)}–{number(value.high)})"

    def name(code: str, fallback: str) -> str:
        return t["not_located"] if code == "ZZ" else names.get(code, fallback or code)

    ordered = sorted(
        figures.reports_by_country,
        key=lambda c: (-(c.confirmed or -1), -(c.received or -1), name(c.country, c.name)),
    )
    countries = {
        c.country: worldmap.Country(
            title=_map_title(t, name(c.country, c.name), c, count),
            value=c.confirmed,
            suppressed=c.confirmed is None,
        )
        for c in ordered
        if c.country != "ZZ"
    }
    map_svg = worldmap.draw(
        countries,
        title=t["map_title"].format(period=title_month),
        description=t["map_desc"].format(threshold=threshold),
        name_of=lambda code: names.get(code, code),
        no_data=t["no_reports"],
        ident=f"{ident}-map",
    )
    legend = worldmap.legend(countries, suppressed=fewer, no_data=t["no_reports"], ident=ident)
    removals = sorted(
        figures.removal_by_country,
        key=lambda r: (-(r.removed or -1), name(r.country, r.name)),
    )
    bars = [
        charts.Bar(
            label=name(r.country, r.name),
            value=r.median_hours,
            mark=r.p90_hours,
            note=f"n = {number(r.removed)}" if r.removed is not None else "",
        )
        for r in removals[:_CHART_ROWS]
    ]
    short = f"<{threshold}"
    removal_svg = (
        Markup(  # noqa: S704 - drawn by charts.py from escaped text and numbers
            charts.bars(
                bars,
                title=t["removal_title"].format(period=title_month),
                description=t["removal_desc"],
                value_label=t["median_hours"],
                mark_label=t["p90_hours"],
                suppressed=short,
                ident=f"{ident}-removal",
                number=number,
            )
        )
        if bars
        else None
    )

    def monthly(values: list[Any], key: str) -> tuple[Markup, list[dict[str, str]]]:
        points = [
            charts.Column(
                label=_month_name(t, v.month),
                title=_month_name(t, v.month, full=True),
                value=v.value,
                year=v.month[:4] if i == 0 or v.month.endswith("-01") else "",
            )
            for i, v in enumerate(values)
        ]
        svg = charts.columns(
            points,
            title=t[f"{key}_title"],
            description=t[f"{key}_desc"].format(period=title_month),
            suppressed=short,
            ident=f"{ident}-{key}",
            number=number,
        )
        rows = [
            {"month": _month_name(t, v.month, full=True), "value": count(v.value)} for v in values
        ]
        return Markup(svg), rows  # noqa: S704 - drawn by charts.py from escaped text

    children_svg, children = monthly(figures.children_identified, "children")
    hits_svg, hits = monthly(figures.hits_between_agencies, "hits")
    return View(
        figures=figures,
        t=t,
        lang=lang,
        number=number,
        map_svg=Markup(map_svg),  # noqa: S704 - drawn by worldmap.py from escaped text
        legend=[(Markup(swatch), label) for swatch, label in legend],  # noqa: S704
        reports=[
            {
                "country": name(c.country, c.name),
                "received": count(c.received),
                "confirmed": count(c.confirmed),
                "per_users": rate(c.confirmed_per_internet_users),
                "per_people": rate(c.confirmed_per_people),
            }
            for c in ordered
        ],
        removal=[
            {
                "country": name(r.country, r.name),
                "removed": count(r.removed),
                "median": t["no_figure"] if r.median_hours is None else number(r.median_hours),
                "p90": t["no_figure"] if r.p90_hours is None else number(r.p90_hours),
                "past_deadline": count(r.open_past_deadline),
            }
            for r in removals
        ],
        removal_svg=removal_svg,
        children=children,
        children_svg=children_svg,
        hits=hits,
        hits_svg=hits_svg,
        totals={
            "received": count(figures.reports_received),
            "confirmed": count(figures.reports_confirmed),
        },
        month_title=title_month,
    )


def _map_title(
    t: dict[str, str], name: str, c: CountryReports, count: Callable[[int | None], str]
) -> str:
    return f"{name} — {t['confirmed']}: {count(c.confirmed)}; {t['received']}: {count(c.received)}"


# The drawings of a published month, by (period, sha256, language): it never changes.
_DRAWN: dict[tuple[str, str, str], View] = {}


def _published_view(snapshot: SnapshotRead, lang: str) -> View:
    key = (snapshot.period, snapshot.sha256, lang)
    view = _DRAWN.get(key)
    if view is None:
        if len(_DRAWN) > 200:
            _DRAWN.clear()
        view = _DRAWN[key] = build(snapshot.figures, lang)
    return view


# --- the public pages ---------------------------------------------------------------------


def _language(request: Request, lang: str | None) -> str:
    return catalogue.choose("observatory", lang, request.headers.get("accept-language"))


def _public(request: Request, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    response: HTMLResponse = request.app.state.templates.TemplateResponse(
        request, "observatory/public.html", context, status_code=status_code
    )
    response.headers.update(_PUBLIC_HEADERS)
    return response


def _published_month(session: SessionDep, period: str) -> SnapshotRead:
    if not _PERIOD.match(period):
        raise HTTPException(status_code=404)
    try:
        return service.snapshot(session, period)
    except (NotFound, Invalid):
        raise HTTPException(status_code=404) from None


def _download_name(period: str, ext: str) -> str:
    return f'attachment; filename="taskforce-observatory-{period}.{ext}"'


@public_router.get("/observatory/{period}.json")
def snapshot_json(session: SessionDep, period: str) -> Response:
    """The published figures byte for byte as hashed: their SHA-256 is the published one."""
    snapshot = _published_month(session, period)
    body = service.canonical(snapshot.figures.model_dump(mode="json"))
    headers = {**_PUBLIC_HEADERS, "Content-Disposition": _download_name(period, "json")}
    return Response(body, media_type="application/json", headers=headers)


@public_router.get("/observatory/{period}.csv")
def snapshot_csv(session: SessionDep, period: str) -> Response:
    snapshot = _published_month(session, period)
    headers = {**_PUBLIC_HEADERS, "Content-Disposition": _download_name(period, "csv")}
    return Response(
        service.csv_text(snapshot.figures), media_type="text/csv; charset=utf-8", headers=headers
    )


def _snapshot_page(
    request: Request,
    snapshot: SnapshotRead | None,
    months: list[SnapshotRead],
    lang: str,
    *,
    missing: str | None = None,
) -> HTMLResponse:
    """A published month, the latest, or (`missing`) a month nobody published: a 404 that
    says so and lists the months there are, so a reader who typed a month is not lost."""
    t = catalogue.texts("observatory", lang)
    return _public(
        request,
        {
            "missing": _month_name(t, missing, full=True) if missing else None,
            "t": t,
            "lang": lang,
            "languages": catalogue.languages("observatory"),
            "snapshot": snapshot,
            "v": _published_view(snapshot, lang) if snapshot else None,
            "months": [(s, _month_name(t, s.period, full=True)) for s in months],
            "here": f"/observatory/{snapshot.period if snapshot else missing}"
            if snapshot or missing
            else "/observatory",
            "report_href": "/report/es" if lang == "es" else "/report",
            "source": worldmap.SOURCE,
        },
        status_code=404 if missing else 200,
    )


@public_router.get("/observatory", response_class=HTMLResponse)
def latest(
    request: Request, session: SessionDep, lang: str | None = Query(default=None, max_length=8)
) -> HTMLResponse:
    """The latest published month; a plain page saying so while none is published."""
    months = service.published(session)
    return _snapshot_page(request, months[0] if months else None, months, _language(request, lang))


@public_router.get("/observatory/{period}", response_class=HTMLResponse)
def published_month(
    request: Request,
    session: SessionDep,
    period: str,
    lang: str | None = Query(default=None, max_length=8),
) -> HTMLResponse:
    months = service.published(session)
    lang = _language(request, lang)
    if _PERIOD.match(period) and not any(s.period == period for s in months):
        return _snapshot_page(request, None, months, lang, missing=period)
    return _snapshot_page(request, _published_month(session, period), months, lang)


# --- the members' page ------------------------------------------------------------------------


def _previous_month(now: datetime) -> str:
    year, month = (now.year, now.month - 1) if now.month > 1 else (now.year - 1, 12)
    return f"{year:04d}-{month:02d}"


def _member_page(
    request: Request,
    session: SessionDep,
    web: Any,
    month: str | None,
    *,
    error: Invalid | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    now = utcnow()
    chosen = month if month and _PERIOD.match(month) else f"{now.year:04d}-{now.month:02d}"
    live: View | None = None
    refused: Invalid | None = None
    try:
        threshold = request.app.state.settings.observatory_threshold
        figures = service.live(session, web.caller, chosen, now, threshold=threshold)
        live = build(figures, "en", ident="live")
    except Invalid as exc:
        refused = exc
    months = service.published(session)
    done = {s.period for s in months}
    to_publish = _previous_month(now)
    published = request.query_params.get("published")
    return render(
        request,
        "observatory/member.html",
        {
            "v": live,
            "t": catalogue.texts("observatory", "en"),
            "chosen": chosen,
            "chosen_title": _month_name(catalogue.texts("observatory", "en"), chosen, full=True),
            "refused": refused,
            "months": months,
            "can_publish": web.caller.can(Permission.PUBLISH_STATISTICS),
            "to_publish": None if to_publish in done else to_publish,
            "error": error,
            "published": published if published and _PERIOD.match(published) else None,
            "source": worldmap.SOURCE,
        },
        status_code=status_code,
    )


@router.get("/observatory", response_class=HTMLResponse)
def member_page(
    request: Request,
    session: SessionDep,
    web: WebCallerDep,
    month: str | None = Query(default=None, max_length=7),
) -> HTMLResponse:
    """Live figures of a month (default: this one, so far) for members; audited."""
    return _member_page(request, session, web, month)


@router.post("/observatory/publish", response_class=HTMLResponse)
def publish(
    request: Request,
    session: SessionDep,
    web: CheckedWebDep,
    period: str = Form(default="", max_length=7),
) -> Response:
    """The coordinator freezes a month that has ended (once; never changed afterwards)."""
    try:
        threshold = request.app.state.settings.observatory_threshold  # the setting, not 10
        snapshot = attempt(
            session,
            lambda: service.publish(session, web.caller, period, utcnow(), threshold=threshold),
        )
    except Invalid as exc:
        return _member_page(request, session, web, None, error=exc, status_code=422)
    return RedirectResponse(f"/ui/observatory?published={snapshot.period}", status_code=303)
