"""The demo's interop: one GREEN case its owner keeps inside the hub ("not for export", in the
case's history), and an export already taken by two agencies, so the interop page
(`/ui/interop`) shows a list with hashes and signatures from the first sign-in. Through the
services, as a person would: the export is recorded and audited as any other."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from taskforce.cases import service as case_service
from taskforce.cases.models import Case
from taskforce.cases.schemas import CaseUpdate
from taskforce.core.caller import Caller
from taskforce.core.settings import Settings
from taskforce.core.sharing import SharingLevel
from taskforce.interop import misp
from taskforce.interop import service as interop_service


@dataclass
class InteropSummary:
    held_back: str | None  # the reference of the GREEN case marked not for export
    exports: int
    objects: int  # in the STIX bundle


def build(
    session: Session,
    settings: Settings,
    callers: dict[tuple[str, str], Caller],
    cases: list[tuple[str, Case]],
    now: datetime,
) -> InteropSummary:
    """`cases`: (owning agency, case) in the order the demo opened them; the first open GREEN
    case of GB-NCA after its first is held back (Kestrel, the story's centre, stays out)."""
    held_back = None
    gb_green = [
        c
        for agency, c in cases
        if agency == "GB-NCA" and c.sharing == SharingLevel.GREEN and c.status == "open"
    ]
    if len(gb_green) > 1:
        case = gb_green[1]
        case_service.update_case(
            session, callers[("GB-NCA", "investigator")], case.id, CaseUpdate(not_for_export=True)
        )
        held_back = case.reference
    sink = io.BytesIO()
    stix = interop_service.export_stix(
        session, callers[("NL-NP", "investigator")], settings, sink, now=now - timedelta(hours=3)
    )
    misp.export_misp(
        session,
        callers[("GB-NCA", "investigator")],
        settings,
        io.BytesIO(),
        agency_code="GB-NCA",
        now=now - timedelta(hours=1),
    )
    return InteropSummary(held_back=held_back, exports=2, objects=stix.objects)
