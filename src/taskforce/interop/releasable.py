"""What may leave the hub: the one releasability rule every export (STIX, TAXII, MISP) reads.

A member passes on only what every member may already see and nobody has held back:

* the caller holds EXPORT_INDICATORS and acts for an agency;
* selectors of **GREEN** cases that are not marked "not for export", created on this node
  (`origin_node == "local"`: a peer node's records are not ours to pass on), not flagged as
  noise and whose value is not common (a value in very many cases is a shared service, not an
  indicator);
* entries of **GREEN** hash sets not marked "not for export";
* wallets on the wallet watch list now (GREEN by construction: every member receives it),
  listed on this node: the chain and address only, never the reason nor the site behind it.

AMBER and RED never leave, whatever their flag. Case titles and summaries never leave (only the
reference, the offence types and the owning agency), nor selector notes, raw input or who
added a selector: the rows below simply do not carry them.

Reads are keyset-paged by `(added_at, id)` (`after` = the last row's pair), so a million rows
stream in bounded memory and a TAXII `next` cursor is stable while rows are added.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import false, func, select, tuple_
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.agencies.models import Agency
from taskforce.cases.models import Case, Selector, SelectorValue
from taskforce.commerce.models import WalletWatch
from taskforce.core import sharing
from taskforce.core.caller import Caller, Permission
from taskforce.core.errors import Forbidden, Invalid
from taskforce.core.sharing import SharingLevel
from taskforce.hashsets.models import HashEntry, HashSet

# the one level that leaves the hub (interop.markings.EXPORTABLE says the same for markings)
RELEASABLE_LEVEL = SharingLevel.GREEN


@dataclass(frozen=True, slots=True)
class ReleasableAgency:
    agency_id: uuid.UUID
    code: str
    name: str
    country: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ReleasableCase:
    case_id: uuid.UUID
    reference: str
    created_at: datetime
    offence_types: tuple[str, ...]
    agency_id: uuid.UUID
    agency_code: str


@dataclass(frozen=True, slots=True)
class ReleasableSelector:
    selector_id: uuid.UUID
    kind: str  # a SelectorKind value
    value: str  # canonical
    platform: str | None
    added_at: datetime
    case_id: uuid.UUID
    case_reference: str
    case_created_at: datetime
    offence_types: tuple[str, ...]
    agency_id: uuid.UUID
    agency_code: str

    @property
    def key(self) -> tuple[datetime, uuid.UUID]:
        """The keyset position of this row: pass it as `after` for the next page."""
        return (self.added_at, self.selector_id)


@dataclass(frozen=True, slots=True)
class ReleasableHash:
    entry_id: int
    hash_set_id: uuid.UUID
    hash_set_name: str
    agency_id: uuid.UUID
    agency_code: str
    md5: str | None
    sha1: str | None
    sha256: str | None
    pdq: str | None
    added_at: datetime

    @property
    def key(self) -> tuple[datetime, int]:
        return (self.added_at, self.entry_id)


@dataclass(frozen=True, slots=True)
class ReleasableWallet:
    watch_id: uuid.UUID
    chain: str
    address: str
    listed_at: datetime
    agency_id: uuid.UUID
    agency_code: str

    @property
    def key(self) -> tuple[datetime, uuid.UUID]:
        return (self.listed_at, self.watch_id)


class _Keyed(Protocol):
    @property
    def key(self) -> Any: ...


_Row = TypeVar("_Row", bound=_Keyed)


def pages(
    fetch: Callable[..., Sequence[_Row]], limit: int, after: Any = None
) -> Iterator[Sequence[_Row]]:
    """Keyset pages: `fetch(after=...)` (one page of `limit` rows at most: `selectors`,
    `hash_entries`), each after the previous page's last key, until a page comes short."""
    while page := fetch(after=after):
        yield page
        if len(page) < limit:
            return
        after = page[-1].key


def require_exporter(caller: Caller) -> None:
    """Only a member agency's account with EXPORT_INDICATORS passes anything on."""
    caller.require(Permission.EXPORT_INDICATORS)
    if caller.agency_id is None:
        raise Forbidden("only an account of a member agency may export indicators")


def agency_by_code(session: Session, code: str) -> Agency:
    """The agency a filter names; an unknown code is bad input, not an empty export."""
    agency = session.scalar(select(Agency).where(Agency.code == code.strip().upper()))
    if agency is None:
        raise Invalid("agency", "no member agency has this code")
    return agency


