"""The TAXII 2.1 collections: which the caller may read, and their objects a page at a time.

Collections, with deterministic ids (the same on every restart, so a client's subscription
survives): the network's (every releasable GREEN row), and one per agency that has releasable
material (its own rows). Every member with the export permission may read all of them: GREEN is
what every member may see; the rule of what may leave is `interop.releasable`'s, once.

A collection is one ordered stream of STIX objects, each with the date it was added: first the
five TLP 2.0 marking definitions and the hub's identity, then, row by row in the order
(added_at, source, id) of the releasable hash entries and selectors, the objects each row
brings: its agency's identity at the agency's first row, an indicator at the first row of its
value (a value in two cases is one indicator), for a known file of a hash set its `file` object
and the relationship between the two (a hash held as a selector: its indicator only, so a file
in a hash set and a case is one `file` object). So every object appears once, with the
`date_added` of the row that brought it, and a page is a slice of the stream:

* `next` is an opaque token naming the last object given (its row and place in the row), so
  paging is exact even when many rows share one timestamp and while rows are added;
* `added_after` keeps objects added strictly later;
* `match[type]`, `match[id]`, `match[version]`, `match[spec_version]` filter the stream; a page
  scans a bounded number of rows, so a filter that matches little answers a short page with
  `more` and `next` rather than a slow one.

The wallet watch list (GREEN by construction) is a collection of its own, present while a wallet
is on it: the same head, then wallet by wallet in the order (listed_at, id) an indicator at the
first listing of its address and the listing agency's identity at its first wallet.

Known limit: a case turned GREEN later (or given back for export) brings rows whose `added_at`
is older than the client's last `added_after`; a client that polls by date misses them until
it reads the collection again from its start (a `next` token never skips them only if taken
after the change). Groupings per case are not served: a grouping changes with each selector
(TAXII objects are versions that never change); the STIX bundle export carries them.
"""

from __future__ import annotations

import heapq
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, Final

from sqlalchemy.orm import Session

from taskforce.core.audit.service import Operation, record
from taskforce.core.caller import Caller
from taskforce.core.errors import NotFound
from taskforce.interop import bundle, first_rows, markings, releasable, stix
from taskforce.interop.releasable import ReleasableAgency
from taskforce.interop.taxii_query import (
    HASHES,
    HEAD,
    MAX_ENTRY,
    PAST,
    SELECTORS,
    WALLETS,
    Filters,
    Position,
    encode_next,
    row_of_entry,
    row_of_selector,
    timestamp,
    version,
)

STIX_MEDIA_TYPE: Final = "application/stix+json;version=2.1"
# the namespace of the collections' ids (a constant: changing it breaks every subscription)
_COLLECTIONS: Final = uuid.UUID("0b6f6f3c-4d3e-5a43-9a51-7a1c3f0e2d17")
# the marking definitions' own `created` (OASIS): when they were added to every collection
_MARKINGS_ADDED: Final = datetime(2022, 10, 1, tzinfo=UTC)
_HUB_ADDED: Final = datetime.fromisoformat(stix.HUB_CREATED)
# a page reads at most this many rows per object it may return, so a filter that matches
# little costs a bounded read (and answers `more` with a `next` to go on from)
_SCAN_FACTOR: Final = 10

_NIL = uuid.UUID(int=0)
_MAX_UUID = uuid.UUID(int=(1 << 128) - 1)


# --- collections --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaxiiCollection:
    id: str
    title: str
    description: str
    agency: ReleasableAgency | None  # None: the network's (or the watch list)
    wallets: bool = False  # the wallet watch list's collection

    @property
    def agency_code(self) -> str | None:
        return None if self.agency is None else self.agency.code

    def resource(self) -> dict[str, Any]:
        """The collection resource (TAXII 2.1, 5.2.1): readable, never writable."""
        return {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "can_read": True,
            "can_write": False,
            "media_types": [STIX_MEDIA_TYPE],
        }


def network_collection_id() -> str:
    return str(uuid.uuid5(_COLLECTIONS, "network"))


def watchlist_collection_id() -> str:
    return str(uuid.uuid5(_COLLECTIONS, "watchlist"))


def agency_collection_id(agency_id: uuid.UUID) -> str:
    return str(uuid.uuid5(_COLLECTIONS, f"agency:{agency_id}"))


def require_reader(caller: Caller) -> None:
    """Who may use the TAXII server at all: whoever may export (a member agency's account)."""
    releasable.require_exporter(caller)


