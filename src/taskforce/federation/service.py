"""The key holder's service: its OPRF keys per epoch, and evaluations for peer nodes.

`evaluate` is what `POST /federation/v1/oprf/evaluate` runs for a verified peer: it checks the
peer's hourly budget, evaluates the batch of blinded elements under the epoch's key and audits
the batch as (node, epoch, count). The elements themselves are never written anywhere (they
are freshly blinded per request and say nothing to whoever reads the log); what the audit must
prove is *how much* each node asked, which is what bounds an online guessing attack. The budget
is counted from those audit entries, so it needs no table of its own and cannot drift from what
the log says.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from taskforce.core.audit import service as audit
from taskforce.core.audit.models import AuditEntry
from taskforce.core.caller import Caller, Role, system_caller
from taskforce.core.db import utcnow
from taskforce.core.errors import Forbidden, Invalid, RateLimited, TaskforceError
from taskforce.core.settings import Settings, get_settings
from taskforce.federation import blinding, keys
from taskforce.federation.blinding import KeyFamily
from taskforce.federation.models import Peer

EVALUATE_ACTION = "federation.oprf_evaluate"
BUDGET_WINDOW = timedelta(hours=1)


def init_key(session: Session, caller: Caller, settings: Settings) -> keys.EpochKey:
    """Create the network key's first epoch on the key holder (audited)."""
    _require_network_admin(caller)
    created = keys.create_first(settings)
    _audit_key(session, caller, "federation.key_init", created)
    return created


def rotate_key(session: Session, caller: Caller, settings: Settings) -> keys.EpochKey:
    """Start a new epoch; the older epochs' keys stay, read-only (audited)."""
    _require_network_admin(caller)
    created = keys.rotate(settings)
    _audit_key(session, caller, "federation.key_rotate", created)
    return created


def public_keys(settings: Settings) -> list[keys.EpochKey]:
    """The public key of every epoch held: published, so that peers verify evaluations."""
    return keys.published(settings)


def budget_used(
    session: Session,
    peer_node_id: uuid.UUID,
    *,
    now: datetime | None = None,
    family: KeyFamily = KeyFamily.EXACT,
) -> int:
    """Values evaluated for a peer in the last hour under one key family, from the audit log
    (an entry without a `key` is an exact-match batch: made before the PDQ-chunk key)."""
    since = (now or utcnow()) - BUDGET_WINDOW
    details = session.scalars(
        select(AuditEntry.detail).where(
            AuditEntry.action == EVALUATE_ACTION,
            AuditEntry.subject_id == peer_node_id,
            AuditEntry.outcome == "ok",
            AuditEntry.at >= since,
        )
    )
    return sum(
        int(detail.get("count", 0))
        for detail in details
        if detail.get("key", KeyFamily.EXACT.value) == family.value
    )


def evaluate(
    session: Session,
    peer_node_id: uuid.UUID,
    epoch: int,
    blinded: Sequence[bytes],
    *,
    settings: Settings | None = None,
    caller: Caller | None = None,
    now: datetime | None = None,
    family: KeyFamily = KeyFamily.EXACT,
) -> tuple[list[bytes], bytes]:
    """Evaluate a peer's batch of blinded elements under an epoch's key of `family`: the
    evaluated elements and one DLEQ proof. Refused past the peer's hourly budget of that
    family, for an epoch this node holds no such key of, or on a node that is not the key
    holder; every batch, done or refused, is audited with its node, epoch, key family and
    count, never its elements."""
    settings = settings or get_settings()
    caller = caller or system_caller("federation")
    count = len(blinded)
    try:
        keys.require_key_holder(settings)
        if count > blinding.MAX_BATCH:
            raise Invalid("blinded", f"at most {blinding.MAX_BATCH} blinded elements in one batch")
        seed = keys.seed(settings, epoch, family) if isinstance(epoch, int) else b""
        # the group work first, before the first statement: on SQLite that statement takes
        # the write lock until the commit, and an evaluation of 10,000 takes seconds
        evaluated, proof = blinding.evaluate(seed, epoch, blinded, family)
        # the budget under the peer's row lock, held to the commit: two batches of one peer
        # at once cannot both fit in what is left (SQLite's BEGIN IMMEDIATE does the same)
        session.execute(
            update(Peer).where(Peer.id == peer_node_id).values(last_contact_at=utcnow())
        )
        _check_budget(session, settings, peer_node_id, count, now, family)
    except TaskforceError as refusal:
        _audit_batch(session, caller, peer_node_id, epoch, count, refusal.message, family)
        raise
    _audit_batch(session, caller, peer_node_id, epoch, count, None, family)
    return evaluated, proof


def _check_budget(
    session: Session,
    settings: Settings,
    peer_node_id: uuid.UUID,
    count: int,
    now: datetime | None,
    family: KeyFamily,
) -> None:
    used = budget_used(session, peer_node_id, now=now, family=family)
    if family is KeyFamily.EXACT:
        limit, what = settings.federation_oprf_values_per_hour, "values"
    else:
        limit, what = settings.federation_pdq_chunk_values_per_hour, "PDQ chunks"
    if used + count > limit:
        raise RateLimited(
            f"node {peer_node_id} has had {used} of its {limit} {what} this hour "
            f"evaluated; a batch of {count} would pass the budget"
        )


def _audit_batch(
    session: Session,
    caller: Caller,
    peer_node_id: uuid.UUID,
    epoch: object,
    count: int,
    refused: str | None,
    family: KeyFamily,
) -> None:
    detail: dict[str, object] = {
        "epoch": epoch if isinstance(epoch, int) else None,
        "key": family.value,
        "count": count,
    }
    if refused is not None:
        detail["reason"] = refused
    audit.record(
        session,
        caller,
        action=EVALUATE_ACTION,
        operation=audit.Operation.DISCLOSURE,
        subject_type="node",
        subject_id=peer_node_id,
        recipients=[str(peer_node_id)],
        outcome="ok" if refused is None else "refused",
        detail=detail,
    )


def _require_network_admin(caller: Caller) -> None:
    """The network key is the federation's, not one agency's: only the node's operator."""
    if caller.role is not Role.NETWORK_ADMIN:
        raise Forbidden(f"role {caller.role.value} may not manage the network's OPRF key")


def _audit_key(session: Session, caller: Caller, action: str, key: keys.EpochKey) -> None:
    audit.record(
        session,
        caller,
        action=action,
        operation=audit.Operation.ALTERATION,
        subject_type="oprf_key",
        detail={"epoch": key.epoch, "public_key": key.public_key.hex()},
    )
