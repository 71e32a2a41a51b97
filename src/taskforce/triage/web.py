"""Triage pages: a case's recorded runs, and one run's counts, categories, errors and files.

Hashes, paths, categories and counts only: no thumbnail or preview of any file, ever. Filters
are plain GET parameters, so a filtered page can be bookmarked and the back button works.
"""

from __future__ import annotations

import os
import uuid
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse
from markupsafe import Markup, escape
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask

from taskforce.cases.models import Case
from taskforce.core import spool
from taskforce.core.caller import Caller
from taskforce.core.errors import Invalid
from taskforce.core.http import SessionDep, SettingsDep
from taskforce.core.settings import Settings
from taskforce.triage import reading
from taskforce.triage.schemas import MatchFilter
from taskforce.web.session import WebCaller, WebCallerDep, render

router = APIRouter(prefix="/ui", include_in_schema=False)


def case_runs(session: Session, caller: Caller, case: Case) -> dict[str, Any]:
    """The case page's triage section (`taskforce.pages` hands it to cases.web): the newest
    runs and how many there are."""
    runs, total = reading.recent_runs(session, caller, case)
    return {"triage_runs": runs, "triage_total": total}


PAGE_SIZE = 100


@router.get("/cases/{case_id}/triage", response_class=HTMLResponse)
def runs_page(
    request: Request, case_id: uuid.UUID, session: SessionDep, web: WebCallerDep
) -> HTMLResponse:
    case, runs = reading.case_runs(session, web.caller, case_id)
    return render(request, "triage/runs.html", {"case": case, "runs": runs})


@router.get("/triage-runs/{run_id}", response_class=HTMLResponse)
def run_page(
    request: Request,
    run_id: uuid.UUID,
    session: SessionDep,
    web: WebCallerDep,
    match: str = Query(default="", pattern="^(|exact|perceptual|known|none)$"),
    category: str = Query(default="", max_length=60),
    errors: bool = Query(default=False),
    page: int = Query(default=1, ge=1, le=1_000_000),
) -> HTMLResponse:
    chosen = reading.ResultFilter(
        match=MatchFilter(match) if match else None,
        category=category.strip() or None,
        errors_only=errors,
    )
    try:
        run = reading.get_run(
            session,
            web.caller,
            run_id,
            chosen=chosen,
            limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE,
        )
    except Invalid:  # a category typed into the address: show the run unfiltered
        chosen = reading.ResultFilter(match=chosen.match, errors_only=errors)
        run = reading.get_run(session, web.caller, run_id, chosen=chosen, limit=PAGE_SIZE)
        category, page = "", 1
    filters = {"match": match, "category": category, "errors": "1" if errors else ""}
    kept = {k: v for k, v in filters.items() if v}
    pages = max(1, -(-run.results.total // PAGE_SIZE))

    def link(**changes: object) -> str:
        query = {**kept, **{k: str(v) for k, v in changes.items() if v not in ("", None)}}
        for k, v in changes.items():
            if v in ("", None):
                query.pop(k, None)
        return f"/ui/triage-runs/{run.id}" + (f"?{urlencode(query)}" if query else "")

    return render(
        request,
        "triage/run.html",
        {
            "run": run,
            "inside": lambda path: _inside(path, run.evidence),
            "filters": filters,
            "filtered": bool(kept),
            "page": page,
            "pages": pages,
            "link": link,
            "biggest": max((c.files for c in run.by_category), default=1),
            "matches": [m.value for m in MatchFilter],
        },
    )


def _inside(path: str, roots: list[str]) -> Markup:
    """A file's path inside the evidence named for the run (the root is in the run's details),
    breakable after each slash; the full path is kept for the title and the downloads."""
    shown = path
    root = roots[0].rstrip("/") + "/" if len(roots) == 1 else None
    if root and path.startswith(root):
        shown = path[len(root) :]
    return Markup("/<wbr>").join(escape(part) for part in shown.split("/"))


@router.get("/triage-runs/{run_id}/results.csv")
def download_csv(
    run_id: uuid.UUID, session: SessionDep, settings: SettingsDep, web: WebCallerDep
) -> FileResponse:
    """The run's results.csv, as the report folder has it."""
    return _download(session, settings, web, run_id, "csv", "results.csv")


@router.get("/triage-runs/{run_id}/results.vics.json")
def download_vics(
    run_id: uuid.UUID, session: SessionDep, settings: SettingsDep, web: WebCallerDep
) -> FileResponse:
    """The run's files as a VICS 2.0 export, for the investigator's forensic viewer."""
    return _download(session, settings, web, run_id, "vics", "results.vics.json")


def _download(
    session: SessionDep, settings: Settings, web: WebCaller, run_id: uuid.UUID, fmt: str, name: str
) -> FileResponse:
    path = spool.new_file(settings.data_dir, "triage-export")
    try:
        with path.open("w", encoding="utf-8", newline="") as out:
            stem, _count = reading.export_results(session, web.caller, run_id, fmt=fmt, out=out)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    session.commit()  # the disclosure is audited before the file leaves
    return FileResponse(
        path,
        media_type="text/csv" if fmt == "csv" else "application/json",
        filename=f"{stem}-{name}",
        background=BackgroundTask(os.unlink, path),
    )
