"""Triage of seized media: hash every file, match known sets, report, feed the hub.

Resumable: each file's result is appended to `results.jsonl` in the report folder as soon as it
is known (flushed and synced every few files). Running the same command again reads that
journal, skips the files already there and goes on; the final reports are written from the
journal, sorted by path, so an interrupted-and-resumed run reports exactly what an
uninterrupted one does.

With a case, the run is also recorded in the database (`TriageRun`, one `TriageResult` per
file), written in batches as files are done so the case's triage page shows a run in progress.
Resuming the same report folder continues the same record: journal lines the database lacks
are written first, and a file's row is inserted once (unique per run), so the recorded results
equal those of an uninterrupted run too. What a match says of a hash set (name, category,
series, victim) is shown to a reader only while that hash set is shared with the reader.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import threadpoolctl
from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.cases import additions as case_additions
from taskforce.cases.deconfliction import NewSelector
from taskforce.cases.models import Case
from taskforce.cases.selectors import SelectorKind, normalise
from taskforce.core import identification as travel
from taskforce.core import sharing
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.caller import Caller, Permission
from taskforce.core.db import is_postgres
from taskforce.core.errors import Invalid, NotFound
from taskforce.core.settings import Settings
from taskforce.core.sharing import visible
from taskforce.hashsets import categories
from taskforce.hashsets import service as hashset_service
from taskforce.hashsets.models import HashEntry, HashSet
from taskforce.media import hashing
from taskforce.media.schemas import FileHashes
from taskforce.triage import evidence, report
from taskforce.triage.matching import KnownEntry, KnownMedia
from taskforce.triage.models import TriageResult, TriageRun
from taskforce.triage.recording import Checkpoint, Recorder
from taskforce.triage.schemas import (
    CategoryCount,
    FileError,
    MatchFilter,
    ResultPage,
    RunStatus,
    SeriesCount,
    TriageResultRead,
    TriageRunRead,
    TriageRunSummary,
)

JOURNAL = "results.jsonl"
WORK_DIR = ".work"
SYNC_EVERY = 32
ERRORS_LISTED = 50


@dataclass
class Options:
    threshold: int = 31
    workers: int = 0  # 0: one per core
    hash_sets: Sequence[str] = ()
    case_reference: str | None = None


Progress = Callable[[int, str], None]  # (files done, current display path)


def load_known(
    session: Session, caller: Caller, settings: Settings, names: Sequence[str]
) -> KnownMedia:
    """Entries of the named hash sets (or of every set the caller may see)."""
    if names:
        sets = [hashset_service.get_by_name(session, caller, n) for n in names]
    else:
        sets = list(session.scalars(visible(select(HashSet), HashSet, caller)))
    by_id = {s.id: s.name for s in sets}
    rows = session.execute(
        select(
            HashEntry.hash_set_id,
            HashEntry.md5,
            HashEntry.sha1,
            HashEntry.sha256,
            HashEntry.pdq,
            HashEntry.pdq_quality,
            HashEntry.category_scheme,
            HashEntry.category_code,
            HashEntry.series,
            HashEntry.victim_identified,
            HashEntry.vpdq,
        )
        .where(HashEntry.hash_set_id.in_(list(by_id)))
        .order_by(HashEntry.id)
        .execution_options(yield_per=20_000)
    )
    known = KnownMedia(
        (
            KnownEntry(
                hash_set=by_id[r.hash_set_id],
                md5=r.md5,
                sha1=r.sha1,
                sha256=r.sha256,
                pdq=r.pdq,
                pdq_quality=r.pdq_quality,
                category_scheme=r.category_scheme,
                category_code=r.category_code,
                series=r.series,
                victim_identified=r.victim_identified,
                hash_set_id=r.hash_set_id,
                vpdq=r.vpdq,
            )
            for r in rows
        ),
        settings.video_match_query_share,
        settings.video_match_known_share,
    )
    audit.record(
        session,
        caller,
        action="triage.load_hash_sets",
        operation=Operation.CONSULTATION,
        detail={"hash_sets": sorted(by_id.values()), "entries": len(known)},
    )
    return known


def _one_blas_thread() -> None:
    threadpoolctl.threadpool_limits(1)


def _examine(item: evidence.Item) -> FileHashes:
    """Runs in a worker process: every hash of one item (images: rotations and camera)."""
    if item.error:
        return FileHashes(path=item.display, error=item.error)
    if item.data is not None:
        import io

        return hashing.hash_stream(io.BytesIO(item.data), item.display, rotations=True)
    assert item.path is not None
    return hashing.hash_file(item.path, display=item.display, rotations=True)


def _row(found: FileHashes, known: KnownMedia, threshold: int) -> dict[str, Any]:
    # an empty file's hashes are in many lists by accident; it is never "known material"
    match = known.match(found, threshold) if found.md5 and found.size else None
    return {
        "path": found.path,
        "size": found.size,
        "media_type": found.media_type,
        "md5": found.md5,
        "sha1": found.sha1,
        "sha256": found.sha256,
        "pdq": found.pdq,
        "pdq_quality": found.pdq_quality,
        "match_type": match.kind if match else "none",
        "distance": match.distance if match else None,
        "video_share": round(match.video_share, 4) if match and match.video_share else None,
        "hashset": match.entry.hash_set if match else None,
        "hash_set_id": str(match.entry.hash_set_id) if match and match.entry.hash_set_id else None,
        "category": f"{match.entry.category_scheme}:{match.entry.category_code}"
        if match and match.entry.category_code
        else None,
        "series": match.entry.series if match else None,
        "victim_identified": match.entry.victim_identified if match else None,
        "camera_make": found.camera_make,
        "camera_model": found.camera_model,
        "camera_serial": found.camera_serial,
        "taken_at": found.taken_at,
        "gps_lat": found.gps_lat,
        "gps_lon": found.gps_lon,
        "error": found.error,
    }


def _journal(out_dir: Path) -> dict[str, dict[str, Any]]:
    """Rows already written by an earlier, interrupted run (a torn last line is dropped)."""
    rows: dict[str, dict[str, Any]] = {}
    path = out_dir / JOURNAL
    if path.exists():
        with path.open(encoding="utf-8") as f:
            for line in f:
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue
                rows[row["path"]] = row
    return rows


def run(
    session: Session,
    caller: Caller,
    settings: Settings,
    roots: Sequence[Path],
    out_dir: Path,
    options: Options,
    progress: Progress | None = None,
    checkpoint: Checkpoint | None = None,
) -> report.Summary:
    """Triage the evidence into `out_dir` (resuming a run found there).

    With a case the run is recorded as it goes; `checkpoint` runs after each database write
    (the CLI commits there, so an interrupted run keeps its rows, its page shows progress, and
    neither the audit chain's lock nor SQLite's write lock is held while files are hashed).
    """
    caller.require(Permission.READ)
    if not 0 <= options.threshold <= 256:
        raise Invalid("pdq_threshold", "must be between 0 and 256 bits")
    case = _case(session, caller, options.case_reference) if options.case_reference else None
    out_dir.mkdir(parents=True, exist_ok=True)
    work_dir = out_dir / WORK_DIR
    shutil.rmtree(work_dir, ignore_errors=True)  # left behind by a crash: evidence copies
    done = _journal(out_dir)
    workers = options.workers or os.cpu_count() or 1
    context = multiprocessing.get_context("fork")
    recorder: Recorder | None = None
    try:
        # one BLAS thread per worker: the processes already use every core
        with context.Pool(workers, initializer=_one_blas_thread) as pool:  # before faiss starts
            known = load_known(session, caller, settings, options.hash_sets)
            if checkpoint is not None:  # the audit entry is kept; no lock is held for hours
                checkpoint()
            if case is not None:
                recorder = Recorder.start(
                    session,
                    caller,
                    case,
                    roots,
                    out_dir,
                    done,
                    checkpoint,
                    threshold=options.threshold,
                    hash_sets=options.hash_sets,
                )
            pending = (i for i in evidence.walk(list(roots), work_dir) if i.display not in done)
            try:
                _process(pool, pending, known, options.threshold, out_dir, done, progress, recorder)
            finally:
                shutil.rmtree(work_dir, ignore_errors=True)
        rows = _with_identification(session, caller, [done[p] for p in sorted(done)])
        summary = report.write_all(out_dir, rows, roots)
        if case is not None and recorder is not None:
            summary.selectors_added = _feed_case(session, caller, settings, case, rows, checkpoint)
            report.write_summary(out_dir, summary)
            recorder.finish(summary)
    except BaseException:
        if recorder is not None:
            recorder.interrupted()
        raise
    audit.record(
        session,
        caller,
        action="triage.run",
        operation=Operation.CONSULTATION,
        subject_type="case" if case else None,
        subject_id=case.id if case else None,
        subject_agency_id=case.owner_agency_id if case else None,
        detail={
            "files": summary.files_total,
            "matched_exact": summary.matched_exact,
            "matched_perceptual": summary.matched_perceptual,
            **({"run": str(recorder.run_id)} if recorder else {}),
        },
    )
    return summary


def _with_identification(
    session: Session, caller: Caller, rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The report says what the network knows when it is written: a file in a series whose
    victim is identified is marked so, with the identifying agencies (series.status)."""
    out = []
    for first in range(0, len(rows), 2000):
        batch = rows[first : first + 2000]
        lookups = [travel.Lookup(md5=r["md5"], sha1=r["sha1"], sha256=r["sha256"]) for r in batch]
        for row, statuses in zip(
            batch, travel.status_for_hashes(session, caller, lookups), strict=True
        ):
            row = dict(row)
            identified = sorted(
                {code for st in statuses if st.identified for code in st.identified_by}
            )
            row["identified_by"] = " ".join(identified) or None
            if row["match_type"] != "none" and statuses:
                row["victim_identified"] = bool(identified) or row["victim_identified"]
                row["series"] = row["series"] or next(
                    (st.series for st in statuses if st.series), None
                )
            out.append(row)
    return out


