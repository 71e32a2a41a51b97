"""Cross-node hits: this node's selectors against what its peers published to it.

Matching happens at the receiving node, as FIU.net's Ma³tch does: a peer's token (or GREEN
plaintext key) meets this node's own token of a selector value of the same type and epoch.
The two entry points are called inside the transaction that changed one side, so a hit is
never made twice and never lost:

- `for_entries` by the sync after merging a page of a peer's feed (added and withdrawn refs);
- `for_values` by the publisher after it made tokens for this node's selector values (and
  for the values of new selectors: a second case holding a value tokenised already, or a
  value that meets a GREEN plaintext entry, needs no new token to meet an entry).

Which of this node's selectors may make a hit is the local engine's rule
(`cases.deconfliction.holdings_that_hit`: not noise, not a common value, an open case); there
is no second copy of it here. A hit is one `RemoteHit` per (peer, ref, selector), inserted
with "on conflict do nothing", so calling either function twice makes nothing twice. PDQ
entries of RED and AMBER cases cross as chunk tokens: they make candidates
(`candidates.for_entries`), which become hits only once their owner confirms them
(`confirmed`, docs/federation.md, "PDQ candidates"); a GREEN PDQ hash a profile let cross in
plaintext hits by distance here (`candidates.plaintext_near`, `for_pdq_values`).
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Iterable, Sequence
from typing import Any, cast

from sqlalchemy import Table, and_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from taskforce.cases import deconfliction
from taskforce.cases.models import Selector, SelectorValue
from taskforce.cases.selectors import SelectorKind
from taskforce.core.db import is_postgres, utcnow
from taskforce.federation import candidates, hits
from taskforce.federation.models import OwnToken, Peer, RemoteEntry, RemoteHit

_HITS = cast(Table, RemoteHit.__table__)
_CHUNK = 500  # keys per IN list: well inside both databases' parameter limits


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _token(value: str) -> bytes | None:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


def for_entries(
    session: Session, peer_id: uuid.UUID, added: Sequence[str], withdrawn: Sequence[str]
) -> int:
    """Hits of the peer's newly merged entries (`added` refs) with this node's values; the
    hits of `withdrawn` refs are marked withdrawn (kept for the record). Returns the number of
    new hits."""
    now = utcnow()
    for part in _chunks(list(dict.fromkeys(withdrawn))):
        session.execute(
            update(RemoteHit)
            .where(
                RemoteHit.peer_id == peer_id,
                RemoteHit.ref.in_(part),
                RemoteHit.withdrawn_at.is_(None),
            )
            .values(withdrawn_at=now)
        )
    refs = list(dict.fromkeys(added))
    if not refs:
        candidates.for_entries(session, peer_id, [], withdrawn)
        return 0
    # rows of the columns matching reads, not ORM objects: a sync's page of 5,000 entries paid
    # more for the objects than for the rest of its merge (benchmarks/federation.py --sync)
    entries: list[Any] = []
    for part in _chunks(refs):
        entries.extend(
            session.execute(
                select(
                    RemoteEntry.peer_id,
                    RemoteEntry.ref,
                    RemoteEntry.kind,
                    RemoteEntry.form,
                    RemoteEntry.epoch,
                    RemoteEntry.value,
                ).where(
                    RemoteEntry.peer_id == peer_id,
                    RemoteEntry.ref.in_(part),
                    RemoteEntry.withdrawn_at.is_(None),
                )
            )
        )
    # PDQ entries make candidates, which become hits only once their owner confirms them;
    # only PDQ refs are handed on (on PostgreSQL a page of 5,000 tokens spent a third of its
    # merge in candidates' statements otherwise: benchmarks/federation.py --sync)
    candidates.for_entries(
        session, peer_id, [e.ref for e in entries if e.kind == SelectorKind.PDQ], withdrawn
    )
    # an entry published again under its ref (its level or epoch changed) is live again
    for part in _chunks([e.ref for e in entries]):
        session.execute(
            update(RemoteHit)
            .where(
                RemoteHit.peer_id == peer_id,
                RemoteHit.ref.in_(part),
                RemoteHit.withdrawn_at.is_not(None),
            )
            .values(withdrawn_at=None)
        )
    matched = [(e.peer_id, e.ref, v) for e, v in _values_of_entries(session, entries)]
    green_pdq = [
        (e.peer_id, e.ref, e.value)
        for e in entries
        if e.kind == SelectorKind.PDQ and e.form == "plaintext"
    ]
    return _record(session, matched + candidates.plaintext_near(session, green_pdq))


def _values_of_entries(
    session: Session, entries: Sequence[RemoteEntry]
) -> list[tuple[RemoteEntry, uuid.UUID]]:
    """Each entry with this node's values it names: by token (same epoch, same token, same
    type) or, for GREEN plaintext, by the match key."""
    by_token: dict[tuple[int, bytes], list[RemoteEntry]] = {}
    by_key: dict[tuple[str, str], list[RemoteEntry]] = {}
    for entry in entries:
        if entry.kind == SelectorKind.PDQ:
            continue
        if entry.form == "token" and entry.epoch is not None:
            token = _token(entry.value)
            if token is not None:
                by_token.setdefault((entry.epoch, token), []).append(entry)
        elif entry.form == "plaintext":
            by_key.setdefault((entry.kind, entry.value), []).append(entry)
    pairs: list[tuple[RemoteEntry, uuid.UUID]] = []
    epochs: dict[int, list[bytes]] = {}
    for epoch, token in by_token:
        epochs.setdefault(epoch, []).append(token)
    for epoch, tokens in epochs.items():
        for part in _chunks(tokens):
            rows = session.execute(
                select(OwnToken.token, OwnToken.value_id, SelectorValue.kind)
                .join(SelectorValue, SelectorValue.id == OwnToken.value_id)
                .where(OwnToken.epoch == epoch, OwnToken.token.in_(part))
            )
            for token, value_id, kind in rows:
                pairs.extend(
                    (e, value_id) for e in by_token[(epoch, bytes(token))] if e.kind == kind
                )
    kinds: dict[str, list[str]] = {}
    for kind, key in by_key:
        kinds.setdefault(kind, []).append(key)
    for kind, keys in kinds.items():
        for part in _chunks(keys):
            keyed = session.execute(
                select(SelectorValue.key, SelectorValue.id).where(
                    SelectorValue.kind == kind, SelectorValue.key.in_(part)
                )
            )
            for key, value_id in keyed:
                pairs.extend((e, value_id) for e in by_key[(kind, key)])
    return pairs


def for_values(session: Session, value_ids: Sequence[uuid.UUID]) -> int:
    """Hits of these own selector values (newly tokenised, or new) with every live entry of
    every active peer. Returns the number of new hits."""
    wanted = list(dict.fromkeys(value_ids))
    # (kind, epoch or None for plaintext) -> {published value: own value id}
    groups: dict[tuple[str, int | None], dict[str, uuid.UUID]] = {}
    for part in _chunks(wanted):
        for value_id, own_epoch, token, kind in session.execute(
            select(OwnToken.value_id, OwnToken.epoch, OwnToken.token, SelectorValue.kind)
            .join(SelectorValue, SelectorValue.id == OwnToken.value_id)
            .where(OwnToken.value_id.in_(part))
        ):
            published = base64.b64encode(bytes(token)).decode()
            groups.setdefault((kind, own_epoch), {})[published] = value_id
        for value_id, kind, key in session.execute(
            select(SelectorValue.id, SelectorValue.kind, SelectorValue.key).where(
                SelectorValue.id.in_(part)
            )
        ):
            groups.setdefault((kind, None), {})[key] = value_id
    pairs: list[tuple[RemoteEntry, uuid.UUID]] = []
    for (kind, epoch), values in groups.items():
        if kind == SelectorKind.PDQ:
            continue
        form = (
            RemoteEntry.form == "plaintext"
            if epoch is None
            else and_(RemoteEntry.form == "token", RemoteEntry.epoch == epoch)
        )
        for part in _chunks(list(values)):
            for entry in session.scalars(
                select(RemoteEntry)
                .join(Peer, Peer.id == RemoteEntry.peer_id)
                .where(
                    RemoteEntry.kind == kind,
                    form,
                    RemoteEntry.value.in_(part),
                    RemoteEntry.withdrawn_at.is_(None),
                    Peer.state == "active",
                )
            ):
                pairs.append((entry, values[entry.value]))
    return _record(session, [(e.peer_id, e.ref, v) for e, v in pairs])


def for_new_holders(session: Session) -> int:
    """Hits for selectors added since their value met a peer's entry: another case of a value
    tokenised already brings no new token, so the publisher asks here each round. Cheap: it
    starts from the live hits, which are few."""
    live = session.execute(
        select(RemoteHit.peer_id, RemoteHit.ref, Selector.value_id, RemoteHit.selector_id)
        .join(Selector, Selector.id == RemoteHit.selector_id)
        .where(RemoteHit.withdrawn_at.is_(None))
    ).all()
    have = {(peer_id, ref, selector_id) for peer_id, ref, _, selector_id in live}
    holders: dict[uuid.UUID, list[deconfliction.Holding]] = {}
    for holding in deconfliction.holdings_that_hit(session, {v for _, _, v, _ in live}):
        holders.setdefault(holding.value_id, []).append(holding)
    missing = {
        (peer_id, ref, value_id)
        for peer_id, ref, value_id, _ in live
        if any((peer_id, ref, h.selector_id) not in have for h in holders.get(value_id, ()))
    }
    return _record(session, sorted(missing, key=str)) if missing else 0


def for_pdq_values(session: Session, value_ids: Sequence[uuid.UUID]) -> int:
    """Hits of these own PDQ values with the GREEN plaintext PDQ entries of active peers (by
    distance, no confirmation needed: the hash is here). Chunk candidates are `candidates`'."""
    return _record(session, candidates.plaintext_for_values(session, value_ids))


