"""The hash sets page: what sets an agency can match against, and its own sets' upkeep
(create, upload a list, download an export, rename, delete). Hashes only: no file is ever
shown."""

from __future__ import annotations

import os
import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from pydantic import Field, ValidationError
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from taskforce.agencies import service as agency_service
from taskforce.core import spool, uploads
from taskforce.core.caller import Permission
from taskforce.core.errors import Conflict, Invalid
from taskforce.core.http import SessionDep, SettingsDep
from taskforce.hashsets import formats, service
from taskforce.hashsets.schemas import HashSetCreate, ImportReport
from taskforce.web.forms import (
    CheckedWebDep,
    PageForm,
    SharingForm,
    attempt,
    check_csrf,
    field_error,
)
from taskforce.web.session import WebCaller, WebCallerDep, render

router = APIRouter(prefix="/ui", include_in_schema=False)


def _page(
    request: Request,
    session: SessionDep,
    web: WebCaller,
    *,
    error: Invalid | Conflict | None = None,
    report: ImportReport | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    sets = service.list_hash_sets(session, web.caller)
    agencies = [a for a in agency_service.list_agencies(session) if a.id != web.caller.agency_id]
    return render(
        request,
        "hashsets/list.html",
        {
            "sets": sets,
            "mine": web.caller.agency_code,
            "can_manage": web.caller.can(Permission.MANAGE_HASH_SETS),
            "formats": formats.FORMATS,
            "agencies": agencies,
            "error": error,
            "report": report,
        },
        status_code=status_code,
    )


@router.get("/hashsets", response_class=HTMLResponse)
def hash_sets(request: Request, session: SessionDep, web: WebCallerDep) -> HTMLResponse:
    return _page(request, session, web)


class HashSetForm(SharingForm):
    name: str = Field(default="", max_length=1000)
    description: str = Field(default="", max_length=5000)
    source: str = Field(default="", max_length=1000)


@router.post("/hashsets/new", response_class=HTMLResponse)
def create(
    request: Request,
    session: SessionDep,
    web: CheckedWebDep,
    form: Annotated[HashSetForm, Form()],
) -> Response:
    try:
        data = HashSetCreate(
            name=form.name.strip(),
            description=form.description,
            source=form.source,
            sharing=form.level,
            partners=form.amber_partners,
        )
        attempt(session, lambda: service.create_hash_set(session, web.caller, data))
    except ValidationError as exc:
        return _page(request, session, web, error=field_error(exc), status_code=422)
    except (Invalid, Conflict) as exc:
        return _page(request, session, web, error=exc, status_code=422)
    return RedirectResponse("/ui/hashsets", status_code=303)


class RenameForm(PageForm):
    name: str = Field(default="", max_length=1000)


class DeleteForm(PageForm):
    force: str = Field(default="", max_length=8)


def _manage_page(
    request: Request,
    session: SessionDep,
    web: WebCaller,
    set_id: uuid.UUID,
    *,
    error: Invalid | Conflict | None = None,
    typed: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """One of the agency's own sets: rename it, and delete it behind a form that names what
    goes with it and what depends on it (404 for anyone else's set)."""
    hash_set, depending = service.deletion_target(session, web.caller, set_id=set_id)
    return render(
        request,
        "hashsets/manage.html",
        {
            "set": service.describe(session, hash_set),
            "depending": depending,
            "error": error,
            "typed": hash_set.name if typed is None else typed,
        },
        status_code=status_code,
    )


@router.get("/hashsets/{set_id}/manage", response_class=HTMLResponse)
def manage(
    request: Request, set_id: uuid.UUID, session: SessionDep, web: WebCallerDep
) -> HTMLResponse:
    return _manage_page(request, session, web, set_id)


@router.post("/hashsets/{set_id}/rename", response_class=HTMLResponse)
def rename(
    request: Request,
    set_id: uuid.UUID,
    session: SessionDep,
    web: CheckedWebDep,
    form: Annotated[RenameForm, Form()],
) -> Response:
    try:
        attempt(
            session,
            lambda: service.rename_hash_set(session, web.caller, set_id=set_id, new_name=form.name),
        )
    except (Invalid, Conflict) as exc:
        return _manage_page(
            request, session, web, set_id, error=exc, typed=form.name, status_code=422
        )
    return RedirectResponse("/ui/hashsets", status_code=303)


@router.post("/hashsets/{set_id}/not-for-export")
def mark_not_for_export(
    set_id: uuid.UUID,
    session: SessionDep,
    web: CheckedWebDep,
    not_for_export: str = Form(default="yes", max_length=8),
) -> Response:
    """The owner's mark: "yes" keeps a GREEN set inside the hub, "no" lets it be exported."""
    service.mark_not_for_export(
        session, web.caller, set_id=set_id, not_for_export=not_for_export != "no"
    )
    return RedirectResponse(f"/ui/hashsets/{set_id}/manage#exports", status_code=303)


@router.post("/hashsets/{set_id}/delete", response_class=HTMLResponse)
def delete(
    request: Request,
    set_id: uuid.UUID,
    session: SessionDep,
    web: CheckedWebDep,
    form: Annotated[DeleteForm, Form()],
) -> Response:
    try:
        attempt(
            session,
            lambda: service.delete_hash_set(
                session, web.caller, set_id=set_id, force=form.force == "yes"
            ),
        )
    except (Invalid, Conflict) as exc:
        return _manage_page(request, session, web, set_id, error=exc, status_code=409)
    return RedirectResponse("/ui/hashsets", status_code=303)


@router.post("/hashsets/{set_id}/import", response_class=HTMLResponse)
async def upload(
    request: Request,
    set_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    web: WebCallerDep,
) -> Response:
    """A hash list from the page (fields `csrf_token`, `format`, `file`). The set is checked
    before a byte of the file is kept; the file goes straight to a spool file in the data
    folder (not through /tmp) and from there into the set."""
    await run_in_threadpool(service.import_target, session, web.caller, set_id=set_id)
    session.commit()  # the check's transaction ends: no lock is held while bytes arrive
    with spool.spool_file(settings.data_dir, "hash-list") as path:
        try:
            form = await uploads.form_to_file(request, path)
        except Invalid as exc:
            return await run_in_threadpool(_page, request, session, web, error=exc, status_code=422)
        check_csrf(request, form.text("csrf_token"), web)

        def run() -> Response:
            try:
                if not form.filename:
                    raise Invalid("file", "choose a file to upload")
                report = service.import_file(
                    session,
                    web.caller,
                    set_id=set_id,
                    path=path,
                    fmt=form.text("format").strip()[:16] or None,
                    after_batch=lambda _read: session.commit(),  # batch by batch, as the API
                )
            except Invalid as exc:
                return _page(request, session, web, error=exc, status_code=422)
            return _page(request, session, web, report=report)

        return await run_in_threadpool(run)


@router.get("/hashsets/{set_id}/export")
def download(
    set_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    web: WebCallerDep,
    format_: str = Query(default="vics", alias="format", pattern="^(vics|csv|pdq)$"),
) -> FileResponse:
    hash_set = service.get_visible(session, web.caller, set_id)
    name = spool.new_file(settings.data_dir, "export")
    with name.open("w", encoding="utf-8", newline="") as out:
        service.export(session, web.caller, set_id=set_id, fmt=format_, out=out)
    session.commit()  # the disclosure is audited before the file leaves
    suffix = {"vics": "vics.json", "csv": "csv", "pdq": "pdq.txt"}[format_]
    return FileResponse(
        name,
        filename=f"{hash_set.name}.{suffix}",
        background=BackgroundTask(os.unlink, name),
    )
