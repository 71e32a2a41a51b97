"""MISP workflows: a MISP file's indicators added to a case the caller's agency owns (through
the cases domain's one bulk path: normalised, deconflicted, hits made) and audited; what the
caller's agency may pass on exported as MISP JSON or a MISP feed, recorded and audited."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from pymisp import MISPEvent
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.cases import additions
from taskforce.cases.models import Case
from taskforce.core import sharing
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.caller import Caller, Permission
from taskforce.core.errors import Invalid, NotFound
from taskforce.core.settings import Settings
from taskforce.interop import feed, misp_import, records, releasable, stix
from taskforce.interop.misp_import import MispImportSummary, MispLine
from taskforce.interop.models import InteropExport

MISP = "misp"
MISP_FEED = "misp-feed"


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


@dataclass(frozen=True)
class Exported:
    """An export done: its record, what was written, and its detached signature document."""

    record: InteropExport
    written: feed.Written
    signature: dict[str, Any]


def _export(
    session: Session,
    caller: Caller,
    settings: Settings,
    *,
    kind: str,
    agency_code: str | None,
    now: datetime,
    write: Callable[[Iterator[MISPEvent], feed.Written], object],
) -> Exported:
    """Write the events the caller may pass on (`write`), then sign, record and audit the
    export (`interop.records`, as STIX exports are)."""
    releasable.require_exporter(caller)
    agency_code = _filter(session, agency_code)
    written = feed.Written()
    write(feed.events(session, caller, written, agency_code=agency_code), written)
    detail = {"agency": agency_code, **written.detail()}
    output = records.Output(written.sha256, written.bytes, written.signed_bytes, written.attributes)
    record, document = records.record_export(
        session,
        caller,
        settings,
        format=kind,
        signed_format=kind,
        written=output,
        now=now,
        detail=detail,
        disclosed=detail,
    )
    return Exported(record, written, document)


def _filter(session: Session, agency_code: str | None) -> str | None:
    return None if agency_code is None else releasable.agency_by_code(session, agency_code).code


def export_misp(
    session: Session,
    caller: Caller,
    settings: Settings,
    out: IO[bytes],
    *,
    agency_code: str | None = None,
    now: datetime,
) -> Exported:
    """What the caller's agency may pass on (`releasable`; `agency_code`: only that agency's
    material) as one MISP JSON file written to `out`; signed, recorded and audited."""
    return _export(
        session,
        caller,
        settings,
        kind=MISP,
        agency_code=agency_code,
        now=now,
        write=lambda events, written: feed.write_events(events, out, written),
    )


def export_feed(
    session: Session,
    caller: Caller,
    settings: Settings,
    folder: Path,
    *,
    agency_code: str | None = None,
    now: datetime,
) -> Exported:
    """The same as a MISP feed folder (`feed.write_feed`); the signature covers its
    `SHA256SUMS` listing (written beside it as `SHA256SUMS.sig.json` by the interfaces)."""
    return _export(
        session,
        caller,
        settings,
        kind=MISP_FEED,
        agency_code=agency_code,
        now=now,
        write=lambda events, written: feed.write_feed(events, folder, written),
    )


def read_feed(session: Session, caller: Caller, part: str, *, now: datetime) -> bytes:
    """One file of the live MISP feed (`/api/v1/interop/misp/feed/`, for a MISP instance that
    subscribes with the agency's read-only token): made from what the caller may pass on now,
    and audited as a disclosure with its SHA-256 (not an `InteropExport` row: a MISP instance
    polls, and the exports list would be its polls)."""
    releasable.require_exporter(caller)
    wanted = part.removesuffix(".json") if part not in (feed.MANIFEST, feed.HASHES) else None
    written = feed.Written()
    data = feed.feed_part(feed.events(session, caller, written, wanted=wanted), part, written)
    if data is None:
        raise NotFound("event")
    audit.record(
        session,
        caller,
        action="misp_feed_read",
        operation=Operation.DISCLOSURE,
        subject_type="interop_feed",
        subject_agency_id=caller.agency_id,
        detail={"part": part, "sha256": written.sha256, "bytes": written.bytes,
                "at": stix.timestamp(now), **written.detail()},
    )  # fmt: skip
    return data
