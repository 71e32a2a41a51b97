"""The job runner (`core.jobs`): a step that crashes is rolled back, recorded and retried with
backoff, then given up; a lease that runs out makes the item claimable again and the late
worker records nothing; two runners never take the same item."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import migrated_engine
from sqlalchemy import Engine, or_, select, text
from sqlalchemy.orm import Session, sessionmaker

from taskforce.core.db import make_sessionmaker, unit_of_work
from taskforce.core.jobs import runner as jobs
from taskforce.core.jobs.models import JobFailure
from taskforce.core.outbox.models import OutboxMessage

LEASE = timedelta(minutes=5)
T = datetime(2026, 12, 6, 6, 0, tzinfo=UTC)

Work = Callable[[uuid.UUID], None]


def _fine(_item: uuid.UUID) -> None:
    return None


def _job(
    work: Work = _fine, *, recorded: list[uuid.UUID] | None = None, crash_in_record: bool = False
) -> jobs.Job[OutboxMessage, uuid.UUID, None]:
    """A job over outbox rows that marks a message sent; what it does is the test's."""

    def record(session: Session, item: uuid.UUID, _outcome: None, now: datetime) -> bool:
        message = session.get(OutboxMessage, item)
        assert message is not None
        message.sent_at = now
        session.flush()
        if crash_in_record:
            raise RuntimeError("the record step broke after writing")
        if recorded is not None:
            recorded.append(item)
        return True

    return jobs.Job(
        name="test.send",
        model=OutboxMessage,
        lease_column=OutboxMessage.next_attempt_at,
        lease=LEASE,
        due=lambda now: [
            OutboxMessage.sent_at.is_(None),
            or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now),
        ],
        order=(OutboxMessage.created_at, OutboxMessage.id),
        take=lambda message: message.id,
        work=work,
        record=record,
        attempts=3,
    )


def _message(session: Session, n: int = 0) -> OutboxMessage:
    message = OutboxMessage(
        channel="email", recipient=f"desk{n}@example.com", subject=f"m{n}", body="b", attempts=0
    )
    session.add(message)
    session.flush()
    return message


def _failure(session: Session, item: uuid.UUID) -> JobFailure | None:
    session.expire_all()
    return session.get(JobFailure, ("test.send", item))


def test_a_crashed_step_is_recorded_retried_with_backoff_and_given_up(
    session: Session, session_factory: sessionmaker[Session]
) -> None:
    message = _message(session)

    def broken(_item: uuid.UUID) -> None:
        raise RuntimeError("the receiver is down")

    job = _job(broken)
    assert jobs.run(session_factory, job, limit=10, now=T) == jobs.Run(1, 0, 1, 0)
    failure = _failure(session, message.id)
    assert failure is not None
    assert failure.attempts == 1
    assert failure.gave_up_at is None
    assert failure.last_error == "RuntimeError: the receiver is down"
    assert failure.next_try_at == T + timedelta(minutes=1)
    assert session.get(OutboxMessage, message.id).next_attempt_at == T + timedelta(minutes=1)  # type: ignore[union-attr]
    # backing off: not due before the wait, due after it, and the wait doubles
    assert jobs.run(session_factory, job, limit=10, now=T + timedelta(seconds=30)).claimed == 0
    second = T + timedelta(minutes=1)
    assert jobs.run(session_factory, job, limit=10, now=second).failed == 1
    failure = _failure(session, message.id)
    assert failure is not None
    assert failure.attempts == 2
    assert failure.next_try_at == second + timedelta(minutes=2)
    third = second + timedelta(minutes=2)
    assert jobs.run(session_factory, job, limit=10, now=third).failed == 1
    failure = _failure(session, message.id)
    assert failure is not None
    assert failure.attempts == 3
    assert failure.gave_up_at == third
    # given up: never claimed again, and the failure stays for an operator
    assert jobs.run(session_factory, job, limit=10, now=T + timedelta(days=30)).claimed == 0
    assert [f.item_id for f in jobs.failures(session)] == [message.id]


