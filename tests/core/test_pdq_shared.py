"""Server processes share one mapped main part of a synced PDQ index: only committed rows are
ever published, each process's answers stay those of brute force, and rollbacks and deletions
still hold. Two engines on one SQLite file stand in for two processes."""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Column, Integer, LargeBinary, MetaData, Table, create_engine, insert, select
from sqlalchemy.orm import Session, sessionmaker

from taskforce.core import pdq_shared
from taskforce.core.hamming import hamming
from taskforce.core.mih import MultiIndex
from taskforce.core.pdq_index import SyncedIndex, forget_deleted, index_for, share

TAIL = 8
metadata = MetaData()
codes = Table(
    "codes", metadata, Column("seq", Integer, primary_key=True), Column("bits", LargeBinary)
)
rng = np.random.default_rng(15)


def fetch(session: Session, after: int) -> Sequence[tuple[int, bytes]]:
    rows = session.execute(select(codes.c.seq, codes.c.bits).where(codes.c.seq > after))
    return [(seq, bytes(bits)) for seq, bits in rows]


@pytest.fixture
def shared(tmp_path: Path) -> Path:
    return tmp_path / "pdq-index"


@pytest.fixture
def processes(tmp_path: Path, shared: Path) -> Iterator[tuple[sessionmaker[Session], ...]]:
    engines = [create_engine(f"sqlite:///{tmp_path / 'codes.db'}") for _ in range(2)]
    metadata.create_all(engines[0])
    for engine in engines:
        share(engine, shared, tail_limit=TAIL)
    yield tuple(sessionmaker(engine) for engine in engines)
    for engine in engines:
        engine.dispose()


def random_code() -> bytes:
    return rng.integers(0, 256, 32, dtype=np.uint8).tobytes()


def near(code: bytes, flips: int) -> bytes:
    bits = np.unpackbits(np.frombuffer(code, np.uint8))
    bits[rng.choice(256, flips, replace=False)] ^= 1
    return np.packbits(bits).tobytes()


def index(session: Session) -> SyncedIndex:
    return index_for(session, "codes", fetch)


def add(session: Session, bits: bytes) -> int:
    return int(session.execute(insert(codes).values(bits=bits).returning(codes.c.seq)).scalar_one())


def add_committed(factory: sessionmaker[Session], count: int) -> list[int]:
    with factory() as session:
        added = [add(session, random_code()) for _ in range(count)]
        session.commit()
    return added


def generations(shared: Path) -> list[int]:
    """Published generations (one folder per database under `shared`)."""
    return sorted(int(p.name.rsplit("-", 1)[1]) for p in shared.glob("*/codes-*"))


def mapped(factory: sessionmaker[Session], shared_root: Path) -> Path | None:
    """The generation the process's main part is mapped from, if it is."""
    with factory() as session:
        main, _ids = index(session).index.main_part()
    if main is None or not isinstance(main.codes, np.memmap):
        return None
    return Path(str(main.codes.filename)).parent.relative_to(shared_root)


def database(shared: Path) -> Path:
    """The one database folder both processes publish in (relative to `shared`)."""
    (folder,) = shared.iterdir()
    return Path(folder.name)


def assert_like_brute_force(factory: sessionmaker[Session], queries: Sequence[bytes]) -> None:
    with factory() as session:
        stored = session.execute(select(codes.c.seq, codes.c.bits)).all()
        found = index(session).candidates_many(session, queries, 31)
        session.commit()
    for query, seqs in zip(queries, found, strict=True):
        expected = sorted(seq for seq, bits in stored if hamming(bytes(bits), query) <= 31)
        assert sorted(seqs) == expected


