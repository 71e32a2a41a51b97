"""Matching hashes computed elsewhere (triage, the API's `/match`) against the visible hash sets:
exact digests through their indexes, PDQ and vPDQ frames through the in-memory Hamming indexes
kept in step with the database.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.core import identification as travel
from taskforce.core import sharing
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.caller import Caller, Permission
from taskforce.core.errors import Invalid
from taskforce.core.hamming import hamming
from taskforce.core.pdq_index import SyncedIndex, index_for
from taskforce.core.settings import Settings
from taskforce.hashsets import categories, formats, videos
from taskforce.hashsets.models import HashEntry, HashEntryFrame, HashSet
from taskforce.hashsets.schemas import (
    MatchHit,
    MatchQuery,
    MatchRequest,
    MatchResult,
)
from taskforce.hashsets.service import get_by_name
from taskforce.media.hashing import MIN_PDQ_QUALITY

# --- matching hashes computed elsewhere ------------------------------------------------------


def _fetch_pdq(session: Session, after: int) -> Sequence[tuple[int, bytes]]:
    rows = session.execute(
        select(HashEntry.id, HashEntry.pdq)
        .where(
            HashEntry.id > after,
            HashEntry.pdq.is_not(None),
            or_(HashEntry.pdq_quality.is_(None), HashEntry.pdq_quality >= MIN_PDQ_QUALITY),
        )
        .order_by(HashEntry.id)
    ).all()
    return [(entry_id, bytes.fromhex(pdq)) for entry_id, pdq in rows if pdq]


def pdq_index(session: Session) -> SyncedIndex:
    return index_for(session, "hash_entry_pdq", _fetch_pdq)


def _fetch_frames(session: Session, after: int) -> Sequence[tuple[int, bytes]]:
    rows = session.execute(
        select(HashEntryFrame.id, HashEntryFrame.pdq)
        .where(HashEntryFrame.id > after)
        .order_by(HashEntryFrame.id)
    ).all()
    return [(frame_id, bytes.fromhex(pdq)) for frame_id, pdq in rows]


def frame_index(session: Session) -> SyncedIndex:
    """Every known video's usable frames (ids: `hash_entry_frame.id`)."""
    return index_for(session, "hash_entry_frame", _fetch_frames)


def known_videos(
    session: Session,
    settings: Settings,
    frames: Sequence[formats.Frame],
    set_ids: Sequence[uuid.UUID],
    threshold: int,
) -> list[tuple[HashEntry, videos.VideoMatch]]:
    """The known videos of these sets that a video's frames match (see `hashsets.videos`)."""
    query = videos.usable(frames)
    if not query or not set_ids:
        return []
    bits = [bytes.fromhex(f.pdq) for f in query]
    candidates = frame_index(session).candidates_many(session, bits, threshold)
    wanted = sorted({c for cs in candidates for c in cs})
    if not wanted:
        return []
    sets = set(set_ids)
    frames_found = _by_keys(
        session,
        select(HashEntryFrame.id, HashEntryFrame.entry_id, HashEntryFrame.pdq),
        HashEntryFrame.id,
        wanted,
    )
    in_sets = {
        entry_id
        for entry_id, set_id in _by_keys(
            session,
            select(HashEntry.id, HashEntry.hash_set_id),
            HashEntry.id,
            sorted({row[1] for row in frames_found}),
        )
        if set_id in sets
    }
    known: dict[int, tuple[int, bytes]] = {
        frame_id: (entry_id, bytes.fromhex(pdq))
        for frame_id, entry_id, pdq in frames_found
        if entry_id in in_sets
    }
    pairs = []
    for q, (query_bits, ids) in enumerate(zip(bits, candidates, strict=True)):
        for frame_id in ids:
            if frame_id in known:
                entry_id, frame_bits = known[frame_id]
                distance = hamming(query_bits, frame_bits)
                if distance <= threshold:
                    pairs.append((q, entry_id, frame_id, distance))
    entry_ids = sorted({p[1] for p in pairs})
    if not entry_ids:
        return []
    counted = (
        select(HashEntryFrame.entry_id, func.count())
        .where(HashEntryFrame.entry_id.in_(entry_ids))
        .group_by(HashEntryFrame.entry_id)
    )
    totals: dict[int, int] = dict(session.execute(counted).all())
    matches = videos.shares(
        len(query),
        pairs,
        totals,
        settings.video_match_query_share,
        settings.video_match_known_share,
    )
    matched = select(HashEntry).where(HashEntry.id.in_(entry_ids))
    entries = {e.id: e for e in session.scalars(matched)}
    return [(entries[m.entry], m) for m in matches]


