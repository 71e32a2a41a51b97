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

import base64
import binascii
import heapq
import json
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, Final, NamedTuple

from sqlalchemy.orm import Session

from taskforce.core.audit.service import Operation, record
from taskforce.core.caller import Caller
from taskforce.core.errors import Invalid, NotFound
from taskforce.interop import bundle, markings, releasable, stix
from taskforce.interop.releasable import ReleasableAgency

STIX_MEDIA_TYPE: Final = "application/stix+json;version=2.1"
QUERY_PARAMETERS: Final = frozenset(
    {
        "added_after",
        "limit",
        "next",
        "match[id]",
        "match[type]",
        "match[version]",
        "match[spec_version]",
    }
)
# the namespace of the collections' ids (a constant: changing it breaks every subscription)
_COLLECTIONS: Final = uuid.UUID("0b6f6f3c-4d3e-5a43-9a51-7a1c3f0e2d17")
# the marking definitions' own `created` (OASIS): when they were added to every collection
_MARKINGS_ADDED: Final = datetime(2022, 10, 1, tzinfo=UTC)
_HUB_ADDED: Final = datetime.fromisoformat(stix.HUB_CREATED)
# a page reads at most this many rows per object it may return, so a filter that matches
# little costs a bounded read (and answers `more` with a `next` to go on from)
_SCAN_FACTOR: Final = 10

_HEAD, _HASHES, _SELECTORS, _WALLETS = 0, 1, 2, 3
_PAST = 4  # a position after every row of its moment (`added_after`)
_NIL = uuid.UUID(int=0)
_MAX_UUID = uuid.UUID(int=(1 << 128) - 1)
_MAX_ENTRY = (1 << 63) - 1


def timestamp(moment: datetime) -> str:
    """A TAXII timestamp: UTC, microseconds (a `date_added` must keep rows apart), `Z`."""
    moment = moment.astimezone(UTC) if moment.tzinfo is not None else moment
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


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


# --- positions and page tokens -----------------------------------------------------------------


class Position(NamedTuple):
    """Where an object sits in its collection's stream: its row (date added, source, id) and
    its place among the row's objects. Ordered as the stream is."""

    added_at: datetime
    source: int
    row: str  # a selector's uuid (hex), a hash entry's number (zero-padded), "" for the head
    place: int


def _row_of_selector(selector_id: uuid.UUID) -> str:
    return selector_id.hex


def _row_of_entry(entry_id: int) -> str:
    return f"{entry_id:020d}"


