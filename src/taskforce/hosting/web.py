"""Hosting pages: the provider directory (a provider without an abuse contact is a problem to
fix: no takedown notice can go to it), one provider with its networks, the network-table
import, and "where is this address hosted" with the steps that decide it."""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import urlencode

import pycountry
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import Field, ValidationError
from starlette.concurrency import run_in_threadpool

from taskforce.core import spool, uploads
from taskforce.core.caller import Permission
from taskforce.core.errors import Conflict, Invalid
from taskforce.core.http import SessionDep, SettingsDep
from taskforce.core.proposals.models import ChangeProposal
from taskforce.hosting import addresses, networks, service
from taskforce.hosting.schemas import ImportReport, ProviderCreate, ProviderUpdate
from taskforce.web.forms import CheckedWebDep, PageForm, attempt, check_csrf, field_error
from taskforce.web.session import WebCaller, WebCallerDep, render

router = APIRouter(prefix="/ui/hosting", include_in_schema=False)
PAGE_SIZE = 50


def country_name(code: str | None) -> str:
    if not code:
        return ""
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        return code
    return str(getattr(country, "common_name", None) or country.name)


def _base(web: WebCaller) -> dict[str, Any]:
    return {
        "tab": "hosting",
        "can_manage": web.caller.can(Permission.MANAGE_HOSTING),
        "country_name": country_name,
        "data_source": addresses.DATA_SOURCE,
    }


# --- the directory ----------------------------------------------------------------------------