def match(
    session: Session, caller: Caller, settings: Settings, request: MatchRequest
) -> list[MatchResult]:
    """Which visible hash sets know each query: by exact hash first, else by PDQ distance."""
    caller.require(Permission.READ)
    threshold = (
        settings.pdq_match_threshold if request.pdq_threshold is None else request.pdq_threshold
    )
    queries = [_normalised_query(i, q) for i, q in enumerate(request.hashes)]
    video_queries = {
        i: formats.parse_vpdq(q.vpdq, f"hashes[{i}].vpdq")
        for i, q in enumerate(request.hashes)
        if q.vpdq
    }
    if request.hash_sets:
        sets = [get_by_name(session, caller, n) for n in request.hash_sets]
    else:
        sets = list(session.scalars(sharing.visible(select(HashSet), HashSet, caller)))
    by_id = {s.id: s for s in sets}
    agencies = agency_service.agencies_by_id(session, {s.owner_agency_id for s in sets})
    found: list[list[MatchHit]] = [[] for _ in queries]
    made: list[tuple[MatchHit, HashEntry]] = []

    def hit(
        entry: HashEntry, kind: str, distance: int, video: videos.VideoMatch | None = None
    ) -> MatchHit:
        hash_set = by_id[entry.hash_set_id]
        label = None
        if entry.category_scheme and entry.category_code:
            known = categories.SCHEMES.get(entry.category_scheme, {}).get(entry.category_code)
            label = known.label if known else None
        made_hit = MatchHit(
            hash_set=hash_set.name,
            agency=agencies[hash_set.owner_agency_id].code,
            match_type=kind,
            distance=distance,
            category=f"{entry.category_scheme}:{entry.category_code}"
            if entry.category_code
            else None,
            category_label=label,
            series=entry.series,
            victim_identified=entry.victim_identified,
            query_share=round(video.query_share, 4) if video else None,
            known_share=round(video.known_share, 4) if video else None,
        )
        made.append((made_hit, entry))
        return made_hit

    if by_id:
        by_digest = _entries_by_digest(session, queries, by_id)
        for i, q in enumerate(queries):
            matching = {e.id: e for k in _DIGESTS if (v := q[k]) for e in by_digest.get((k, v), [])}
            found[i].extend(hit(matching[e], "exact", 0) for e in sorted(matching))
        perceptual = [i for i, q in enumerate(queries) if q["pdq"] and not found[i]]
        if perceptual:
            bits = [bytes.fromhex(queries[i]["pdq"] or "") for i in perceptual]
            candidates = pdq_index(session).candidates_many(session, bits, threshold)
            wanted = sorted({c for cs in candidates for c in cs})
            entries_by_id = {
                e.id: e
                for e in _by_keys(session, select(HashEntry), HashEntry.id, wanted, scalars=True)
                if e.hash_set_id in by_id
            }
            for i, query_bits, ids in zip(perceptual, bits, candidates, strict=True):
                for entry_id in ids:
                    near = entries_by_id.get(entry_id)
                    if near is None or near.pdq is None:
                        continue
                    distance = hamming(query_bits, bytes.fromhex(near.pdq))
                    if distance <= threshold:
                        found[i].append(hit(near, "perceptual", distance))
                found[i].sort(key=lambda h: h.distance)
        for i, frames in video_queries.items():
            if found[i]:
                continue  # known by an exact hash of the file
            for entry, video in known_videos(session, settings, frames, list(by_id), threshold):
                found[i].append(hit(entry, "video", video.distance, video))
    _with_identification(session, caller, made)
    audit.record(
        session,
        caller,
        action="hashset.match",
        operation=Operation.CONSULTATION,
        detail={
            "queries": len(queries),
            "matched": sum(1 for f in found if f),
            "hash_sets": len(by_id),
        },
    )
    return [MatchResult(index=i, matches=m) for i, m in enumerate(found)]


# Values per `IN (...)`: far below both databases' parameter limits, and few enough that the
# planner reads each through the column's index.
_IN_CHUNK = 500
_DIGESTS = ("md5", "sha1", "sha256")


def _by_keys(
    session: Session, query: Any, column: Any, keys: Sequence[Any], *, scalars: bool = False
) -> list[Any]:
    """The rows of `query` whose `column` is one of `keys`, looked up in chunks."""
    rows: list[Any] = []
    for start in range(0, len(keys), _IN_CHUNK):
        chunk = query.where(column.in_(keys[start : start + _IN_CHUNK]))
        rows.extend(session.scalars(chunk) if scalars else session.execute(chunk).all())
    return rows


def _entries_by_digest(
    session: Session, queries: Sequence[dict[str, str | None]], sets: Mapping[uuid.UUID, Any]
) -> dict[tuple[str, str], list[HashEntry]]:
    """The entries of `sets` holding a query's exact hash, by (kind, value).

    Each digest is looked up through its own index; the hash-set filter is applied to the rows
    found, not in the statement: given both, SQLite chose the (hash_set_id, entry_key) index
    already at 5 hashes and read every entry of every visible set (~5M, ~15 s, holding the
    write lock): the time grew with the hub, not with the question (issue 11, finding 4)."""
    found: dict[tuple[str, str], list[HashEntry]] = {}
    for kind in _DIGESTS:
        column = getattr(HashEntry, kind)
        values = sorted({v for q in queries if (v := q[kind])})
        for entry in _by_keys(session, select(HashEntry), column, values, scalars=True):
            if entry.hash_set_id in sets:
                found.setdefault((kind, getattr(entry, kind)), []).append(entry)
    return found


def _with_identification(
    session: Session, caller: Caller, made: Sequence[tuple[MatchHit, HashEntry]]
) -> None:
    """Each hit gets its series' identification status (series.status): the fact that a
    child is identified, and whom to contact, travels with the hashes."""
    if not made:
        return
    lookups = [travel.Lookup(md5=e.md5, sha1=e.sha1, sha256=e.sha256) for _, e in made]
    for (found_hit, _entry), statuses in zip(
        made, travel.status_for_hashes(session, caller, lookups), strict=True
    ):
        found_hit.identification = statuses
        if any(st.identified for st in statuses):
            found_hit.victim_identified = True


def _normalised_query(index: int, query: MatchQuery) -> dict[str, str | None]:
    values: dict[str, str | None] = {}
    for kind in ("md5", "sha1", "sha256", "pdq"):
        raw = getattr(query, kind)
        try:
            values[kind] = formats.hash_value(kind, raw) if raw and raw.strip() else None
        except Invalid as exc:
            raise Invalid(f"hashes[{index}].{kind}", exc.rule) from None
    if not any(values.values()) and not query.vpdq:
        raise Invalid(f"hashes[{index}]", "needs at least one of md5, sha1, sha256, pdq, vpdq")
    return values
