"""The interop page (`/ui/interop`): what the caller's agency may pass on to its own tools, the
downloads (each one recorded and audited by the export service, exactly as from the console
or the API), the TAXII connection details, the agency's recent exports, and a MISP file
imported into one of the agency's cases."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from taskforce.core import spool, uploads
from taskforce.core.caller import Permission
from taskforce.core.errors import Invalid
from taskforce.core.http import SessionDep, SettingsDep, wake_worker
from taskforce.interop import misp, overview
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
        "imported": imported,
        "error": error,
        "chosen_case": chosen_case,
        "max_mib": MAX_BYTES >> 20,
    }
    return render(request, "interop/page.html", context, status_code=status_code)


@router.get("/interop", response_class=HTMLResponse)
def interop_page(request: Request, session: SessionDep, web: WebCallerDep) -> HTMLResponse:
    return _page(request, session, web)


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
