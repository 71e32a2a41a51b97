"""The public report pages: /report (choose what to report, then the kind's form) and
/report/receipt (add information with a receipt code). No login, no cookie, no script; a
signed form token in a hidden field stands in for the session's CSRF token.
"""

from __future__ import annotations

import gettext
import logging
import uuid
from collections.abc import Sequence
from functools import cache
from typing import Any

import pycountry
from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup, escape
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from taskforce.agencies import service as agency_service
from taskforce.core import limits
from taskforce.core.caller import Caller
from taskforce.core.db import unit_of_work, utcnow
from taskforce.core.errors import Conflict, Forbidden, Invalid, NotFound
from taskforce.core.http import SessionDep, SettingsDep, client_ip
from taskforce.core.settings import Settings
from taskforce.hashsets.categories import SCHEMES
from taskforce.reports import assessment as report_assessment
from taskforce.reports import duplicates, emergency, intake, queue, service, urlcheck
from taskforce.reports.schemas import (
    ASSESSMENT_LABELS,
    CHOOSABLE,
    FIELDS,
    Assessment,
    AssessmentCreate,
    Kind,
    ReportCreate,
    ReportInvalid,
    ReportRateLimited,
    clean,
    parse_country,
    parse_kind,
)
from taskforce.takedown.service import reference as takedown_reference
from taskforce.web import catalogue
from taskforce.web.forms import CheckedWebDep
from taskforce.web.session import WebCallerDep, render

public_router = APIRouter(include_in_schema=False)
router = APIRouter(prefix="/ui", include_in_schema=False)


def lead_report(session: Session, caller: Caller, report_id: uuid.UUID) -> dict[str, Any]:
    """The urgent lead page's report (`taskforce.pages` hands it to watch.web): the report as
    the reports service gives it to this desk, or None if it does not."""
    try:
        report, additions, _ = queue.get_report(session, caller, report_id)
    except (NotFound, Forbidden):
        return {"report": None}
    return {
        "report": {
            "kind": report.kind,
            "country": report.country,
            "created_at": report.created_at,
            "details": dict(report.details or {}),
            "additions": [(a.created_at, a.text) for a in additions],
        }
    }


def openable_reports(
    session: Session, caller: Caller, report_ids: Sequence[uuid.UUID]
) -> dict[str, Any]:
    """The block list page's source links (`taskforce.pages` hands it to blocklist.web): of
    these reports, those the caller may open, by the reports service's one rule."""
    return {"openable_reports": service.openable(session, caller, report_ids)}


_log = logging.getLogger(__name__)

_PUBLIC_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'none'; img-src 'self'; style-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}
MAX_FORM_FIELD = 20_000  # a browser-independent cap before a field reaches the checks


@cache
def _countries(language: str) -> list[tuple[str, str]]:
    """ISO countries named in the page's language (pycountry's translations), sorted."""
    try:
        names = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[language])
        translate = names.gettext
    except OSError:

        def translate(message: str) -> str:
            return message

    pairs = [
        (str(c.alpha_2), translate(str(getattr(c, "common_name", None) or c.name)))
        for c in pycountry.countries
    ]
    return sorted(pairs, key=lambda pair: pair[1])


@cache
def _options_html(language: str) -> str:
    return "".join(
        f'<option value="{code}">{escape(name)}</option>' for code, name in _countries(language)
    )


def _country_options(language: str) -> Any:
    """The 250 <option>s of a country list, rendered once per language (they were a fifth of
    the form page's time); the chosen one is marked by exact match, so only a listed code can
    ever be marked."""

    def options(selected: str | None) -> Markup:
        html = _options_html(language)
        if selected:
            html = html.replace(
                f'<option value="{selected}">', f'<option value="{selected}" selected>', 1
            )
        return Markup(html)  # noqa: S704 - built from escaped names and fixed codes

    return options


