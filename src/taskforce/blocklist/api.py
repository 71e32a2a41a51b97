"""The block list over the API: analysts manage entries; providers download the signed list.

The download and public-key routes take `TokenCallerDep`, the only routes an internet
provider's token reaches; every other route refuses it (`CallerDep`).
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Query, status
from fastapi.responses import JSONResponse

from taskforce.blocklist import service
from taskforce.blocklist.schemas import EntryCreate, EntryRead, EntryRemove, PublicKeyRead
from taskforce.core import signing
from taskforce.core.http import CallerDep, SessionDep, SettingsDep, TokenCallerDep
from taskforce.core.proposals.api import ACCEPTED, accepted
from taskforce.core.proposals.models import ChangeProposal

router = APIRouter(tags=["block list"])


@router.get("/blocklist")
def download(
    session: SessionDep,
    settings: SettingsDep,
    caller: TokenCallerDep,
    since: int | None = Query(default=None, description="only the changes after version N"),
) -> dict[str, Any]:
    """The signed list: all active entries, or with `since=N` what was added and removed after
    version N. Verify `signature` with the key at /blocklist/public-key before use."""
    return service.document(session, caller, settings, since=since)


@router.get("/blocklist/public-key", response_model=PublicKeyRead)
def public_key(settings: SettingsDep, caller: TokenCallerDep) -> PublicKeyRead:
    """The hub's Ed25519 public key, base64 of its 32 raw bytes."""
    public = service.signing_key(settings).public_key()
    return PublicKeyRead(public_key=signing.public_b64(public), key_id=signing.key_id(public))


@router.get("/blocklist/entries", response_model=list[EntryRead])
def list_entries(
    session: SessionDep, caller: CallerDep, include_removed: bool = False
) -> list[EntryRead]:
    rows = service.list_entries(session, caller, include_removed=include_removed)
    return [EntryRead.model_validate(row) for row in rows]


@router.post("/blocklist/entries", response_model=EntryRead, status_code=status.HTTP_201_CREATED)
def add_entry(data: EntryCreate, session: SessionDep, caller: CallerDep) -> EntryRead:
    return EntryRead.model_validate(service.add_entry(session, caller, data))


@router.post("/blocklist/entries/{entry_id}/remove", response_model=EntryRead, responses=ACCEPTED)
def remove_entry(
    entry_id: uuid.UUID, data: EntryRemove, session: SessionDep, caller: CallerDep
) -> EntryRead | JSONResponse:
    """Take an entry off the list. From an agency that did not list it: the removal is
    proposed to that agency or the network coordinator (202)."""
    removed = service.remove_entry(session, caller, entry_id, reason=data.reason)
    if isinstance(removed, ChangeProposal):
        return accepted(session, caller, removed)
    return EntryRead.model_validate(removed)
