"""PDQ candidates between nodes: where a peer's published chunk tokens meet this node's, and
the owner's confirmation on its plaintext.

A PDQ selector of a RED or AMBER case crosses to a peer as its 16 chunk tokens (`pdq.py`;
feed form `pdq-chunks`, the value the 16 base64 tokens joined by commas). The receiving node
keeps them one row per position (`RemotePdqChunk`) and meets them with its own values' chunk
tokens (`OwnPdqChunk`): one equal token, at the same position (the position is inside the
token) and epoch, makes a `PdqCandidate` — never a hit. The candidate is confirmed by the node
that published the entry (`confirming.py` asks, `confirm` answers) and only a confirmed one
becomes a `RemoteHit`.

Both finders run inside the transaction that changed one side (as `matching` does) and do no
network work; `confirm` is the owner's answer, budgeted per peer per hour
(`federation_pdq_confirms_per_hour`, counted from the audit log) and audited as a disclosure
to that peer, its candidate never written down.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from taskforce.cases import pdq as cases_pdq
from taskforce.cases.models import Case, PdqBits, Selector, SelectorValue
from taskforce.cases.selectors import SelectorKind
from taskforce.core.audit import service as audit
from taskforce.core.audit.models import AuditEntry
from taskforce.core.caller import Caller
from taskforce.core.db import is_postgres, utcnow
from taskforce.core.errors import Invalid, NotFound, RateLimited, TaskforceError
from taskforce.core.settings import Settings, get_settings
from taskforce.federation import pdq
from taskforce.federation.models import (
    OwnPdqChunk,
    PdqCandidate,
    Peer,
    Publication,
    RemoteEntry,
    RemotePdqChunk,
)

FORM = pdq.FORM
CONFIRM_ACTION = "federation.pdq.confirm"
CONFIRM_WINDOW = timedelta(hours=1)
PENDING, HIT, NO_HIT, WITHDRAWN, WITHHELD = "pending", "hit", "no-hit", "withdrawn", "withheld"
_CHUNK = 500  # keys per IN list


def _insert(session: Session, model: type[Any], rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    table = cast(Table, model.__table__)
    dialect_insert = pg_insert if is_postgres(session) else sqlite_insert
    for start in range(0, len(rows), _CHUNK):
        session.execute(
            dialect_insert(table).on_conflict_do_nothing(), rows[start : start + _CHUNK]
        )


# --- this node's own PDQ values -------------------------------------------------------------


def open_values(session: Session, *, epoch: int, limit: int) -> list[tuple[uuid.UUID, str]]:
    """PDQ values of this node's open cases (not noise) with no chunk tokens of `epoch` yet:
    (value id, hash)."""
    has_chunks = select(OwnPdqChunk.value_id).where(
        OwnPdqChunk.value_id == SelectorValue.id, OwnPdqChunk.epoch == epoch
    )
    rows = session.execute(
        select(SelectorValue.id, SelectorValue.key)
        .where(
            SelectorValue.kind == SelectorKind.PDQ.value,
            select(Selector.id)
            .join(Case, Case.id == Selector.case_id)
            .where(
                Selector.value_id == SelectorValue.id,
                Selector.noise_reason.is_(None),
                Case.status == "open",
            )
            .exists(),
            ~has_chunks.exists(),
        )
        .order_by(SelectorValue.id)
        .limit(limit)
    )
    return [(value_id, key) for value_id, key in rows]


def store_own(session: Session, epoch: int, made: dict[uuid.UUID, Sequence[bytes]]) -> int:
    """Keep this node's chunk tokens of some values and find their candidates with every live
    PDQ entry of every active peer. Returns the number of new candidates."""
    _insert(
        session,
        OwnPdqChunk,
        [
            {"value_id": value_id, "epoch": epoch, "position": position, "token": token}
            for value_id, tokens in made.items()
            for position, token in enumerate(tokens)
        ],
    )
    return for_values(session, list(made))


def own_chunks(session: Session, value_id: uuid.UUID, epoch: int) -> list[bytes] | None:
    """The 16 chunk tokens of one own value under `epoch` (the publisher's feed value)."""
    rows = session.execute(
        select(OwnPdqChunk.position, OwnPdqChunk.token)
        .where(OwnPdqChunk.value_id == value_id, OwnPdqChunk.epoch == epoch)
        .order_by(OwnPdqChunk.position)
    ).all()
    return [bytes(token) for _, token in rows] if len(rows) == pdq.CHUNKS else None


def chunks_up_to(session: Session, epoch: int) -> dict[uuid.UUID, tuple[int, list[bytes]]]:
    """Each own value's 16 chunk tokens of the newest epoch it has up to `epoch` (after a
    rotation the old ones stay published until the new ones are made): the publisher's."""
    held: dict[tuple[uuid.UUID, int], list[bytes]] = {}
    for value_id, chunk_epoch, token in session.execute(
        select(OwnPdqChunk.value_id, OwnPdqChunk.epoch, OwnPdqChunk.token)
        .where(OwnPdqChunk.epoch <= epoch)
        .order_by(OwnPdqChunk.epoch, OwnPdqChunk.position)
    ):
        held.setdefault((value_id, chunk_epoch), []).append(bytes(token))
    found: dict[uuid.UUID, tuple[int, list[bytes]]] = {}
    for (value_id, chunk_epoch), tokens in held.items():
        if len(tokens) == pdq.CHUNKS:
            found[value_id] = (chunk_epoch, tokens)
    return found


# --- meeting a peer's entries ----------------------------------------------------------------


def for_entries(
    session: Session, peer_id: uuid.UUID, added: Sequence[str], withdrawn: Sequence[str]
) -> int:
    """The chunk rows of a peer's newly merged PDQ entries (replacing what their refs held)
    and their candidates with this node's values; withdrawn refs lose their chunks and their
    open candidates. Returns the number of new candidates."""
    gone = list(dict.fromkeys(withdrawn))
    refs = list(dict.fromkeys(added))
    for start in range(0, len(gone + refs), _CHUNK):
        part = (gone + refs)[start : start + _CHUNK]
        session.execute(
            delete(RemotePdqChunk).where(
                RemotePdqChunk.peer_id == peer_id, RemotePdqChunk.ref.in_(part)
            )
        )
    for start in range(0, len(gone), _CHUNK):
        session.execute(
            update(PdqCandidate)
            .where(
                PdqCandidate.peer_id == peer_id,
                PdqCandidate.ref.in_(gone[start : start + _CHUNK]),
                PdqCandidate.state.in_([PENDING, WITHHELD]),
            )
            .values(state=WITHDRAWN)
        )
    for start in range(0, len(refs), _CHUNK):  # published again: ask again if now allowed
        session.execute(
            update(PdqCandidate)
            .where(
                PdqCandidate.peer_id == peer_id,
                PdqCandidate.ref.in_(refs[start : start + _CHUNK]),
                PdqCandidate.state == WITHHELD,
            )
            .values(state=PENDING)
        )
    rows: list[dict[str, Any]] = []
    for start in range(0, len(refs), _CHUNK):
        for entry in session.scalars(
            select(RemoteEntry).where(
                RemoteEntry.peer_id == peer_id,
                RemoteEntry.ref.in_(refs[start : start + _CHUNK]),
                RemoteEntry.form == FORM,
                RemoteEntry.withdrawn_at.is_(None),
            )
        ):
            tokens = pdq.decode_tokens(entry.value)
            if tokens is None or entry.epoch is None:
                continue  # the sync's schema refuses such a body; nothing to meet
            rows.extend(
                {
                    "peer_id": peer_id,
                    "ref": entry.ref,
                    "position": i,
                    "epoch": entry.epoch,
                    "token": t,
                }
                for i, t in enumerate(tokens)
            )
    _insert(session, RemotePdqChunk, rows)
    if not rows:
        return 0
    return _meet(session, RemotePdqChunk.peer_id == peer_id, RemotePdqChunk.ref.in_(refs))


def for_values(session: Session, value_ids: Sequence[uuid.UUID]) -> int:
    """Candidates of these own values (newly tokenised) with every live PDQ entry of every
    active peer. Returns the number of new candidates."""
    wanted = list(dict.fromkeys(value_ids))
    found = 0
    for start in range(0, len(wanted), _CHUNK):
        found += _meet(session, OwnPdqChunk.value_id.in_(wanted[start : start + _CHUNK]))
    return found


def _meet(session: Session, *where: Any) -> int:
    """Candidates where own and remote chunk tokens are equal at the same position and epoch:
    one per (peer, ref, value), with the number of positions that agree."""
    agree = (
        select(
            RemotePdqChunk.peer_id,
            RemotePdqChunk.ref,
            OwnPdqChunk.value_id,
            func.count().label("chunks"),
        )
        .join(
            OwnPdqChunk,
            (OwnPdqChunk.epoch == RemotePdqChunk.epoch)
            & (OwnPdqChunk.token == RemotePdqChunk.token)
            & (OwnPdqChunk.position == RemotePdqChunk.position),
        )
        .join(Peer, Peer.id == RemotePdqChunk.peer_id)
        .where(Peer.state == "active", *where)
        .group_by(RemotePdqChunk.peer_id, RemotePdqChunk.ref, OwnPdqChunk.value_id)
    )
    now = utcnow()
    rows = [
        {
            "id": uuid.uuid4(),
            "peer_id": peer_id,
            "ref": ref,
            "value_id": value_id,
            "chunks": chunks,
            "state": PENDING,
            "attempts": 0,
            "created_at": now,
        }
        for peer_id, ref, value_id, chunks in session.execute(agree)
    ]
    if not rows:
        return 0
    table = cast(Table, PdqCandidate.__table__)
    dialect_insert = pg_insert if is_postgres(session) else sqlite_insert
    new = 0
    for start in range(0, len(rows), _CHUNK):
        inserted = session.execute(
            dialect_insert(table).on_conflict_do_nothing().returning(table.c.id),
            rows[start : start + _CHUNK],
        )
        new += len(inserted.scalars().all())
    return new


@dataclass(frozen=True)
class Summary:
    """A peer's PDQ candidates on this node, for its status: how many in each state, and the
    last failure of one still waiting."""

    counts: dict[str, int]
    last_error: str | None

    def words(self) -> str:
        if not self.counts:
            return "none"
        named = {
            PENDING: "waiting for the owner's confirmation",
            HIT: "confirmed (hits)",
            NO_HIT: "no hit",
            WITHHELD: "withheld by this node's profile",
            WITHDRAWN: "withdrawn",
        }
        return "; ".join(f"{self.counts[s]} {named[s]}" for s in named if self.counts.get(s))


def summary(session: Session, peer_id: uuid.UUID) -> Summary:
    counts = {
        state: int(n)
        for state, n in session.execute(
            select(PdqCandidate.state, func.count())
            .where(PdqCandidate.peer_id == peer_id)
            .group_by(PdqCandidate.state)
        )
    }
    error = session.scalar(
        select(PdqCandidate.last_error)
        .where(
            PdqCandidate.peer_id == peer_id,
            PdqCandidate.state == PENDING,
            PdqCandidate.last_error.is_not(None),
        )
        .order_by(PdqCandidate.next_try_at.desc())
        .limit(1)
    )
    return Summary(counts, error)


# --- GREEN PDQ hashes a peer's profile let cross in plaintext --------------------------------


Matched = tuple[uuid.UUID, str, uuid.UUID]  # (peer, ref, own value)


def plaintext_near(
    session: Session, entries: Sequence[tuple[uuid.UUID, str, str]]
) -> list[Matched]:
    """Own PDQ values within the match threshold of a peer's GREEN plaintext hashes ((peer,
    ref, hash) each): found through the local PDQ index, as a local PDQ hit is. The hash is
    here in plaintext, so no candidate and no confirmation are needed."""
    usable = [(p, r, v) for p, r, v in entries if pdq.decode_hash(v) is not None]
    if not usable:
        return []
    threshold = get_settings().pdq_match_threshold
    queries = [bytes.fromhex(v) for _, _, v in usable]
    found = cases_pdq.index_for(session).candidates_many(session, queries, threshold)
    wanted = {seq for seqs in found for seq in seqs}
    held: dict[int, tuple[uuid.UUID, bytes]] = {}
    for start in range(0, len(wanted), _CHUNK):
        part = sorted(wanted)[start : start + _CHUNK]
        for seq, value_id, bits in session.execute(
            select(PdqBits.seq, Selector.value_id, PdqBits.bits)
            .join(Selector, Selector.id == PdqBits.selector_id)
            .where(PdqBits.seq.in_(part))
        ):
            held[seq] = (value_id, bytes(bits))
    matched: set[Matched] = set()
    for (peer_id, ref, _), query, seqs in zip(usable, queries, found, strict=True):
        for seq in seqs:
            if seq in held and _distance(held[seq][1], query) <= threshold:
                matched.add((peer_id, ref, held[seq][0]))
    return sorted(matched, key=str)


def plaintext_for_values(session: Session, value_ids: Sequence[uuid.UUID]) -> list[Matched]:
    """The same from this node's side: these own PDQ values against every live GREEN
    plaintext PDQ entry of every active peer (few: GREEN PDQ, and only where a profile lets
    it cross in plaintext)."""
    own: dict[uuid.UUID, bytes] = {}
    wanted = list(dict.fromkeys(value_ids))
    for start in range(0, len(wanted), _CHUNK):
        for value_id, key in session.execute(
            select(SelectorValue.id, SelectorValue.key).where(
                SelectorValue.id.in_(wanted[start : start + _CHUNK]),
                SelectorValue.kind == SelectorKind.PDQ.value,
            )
        ):
            if pdq.decode_hash(key) is not None:
                own[value_id] = bytes.fromhex(key)
    if not own:
        return []
    threshold = get_settings().pdq_match_threshold
    matched: list[Matched] = []
    for peer_id, ref, value in session.execute(
        select(RemoteEntry.peer_id, RemoteEntry.ref, RemoteEntry.value)
        .join(Peer, Peer.id == RemoteEntry.peer_id)
        .where(
            RemoteEntry.kind == SelectorKind.PDQ.value,
            RemoteEntry.form == "plaintext",
            RemoteEntry.withdrawn_at.is_(None),
            Peer.state == "active",
        )
    ):
        if pdq.decode_hash(value) is None:
            continue
        theirs = bytes.fromhex(value)
        matched.extend(
            (peer_id, ref, v) for v, bits in own.items() if _distance(bits, theirs) <= threshold
        )
    return matched


def _distance(a: bytes, b: bytes) -> int:
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).bit_count()


