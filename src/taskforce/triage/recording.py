"""Recording a case's triage run in the database while it goes.

Rows are written in batches with one multi-row insert each (no ORM object per file: a seizure
has millions); a file the run already holds is skipped by the database (unique per run by a
digest of its path), so resuming a report folder, which first writes the journal lines the
database lacks, never adds a row twice. The run's counters grow by the rows actually added and
are set from the journal's summary when the run finishes.
"""

from __future__ import annotations

import contextlib
import hashlib
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

import taskforce
from taskforce.cases.models import Case
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.caller import Caller
from taskforce.core.db import is_postgres, keep_on_rollback, utcnow
from taskforce.hashsets.models import HashSet
from taskforce.triage import evidence, report
from taskforce.triage.models import TriageResult, TriageRun
from taskforce.triage.schemas import RunStatus

DB_BATCH = 500  # results per database write; the CLI commits after each
DB_SECONDS = 5.0  # ... or after this long, so a slow run's page still moves
_RESULTS = cast(Table, TriageResult.__table__)

Checkpoint = Callable[[], None]  # after each database write: the CLI commits there


class Recorder:
    """Writes one case's run and its file results to the database while the run goes."""

    def __init__(self, session: Session, run_id: uuid.UUID, checkpoint: Checkpoint | None) -> None:
        self.session = session
        self.run_id = run_id
        self.checkpoint = checkpoint
        self.pending: list[dict[str, Any]] = []
        self.last_write = time.monotonic()

    @classmethod
    def start(
        cls,
        session: Session,
        caller: Caller,
        case: Case,
        roots: Sequence[Path],
        out_dir: Path,
        journal: dict[str, dict[str, Any]],
        checkpoint: Checkpoint | None,
        *,
        threshold: int,
        hash_sets: Sequence[str],
    ) -> Recorder:
        """The folder's run when it has one (resume), else a new run; journal lines the
        database lacks (written after its last commit) are recorded first."""
        report_dir = str(out_dir.resolve())
        found = None
        if journal:
            found = session.scalar(
                select(TriageRun)
                .where(TriageRun.case_id == case.id, TriageRun.report_dir == report_dir)
                .order_by(TriageRun.started_at.desc())
                .limit(1)
            )
        names = [evidence.display_name(r) for r in roots]
        settings = {"pdq_threshold": threshold, "hash_sets": list(hash_sets)}
        if found is None:
            found = TriageRun(
                case_id=case.id,
                agency_id=case.owner_agency_id,
                actor_user_id=caller.user_id,
                actor_label=caller.label,
                channel=caller.channel,
                tool=f"taskforce {taskforce.__version__} triage on {socket.gethostname()}"[:300],
                status=RunStatus.RUNNING.value,
                evidence=names,
                options=settings,
                report_dir=report_dir,
            )
            session.add(found)
            resumed = False
        else:
            found.status = RunStatus.RUNNING.value
            found.finished_at = None
            found.updated_at = utcnow()
            found.evidence = names
            found.options = settings
            resumed = True
        session.flush()
        audit.record(
            session,
            caller,
            action="triage.record",
            operation=Operation.COLLECTION,
            subject_type="case",
            subject_id=case.id,
            subject_agency_id=case.owner_agency_id,
            detail={"run": str(found.id), "resumed": resumed},
        )
        recorder = cls(session, found.id, checkpoint)
        for path in sorted(journal):
            recorder.pending.append(journal[path])
            if len(recorder.pending) >= DB_BATCH:
                recorder.flush()
        recorder.flush()
        return recorder

    def add(self, row: dict[str, Any]) -> None:
        self.pending.append(row)
        if len(self.pending) >= DB_BATCH or time.monotonic() - self.last_write >= DB_SECONDS:
            self.flush()

    def flush(self) -> None:
        """Insert the pending rows the run lacks; count only those into the run's totals."""
        rows, self.pending = self.pending, []
        if rows:
            record_results(self.session, self.run_id, rows)
        self.session.execute(
            update(TriageRun).where(TriageRun.id == self.run_id).values(updated_at=utcnow())
        )
        self.last_write = time.monotonic()
        if self.checkpoint is not None:
            self.checkpoint()

    def finish(self, summary: report.Summary) -> None:
        """The journal's totals are the run's: a resumed run ends with an uninterrupted
        one's counts even if an earlier attempt died between its two writes."""
        self.session.execute(
            update(TriageRun)
            .where(TriageRun.id == self.run_id)
            .values(
                status=RunStatus.FINISHED.value,
                finished_at=utcnow(),
                updated_at=utcnow(),
                files_total=summary.files_total,
                files_hashed=summary.files_hashed,
                matched_exact=summary.matched_exact,
                matched_perceptual=summary.matched_perceptual,
                new_images=summary.new_images,
                errors=len(summary.errors),
                selectors_added=summary.selectors_added,
            )
        )

    def interrupted(self) -> None:
        """Mark the run interrupted, now and again after the interface's rollback."""
        stmt = (
            update(TriageRun)
            .where(TriageRun.id == self.run_id, TriageRun.status == RunStatus.RUNNING.value)
            .values(status=RunStatus.INTERRUPTED.value, updated_at=utcnow())
        )

        def again(session: Session) -> None:
            session.execute(stmt)

        keep_on_rollback(self.session, again)
        with contextlib.suppress(SQLAlchemyError):  # a failed transaction: the replay does it
            self.session.execute(stmt)


