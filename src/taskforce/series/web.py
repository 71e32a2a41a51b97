"""Series pages: the series an agency may see, one series with its victims and their
identification, and the identification statistics with server-rendered charts. Hashes and
counts only: no file is ever shown."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import Field, ValidationError

from taskforce.agencies import service as agency_service
from taskforce.cases.schemas import LineError
from taskforce.core import sharing
from taskforce.core.caller import Permission
from taskforce.core.db import utcnow
from taskforce.core.errors import Conflict, Invalid
from taskforce.core.http import SessionDep
from taskforce.core.sharing import SharingLevel
from taskforce.series import proposals, schemas, service
from taskforce.series.models import AgeBand
from taskforce.series.schemas import (
    MediaAdd,
    MediaAdded,
    SeriesCreate,
    VictimCreate,
    VictimIdentify,
)
from taskforce.web.forms import CheckedWebDep, PageForm, SharingForm, attempt, field_error
from taskforce.web.session import WebCaller, WebCallerDep, render

router = APIRouter(prefix="/ui", include_in_schema=False)
T = TypeVar("T")


# --- the list ---------------------------------------------------------------------------------


def _list_page(
    request: Request, session: SessionDep, web: WebCaller, *, error: Exception | None = None
) -> HTMLResponse:
    agencies = [a for a in agency_service.list_agencies(session) if a.id != web.caller.agency_id]
    return render(
        request,
        "series/list.html",
        {
            "series": service.list_series(session, web.caller),
            "mine": web.caller.agency_code,
            "can_manage": web.caller.can(Permission.MANAGE_SERIES),
            "agencies": agencies,
            "error": error,
        },
        status_code=422 if error else 200,
    )


@router.get("/series", response_class=HTMLResponse)
def series_list(request: Request, session: SessionDep, web: WebCallerDep) -> HTMLResponse:
    return _list_page(request, session, web)


class SeriesForm(SharingForm):
    name: str = Field(default="", max_length=1000)
    description: str = Field(default="", max_length=20_000)
    first_seen: str = Field(default="", max_length=40)
    status_public: str = Field(default="", max_length=8)


@router.post("/series/new", response_class=HTMLResponse)
def create(
    request: Request,
    session: SessionDep,
    web: CheckedWebDep,
    form: Annotated[SeriesForm, Form()],
) -> Response:
    try:
        data = SeriesCreate(
            name=form.name.strip(),
            description=form.description,
            sharing=form.level,
            partners=form.amber_partners,
            first_seen_at=_date(form.first_seen, "first_seen"),
            status_public=bool(form.status_public),
        )
        created = attempt(session, lambda: service.create_series(session, web.caller, data))
    except ValidationError as exc:
        return _list_page(request, session, web, error=field_error(exc))
    except (Invalid, Conflict) as exc:
        return _list_page(request, session, web, error=exc)
    return RedirectResponse(f"/ui/series/{created.id}", status_code=303)


def _date(raw: str, field: str) -> datetime | None:
    if not raw.strip():
        return None
    try:
        return datetime.fromisoformat(raw.strip() + ("T00:00:00+00:00" if len(raw) == 10 else ""))
    except ValueError:
        raise Invalid(field, "must be a date, YYYY-MM-DD") from None


# --- one series -------------------------------------------------------------------------------


def _series_page(
    request: Request,
    session: SessionDep,
    web: WebCaller,
    series_id: uuid.UUID,
    *,
    error: Exception | None = None,
    added: Any = None,
    rejected: list[LineError] | None = None,
    hashes_left: str | None = None,
) -> HTMLResponse:
    """The series; after "Add files", what was added and each line refused (a 422: the form
    was partly refused, and its box holds the refused lines to mend)."""
    read = service.read_series(session, web.caller, series_id)
    return render(
        request,
        "series/detail.html",
        {
            "s": read,
            "mine": read.agency == web.caller.agency_code,
            "can_manage": web.caller.can(Permission.MANAGE_SERIES),
            "age_bands": AgeBand.BANDS,
            "sexes": service.SEXES,
            "error": error,
            "added": added,
            "rejected": rejected or [],
            "hashes_left": hashes_left,
            "today": utcnow().date().isoformat(),
        },
        status_code=422 if error or rejected else 200,
    )


@router.get("/series/{series_id}", response_class=HTMLResponse)
def series_page(
    request: Request,
    series_id: uuid.UUID,
    session: SessionDep,
    web: WebCallerDep,
    added: int | None = None,
    present: int = 0,
) -> HTMLResponse:
    """`added` and `present`: the counts of the "Add files" that redirected here."""
    done = None if added is None else MediaAdded(added=added, already_present=present)
    return _series_page(request, session, web, series_id, added=done)


class VictimForm(PageForm):
    label: str = Field(default="", max_length=1000)
    age_band: str = Field(default="unknown", max_length=16)
    sex: str = Field(default="unknown", max_length=16)
    notes: str = Field(default="", max_length=10_000)


@router.post("/series/{series_id}/victims", response_class=HTMLResponse)
def add_victim(
    request: Request,
    series_id: uuid.UUID,
    session: SessionDep,
    web: CheckedWebDep,
    form: Annotated[VictimForm, Form()],
) -> Response:
    try:
        data = VictimCreate(
            label=form.label.strip(), age_band=form.age_band, sex=form.sex, notes=form.notes
        )
        attempt(session, lambda: service.add_victim(session, web.caller, series_id, data))
    except ValidationError as exc:
        return _series_page(request, session, web, series_id, error=field_error(exc))
    except (Invalid, Conflict) as exc:
        return _series_page(request, session, web, series_id, error=exc)
    return RedirectResponse(f"/ui/series/{series_id}#victims", status_code=303)


class IdentifyForm(PageForm):
    status: str = Field(default="identified", max_length=16)
    country: str = Field(default="", max_length=8)
    agency: str = Field(default="", max_length=64)
    identified_on: str = Field(default="", max_length=40)


@router.post("/victims/{victim_id}/identify", response_class=HTMLResponse)
def identify(
    request: Request,
    victim_id: uuid.UUID,
    session: SessionDep,
    web: CheckedWebDep,
    form: Annotated[IdentifyForm, Form()],
) -> Response:
    victim = service.get_victim(session, web.caller, victim_id)
    try:
        data = VictimIdentify(
            status=form.status,
            country=form.country.strip() or "??",
            agency=form.agency.strip() or None,
            identified_at=_date(form.identified_on, "identified_on"),
        )
        attempt(session, lambda: service.identify_victim(session, web.caller, victim_id, data))
    except ValidationError as exc:
        return _series_page(request, session, web, victim.series_id, error=field_error(exc))
    except (Invalid, Conflict) as exc:
        return _series_page(request, session, web, victim.series_id, error=exc)
    return RedirectResponse(f"/ui/series/{victim.series_id}#victims", status_code=303)


@router.post("/series/{series_id}/media", response_class=HTMLResponse)
def add_media(
    request: Request,
    series_id: uuid.UUID,
    session: SessionDep,
    web: CheckedWebDep,
    hashes: str = Form(default="", max_length=5_000_000),
    hash_set: str = Form(default="", max_length=200),
    hash_set_series: str = Form(default="", max_length=200),
) -> Response:
    """Good lines are added and bad ones listed by number, left in the box to be mended; with
    nothing refused, the page is reached again by a redirect (reloading adds nothing twice)."""
    media, rejected = service.listed_media(hashes)
    try:
        if rejected and not media and not hash_set.strip():
            raise Invalid("hashes", "no line is an MD5, SHA-1 or SHA-256: nothing was added")
        data = MediaAdd(
            media=media,
            hash_set=hash_set.strip() or None,
            hash_set_series=hash_set_series.strip() or None,
            source="added on the series page",
        )
        added = attempt(session, lambda: service.add_media(session, web.caller, series_id, data))
    except ValidationError as exc:
        return _series_page(request, session, web, series_id, error=field_error(exc))
    except (Invalid, Conflict) as exc:
        return _series_page(request, session, web, series_id, error=exc, rejected=rejected)
    if rejected:
        left = "\n".join(bad.value for bad in rejected)
        return _series_page(
            request, session, web, series_id, added=added, rejected=rejected, hashes_left=left
        )
    return RedirectResponse(
        f"/ui/series/{series_id}?added={added.added}&present={added.already_present}#media",
        status_code=303,
    )


# --- statistics -------------------------------------------------------------------------------


def _bars(
    rows: list[dict[str, Any]], key: str, width: int = 640, height: int = 180
) -> dict[str, Any]:
    """Geometry of a vertical bar chart (SVG drawn by the template): no script, no CDN."""
    top = max((r["identified"] for r in rows), default=0) or 1
    step = width / max(len(rows), 1)
    bars = [
        {
            "x": round(i * step + step * 0.15, 1),
            "w": round(step * 0.7, 1),
            "h": round(r["identified"] / top * (height - 30), 1),
            "label": r[key],
            "n": r["identified"],
        }
        for i, r in enumerate(rows)
    ]
    for b in bars:
        b["y"] = round(height - 20 - b["h"], 1)
    return {"bars": bars, "width": width, "height": height, "top": top}


def _histogram(days: list[float]) -> list[dict[str, Any]]:
    edges = [
        (0, 30, "< 1 month"),
        (30, 90, "1–3 months"),
        (90, 365, "3–12 months"),
        (365, 365 * 3, "1–3 years"),
        (365 * 3, float("inf"), "3 years or more"),
    ]
    return [
        {"range": label, "identified": sum(1 for d in days if lo <= d < hi)}
        for lo, hi, label in edges
    ]


@router.get("/statistics/identification", response_class=HTMLResponse)
def statistics(request: Request, session: SessionDep, web: WebCallerDep) -> HTMLResponse:
    stats = service.statistics(session, web.caller)
    days = stats["days_to_identification"]["values"]
    return render(
        request,
        "series/statistics.html",
        {
            "stats": stats,
            "months": _bars(stats["by_month"], "month"),
            "countries": stats["by_country"],
            "country_top": max((c["identified"] for c in stats["by_country"]), default=1),
            "durations": _bars(_histogram(days), "range"),
        },
    )


@router.get("/statistics/identification.{fmt}")
def statistics_download(fmt: str, session: SessionDep, web: WebCallerDep) -> Response:
    if fmt not in ("csv", "json"):
        return Response(status_code=404)
    stats = service.statistics(session, web.caller)
    if fmt == "csv":
        body, media_type = service.statistics_csv(stats), "text/csv"
    else:
        body, media_type = json.dumps(stats, indent=2), "application/json"
    disposition = f'attachment; filename="identification-statistics.{fmt}"'
    return Response(body, media_type=media_type, headers={"Content-Disposition": disposition})


# --- candidate series of a case (series/proposals.py) ------------------------------------------


def _proposals_page(
    request: Request,
    session: SessionDep,
    web: WebCaller,
    case_id: uuid.UUID,
    *,
    error: Exception | None = None,
    ran: dict[str, int] | None = None,
) -> HTMLResponse:
    case, found = proposals.list_proposals(session, web.caller, case_id)
    return render(
        request,
        "series/proposals.html",
        {
            "case": case,
            "proposals": found,
            "open": [p for p in found if p.status == schemas.ProposalStatus.PROPOSED],
            "decided": [p for p in found if p.status != schemas.ProposalStatus.PROPOSED],
            "can_decide": sharing.is_owner(case, web.caller)
            and web.caller.can(Permission.MANAGE_SERIES),
            "error": error,
            "ran": ran,
            "shown_members": 50,
        },
        status_code=422 if error else 200,
    )


_RUN_COUNTS = ("images", "excluded", "created", "kept", "removed")


@router.get("/cases/{case_id}/proposals", response_class=HTMLResponse)
def proposals_page(
    request: Request, case_id: uuid.UUID, session: SessionDep, web: WebCallerDep
) -> HTMLResponse:
    """After a run (its redirect): the run's counts, from the query."""
    counts = {k: request.query_params.get(k, "") for k in _RUN_COUNTS}
    ran = (
        {k: int(v) for k, v in counts.items()}
        if all(v.isdigit() for v in counts.values())
        else None
    )
    return _proposals_page(request, session, web, case_id, ran=ran)


