"""MISP workflows: a MISP file's indicators added to a case the caller's agency owns (through
the cases domain's one bulk path: normalised, deconflicted, hits made) and audited; what the
caller's agency may pass on exported as MISP JSON or a MISP feed, recorded and audited."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import IO

from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.cases import additions
from taskforce.cases.models import Case
from taskforce.core import sharing
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.caller import Caller, Permission
from taskforce.core.errors import Invalid
from taskforce.core.settings import Settings
from taskforce.interop import feed, misp_import, releasable
from taskforce.interop.misp_import import MispImportSummary, MispLine
from taskforce.interop.models import InteropExport


def _own_case(session: Session, caller: Caller, reference: str) -> Case:
    """A case of the caller's agency by its reference (or id); any other answer is the same
    refusal, so another agency's reference reveals nothing."""
    ref = reference.strip()
    try:
        condition = Case.id == uuid.UUID(ref)
    except ValueError:
        condition = Case.reference == ref.upper()
    case = session.scalar(
        select(Case).where(condition, sharing.owned_by(Case.owner_agency_id, caller))
    )
    if case is None or caller.agency_id is None:
        raise Invalid("case", "must be the reference of a case of your agency")
    return case


def import_misp(
    session: Session,
    caller: Caller,
    settings: Settings,
    data: bytes | str,
    case_reference: str,
    *,
    after_batch: Callable[[], None] | None = None,
) -> MispImportSummary:
    """Add the selectors of a MISP file (`misp_import.read`) to the caller's case. The file is
    read whole before anything is written: a file that is not a MISP event changes nothing."""
    caller.require(Permission.ADD_SELECTOR)
    case = _own_case(session, caller, case_reference)
    reading = misp_import.read(data)
    report = additions.bulk_add_selectors(
        session,
        caller,
        settings,
        case_id=case.id,
        rows=reading.lines,
        after_batch=after_batch,
    )
    invalid = [
        MispLine(
            line=e.line,
            misp_type=reading.misp_types.get(e.line, ""),
            field=e.field,
            rule=e.rule,
            value=e.value,
        )
        for e in report.rejected
    ]
    skipped = dict(sorted(reading.skipped.items()))
    audit.record(
        session,
        caller,
        action="interop.misp_import",
        operation=Operation.COLLECTION,
        subject_type="case",
        subject_id=case.id,
        subject_agency_id=case.owner_agency_id,
        detail={
            "events": reading.uuids[:50],
            "attributes": reading.attributes,
            "added": report.accepted,
            "already_there": report.duplicates,
            "invalid": len(invalid),
            "skipped": skipped,
            "hits": report.hits,
        },
    )
    return MispImportSummary(
        case=case.reference,
        events=reading.events,
        attributes=reading.attributes,
        added=report.accepted,
        already_there=report.duplicates,
        hits=report.hits,
        invalid=invalid,
        skipped=skipped,
    )


# --- export: MISP JSON and the MISP feed ----------------------------------------------------------


def _record(
    session: Session,
    caller: Caller,
    *,
    kind: str,
    written: feed.Written,
    agency_code: str | None,
    now: datetime,
) -> InteropExport:
    """One `InteropExport` row and one audit entry (a disclosure: the data leaves the hub)."""
    detail = {"agency_filter": agency_code, **written.detail()}
    record = InteropExport(
        agency_id=caller.agency_id,
        user_id=caller.user_id,
        actor_label=caller.label,
        format=kind,
        created_at=now,
        object_count=written.attributes,
        byte_count=written.bytes,
        sha256=written.sha256,
        key_id=None,  # TODO(A's interop.signatures): the signing key's id once exports are signed
        detail=detail,
    )
    session.add(record)
    session.flush()
    audit.record(
        session,
        caller,
        action=f"interop.export_{kind.replace('-', '_')}",
        operation=Operation.DISCLOSURE,
        subject_type="interop_export",
        subject_id=record.id,
        subject_agency_id=caller.agency_id,
        detail={"sha256": written.sha256, "bytes": written.bytes, **detail},
    )
    return record


def export_misp(
    session: Session,
    caller: Caller,
    out: IO[bytes],
    *,
    agency_code: str | None = None,
    now: datetime,
) -> tuple[InteropExport, feed.Written]:
    """What the caller's agency may pass on (`releasable`) as one MISP JSON file written to
    `out`; recorded and audited with its SHA-256."""
    releasable.require_exporter(caller)
    written = feed.Written()
    feed.write_events(feed.events(session, caller, written, agency_code=agency_code), out, written)
    return _record(
        session, caller, kind="misp", written=written, agency_code=agency_code, now=now
    ), written


def export_feed(
    session: Session,
    caller: Caller,
    folder: Path,
    *,
    agency_code: str | None = None,
    now: datetime,
) -> tuple[InteropExport, feed.Written]:
    """The same as a MISP feed folder (`feed.write_feed`); recorded and audited with the
    SHA-256 of its `SHA256SUMS` listing."""
    releasable.require_exporter(caller)
    written = feed.Written()
    feed.write_feed(feed.events(session, caller, written, agency_code=agency_code), folder, written)
    return (
        _record(
            session, caller, kind="misp-feed", written=written, agency_code=agency_code, now=now
        ),
        written,
    )