def encode_next(position: Position) -> str:
    raw = json.dumps(
        [timestamp(position.added_at), position.source, position.row, position.place],
        separators=(",", ":"),
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


_ROW: Final = {
    _HEAD: re.compile(r"^$"),
    _HASHES: re.compile(r"^\d{20}$"),
    _SELECTORS: re.compile(r"^[0-9a-f]{32}$"),
    _WALLETS: re.compile(r"^[0-9a-f]{32}$"),
}


def parse_next(token: str) -> Position:
    """A `next` token this server gave; anything else is refused (400), never guessed at."""
    bad = Invalid("next", "must be a page token this server gave (from a previous page)")
    if len(token) > 200:
        raise bad
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        at, source, row, place = json.loads(raw)
        added_at = datetime.fromisoformat(at)
    except (ValueError, TypeError, binascii.Error, RecursionError):
        raise bad from None
    if (
        added_at.tzinfo is None
        or not isinstance(source, int)
        or isinstance(source, bool)
        or source not in _ROW
        or not isinstance(row, str)
        or not _ROW[source].match(row)
        or (source == _HASHES and not 0 < int(row) <= _MAX_ENTRY)
        or not isinstance(place, int)
        or isinstance(place, bool)
        or not -1 <= place < 1000
    ):
        raise bad
    return Position(added_at.astimezone(UTC), source, row, place)


# --- filters ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    limit: int
    added_after: datetime | None = None
    after: Position | None = None  # from `next`
    ids: frozenset[str] = frozenset()
    types: frozenset[str] = frozenset()
    versions: frozenset[str] = frozenset()  # "last", "first", "all" or timestamps
    spec_versions: frozenset[str] = frozenset()

    def keeps(self, obj: dict[str, Any], date_added: datetime) -> bool:
        if self.ids and obj["id"] not in self.ids:
            return False
        if self.types and obj["type"] not in self.types:
            return False
        if self.spec_versions and obj.get("spec_version", "2.1") not in self.spec_versions:
            return False
        stamps = self.versions - {"last", "first", "all"}
        if stamps and not self.versions & {"last", "first", "all"}:
            # each object here has one version: it matches when its own is named
            return _same_moment(version(obj) or timestamp(date_added), stamps)
        return True


def _same_moment(stamp: str, wanted: frozenset[str]) -> bool:
    mine = datetime.fromisoformat(stamp)
    return any(datetime.fromisoformat(w) == mine for w in wanted)


def parse_timestamp(field: str, text: str) -> datetime:
    """An RFC 3339 timestamp (a missing zone is UTC); anything else is a 400."""
    value = text.strip()
    if not value or len(value) > 64:
        raise Invalid(field, "must be a timestamp such as 2024-05-01T12:00:00.000Z")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise Invalid(field, "must be a timestamp such as 2024-05-01T12:00:00.000Z") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _split(values: Sequence[str]) -> frozenset[str]:
    """`match[x]=a,b` and `match[x]=a&match[x]=b` alike."""
    return frozenset(v.strip() for value in values for v in value.split(",") if v.strip())


def parse_filters(
    *,
    added_after: str | None,
    limit: str | None,
    next_token: str | None,
    match: dict[str, list[str]],
    page_limit: int,
) -> Filters:
    """The query of an objects or manifest request. A `limit` above the hub's page size is
    lowered to it (TAXII lets a server do so); zero, negative or not a number is a 400."""
    most = page_limit
    if limit is not None:
        text = limit.strip()
        if not text.isascii() or not text.isdigit() or len(text) > 100:
            raise Invalid("limit", "must be a positive whole number")
        if int(text) < 1:
            raise Invalid("limit", "must be a positive whole number")
        most = min(int(text), page_limit)
    versions = _split(match.get("version", []))
    for stamp in versions - {"last", "first", "all"}:
        parse_timestamp("match[version]", stamp)
    return Filters(
        limit=most,
        added_after=None if added_after is None else parse_timestamp("added_after", added_after),
        after=None if next_token is None else parse_next(next_token.strip()),
        ids=_split(match.get("id", [])),
        types=_split(match.get("type", [])),
        versions=frozenset(
            v if v in ("last", "first", "all") else parse_timestamp("v", v).isoformat()
            for v in versions
        ),
        spec_versions=_split(match.get("spec_version", [])),
    )


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


def version(obj: dict[str, Any]) -> str:
    """An object's version: its `modified`, else its `created` (SCOs have neither: their
    date added stands in, as TAXII 2.1 says for objects without one)."""
    return str(obj.get("modified") or obj.get("created") or "")


def manifest_record(item: Item) -> dict[str, Any]:
    return {
        "id": item.object["id"],
        "date_added": timestamp(item.date_added),
        "version": version(item.object) or timestamp(item.date_added),
        "media_type": STIX_MEDIA_TYPE,
    }


def _head() -> list[Item]:
    found = [
        Item(d, _MARKINGS_ADDED, Position(_MARKINGS_ADDED, _HEAD, "", i))
        for i, d in enumerate(markings.definitions())
    ]
    found.append(Item(stix.hub_identity(), _HUB_ADDED, Position(_HUB_ADDED, _HEAD, "", 0)))
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
        if row.source == _SELECTORS:
            selectors_before = (row.added_at, uuid.UUID(hex=row.row))
            entries_before = (row.added_at, _MAX_ENTRY)  # entries of the same moment come first
        else:
            selectors_before = (row.added_at, _NIL)
            entries_before = (row.added_at, int(row.row))
        if releasable.agency_has_rows_before(
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
    elif after.source == _SELECTORS:
        cursor = (after.added_at, uuid.UUID(int=max(0, int(after.row, 16) - 1)))
    else:
        cursor = (after.added_at, _NIL if after.source < _SELECTORS else _MAX_UUID)
    fetch = partial(
        releasable.selectors,
        ctx.session,
        ctx.caller,
        agency_code=ctx.collection.agency_code,
        limit=batch,
    )
    for rows in releasable.pages(fetch, batch, cursor):
        first = releasable.first_of_values(
            ctx.session, ctx.caller, rows, agency_code=ctx.collection.agency_code
        )
        for row in rows:
            position = Position(row.added_at, _SELECTORS, _row_of_selector(row.selector_id), 0)
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
    elif after.source == _HASHES:
        cursor = (after.added_at, int(after.row) - 1)
    else:
        cursor = (after.added_at, -1 if after.source < _HASHES else _MAX_ENTRY)
    fetch = partial(
        releasable.hash_entries,
        ctx.session,
        ctx.caller,
        agency_code=ctx.collection.agency_code,
        limit=batch,
    )
    for rows in releasable.pages(fetch, batch, cursor):
        first = releasable.first_of_files(
            ctx.session, ctx.caller, rows, agency_code=ctx.collection.agency_code
        )
        for row in rows:
            position = Position(row.added_at, _HASHES, _row_of_entry(row.entry_id), 0)
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
    elif after.source == _WALLETS:
        cursor = (after.added_at, uuid.UUID(int=max(0, int(after.row, 16) - 1)))
    else:
        cursor = (after.added_at, _NIL if after.source < _WALLETS else _MAX_UUID)
    fetch = partial(releasable.watched_wallets, ctx.session, ctx.caller, limit=batch)
    for rows in releasable.pages(fetch, batch, cursor):
        first = releasable.first_of_wallets(ctx.session, ctx.caller, rows)
        for row in rows:
            position = Position(row.listed_at, _WALLETS, row.watch_id.hex, 0)
            objects: list[dict[str, Any]] = []
            agency = ctx.agencies.get(row.agency_id)
            if agency is not None and (row.agency_id, _WALLETS) not in ctx.preceded:
                ctx.preceded.add((row.agency_id, _WALLETS))
                if not releasable.agency_has_wallets_before(
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
    # after every source's rows of that moment (the sources are numbered below _PAST)
    floor = Position(filters.added_after, _PAST, "", 0)
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
                    rows.append(Position(listed[0].listed_at, _WALLETS, listed[0].watch_id.hex, 0))
                if rows:
                    yield from _stream(ctx, rows[0]._replace(place=-2), batch=2)
                return
            selectors = releasable.selectors(
                ctx.session, ctx.caller, agency_code=agency.code, limit=1
            )
            if selectors:
                first = selectors[0]
                rows.append(
                    Position(first.added_at, _SELECTORS, _row_of_selector(first.selector_id), 0)
                )
            entries = releasable.hash_entries(
                ctx.session, ctx.caller, agency_code=agency.code, limit=1
            )
            if entries:
                entry = entries[0]
                rows.append(Position(entry.added_at, _HASHES, _row_of_entry(entry.entry_id), 0))
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