def _process(
    pool: Any,
    pending: Iterator[evidence.Item],
    known: KnownMedia,
    threshold: int,
    out_dir: Path,
    done: dict[str, dict[str, Any]],
    progress: Progress | None,
    recorder: Recorder | None = None,
) -> None:
    temporary: dict[str, Path] = {}

    def items() -> Iterator[evidence.Item]:
        for item in pending:
            if item.path is not None and out_dir / WORK_DIR in item.path.parents:
                temporary[item.display] = item.path
            yield item

    with (out_dir / JOURNAL).open("a", encoding="utf-8") as journal:
        for n, found in enumerate(pool.imap(_examine, items(), chunksize=4), start=1):
            row = _row(found, known, threshold)
            journal.write(json.dumps(row, ensure_ascii=False) + "\n")
            done[row["path"]] = row
            spilled = temporary.pop(found.path, None)
            if spilled is not None:
                spilled.unlink(missing_ok=True)
            if n % SYNC_EVERY == 0:
                journal.flush()
                os.fsync(journal.fileno())
            if recorder is not None:
                recorder.add(row)
            if progress:
                progress(len(done), found.path)
        journal.flush()
        os.fsync(journal.fileno())
    if recorder is not None:
        recorder.flush()


def _case(session: Session, caller: Caller, reference: str) -> Case:
    case = session.scalar(select(Case).where(Case.reference == reference.strip()))
    if case is None or not sharing.is_owner(case, caller):
        raise NotFound("case")
    return case


