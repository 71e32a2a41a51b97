from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from taskforce.core.audit import service
from taskforce.core.caller import Permission
from taskforce.core.http import CallerDep, SessionDep

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
    ok: bool
    checked: int
    head: str
    first_bad_seq: int | None
    reason: str | None


@router.get("", response_model=list[AuditEntryRead])
def list_entries(
    session: SessionDep,
    caller: CallerDep,
    action: str | None = Query(default=None, max_length=64),
    limit: int = Query(default=200, ge=1, le=1000),
) -> list[Any]:
    return list(service.list_entries(session, caller, action=action, limit=limit))


@router.get("/verify", response_model=VerifyRead)
def verify(session: SessionDep, caller: CallerDep) -> VerifyRead:
    caller.require(Permission.READ_AUDIT)
    result = service.verify(session)
    return VerifyRead(**result.__dict__)
