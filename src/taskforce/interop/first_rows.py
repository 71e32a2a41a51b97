"""Each value once: the TAXII server gives an object at the first releasable row that brings
it (an indicator at the first row of its value, a `file` at the first entry of its file, a
wallet at its first listing, an agency's identity with its first row). Given one page of rows,
these say which are firsts, reading only what lies before the page: the rule of what may leave
is `interop.releasable`'s, applied here as its filters.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, false, or_, select, tuple_
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from taskforce.cases.models import Case, Selector, SelectorValue
from taskforce.commerce.models import WalletWatch
from taskforce.core.caller import Caller
from taskforce.hashsets.models import HashEntry, HashSet
from taskforce.interop.releasable import (
    ReleasableHash,
    ReleasableSelector,
    ReleasableWallet,
    agency_id_of,
    only_releasable_cases,
    only_releasable_sets,
    only_releasable_watches,
    require_exporter,
)


def _file_key(md5: str | None, sha1: str | None, sha256: str | None, pdq: str | None) -> str:
    """What a STIX `file` id is made of (MD5, else SHA-1, else SHA-256: STIX 2.1 §6.7), or the
    PDQ of an entry known by PDQ alone."""
    for name, digest in (("md5", md5), ("sha1", sha1), ("sha256", sha256), ("pdq", pdq)):
        if digest:
            return f"{name}:{digest}"
    return ""


def first_of_values(
    session: Session,
    caller: Caller,
    rows: Sequence[ReleasableSelector],
    *,
    agency_code: str | None = None,
) -> set[uuid.UUID]:
    """Of `rows` (one page of `selectors`, in order), the ones that are the first releasable
    row of their value: a value held in two cases is one indicator, given once."""
    require_exporter(caller)
    if not rows:
        return set()
    value_of = dict(
        session.execute(
            select(Selector.id, Selector.value_id).where(
                Selector.id.in_([r.selector_id for r in rows])
            )
        ).all()
    )
    stmt = (
        select(Selector.value_id)
        .distinct()
        .join(Case, Selector.case_id == Case.id)
        .join(SelectorValue, Selector.value_id == SelectorValue.id)
        .where(
            Selector.noise_reason.is_(None),
            SelectorValue.is_common.is_(false()),
            Selector.value_id.in_(set(value_of.values())),
            tuple_(Selector.added_at, Selector.id) < tuple_(*rows[0].key),
        )
    )
    seen = set(
        session.scalars(only_releasable_cases(stmt, caller, agency_id_of(session, agency_code)))
    )
    first: set[uuid.UUID] = set()
    for row in rows:
        value_id = value_of.get(row.selector_id)
        if value_id not in seen:
            first.add(row.selector_id)
            seen.add(value_id)
    return first


def first_of_files(
    session: Session,
    caller: Caller,
    rows: Sequence[ReleasableHash],
    *,
    agency_code: str | None = None,
) -> set[int]:
    """Of `rows` (one page of `hash_entries`, in order), the ones that are the first releasable
    entry of their file (the same STIX `file` id; or the same PDQ for an entry known by PDQ
    alone): a file in two hash sets is given once."""
    require_exporter(caller)
    if not rows:
        return set()
    wanted: dict[str, set[str]] = {"md5": set(), "sha1": set(), "sha256": set(), "pdq": set()}
    for row in rows:
        name, _, digest = _file_key(row.md5, row.sha1, row.sha256, row.pdq).partition(":")
        if digest:
            wanted[name].add(digest)
    clauses: list[ColumnElement[bool]] = []
    if wanted["md5"]:
        clauses.append(HashEntry.md5.in_(wanted["md5"]))
    if wanted["sha1"]:
        clauses.append(and_(HashEntry.md5.is_(None), HashEntry.sha1.in_(wanted["sha1"])))
    if wanted["sha256"]:
        clauses.append(
            and_(
                HashEntry.md5.is_(None),
                HashEntry.sha1.is_(None),
                HashEntry.sha256.in_(wanted["sha256"]),
            )
        )
    if wanted["pdq"]:
        clauses.append(
            and_(
                HashEntry.md5.is_(None),
                HashEntry.sha1.is_(None),
                HashEntry.sha256.is_(None),
                HashEntry.pdq.in_(wanted["pdq"]),
            )
        )
    seen: set[str] = set()
    if clauses:
        stmt = (
            select(HashEntry.md5, HashEntry.sha1, HashEntry.sha256, HashEntry.pdq)
            .distinct()
            .join(HashSet, HashEntry.hash_set_id == HashSet.id)
            .where(or_(*clauses), tuple_(HashEntry.added_at, HashEntry.id) < tuple_(*rows[0].key))
        )
        stmt = only_releasable_sets(stmt, caller, agency_id_of(session, agency_code))
        seen = {_file_key(*found) for found in session.execute(stmt)}
    first: set[int] = set()
    for row in rows:
        key = _file_key(row.md5, row.sha1, row.sha256, row.pdq)
        if key and key not in seen:
            first.add(row.entry_id)
            seen.add(key)
    return first


def agency_has_rows_before(
    session: Session,
    caller: Caller,
    agency_id: uuid.UUID,
    *,
    selectors_before: tuple[datetime, uuid.UUID],
    entries_before: tuple[datetime, int],
) -> bool:
    """Whether the agency has a releasable selector before one keyset position or a releasable
    hash entry before another: the TAXII server gives an agency's identity with its first row.
    An EXISTS, not the first row sorted: it stops at any earlier row."""
    require_exporter(caller)
    earlier_selector = only_releasable_cases(
        select(Selector.id)
        .join(Case, Selector.case_id == Case.id)
        .join(SelectorValue, Selector.value_id == SelectorValue.id)
        .where(
            Selector.noise_reason.is_(None),
            SelectorValue.is_common.is_(false()),
            tuple_(Selector.added_at, Selector.id) < tuple_(*selectors_before),
        )
        .limit(1),
        caller,
        agency_id,  # the agency's own material: the same authorship filter as agency_code
    )
    if session.scalar(earlier_selector) is not None:
        return True
    earlier_entry = only_releasable_sets(
        select(HashEntry.id)
        .join(HashSet, HashEntry.hash_set_id == HashSet.id)
        .where(tuple_(HashEntry.added_at, HashEntry.id) < tuple_(*entries_before))
        .limit(1),
        caller,
        agency_id,
    )
    return session.scalar(earlier_entry) is not None


def first_of_wallets(
    session: Session, caller: Caller, rows: Sequence[ReleasableWallet]
) -> set[uuid.UUID]:
    """Of `rows` (one page of `watched_wallets`, in order), the first listing of each address:
    a wallet two agencies listed is one indicator, given once."""
    require_exporter(caller)
    if not rows:
        return set()
    stmt = only_releasable_watches(
        select(WalletWatch.address)
        .distinct()
        .where(
            WalletWatch.address.in_({r.address for r in rows}),
            tuple_(WalletWatch.listed_at, WalletWatch.id) < tuple_(*rows[0].key),
        ),
        None,
    )
    seen = set(session.scalars(stmt))
    first: set[uuid.UUID] = set()
    for row in rows:
        if row.address not in seen:
            first.add(row.watch_id)
            seen.add(row.address)
    return first


def agency_has_wallets_before(
    session: Session, caller: Caller, agency_id: uuid.UUID, before: tuple[datetime, uuid.UUID]
) -> bool:
    """Whether the agency listed a wallet on the list now before a keyset position (the TAXII
    watch-list collection gives an agency's identity with its first wallet)."""
    require_exporter(caller)
    stmt = only_releasable_watches(
        select(WalletWatch.id)
        .where(tuple_(WalletWatch.listed_at, WalletWatch.id) < tuple_(*before))
        .limit(1),
        agency_id,
    )
    return session.scalar(stmt) is not None
