"""Hash sets over the API: list, create, import (upload), export (download), and match."""

from __future__ import annotations

import os
import uuid

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from taskforce.core import spool, uploads
from taskforce.core.errors import Invalid
from taskforce.core.http import CallerDep, SessionDep, SettingsDep
from taskforce.hashsets import formats, matching, service
from taskforce.hashsets.schemas import (
    HashSetCreate,
    HashSetRead,
    HashSetUpdate,
    ImportReport,
    MatchRequest,
    MatchResult,
)

router = APIRouter(tags=["hash sets"])

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


@router.patch("/hashsets/{set_id}", response_model=HashSetRead)
def update_hash_set(
    set_id: uuid.UUID, data: HashSetUpdate, session: SessionDep, caller: CallerDep
) -> HashSetRead:
    """Rename one of your agency's sets (409 if the name is taken) or mark it not for export
    (`not_for_export`: it never leaves the hub); 404 for any other agency's set."""
    if data.name is None and data.not_for_export is None:
        raise Invalid("name", "give a new name or not_for_export")
    hash_set = service.get_visible(session, caller, set_id)
    if data.name is not None:
        hash_set = service.rename_hash_set(session, caller, set_id=set_id, new_name=data.name)
    if data.not_for_export is not None:
        hash_set = service.mark_not_for_export(
            session, caller, set_id=set_id, not_for_export=data.not_for_export
        )
    return service.describe(session, hash_set)


@router.delete("/hashsets/{set_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_hash_set(
    set_id: uuid.UUID,
    session: SessionDep,
    caller: CallerDep,
    force: bool = Query(default=False, description="delete even while runs or series use it"),
) -> Response:
    """Delete one of your agency's sets with its entries (404 for any other). While recorded
    triage runs or series depend on it the answer is 409 naming them, unless `force=true`."""
    service.delete_hash_set(session, caller, set_id=set_id, force=force)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/hashsets/{set_id}/import", response_model=ImportReport)
async def import_entries(
    set_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    caller: CallerDep,
    format_: str | None = Query(default=None, alias="format", description="detected if absent"),
) -> ImportReport:
    """Upload a hash list (at most 2 GiB) as the request body; it is spooled to a file in the
    data folder and streamed into the set. Bad lines are reported with their number;
    re-uploading adds nothing. A set the caller may not import into is refused before a byte
    of the upload is read. A file that is no hash list (empty, a picture, a letter), or of
    which no entry could be read, is refused with 422 (`field` "file", the reason in
    `message`): a 200 always means at least one entry was read."""
    if format_ is not None and format_ not in formats.READERS:
        raise Invalid("format", f"must be one of {', '.join(formats.FORMATS)}")
    await run_in_threadpool(service.import_target, session, caller, set_id=set_id)
    session.commit()  # the check's transaction ends: no lock is held while bytes arrive
    with spool.spool_file(settings.data_dir, "hash-list") as path:
        await uploads.body_to_file(request, path)

        # Off the event loop, committed batch by batch: the import writes for minutes on a
        # large list and SQLite's write lock is never held for the whole file.
        def run() -> ImportReport:
            return service.import_file(
                session,
                caller,
                set_id=set_id,
                path=path,
                fmt=format_,
                after_batch=lambda _read: session.commit(),
            )

        return await run_in_threadpool(run)


@router.get("/hashsets/{set_id}/export")
def export_entries(
    set_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    caller: CallerDep,
    format_: str = Query(default="vics", alias="format", pattern="^(vics|csv|pdq)$"),
) -> FileResponse:
    """Download the set as VICS JSON (forensic tools), CSV or a PDQ list."""
    hash_set = service.get_visible(session, caller, set_id)
    name = spool.new_file(settings.data_dir, "export")
    with name.open("w", encoding="utf-8", newline="") as out:
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
    return matching.match(session, caller, settings, request)
