"""The publisher: what this node tells each peer, as the profile allows, appended to that
peer's feed.

Two steps, both safe to run again at any time (the worker does, every round):

1. **Own tokens.** Every exact-match selector value of this node's open cases gets its token
   under the key holder's current epoch, once (`OwnToken`), through the key-holder peer
   (`tokens.tokenise`, blinded: the key holder sees no value) or, on the key holder itself,
   with the key. The calls run outside any transaction; the tokens are stored 2,000 per
   transaction, each followed by `matching.for_values` in that transaction, so a token never
   exists without its hits.
2. **Feeds.** Per active peer, the selectors it may receive (`profiles.crossing`, the one
   rule) are compared with what it was sent (`Publication`): new ones get a random `ref` and
   an upsert entry, changed ones (level, token epoch, released details) an upsert under the
   same ref, and ones no longer allowed (selector deleted, case closed, sharing downgraded,
   profile narrowed, peer made key holder) a withdrawal. The GREEN wallet watch list goes the
   same way (`watches.py`): each of this node's entries a `watch` entry, withdrawn when it
   leaves the list. Publication rows and feed entries are written together, 2,000 per
   transaction: a crash between batches leaves a consistent prefix, and the next run carries
   on from it (each batch re-reads what was published).

After a round that appended entries for a peer, the peer is nudged (`POST
/federation/v1/nudge`) so it pulls now rather than at its next scheduled sync.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import time
import uuid
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, assert_never

import httpx
from sqlalchemy import exists, func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from taskforce.agencies.models import Agency
from taskforce.cases.models import Case, Selector, SelectorValue
from taskforce.cases.selectors import NormalisedSelector, SelectorKind
from taskforce.commerce.models import WalletWatch
from taskforce.core.audit.service import Operation, record
from taskforce.core.auth.models import User
from taskforce.core.caller import system_caller
from taskforce.core.db import unit_of_work, utcnow
from taskforce.core.errors import TaskforceError
from taskforce.core.settings import Settings
from taskforce.federation import (
    blinding,
    candidates,
    feeds,
    keys,
    matching,
    pdq,
    pdq_rounds,
    peering,
    profiles,
    tokens,
    transport,
    watches,
)
from taskforce.federation.models import OwnToken, Peer, Profile, Publication

BATCH = 2_000
TOKENISE_CHUNK = 10_000
NUDGE_PATH = "/federation/v1/nudge"
NUDGE_TIMEOUT = httpx.Timeout(3.0, connect=2.0)
_log = logging.getLogger(__name__)


@dataclass
class PeerPublished:
    """What one round appended to one peer's feed."""

    peer: str
    upserts: int = 0
    withdrawals: int = 0
    head: int = 0
    nudged: bool | None = None  # None: not tried (nothing appended)

    @property
    def appended(self) -> int:
        return self.upserts + self.withdrawals


@dataclass
class PublishReport:
    tokenised: int = 0
    epoch: int | None = None
    hits: int = 0
    token_error: str | None = None  # the key holder could not be asked: why
    pdq: pdq_rounds.ChunkReport = field(default_factory=pdq_rounds.ChunkReport)
    peers: list[PeerPublished] = field(default_factory=list)

    @property
    def appended(self) -> int:
        return sum(p.appended for p in self.peers)


def publish(
    factory: sessionmaker[Session],
    settings: Settings,
    *,
    now: datetime | None = None,
    nudge: bool = True,
    **options: Any,
) -> PublishReport:
    """One publishing round (both steps); `options` go to the httpx clients (tests' transports)."""
    report = PublishReport()
    try:
        report.epoch = _tokenise_own(factory, settings, report, options)
    except TaskforceError as error:
        report.token_error = error.message
        _log.warning("own selectors not tokenised: %s", error.message)
    report.pdq = pdq_rounds.tokenise_own(factory, settings, **options)
    with unit_of_work(factory) as session:
        # another case's selector of a value tokenised (and matched) already: no new token
        report.hits += matching.for_new_holders(session)
        if report.epoch is None:
            report.epoch = session.scalar(select(OwnToken.epoch).order_by(OwnToken.epoch.desc()))
        peers = [
            (p.id, p.name, p.url)
            for p in session.scalars(select(Peer).where(Peer.state == "active")).all()
        ]
        own = peering.node(session)
    if own is None:
        return report
    for peer_id, name, url in peers:
        done = _publish_to(factory, peer_id, name, report.epoch, now=now)
        report.peers.append(done)
        if done.appended and nudge:
            done.nudged = nudge_peer(settings, own.id, name, url, **options)
    return report