def _computed(kind: SelectorKind, value: str, note: str) -> NewSelector:
    """A hash triage computed, as a typed selector (normalised as a user's would be)."""
    return NewSelector(normalise(kind, value), raw=value, note=note)


def _feed_case(
    session: Session,
    caller: Caller,
    settings: Settings,
    case: Case,
    rows: list[dict[str, Any]],
    checkpoint: Checkpoint | None = None,
) -> int:
    """New material (media matching no known set) becomes MD5 and PDQ selectors of the case,
    so deconfliction finds other agencies' seizures of the same or near-identical files."""
    wanted: list[NewSelector] = []
    for row in rows:
        media = (row.get("media_type") or "").split("/")[0]
        if row["match_type"] != "none" or media not in ("image", "video") or not row["md5"]:
            continue
        note = f"triage: {row['path']}"[:500]
        wanted.append(_computed(SelectorKind.MD5, row["md5"], note))
        if row["pdq"] and (row["pdq_quality"] or 0) >= hashing.MIN_PDQ_QUALITY:
            wanted.append(_computed(SelectorKind.PDQ, row["pdq"], note))
    if not wanted:
        return 0
    result = case_additions.add_computed_selectors(
        session, caller, settings, case_id=case.id, selectors=wanted, after_batch=checkpoint
    )  # committed per batch when the run is: no write lock held for the whole seizure
    return result.accepted