# --- the owner's confirmation ----------------------------------------------------------------


@dataclass(frozen=True)
class Confirmation:
    """The owner's answer: hit or not, and the distance on a hit only."""

    hit: bool
    distance: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {"hit": True, "distance": self.distance} if self.hit else {"hit": False}


def confirms_used(session: Session, peer_id: uuid.UUID, *, now: datetime | None = None) -> int:
    """Confirmations answered to a peer in the last hour, from the audit log."""
    since = (now or utcnow()) - CONFIRM_WINDOW
    count = session.scalar(
        select(func.count()).where(
            AuditEntry.action == CONFIRM_ACTION,
            AuditEntry.subject_id == peer_id,
            AuditEntry.outcome == "ok",
            AuditEntry.at >= since,
        )
    )
    return int(count or 0)


def confirm(
    session: Session,
    caller: Caller,
    peer_id: uuid.UUID,
    *,
    ref: str,
    candidate: str,
    settings: Settings,
    now: datetime | None = None,
) -> Confirmation:
    """Whether a peer's candidate hash is within this node's PDQ match threshold of the hash
    this node published to that peer under `ref`. Only a ref published to that very peer is
    answered (404 otherwise); past the peer's hourly budget 429. A candidate that shares no
    chunk with the hash was not found through the chunks: it is answered no-hit whatever its
    distance, so a peer cannot walk towards a hash it has no chunk of. The answer is audited
    as a disclosure to the peer (ref, hit, distance), never the candidate."""
    detail: dict[str, Any] = {"ref": ref[:36]}
    try:
        if len(candidate) != 64 or not set(candidate) <= set("0123456789abcdef"):
            raise Invalid("candidate", "a PDQ hash: 64 lower-case hexadecimal digits")
        published = session.execute(
            select(Selector.id, SelectorValue.key)
            .join(Publication, Publication.selector_id == Selector.id)
            .join(SelectorValue, SelectorValue.id == Selector.value_id)
            .where(
                Publication.peer_id == peer_id,
                Publication.ref == ref,
                Selector.kind == SelectorKind.PDQ.value,
            )
        ).first()
        if published is None:
            raise NotFound("PDQ publication of that ref to your node")
        selector_id, own = published
        detail["selector"] = str(selector_id)
        used = confirms_used(session, peer_id, now=now)
        limit = settings.federation_pdq_confirms_per_hour
        if used >= limit:
            raise RateLimited(
                f"node {peer_id} has had {used} of its {limit} PDQ confirmations this hour"
            )
    except TaskforceError as refusal:
        detail["reason"] = refusal.message
        _audit(session, caller, peer_id, detail, refused=True)
        raise
    shares = any(a == b for a, b in zip(*pdq.chunks([own, candidate]), strict=True))
    distance = pdq.distance(own, candidate)
    answer = (
        Confirmation(True, distance)
        if shares and distance <= settings.pdq_match_threshold
        else Confirmation(False)
    )
    detail.update(answer.as_json())
    _audit(session, caller, peer_id, detail, refused=False)
    return answer


def _audit(
    session: Session, caller: Caller, peer_id: uuid.UUID, detail: dict[str, Any], *, refused: bool
) -> None:
    audit.record(
        session,
        caller,
        action=CONFIRM_ACTION,
        operation=audit.Operation.DISCLOSURE,
        subject_type="node",
        subject_id=peer_id,
        recipients=[str(peer_id)],
        outcome="refused" if refused else "ok",
        detail=detail,
    )
