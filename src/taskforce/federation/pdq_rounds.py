"""The PDQ steps of a round, the network work done outside any transaction:

1. `tokenise_own`: this node's PDQ values (open cases, not noise) get their 16 chunk tokens
   under the key holder's PDQ-chunk key, a few values per request (the chunk budget is small:
   `federation_pdq_chunk_values_per_hour`), each group stored, and its candidates found, in
   its own transaction; a 429 stops the step until the next round.
2. `confirm_pending`: each pending candidate is sent to the node that published the entry,
   `POST /federation/v1/pdq/confirm {ref, candidate}` — this node's own hash, a disclosure —
   only where this node's profile for that peer lets the PDQ selector cross at all (else the
   candidate is `withheld`). The answer is stored in a transaction of its own: a confirmed hit
   becomes the cross-node hits of the value's selectors (`matching`), a no-hit is kept so it is
   never asked again, a ref the owner no longer publishes is `withdrawn`, and a failure (the
   owner down, its budget spent) is retried with backoff. Candidates with more agreeing chunks
   are asked first: they are the likeliest hits, and the owner's budget is small.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from pydantic import ValidationError
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from taskforce.cases.models import Case, Selector, SelectorValue
from taskforce.core.audit import service as audit
from taskforce.core.caller import system_caller
from taskforce.core.db import unit_of_work, utcnow
from taskforce.core.errors import TaskforceError
from taskforce.core.settings import Settings
from taskforce.federation import (
    candidates,
    keys,
    matching,
    pdq,
    peering,
    profiles,
    tokens,
    transport,
)
from taskforce.federation.blinding import KeyFamily
from taskforce.federation.models import PdqCandidate, Peer, Profile, RemoteEntry
from taskforce.federation.schemas import PdqConfirmed

CONFIRM_PATH = "/federation/v1/pdq/confirm"
ASK_ACTION = "federation.pdq.ask"
GROUP = 16
"""PDQ values per chunk evaluation (256 chunks): inside the key holder's default budget."""
RETRY_CAP = timedelta(hours=1)
_log = logging.getLogger(__name__)


@dataclass
class ChunkReport:
    epoch: int | None = None
    tokenised: int = 0
    candidates: int = 0
    hits: int = 0  # with GREEN plaintext PDQ entries, by distance
    error: str | None = None


def tokenise_own(
    factory: sessionmaker[Session], settings: Settings, *, group: int = GROUP, **options: Any
) -> ChunkReport:
    """Chunk tokens for every PDQ value of this node's open cases that has none in the current
    epoch; a refusal (budget, key holder down) is reported, and what was stored stays."""
    report = ChunkReport()
    try:
        _tokenise_own(factory, settings, report, group, options)
    except TaskforceError as error:
        report.error = error.message
        _log.warning("PDQ values not tokenised: %s", error.message)
    return report


def _tokenise_own(
    factory: sessionmaker[Session],
    settings: Settings,
    report: ChunkReport,
    group: int,
    options: dict[str, Any],
) -> None:
    with unit_of_work(factory) as session:
        target = None if settings.federation_key_holder else peering.key_holder_target(session)
    seed = b""
    if settings.federation_key_holder:
        epoch = keys.current_epoch(settings)
        seed = keys.seed(settings, epoch, KeyFamily.PDQ_CHUNK)
    elif target is not None:
        with transport.client(settings, target.node_id, target.url, **options) as http:
            held = tokens.published_keys(http, target, settings, KeyFamily.PDQ_CHUNK)
        if not held:
            return
        epoch = max(held)
    else:
        return
    report.epoch = epoch
    while True:
        with unit_of_work(factory) as session:
            todo = candidates.open_values(session, epoch=epoch, limit=group)
        if not todo:
            return
        hashes = [value for _, value in todo]
        if target is None:
            made = pdq.tokens_for_key_holder(seed, hashes, epoch)
        else:
            _, made = tokens.tokenise_pdq(settings, target, hashes, epoch=epoch, **options)
        with unit_of_work(factory) as session:
            report.candidates += candidates.store_own(
                session, epoch, {v: t for (v, _), t in zip(todo, made, strict=True)}
            )
            report.hits += matching.for_pdq_values(session, [v for v, _ in todo])
        report.tokenised += len(todo)


# --- confirmations ---------------------------------------------------------------------------


@dataclass
class ConfirmReport:
    asked: int = 0
    hits: int = 0
    no_hits: int = 0
    withheld: int = 0
    withdrawn: int = 0
    failed: int = 0


@dataclass(frozen=True)
class _Ask:
    candidate_id: uuid.UUID
    peer_id: uuid.UUID
    peer_name: str
    peer_url: str
    ref: str
    value_id: uuid.UUID
    value: str
    attempts: int
    allowed: bool


def may_disclose(session: Session, peer: Peer, value_id: uuid.UUID) -> bool:
    """Whether this node's profile for `peer` lets one of the value's live selectors cross in
    any form: the confirming request hands the peer the hash itself."""
    profile = session.get(Profile, peer.id)
    levels = session.scalars(
        select(Case.sharing)
        .join(Selector, Selector.case_id == Case.id)
        .where(
            Selector.value_id == value_id,
            Selector.noise_reason.is_(None),
            Case.status == "open",
        )
    ).all()
    return any(profiles.crossing(peer, profile, "pdq", str(level)) for level in levels)


