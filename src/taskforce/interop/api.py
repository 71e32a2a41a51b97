"""Interop over the API: a STIX 2.1 bundle or MISP export of what the caller's agency may pass
on (streamed, signed, audited), its detached signature and the public key to check it; MISP
events imported into a case. The read-only TAXII 2.1 server is `interop.taxii` (under /taxii2/)."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Query, Request
from starlette.concurrency import run_in_threadpool

from taskforce.core.http import CallerDep, SessionDep, SettingsDep, wake_worker
from taskforce.interop import misp
from taskforce.interop.misp_import import MispImportSummary

router = APIRouter(prefix="/interop", tags=["interop"])


# --- STIX 2.1 -----------------------------------------------------------------------------------


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
