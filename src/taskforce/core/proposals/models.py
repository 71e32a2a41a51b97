"""A proposed change to a shared record, and what became of it.

One table for every kind of record (hosting providers, their networks, block-list entries, and
whatever needs the same rule later): the kind names the domain's apply function, the payload
holds what it needs, and the proposal keeps who asked, who decided, why, and what was done.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from taskforce.core.db import Base, UTCDateTime, UUIDPk, utcnow


class ChangeProposal(Base, UUIDPk):
    __tablename__ = "change_proposal"

    kind: Mapped[str] = mapped_column(String(64), index=True)  # e.g. "hosting.provider.update"
    target_type: Mapped[str] = mapped_column(String(40))  # e.g. "hosting_provider"
    target_id: Mapped[uuid.UUID] = mapped_column(index=True)
    target_label: Mapped[str] = mapped_column(String(300))  # what it was called when proposed
    # Who decides besides the stewards (network admins, the network coordinator); NULL: the
    # record is the network's, and only the stewards decide.
    owner_agency_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agency.id"), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # for the apply function
    summary: Mapped[str] = mapped_column(String(1000))  # the change in words, as proposed
    reason: Mapped[str] = mapped_column(String(1000), default="")  # the proposer's why
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    proposed_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    proposed_by: Mapped[str] = mapped_column(String(400))  # label: e-mail (agency)
    proposer_agency_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agency.id"), index=True
    )
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    decided_by: Mapped[str | None] = mapped_column(String(400))
    decision_reason: Mapped[str] = mapped_column(String(1000), default="")
    outcome: Mapped[str] = mapped_column(String(1000), default="")  # what applying it did