def _directory(
    request: Request,
    session: SessionDep,
    web: WebCaller,
    *,
    q: str = "",
    without_contact: bool = False,
    page: int = 1,
    error: Exception | None = None,
    form: dict[str, str] | None = None,
) -> HTMLResponse:
    listing = service.list_providers(
        session,
        web.caller,
        query=q,
        without_contact=without_contact,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    pages = max(1, -(-listing.total // PAGE_SIZE))

    def link(**changes: object) -> str:
        params: dict[str, object] = {"q": q, "page": page}
        params["without_contact"] = "1" if without_contact else ""
        params.update(changes)
        kept = {k: v for k, v in params.items() if v and not (k == "page" and v == 1)}
        return "/ui/hosting" + (f"?{urlencode(kept)}" if kept else "")

    return render(
        request,
        "hosting/directory.html",
        {
            **_base(web),
            "listing": listing,
            "summary": service.directory_summary(session, web.caller),
            "q": q,
            "without_contact": without_contact,
            "page": page,
            "pages": pages,
            "link": link,
            "error": error,
            "form": form or {},
        },
        status_code=422 if error else 200,
    )


@router.get("", response_class=HTMLResponse)
def directory(
    request: Request,
    session: SessionDep,
    web: WebCallerDep,
    q: str = Query(default="", max_length=200),
    without_contact: str = Query(default="", max_length=8),
    page: int = Query(default=1, ge=1, le=100_000),
) -> HTMLResponse:
    return _directory(
        request, session, web, q=q.strip(), without_contact=bool(without_contact), page=page
    )


class ProviderForm(PageForm):
    """A provider's details, the same fields for adding one and for changing them."""

    name: str = Field(default="", max_length=1000)
    asn: str = Field(default="", max_length=40)
    country: str = Field(default="", max_length=40)
    abuse_email: str = Field(default="", max_length=1000)


class ProviderChangeForm(ProviderForm):
    notes: str = Field(default="", max_length=10_000)
    reason: str = Field(default="", max_length=1000)


@router.post("/new", response_class=HTMLResponse)
def create(
    request: Request,
    session: SessionDep,
    web: CheckedWebDep,
    form: Annotated[ProviderForm, Form()],
) -> Response:
    try:
        data = ProviderCreate(
            name=form.name,
            asn=service.normalise_asn(form.asn),
            country=service.normalise_country(form.country),
            abuse_email=form.abuse_email.strip() or None,
        )
        created = attempt(session, lambda: service.create_provider(session, web.caller, data))
    except ValidationError as exc:
        return _directory(request, session, web, error=field_error(exc), form=form.model_dump())
    except (Invalid, Conflict) as exc:
        return _directory(request, session, web, error=exc, form=form.model_dump())
    return RedirectResponse(f"/ui/hosting/{created.id}", status_code=303)


# --- where is this address hosted -------------------------------------------------------------


@router.get("/locate", response_class=HTMLResponse)
def locate(
    request: Request,
    session: SessionDep,
    web: WebCallerDep,
    ip: str = Query(default="", max_length=100),
) -> HTMLResponse:
    web.caller.require(Permission.READ)
    where = error = None
    if ip.strip():
        try:
            where = addresses.locate_address(session, web.caller, ip)
        except Invalid as exc:
            error = exc
    return render(
        request,
        "hosting/locate.html",
        {**_base(web), "ip": ip.strip(), "where": where, "error": error},
        status_code=422 if error else 200,
    )


# --- import -----------------------------------------------------------------------------------


def _import_page(
    request: Request,
    web: WebCaller,
    *,
    report: ImportReport | None = None,
    error: Exception | None = None,
) -> HTMLResponse:
    return render(
        request,
        "hosting/import.html",
        {**_base(web), "report": report, "error": error},
        status_code=422 if error else 200,
    )


@router.get("/import", response_class=HTMLResponse)
def import_form(request: Request, web: WebCallerDep) -> HTMLResponse:
    web.caller.require(Permission.MANAGE_HOSTING)
    return _import_page(request, web)


@router.post("/import", response_class=HTMLResponse)
async def import_upload(
    request: Request, session: SessionDep, settings: SettingsDep, web: WebCallerDep
) -> Response:
    """A network table from the page (fields `csrf_token`, `source`, `file`): the role is
    checked before a byte of the file is kept, which goes to a spool file in the data folder."""
    web.caller.require(Permission.MANAGE_HOSTING)
    session.commit()  # no transaction is open while the upload arrives
    with spool.spool_file(settings.data_dir, "networks") as path:
        try:
            form = await uploads.form_to_file(request, path)
        except Invalid as exc:
            return _import_page(request, web, error=exc)
        check_csrf(request, form.text("csrf_token"), web)
        if not form.filename:
            return _import_page(request, web, error=Invalid("file", "choose a file to upload"))
        source = form.text("source").strip()[:200] or form.filename or "upload"

        def run() -> Response:
            try:
                with path.open("rb") as stream:
                    report = attempt(
                        session,
                        lambda: networks.import_networks(
                            session, web.caller, networks.read_lines(stream), source=source
                        ),
                    )
            except Invalid as exc:
                return _import_page(request, web, error=exc)
            return _import_page(request, web, report=report)

        return await run_in_threadpool(run)


# --- one provider -----------------------------------------------------------------------------


def _provider_page(
    request: Request,
    session: SessionDep,
    web: WebCaller,
    provider_id: uuid.UUID,
    *,
    error: Exception | None = None,
    details_form: dict[str, str] | None = None,
    network_form: dict[str, str] | None = None,
    saved: str | None = None,
) -> HTMLResponse:
    """The provider; after a refused form, that form shows what was sent, the other what is
    recorded."""
    provider = service.get_provider(session, web.caller, provider_id)
    return render(
        request,
        "hosting/provider.html",
        {
            **_base(web),
            "p": provider,
            "keeps": service.may_change(session, web.caller, provider_id),
            "error": error,
            "details_form": details_form,
            "network_form": network_form,
            "saved": saved,
        },
        status_code=422 if error else 200,
    )


@router.get("/{provider_id}", response_class=HTMLResponse)
def provider_page(
    request: Request,
    provider_id: uuid.UUID,
    session: SessionDep,
    web: WebCallerDep,
    saved: str = Query(default="", max_length=20),
) -> HTMLResponse:
    messages = {
        "details": "Saved.",
        "network": "Network added.",
        "removed": "Network removed.",
        "proposed": "Proposed. The record changes when its keeper or the network coordinator "
        "approves it; follow it under Proposals.",
    }
    return _provider_page(request, session, web, provider_id, saved=messages.get(saved))


@router.post("/{provider_id}", response_class=HTMLResponse)
def update(
    request: Request,
    provider_id: uuid.UUID,
    session: SessionDep,
    web: CheckedWebDep,
    changes: Annotated[ProviderChangeForm, Form()],
) -> Response:
    form = changes.model_dump()
    try:
        data = ProviderUpdate(
            name=changes.name.strip() or None,
            asn=service.normalise_asn(changes.asn),
            country=service.normalise_country(changes.country),
            abuse_email=changes.abuse_email.strip() or None,
            notes=changes.notes,
            reason=changes.reason,
        )
        done = attempt(
            session, lambda: service.update_provider(session, web.caller, provider_id, data)
        )
    except ValidationError as exc:
        return _provider_page(
            request, session, web, provider_id, error=field_error(exc), details_form=form
        )
    except (Invalid, Conflict) as exc:
        return _provider_page(request, session, web, provider_id, error=exc, details_form=form)
    saved = "proposed" if isinstance(done, ChangeProposal) else "details"
    return RedirectResponse(f"/ui/hosting/{provider_id}?saved={saved}", status_code=303)


@router.post("/{provider_id}/networks", response_class=HTMLResponse)
def add_network(
    request: Request,
    provider_id: uuid.UUID,
    session: SessionDep,
    web: CheckedWebDep,
    network: str = Form(default="", max_length=100),
    country: str = Form(default="", max_length=40),
    reason: str = Form(default="", max_length=1000),
) -> Response:
    try:
        done = attempt(
            session,
            lambda: service.add_network(
                session,
                web.caller,
                provider_id,
                cidr=network,
                country=country or None,
                reason=reason,
            ),
        )
    except (Invalid, Conflict) as exc:
        form = {"network": network, "country": country, "reason": reason}
        return _provider_page(request, session, web, provider_id, error=exc, network_form=form)
    saved = "proposed" if isinstance(done, ChangeProposal) else "network"
    return RedirectResponse(f"/ui/hosting/{provider_id}?saved={saved}#networks", status_code=303)


@router.post("/{provider_id}/networks/{network_id}/remove")
def remove_network(
    request: Request,
    provider_id: uuid.UUID,
    network_id: uuid.UUID,
    session: SessionDep,
    web: CheckedWebDep,
    reason: str = Form(default="", max_length=1000),
) -> Response:
    proposal = service.remove_network(session, web.caller, network_id, reason=reason)
    saved = "proposed" if proposal is not None else "removed"
    return RedirectResponse(f"/ui/hosting/{provider_id}?saved={saved}#networks", status_code=303)