def test_a_record_step_that_raises_is_rolled_back_and_a_success_clears_the_failure(
    session: Session, session_factory: sessionmaker[Session]
) -> None:
    message = _message(session)
    assert jobs.run(session_factory, _job(crash_in_record=True), limit=10, now=T).failed == 1
    session.expire_all()
    stored = session.get(OutboxMessage, message.id)
    assert stored is not None
    assert stored.sent_at is None
    assert _failure(session, message.id) is not None
    later = T + timedelta(minutes=1)
    assert jobs.run(session_factory, _job(), limit=10, now=later) == jobs.Run(1, 1, 0, 0)
    assert _failure(session, message.id) is None
    stored = session.get(OutboxMessage, message.id)
    assert stored is not None
    assert stored.sent_at == later


def test_an_expired_lease_is_claimed_again_and_the_late_worker_records_nothing(
    session: Session, session_factory: sessionmaker[Session]
) -> None:
    message = _message(session)
    recorded: list[uuid.UUID] = []
    job = _job(recorded=recorded)
    # a worker claims and dies before it records
    [taken] = jobs.once(session_factory, lambda s: jobs.claim(s, job, limit=10, now=T))
    assert taken.item_id == message.id
    assert jobs.run(session_factory, job, limit=10, now=T + timedelta(minutes=1)).claimed == 0
    # the lease runs out: another worker resumes the job
    assert jobs.run(session_factory, job, limit=10, now=T + LEASE) == jobs.Run(1, 1, 0, 0)
    assert recorded == [message.id]
    # the first worker comes back: its lease is gone, nothing is recorded twice
    assert jobs.handle(session_factory, job, taken, now=T + LEASE) == jobs.Step.LOST
    assert recorded == [message.id]


@pytest.fixture(params=["sqlite", "postgresql"])
def committed(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with migrated_engine(request.param, tmp_path) as engine:
        yield engine


def test_two_runners_never_take_the_same_item(committed: Engine) -> None:
    """Two workers, each with its own sessions, on a committed database."""
    factory = make_sessionmaker(committed)
    with unit_of_work(factory) as session:
        ids = {_message(session, n).id for n in range(40)}
    worked: list[uuid.UUID] = []
    lock = threading.Lock()

    def work(item: uuid.UUID) -> None:
        with lock:
            worked.append(item)
        time.sleep(0.002)  # the slow part, outside any transaction

    barrier = threading.Barrier(2)
    errors: list[BaseException] = []
    done: list[int] = []

    def runner() -> None:
        job = _job(work)
        own = make_sessionmaker(committed)
        total = 0
        try:
            barrier.wait(timeout=10)
            while (step := jobs.run(own, job, limit=3)).claimed:
                total += step.done
        except BaseException as exc:
            errors.append(exc)
        done.append(total)

    threads = [threading.Thread(target=runner) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    assert sorted(worked) == sorted(ids)
    assert sum(done) == 40
    with factory() as session:
        unsent = session.scalars(select(OutboxMessage).where(OutboxMessage.sent_at.is_(None)))
        assert list(unsent) == []


def test_a_claim_skips_rows_another_open_claim_holds(tmp_path: Path) -> None:
    """PostgreSQL: a second claim, while the first one's transaction is still open, takes the
    other rows at once (SKIP LOCKED) instead of waiting or taking the same ones."""
    with migrated_engine("postgresql", tmp_path) as engine:
        factory = make_sessionmaker(engine)
        with unit_of_work(factory) as session:
            ids = {_message(session, n).id for n in range(8)}
        job = _job()
        first = factory()
        try:
            mine = {c.item_id for c in jobs.claim(first, job, limit=5)}  # not committed yet
            with unit_of_work(factory) as second:
                second.execute(text("SET LOCAL lock_timeout = '5s'"))
                theirs = {c.item_id for c in jobs.claim(second, job, limit=10)}
            assert len(mine) == 5
            assert len(theirs) == 3
            assert mine | theirs == ids
            first.commit()
        finally:
            first.close()