def readable(session: Session, caller: Caller) -> list[TaxiiCollection]:
    """The network's collection, then one per agency with releasable material, by code, then
    the wallet watch list's while a wallet is on it."""
    require_reader(caller)
    found = [
        TaxiiCollection(
            network_collection_id(),
            "Network: GREEN indicators",
            "Every member agency's releasable material: selectors of GREEN cases and entries "
            "of GREEN hash sets not marked 'not for export'. TLP:GREEN.",
            None,
        )
    ]
    for agency in releasable.agencies(session, caller):
        found.append(
            TaxiiCollection(
                agency_collection_id(agency.agency_id),
                f"{agency.code}: GREEN indicators",
                f"The releasable material of {agency.name} ({agency.code}). TLP:GREEN.",
                agency,
            )
        )
    if releasable.watched_wallets(session, caller, limit=1):
        found.append(
            TaxiiCollection(
                watchlist_collection_id(),
                "Watch list: GREEN wallets",
                "The wallets on the network's wallet watch list now, each by the agency that "
                "listed it (chain and address only). TLP:GREEN.",
                None,
                wallets=True,
            )
        )
    return found


def find(session: Session, caller: Caller, collection_id: str) -> TaxiiCollection:
    """One collection the caller may read; any other id (unknown, or an agency with nothing to
    pass on) answers 404 alike."""
    for collection in readable(session, caller):
        if collection.id == collection_id.strip().lower():
            return collection
    raise NotFound("collection")


# --- the stream ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    object: dict[str, Any]
    date_added: datetime
    position: Position


@dataclass
class Page:
    items: list[Item]
    more: bool
    next: str | None
    scanned: int = 0


def manifest_record(item: Item) -> dict[str, Any]:
    return {
        "id": item.object["id"],
        "date_added": timestamp(item.date_added),
        "version": version(item.object) or timestamp(item.date_added),
        "media_type": STIX_MEDIA_TYPE,
    }


def _head() -> list[Item]:
    found = [
        Item(d, _MARKINGS_ADDED, Position(_MARKINGS_ADDED, HEAD, "", i))
        for i, d in enumerate(markings.definitions())
    ]
    found.append(Item(stix.hub_identity(), _HUB_ADDED, Position(_HUB_ADDED, HEAD, "", 0)))
    return sorted(found, key=lambda item: item.position)


@dataclass
class _Context:
    """What a stream remembers while it runs: the agencies (for identities) and, per agency and
    source, whether a row of the agency came before the rows it reads now."""

    session: Session
    caller: Caller
    collection: TaxiiCollection
    agencies: dict[uuid.UUID, ReleasableAgency]
    preceded: set[tuple[uuid.UUID, int]] = field(default_factory=set)

    def identity_at(self, agency_id: uuid.UUID, row: Position) -> list[dict[str, Any]]:
        """The agency's identity if `row` is the agency's first row in the stream (its
        material in the agency's collection is the same as in the network's)."""
        agency = self.agencies.get(agency_id)
        if agency is None or (agency_id, row.source) in self.preceded:
            return []
        # each source's rows come in order: once one has been seen, later ones are not first
        self.preceded.add((agency_id, row.source))
        if row.source == SELECTORS:
            selectors_before = (row.added_at, uuid.UUID(hex=row.row))
            entries_before = (row.added_at, MAX_ENTRY)  # entries of the same moment come first
        else:
            selectors_before = (row.added_at, _NIL)
            entries_before = (row.added_at, int(row.row))
        if first_rows.agency_has_rows_before(
            self.session,
            self.caller,
            agency_id,
            selectors_before=selectors_before,
            entries_before=entries_before,
        ):
            return []
        return [bundle.agency_identity(agency)]


def _selector_rows(
    ctx: _Context, after: Position | None, batch: int
) -> Iterator[tuple[Position, list[dict[str, Any]]]]:
    """The selector rows after `after`, each with the objects it brings."""
    if after is None:
        cursor: tuple[datetime, uuid.UUID] | None = None
    elif after.source == SELECTORS:
        cursor = (after.added_at, uuid.UUID(int=max(0, int(after.row, 16) - 1)))
    else:
        cursor = (after.added_at, _NIL if after.source < SELECTORS else _MAX_UUID)
    fetch = partial(
        releasable.selectors,
        ctx.session,
        ctx.caller,
        agency_code=ctx.collection.agency_code,
        limit=batch,
    )
    for rows in releasable.pages(fetch, batch, cursor):
        first = first_rows.first_of_values(
            ctx.session, ctx.caller, rows, agency_code=ctx.collection.agency_code
        )
        for row in rows:
            position = Position(row.added_at, SELECTORS, row_of_selector(row.selector_id), 0)
            objects = ctx.identity_at(row.agency_id, position)
            if row.selector_id in first and stix.pattern(row.kind, row.value, row.platform):
                creator = stix.agency_identity_id(row.agency_code)
                # a hash held as a selector comes as its indicator only: `file` objects come
                # from the hash sets, once (the same file in both would otherwise come twice)
                objects.extend(
                    made
                    for made in bundle.selector_objects(row, creator)
                    if made["type"] == "indicator"
                )
            yield position, objects