def test_processes_map_one_main_part_of_committed_rows(
    processes: tuple[sessionmaker[Session], ...], shared: Path
) -> None:
    first, second = processes
    added = add_committed(first, 5 * TAIL)
    with first() as session:
        index(session).sync(session)  # merged, but inside a transaction that may roll back
        assert generations(shared) == []
        session.commit()
    with first() as session:
        index(session).sync(session)  # no open transaction below the main part now
        session.commit()
    assert generations(shared) == [added[-1]]
    assert mapped(first, shared) == database(shared) / f"codes-{added[-1]}"
    with second() as session:
        index(session).sync(session)
        session.commit()
    assert mapped(second, shared) == database(shared) / f"codes-{added[-1]}"
    with first() as session:
        stored = [bytes(b) for b in session.execute(select(codes.c.bits)).scalars()]
    queries = [near(stored[i], 31) for i in range(0, len(stored), 3)] + [random_code()]
    assert_like_brute_force(first, queries)
    assert_like_brute_force(second, queries)

    later = add_committed(second, 3 * TAIL)  # a new generation, published by `second`
    assert_like_brute_force(second, [*queries, random_code()])
    assert_like_brute_force(second, queries)
    assert generations(shared) == [later[-1]]  # the older one removed; `first` keeps its pages
    assert_like_brute_force(first, queries)
    assert_like_brute_force(first, queries)
    assert mapped(first, shared) == database(shared) / f"codes-{later[-1]}"


def test_uncommitted_rows_are_never_published_and_roll_back(
    processes: tuple[sessionmaker[Session], ...], shared: Path
) -> None:
    first, second = processes
    committed = add_committed(first, 3 * TAIL)
    with second() as session:
        index(session).sync(session)
        session.commit()
    rolled_back_code = random_code()
    with second() as session:
        index(session).sync(session)
        pending = [add(session, random_code()) for _ in range(3 * TAIL)]
        pending.append(add(session, rolled_back_code))
        assert index(session).candidates(session, rolled_back_code, 0) == [pending[-1]]
        assert all(last <= committed[-1] for last in generations(shared))
        session.rollback()
    assert all(last <= committed[-1] for last in generations(shared))
    reused_code = random_code()
    with first() as session:
        reused = [add(session, random_code()) for _ in range(len(pending) - 1)]
        reused.append(add(session, reused_code))
        session.commit()
    assert reused == pending  # SQLite hands the rolled-back numbers out again
    for process in processes:
        with process() as session:
            assert index(session).candidates(session, rolled_back_code, 0) == []
            assert index(session).candidates(session, reused_code, 0) == [reused[-1]]
            session.commit()


def test_deleting_rows_removes_the_generations_that_hold_them(
    processes: tuple[sessionmaker[Session], ...], shared: Path
) -> None:
    first, _second = processes
    added = add_committed(first, 4 * TAIL)
    for _ in range(2):
        with first() as session:
            index(session).sync(session)
            session.commit()
    assert generations(shared) == [added[-1]]
    with first() as session:
        forget_deleted(session, "codes", added[TAIL])
        session.execute(codes.delete().where(codes.c.seq > added[TAIL]))
        session.commit()
    assert generations(shared) == []
    assert_like_brute_force(first, [random_code()])


def test_a_generation_of_other_codes_is_not_mapped(
    processes: tuple[sessionmaker[Session], ...], shared: Path
) -> None:
    """Files left from a database since re-created: same table, same row numbers."""
    first, second = processes
    added = add_committed(first, 4 * TAIL)
    for _ in range(2):
        with first() as session:
            index(session).sync(session)
            session.commit()
    (generation,) = (shared / database(shared)).iterdir()
    other = rng.integers(0, 2**64, size=(len(added), 4), dtype=np.uint64)
    stale = MultiIndex.build(other)
    shutil.rmtree(generation)
    pdq_shared.publish(generation.parent, "codes", stale, np.array(added, dtype=np.int64))
    with second() as session:
        stored = [bytes(b) for b in session.execute(select(codes.c.bits)).scalars()]
    assert_like_brute_force(second, [near(code, 3) for code in stored[::4]])
    assert mapped(second, shared) is None  # built from the database instead


def test_a_generation_removed_while_being_mapped_is_skipped(shared: Path) -> None:
    assert pdq_shared.load(shared / "codes-7") is None
    assert pdq_shared.newest(shared, "codes", 0) is None
