"""Clue notice pages: the notices list and inbox, writing a notice, the notice page (clues,
images, answers, ranking, timeline, publishing, closing), and the public "trace an object"
page at /trace/{token}, which needs no login, sets no cookie and works without JavaScript.

Bad input re-renders the form with the message (422); who may do what is the service's call.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile as ReceivedFile

from taskforce.agencies import service as agency_service
from taskforce.core.caller import Permission
from taskforce.core.errors import Conflict, Invalid
from taskforce.core.http import SessionDep, SettingsDep
from taskforce.core.settings import Settings
from taskforce.notices import images, publishing, reading, regions, service
from taskforce.notices.schemas import (
    ATTESTATION,
    CLUE_LABELS,
    AnswerCreate,
    ClueCreate,
    ClueKind,
    Confidence,
    NoticeClose,
    NoticeCreate,
    NoticeStatus,
    Outcome,
    PublishImage,
    PublishRequest,
)
from taskforce.series import service as series_service
from taskforce.web.forms import CheckedWebDep, field_error
from taskforce.web.session import WebCaller, WebCallerDep, render

router = APIRouter(prefix="/ui", include_in_schema=False)

FORM_ROWS = 3  # clue rows on the new-notice form; more can be added on the notice page
KINDS = [(k.value, CLUE_LABELS[k]) for k in ClueKind]
CONFIDENCES = [c.value for c in Confidence]


def _go(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _upload(file: UploadFile | str | None) -> bytes | None:
    """The bytes of a chosen file; None when the file input was left empty (browsers send an
    empty part, which arrives as "")."""
    if not isinstance(file, ReceivedFile) or not file.filename:
        return None
    data = file.file.read(images.MAX_IMAGE_BYTES + 1)
    if len(data) > images.MAX_IMAGE_BYTES:
        raise Invalid("image", f"must be at most {images.MAX_IMAGE_BYTES // (1024 * 1024)} MB")
    return data


# --- list and inbox -------------------------------------------------------------------------


@router.get("/notices", response_class=HTMLResponse)
def notices_page(
    request: Request,
    session: SessionDep,
    web: WebCallerDep,
    scope: str = Query(default="all", pattern="^(all|mine|received)$"),
    series: uuid.UUID | None = Query(default=None),
) -> HTMLResponse:
    """All notices reaching the agency, or (from a series page) those of one series."""
    series_name = None
    if series is not None:
        series_name = series_service.get_visible(session, web.caller, series).name
        notices = reading.notices_for_series(session, web.caller, series)
    else:
        notices = reading.list_notices(session, web.caller, scope=scope)
    inbox = reading.inbox(session, web.caller, limit=20)
    response = render(
        request,
        "notices/list.html",
        {
            "notices": notices,
            "inbox": inbox,
            "scope": scope,
            "series_id": series,
            "series_name": series_name,
            "can_write": web.caller.can(Permission.MANAGE_SERIES),
        },
    )
    reading.mark_inbox_read(session, web.caller)  # shown once as new, then as read
    return response


# --- writing a notice -----------------------------------------------------------------------


def _own_series(session: Session, web: WebCaller) -> list[Any]:
    return [
        s
        for s in series_service.list_series(session, web.caller)
        if s.agency == web.caller.agency_code
    ]


def _region_reach(session: Session, web: WebCaller) -> list[dict[str, Any]]:
    """Regions with their sub-regions and how many other member agencies each reaches."""
    member_countries = [
        a.country for a in agency_service.list_agencies(session) if a.id != web.caller.agency_id
    ]
    catalogue = publishing.region_catalogue()

    def reach(region: regions.Region) -> int:
        return sum(1 for c in member_countries if c in region.countries)

    return [
        {
            "name": top.name,
            "reach": reach(top),
            "subs": [
                {"name": sub.name, "reach": reach(sub)}
                for sub in catalogue
                if sub.parent == top.name
            ],
        }
        for top in catalogue
        if top.parent is None
    ]


def _form(
    request: Request,
    session: Session,
    web: WebCaller,
    *,
    values: dict[str, Any],
    error: Invalid | None = None,
) -> HTMLResponse:
    return render(
        request,
        "notices/form.html",
        {
            "values": values,
            "error": error,
            "series_list": _own_series(session, web),
            "regions": _region_reach(session, web),
            "kinds": KINDS,
            "rows": FORM_ROWS,
            "attestation": ATTESTATION,
            "members": len(agency_service.list_agencies(session)) - 1,
        },
        status_code=422 if error else 200,
    )


@router.get("/notices/new", response_class=HTMLResponse)
def new_notice_form(
    request: Request,
    session: SessionDep,
    web: WebCallerDep,
    series: str = Query(default="", max_length=40),
) -> HTMLResponse:
    values: dict[str, Any] = {
        "series_id": series,
        "title": "",
        "request": "",
        "targets": [],
        "countries": "",
        "kind": [""] * FORM_ROWS,
        "description": [""] * FORM_ROWS,
    }
    return _form(request, session, web, values=values)


def _pad(items: list[str], n: int) -> list[str]:
    return (items + [""] * n)[:n]


@router.post("/notices/new", response_class=HTMLResponse)
def create_notice(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    web: CheckedWebDep,
    series_id: str = Form(default="", max_length=40),
    title: str = Form(default="", max_length=1000),
    request_text: str = Form(default="", alias="request", max_length=20_000),
    targets: list[str] = Form(default_factory=list),
    countries: str = Form(default="", max_length=1000),
    kind: list[str] = Form(default_factory=list),
    description: list[str] = Form(default_factory=list),
    image: list[UploadFile | str] = File(default_factory=list),
    attest: list[str] = Form(default_factory=list),
) -> Response:
    rows = max(len(kind), len(description), len(image), FORM_ROWS)
    kinds, texts = _pad(kind, rows), _pad(description, rows)
    values: dict[str, Any] = {
        "series_id": series_id,
        "title": title,
        "request": request_text,
        "targets": targets,
        "countries": countries,
        "kind": kinds,
        "description": texts,
        "had_images": any(isinstance(f, ReceivedFile) and f.filename for f in image),
    }
    try:
        try:
            series_uuid = uuid.UUID(series_id.strip())
        except ValueError:
            raise Invalid("series_id", "choose one of your agency's series") from None
        clues: list[ClueCreate] = []
        uploads: list[tuple[int, bytes]] = []
        for i in range(rows):
            data = _upload(image[i] if i < len(image) else None)
            if not texts[i].strip() and data is None:
                continue
            try:
                clues.append(ClueCreate(kind=kinds[i] or "other", description=texts[i].strip()))
            except ValidationError as exc:
                raise field_error(exc, f"clue {i + 1} ") from None
            if data is not None:
                if str(i) not in attest:
                    raise Invalid(
                        f"clue {i + 1} attest",
                        "tick the attestation: the image shows no child and no abuse",
                    )
                uploads.append((len(clues) - 1, data))
        if not clues:
            raise Invalid("clues", "describe at least one clue")
        chosen = [*targets, *(c for c in countries.replace(";", ",").split(",") if c.strip())]
        data_in = NoticeCreate(
            series_id=series_uuid,
            title=title.strip(),
            request=request_text.strip(),
            targets=chosen,
            clues=clues,
        )
        with session.begin_nested():
            notice = service.create_notice(session, web.caller, settings, data_in)
            made = reading.describe(session, web.caller, settings, notice).clues
            for index, raw in uploads:
                try:
                    service.add_image(
                        session, web.caller, notice.id, made[index].id, raw, attested=True
                    )
                except Invalid as exc:
                    raise Invalid(f"clue {index + 1} {exc.field}", exc.rule) from None
    except ValidationError as exc:
        return _form(request, session, web, values=values, error=field_error(exc))
    except (Invalid, Conflict) as exc:
        error = exc if isinstance(exc, Invalid) else Invalid("form", exc.message)
        return _form(request, session, web, values=values, error=error)
    return _go(f"/ui/notices/{notice.id}")


# --- the notice page ------------------------------------------------------------------------


def _page(
    request: Request,
    session: Session,
    settings: Settings,
    web: WebCaller,
    notice_id: uuid.UUID,
    *,
    error: Invalid | None = None,
    error_at: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    notice = reading.describe(
        session, web.caller, settings, reading.get_notice(session, web.caller, notice_id)
    )
    agencies = agency_service.list_agencies(session)
    return render(
        request,
        "notices/detail.html",
        {
            "n": notice,
            "error": error,
            "error_at": error_at,
            "kinds": KINDS,
            "confidences": CONFIDENCES,
            "attestation": ATTESTATION,
            "countries": regions.country_choices(),
            "agencies": agencies,
            "candidates": notice.ranking[:5],
            "country_name": regions.country_name,
            "open": notice.status == NoticeStatus.OPEN,
        },
        status_code=status_code,
    )


@router.get("/notices/{notice_id}", response_class=HTMLResponse)
def notice_page(
    request: Request,
    notice_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    web: WebCallerDep,
) -> HTMLResponse:
    return _page(request, session, settings, web, notice_id)


def _refused(
    request: Request,
    session: Session,
    settings: Settings,
    web: WebCaller,
    notice_id: uuid.UUID,
    exc: Invalid | Conflict | ValidationError,
    at: str,
) -> HTMLResponse:
    if isinstance(exc, ValidationError):
        error = field_error(exc)
    elif isinstance(exc, Conflict):
        error = Invalid("notice", exc.message)
    else:
        error = exc
    return _page(
        request, session, settings, web, notice_id, error=error, error_at=at, status_code=422
    )


@router.get("/notices/{notice_id}/images/{image_id}")
def notice_image(
    notice_id: uuid.UUID, image_id: uuid.UUID, session: SessionDep, web: WebCallerDep
) -> Response:
    image = reading.read_image(session, web.caller, notice_id, image_id)
    return Response(
        image.content,
        media_type=image.media_type,
        headers={"Cache-Control": "no-store", "Content-Disposition": "inline"},
    )


@router.post("/notices/{notice_id}/clues", response_class=HTMLResponse)
def add_clue(
    request: Request,
    notice_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    web: CheckedWebDep,
    kind: str = Form(default="other", max_length=40),
    description: str = Form(default="", max_length=20_000),
    image: UploadFile | str | None = File(default=None),
    attest: str = Form(default="", max_length=10),
) -> Response:
    try:
        raw = _upload(image)
        data = ClueCreate(kind=kind if kind in dict(KINDS) else "other", description=description)
        with session.begin_nested():
            clue = service.add_clue(session, web.caller, notice_id, data)
            if raw is not None:
                service.add_image(
                    session, web.caller, notice_id, clue.id, raw, attested=bool(attest)
                )
    except (Invalid, Conflict, ValidationError) as exc:
        return _refused(request, session, settings, web, notice_id, exc, "new-clue")
    return _go(f"/ui/notices/{notice_id}#clue-{clue.number}")


@router.post("/notices/{notice_id}/clues/{clue_id}/images", response_class=HTMLResponse)
def add_image(
    request: Request,
    notice_id: uuid.UUID,
    clue_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    web: CheckedWebDep,
    image: UploadFile | str | None = File(default=None),
    attest: str = Form(default="", max_length=10),
) -> Response:
    try:
        raw = _upload(image)
        if raw is None:
            raise Invalid("image", "choose a picture")
        with session.begin_nested():
            service.add_image(session, web.caller, notice_id, clue_id, raw, attested=bool(attest))
    except (Invalid, Conflict) as exc:
        return _refused(request, session, settings, web, notice_id, exc, str(clue_id))
    return _go(f"/ui/notices/{notice_id}")


@router.post("/notices/{notice_id}/clues/{clue_id}/answers", response_class=HTMLResponse)
def answer_clue(
    request: Request,
    notice_id: uuid.UUID,
    clue_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    web: CheckedWebDep,
    countries: str = Form(default="", max_length=1000),
    confidence: str = Form(default="medium", max_length=10),
    note: str = Form(default="", max_length=20_000),
) -> Response:
    named = [c for c in countries.replace(";", ",").split(",") if c.strip()]
    try:
        if not named:
            raise Invalid("countries", "name at least one country, e.g. ZA or South Africa")
        data = AnswerCreate(countries=named, confidence=confidence, note=note)
        with session.begin_nested():
            service.answer_clue(session, web.caller, settings, notice_id, clue_id, data)
    except (Invalid, Conflict, ValidationError) as exc:
        return _refused(request, session, settings, web, notice_id, exc, str(clue_id))
    return _go(f"/ui/notices/{notice_id}#ranking")


@router.post("/notices/{notice_id}/publish", response_class=HTMLResponse)
def publish(
    request: Request,
    notice_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    web: CheckedWebDep,
    image: list[str] = Form(default_factory=list),
    caption: list[str] = Form(default_factory=list),
    publish: list[str] = Form(default_factory=list),
) -> Response:
    """`image` and `caption` are aligned (every image of the notice); `publish` ticks some."""
    captions = dict(zip(image, _pad(caption, len(image)), strict=True))
    try:
        items = []
        for raw_id in publish[:50]:
            try:
                image_id = uuid.UUID(raw_id)
            except ValueError:
                raise Invalid("images", "each must be an image of this notice") from None
            text = captions.get(raw_id, "").strip()
            if len(text) < 3:
                raise Invalid("caption", "write a caption of at least 3 characters for the public")
            items.append(PublishImage(id=image_id, caption=text[:500]))
        if not items:
            raise Invalid("images", "tick at least one image to publish")
        with session.begin_nested():
            publishing.publish(session, web.caller, notice_id, PublishRequest(images=items))
    except (Invalid, Conflict, ValidationError) as exc:
        return _refused(request, session, settings, web, notice_id, exc, "publish")
    return _go(f"/ui/notices/{notice_id}#public")


@router.post("/notices/{notice_id}/unpublish")
def unpublish(
    request: Request,
    notice_id: uuid.UUID,
    session: SessionDep,
    web: CheckedWebDep,
) -> Response:
    publishing.unpublish(session, web.caller, notice_id)
    return _go(f"/ui/notices/{notice_id}#public")


@router.post("/notices/{notice_id}/close", response_class=HTMLResponse)
def close_notice(
    request: Request,
    notice_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    web: CheckedWebDep,
    outcome: str = Form(default="", max_length=20),
    victim_id: str = Form(default="", max_length=40),
    country: str = Form(default="", max_length=60),
    victim_status: str = Form(default="identified", max_length=20),
    identified_by: str = Form(default="", max_length=40),
    note: str = Form(default="", max_length=20_000),
) -> Response:
    try:
        if outcome not in {o.value for o in Outcome}:
            raise Invalid("outcome", "choose: child identified, or withdrawn")
        try:
            victim = uuid.UUID(victim_id) if victim_id.strip() else None
        except ValueError:
            raise Invalid("victim_id", "choose a victim of the series") from None
        data = NoticeClose(
            outcome=Outcome(outcome),
            victim_id=victim,
            country=country.strip() or None,
            victim_status=victim_status if victim_status == "safeguarded" else "identified",
            identified_by=identified_by.strip() or None,
            note=note,
        )
        with session.begin_nested():
            publishing.close_notice(session, web.caller, settings, notice_id, data)
    except (Invalid, Conflict, ValidationError) as exc:
        return _refused(request, session, settings, web, notice_id, exc, "close")
    return _go(f"/ui/notices/{notice_id}")
