"""Pulling a peer's feed: page by page from where this node stands, every page checked whole
before anything of it is written, each page merged in one transaction that also moves the
position.

A page is refused, with its reason, when it is not this peer's feed to this node, its entries
do not continue from our position (a replay, a gap, a cursor past the head), an entry does not
link to the one before or its hash does not match its body, the page's signature does not
verify with the peer's key, or a body is not a valid entry. A refusal is kept on the peer
(`sync_error`, `sync_failures`) and audited, and the peer is retried after a backoff that
doubles from `federation_sync_seconds` up to an hour; other peers are not affected.

The position (`feed_seq`, `feed_hash`) moves only in the transaction that merged the page, so a
sync killed at any moment resumes where the last commit left it, and nothing is applied twice.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError
from sqlalchemy import Table, insert, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from taskforce.core import signing
from taskforce.core.audit.service import Operation, record
from taskforce.core.caller import system_caller
from taskforce.core.db import unit_of_work, utcnow
from taskforce.core.errors import Conflict, NotFound, TaskforceError
from taskforce.core.settings import Settings
from taskforce.federation import directory, feeds, matching, peering, transport, watches
from taskforce.federation.models import Peer, RemoteEntry
from taskforce.federation.schemas import FEED_BODY, FeedPage, FeedUpsert, FeedWatch, FeedWithdraw

FEED_PATH = "/federation/v1/feed"
_REMOTE = cast(Table, RemoteEntry.__table__)
LONGEST_BACKOFF = timedelta(hours=1)
_log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
"""(our position, the peer's head) after each page merged."""


class FeedRefused(Exception):
    """A page of a peer's feed that cannot be taken: `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class SyncReport:
    peer: str
    merged: int = 0  # entries added or changed
    withdrawn: int = 0
    hits: int = 0
    pages: int = 0
    position: int = 0
    head: int = 0
    error: str | None = None
    directory_agencies: int | None = None  # the directory was refreshed: its agencies

    @property
    def lag(self) -> int:
        return max(self.head - self.position, 0)


@dataclass(frozen=True)
class _Start:
    target: peering.Target
    key: Ed25519PublicKey
    position: int
    last_hash: str
    head: int
    directory_due: bool


def backoff(settings: Settings, failures: int) -> timedelta:
    """How long a failing peer waits: the interval, doubled per failure, at most an hour."""
    seconds = settings.federation_sync_seconds * 2 ** max(min(failures, 20) - 1, 0)
    return min(timedelta(seconds=seconds), LONGEST_BACKOFF)


def due_peers(session: Session, settings: Settings, now: datetime) -> list[uuid.UUID]:
    """Active peers to pull now: scheduled (a nudge, a backoff that ran out), or not pulled
    for `federation_sync_seconds`."""
    stale = now - timedelta(seconds=settings.federation_sync_seconds)
    return list(
        session.scalars(
            select(Peer.id)
            .where(
                Peer.state == "active",
                or_(
                    Peer.next_sync_at <= now,
                    Peer.next_sync_at.is_(None)
                    & or_(Peer.synced_at.is_(None), Peer.synced_at <= stale),
                ),
            )
            .order_by(Peer.name)
        )
    )


def sync_due(
    factory: sessionmaker[Session],
    settings: Settings,
    *,
    now: datetime | None = None,
    **options: Any,
) -> list[SyncReport]:
    """The worker's task: every due peer, one after the other; one peer's failure is its own."""
    with unit_of_work(factory) as session:
        due = due_peers(session, settings, now or utcnow())
    reports = []
    for peer_id in due:
        try:
            reports.append(sync_peer(factory, settings, peer_id, now=now, **options))
        except TaskforceError as error:  # removed meanwhile, no identity: nothing to pull
            _log.info("peer %s not synced: %s", peer_id, error.message)
    return reports


def note_nudge(session: Session, peer_id: uuid.UUID) -> None:
    """The peer says its feed has news: pull it at the next round."""
    found = session.get(Peer, peer_id)
    if found is not None:
        found.next_sync_at = utcnow()


def sync_peer(
    factory: sessionmaker[Session],
    settings: Settings,
    peer_id: uuid.UUID,
    *,
    progress: Progress | None = None,
    now: datetime | None = None,
    limit: int = feeds.LIMIT_MAX,
    **options: Any,
) -> SyncReport:
    """Pull the peer's feed until its head. A refusal is returned in `error` (and kept on the
    peer), not raised: the caller goes on with its other peers."""
    start = _start(factory, settings, peer_id)
    name = start.target.name
    report = SyncReport(peer=name, position=start.position, head=start.head)
    position, last_hash = start.position, start.last_hash
    try:
        with transport.client(settings, start.target.node_id, start.target.url, **options) as http:
            while True:
                data = _get_page(http, name, position, limit)
                page = check_page(data, start, position, last_hash, limit)
                merged = _merge(factory, start.target, page, report, now)
                if not merged:
                    break  # another sync moved our position meanwhile: it carries on
                if page.entries:
                    position, last_hash = page.entries[-1].seq, page.entries[-1].hash
                report.position, report.head = position, page.head
                if progress is not None:
                    progress(position, page.head)
                if page.next is None:
                    break
    except (transport.PeerUnreachable, FeedRefused) as failed:
        reason = failed.message if isinstance(failed, TaskforceError) else failed.reason
        report.error = _refused(factory, settings, start.target, reason, now)
        return report
    if start.directory_due:
        _refresh_directory(factory, settings, start.target, report, options)
    return report


def _start(factory: sessionmaker[Session], settings: Settings, peer_id: uuid.UUID) -> _Start:
    with unit_of_work(factory) as session:
        own = peering.require_node(session)
        peer = session.get(Peer, peer_id)
        if peer is None:
            raise NotFound("peer")
        if peer.state != "active":
            raise Conflict(f"{peer.name} was removed: add its peering document again first")
        stale = utcnow() - timedelta(hours=settings.federation_directory_hours)
        return _Start(
            target=peering.Target(node_id=own.id, peer_id=peer.id, name=peer.name, url=peer.url),
            key=signing.load_public(peer.public_key),
            position=peer.feed_seq,
            last_hash=peer.feed_hash or feeds.genesis(peer.id, own.id),
            head=peer.feed_head,
            directory_due=peer.directory_synced_at is None or peer.directory_synced_at < stale,
        )


def _get_page(http: Any, name: str, position: int, limit: int) -> Any:
    try:
        return transport.get_json(
            http, f"{FEED_PATH}?after_seq={position}&limit={limit}", peer=name
        )
    except transport.PeerUnreachable as error:
        if error.message.endswith("answered something that is not JSON"):
            raise FeedRefused("sent garbage (not JSON)") from None
        if " answered 409" in error.message:  # our position is past its head
            raise FeedRefused(
                f"went backwards: our position {position} is past its head "
                f"({error.message.split(': ', 1)[-1]})"
            ) from None
        raise


@dataclass(frozen=True)
class _Checked:
    entries: Sequence[Any]  # FeedEntryIn
    bodies: Sequence[FeedUpsert | FeedWithdraw | FeedWatch]
    head: int
    next: int | None


def check_page(data: Any, start: _Start, position: int, last_hash: str, limit: int) -> _Checked:
    """Everything a page must be before any of it is written (module docstring)."""
    try:
        page = FeedPage.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "page"
        raise FeedRefused(f"sent garbage ({where}: {first['msg']})") from None
    peer_id, own_id = start.target.peer_id, start.target.node_id
    if page.origin != peer_id or page.recipient != own_id:
        raise FeedRefused(
            f"sent another feed (from {page.origin} to {page.recipient}), not its feed to us"
        )
    if page.head < position:
        raise FeedRefused(f"went backwards: head {page.head} < our position {position}")
    if len(page.entries) > limit:
        raise FeedRefused(f"sent {len(page.entries)} entries; we asked for at most {limit}")
    previous, expected = last_hash, position + 1
    for entry in page.entries:
        if entry.seq <= position:
            raise FeedRefused(
                f"replayed a batch we hold (seq {entry.seq} ≤ our position {position})"
            )
        if entry.seq > page.head:
            raise FeedRefused(
                f"cursor from the future (entry {entry.seq} past its head {page.head})"
            )
        if entry.seq != expected:
            raise FeedRefused(f"skipped from entry {expected - 1} to entry {entry.seq}")
        if entry.prev_hash != previous:
            raise FeedRefused(f"entry {entry.seq} does not link to entry {entry.seq - 1}")
        if feeds.entry_hash(entry.prev_hash, entry.body) != entry.hash:
            raise FeedRefused(f"entry {entry.seq}'s hash does not match its body")
        previous, expected = entry.hash, expected + 1
    last_seq = expected - 1
    if page.after_seq != position:  # after the entries: a replayed page is named as such
        raise FeedRefused(f"answered for position {page.after_seq}; we asked from {position}")
    if page.next is not None and page.next > page.head:
        raise FeedRefused(f"cursor from the future (next {page.next} > head {page.head})")
    wanted_next = last_seq if page.entries and last_seq < page.head else None
    if page.next != wanted_next or (not page.entries and page.head > position):
        raise FeedRefused(
            f"sent garbage (next {page.next} after entry {last_seq} of a feed whose head is "
            f"{page.head})"
        )
    statement = feeds.page_statement(
        page.origin, page.recipient, page.after_seq, last_seq, previous, page.head
    )
    if not feeds.page_signature_holds(statement, page.signature, start.key):
        raise FeedRefused("the page's signature does not verify with its key")
    bodies = []
    for entry in page.entries:
        try:
            bodies.append(FEED_BODY.validate_python(json.loads(entry.body)))
        except (ValueError, ValidationError) as error:
            why = error.errors()[0]["msg"] if isinstance(error, ValidationError) else "not JSON"
            raise FeedRefused(f"entry {entry.seq} is not a valid feed entry ({why})") from None
    return _Checked(entries=page.entries, bodies=bodies, head=page.head, next=page.next)


def _merge(
    factory: sessionmaker[Session],
    target: peering.Target,
    page: _Checked,
    report: SyncReport,
    now: datetime | None,
) -> bool:
    """One page in one transaction: the entries, their hits, and our new position. False when
    our position moved since the page was asked for (another sync took it)."""
    at = now or utcnow()
    peer_id = target.peer_id
    with unit_of_work(factory) as session:
        peer = session.get(Peer, peer_id, with_for_update=True)
        if peer is None or peer.state != "active":
            return False
        expected = page.entries[0].seq - 1 if page.entries else peer.feed_seq
        if peer.feed_seq != expected:
            return False
        # each ref's state at the end of the page: (seq, its latest upsert, withdrawn); an
        # upsert withdrawn within the page is kept as withdrawn, as it would be had the two
        # come in two pages, so the rows do not depend on where pages end
        latest: dict[str, tuple[int, FeedUpsert | None, bool]] = {}
        for entry, body in zip(page.entries, page.bodies, strict=True):
            if isinstance(body, FeedWatch):
                continue  # the watch list's, merged below
            if isinstance(body, FeedUpsert):
                latest[body.ref] = (entry.seq, body, False)
            else:
                before = latest.get(body.ref)
                latest[body.ref] = (entry.seq, before[1] if before else None, True)
        held: set[str] = set()
        refs = list(latest)
        for start in range(0, len(refs), 5_000):
            held.update(
                session.scalars(
                    select(RemoteEntry.ref).where(
                        RemoteEntry.peer_id == peer_id,
                        RemoteEntry.ref.in_(refs[start : start + 5_000]),
                    )
                )
            )
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        tombstones: list[dict[str, Any]] = []
        added: list[str] = []
        withdrawn: list[str] = []
        for ref, (seq, upsert, gone) in latest.items():
            if upsert is not None:
                row = {
                    "peer_id": peer_id,
                    "ref": ref,
                    "seq": seq,
                    "kind": upsert.kind.value,
                    "form": upsert.form,
                    "epoch": upsert.epoch,
                    "value": upsert.value,
                    "level": upsert.level.value,
                    "agency_id": upsert.agency_id,
                    "details": upsert.details,
                    "withdrawn_at": at if gone else None,
                }
                (updates if ref in held else inserts).append(row)
                if not gone:
                    added.append(ref)
                elif ref in held:
                    withdrawn.append(ref)
            elif ref in held:
                tombstones.append({"peer_id": peer_id, "ref": ref, "seq": seq, "withdrawn_at": at})
                withdrawn.append(ref)
            # a withdrawal of a ref never received: nothing to withdraw
        if inserts:  # Core, not the ORM's bulk insert: its bookkeeping cost more than the SQL
            session.execute(insert(_REMOTE), inserts)
        for rows in (updates, tombstones):  # one key set per bulk update
            if rows:
                session.execute(update(RemoteEntry), rows)
        hits = matching.for_entries(session, peer_id, added, withdrawn)
        listed, unlisted = watches.merge(
            session,
            peer,
            [b for b in page.bodies if isinstance(b, FeedWatch | FeedWithdraw)],
            at,
        )
        if page.entries:
            peer.feed_seq, peer.feed_hash = page.entries[-1].seq, page.entries[-1].hash
        peer.feed_head = page.head
        peer.synced_at = peer.last_contact_at = at
        peer.sync_error, peer.sync_failures, peer.next_sync_at = None, 0, None
        if page.entries:
            record(
                session,
                system_caller("worker"),
                action="federation.sync",
                operation=Operation.COLLECTION,
                subject_type="peer",
                subject_id=peer_id,
                detail={
                    "peer": target.name,
                    "entries": len(page.entries),
                    "merged": len(added),
                    "withdrawn": len(withdrawn),
                    "watch_listed": listed,
                    "watch_removed": unlisted,
                    "hits": hits,
                    "position": peer.feed_seq,
                    "head": page.head,
                },
            )
    report.pages += 1
    report.merged += len(added) + listed
    report.withdrawn += len(withdrawn) + unlisted
    report.hits += hits
    return True


def _refused(
    factory: sessionmaker[Session],
    settings: Settings,
    target: peering.Target,
    reason: str,
    now: datetime | None,
) -> str:
    """Keep the refusal on the peer, schedule the retry, audit it; the message to show."""
    said = reason if reason.startswith(target.name) else f"{target.name}'s feed: {reason}"
    at = now or utcnow()
    with unit_of_work(factory) as session:
        peer = session.get(Peer, target.peer_id)
        if peer is not None:
            peer.sync_failures += 1
            peer.sync_error = said[:500]
            peer.next_sync_at = at + backoff(settings, peer.sync_failures)
            record(
                session,
                system_caller("worker"),
                action="federation.sync.refused",
                operation=Operation.COLLECTION,
                subject_type="peer",
                subject_id=peer.id,
                outcome="refused",
                detail={"peer": target.name, "reason": said[:500], "failures": peer.sync_failures},
            )
    _log.warning("sync refused: %s", said)
    return said


def _refresh_directory(
    factory: sessionmaker[Session],
    settings: Settings,
    target: peering.Target,
    report: SyncReport,
    options: dict[str, Any],
) -> None:
    """The peer's agency directory, when it is older than `federation_directory_hours`; a
    failure is noted on the peer (its feed was taken all the same)."""
    try:
        received = directory.fetch_directory(settings, target, **options)
    except TaskforceError as error:
        with unit_of_work(factory) as session:
            peering.note_error(session, target, error.message)
        return
    with unit_of_work(factory) as session:
        peer = session.get(Peer, target.peer_id)
        if peer is not None:
            report.directory_agencies = peering.store_directory(
                session, system_caller("worker"), peer, received
            )