# --- the worker's round ---------------------------------------------------------------------

_LAST_RUN: weakref.WeakKeyDictionary[sessionmaker[Session], tuple[tuple[Any, ...], float]] = (
    weakref.WeakKeyDictionary()
)  # per database (its sessionmaker): what the last round saw, and when


def publish_due(
    factory: sessionmaker[Session], settings: Settings, *, now: datetime | None = None
) -> int:
    """The worker's task: a publishing round when something it reads has visibly changed since
    the last one (selectors, cases, profiles, peers, tokens), and at least every
    `federation_sync_seconds` in any case (a change the mark does not see, such as a selector
    marked noise, waits at most that long). A round reads every open case's selectors, which
    on a large node is seconds of work: not something to repeat every few seconds for nothing.
    The entries appended."""
    with unit_of_work(factory) as session:
        before = _change_mark(session, settings)
    last = _LAST_RUN.get(factory)
    fresh = last is not None and time.monotonic() - last[1] < settings.federation_sync_seconds
    if fresh and last is not None and last[0] == before:
        return 0
    appended = publish(factory, settings, now=now).appended
    with unit_of_work(factory) as session:
        _LAST_RUN[factory] = (_change_mark(session, settings), time.monotonic())
    return appended


def _change_mark(session: Session, settings: Settings) -> tuple[Any, ...]:
    return (
        *session.execute(select(func.count(Selector.id), func.max(Selector.added_at))).one(),
        *session.execute(select(func.count(Case.id), func.max(Case.updated_at))).one(),
        *session.execute(
            select(func.count(), func.max(Profile.updated_at)).select_from(Profile)
        ).one(),
        # not the peers' updated_at: every sync and every signed request touches it
        tuple(
            session.execute(select(Peer.id, Peer.state, Peer.key_holder).order_by(Peer.id)).all()
        ),
        *session.execute(
            select(func.count(), func.max(OwnToken.epoch)).select_from(OwnToken)
        ).one(),
        tuple(keys.epochs(settings)) if settings.federation_key_holder else (),
        *session.execute(
            select(func.count(), func.max(WalletWatch.listed_at), func.max(WalletWatch.removed_at))
        ).one(),
    )


# --- step 1: own tokens ----------------------------------------------------------------------


def _tokenise_own(
    factory: sessionmaker[Session], settings: Settings, report: PublishReport, options: Any
) -> int | None:
    """Token every untokenised value under the current epoch; the epoch, None without a key
    holder."""
    with unit_of_work(factory) as session:
        target = None if settings.federation_key_holder else peering.key_holder_target(session)
    if settings.federation_key_holder:
        held = keys.epochs(settings)
        if not held:
            return None  # no key yet (`federation key init`): nothing to tokenise with
        epoch = held[-1]
        seed = keys.seed(settings, epoch)
    elif target is not None:
        with transport.client(settings, target.node_id, target.url, **options) as http:
            epoch = max(tokens.published_keys(http, target, settings))
    else:
        return None
    while True:
        with unit_of_work(factory) as session:
            todo = _untokenised(session, epoch, TOKENISE_CHUNK)
        if not todo:
            return epoch
        selectors = [
            NormalisedSelector(kind=SelectorKind(kind), value=key, platform=None, key=key)
            for _, kind, key in todo
        ]
        if settings.federation_key_holder:
            made = [blinding.token_for_key_holder(seed, s, epoch) for s in selectors]
        else:
            assert target is not None
            _, made = tokens.tokenise(settings, target, selectors, epoch=epoch, **options)
        pairs = [(value_id, token) for (value_id, _, _), token in zip(todo, made, strict=True)]
        for start in range(0, len(pairs), BATCH):
            part = pairs[start : start + BATCH]
            with unit_of_work(factory) as session:
                session.execute(
                    insert(OwnToken),
                    [{"value_id": v, "epoch": epoch, "token": t} for v, t in part],
                )
                report.hits += matching.for_values(session, [v for v, _ in part])
            report.tokenised += len(part)
        if len(todo) < TOKENISE_CHUNK:
            return epoch