def confirmed(session: Session, entry: RemoteEntry, value_id: uuid.UUID) -> int:
    """A PDQ candidate its owner confirmed (`pdq_rounds`): the hits of the value's selectors
    with the peer's entry, made and notified as every other cross-node hit."""
    return _record(session, [(entry.peer_id, entry.ref, value_id)])


def _record(session: Session, matched: Sequence[tuple[uuid.UUID, str, uuid.UUID]]) -> int:
    """One hit per (peer, ref, selector) for each holding that may hit of each matched
    (peer, ref, value); those already there are left as they are. The new ones are notified."""
    if not matched:
        return 0
    holdings: dict[uuid.UUID, list[deconfliction.Holding]] = {}
    for holding in deconfliction.holdings_that_hit(session, [v for _, _, v in matched]):
        holdings.setdefault(holding.value_id, []).append(holding)
    now = utcnow()
    rows: dict[tuple[uuid.UUID, str, uuid.UUID], dict[str, Any]] = {}
    for peer_id, ref, value_id in matched:
        for holding in holdings.get(value_id, ()):
            rows.setdefault(
                (peer_id, ref, holding.selector_id),
                {
                    "id": uuid.uuid4(),
                    "peer_id": peer_id,
                    "ref": ref,
                    "selector_id": holding.selector_id,
                    "case_id": holding.case_id,
                    "agency_id": holding.agency_id,
                    "kind": holding.kind,
                    "created_at": now,
                },
            )
    if not rows:
        return 0
    dialect_insert = pg_insert if is_postgres(session) else sqlite_insert
    new: list[uuid.UUID] = []
    ordered = sorted(rows.values(), key=lambda r: (str(r["peer_id"]), r["ref"], r["selector_id"]))
    for start in range(0, len(ordered), _CHUNK):
        inserted = session.execute(
            dialect_insert(_HITS).on_conflict_do_nothing().returning(_HITS.c.id),
            ordered[start : start + _CHUNK],
        )
        new.extend(inserted.scalars())
    if new:
        hits.notify_new(session, new)
    return len(new)