# --- reading a case's runs ------------------------------------------------------------------


def _visible_sets(session: Session, caller: Caller) -> set[uuid.UUID]:
    """Hash sets shared with the caller now: only their matches are described to it."""
    return set(session.scalars(visible(select(HashSet.id), HashSet, caller)))


def _victims(
    session: Session, run_ids: Sequence[uuid.UUID], sets: set[uuid.UUID]
) -> Counter[uuid.UUID]:
    found: Counter[uuid.UUID] = Counter()
    if not run_ids or not sets:
        return found
    rows = session.execute(
        select(TriageResult.run_id, func.count())
        .where(
            TriageResult.run_id.in_(list(run_ids)),
            TriageResult.match_type != "none",
            TriageResult.victim_identified.is_(True),
            TriageResult.hash_set_id.in_(list(sets)),
        )
        .group_by(TriageResult.run_id)
    )
    for run_id, count in rows:
        found[run_id] = count
    return found


def _summaries(
    session: Session, caller: Caller, case: Case, runs: Sequence[TriageRun]
) -> list[TriageRunSummary]:
    agencies = agency_service.agencies_by_id(session, {r.agency_id for r in runs})
    victims = _victims(session, [r.id for r in runs], _visible_sets(session, caller))
    return [
        TriageRunSummary(
            id=r.id,
            case_id=case.id,
            case_reference=case.reference,
            agency=agencies[r.agency_id].code if r.agency_id in agencies else "?",
            status=RunStatus(r.status),
            started_at=r.started_at,
            updated_at=r.updated_at,
            finished_at=r.finished_at,
            evidence=list(r.evidence or []),
            files_total=r.files_total,
            files_hashed=r.files_hashed,
            matched_exact=r.matched_exact,
            matched_perceptual=r.matched_perceptual,
            new_images=r.new_images,
            identified_victims=victims[r.id],
            errors=r.errors,
            selectors_added=r.selectors_added,
        )
        for r in runs
    ]


def list_runs(session: Session, caller: Caller, case_id: uuid.UUID) -> list[TriageRunSummary]:
    """The case's triage runs, newest first; audited as a read of the case."""
    return case_runs(session, caller, case_id)[1]


def case_runs(
    session: Session, caller: Caller, case_id: uuid.UUID
) -> tuple[Case, list[TriageRunSummary]]:
    """The case (for a page's heading) and its runs, newest first; one audited read."""
    case = sharing.visible_or_404(
        session, caller, Case, case_id, subject_type="case", action="triage.list"
    )
    runs = session.scalars(
        select(TriageRun).where(TriageRun.case_id == case.id).order_by(TriageRun.started_at.desc())
    ).all()
    audit.record(
        session,
        caller,
        action="triage.list",
        operation=Operation.CONSULTATION,
        subject_type="case",
        subject_id=case.id,
        subject_agency_id=case.owner_agency_id,
        detail={"runs": len(runs)},
    )
    return case, _summaries(session, caller, case, runs)


