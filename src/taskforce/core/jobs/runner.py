"""The job runner: every background job's claim → work → record, written once.

A job is a queue of rows — the claim query its service gives (which rows are due, in what
order) — and two functions: `work`, the slow part (DNS, SMTP, HTTP), run outside any
transaction on what the claim copied out of the row, and `record`, which writes the outcome
and only flushes. The runner owns the transactions, one per step:

1. **Claim** (one transaction): up to `limit` due rows, `FOR UPDATE SKIP LOCKED` on PostgreSQL
   (on SQLite every transaction is `BEGIN IMMEDIATE`, so claims take turns and the second sees
   the first's leases). Each row's lease column is set to the lease's end; that instant, made
   unique by a random microsecond part, is also the claim's token.
2. **Work** (no transaction), so no lock — and not SQLite's write lock — is held across the
   network.
3. **Record** (one transaction per item): the row is read again (locked on PostgreSQL) and the
   outcome recorded only while the lease is still this claim's. A worker so slow that its lease
   ran out, and another worker took the item, records nothing.

A worker that dies leaves its leases to run out: the items become due again and another worker
resumes them. A step that raises is rolled back and the failure kept in `job_failure` (attempts
and the error): the item is due again after a backoff (1, 2, 4 … minutes, at most six hours)
and is given up after the job's `attempts`, the failure left for an operator; a later success
clears it. A job's own outcomes (a bounced e-mail, a host that does not resolve) are not
crashes: its `record` writes them, with its own retries.
"""

from __future__ import annotations

import enum
import logging
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, delete, exists, select
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

from taskforce.core.db import UUIDPk, is_postgres, unit_of_work, utcnow
from taskforce.core.jobs.models import JobFailure

_log = logging.getLogger(__name__)

RowT = TypeVar("RowT", bound=UUIDPk)
ItemT = TypeVar("ItemT")
OutcomeT = TypeVar("OutcomeT")
T = TypeVar("T")

ATTEMPTS = 5  # crashed steps before an item is given up


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 … minutes after each failure, at most six hours."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 360))


@dataclass(frozen=True)
class Job(Generic[RowT, ItemT, OutcomeT]):
    """A background job as its service describes it; the runner does the rest."""

    name: str  # stable: it keys the job's failures in `job_failure`
    model: type[RowT]
    lease_column: InstrumentedAttribute[datetime | None]  # when the row is next due
    lease: timedelta  # how long a claimed row is left to the worker that took it
    due: Callable[[datetime], Sequence[ColumnElement[bool]]]  # the claim query's conditions
    order: Sequence[InstrumentedAttribute[Any]]
    take: Callable[[RowT], ItemT]  # what `work` needs, copied out of the row when claimed
    work: Callable[[ItemT], OutcomeT]  # outside any transaction
    record: Callable[[Session, ItemT, OutcomeT, datetime], bool]  # flushes; True: work done
    attempts: int = ATTEMPTS


@dataclass(frozen=True)
class Claimed(Generic[ItemT]):
    item_id: uuid.UUID
    item: ItemT
    until: datetime  # the lease's end: this claim's token
    failing: bool  # a failure is on record, cleared by a success


class Step(enum.Enum):
    DONE = "done"  # recorded, and the job counted it as work done
    IDLE = "idle"  # recorded, nothing was left to do
    LOST = "lost"  # the lease ran out and another worker took the item: nothing recorded
    FAILED = "failed"  # the step raised: rolled back, the failure recorded


@dataclass(frozen=True)
class Run:
    """What one run of a job did (the worker's round summary reads it)."""

    claimed: int
    done: int
    failed: int
    lost: int


def _lease_key(job: Job[Any, Any, Any]) -> str:
    return job.lease_column.key


def _not_given_up(job: Job[Any, Any, Any]) -> ColumnElement[bool]:
    return ~exists().where(
        JobFailure.job == job.name,
        JobFailure.item_id == job.model.id,
        JobFailure.gave_up_at.is_not(None),
    )


def claim(
    session: Session,
    job: Job[RowT, ItemT, Any],
    *,
    limit: int,
    now: datetime | None = None,
) -> list[Claimed[ItemT]]:
    """Take up to `limit` due rows with a lease, in the caller's transaction (committed at once,
    so other workers skip them)."""
    now = now or utcnow()
    # the token ends a little before the nominal lease, never after it
    until = now + job.lease - timedelta(microseconds=secrets.randbelow(999_999) + 1)
    query = (
        select(job.model).where(*job.due(now), _not_given_up(job)).order_by(*job.order).limit(limit)
    )
    if is_postgres(session):
        query = query.with_for_update(skip_locked=True, of=job.model)
    rows = list(session.scalars(query))
    if not rows:
        return []
    failing = set(
        session.scalars(
            select(JobFailure.item_id).where(
                JobFailure.job == job.name, JobFailure.item_id.in_([row.id for row in rows])
            )
        )
    )
    key = _lease_key(job)
    for row in rows:
        setattr(row, key, until)
    session.flush()
    return [Claimed(row.id, job.take(row), until, row.id in failing) for row in rows]