def _clip(value: Any, length: int) -> Any:
    return value[:length] if isinstance(value, str) else value


def _result_row(run_id: uuid.UUID, row: dict[str, Any], sets: set[uuid.UUID]) -> dict[str, Any]:
    scheme, _, code = (row.get("category") or "").partition(":")
    set_id = uuid.UUID(row["hash_set_id"]) if row.get("hash_set_id") else None
    return {
        "run_id": run_id,
        "path_key": hashlib.sha256(row["path"].encode("utf-8", "surrogatepass")).hexdigest(),
        "path": row["path"],
        "size": row.get("size"),
        "media_type": _clip(row.get("media_type"), 100),
        "md5": row.get("md5"),
        "sha1": row.get("sha1"),
        "sha256": row.get("sha256"),
        "pdq": row.get("pdq"),
        "pdq_quality": row.get("pdq_quality"),
        "match_type": row["match_type"],
        "distance": row.get("distance"),
        "video_share": row.get("video_share"),
        "hash_set_id": set_id if set_id in sets else None,  # a set deleted since
        "hash_set": _clip(row.get("hashset"), 120),
        "category_scheme": _clip(scheme, 24) if code else None,
        "category_code": _clip(code, 24) if code else None,
        "series": _clip(row.get("series"), 200),
        "victim_identified": row.get("victim_identified"),
        "camera_make": _clip(row.get("camera_make"), 200),
        "camera_model": _clip(row.get("camera_model"), 200),
        "camera_serial": _clip(row.get("camera_serial"), 200),
        "taken_at": _clip(row.get("taken_at"), 200),
        "gps_lat": row.get("gps_lat"),
        "gps_lon": row.get("gps_lon"),
        "error": row.get("error"),
    }


def record_results(session: Session, run_id: uuid.UUID, rows: list[dict[str, Any]]) -> int:
    """One multi-row insert; a file the run already holds is skipped by the database (unique
    path digest), and the run's counters grow by the rows that were new."""
    wanted = {uuid.UUID(r["hash_set_id"]) for r in rows if r.get("hash_set_id")}
    sets = set(session.scalars(select(HashSet.id).where(HashSet.id.in_(wanted))))
    by_key: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    for row in rows:  # the same root named twice gives the same paths twice
        value = _result_row(run_id, row, sets)
        by_key[value["path_key"]] = (row, value)
    dialect_insert = pg_insert if is_postgres(session) else sqlite_insert
    inserted = session.execute(
        dialect_insert(_RESULTS).on_conflict_do_nothing().returning(_RESULTS.c.path_key),
        [value for _row, value in by_key.values()],
    )
    new = [by_key[key][0] for key in inserted.scalars()]
    if new:
        counts = report.summarise(new, [])
        session.execute(
            update(TriageRun)
            .where(TriageRun.id == run_id)
            .values(
                files_total=TriageRun.files_total + counts.files_total,
                files_hashed=TriageRun.files_hashed + counts.files_hashed,
                matched_exact=TriageRun.matched_exact + counts.matched_exact,
                matched_perceptual=TriageRun.matched_perceptual + counts.matched_perceptual,
                new_images=TriageRun.new_images + counts.new_images,
                errors=TriageRun.errors + len(counts.errors),
            )
        )
    return len(new)