def recent_runs(
    session: Session, caller: Caller, case: Case, limit: int = 3
) -> tuple[list[TriageRunSummary], int]:
    """The newest runs and how many there are, for the case page: part of a case read the
    caller already made (and the audit already holds)."""
    if not sharing.can_see(session, case, caller):
        raise NotFound("case")
    runs = session.scalars(
        select(TriageRun)
        .where(TriageRun.case_id == case.id)
        .order_by(TriageRun.started_at.desc())
        .limit(limit)
    ).all()
    total = session.scalar(
        select(func.count()).select_from(TriageRun).where(TriageRun.case_id == case.id)
    )
    return _summaries(session, caller, case, runs), total or 0


@dataclass(frozen=True)
class ResultFilter:
    match: MatchFilter | None = None
    category: str | None = None  # scheme:code, "uncategorised" or "withheld"
    errors_only: bool = False


def _visible_run(
    session: Session, caller: Caller, run_id: uuid.UUID, action: str
) -> tuple[TriageRun, Case]:
    caller.require(Permission.READ)
    run = session.get(TriageRun, run_id)
    case = sharing.get_visible(session, Case, run.case_id, caller) if run is not None else None
    if run is None or case is None:
        sharing.refuse(
            session,
            caller,
            action=action,
            subject_type="triage_run",
            subject_id=run_id,
            missing="triage run",
        )
    return run, case


def _conditions(
    run_id: uuid.UUID, chosen: ResultFilter, sets: set[uuid.UUID]
) -> list[ColumnElement[bool]]:
    matched = TriageResult.match_type != "none"
    shared = TriageResult.hash_set_id.in_(list(sets))
    where: list[ColumnElement[bool]] = [TriageResult.run_id == run_id]
    if chosen.match == MatchFilter.KNOWN:
        where.append(matched)
    elif chosen.match is not None:
        where.append(TriageResult.match_type == chosen.match.value)
    if chosen.category:
        if chosen.category == "withheld":
            where += [matched, or_(TriageResult.hash_set_id.is_(None), ~shared)]
        elif chosen.category == "uncategorised":
            where += [matched, shared, TriageResult.category_code.is_(None)]
        else:
            scheme, _, code = chosen.category.partition(":")
            if not scheme or not code:
                raise Invalid("category", "must be scheme:code, uncategorised or withheld")
            where += [
                matched,
                shared,
                and_(TriageResult.category_scheme == scheme, TriageResult.category_code == code),
            ]
    if chosen.errors_only:
        where.append(TriageResult.error.is_not(None))
    return where


def _path_order(session: Session) -> Any:
    """Paths in code-point order on both databases, as results.csv has them."""
    return TriageResult.path.collate("C") if is_postgres(session) else TriageResult.path


def _category_label(key: str | None) -> str:
    if key is None:
        return "Uncategorised"
    scheme, _, code = key.partition(":")
    known = categories.SCHEMES.get(scheme, {}).get(code)
    return known.label if known else key


def _result_read(r: TriageResult, sets: set[uuid.UUID]) -> TriageResultRead:
    matched = r.match_type != "none"
    shown = matched and r.hash_set_id is not None and r.hash_set_id in sets
    category = f"{r.category_scheme}:{r.category_code}" if shown and r.category_code else None
    return TriageResultRead(
        path=r.path,
        size=r.size,
        media_type=r.media_type,
        md5=r.md5,
        sha1=r.sha1,
        sha256=r.sha256,
        pdq=r.pdq,
        pdq_quality=r.pdq_quality,
        match_type=r.match_type,
        distance=r.distance,
        video_share=r.video_share,
        withheld=matched and not shown,
        hash_set=r.hash_set if shown else None,
        category=category,
        category_label=_category_label(category) if category else None,
        series=r.series if shown else None,
        victim_identified=r.victim_identified if shown else None,
        camera_make=r.camera_make,
        camera_model=r.camera_model,
        camera_serial=r.camera_serial,
        taken_at=r.taken_at,
        gps_lat=r.gps_lat,
        gps_lon=r.gps_lon,
        error=r.error,
    )