def only_releasable_cases(stmt: Any, caller: Caller, agency_id: uuid.UUID | None) -> Any:
    """`stmt` (joined to Case) kept to releasable cases: GREEN, exportable, created here;
    of one agency's authorship when `agency_id` is given."""
    stmt = sharing.visible(stmt, Case, caller).where(
        Case.sharing == RELEASABLE_LEVEL,
        Case.not_for_export.is_(false()),
        Case.origin_node == "local",
    )
    if agency_id is not None:
        # whose material, not who may see it (GREEN: every member): a filter on authorship
        stmt = stmt.where(sharing.authored_by(Case.owner_agency_id, agency_id))
    return stmt


def only_releasable_sets(stmt: Any, caller: Caller, agency_id: uuid.UUID | None) -> Any:
    """`stmt` (joined to HashSet) kept to releasable hash sets: GREEN and exportable."""
    stmt = sharing.visible(stmt, HashSet, caller).where(
        HashSet.sharing == RELEASABLE_LEVEL, HashSet.not_for_export.is_(false())
    )
    if agency_id is not None:
        stmt = stmt.where(sharing.authored_by(HashSet.owner_agency_id, agency_id))
    return stmt


def only_releasable_watches(stmt: Any, agency_id: uuid.UUID | None) -> Any:
    """`stmt` on WalletWatch kept to wallets on the list now, listed on this node."""
    stmt = stmt.where(WalletWatch.removed_at.is_(None), WalletWatch.origin_node == "local")
    if agency_id is not None:
        stmt = stmt.where(sharing.authored_by(WalletWatch.owner_agency_id, agency_id))
    return stmt


def agency_id_of(session: Session, agency_code: str | None) -> uuid.UUID | None:
    """The agency a filter names (None: every agency's rows)."""
    return None if agency_code is None else agency_by_code(session, agency_code).id


def _codes(
    session: Session, ids: set[uuid.UUID], known: dict[uuid.UUID, str]
) -> dict[uuid.UUID, str]:
    missing = ids - known.keys()
    if missing:
        known.update(
            {a.id: a.code for a in agency_service.agencies_by_id(session, missing).values()}
        )
    return known


def cases(
    session: Session, caller: Caller, *, agency_code: str | None = None
) -> list[ReleasableCase]:
    """The releasable cases, oldest first (their references, never titles or summaries)."""
    require_exporter(caller)
    stmt = select(
        Case.id, Case.reference, Case.created_at, Case.offence_types, Case.owner_agency_id
    ).order_by(Case.created_at, Case.id)
    rows: Sequence[Any] = session.execute(
        only_releasable_cases(stmt, caller, agency_id_of(session, agency_code))
    ).all()
    codes = _codes(session, {r[4] for r in rows}, {})
    return [ReleasableCase(r[0], r[1], r[2], tuple(r[3] or ()), r[4], codes[r[4]]) for r in rows]


def selectors(
    session: Session,
    caller: Caller,
    *,
    agency_code: str | None = None,
    case_ids: Collection[uuid.UUID] | None = None,
    since: datetime | None = None,
    after: tuple[datetime, uuid.UUID] | None = None,
    limit: int,
) -> list[ReleasableSelector]:
    """One keyset page of releasable selectors ordered by (added_at, id); `case_ids`: only
    those cases' (the bundle writer walks case by case), `since`: added at or after."""
    require_exporter(caller)
    stmt = (
        select(
            Selector.id,
            Selector.kind,
            Selector.value,
            Selector.platform,
            Selector.added_at,
            Case.id,
            Case.reference,
            Case.created_at,
            Case.offence_types,
            Case.owner_agency_id,
        )
        .join(Case, Selector.case_id == Case.id)
        .join(SelectorValue, Selector.value_id == SelectorValue.id)
        .where(Selector.noise_reason.is_(None), SelectorValue.is_common.is_(false()))
        .order_by(Selector.added_at, Selector.id)
        .limit(max(1, limit))
    )
    stmt = only_releasable_cases(stmt, caller, agency_id_of(session, agency_code))
    if case_ids is not None:
        stmt = stmt.where(Selector.case_id.in_(list(case_ids)) if case_ids else false())
    if since is not None:
        stmt = stmt.where(Selector.added_at >= since)
    if after is not None:
        stmt = stmt.where(tuple_(Selector.added_at, Selector.id) > tuple_(*after))
    rows: Sequence[Any] = session.execute(stmt).all()
    codes = _codes(session, {r[9] for r in rows}, {})
    offences: dict[uuid.UUID, tuple[str, ...]] = {}
    return [
        ReleasableSelector(
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            r[5],
            r[6],
            r[7],
            offences.setdefault(r[5], tuple(r[8] or ())),
            r[9],
            codes[r[9]],
        )
        for r in rows
    ]