def _mine(session: Session, job: Job[RowT, Any, Any], claimed: Claimed[Any]) -> RowT | None:
    """The claimed row, locked, while the lease is still this claim's."""
    query = (
        select(job.model)
        .where(job.model.id == claimed.item_id)
        .execution_options(populate_existing=True)
    )
    if is_postgres(session):
        query = query.with_for_update()
    row = session.scalar(query)
    if row is None or getattr(row, _lease_key(job)) != claimed.until:
        return None
    return row


def _record(
    session: Session,
    job: Job[Any, ItemT, OutcomeT],
    claimed: Claimed[ItemT],
    outcome: OutcomeT,
    now: datetime,
) -> Step:
    if _mine(session, job, claimed) is None:
        return Step.LOST
    done = job.record(session, claimed.item, outcome, now)
    if claimed.failing:
        session.execute(
            delete(JobFailure).where(
                JobFailure.job == job.name, JobFailure.item_id == claimed.item_id
            )
        )
    session.flush()
    return Step.DONE if done else Step.IDLE


def _failed(
    session: Session,
    job: Job[Any, Any, Any],
    claimed: Claimed[Any],
    error: Exception,
    now: datetime,
) -> None:
    """Keep the failure; the item is due again after the backoff, or given up."""
    row = _mine(session, job, claimed)
    if row is None:
        return  # another worker has the item now
    failure = session.get(JobFailure, (job.name, claimed.item_id))
    if failure is None:
        failure = JobFailure(job=job.name, item_id=claimed.item_id, attempts=0)
        session.add(failure)
    failure.attempts += 1
    failure.last_error = f"{type(error).__name__}: {error}"[:500]
    failure.failed_at = now
    if failure.attempts >= job.attempts:
        failure.gave_up_at = now
        failure.next_try_at = None
        _log.error(
            "job %s: item %s given up after %d failures", job.name, claimed.item_id, job.attempts
        )
    else:
        failure.next_try_at = now + backoff(failure.attempts)
        setattr(row, _lease_key(job), failure.next_try_at)
    session.flush()


def handle(
    factory: sessionmaker[Session],
    job: Job[Any, ItemT, Any],
    claimed: Claimed[ItemT],
    *,
    now: datetime | None = None,
) -> Step:
    """Work one claimed item outside any transaction, then record it in one of its own; a
    failure is rolled back and recorded in another."""
    try:
        outcome = job.work(claimed.item)
        with unit_of_work(factory) as session:
            return _record(session, job, claimed, outcome, now or utcnow())
    except Exception as exc:
        _log.exception("job %s: item %s failed", job.name, claimed.item_id)
        try:
            with unit_of_work(factory) as session:
                _failed(session, job, claimed, exc, now or utcnow())
        except Exception:  # the database itself is in trouble: the lease runs out instead
            _log.exception("job %s: the failure of %s was not recorded", job.name, claimed.item_id)
        return Step.FAILED


def _summary(claimed: int, steps: Sequence[Step]) -> Run:
    return Run(
        claimed=claimed,
        done=steps.count(Step.DONE),
        failed=steps.count(Step.FAILED),
        lost=steps.count(Step.LOST),
    )


def run(
    factory: sessionmaker[Session],
    job: Job[Any, Any, Any],
    *,
    limit: int,
    now: datetime | None = None,
) -> Run:
    """The worker's run of a job: claim in one transaction, then each item in its own."""
    with unit_of_work(factory) as session:
        claims = claim(session, job, limit=limit, now=now)
    return _summary(len(claims), [handle(factory, job, c, now=now) for c in claims])


def run_here(
    session: Session,
    job: Job[Any, Any, Any],
    *,
    limit: int,
    now: datetime | None = None,
) -> Run:
    """A run inside the caller's transaction (a command run by hand, tests): each item's record
    in a savepoint, so one that raises is rolled back and recorded as a failure."""
    claims = claim(session, job, limit=limit, now=now)
    steps = []
    for claimed in claims:
        try:
            outcome = job.work(claimed.item)
            with session.begin_nested():
                steps.append(_record(session, job, claimed, outcome, now or utcnow()))
        except Exception as exc:
            _log.exception("job %s: item %s failed", job.name, claimed.item_id)
            with session.begin_nested():
                _failed(session, job, claimed, exc, now or utcnow())
            steps.append(Step.FAILED)
    return _summary(len(claims), steps)


def once(factory: sessionmaker[Session], step: Callable[[Session], T]) -> T:
    """A job whose claim and record are one batch (arrivals into the audit log, purges): one
    transaction."""
    with unit_of_work(factory) as session:
        return step(session)


def failures(session: Session, *, limit: int = 100) -> list[JobFailure]:
    """Items whose steps are failing or were given up, the newest failure first."""
    return list(
        session.scalars(
            select(JobFailure).order_by(JobFailure.failed_at.desc(), JobFailure.job).limit(limit)
        )
    )
