"""The synced PDQ index follows the database through commits and rollbacks, and a
transaction that never used it leaves it alone."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, LargeBinary, MetaData, Table, create_engine, insert, select
from sqlalchemy.orm import Session, sessionmaker

from taskforce.core.pdq_index import SyncedIndex, index_for

metadata = MetaData()
codes = Table(
    "codes", metadata, Column("seq", Integer, primary_key=True), Column("bits", LargeBinary)
)


def fetch(session: Session, after: int) -> Sequence[tuple[int, bytes]]:
    rows = session.execute(select(codes.c.seq, codes.c.bits).where(codes.c.seq > after))
    return [(seq, bytes(bits)) for seq, bits in rows]


@pytest.fixture
def factory(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = create_engine(f"sqlite:///{tmp_path / 'codes.db'}")
    metadata.create_all(engine)
    yield sessionmaker(engine)
    engine.dispose()


def code(byte: int) -> bytes:
    return bytes([byte]) * 32


def index(session: Session) -> SyncedIndex:
    return index_for(session, "codes", fetch)


def add(session: Session, bits: bytes) -> int:
    return int(session.execute(insert(codes).values(bits=bits).returning(codes.c.seq)).scalar_one())


def test_rows_of_a_rolled_back_transaction_leave_the_index(
    factory: sessionmaker[Session],
) -> None:
    with factory() as session:
        kept = add(session, code(1))
        session.commit()
    with factory() as session:
        rolled_back = add(session, code(2))
        assert index(session).candidates(session, code(2), 0) == [rolled_back]
        session.rollback()
    with factory() as session:
        reused = add(session, code(3))  # SQLite hands out the rolled-back number again
        session.commit()
    assert reused == rolled_back
    with factory() as session:
        assert index(session).candidates(session, code(2), 0) == []
        assert index(session).candidates(session, code(3), 0) == [reused]
        assert index(session).candidates(session, code(1), 0) == [kept]


def test_a_transaction_that_never_queried_does_not_touch_the_index(
    factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    with factory() as session:
        for i in range(10):
            add(session, code(i))
        session.commit()
        index(session).sync(session)
        session.commit()
    synced = index(session)
    dropped: list[int] = []
    monkeypatch.setattr(synced.index, "truncate", dropped.append)
    with factory() as session:
        session.execute(select(codes.c.seq)).all()
        session.rollback()  # a rejected request
    assert dropped == []
    assert len(synced.index) == 10
    assert synced.last_seq == 10


def test_rows_committed_by_others_are_reloaded_after_a_rollback(
    factory: sessionmaker[Session],
) -> None:
    with factory() as first:
        add(first, code(7))
        first.commit()
        index(first).sync(first)  # this transaction's floor: 1
        with factory() as other:
            other_seq = add(other, code(8))
            other.commit()
        assert index(first).candidates(first, code(8), 0) == [other_seq]
        first.rollback()
    with factory() as session:
        assert index(session).candidates(session, code(8), 0) == [other_seq]