def _hash_rows(
    ctx: _Context, after: Position | None, batch: int
) -> Iterator[tuple[Position, list[dict[str, Any]]]]:
    if after is None:
        cursor: tuple[datetime, int] | None = None
    elif after.source == HASHES:
        cursor = (after.added_at, int(after.row) - 1)
    else:
        cursor = (after.added_at, -1 if after.source < HASHES else MAX_ENTRY)
    fetch = partial(
        releasable.hash_entries,
        ctx.session,
        ctx.caller,
        agency_code=ctx.collection.agency_code,
        limit=batch,
    )
    for rows in releasable.pages(fetch, batch, cursor):
        first = first_rows.first_of_files(
            ctx.session, ctx.caller, rows, agency_code=ctx.collection.agency_code
        )
        for row in rows:
            position = Position(row.added_at, HASHES, row_of_entry(row.entry_id), 0)
            objects = ctx.identity_at(row.agency_id, position)
            if row.entry_id in first:
                objects.extend(bundle.hash_objects(row, stix.agency_identity_id(row.agency_code)))
            yield position, objects


def _wallet_rows(
    ctx: _Context, after: Position | None, batch: int
) -> Iterator[tuple[Position, list[dict[str, Any]]]]:
    """The watch list's wallets after `after`, each with the objects it brings."""
    if after is None:
        cursor: tuple[datetime, uuid.UUID] | None = None
    elif after.source == WALLETS:
        cursor = (after.added_at, uuid.UUID(int=max(0, int(after.row, 16) - 1)))
    else:
        cursor = (after.added_at, _NIL if after.source < WALLETS else _MAX_UUID)
    fetch = partial(releasable.watched_wallets, ctx.session, ctx.caller, limit=batch)
    for rows in releasable.pages(fetch, batch, cursor):
        first = first_rows.first_of_wallets(ctx.session, ctx.caller, rows)
        for row in rows:
            position = Position(row.listed_at, WALLETS, row.watch_id.hex, 0)
            objects: list[dict[str, Any]] = []
            agency = ctx.agencies.get(row.agency_id)
            if agency is not None and (row.agency_id, WALLETS) not in ctx.preceded:
                ctx.preceded.add((row.agency_id, WALLETS))
                if not first_rows.agency_has_wallets_before(
                    ctx.session, ctx.caller, row.agency_id, row.key
                ):
                    objects.append(bundle.agency_identity(agency))
            if row.watch_id in first:
                objects.append(bundle.watched_wallet(row))
            yield position, objects


def _items_of(
    rows: Iterator[tuple[Position, list[dict[str, Any]]]],
) -> Iterator[Item]:
    for position, objects in rows:
        for place, obj in enumerate(objects):
            yield Item(obj, position.added_at, position._replace(place=place))
        if not objects:  # a row that brings nothing still counts as read
            yield Item({}, position.added_at, position._replace(place=-1))


def _stream(ctx: _Context, after: Position | None, batch: int) -> Iterator[Item]:
    """The collection's objects after `after`, in order (rows that bring nothing included as
    empty items, so a scan can stop at them)."""
    head = (item for item in _head() if after is None or item.position > after)
    sources = (
        [_wallet_rows(ctx, after, batch)]
        if ctx.collection.wallets
        else [_hash_rows(ctx, after, batch), _selector_rows(ctx, after, batch)]
    )
    merged = heapq.merge(
        head, *(_items_of(rows) for rows in sources), key=lambda item: item.position
    )
    for item in merged:
        if after is None or item.position > after:
            yield item


def _agencies(
    session: Session, caller: Caller, collection: TaxiiCollection
) -> dict[uuid.UUID, ReleasableAgency]:
    found = releasable.agencies(session, caller, wallets=collection.wallets)
    return {a.agency_id: a for a in found}


def _start(filters: Filters) -> Position | None:
    """Where a page starts reading: after its `next` position, and past every row added at or
    before `added_after` (read from the index there, not scanned up to it)."""
    if filters.added_after is None:
        return filters.after
    # after every source's rows of that moment (the sources are numbered below PAST)
    floor = Position(filters.added_after, PAST, "", 0)
    return floor if filters.after is None else max(filters.after, floor)


