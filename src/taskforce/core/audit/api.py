from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from taskforce.core.audit import service
from taskforce.core.audit.verify import load_evidence
from taskforce.core.audit.verify import verify as verify_log
from taskforce.core.caller import Permission
from taskforce.core.http import CallerDep, SessionDep, SettingsDep
from taskforce.core.pagination import limit_query

router = APIRouter(prefix="/audit", tags=["audit"])


class AuditEntryRead(BaseModel):
    seq: int
    at: datetime
    actor_label: str
    actor_agency_id: uuid.UUID | None
    role: str
    channel: str
    ip: str | None
    action: str
    operation: str
    subject_type: str | None
    subject_id: uuid.UUID | None
    justification: str | None
    recipients: list[str]
    outcome: str
    detail: dict[str, Any]
    entry_hash: str


class VerifyRead(BaseModel):
    """The whole log checked against its Merkle tree and this hub's signed heads."""

    ok: bool
    checked: int
    sealed: int
    pending: int
    root: str
    heads_checked: int
    newest_head: int | None
    leaves_exported: int | None
    first_bad_seq: int | None
    first_bad_index: int | None
    reason: str | None


@router.get("", response_model=list[AuditEntryRead])
def list_entries(
    session: SessionDep,
    caller: CallerDep,
    action: str | None = Query(default=None, max_length=64),
    limit: int = limit_query(200, 1000),
) -> list[Any]:
    return list(service.list_entries(session, caller, action=action, limit=limit))


@router.get("/verify", response_model=VerifyRead)
def verify(session: SessionDep, caller: CallerDep, settings: SettingsDep) -> VerifyRead:
    caller.require(Permission.READ_AUDIT)
    evidence = load_evidence(settings)
    try:
        result = verify_log(session, evidence)
    finally:
        evidence.close()
    return VerifyRead(**result.__dict__)