def get_run(
    session: Session,
    caller: Caller,
    run_id: uuid.UUID,
    *,
    chosen: ResultFilter | None = None,
    limit: int = 100,
    offset: int = 0,
) -> TriageRunRead:
    """One run: its counts, known material by category and series (hash sets shared with the
    caller only), its errors, and one page of its files, filtered."""
    run, case = _visible_run(session, caller, run_id, "triage.read")
    chosen = chosen or ResultFilter()
    limit = max(1, min(limit, 1000))
    offset = max(0, offset)
    sets = _visible_sets(session, caller)
    where = _conditions(run.id, chosen, sets)
    total = session.scalar(select(func.count()).select_from(TriageResult).where(*where)) or 0
    page = session.scalars(
        select(TriageResult)
        .where(*where)
        .order_by(_path_order(session), TriageResult.id)
        .limit(limit)
        .offset(offset)
    ).all()
    by_category: Counter[str | None] = Counter()
    series: Counter[str] = Counter()
    withheld = 0
    groups = session.execute(
        select(
            TriageResult.hash_set_id,
            TriageResult.category_scheme,
            TriageResult.category_code,
            TriageResult.series,
            func.count(),
        )
        .where(TriageResult.run_id == run.id, TriageResult.match_type != "none")
        .group_by(
            TriageResult.hash_set_id,
            TriageResult.category_scheme,
            TriageResult.category_code,
            TriageResult.series,
        )
    )
    for set_id, scheme, code, named_series, count in groups:
        if set_id is None or set_id not in sets:
            withheld += count
            continue
        by_category[f"{scheme}:{code}" if code else None] += count
        if named_series:
            series[named_series] += count
    errors = session.execute(
        select(TriageResult.path, TriageResult.error)
        .where(TriageResult.run_id == run.id, TriageResult.error.is_not(None))
        .order_by(_path_order(session), TriageResult.id)
        .limit(ERRORS_LISTED)
    ).all()
    own = caller.agency_id == run.agency_id
    named = list(run.options.get("hash_sets") or [])
    if not own and named:
        shared_names = set(session.scalars(visible(select(HashSet.name), HashSet, caller)))
        named = [n for n in named if n in shared_names]
    summary = _summaries(session, caller, case, [run])[0]
    audit.record(
        session,
        caller,
        action="triage.read",
        operation=Operation.CONSULTATION,
        subject_type="triage_run",
        subject_id=run.id,
        subject_agency_id=case.owner_agency_id,
        detail={
            "case": str(case.id),
            "match": chosen.match.value if chosen.match else None,
            "category": chosen.category,
            "errors_only": chosen.errors_only,
            "offset": offset,
            "returned": len(page),
        },
    )
    return TriageRunRead(
        **summary.model_dump(),
        run_by=run.actor_label if own else summary.agency,
        tool=run.tool if own else None,
        report_dir=run.report_dir if own else None,
        pdq_threshold=run.options.get("pdq_threshold"),
        hash_sets=named,
        by_category=[
            CategoryCount(category=key, label=_category_label(key), files=count)
            for key, count in sorted(by_category.items(), key=lambda kv: (kv[0] is None, kv[0]))
        ],
        series=[SeriesCount(series=name, files=n) for name, n in series.most_common()],
        withheld_matches=withheld,
        error_list=[FileError(path=path, reason=reason) for path, reason in errors],
        results=ResultPage(
            total=total,
            offset=offset,
            limit=limit,
            items=_identified(session, caller, [_result_read(r, sets) for r in page]),
        ),
    )


