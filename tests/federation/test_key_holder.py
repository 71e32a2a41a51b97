"""The key holder: keys per epoch in the data folder, evaluations within a per-node budget, and
an audit that holds counts, never elements."""

from __future__ import annotations

import json
import stat
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.cases.selectors import normalise
from taskforce.core.audit.models import AuditEntry
from taskforce.core.caller import Caller, Role
from taskforce.core.db import utcnow
from taskforce.core.errors import Conflict, Forbidden, Invalid, RateLimited
from taskforce.core.settings import Settings
from taskforce.federation import blinding, keys, service
from taskforce.federation.service import EVALUATE_ACTION

ADMIN = Caller(role=Role.NETWORK_ADMIN, channel="cli")
PEER = uuid.UUID("00000000-0000-4000-8000-0000000000b1")


@pytest.fixture
def holder(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return settings.model_copy(
        update={
            "data_dir": tmp_path_factory.mktemp("holder"),
            "federation_key_holder": True,
            "federation_oprf_values_per_hour": 5,
        }
    )


def _blinded(count: int) -> blinding.Blinding:
    return blinding.blind(
        [blinding.token_input(normalise("md5", f"{i:032x}"), 1) for i in range(count)]
    )


def test_key_files_are_private_and_rotation_keeps_the_old_epoch(
    session: Session, holder: Settings
) -> None:
    first = service.init_key(session, ADMIN, holder)
    path = keys.folder(holder)
    assert stat.S_IMODE(path.stat().st_mode) == 0o700
    assert stat.S_IMODE((path / "epoch-000001.key").stat().st_mode) == 0o600
    with pytest.raises(Conflict):
        service.init_key(session, ADMIN, holder)

    second = service.rotate_key(session, ADMIN, holder)
    assert (first.epoch, second.epoch) == (1, 2)
    assert stat.S_IMODE((path / "epoch-000001.key").stat().st_mode) == 0o400
    published = service.public_keys(holder)
    assert [(k.epoch, k.current) for k in published] == [(1, False), (2, True)]
    assert published[0].public_key == first.public_key  # epoch 1's tokens stay comparable
    assert first.public_key != second.public_key
    # the secret never reaches the audit log, the public key does
    logged = session.scalars(
        select(AuditEntry).where(AuditEntry.action.startswith("federation.key_"))
    ).all()
    assert [e.detail["epoch"] for e in logged] == [1, 2]
    secret = (path / "epoch-000002.key").read_text().strip()
    assert all(secret not in json.dumps(e.detail) for e in logged)


def test_only_the_key_holder_and_the_operator_manage_keys(
    session: Session, holder: Settings
) -> None:
    elsewhere = holder.model_copy(update={"federation_key_holder": False})
    with pytest.raises(Forbidden, match="not the network's OPRF key holder"):
        service.init_key(session, ADMIN, elsewhere)
    with pytest.raises(Forbidden):
        service.init_key(session, Caller(role=Role.AGENCY_ADMIN, channel="cli"), holder)
    assert not keys.folder(holder).exists()


def test_a_key_file_others_can_read_is_refused(session: Session, holder: Settings) -> None:
    service.init_key(session, ADMIN, holder)
    (keys.folder(holder) / "epoch-000001.key").chmod(0o644)
    with pytest.raises(Forbidden, match="chmod 600"):
        service.evaluate(session, PEER, 1, _blinded(1).elements, settings=holder)


def test_evaluation_round_trip_and_its_audit_holds_counts_never_elements(
    session: Session, holder: Settings
) -> None:
    service.init_key(session, ADMIN, holder)
    (public,) = [k.public_key for k in service.public_keys(holder)]
    selectors = [normalise("email", "alice@example.com"), normalise("ip", "203.0.113.9")]
    tokens = blinding.tokenise(
        selectors,
        1,
        public,
        lambda epoch, elements: service.evaluate(session, PEER, epoch, elements, settings=holder),
    )
    seed = keys.seed(holder, 1)
    assert tokens == [blinding.token_for_key_holder(seed, s, 1) for s in selectors]

    (entry,) = session.scalars(select(AuditEntry).where(AuditEntry.action == EVALUATE_ACTION))
    assert (entry.subject_type, entry.subject_id, entry.detail) == (
        "node",
        PEER,
        {"epoch": 1, "key": "exact", "count": 2},
    )
    assert entry.recipients == [str(PEER)]


def test_the_budget_refuses_past_the_hour_and_the_refusal_is_audited(
    session: Session, holder: Settings
) -> None:
    service.init_key(session, ADMIN, holder)
    service.evaluate(session, PEER, 1, _blinded(3).elements, settings=holder)
    with pytest.raises(RateLimited) as refused:
        service.evaluate(session, PEER, 1, _blinded(3).elements, settings=holder)
    assert "3 of its 5 values this hour" in refused.value.message
    # another node has its own budget; an hour later the first has its budget back
    other = uuid.uuid4()
    assert len(service.evaluate(session, other, 1, _blinded(2).elements, settings=holder)[0]) == 2
    later = utcnow() + timedelta(hours=1, seconds=1)
    service.evaluate(session, PEER, 1, _blinded(3).elements, settings=holder, now=later)

    rows = session.scalars(
        select(AuditEntry).where(AuditEntry.action == EVALUATE_ACTION).order_by(AuditEntry.seq)
    ).all()
    assert [(e.subject_id, e.outcome, e.detail["count"]) for e in rows] == [
        (PEER, "ok", 3),
        (PEER, "refused", 3),
        (other, "ok", 2),
        (PEER, "ok", 3),
    ]
    assert "budget" in rows[1].detail["reason"]


def test_unknown_epoch_and_bad_elements_are_refused_by_name(
    session: Session, holder: Settings
) -> None:
    service.init_key(session, ADMIN, holder)
    with pytest.raises(Invalid) as refused:
        service.evaluate(session, PEER, 9, _blinded(1).elements, settings=holder)
    assert refused.value.field == "epoch"
    with pytest.raises(Invalid) as refused:
        service.evaluate(session, PEER, 1, [bytes(32)], settings=holder)
    assert refused.value.field == "blinded[0]"
    # a refused batch does not spend budget
    assert service.budget_used(session, PEER) == 0
