"""Reading a case's triage runs: the runs and their results as each reader may see them (hash-set
details only from the sets the reader sees), the exports, and the results the series above
read through these functions rather than the tables.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.cases.models import Case
from taskforce.core import identification as travel
from taskforce.core import sharing
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.caller import Caller, Permission
from taskforce.core.db import is_postgres
from taskforce.core.errors import Invalid, NotFound
from taskforce.core.sharing import visible
from taskforce.hashsets import categories
from taskforce.hashsets.models import HashSet
from taskforce.triage import report
from taskforce.triage.models import TriageResult, TriageRun
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
from taskforce.triage.service import ERRORS_LISTED

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
