"""Sharing levels and the one rule for who may see a record.

RED: the owning agency only. AMBER: the owner and the partner agencies named on the record.
GREEN: every member agency. Every service read of a shareable record goes through
`visible()` or `get_visible()`, so the rule lives here once; a record the caller may not see
is reported as missing (404), never as forbidden.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import ForeignKey, String, and_, delete, exists, false, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.sql import ColumnElement, Select

from taskforce.core.caller import Caller
from taskforce.core.db import Base


class SharingLevel(StrEnum):
    RED = "red"
    AMBER = "amber"
    GREEN = "green"


class SharingPartner(Base):
    """An agency named on an AMBER record."""

    __tablename__ = "sharing_partner"

    subject_table: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    agency_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agency.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Shareable:
    """Mixin for records with an owning agency and a sharing level."""

    owner_agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agency.id"), index=True)
    sharing: Mapped[SharingLevel] = mapped_column(String(8), default=SharingLevel.RED)


T = TypeVar("T", bound=Shareable)


def visible_clause(model: type[Shareable], caller: Caller) -> ColumnElement[bool]:
    if caller.agency_id is None:
        return false()
    table = model.__tablename__  # type: ignore[attr-defined]
    partner = exists().where(
        SharingPartner.subject_table == table,
        SharingPartner.subject_id == model.id,  # type: ignore[attr-defined]
        SharingPartner.agency_id == caller.agency_id,
    )
    return or_(
        model.owner_agency_id == caller.agency_id,
        model.sharing == SharingLevel.GREEN,
        and_(model.sharing == SharingLevel.AMBER, partner),
    )


SelectT = TypeVar("SelectT", bound="Select[*tuple[Any, ...]]")


def visible(stmt: SelectT, model: type[Shareable], caller: Caller) -> SelectT:
    return stmt.where(visible_clause(model, caller))


def get_visible(session: Session, model: type[T], record_id: uuid.UUID, caller: Caller) -> T | None:
    """The record if the caller may see it, else None (missing and invisible look the same).

    A primary-key get plus the same rule as `visible_clause`, checked in Python: one cheap
    query on the hot path of every addition instead of a correlated EXISTS.
    """
    record = session.get(model, record_id)
    if record is None or not can_see(session, record, caller):
        return None
    return record


def can_see(session: Session, record: Shareable, caller: Caller) -> bool:
    if caller.agency_id is None:
        return False
    if record.owner_agency_id == caller.agency_id or record.sharing == SharingLevel.GREEN:
        return True
    if record.sharing == SharingLevel.AMBER:
        return caller.agency_id in partner_ids(session, record)
    return False


def partner_ids(session: Session, record: Shareable) -> set[uuid.UUID]:
    rows = session.scalars(
        select(SharingPartner.agency_id).where(
            SharingPartner.subject_table == record.__tablename__,  # type: ignore[attr-defined]
            SharingPartner.subject_id == record.id,  # type: ignore[attr-defined]
        )
    )
    return set(rows)


def partner_ids_of(
    session: Session, model: type[Shareable], ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, set[uuid.UUID]]:
    """The named partner agencies of many records of one table, in one query."""
    wanted = list(set(ids))
    found: dict[uuid.UUID, set[uuid.UUID]] = {}
    if not wanted:
        return found
    rows = session.execute(
        select(SharingPartner.subject_id, SharingPartner.agency_id).where(
            SharingPartner.subject_table == model.__tablename__,  # type: ignore[attr-defined]
            SharingPartner.subject_id.in_(wanted),
        )
    )
    for subject_id, agency_id in rows:
        found.setdefault(subject_id, set()).add(agency_id)
    return found


def set_partners(session: Session, record: Shareable, agency_ids: Iterable[uuid.UUID]) -> None:
    table = record.__tablename__  # type: ignore[attr-defined]
    session.execute(
        delete(SharingPartner).where(
            SharingPartner.subject_table == table,
            SharingPartner.subject_id == record.id,  # type: ignore[attr-defined]
        )
    )
    for agency_id in sorted(set(agency_ids)):
        session.add(
            SharingPartner(subject_table=table, subject_id=record.id, agency_id=agency_id)  # type: ignore[attr-defined]
        )
    session.flush()
