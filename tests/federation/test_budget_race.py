"""Two batches of one peer at once, on a committed database: together they cannot pass the
peer's budget (the second waits for the first's commit, then is refused)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import migrated_engine
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from taskforce.core.audit.models import AuditEntry
from taskforce.core.caller import system_caller
from taskforce.core.db import make_sessionmaker, unit_of_work
from taskforce.core.errors import RateLimited
from taskforce.core.settings import Settings
from taskforce.federation import blinding, service
from taskforce.federation.models import Peer
from taskforce.federation.service import EVALUATE_ACTION


@pytest.fixture(params=["sqlite", "postgresql"])
def committed(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Engine, Settings]]:
    with migrated_engine(request.param, tmp_path) as engine:
        settings: Settings = engine.info_settings  # type: ignore[attr-defined]
        yield (
            engine,
            settings.model_copy(
                update={
                    "data_dir": tmp_path / "holder",
                    "federation_key_holder": True,
                    "federation_oprf_values_per_hour": 5,
                }
            ),
        )


def test_two_batches_at_once_cannot_both_fit_in_the_budget(
    committed: tuple[Engine, Settings],
) -> None:
    engine, settings = committed
    factory = make_sessionmaker(engine)
    peer_id = uuid.uuid4()
    with unit_of_work(factory) as session:
        session.add(
            Peer(
                id=peer_id,
                name="Node B",
                country="NL",
                url="http://node-b.example.org",
                public_key="A" * 43 + "=",
                fingerprint="test",
            )
        )
        service.init_key(session, system_caller(), settings)
    first, second = blinding.blind([b"a", b"b", b"c"]), blinding.blind([b"d", b"e", b"f"])

    outcome: list[object] = []

    def other_batch() -> None:
        with Session(engine) as other:
            try:
                service.evaluate(other, peer_id, 1, second.elements, settings=settings)
                other.commit()
                outcome.append("evaluated")
            except RateLimited as refused:
                other.commit()  # the refusal's audit entry
                outcome.append(refused)

    with Session(engine) as one:
        service.evaluate(one, peer_id, 1, first.elements, settings=settings)  # 3 of 5, held
        racer = threading.Thread(target=other_batch)
        racer.start()
        racer.join(timeout=2)  # it waits for the first batch's commit (or has not got there)
        one.commit()
    racer.join(timeout=60)
    assert len(outcome) == 1
    assert isinstance(outcome[0], RateLimited), outcome
    with Session(engine) as session:
        rows = session.scalars(
            select(AuditEntry.outcome).where(AuditEntry.action == EVALUATE_ACTION)
        ).all()
    assert sorted(rows) == ["ok", "refused"]
