"""The public "trace an object" page of a published clue notice: its clues and sanitised
images, in the visitor's language (`web.catalogue`), and tips from the public under a throttle.
No login, no cookie.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import Field, ValidationError
from sqlalchemy.orm import Session

from taskforce.core.errors import Conflict, Invalid, NotFound, RateLimited, TaskforceError
from taskforce.core.http import SessionDep, SettingsDep, client_ip
from taskforce.notices import publishing, regions
from taskforce.notices.schemas import (
    TipCreate,
)
from taskforce.web import catalogue, public_errors
from taskforce.web.forms import PageForm, attempt, field_error

public_router = APIRouter(include_in_schema=False)


# --- the public page ------------------------------------------------------------------------

_PUBLIC_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'none'; img-src 'self'; style-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}


def _public_render(
    request: Request, name: str, lang: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    """No session, no cookie, no script: only the page and its stylesheet, in the visitor's
    language (the public pages' one rule, `web.catalogue.choose`)."""
    context = {
        "t": catalogue.texts("trace", lang),
        "lang": lang,
        "languages": catalogue.languages("trace"),
        **context,
    }
    response: HTMLResponse = request.app.state.templates.TemplateResponse(
        request, name, context, status_code=status_code
    )
    response.headers.update(_PUBLIC_HEADERS)
    response.headers["Content-Language"] = lang
    return response


def _gone(request: Request, lang: str) -> HTMLResponse:
    return _public_render(request, "notices/public_gone.html", lang, {}, status_code=404)


def _public_page(
    request: Request,
    session: Session,
    token: str,
    lang: str,
    *,
    values: dict[str, str] | None = None,
    error: TaskforceError | None = None,
    thanks: bool = False,
) -> HTMLResponse:
    try:
        page = publishing.public_notice(session, token)
    except NotFound:
        return _gone(request, lang)
    status_code = 200
    if error is not None:
        status_code = error.http_status
    return _public_render(
        request,
        "notices/public.html",
        lang,
        {
            "page": page,
            "token": token,
            "values": values or {},
            "error": error,
            "thanks": thanks,
            "countries": regions.country_choices(),
        },
        status_code=status_code,
    )


@public_router.get("/trace/{token}", response_class=HTMLResponse)
def trace_page(
    request: Request,
    token: str,
    session: SessionDep,
    thanks: str = Query(default=""),
    lang: str = Query(default="", max_length=16),
) -> HTMLResponse:
    chosen = catalogue.choose("trace", lang, request.headers.get("accept-language"))
    return _public_page(request, session, token, chosen, thanks=thanks == "1")


class TipForm(PageForm):
    """The public tip form (no CSRF token on purpose: anyone may send a tip)."""

    seen_where: str = Field(default="", max_length=2000)
    country: str = Field(default="", max_length=60)
    message: str = Field(default="", max_length=8000)
    contact: str = Field(default="", max_length=1000)
    image_id: str = Field(default="", max_length=40)
    lang: str = Field(default="", max_length=16)


@public_router.post("/trace/{token}", response_class=HTMLResponse)
def send_tip(
    request: Request,
    token: str,
    session: SessionDep,
    settings: SettingsDep,
    form: Annotated[TipForm, Form()],
) -> Response:
    """CSRF-free on purpose (anyone may send a tip); rate limits stop floods."""
    lang = catalogue.choose("trace", form.lang, request.headers.get("accept-language"))
    values = form.model_dump(exclude={"lang"})
    try:
        try:
            chosen = uuid.UUID(form.image_id) if form.image_id.strip() else None
        except ValueError:
            raise Invalid("image_id", "must be one of the objects shown on the page") from None
        data = TipCreate(
            seen_where=form.seen_where.strip()[:500],
            country=form.country.strip() or None,
            message=form.message.strip(),
            contact=form.contact.strip() or None,
            image_id=chosen,
        )
        attempt(
            session,
            lambda: publishing.submit_tip(
                session, settings, token, data, address=client_ip(request)
            ),
        )
    except NotFound:
        return _gone(request, lang)
    except ValidationError as exc:
        error = field_error(exc)
        return _public_page(request, session, token, lang, values=values, error=error)
    except (Invalid, Conflict, RateLimited) as exc:
        return _public_page(request, session, token, lang, values=values, error=exc)
    thanks = f"/trace/{token}?thanks=1" + ("" if lang == catalogue.ENGLISH else f"&lang={lang}")
    return RedirectResponse(thanks, status_code=303)


@public_router.get("/trace/{token}/images/{image_id}")
def trace_image(request: Request, token: str, image_id: str, session: SessionDep) -> Response:
    try:
        image = publishing.public_image(session, token, uuid.UUID(image_id))
    except (ValueError, NotFound):
        return public_errors.page(request, 404)  # as every public address: in their language
    return Response(
        image.content,
        media_type=image.media_type,
        headers={**_PUBLIC_HEADERS, "Content-Disposition": "inline"},
    )
