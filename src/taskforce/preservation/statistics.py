"""Counting preservation requests: per status, agency and provider, and those expiring soon —
the agency's own, or the whole network's for the coordinator, never an identifier."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.agencies.models import Agency
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.caller import Caller, Permission
from taskforce.core.db import utcnow
from taskforce.preservation.models import PreservationRequest
from taskforce.preservation.recording import SOON
from taskforce.preservation.schemas import (
    ACTIVE,
    CountRow,
    PreservationCounts,
    PreservationStatus,
)

# --- counts -------------------------------------------------------------------------------------


def counts(session: Session, caller: Caller, *, now: datetime | None = None) -> PreservationCounts:
    """Per status, agency and provider, and how many active ones expire within 14 days (one
    already past its expiry that the job has not marked yet counts too: it needs the desk
    most): the agency's own, or the whole network's for the coordinator (OVERSEE_NETWORK) —
    numbers, never identifiers."""
    network = caller.can(Permission.OVERSEE_NETWORK)
    if not network:
        caller.require(Permission.KEEP_WATCH)
    now = now or utcnow()
    query = select(
        Agency.code,
        PreservationRequest.provider,
        PreservationRequest.status,
        PreservationRequest.expires_at,
    ).join(Agency, Agency.id == PreservationRequest.agency_id)
    if not network:
        query = query.where(PreservationRequest.agency_id == caller.agency_id)
    rows = session.execute(query).all()
    active = {s.value for s in ACTIVE}
    by_status: Counter[str] = Counter({s.value: 0 for s in PreservationStatus})
    agencies: dict[str, list[int]] = {}
    providers: dict[str, list[int]] = {}
    labels: dict[str, str] = {}
    for code, provider, status, expires_at in rows:
        by_status[status] += 1
        is_active = status in active
        soon = is_active and expires_at < now + SOON
        key = provider.casefold()
        labels.setdefault(key, provider)
        for counted, k in ((agencies, code), (providers, key)):
            cell = counted.setdefault(k, [0, 0, 0])
            cell[0] += 1
            cell[1] += is_active
            cell[2] += soon

    def table(cells: dict[str, list[int]], label: dict[str, str]) -> list[CountRow]:
        return [
            CountRow(key=label.get(k, k), total=t, active=a, expiring_soon=s)
            for k, (t, a, s) in sorted(cells.items(), key=lambda kv: (-kv[1][1], -kv[1][0], kv[0]))
        ]

    result = PreservationCounts(
        scope="network" if network else (caller.agency_code or ""),
        at=now,
        soon_days=SOON.days,
        total=len(rows),
        active=sum(c[1] for c in agencies.values()),
        expiring_soon=sum(c[2] for c in agencies.values()),
        by_status=dict(by_status),
        by_agency=table(agencies, {}),
        by_provider=table(providers, labels),
    )
    audit.record(
        session,
        caller,
        action="preservation.counts",
        operation=Operation.CONSULTATION,
        detail={"scope": result.scope, "total": result.total},
    )
    return result


CSV_FIELDS = ("dimension", "key", "total", "active", "expiring_soon")


def csv_text(result: PreservationCounts) -> str:
    """The counts as one CSV table: a row per status, agency and provider, and the total."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for status, n in result.by_status.items():
        writer.writerow(("status", status, n, n if status in ACTIVE else 0, ""))
    for dimension, rows in (("agency", result.by_agency), ("provider", result.by_provider)):
        for row in rows:
            writer.writerow((dimension, row.key, row.total, row.active, row.expiring_soon))
    writer.writerow(("total", result.scope, result.total, result.active, result.expiring_soon))
    return buffer.getvalue()