def _identified(
    session: Session, caller: Caller, items: list[TriageResultRead]
) -> list[TriageResultRead]:
    """Results with their series' identification status as it is *now*: a child identified
    after the triage run shows as identified on the run's page."""
    lookups = [travel.Lookup(md5=i.md5, sha1=i.sha1, sha256=i.sha256) for i in items]
    for item, statuses in zip(
        items, travel.status_for_hashes(session, caller, lookups), strict=True
    ):
        item.identification = statuses
        if any(st.identified for st in statuses):
            item.victim_identified = True
    return items


def _report_rows(
    session: Session, run_id: uuid.UUID, sets: set[uuid.UUID]
) -> Iterator[dict[str, Any]]:
    """The run's files as the report folder's rows, matches in unshared sets undescribed."""
    stmt = (
        select(TriageResult)
        .where(TriageResult.run_id == run_id)
        .order_by(_path_order(session), TriageResult.id)
        .execution_options(yield_per=2000)
    )
    for r in session.scalars(stmt):
        read = _result_read(r, sets)
        row = read.model_dump()
        row["hashset"] = row.pop("hash_set")
        yield row


def export_results(
    session: Session, caller: Caller, run_id: uuid.UUID, *, fmt: str, out: IO[str]
) -> tuple[str, int]:
    """Write the run's results as the report folder's results.csv or results.vics.json (a
    disclosure, audited); a name for the file and the number of records written."""
    if fmt not in ("csv", "vics"):
        raise Invalid("format", "must be csv or vics")
    run, case = _visible_run(session, caller, run_id, "triage.export")
    rows = _report_rows(session, run.id, _visible_sets(session, caller))
    count = report.write_csv(out, rows) if fmt == "csv" else report.write_vics(out, rows)
    audit.record(
        session,
        caller,
        action="triage.export",
        operation=Operation.DISCLOSURE,
        subject_type="triage_run",
        subject_id=run.id,
        subject_agency_id=case.owner_agency_id,
        detail={"case": str(case.id), "format": fmt, "records": count},
    )
    return f"{case.reference}-triage-{run.started_at:%Y%m%d-%H%M}", count


# --- triage results for the series above (series reads them through these, not the tables) ---


def results_with_case(session: Session, ids: Sequence[int]) -> list[tuple[TriageResult, uuid.UUID]]:
    """Triage results by id, each with its run's case id: the reader checks the case."""
    rows = session.execute(
        select(TriageResult, TriageRun.case_id)
        .join(TriageRun, TriageRun.id == TriageResult.run_id)
        .where(TriageResult.id.in_(list(ids)))
    ).all()
    return [(result, case_id) for result, case_id in rows]


def unmatched_images(
    session: Session, case_id: uuid.UUID, ids: Sequence[int] | None = None
) -> Iterator[dict[str, Any]]:
    """The case's images that matched no known set and were read without error (those with
    the given result ids only, when named), in id order: the material of new series."""
    stmt = (
        select(
            TriageResult.id,
            TriageResult.path,
            TriageResult.pdq,
            TriageResult.pdq_quality,
            TriageResult.camera_make,
            TriageResult.camera_model,
            TriageResult.camera_serial,
            TriageResult.taken_at,
            TriageResult.gps_lat,
            TriageResult.gps_lon,
        )
        .join(TriageRun, TriageRun.id == TriageResult.run_id)
        .where(
            TriageRun.case_id == case_id,
            TriageResult.match_type == "none",
            TriageResult.media_type.like("image/%"),
            TriageResult.error.is_(None),
        )
        .order_by(TriageResult.id)
        .execution_options(yield_per=20_000)
    )
    if ids is not None:
        stmt = stmt.where(TriageResult.id.in_(list(ids)))
    for row in session.execute(stmt):
        yield dict(row._mapping)


def case_results(session: Session, case_id: uuid.UUID, ids: Sequence[int]) -> list[TriageResult]:
    """The results with these ids of the case's runs (others are not returned)."""
    return list(
        session.scalars(
            select(TriageResult)
            .join(TriageRun, TriageRun.id == TriageResult.run_id)
            .where(TriageRun.case_id == case_id, TriageResult.id.in_(list(ids)))
        )
    )
