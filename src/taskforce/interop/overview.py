"""What the interop page shows an agency: how much it may pass on (counted by the one
releasability rule, `releasable.counts`), the exports it has taken (who, when, which format,
how many objects, the SHA-256 of the bytes that left), and the cases a MISP file may be
imported into. The page reads these here, so the rules stay out of the interface."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.cases import service as case_service
from taskforce.cases.schemas import CaseStatus, CaseSummary
from taskforce.core import sharing
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.caller import Caller, Permission
from taskforce.interop import misp_events, releasable, stix
from taskforce.interop.models import InteropExport
from taskforce.interop.releasable import ReleasableCount

RECENT = 20  # exports listed on the page: the audit log keeps every one

FORMAT_LABELS = {"stix": "STIX 2.1 bundle", "misp": "MISP events", "misp-feed": "MISP feed"}


@dataclass(frozen=True)
class ExportRecord:
    """One export the agency took, as the page lists it."""

    at: datetime
    actor: str
    format: str
    objects: int
    bytes: int
    sha256: str
    key_id: str | None
    scope: str  # whose material was asked for: an agency's code, or "all"
    export_id: uuid.UUID | None = None
    signed: bool = False  # its signature document is kept: the page offers it

    @property
    def format_label(self) -> str:
        return FORMAT_LABELS.get(self.format, self.format)


@dataclass(frozen=True)
class KindCount:
    kind: str
    selectors: int
    in_stix: bool  # kinds STIX has no pattern for (phone, payment account, IMEI) go to MISP only
    in_misp: bool = True  # kinds MISP has no type for (username, IMEI) go to STIX only
    misp_part: str | None = None  # what of the kind MISP carries, where it is not all of it

    @property
    def note(self) -> str | None:
        """Where a selector of this type cannot go, in the page's few words (None: everywhere)."""
        if not self.in_stix and not self.in_misp:
            return "stays in the hub"
        if not self.in_misp:
            return "STIX only"
        if not self.in_stix:
            return f"MISP only: {self.misp_part}" if self.misp_part else "MISP only"
        return f"MISP: {self.misp_part} only" if self.misp_part else None


@dataclass(frozen=True)
class Releasable:
    """What may leave the hub, per agency and per selector type."""

    agencies: list[ReleasableCount]
    kinds: list[KindCount]

    @property
    def cases(self) -> int:
        return sum(a.cases for a in self.agencies)

    @property
    def selectors(self) -> int:
        return sum(a.selector_total for a in self.agencies)

    @property
    def hash_entries(self) -> int:
        return sum(a.hash_entries for a in self.agencies)


def releasable_summary(session: Session, caller: Caller) -> Releasable:
    """The counts behind the page's "what may leave"; the look is audited as a consultation
    (counts only: no row is read out)."""
    agencies = releasable.counts(session, caller)
    totals: dict[str, int] = {}
    for agency in agencies:
        for kind, n in agency.selectors.items():
            totals[kind] = totals.get(kind, 0) + n
    kinds = [
        KindCount(
            kind=k,
            selectors=n,
            in_stix=k in stix.EXPORTED_KINDS,
            in_misp=k in misp_events.MISP_KINDS,
            misp_part=misp_events.MISP_IN_PART.get(k),
        )
        for k, n in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    audit.record(
        session,
        caller,
        action="interop.overview",
        operation=Operation.CONSULTATION,
        detail={"agencies": len(agencies), "selectors": sum(totals.values())},
    )
    return Releasable(agencies=agencies, kinds=kinds)


def recent_exports(session: Session, caller: Caller, *, limit: int = RECENT) -> list[ExportRecord]:
    """The caller's agency's latest exports, newest first (other agencies' are theirs)."""
    releasable.require_exporter(caller)
    rows = session.scalars(
        select(InteropExport)
        .where(sharing.owned_by(InteropExport.agency_id, caller))
        .order_by(InteropExport.created_at.desc(), InteropExport.id)
        .limit(max(1, min(limit, 200)))
    ).all()
    return [
        ExportRecord(
            at=r.created_at,
            actor=r.actor_label,
            format=r.format,
            objects=r.object_count,
            bytes=r.byte_count,
            sha256=r.sha256,
            key_id=r.key_id,
            scope=str(_asked_agency(r.detail or {}) or "all"),
            export_id=r.id,
            signed=isinstance((r.detail or {}).get("signature"), dict),
        )
        for r in rows
    ]


def _asked_agency(detail: dict[str, Any]) -> str | None:
    value = detail.get("agency") or detail.get("agency_filter")
    return str(value) if value else None


def import_targets(session: Session, caller: Caller) -> list[CaseSummary]:
    """The agency's open cases: those a MISP file's indicators may be added to."""
    if not caller.can(Permission.ADD_SELECTOR) or caller.agency_id is None:
        return []
    page = case_service.list_cases(session, caller, scope="mine", status=CaseStatus.OPEN, limit=500)
    return sorted(page.items, key=lambda c: c.reference, reverse=True)