def _due(session: Session, now: datetime, limit: int, peer_id: uuid.UUID | None) -> list[_Ask]:
    one_peer = () if peer_id is None else (PdqCandidate.peer_id == peer_id,)
    rows = session.execute(
        select(PdqCandidate, Peer, SelectorValue.key)
        .join(Peer, Peer.id == PdqCandidate.peer_id)
        .join(SelectorValue, SelectorValue.id == PdqCandidate.value_id)
        .where(
            PdqCandidate.state == candidates.PENDING,
            Peer.state == "active",
            or_(PdqCandidate.next_try_at.is_(None), PdqCandidate.next_try_at <= now),
            *one_peer,
        )
        .order_by(PdqCandidate.chunks.desc(), PdqCandidate.created_at, PdqCandidate.id)
        .limit(limit)
    ).all()
    return [
        _Ask(
            c.id,
            peer.id,
            peer.name,
            peer.url,
            c.ref,
            c.value_id,
            value,
            c.attempts,
            may_disclose(session, peer, c.value_id),
        )
        for c, peer, value in rows
    ]


def confirm_pending(
    factory: sessionmaker[Session],
    settings: Settings,
    *,
    now: datetime | None = None,
    limit: int = 100,
    peer_id: uuid.UUID | None = None,
    **options: Any,
) -> ConfirmReport:
    """Ask the owners of up to `limit` due candidates (of one peer, or all); each answer
    stored on its own."""
    at = now or utcnow()
    report = ConfirmReport()
    with unit_of_work(factory) as session:
        own = peering.node(session)
        work = _due(session, at, limit, peer_id) if own is not None else []
    for ask in work:
        if not ask.allowed:
            with unit_of_work(factory) as session:
                _settle(session, ask, candidates.WITHHELD, at)
            report.withheld += 1
            continue
        assert own is not None
        status, answer, error = _post(settings, own.id, ask, options)
        report.asked += 1
        with unit_of_work(factory) as session:
            if answer is not None and answer.hit:
                report.hits += _confirmed(session, ask, answer, at)
            elif answer is not None:
                _settle(session, ask, candidates.NO_HIT, at)
                report.no_hits += 1
            elif status == 404:
                _settle(session, ask, candidates.WITHDRAWN, at, error)
                report.withdrawn += 1
            else:
                _retry(session, ask, at, error)
                report.failed += 1
            _audit(session, ask, answer, error)
    return report


def _post(
    settings: Settings, own_id: uuid.UUID, ask: _Ask, options: dict[str, Any]
) -> tuple[int | None, PdqConfirmed | None, str | None]:
    """(status, answer, error): the owner's answer, or why there is none."""
    body = {"ref": ask.ref, "candidate": ask.value}
    try:
        with transport.client(settings, own_id, ask.peer_url, **options) as http:
            response = http.post(CONFIRM_PATH, json=body)
    except httpx.HTTPError as error:
        return None, None, f"{ask.peer_name} did not answer: {type(error).__name__}"
    except TaskforceError as error:
        return None, None, error.message
    if response.status_code != 200:
        try:
            reason = str(response.json().get("message", ""))[:300]
        except (ValueError, AttributeError):
            reason = response.text[:200]
        return (
            response.status_code,
            None,
            f"{ask.peer_name} answered {response.status_code}: {reason}",
        )
    try:
        return 200, PdqConfirmed.model_validate_json(response.content), None
    except ValidationError:
        return 200, None, f"{ask.peer_name} sent a malformed confirmation"


def _candidate(session: Session, ask: _Ask) -> PdqCandidate | None:
    found = session.get(PdqCandidate, ask.candidate_id, with_for_update=True)
    return found if found is not None and found.state == candidates.PENDING else None


def _settle(
    session: Session, ask: _Ask, state: str, at: datetime, error: str | None = None
) -> None:
    candidate = _candidate(session, ask)
    if candidate is not None:
        candidate.state, candidate.answered_at, candidate.last_error = state, at, error


def _retry(session: Session, ask: _Ask, at: datetime, error: str | None) -> None:
    candidate = _candidate(session, ask)
    if candidate is not None:
        candidate.attempts += 1
        candidate.last_error = (error or "")[:500]
        candidate.next_try_at = at + min(timedelta(minutes=2**candidate.attempts), RETRY_CAP)


def _confirmed(session: Session, ask: _Ask, answer: PdqConfirmed, at: datetime) -> int:
    """The owner confirmed: the candidate is a hit, and the value's selectors get their
    cross-node hits with the peer's entry (the local engine's rules decide which)."""
    candidate = _candidate(session, ask)
    if candidate is None:
        return 0
    candidate.state, candidate.answered_at = candidates.HIT, at
    candidate.distance = answer.distance
    entry = session.scalar(
        select(RemoteEntry).where(
            RemoteEntry.peer_id == ask.peer_id,
            RemoteEntry.ref == ask.ref,
            RemoteEntry.withdrawn_at.is_(None),
        )
    )
    if entry is None:
        return 0
    return matching.confirmed(session, entry, ask.value_id)


def _audit(session: Session, ask: _Ask, answer: PdqConfirmed | None, error: str | None) -> None:
    """This node's hash went to the peer (or was meant to): a disclosure, recipient the peer."""
    detail: dict[str, Any] = {"peer": ask.peer_name, "ref": ask.ref}
    if answer is not None:
        detail.update(answer.model_dump(exclude_none=True))
    audit.record(
        session,
        system_caller("worker"),
        action=ASK_ACTION,
        operation=audit.Operation.DISCLOSURE,
        subject_type="selector_value",
        subject_id=ask.value_id,
        recipients=[str(ask.peer_id)],
        outcome="ok" if answer is not None else "failed",
        detail=detail if error is None else {**detail, "reason": error},
    )