def _untokenised(session: Session, epoch: int, limit: int) -> list[tuple[uuid.UUID, str, str]]:
    in_open_case = (
        select(Selector.id)
        .join(Case, Case.id == Selector.case_id)
        .where(
            Selector.value_id == SelectorValue.id,
            Selector.noise_reason.is_(None),
            Case.status == "open",
        )
    )
    has_token = select(OwnToken.value_id).where(
        OwnToken.value_id == SelectorValue.id, OwnToken.epoch == epoch
    )
    rows = session.execute(
        select(SelectorValue.id, SelectorValue.kind, SelectorValue.key)
        .where(
            SelectorValue.kind.in_([k.value for k in blinding.EXACT_KINDS]),
            exists(in_open_case),
            ~exists(has_token),
        )
        .order_by(SelectorValue.id)
        .limit(limit)
    ).all()
    return [(r[0], r[1], r[2]) for r in rows]


# --- step 2: feeds ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Wanted:
    """One selector as the peer should have it: the entry's body without its ref."""

    body: dict[str, Any]
    fingerprint: str


def _fingerprint(body: dict[str, Any]) -> str:
    return hashlib.sha256(feeds.canonical(body).encode()).hexdigest()


def desired(
    session: Session, peer: Peer, profile: Profile | None, epoch: int | None
) -> dict[uuid.UUID, _Wanted]:
    """Every selector `peer` may receive now, by selector id (`profiles.crossing` decides)."""
    if profile is None or peer.state != "active" or peer.key_holder:
        return {}  # the quick answer; `crossing` below is the rule
    rows = session.execute(
        select(
            Selector.id,
            Selector.kind,
            Selector.value_id,
            SelectorValue.key,
            Case.sharing,
            Case.owner_agency_id,
            Case.reference,
            Case.title,
            Case.lead_investigator_id,
        )
        .join(Case, Case.id == Selector.case_id)
        .join(SelectorValue, SelectorValue.id == Selector.value_id)
        .where(
            Case.status == "open",
            Selector.noise_reason.is_(None),
            Selector.kind.in_(profile.kinds),
            Case.sharing.in_(profile.levels),
        )
    ).all()
    own_tokens = _tokens(session, epoch) if epoch is not None else {}
    own_chunks = candidates.chunks_up_to(session, epoch) if epoch is not None else {}
    codes: dict[uuid.UUID, str] = {}
    people: dict[uuid.UUID | None, tuple[str, str]] = {None: ("", "")}
    wanted: dict[uuid.UUID, _Wanted] = {}
    for sid, kind, value_id, key, level, agency_id, reference, title, lead in rows:
        form = profiles.crossing(peer, profile, kind, level)
        if form is None:
            continue
        if form == profiles.Form.TOKEN:
            held = own_tokens.get(value_id)
            if held is None:
                continue  # not tokenised yet: it goes once it is
            token_epoch, token = held
            value: str = base64.b64encode(token).decode()
            body_epoch: int | None = token_epoch
        elif form == profiles.Form.PDQ_CHUNKS:
            chunked = own_chunks.get(value_id)
            if chunked is None:
                continue  # its chunks are not tokenised yet: it goes once they are
            body_epoch, value = chunked[0], pdq.encode_tokens(chunked[1])
        elif form == profiles.Form.PLAINTEXT:
            value, body_epoch = key, None
        else:  # a new form is handled above, never sent as plaintext by default
            assert_never(form)
        details: dict[str, str] = {}
        if not profiles.release_required(profile, level):
            if agency_id not in codes:
                codes[agency_id] = (
                    session.scalar(select(Agency.code).where(Agency.id == agency_id)) or ""
                )
            if lead not in people:
                user = session.get(User, lead)
                people[lead] = (user.display_name, user.email) if user is not None else ("", "")
            name, email = people[lead]
            details = {
                "reference": reference,
                "title": title,
                "agency": codes[agency_id],
                "investigator": name,
                "investigator_email": email,
            }
        body = {
            "op": "upsert",
            "kind": kind,
            "form": form.value,
            "epoch": body_epoch,
            "value": value,
            "level": str(level),
            "agency_id": str(agency_id),
            "details": details,
        }
        wanted[sid] = _Wanted(body, _fingerprint(body))
    return wanted