def case_selector_rows(
    session: Session,
    caller: Caller,
    *,
    case_id: uuid.UUID,
    since: datetime | None = None,
    after: tuple[datetime, uuid.UUID] | None = None,
    limit: int,
) -> Sequence[Any]:
    """One keyset page of one releasable case's releasable selectors as bare rows
    `(id, kind, value, platform, added_at)`: the same rule as `selectors`, without repeating
    the case on every row (the bundle writer's hot path: a million rows)."""
    require_exporter(caller)
    stmt = (
        select(Selector.id, Selector.kind, Selector.value, Selector.platform, Selector.added_at)
        .join(Case, Selector.case_id == Case.id)
        .join(SelectorValue, Selector.value_id == SelectorValue.id)
        .where(
            Selector.case_id == case_id,
            Selector.noise_reason.is_(None),
            SelectorValue.is_common.is_(false()),
        )
        .order_by(Selector.added_at, Selector.id)
        .limit(max(1, limit))
    )
    stmt = only_releasable_cases(stmt, caller, None)
    if since is not None:
        stmt = stmt.where(Selector.added_at >= since)
    if after is not None:
        stmt = stmt.where(tuple_(Selector.added_at, Selector.id) > tuple_(*after))
    return session.execute(stmt).all()


def _hash_query(session: Session, caller: Caller, agency_code: str | None, limit: int) -> Any:
    stmt = select(
        HashEntry.id,
        HashSet.id,
        HashSet.name,
        HashSet.owner_agency_id,
        HashEntry.md5,
        HashEntry.sha1,
        HashEntry.sha256,
        HashEntry.pdq,
        HashEntry.added_at,
    ).join(HashSet, HashEntry.hash_set_id == HashSet.id)
    return only_releasable_sets(stmt, caller, agency_id_of(session, agency_code)).limit(
        max(1, limit)
    )


def _hash_rows(session: Session, stmt: Any) -> list[ReleasableHash]:
    rows: Sequence[Any] = session.execute(stmt).all()
    codes = _codes(session, {r[3] for r in rows}, {})
    return [
        ReleasableHash(r[0], r[1], r[2], r[3], codes[r[3]], r[4], r[5], r[6], r[7], r[8])
        for r in rows
    ]


def hash_entries(
    session: Session,
    caller: Caller,
    *,
    agency_code: str | None = None,
    since: datetime | None = None,
    after: tuple[datetime, int] | None = None,
    limit: int,
) -> list[ReleasableHash]:
    """One keyset page of releasable hash-set entries ordered by (added_at, id): their exact
    hashes and PDQ (never their source, series or category notes)."""
    require_exporter(caller)
    stmt = _hash_query(session, caller, agency_code, limit)
    stmt = stmt.order_by(HashEntry.added_at, HashEntry.id)
    if since is not None:
        stmt = stmt.where(HashEntry.added_at >= since)
    if after is not None:
        stmt = stmt.where(tuple_(HashEntry.added_at, HashEntry.id) > tuple_(*after))
    return _hash_rows(session, stmt)


def hash_entries_by_id(
    session: Session,
    caller: Caller,
    *,
    agency_code: str | None = None,
    since: datetime | None = None,
    after_id: int | None = None,
    limit: int,
) -> list[ReleasableHash]:
    """The same rows paged by the entry's integer key alone, which the primary key serves
    without sorting: the whole-export writer's walk through ten million entries."""
    require_exporter(caller)
    stmt = _hash_query(session, caller, agency_code, limit).order_by(HashEntry.id)
    if since is not None:
        stmt = stmt.where(HashEntry.added_at >= since)
    if after_id is not None:
        stmt = stmt.where(HashEntry.id > after_id)
    return _hash_rows(session, stmt)


def agencies(
    session: Session, caller: Caller, *, agency_code: str | None = None, wallets: bool = False
) -> list[ReleasableAgency]:
    """The agencies that have releasable cases or hash sets (with `wallets`, or wallets on the
    watch list: the bundle's identities), by code."""
    require_exporter(caller)
    agency_id = agency_id_of(session, agency_code)
    case_owners = only_releasable_cases(select(Case.owner_agency_id).distinct(), caller, agency_id)
    set_owners = only_releasable_sets(select(HashSet.owner_agency_id).distinct(), caller, agency_id)
    ids = set(session.scalars(case_owners)) | set(session.scalars(set_owners))
    if wallets:
        listers = only_releasable_watches(select(WalletWatch.owner_agency_id).distinct(), agency_id)
        ids |= set(session.scalars(listers))
    found = agency_service.agencies_by_id(session, ids)
    return [
        ReleasableAgency(a.id, a.code, a.name, a.country, a.created_at)
        for a in sorted(found.values(), key=lambda a: a.code)
    ]


