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

import io
import json
import multiprocessing
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import threadpoolctl
from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from taskforce.cases import additions as case_additions
from taskforce.cases.deconfliction import NewSelector
from taskforce.cases.models import Case
from taskforce.cases.selectors import SelectorKind, normalise
from taskforce.core import identification as travel
from taskforce.core import sharing
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.caller import Caller, Permission
from taskforce.core.errors import Invalid, NotFound
from taskforce.core.settings import Settings
from taskforce.core.sharing import visible
from taskforce.hashsets import service as hashset_service
from taskforce.hashsets.models import HashEntry, HashSet
from taskforce.media import hashing
from taskforce.media.schemas import FileHashes
from taskforce.triage import evidence, report
from taskforce.triage.matching import KnownEntry, KnownMedia
from taskforce.triage.models import TriageResult
from taskforce.triage.recording import Checkpoint, Recorder

if TYPE_CHECKING:
    from taskforce.triage.cluster import Target

JOURNAL = "results.jsonl"
WORK_DIR = ".work"
# the journal is synced to disk at most this often (an fsync per few files cost the main
# process, which shares the cores with the workers, more than the hashing of small files)
SYNC_SECONDS = 1.0
# items per task sent to a worker process: up to BATCH_FILES, fewer once BATCH_BYTES are held
# (many small pictures share the cost of a task; a 12 MP photo is a task of its own, so the last
# few large files do not wait behind one worker)
BATCH_FILES = 8
BATCH_BYTES = 1 << 20
ERRORS_LISTED = 50


@dataclass
class Options:
    threshold: int = 31
    workers: int = 0  # 0: one per core
    hash_sets: Sequence[str] = ()
    case_reference: str | None = None
    scheduler: str | None = None  # a Dask scheduler: hash on its workers (triage/cluster.py)
    path_map: Sequence[str] = ()  # LOCAL=REMOTE: where the workers see the evidence
    tls: tuple[Path | None, Path | None, Path | None] = (None, None, None)  # CA, cert, key


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


def examine(item: evidence.Item) -> FileHashes:
    """Every hash of one item (images: rotations and camera), in a worker process.

    Module-level and free of state inherited from the run, so a pool or a remote worker can
    call it by name. Images are decoded the reduced way (`hashing.hash_stream`): JPEGs straight
    to luma, DCT-scaled when large, PDQ within a few bits of the reference."""
    if item.error:
        return FileHashes(path=item.display, error=item.error)
    if item.data is not None:
        return hashing.hash_stream(
            io.BytesIO(item.data), item.display, rotations=True, reduced=True
        )
    assert item.path is not None
    return hashing.hash_file(item.path, display=item.display, rotations=True, reduced=True)


_examine = examine  # the name the Examine seam first used


def examine_batch(items: list[evidence.Item]) -> list[FileHashes]:
    """`examine` of several items in one task (the local pool's unit of work)."""
    return [examine(item) for item in items]


def _size(item: evidence.Item) -> int:
    if item.size is not None or item.data is not None:
        return item.size if item.size is not None else len(item.data or b"")
    try:
        return item.path.stat().st_size if item.path is not None else 0
    except OSError:
        return 0


def _batched(items: Iterator[evidence.Item]) -> Iterator[list[evidence.Item]]:
    batch: list[evidence.Item] = []
    held = 0
    for item in items:
        batch.append(item)
        held += _size(item)
        if len(batch) >= BATCH_FILES or held >= BATCH_BYTES:
            yield batch
            batch, held = [], 0
    if batch:
        yield batch


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


