"""MISP workflows: a MISP file's indicators added to a case the caller's agency owns (through
the cases domain's one bulk path: normalised, deconflicted, hits made) and audited."""

from __future__ import annotations

import uuid
from collections.abc import Callable

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
from taskforce.interop import misp_import
from taskforce.interop.misp_import import MispImportSummary, MispLine


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