def watched_wallets(
    session: Session,
    caller: Caller,
    *,
    agency_code: str | None = None,
    since: datetime | None = None,
    after: tuple[datetime, uuid.UUID] | None = None,
    limit: int,
) -> list[ReleasableWallet]:
    """One keyset page of the wallets on the watch list now, ordered by (listed_at, id):
    chain, address and the listing agency (never the reason, the site or the case)."""
    require_exporter(caller)
    stmt = (
        select(
            WalletWatch.id,
            WalletWatch.chain,
            WalletWatch.address,
            WalletWatch.listed_at,
            WalletWatch.owner_agency_id,
        )
        .order_by(WalletWatch.listed_at, WalletWatch.id)
        .limit(max(1, limit))
    )
    stmt = only_releasable_watches(stmt, agency_id_of(session, agency_code))
    if since is not None:
        stmt = stmt.where(WalletWatch.listed_at >= since)
    if after is not None:
        stmt = stmt.where(tuple_(WalletWatch.listed_at, WalletWatch.id) > tuple_(*after))
    rows: Sequence[Any] = session.execute(stmt).all()
    codes = _codes(session, {r[4] for r in rows}, {})
    return [ReleasableWallet(r[0], r[1], r[2], r[3], r[4], codes[r[4]]) for r in rows]


def is_releasable_case(session: Session, caller: Caller, case_id: uuid.UUID) -> bool:
    """Whether one case's material may leave the hub (for pages that say so)."""
    require_exporter(caller)
    stmt = only_releasable_cases(select(Case.id).where(Case.id == case_id), caller, None)
    return session.scalar(stmt) is not None


@dataclass(frozen=True)
class ReleasableCount:
    """How much of one agency's material may leave the hub (the interop page's summary)."""

    agency_code: str
    cases: int
    selectors: dict[str, int]  # SelectorKind value -> releasable selectors
    hash_sets: int
    hash_entries: int

    @property
    def selector_total(self) -> int:
        return sum(self.selectors.values())


def counts(session: Session, caller: Caller) -> list[ReleasableCount]:
    """The releasable material per owning agency, by code: the rule of `selectors` and
    `hash_entries`, counted in SQL (a page's summary, not a walk over a million rows)."""
    require_exporter(caller)
    case_rows = session.execute(
        only_releasable_cases(
            select(Case.owner_agency_id, func.count()).group_by(Case.owner_agency_id),
            caller,
            None,
        )
    ).all()
    selector_rows = session.execute(
        only_releasable_cases(
            select(Case.owner_agency_id, Selector.kind, func.count())
            .select_from(Selector)
            .join(Case, Selector.case_id == Case.id)
            .join(SelectorValue, Selector.value_id == SelectorValue.id)
            .where(Selector.noise_reason.is_(None), SelectorValue.is_common.is_(false()))
            .group_by(Case.owner_agency_id, Selector.kind),
            caller,
            None,
        )
    ).all()
    set_rows = session.execute(
        only_releasable_sets(
            select(
                HashSet.owner_agency_id,
                func.count(func.distinct(HashSet.id)),
                func.count(HashEntry.id),
            )
            .select_from(HashSet)
            .outerjoin(HashEntry, HashEntry.hash_set_id == HashSet.id)
            .group_by(HashSet.owner_agency_id),
            caller,
            None,
        )
    ).all()
    cases_of = {r[0]: int(r[1]) for r in case_rows}
    sets_of = {r[0]: (int(r[1]), int(r[2])) for r in set_rows}
    kinds: dict[uuid.UUID, dict[str, int]] = {}
    for owner, kind, n in selector_rows:
        kinds.setdefault(owner, {})[kind] = int(n)
    owners = set(cases_of) | set(sets_of)
    codes = _codes(session, owners, {})
    return sorted(
        (
            ReleasableCount(
                agency_code=codes[owner],
                cases=cases_of.get(owner, 0),
                selectors=dict(sorted(kinds.get(owner, {}).items())),
                hash_sets=sets_of.get(owner, (0, 0))[0],
                hash_entries=sets_of.get(owner, (0, 0))[1],
            )
            for owner in owners
        ),
        key=lambda c: c.agency_code,
    )


__all__ = [
    "ReleasableAgency",
    "ReleasableCase",
    "ReleasableCount",
    "ReleasableHash",
    "ReleasableSelector",
    "ReleasableWallet",
    "agencies",
    "agency_by_code",
    "agency_id_of",
    "case_selector_rows",
    "cases",
    "counts",
    "hash_entries",
    "hash_entries_by_id",
    "only_releasable_cases",
    "only_releasable_sets",
    "only_releasable_watches",
    "require_exporter",
    "selectors",
    "watched_wallets",
]