def _render(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    """No session, no cookie, no script: only the page and its stylesheets."""
    response: HTMLResponse = request.app.state.templates.TemplateResponse(
        request, name, context, status_code=status_code
    )
    response.headers.update(_PUBLIC_HEADERS)
    return response


def _error_text(t: dict[str, str], error: ReportInvalid | ReportRateLimited) -> str:
    return t[error.key].format(**error.params)


def _page(
    request: Request,
    settings: Settings,
    language: str,
    *,
    kind: Kind | None,
    country: str | None,
    values: dict[str, str] | None = None,
    error: ReportInvalid | ReportRateLimited | None = None,
    unreadable: urlcheck.Unreadable | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    t = catalogue.texts("report", language)
    return _render(
        request,
        "reports/report.html",
        {
            "t": t,
            "lang": language,
            "languages": catalogue.languages("report"),
            "kind": kind.value if kind else None,
            "kinds": [k.value for k in CHOOSABLE],
            "fields": FIELDS[kind] if kind else (),
            "country": country or "",
            "country_options": _country_options(language),
            "emergency": emergency.for_country(country),
            "values": values or {},
            "error": error,
            "error_field": getattr(error, "field", None),
            "error_text": _error_text(t, error) if error is not None else "",
            "unreadable": t[unreadable.key] if unreadable is not None else "",
            "form_token": intake.form_token(settings),
        },
        status_code=status_code,
    )


def _default_country(request: Request, requested: str | None) -> str | None:
    try:
        return parse_country(requested) or parse_country(
            catalogue.region(request.headers.get("accept-language"))
        )
    except ReportInvalid:
        return None


def _form_text(form: Any, name: str) -> str:
    value = form.get(name)
    return value[:MAX_FORM_FIELD] if isinstance(value, str) else ""


@public_router.get("/report/receipt", response_class=HTMLResponse)
def receipt_page(
    request: Request, settings: SettingsDep, lang: str | None = Query(default=None)
) -> HTMLResponse:
    language = catalogue.choose("report", lang, request.headers.get("accept-language"))
    return _receipt_page(request, settings, language)


def _receipt_page(
    request: Request,
    settings: Settings,
    language: str,
    *,
    values: dict[str, str] | None = None,
    error: ReportInvalid | ReportRateLimited | None = None,
    added: bool = False,
    status_code: int = 200,
) -> HTMLResponse:
    t = catalogue.texts("report", language)
    country = _default_country(request, None)
    return _render(
        request,
        "reports/receipt.html",
        {
            "t": t,
            "lang": language,
            "values": values or {},
            "error": error,
            "error_field": getattr(error, "field", None),
            "error_text": _error_text(t, error) if error is not None else "",
            "added": added,
            "emergency": emergency.for_country(country),
            "form_token": intake.form_token(settings),
        },
        status_code=status_code,
    )


@public_router.post("/report/receipt", response_class=HTMLResponse)
async def add_information(request: Request, settings: SettingsDep) -> HTMLResponse:
    """Rate limited per receipt (additions) and per address (wrong codes)."""
    form = await request.form(**limits.PUBLIC_FORM.form)  # no file part is ever spooled
    language = catalogue.choose("report", _form_text(form, "lang"), None)
    values = {"receipt": _form_text(form, "receipt"), "more": _form_text(form, "more")}
    try:
        intake.check_form_token(settings, _form_text(form, "form_token"))
        await run_in_threadpool(
            _add,
            request.app.state.sessionmaker,
            settings,
            values["receipt"],
            values["more"],
            client_ip(request),
        )
    except (ReportInvalid, ReportRateLimited) as exc:
        return _receipt_page(
            request, settings, language, values=values, error=exc, status_code=exc.http_status
        )
    return _receipt_page(request, settings, language, added=True)


def _add(
    factory: sessionmaker[Session], settings: Settings, code: str, text: str, address: str | None
) -> None:
    """The database part of an addition, in a worker thread with its own transaction (see
    `_store`)."""
    with unit_of_work(factory) as session:
        service.add_to_report(session, settings, code, text, address=address)


@public_router.get("/report", response_class=HTMLResponse)
@public_router.get("/report/{lang}", response_class=HTMLResponse)
async def report_page(
    request: Request,
    settings: SettingsDep,
    lang: str | None = None,
    kind: str = Query(default="", max_length=20),
    country: str = Query(default="", max_length=10),
    url: str = Query(default="", max_length=2000),
) -> HTMLResponse:
    """/report/es and /report?lang=es alike; an unknown language in the path is a 404. No
    database work: served on the event loop. `url` fills in the blocked address of a
    "blocked by mistake" report (the link on /blocked carries it where the provider gave it)."""
    if "lang" in request.path_params and lang not in catalogue.CATALOGUES["report"]:
        raise HTTPException(status_code=404)
    chosen = catalogue.choose("report", lang, request.headers.get("accept-language"))
    chosen_kind = parse_kind(kind)
    return _page(
        request,
        settings,
        chosen,
        kind=chosen_kind,
        country=_default_country(request, country),
        values={"url": url.strip()} if chosen_kind == Kind.BLOCK_MISTAKE and url else None,
    )


@public_router.post("/report", response_class=HTMLResponse)
async def send_report(request: Request, settings: SettingsDep) -> HTMLResponse:
    """Checked, stored and committed before anything else (the urgent lead, the audit entry)."""
    form = await request.form(**limits.PUBLIC_FORM.form)  # no file part is ever spooled
    language = catalogue.choose("report", _form_text(form, "lang"), None)
    kind = parse_kind(_form_text(form, "kind"))
    if kind is None:
        return _page(request, settings, language, kind=None, country=None)
    values = {f.name: _form_text(form, f.name) for f in FIELDS[kind]}
    values["meeting"] = "on" if _form_text(form, "meeting") else ""
    values["adult_country"] = _form_text(form, "adult_country")
    country: str | None = None
    try:
        intake.check_form_token(settings, _form_text(form, "form_token"))
        country = parse_country(_form_text(form, "country"))
        suspect = (
            parse_country(_form_text(form, "adult_country"), field="adult_country")
            if kind == Kind.GROOMING
            else None
        )
        data = ReportCreate(
            kind=kind,
            details=clean(kind, values),
            country=country,
            language=language,
            meeting=bool(values["meeting"]),
            suspect_country=suspect,
        )
        if kind == Kind.URL and settings.report_url_check:
            if not _form_text(form, "insist"):
                unreadable = await _unreadable(request, settings, data.details["url"])
                if unreadable is not None:
                    return _page(
                        request,
                        settings,
                        language,
                        kind=kind,
                        country=country,
                        values=values,
                        unreadable=unreadable,
                    )
            else:
                data.details[urlcheck.SENT_ANYWAY] = (
                    "the form said the address could not be read; the reporter sent it anyway"
                )
        code = await run_in_threadpool(
            _store, request.app.state.sessionmaker, settings, data, client_ip(request)
        )
    except (ReportInvalid, ReportRateLimited) as exc:
        return _page(
            request,
            settings,
            language,
            kind=kind,
            country=country,
            values=values,
            error=exc,
            status_code=exc.http_status,
        )
    worker = getattr(request.app.state, "worker", None)
    if worker is not None:
        worker.wake()
    t = catalogue.texts("report", language)
    return _render(
        request,
        "reports/thanks.html",
        {
            "t": t,
            "lang": language,
            "code": code,
            "danger": kind == Kind.DANGER,
            "emergency": emergency.for_country(country),
        },
    )


async def _unreadable(request: Request, settings: Settings, url: str) -> urlcheck.Unreadable | None:
    """Why the reported address cannot be read, or None; a sender over the report limit is
    refused first (ReportRateLimited), so the form cannot be used to send requests."""
    factory = request.app.state.sessionmaker
    address = client_ip(request)

    def over_limit() -> None:
        with unit_of_work(factory) as session:
            service.refuse_over_limit(session, settings, address)

    await run_in_threadpool(over_limit)
    checker = getattr(request.app.state, "report_url_checker", None)
    if checker is None:
        checker = request.app.state.report_url_checker = urlcheck.make_checker(settings)
    unreadable = await run_in_threadpool(urlcheck.check, checker, url)
    if unreadable is not None:
        _log.info("reported address could not be read: %s", unreadable.key)
    return unreadable


def _store(
    factory: sessionmaker[Session], settings: Settings, data: ReportCreate, address: str | None
) -> str:
    """The database part of a report, in a worker thread with its own transaction: the event
    loop never waits on the database (a request holding the audit chain's lock must be able
    to commit while the next one waits for it), and the transaction ends before the thank-you
    page is rendered. Returns the receipt code."""
    with unit_of_work(factory) as session:
        report, code = service.submit_report(session, settings, data, address=address)
        report_id: uuid.UUID = report.id
        session.commit()  # the report is safe before anything else is tried
        _after(session, settings, report_id)
    return code


def _after(session: Session, settings: Settings, report_id: uuid.UUID) -> None:
    """Follow-up work in a transaction of its own: a failure here must not touch the stored
    report (it stays due for routing, and the worker that routes it also opens its urgent
    lead). No savepoint: the report is already committed, so a failure just rolls back."""
    try:
        service.after_report(session, settings, report_id)
        session.commit()
    except Exception:
        session.rollback()
        _log.exception("after_report failed for %s; the worker will route it", report_id)


# --- the hotline queue ----------------------------------------------------------------------

_CATEGORIES = [(c.code, c.label) for c in SCHEMES["taskforce"].values() if c.illegal]
_VIEW_LABELS = {"new": "New", "assessed": "Assessed", "duplicate": "Duplicates", "all": "All"}


@router.get("/hotline", response_class=HTMLResponse)
def hotline_queue(
    request: Request,
    session: SessionDep,
    web: WebCallerDep,
    view: str = Query(default="new", max_length=20),
) -> HTMLResponse:
    """The agency's reports: new ones urgent first; the read is audited."""
    if view not in queue.QUEUE_VIEWS:
        view = "new"
    rows = queue.queue(session, web.caller, view=view)
    return render(
        request,
        "reports/queue.html",
        {
            "rows": rows,
            "view": view,
            "views": _VIEW_LABELS,
            "tab": "queue",
            "short_id": duplicates.short_id,
            "now": utcnow(),
        },
    )


def _report_page(
    request: Request,
    session: Session,
    web: Any,
    report_id: uuid.UUID,
    *,
    error: Invalid | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    view = queue.report_view(session, web.caller, report_id)
    report = view.report
    return render(
        request,
        "reports/detail.html",
        {
            "v": view,
            "report": report,
            "additions": view.additions,
            "assessments": view.assessments,
            "labels": _labels(Kind(report.kind)),
            "categories": _CATEGORIES,
            "fields": FIELDS[Kind(report.kind)],
            "t": catalogue.texts("report", catalogue.ENGLISH),
            "emergency": emergency.for_country(report.country),
            "error": error,
            "short_id": duplicates.short_id,
            "notice_ref": takedown_reference,
            "agencies": agency_service.list_agencies(session),
            "tab": "queue",
        },
        status_code=status_code,
    )


def _labels(kind: Kind) -> dict[str, str]:
    """The five assessments in words that fit the kind (a grooming chat is no "material")."""
    labels = {a.value: label for a, label in ASSESSMENT_LABELS.items()}
    if kind == Kind.BLOCK_MISTAKE:  # nothing follows these: the entry is changed on its page
        labels[Assessment.ILLEGAL_MATERIAL.value] = "The block is right"
        labels[Assessment.ILLEGAL_ELSEWHERE.value] = "The block is right here, not elsewhere"
        labels[Assessment.NOT_ILLEGAL.value] = "The block is a mistake"
    elif kind != Kind.URL:
        labels[Assessment.ILLEGAL_MATERIAL.value] = "Illegal: an offence against a child"
        labels[Assessment.ILLEGAL_ELSEWHERE.value] = "Illegal elsewhere only"
    return labels


@router.get("/hotline/{report_id}", response_class=HTMLResponse)
def hotline_report(
    request: Request, report_id: uuid.UUID, session: SessionDep, web: WebCallerDep
) -> HTMLResponse:
    return _report_page(request, session, web, report_id)


@router.post("/hotline/{report_id}/assess")
def assess_report(
    request: Request,
    report_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    web: CheckedWebDep,
    assessment: str = Form(default="", max_length=40),
    category: str = Form(default="", max_length=40),
    note: str = Form(default="", max_length=4000),
    duplicate_of: str = Form(default="", max_length=40),
) -> Response:
    """An assessment and what follows from it (block list, notice, selectors) in one step."""
    try:
        try:
            chosen = Assessment(assessment)
        except ValueError:
            raise Invalid("assessment", "choose one of the five assessments") from None
        original = _report_id(duplicate_of) if chosen == Assessment.DUPLICATE else None
        with session.begin_nested():
            report_assessment.assess(
                session,
                web.caller,
                report_id,
                AssessmentCreate(
                    assessment=chosen, category=category, note=note, duplicate_of=original
                ),
                settings,
            )
    except (Invalid, Conflict) as exc:
        error = exc if isinstance(exc, Invalid) else Invalid("assessment", exc.message)
        return _report_page(request, session, web, report_id, error=error, status_code=422)
    return RedirectResponse(f"/ui/hotline/{report_id}", status_code=303)


def _report_id(text: str) -> uuid.UUID | None:
    """A report named by its full id or the eight-digit short id shown on pages."""
    text = text.strip()
    if not text:
        return None
    try:
        return uuid.UUID(text)
    except ValueError:
        raise Invalid("duplicate_of", "give the report's id as shown on its page") from None


@router.post("/hotline/{report_id}/reroute")
def reroute_report(
    request: Request,
    report_id: uuid.UUID,
    session: SessionDep,
    web: CheckedWebDep,
    agency: str = Form(default="", max_length=40),
    reason: str = Form(default="", max_length=1000),
) -> Response:
    """Send the report to another member, with the reason recorded as a routing step."""
    try:
        with session.begin_nested():
            service.reroute(session, web.caller, report_id, agency_code=agency, reason=reason)
    except Invalid as exc:
        return _report_page(request, session, web, report_id, error=exc, status_code=422)
    except NotFound:
        error = Invalid("agency", "choose a member agency")
        return _report_page(request, session, web, report_id, error=error, status_code=422)
    return RedirectResponse("/ui/hotline", status_code=303)
