"""Sharing levels and the one rule for who may see a record.

RED: the owning agency only. AMBER: the owner and the partner agencies named on the record.
GREEN: every member agency. Every service read of a shareable record goes through
`visible()`, `visible_or_404()` or `get_visible()`, so the rule lives here once; a record the
caller may not see is reported as missing (404), never as forbidden.

Access is decided here once for every domain (docs/architecture.md, "Access decided once"):
`visible_or_404` (the read with its audited refusal), `require_owner`, `is_owner` / `owns` /
`owned_by` / `authored_by` (the only owner comparisons outside core), `amber_partners` (the
partner rule of every shareable kind) and `sees` (what one agency may learn of another's
record, for hits).
A test (tests/test_access_rules.py) fails when a domain compares owners itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Iterable, Sequence
from enum import StrEnum
from typing import Any, NoReturn, Protocol, TypeVar

from sqlalchemy import ForeignKey, String, and_, delete, exists, false, or_, select
from sqlalchemy.orm import Mapped, QueryableAttribute, Session, mapped_column
from sqlalchemy.sql import ColumnElement, Select

from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.caller import Caller, Permission
from taskforce.core.db import Base
from taskforce.core.errors import Invalid, NotFound, TaskforceError


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
R = TypeVar("R", bound=Base)  # a row with `id` and `owner_agency_id` columns


class Owned(Protocol):
    """Any record with an owning agency (shareable or not: clue notices, proposals)."""

    @property
    def owner_agency_id(self) -> uuid.UUID | None: ...


class Identified(Protocol):
    @property
    def id(self) -> uuid.UUID: ...


A = TypeVar("A", bound=Identified)


# --- ownership -----------------------------------------------------------------------------


def owns(agency_id: uuid.UUID | None, record: Owned) -> bool:
    """Whether this agency owns the record (no agency owns anything)."""
    return agency_id is not None and record.owner_agency_id == agency_id


def is_owner(record: Owned, caller: Caller) -> bool:
    return owns(caller.agency_id, record)


def owned_by(
    owner_column: QueryableAttribute[uuid.UUID] | QueryableAttribute[uuid.UUID | None],
    caller: Caller,
) -> ColumnElement[bool]:
    """The SQL form of `is_owner` for a model's `owner_agency_id` column (a nullable one: no
    agency of this hub owns the row, as a peer node's watch list entry); `~owned_by(...)`
    selects the records of other agencies."""
    return owner_column == caller.agency_id


def authored_by(
    owner_column: QueryableAttribute[uuid.UUID] | QueryableAttribute[uuid.UUID | None],
    agency_id: uuid.UUID,
) -> ColumnElement[bool]:
    """Records of one agency, whoever asks: a filter on authorship ("this agency's material"
    in an export), never an access check; combine it with `visible` or a level rule."""
    return owner_column == agency_id


def require_owner(record: Owned, caller: Caller, refusal: TaskforceError) -> None:
    """Changes are the owner's. `refusal` says how others are answered: `Forbidden` where
    they may know the record exists (cases, notices), `NotFound` where 'not yours' must look
    like 'missing' (series, hash sets, proposals)."""
    if not is_owner(record, caller):
        raise refusal


# --- reading one record --------------------------------------------------------------------


def refuse(
    session: Session,
    caller: Caller,
    *,
    action: str,
    subject_type: str,
    subject_id: uuid.UUID,
    missing: str,
) -> NoReturn:
    """Audit a refused read (outcome `not_found`) and answer it as missing."""
    audit.record(
        session,
        caller,
        action=action,
        operation=Operation.CONSULTATION,
        subject_type=subject_type,
        subject_id=subject_id,
        outcome="not_found",
    )
    raise NotFound(missing)


def visible_or_404(
    session: Session,
    caller: Caller,
    model: type[T],
    record_id: uuid.UUID,
    *,
    subject_type: str,
    action: str | None,
    permission: Permission | None = Permission.READ,
) -> T:
    """The record if the caller may see it (and holds `permission`); otherwise NotFound
    ("hash set not found" for `subject_type` "hash_set"), the refusal audited as `action` on
    `subject_type` (the audit's word: "case", not the table's). `action` None: the refusal
    is not audited (hash sets: a lookup, not a consultation)."""
    missing = subject_type.replace("_", " ")
    if permission is not None:
        caller.require(permission)
    record = get_visible(session, model, record_id, caller)
    if record is None:
        if action is None:
            raise NotFound(missing)
        refuse(
            session,
            caller,
            action=action,
            subject_type=subject_type,
            subject_id=record_id,
            missing=missing,
        )
    return record


def owned_or_404(
    session: Session,
    caller: Caller,
    model: type[R],
    record_id: uuid.UUID,
    *,
    permission: Permission,
    action: str,
    subject_type: str,
    missing: str,
    where: Sequence[ColumnElement[bool]] = (),
) -> R:
    """A row of the caller's own agency, whatever its sharing level (commerce's sites, chat
    logs: material no partner sees), that also meets `where`; any other id is missing, the
    refusal audited as `action` on `subject_type`, so an id reveals nothing."""
    caller.require(permission)
    record = session.scalars(
        select(model).where(
            model.id == record_id,  # type: ignore[attr-defined]
            owned_by(model.owner_agency_id, caller),  # type: ignore[attr-defined]
            *where,
        )
    ).first()
    if record is None:
        refuse(
            session,
            caller,
            action=action,
            subject_type=subject_type,
            subject_id=record_id,
            missing=missing,
        )
    return record


# --- the partner rule ----------------------------------------------------------------------


def amber_partners(
    caller: Caller,
    level: SharingLevel,
    codes: Sequence[str],
    resolve: Callable[[Sequence[str]], Sequence[A]],
    *,
    noun: str,
) -> list[A]:
    """The partner agencies of a shareable record, the same rule for every kind (`noun`:
    "case", "hash set", "series"): an AMBER record names at least one partner other than its
    owner; a RED or GREEN one names none. `resolve` turns agency codes into agencies (and
    refuses unknown codes); the owner named as its own partner is dropped."""
    plural = noun if noun.endswith("s") else f"{noun}s"
    if level != SharingLevel.AMBER:
        if codes:
            raise Invalid("partners", f"partner agencies are named only on AMBER {plural}")
        return []
    partners = [a for a in resolve(codes) if a.id != caller.agency_id]
    if not partners:
        raise Invalid("partners", f"an AMBER {noun} names at least one partner agency")
    return partners


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


def visible(
    stmt: SelectT,
    model: type[Shareable],
    caller: Caller,
    *,
    also: ColumnElement[bool] | None = None,
) -> SelectT:
    """Only the rows the caller may see; `also`: rows visible for another reason too (a
    series whose identification status is public)."""
    clause = visible_clause(model, caller)
    return stmt.where(clause if also is None else or_(also, clause))


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
    if owns(caller.agency_id, record) or record.sharing == SharingLevel.GREEN:
        return True
    if record.sharing == SharingLevel.AMBER:
        return caller.agency_id in partner_ids(session, record)
    return False


def sees(agency_id: uuid.UUID, record: Shareable, partners: Collection[uuid.UUID]) -> bool:
    """The same rule as `can_see` for an agency rather than a caller, with the record's
    partners already read: what a hit discloses to the other side of a match, for many hits
    at once."""
    return (
        owns(agency_id, record)
        or record.sharing == SharingLevel.GREEN
        or (record.sharing == SharingLevel.AMBER and agency_id in partners)
    )


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