def check_paths(roots: Sequence[Path], out_dir: Path) -> None:
    """Refuse evidence that is not there or cannot be read, and a report folder that is a file,
    before any work: a run over nothing must never look like a run that found nothing."""
    if not roots:
        raise Invalid("evidence", "name at least one file, folder or archive")
    for root in roots:
        shown = evidence.display_name(root)
        if root.is_symlink():
            continue  # reported in the run as a link not followed
        if not root.exists():
            raise Invalid("evidence", f"no such file or folder: {shown}")
        try:
            if root.is_dir():
                with os.scandir(root):
                    pass
            else:
                with root.open("rb"):
                    pass
        except OSError as exc:
            raise Invalid("evidence", f"cannot read {shown}: {exc.strerror or exc}") from None
    if out_dir.exists() and not out_dir.is_dir():
        raise Invalid(
            "out", f"{evidence.display_name(out_dir)} is a file: name a folder for the report"
        )


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
    check_paths(roots, out_dir)
    target = cluster_target(options)
    case = _case(session, caller, options.case_reference) if options.case_reference else None
    made = not out_dir.exists()
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        shown = evidence.display_name(out_dir)
        raise Invalid("out", f"cannot make the report folder {shown}: {exc.strerror}") from None
    work_dir = out_dir / WORK_DIR
    shutil.rmtree(work_dir, ignore_errors=True)  # left behind by a crash: evidence copies
    done = _journal(out_dir)
    recorder: Recorder | None = None
    try:
        with _examiner(options, target, roots, work_dir) as examiner:  # before faiss starts
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
                _process(
                    examiner,
                    pending,
                    known,
                    options.threshold,
                    out_dir,
                    done,
                    progress,
                    recorder,
                )
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
        if made and not done and recorder is None:  # a recorded run names its folder
            _unmake(out_dir)
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


def _unmake(out_dir: Path) -> None:
    """A run refused before any file was hashed (a cluster that cannot be reached, say) leaves
    no report folder it made itself: an empty folder would look like a triage that found
    nothing. Only what the run itself put there is removed."""
    journal = out_dir / JOURNAL
    if journal.exists() and journal.stat().st_size:
        return
    shutil.rmtree(out_dir / WORK_DIR, ignore_errors=True)
    journal.unlink(missing_ok=True)
    with suppress(OSError):  # not empty: something else is there; keep it
        out_dir.rmdir()


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


Examine = Callable[[Iterator[evidence.Item]], Iterator[FileHashes]]
"""Where files are hashed: items in, their hashes out in the same order (the local pool, or a
cluster's workers)."""


def _local(pool: Any) -> Examine:
    def run(items: Iterator[evidence.Item]) -> Iterator[FileHashes]:
        for done in pool.imap(examine_batch, _batched(items), chunksize=1):
            yield from done

    return run


def cluster_target(options: Options) -> Target | None:
    """The cluster the options name, checked (None: hash here). `distributed` is imported only
    then: it is slow to import and a local run does not need it."""
    if options.scheduler is None:
        if options.path_map or any(options.tls):
            raise Invalid("scheduler", "--path-map and certificates are for a --scheduler run")
        return None
    if options.workers:
        raise Invalid("workers", "counts local processes: with --scheduler the cluster's hash")
    from taskforce.triage import cluster

    return cluster.Target.parse(options.scheduler, options.path_map, options.tls)


@contextmanager
def _examiner(
    options: Options, target: Target | None, roots: Sequence[Path], work_dir: Path
) -> Iterator[Examine]:
    """The local fork pool, or the cluster's workers when a scheduler is named."""
    if target is not None:
        from taskforce.triage import cluster

        with cluster.connect(target, examine, roots, work_dir) as remote:
            yield remote
        return
    workers = options.workers or os.cpu_count() or 1
    context = multiprocessing.get_context("fork")
    # one BLAS thread per worker: the processes already use every core
    with context.Pool(workers, initializer=_one_blas_thread) as pool:
        yield _local(pool)


def _process(
    examine: Examine,
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

    synced = time.monotonic()
    with (out_dir / JOURNAL).open("a", encoding="utf-8", buffering=1 << 16) as journal:
        for found in examine(items()):
            row = _row(found, known, threshold)
            journal.write(json.dumps(row, ensure_ascii=False) + "\n")
            done[row["path"]] = row
            spilled = temporary.pop(found.path, None)
            if spilled is not None:
                spilled.unlink(missing_ok=True)
            if time.monotonic() - synced >= SYNC_SECONDS:
                journal.flush()
                os.fsync(journal.fileno())
                synced = time.monotonic()
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


def runs_matching_hash_set(session: Session, set_id: uuid.UUID) -> str | None:
    """For `core.dependents`: recorded triage runs whose files matched the hash set (their
    results keep the set's name, not the link, when it is deleted)."""
    runs = session.scalar(
        select(func.count(distinct(TriageResult.run_id))).where(TriageResult.hash_set_id == set_id)
    )
    if not runs:
        return None
    return f"{runs:,} recorded triage run{'' if runs == 1 else 's'} matched files against it"
