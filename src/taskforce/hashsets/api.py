"""Hash sets over the API: list, create, import (upload), export (download), and match."""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from taskforce.core.errors import Invalid
from taskforce.core.http import CallerDep, SessionDep, SettingsDep
from taskforce.hashsets import formats, service
from taskforce.hashsets.schemas import (
    HashSetCreate,
    HashSetRead,
    ImportReport,
    MatchRequest,
    MatchResult,
)

router = APIRouter(tags=["hash sets"])
MAX_UPLOAD = 2 << 30  # 2 GiB

_MEDIA_TYPES = {"vics": "application/json", "csv": "text/csv", "pdq": "text/plain"}


@router.get("/hashsets", response_model=list[HashSetRead])
def list_hash_sets(session: SessionDep, caller: CallerDep) -> list[HashSetRead]:
    """Hash sets the caller's agency may use: its own, GREEN ones, AMBER ones naming it."""
    return service.list_hash_sets(session, caller)


@router.post("/hashsets", response_model=HashSetRead, status_code=status.HTTP_201_CREATED)
def create_hash_set(data: HashSetCreate, session: SessionDep, caller: CallerDep) -> HashSetRead:
    return service.describe(session, service.create_hash_set(session, caller, data))


@router.get("/hashsets/{set_id}", response_model=HashSetRead)
def get_hash_set(set_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> HashSetRead:
    return service.describe(session, service.get_visible(session, caller, set_id))


@router.post("/hashsets/{set_id}/import", response_model=ImportReport)
async def import_entries(
    set_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    caller: CallerDep,
    format_: str | None = Query(default=None, alias="format", description="detected if absent"),
) -> ImportReport:
    """Upload a hash list as the request body; it is spooled to a private temporary file and
    streamed into the set. Bad lines are reported with their number; re-uploading adds nothing."""
    if format_ is not None and format_ not in formats.READERS:
        raise Invalid("format", f"must be one of {', '.join(formats.FORMATS)}")
    session.commit()  # the token check's transaction ends: no lock is held while bytes arrive
    handle, name = tempfile.mkstemp(prefix="taskforce-import-")
    path = Path(name)
    try:
        size = 0
        with os.fdopen(handle, "wb") as spool:
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_UPLOAD:
                    raise Invalid("body", f"at most {MAX_UPLOAD >> 30} GiB per upload")
                spool.write(chunk)

        def run() -> ImportReport:
            # Off the event loop, and only once the upload is spooled: the visibility check
            # audits (takes the audit chain's lock) and must not hold it while bytes arrive.
            # Committed batch by batch: SQLite's write lock is never held for the whole file.
            hash_set = service.get_visible(session, caller, set_id)
            return service.import_file(
                session, caller, set_id=hash_set.id, path=path, fmt=format_,
                after_batch=lambda _read: session.commit(),
            )  # fmt: skip

        return await run_in_threadpool(run)
    finally:
        path.unlink(missing_ok=True)


@router.get("/hashsets/{set_id}/export")
def export_entries(
    set_id: uuid.UUID,
    session: SessionDep,
    caller: CallerDep,
    format_: str = Query(default="vics", alias="format", pattern="^(vics|csv|pdq)$"),
) -> FileResponse:
    """Download the set as VICS JSON (forensic tools), CSV or a PDQ list."""
    hash_set = service.get_visible(session, caller, set_id)
    handle, name = tempfile.mkstemp(prefix="taskforce-export-")
    with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
        service.export(session, caller, set_id=hash_set.id, fmt=format_, out=out)
    session.commit()  # the disclosure is audited before the file leaves
    suffix = {"vics": "vics.json", "csv": "csv", "pdq": "pdq.txt"}[format_]
    return FileResponse(
        name,
        media_type=_MEDIA_TYPES[format_],
        filename=f"{hash_set.name}.{suffix}",
        background=BackgroundTask(os.unlink, name),
    )


@router.post("/match", response_model=list[MatchResult])
def match(
    request: MatchRequest, session: SessionDep, settings: SettingsDep, caller: CallerDep
) -> list[MatchResult]:
    """For tools that hash elsewhere: which visible hash sets know each of up to 10,000 files,
    by exact hash (MD5, SHA-1, SHA-256) or by PDQ within the threshold (default 31)."""
    return service.match(session, caller, settings, request)
