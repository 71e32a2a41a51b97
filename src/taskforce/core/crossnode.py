"""Hits of this node's cases with another node's entries, as the hits inbox shows them: a port,
like `core.dependents`.

The inbox and its badge belong to the cases domain, which may not import the federation above
it. Cases asks here; the composition root (`taskforce.domains`) hands over the federation's
answers. Without them (no federation installed) there are no cross-node hits.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class CrossNodeHit:
    """One side of a cross-node hit: this node's case and selector, and what the other node's
    entry lets this node say about the other side (by default only whom to call)."""

    id: uuid.UUID
    kind: str
    created_at: datetime
    case_id: uuid.UUID
    case_reference: str
    case_title: str
    selector_value: str
    node: str  # the peer's name
    agency_name: str | None  # only where the entry carried details
    contact_desk: str
    contact_phone: str
    contact_email: str
    contact_timezone: str
    acknowledged_at: datetime | None
    withdrawn_at: datetime | None


# (session, agency id or None for every agency) -> unacknowledged cross-node hits per agency
Counter = Callable[[Session, uuid.UUID | None], dict[uuid.UUID, int]]
# (session, agency id, case id or None, limit) -> the agency's cross-node hits, newest first
Lister = Callable[[Session, uuid.UUID, uuid.UUID | None, int], list[CrossNodeHit]]

# (session, case ids) -> unacknowledged cross-node hits per case (a case's "open hits")
CaseCounter = Callable[[Session, list[uuid.UUID]], dict[uuid.UUID, int]]

_counters: list[Counter] = []
_listers: list[Lister] = []
_case_counters: list[CaseCounter] = []


def provide(counter: Counter, lister: Lister, case_counter: CaseCounter) -> None:
    """Named once by the composition root (the federation's answers)."""
    _counters[:] = [counter]
    _listers[:] = [lister]
    _case_counters[:] = [case_counter]


def unacknowledged(session: Session, agency_id: uuid.UUID | None = None) -> dict[uuid.UUID, int]:
    """Per agency, the cross-node hits on its cases not acknowledged yet (withdrawn ones no
    longer wait for a call and are not counted)."""
    counts: dict[uuid.UUID, int] = {}
    for counter in _counters:
        for agency, n in counter(session, agency_id).items():
            counts[agency] = counts.get(agency, 0) + n
    return counts


def unacknowledged_per_case(session: Session, case_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """The same count per case: what a case's "open hits" adds from other nodes."""
    counts: dict[uuid.UUID, int] = {}
    for counter in _case_counters:
        for case_id, n in counter(session, case_ids).items():
            counts[case_id] = counts.get(case_id, 0) + n
    return counts


def hits_of(
    session: Session, agency_id: uuid.UUID, case_id: uuid.UUID | None = None, limit: int = 200
) -> list[CrossNodeHit]:
    """The agency's cross-node hits (of one case, if named), newest first."""
    found: list[CrossNodeHit] = []
    for lister in _listers:
        found.extend(lister(session, agency_id, case_id, limit))
    return found
