"""Interop over the API: a STIX 2.1 bundle or MISP export of what the caller's agency may pass
on (streamed, signed, audited), its detached signature and the public key to check it; MISP
events imported into a case. The read-only TAXII 2.1 server is `interop.taxii` (under /taxii2/)."""

from __future__ import annotations

import base64
import json
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from fastapi import APIRouter, BackgroundTasks, Query, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from taskforce.core.db import utcnow
from taskforce.core.http import CallerDep, SessionDep, SettingsDep, wake_worker
from taskforce.interop import misp, service
from taskforce.interop.misp_import import MispImportSummary

router = APIRouter(prefix="/interop", tags=["interop"])


# --- STIX 2.1 -----------------------------------------------------------------------------------

STIX_MEDIA_TYPE = "application/stix+json;version=2.1"
_SPOOL = 8 << 20  # bundles up to 8 MiB stay in memory, larger ones go to a temporary file


def _chunks(spool: IO[bytes]) -> Iterator[bytes]:
    try:
        spool.seek(0)
        while chunk := spool.read(1 << 20):
            yield chunk
    finally:
        spool.close()


@dataclass(frozen=True)
class _Signed:
    """An export written, as its response's headers name it."""

    export_id: uuid.UUID
    sha256: str
    size: int
    signature: dict[str, Any]
    filename: str


def _signed_stream(
    session: Session, export: Callable[[IO[bytes]], _Signed], media_type: str
) -> StreamingResponse:
    """Run `export` into a spool, commit (recorded and audited before the first byte leaves),
    then stream the body with the export's id, SHA-256 and detached signature in headers."""
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL)  # noqa: SIM115 - closed by _chunks
    try:
        done = export(spool)
        session.commit()
    except BaseException:
        spool.close()
        raise
    document = json.dumps(done.signature, sort_keys=True, separators=(",", ":")).encode()
    headers = {
        "X-Taskforce-Export-Id": str(done.export_id),
        "X-Taskforce-SHA256": done.sha256,
        "X-Taskforce-Signature": base64.b64encode(document).decode(),
        "Content-Length": str(done.size),
        "Content-Disposition": f'attachment; filename="{done.filename}"',
    }
    return StreamingResponse(_chunks(spool), media_type=media_type, headers=headers)


@router.get(
    "/stix",
    response_class=StreamingResponse,
    responses={200: {"content": {STIX_MEDIA_TYPE: {}}, "description": "A STIX 2.1 bundle"}},
)
def export_stix(
    session: SessionDep,
    settings: SettingsDep,
    caller: CallerDep,
    agency: str | None = Query(
        default=None, min_length=2, max_length=32, description="Only this agency's material"
    ),
    since: str | None = Query(
        default=None, max_length=40, description="Only rows added at or after (ISO 8601)"
    ),
) -> StreamingResponse:
    """What your agency may pass on, as a STIX 2.1 bundle (streamed). The detached signature
    document travels base64 in `X-Taskforce-Signature` (and at
    `/interop/exports/{X-Taskforce-Export-Id}/signature`); its SHA-256 in
    `X-Taskforce-SHA256`. Audited as a disclosure."""

    def export(out: IO[bytes]) -> _Signed:
        result = service.export_stix(
            session,
            caller,
            settings,
            out,
            agency_code=agency,
            since=service.parse_since(since),
            now=utcnow(),
        )
        return _Signed(
            result.export_id,
            result.sha256,
            result.bytes,
            result.signature,
            f"{result.bundle_id}.json",
        )

    return _signed_stream(session, export, STIX_MEDIA_TYPE)


@router.get("/exports/{export_id}/signature")
def export_signature(
    export_id: uuid.UUID, session: SessionDep, caller: CallerDep
) -> dict[str, Any]:
    """The detached signature document of one of your agency's STIX exports."""
    return service.signature_of(session, caller, export_id)


@router.get("/public-key")
def export_public_key(settings: SettingsDep, caller: CallerDep) -> dict[str, str]:
    """The hub's export public key (base64 of its 32 raw bytes) and key id: what every
    export's signature is checked with."""
    public, key_id = service.public_key(settings)
    return {"public_key": public, "key_id": key_id, "algorithm": "Ed25519"}


# --- MISP ---------------------------------------------------------------------------------------


@router.post("/misp/import", response_model=MispImportSummary)
async def import_misp(
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    settings: SettingsDep,
    caller: CallerDep,
    case: str = Query(..., min_length=1, max_length=64, description="Reference of your case"),
) -> MispImportSummary:
    """A MISP event JSON body (`{"Event": ...}`, a bare event, or a list): its urls, domains,
    addresses, wallets and hashes added to the case as selectors (deconflicted); other
    attribute types skipped and counted, refused values listed. Not a MISP event: 422."""
    session.commit()  # the token check's transaction ends: no lock is held while bytes arrive
    raw = await request.body()
    wake_worker(request, background)
    return await run_in_threadpool(
        misp.import_misp, session, caller, settings, raw, case, after_batch=session.commit
    )


@router.get("/misp", response_class=StreamingResponse)
def export_misp(
    session: SessionDep,
    settings: SettingsDep,
    caller: CallerDep,
    agency: str | None = Query(
        None, min_length=2, max_length=32, description="Only this agency's material (its code)"
    ),
) -> StreamingResponse:
    """What your agency may pass on (GREEN cases and hash sets, not held back) as MISP events:
    `{"response": [{"Event": ...}, ...]}`, one event per case and per hash set. Signed,
    recorded and audited as a disclosure: the detached signature document travels base64 in
    `X-Taskforce-Signature`, the body's SHA-256 in `X-Taskforce-SHA256`."""

    def export(out: IO[bytes]) -> _Signed:
        done = misp.export_misp(session, caller, settings, out, agency_code=agency, now=utcnow())
        return _Signed(
            done.record.id,
            done.written.sha256,
            done.written.bytes,
            done.signature,
            "taskforce-misp.json",
        )

    return _signed_stream(session, export, "application/json")


def _feed(session: SessionDep, caller: CallerDep, part: str, media_type: str) -> Response:
    data = misp.read_feed(session, caller, part, now=utcnow())
    return Response(data, media_type=media_type)


@router.get("/misp/feed/manifest.json", response_class=Response)
def misp_feed_manifest(session: SessionDep, caller: CallerDep) -> Response:
    """The live MISP feed's manifest: add `…/api/v1/interop/misp/feed` to a MISP instance as a
    feed of type "MISP Feed", with the header `Authorization: Bearer <a read-only token>`.
    Each file served is audited as a disclosure."""
    return _feed(session, caller, "manifest.json", "application/json")


@router.get("/misp/feed/hashes.csv", response_class=Response)
def misp_feed_hashes(session: SessionDep, caller: CallerDep) -> Response:
    """The live MISP feed's `hashes.csv`: `md5(value),event uuid` per attribute value."""
    return _feed(session, caller, "hashes.csv", "text/csv")


@router.get("/misp/feed/{event_uuid}.json", response_class=Response)
def misp_feed_event(event_uuid: uuid.UUID, session: SessionDep, caller: CallerDep) -> Response:
    """One event of the live MISP feed; an event that is not (or no longer) releasable: 404."""
    return _feed(session, caller, f"{event_uuid}.json", "application/json")
