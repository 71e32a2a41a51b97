"""What the proposals API takes and gives."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ProposalRead(BaseModel):
    """A proposed change to a shared record and, once decided, the decision."""

    id: uuid.UUID
    kind: str = Field(description='e.g. "hosting.provider.update", "blocklist.remove"')
    title: str = Field(description="the kind in words")
    target_type: str = Field(description='"hosting_provider", "blocklist_entry", ...')
    target_id: uuid.UUID
    target_label: str = Field(description="the record's name when the change was proposed")
    owner_agency: str | None = Field(
        description="code of the agency that keeps the record; null: the network coordinator"
    )
    summary: str = Field(description="the change in words")
    payload: dict[str, Any]
    reason: str = Field(description="why the proposer asks for it")
    state: str = Field(description="pending, approved or rejected")
    proposed_at: datetime
    proposed_by: str
    proposer_agency: str | None
    decided_at: datetime | None
    decided_by: str | None
    decision_reason: str
    outcome: str = Field(description="what approving it did")
    now: str | None = Field(description="the record as it is now; null: it no longer exists")
    can_decide: bool = Field(description="whether the caller may approve or reject it")


class ProposalPage(BaseModel):
    items: list[ProposalRead]
    total: int
    limit: int
    offset: int


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(
        default="", max_length=1000, description="why; required to reject, optional to approve"
    )