def _read(
    session: Session,
    caller: Caller,
    collection: TaxiiCollection,
    filters: Filters,
    keep: Callable[[dict[str, Any], datetime], bool],
) -> Page:
    require_reader(caller)
    ctx = _Context(
        session,
        caller,
        collection,
        _agencies(session, caller, collection),
    )
    budget = filters.limit * _SCAN_FACTOR
    items: list[Item] = []
    last: Position | None = None
    scanned = 0
    stream = _stream(ctx, _start(filters), batch=filters.limit + 2)
    for item in stream:
        if len(items) == filters.limit or scanned >= budget:
            return Page(items, True, encode_next(last) if last else None, scanned)
        scanned += 1
        last = item.position
        if not item.object:
            continue
        if filters.added_after is not None and item.date_added <= filters.added_after:
            continue
        if keep(item.object, item.date_added):
            items.append(item)
    return Page(items, False, None, scanned)


def objects(
    session: Session,
    caller: Caller,
    collection: TaxiiCollection,
    filters: Filters,
    *,
    manifest: bool = False,
) -> Page:
    """One page of a collection (its objects, or their manifest), audited as a disclosure:
    which collection, how many objects."""
    page = _read(session, caller, collection, filters, filters.keeps)
    _audit(session, caller, collection, "taxii_manifest" if manifest else "taxii_objects", page)
    return page


def one_object(
    session: Session,
    caller: Caller,
    collection: TaxiiCollection,
    object_id: str,
    filters: Filters,
) -> Page:
    """An object by its id (every version; here each object has one). Ids are hashes of
    values, so the collection is read to find it; 404 when it is not there."""
    wanted = Filters(
        limit=1,
        added_after=filters.added_after,
        ids=frozenset({object_id}),
        versions=filters.versions,
        spec_versions=filters.spec_versions,
    )
    require_reader(caller)
    ctx = _Context(session, caller, collection, _agencies(session, caller, collection))
    found: list[Item] = []
    for item in _candidates(ctx, object_id):
        if item.object and item.object["id"] == object_id:
            if wanted.keeps(item.object, item.date_added) and (
                wanted.added_after is None or item.date_added > wanted.added_after
            ):
                found.append(item)
            break
    page = Page(found, False, None)
    _audit(session, caller, collection, "taxii_object", page)
    if not found:
        raise NotFound("object")
    return page


def _candidates(ctx: _Context, object_id: str) -> Iterator[Item]:
    """Where an object can be: the head's objects and agencies' identities are found without
    reading the rows (an identity sits at its agency's first row); any other id is a hash of
    a value, so the collection is read from its start."""
    if object_id.startswith("marking-definition--") or object_id == stix.HUB_IDENTITY:
        yield from _head()
        return
    if object_id.startswith("identity--"):
        for agency in ctx.agencies.values():
            if stix.agency_identity_id(agency.code) != object_id:
                continue
            if ctx.collection.agency not in (None, agency):  # another agency's collection
                return
            rows: list[Position] = []
            if ctx.collection.wallets:
                listed = releasable.watched_wallets(
                    ctx.session, ctx.caller, agency_code=agency.code, limit=1
                )
                if listed:
                    rows.append(Position(listed[0].listed_at, WALLETS, listed[0].watch_id.hex, 0))
                if rows:
                    yield from _stream(ctx, rows[0]._replace(place=-2), batch=2)
                return
            selectors = releasable.selectors(
                ctx.session, ctx.caller, agency_code=agency.code, limit=1
            )
            if selectors:
                first = selectors[0]
                rows.append(
                    Position(first.added_at, SELECTORS, row_of_selector(first.selector_id), 0)
                )
            entries = releasable.hash_entries(
                ctx.session, ctx.caller, agency_code=agency.code, limit=1
            )
            if entries:
                entry = entries[0]
                rows.append(Position(entry.added_at, HASHES, row_of_entry(entry.entry_id), 0))
            if rows:  # the stream from just before that row: the identity is its first object
                yield from _stream(ctx, min(rows)._replace(place=-2), batch=2)
        return
    yield from _stream(ctx, None, batch=1000)


def _audit(
    session: Session, caller: Caller, collection: TaxiiCollection, action: str, page: Page
) -> None:
    record(
        session,
        caller,
        action=action,
        operation=Operation.DISCLOSURE,
        subject_type="taxii_collection",
        subject_id=uuid.UUID(collection.id),
        subject_agency_id=None if collection.agency is None else collection.agency.agency_id,
        detail={
            "collection": collection.id,
            "agency": collection.agency_code,
            "objects": len(page.items),
            "more": page.more,
        },
    )
