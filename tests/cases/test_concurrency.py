"""Concurrent writers: two agencies adding the same value at the same moment still meet, and
parallel additions lose nothing — on a committed database, not inside a test transaction."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from builders import make_agency, make_case, make_person, seal_and_verify
from conftest import migrated_engine
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from taskforce.cases import additions, service
from taskforce.cases.models import Hit, Selector
from taskforce.cases.schemas import CaseUpdate, SelectorCreate
from taskforce.core.auth import service as auth_service
from taskforce.core.caller import Caller
from taskforce.core.db import make_sessionmaker, unit_of_work
from taskforce.core.settings import Settings
from taskforce.core.sharing import SharingLevel


@pytest.fixture(params=["sqlite", "postgresql"])
def committed(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Engine, Settings]]:
    with migrated_engine(request.param, tmp_path) as engine:
        yield engine, engine.info_settings  # type: ignore[attr-defined]


def _setup(factory: sessionmaker[Session], n_agencies: int) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(user id, case id) per agency, committed."""
    out = []
    with unit_of_work(factory) as session:
        for code in ("GB-NCA", "NL-NP", "US-HSI")[:n_agencies]:
            person = make_person(session, make_agency(session, code))
            case = make_case(session, person, sharing=SharingLevel.GREEN)
            out.append((person.user.id, case.id))
    return out


def _add(
    factory: sessionmaker[Session],
    settings: Settings,
    user_id: uuid.UUID,
    case_id: uuid.UUID,
    value: str,
    errors: list[BaseException],
    barrier: threading.Barrier,
    kind: str = "email",
) -> None:
    try:
        barrier.wait(timeout=10)
        with unit_of_work(factory) as session:
            user = auth_service.user_by_id(session, user_id)
            assert user is not None
            caller = auth_service.caller_for(session, user, channel="api")
            additions.add_selector(
                session,
                caller,
                settings,
                case_id=case_id,
                data=SelectorCreate(type=kind, value=value),
            )
    except BaseException as exc:
        errors.append(exc)


def test_simultaneous_additions_of_one_value_make_exactly_one_hit(
    committed: tuple[Engine, Settings],
) -> None:
    engine, settings = committed
    factory = make_sessionmaker(engine)
    (u1, c1), (u2, c2), (u3, c3) = _setup(factory, 3)
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)
    threads = [
        threading.Thread(
            target=_add, args=(factory, settings, u, c, "race@example.com", errors, barrier)
        )
        for u, c in ((u1, c1), (u2, c2), (u3, c3))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    with unit_of_work(factory) as session:
        pairs = {frozenset((h.a_case_id, h.b_case_id)) for h in session.scalars(select(Hit))}
        assert pairs == {frozenset((c1, c2)), frozenset((c1, c3)), frozenset((c2, c3))}
        assert session.scalar(select(func.count()).select_from(Hit)) == 3
    assert seal_and_verify(factory, settings).ok


def test_near_pdq_hashes_added_at_once_meet_and_far_ones_do_not(
    committed: tuple[Engine, Settings],
) -> None:
    """Three agencies add PDQ hashes at the same moment: two are 20 bits apart (one hit, found
    although neither was committed when the other looked), the third is far from both."""
    engine, settings = committed
    factory = make_sessionmaker(engine)
    (u1, c1), (u2, c2), (u3, c3) = _setup(factory, 3)
    rng = random.Random(5)
    base = rng.getrandbits(256)
    near = base
    for bit in rng.sample(range(256), 20):
        near ^= 1 << bit
    far = base ^ ((1 << 256) - 1)  # every bit flipped
    values = [f"{v:064x}" for v in (base, near, far)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)
    threads = [
        threading.Thread(target=_add, args=(factory, settings, u, c, v, errors, barrier, "pdq"))
        for (u, c), v in zip(((u1, c1), (u2, c2), (u3, c3)), values, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    with unit_of_work(factory) as session:
        [hit] = session.scalars(select(Hit)).all()
        assert {hit.a_case_id, hit.b_case_id} == {c1, c2}
        assert hit.distance == 20


def test_parallel_additions_to_one_case_lose_nothing(committed: tuple[Engine, Settings]) -> None:
    engine, settings = committed
    factory = make_sessionmaker(engine)
    [(user_id, case_id)] = _setup(factory, 1)
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)
    threads = [
        threading.Thread(
            target=_add,
            args=(factory, settings, user_id, case_id, f"p{i}@example.com", errors, barrier),
        )
        for i in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    with unit_of_work(factory) as session:
        assert session.scalar(select(func.count()).select_from(Selector)) == 8
    assert seal_and_verify(factory, settings).ok


def test_audit_then_case_row_and_case_row_then_audit_do_not_deadlock(
    committed: tuple[Engine, Settings],
) -> None:
    """One transaction audits a read and then edits the case; another edits the case (its row
    locked) and then audits. With the audit log behind a global lock these two waited on each
    other and PostgreSQL killed one ("deadlock detected", a 500 under load); entries written
    without a lock leave only the row to wait for."""
    engine, settings = committed
    factory = make_sessionmaker(engine)
    [(user_id, case_id)] = _setup(factory, 1)
    audited, editing = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def caller_of(session: Session) -> Caller:
        user = auth_service.user_by_id(session, user_id)
        assert user is not None
        return auth_service.caller_for(session, user, channel="api")

    def reader_then_editor() -> None:
        try:
            with unit_of_work(factory) as session:
                service.get_case(session, caller_of(session), case_id)  # audited: case.read
                audited.set()
                assert editing.wait(10)
                time.sleep(0.5)  # the other holds the row by now, and waits for nothing else
                service.update_case(
                    session, caller_of(session), case_id, CaseUpdate(title="Operation A2")
                )
        except BaseException as error:
            errors.append(error)

    def editor() -> None:
        try:
            assert audited.wait(10)
            editing.set()
            with unit_of_work(factory) as session:
                service.update_case(
                    session, caller_of(session), case_id, CaseUpdate(title="Operation B2")
                )
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=reader_then_editor), threading.Thread(target=editor)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    with unit_of_work(factory) as session:
        assert service.get_case(session, caller_of(session), case_id).title in {
            "Operation A2",
            "Operation B2",
        }
    assert seal_and_verify(factory, settings).ok