@router.post("/cases/{case_id}/proposals", response_class=HTMLResponse)
def run_proposals(
    request: Request,
    case_id: uuid.UUID,
    session: SessionDep,
    web: CheckedWebDep,
) -> Response:
    ran = proposals.propose_for_case(session, web.caller, case_id)
    counts = urlencode({k: getattr(ran, k) for k in _RUN_COUNTS})
    return RedirectResponse(f"/ui/cases/{case_id}/proposals?{counts}", status_code=303)


def _decide(
    request: Request,
    session: SessionDep,
    web: WebCaller,
    proposal_id: uuid.UUID,
    decide: Callable[[], T],
    then: Callable[[T], str] | None = None,
) -> Response:
    """Run a decision and go on to `then(result)` (default: the case's proposals); a refused
    one shows the case's proposals with the reason."""
    case_id = proposals.case_of(session, web.caller, proposal_id)
    try:
        result = attempt(session, decide)
    except ValidationError as exc:
        return _proposals_page(request, session, web, case_id, error=field_error(exc))
    except (Invalid, Conflict) as exc:
        return _proposals_page(request, session, web, case_id, error=exc)
    target = then(result) if then else f"/ui/cases/{case_id}/proposals"
    return RedirectResponse(target, status_code=303)


@router.post("/series-proposals/{proposal_id}/accept", response_class=HTMLResponse)
def accept_proposal(
    request: Request,
    proposal_id: uuid.UUID,
    session: SessionDep,
    web: CheckedWebDep,
    name: str = Form(default="", max_length=1000),
    sharing: str = Form(default="red", max_length=16),
) -> Response:
    """Accept into a new series, named here; it opens on the new series' page."""
    level = SharingLevel.GREEN if sharing == "green" else SharingLevel.RED

    def decide() -> schemas.ProposalRead:
        data = schemas.ProposalAccept(name=name.strip() or None, sharing=level)
        return proposals.accept(session, web.caller, proposal_id, data)

    return _decide(
        request, session, web, proposal_id, decide, lambda done: f"/ui/series/{done.series_id}"
    )


@router.post("/series-proposals/{proposal_id}/split", response_class=HTMLResponse)
def split_proposal(
    request: Request,
    proposal_id: uuid.UUID,
    session: SessionDep,
    web: CheckedWebDep,
    members: list[int] = Form(default_factory=list),
) -> Response:
    return _decide(
        request,
        session,
        web,
        proposal_id,
        lambda: proposals.split(
            session, web.caller, proposal_id, schemas.ProposalSplit(members=members)
        ),
    )


@router.post("/series-proposals/{proposal_id}/reject", response_class=HTMLResponse)
def reject_proposal(
    request: Request,
    proposal_id: uuid.UUID,
    session: SessionDep,
    web: CheckedWebDep,
    reason: str = Form(default="", max_length=500),
) -> Response:
    return _decide(
        request,
        session,
        web,
        proposal_id,
        lambda: proposals.reject(
            session, web.caller, proposal_id, schemas.ProposalReject(reason=reason)
        ),
    )
