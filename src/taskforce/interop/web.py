"""The interop page (`/ui/interop`): what the caller's agency may pass on to its own tools, the
downloads (each one recorded and audited by the export service, exactly as from the console
or the API), the TAXII connection details, the agency's recent exports, and a MISP file
imported into one of the agency's cases."""

from __future__ import annotations

import json
import os
import tempfile
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from taskforce.core import spool, uploads
from taskforce.core.caller import Permission
from taskforce.core.db import utcnow
from taskforce.core.errors import Invalid
from taskforce.core.http import SessionDep, SettingsDep, wake_worker
from taskforce.core.settings import Settings
from taskforce.interop import collections, misp, overview, service
from taskforce.interop.feed import SUMS
from taskforce.interop.misp_import import MAX_BYTES, MispImportSummary
from taskforce.web.forms import check_csrf
from taskforce.web.session import WebCaller, WebCallerDep, render

router = APIRouter(prefix="/ui", include_in_schema=False)


def _page(
    request: Request,
    session: Session,
    web: WebCaller,
    *,
    imported: MispImportSummary | None = None,
    error: Invalid | None = None,
    chosen_case: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    caller = web.caller
    context: dict[str, Any] = {
        "agency": caller.agency_code,
        "releasable": overview.releasable_summary(session, caller),
        "exports": overview.recent_exports(session, caller),
        "cases": overview.import_targets(session, caller),
        "can_import": caller.can(Permission.ADD_SELECTOR),
        "can_make_tokens": caller.can(Permission.MANAGE_USERS),
        "discovery_url": str(request.base_url) + "taxii2/",
        "collections": collections.readable(session, caller),
        "imported": imported,
        "error": error,
        "chosen_case": chosen_case,
        "max_mib": MAX_BYTES >> 20,
    }
    return render(request, "interop/page.html", context, status_code=status_code)


@router.get("/interop", response_class=HTMLResponse)
def interop_page(request: Request, session: SessionDep, web: WebCallerDep) -> HTMLResponse:
    return _page(request, session, web)


# --- downloads: each one recorded and audited by the export workflow, as from the API ---------

AgencyQuery = Query(default="", max_length=32, description="only this agency's material")


@contextmanager
def _spooled(settings: Settings, prefix: str, suffix: str = "") -> Iterator[Path]:
    """A spool file for a download: removed here if the export fails, else once it is sent."""
    path = spool.new_file(settings.data_dir, prefix, suffix)
    try:
        yield path
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def _download(path: Path, filename: str, media_type: str) -> FileResponse:
    return FileResponse(
        path,
        media_type=media_type,
        filename=filename,
        background=BackgroundTask(os.unlink, path),
    )


def _stamp() -> str:
    return utcnow().strftime("%Y%m%dT%H%MZ")


@router.get("/interop/stix")
def download_stix(
    session: SessionDep, settings: SettingsDep, web: WebCallerDep, agency: str = AgencyQuery
) -> FileResponse:
    """The STIX 2.1 bundle; its signature is on the page's list of exports afterwards (as is
    each MISP download's)."""
    with _spooled(settings, "stix") as path:
        with path.open("wb") as out:
            service.export_stix(
                session, web.caller, settings, out, agency_code=agency or None, now=utcnow()
            )
        session.commit()  # recorded and audited before a byte leaves
    return _download(path, f"taskforce-stix-{_stamp()}.json", "application/stix+json")


@router.get("/interop/misp")
def download_misp(
    session: SessionDep, settings: SettingsDep, web: WebCallerDep, agency: str = AgencyQuery
) -> FileResponse:
    """One MISP JSON file: an event per releasable case and per hash set."""
    with _spooled(settings, "misp") as path:
        with path.open("wb") as out:
            misp.export_misp(
                session, web.caller, settings, out, agency_code=agency or None, now=utcnow()
            )
        session.commit()
    return _download(path, f"taskforce-misp-{_stamp()}.json", "application/json")


@router.get("/interop/misp-feed")
def download_misp_feed(
    session: SessionDep, settings: SettingsDep, web: WebCallerDep, agency: str = AgencyQuery
) -> FileResponse:
    """The MISP feed folder (manifest.json, an event file each, hashes.csv, SHA256SUMS and its
    signature) as a zip, to unpack where a MISP instance can subscribe to it."""
    with _spooled(settings, "misp-feed", ".zip") as path:
        with tempfile.TemporaryDirectory(dir=spool.process_folder(settings.data_dir)) as folder:
            exported = misp.export_feed(
                session,
                web.caller,
                settings,
                Path(folder),
                agency_code=agency or None,
                now=utcnow(),
            )
            with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
                for file in sorted(Path(folder).iterdir()):
                    archive.write(file, f"taskforce-feed/{file.name}")
                # the signature covers SHA256SUMS, which lists every other file's SHA-256
                archive.writestr(
                    f"taskforce-feed/{SUMS}.sig.json",
                    json.dumps(exported.signature, indent=2, sort_keys=True) + "\n",
                )
        session.commit()
    return _download(path, f"taskforce-misp-feed-{_stamp()}.zip", "application/zip")


@router.get("/interop/exports/{export_id}/signature")
def download_signature(export_id: uuid.UUID, session: SessionDep, web: WebCallerDep) -> Response:
    """The detached signature document of one of the agency's exports (404 for any other)."""
    document = service.signature_of(session, web.caller, export_id)
    return Response(
        json.dumps(document, indent=2, sort_keys=True) + "\n",
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="taskforce-{export_id}.sig.json"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/interop/misp-import", response_class=HTMLResponse)
async def import_misp(
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    settings: SettingsDep,
    web: WebCallerDep,
) -> Response:
    """A MISP event file from the page (fields `csrf_token`, `case`, `file`), spooled to the
    data folder, then read whole and added to the chosen case through the cases domain's
    bulk path; the page answers with what was added, already there, refused and skipped."""
    web.caller.require(Permission.ADD_SELECTOR)  # refused before a byte of the file is kept
    session.commit()  # no transaction is held while bytes arrive
    with spool.spool_file(settings.data_dir, "misp-event") as path:
        try:
            form = await uploads.form_to_file(request, path)
        except Invalid as exc:
            return await run_in_threadpool(_page, request, session, web, error=exc, status_code=422)
        check_csrf(request, form.text("csrf_token"), web)
        case = form.text("case").strip()[:64]

        def run() -> Response:
            try:
                if not case:
                    raise Invalid("case", "choose one of your agency's open cases")
                if not form.filename or not form.size:
                    raise Invalid("file", "choose a MISP event file (JSON) to upload")
                summary = misp.import_misp(
                    session,
                    web.caller,
                    settings,
                    path.read_bytes(),
                    case,
                    after_batch=session.commit,
                )
            except Invalid as exc:
                session.rollback()
                return _page(request, session, web, error=exc, chosen_case=case, status_code=422)
            session.commit()
            return _page(request, session, web, imported=summary, chosen_case=case)

        answer = await run_in_threadpool(run)
    if answer.status_code == 200:
        wake_worker(request, background)
    return answer