def _tokens(session: Session, epoch: int) -> dict[uuid.UUID, tuple[int, bytes]]:
    """Each value's token of the newest epoch it has up to `epoch` (after a rotation the old
    token stays published until the new one is made)."""
    held: dict[uuid.UUID, tuple[int, bytes]] = {}
    for value_id, token_epoch, token in session.execute(
        select(OwnToken.value_id, OwnToken.epoch, OwnToken.token)
        .where(OwnToken.epoch <= epoch)
        .order_by(OwnToken.epoch)
    ):
        held[value_id] = (token_epoch, token)
    return held


def _publish_to(
    factory: sessionmaker[Session],
    peer_id: uuid.UUID,
    name: str,
    epoch: int | None,
    *,
    now: datetime | None,
) -> PeerPublished:
    done = PeerPublished(peer=name)
    with unit_of_work(factory) as session:
        peer = session.get(Peer, peer_id)
        if peer is None or peer.state != "active":
            return done
        profile = session.get(Profile, peer_id)
        wanted = desired(session, peer, profile, epoch)
        for watch_id, body in watches.desired(session, peer, profile).items():
            wanted[watch_id] = _Wanted(body, _fingerprint(body))  # ids never collide
        rows = session.execute(
            select(Publication.selector_id, Publication.fingerprint).where(
                Publication.peer_id == peer_id
            )
        ).all()
        published = {row[0]: row[1] for row in rows}
        done.head = feeds.head_seq(session, peer_id)
    changes: list[tuple[uuid.UUID, _Wanted | None]] = [
        (sid, w) for sid, w in sorted(wanted.items()) if published.get(sid) != w.fingerprint
    ]
    changes += [(sid, None) for sid in sorted(published) if sid not in wanted]
    for part in _chunks(changes, BATCH):
        with unit_of_work(factory) as session:
            _append(session, peer_id, name, part, done, now or utcnow())
    return done


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _append(
    session: Session,
    peer_id: uuid.UUID,
    name: str,
    part: Sequence[tuple[uuid.UUID, _Wanted | None]],
    done: PeerPublished,
    at: datetime,
) -> None:
    """Append one batch of changes to the peer's feed, re-checked against what is published
    now (another round may have done some of them): nothing is sent twice."""
    own = peering.require_node(session)
    session.get(Peer, peer_id, with_for_update=True)  # one publisher per feed at a time
    current = {
        p.selector_id: p
        for p in session.scalars(
            select(Publication).where(
                Publication.peer_id == peer_id,
                Publication.selector_id.in_([sid for sid, _ in part]),
            )
        )
    }
    appended: list[str] = []
    upserts = withdrawals = 0
    for sid, wanted in part:
        held = current.get(sid)
        if wanted is not None:
            if held is not None and held.fingerprint == wanted.fingerprint:
                continue
            if held is None:
                held = Publication(
                    peer_id=peer_id, selector_id=sid, ref=str(uuid.uuid4()), fingerprint=""
                )
                session.add(held)
            held.fingerprint = wanted.fingerprint
            appended.append(feeds.canonical({**wanted.body, "ref": held.ref}))
            upserts += 1
        elif held is not None:
            appended.append(feeds.canonical({"op": "withdraw", "ref": held.ref}))
            session.delete(held)
            withdrawals += 1
    if not appended:
        return
    session.flush()
    seq = feeds.append(session, own.id, peer_id, appended, at)
    record(
        session,
        system_caller("worker"),
        action="federation.feed.publish",
        operation=Operation.ALTERATION,
        subject_type="peer",
        subject_id=peer_id,
        detail={"peer": name, "upserts": upserts, "withdrawals": withdrawals, "head": seq},
    )
    done.upserts += upserts
    done.withdrawals += withdrawals
    done.head = seq


def nudge_peer(settings: Settings, own_id: uuid.UUID, name: str, url: str, **options: Any) -> bool:
    """Tell a peer its feed has news (it pulls at once); a failure is logged, never raised: the
    peer's scheduled sync finds the entries anyway."""
    try:
        with transport.client(settings, own_id, url, timeout=NUDGE_TIMEOUT, **options) as http:
            transport.post_json(http, NUDGE_PATH, {}, peer=name)
    except TaskforceError as error:
        _log.info("nudging %s failed (it syncs on its schedule): %s", name, error.message)
        return False
    return True
