"""The identification status that travels with the hashes.

Every member meeting a file learns whether it belongs to a series whose victims are
identified, and which agency to contact — the fact that prevents weeks of duplicate work or a
false assumption that a child is safe. Series the caller may see are named; others are given
without their name or id, and only when their owner lets the status travel (`status_public`).
Hash sets and triage, below series, ask for it through `core.identification` (which also
defines its shape and `Lookup`); the composition root (`taskforce.domains`) hands it
`status_for_hashes`.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.agencies.models import Agency
from taskforce.core import sharing
from taskforce.core.caller import Caller
from taskforce.core.identification import IdentificationStatus, Lookup
from taskforce.series.models import Series, SeriesMedia, Victim, VictimStatus

__all__ = ["Lookup", "status_for_hashes", "summary", "victims_of"]

_DIGESTS = ("md5", "sha1", "sha256")


def victims_of(session: Session, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[Victim]]:
    by_series: dict[uuid.UUID, list[Victim]] = defaultdict(list)
    for v in session.scalars(
        select(Victim).where(Victim.series_id.in_(list(ids))).order_by(Victim.label)
    ):
        by_series[v.series_id].append(v)
    return by_series


def summary(
    series: Series, victims: Sequence[Victim], agencies: Mapping[uuid.UUID, Agency], visible: bool
) -> IdentificationStatus:
    done = [v for v in victims if v.status != VictimStatus.UNIDENTIFIED]
    by_ids = list(
        dict.fromkeys(v.identified_by_agency_id for v in done if v.identified_by_agency_id)
    )
    by = [agencies[a] for a in by_ids if a in agencies]
    return IdentificationStatus(
        series_id=series.id if visible else None,
        series=series.name if visible else None,
        owner_agency=agencies[series.owner_agency_id].code,
        victims=len(victims),
        identified=len(done),
        identified_by=[a.code for a in by],
        contact=f"{by[0].contact_desk}, {by[0].contact_phone}, {by[0].contact_email}"
        if by
        else None,
    )


def status_for_hashes(
    session: Session, caller: Caller, files: Sequence[Lookup]
) -> list[list[IdentificationStatus]]:
    """For each file, the series it belongs to and whether their victims are identified.

    Series the caller may see are named; others are given only when their owner lets the
    identification status travel (`status_public`), without their name."""
    wanted = {k: sorted({getattr(f, k) for f in files if getattr(f, k)}) for k in _DIGESTS}
    if not any(wanted.values()):
        return [[] for _ in files]
    # One digest at a time, in chunks: each lookup goes through that digest's index (an OR of
    # long IN lists let the planner scan), and a 10,000-file match stays under the parameter
    # limits.
    found: list[Any] = []
    columns = (SeriesMedia.series_id, SeriesMedia.md5, SeriesMedia.sha1, SeriesMedia.sha256)
    for kind, values in wanted.items():
        for start in range(0, len(values), 500):
            chunk = values[start : start + 500]
            found += session.execute(
                select(*columns).where(getattr(SeriesMedia, kind).in_(chunk))
            ).all()
    series_ids = {r[0] for r in found}
    if not series_ids:
        return [[] for _ in files]
    all_series = {s.id: s for s in session.scalars(select(Series).where(Series.id.in_(series_ids)))}
    shown = {
        i: s
        for i, s in all_series.items()
        if s.status_public or sharing.can_see(session, s, caller)
    }
    victims = victims_of(session, shown)
    agency_ids = {s.owner_agency_id for s in shown.values()}
    agency_ids |= {
        v.identified_by_agency_id
        for vs in victims.values()
        for v in vs
        if v.identified_by_agency_id
    }
    agencies = agency_service.agencies_by_id(session, agency_ids)
    statuses = {
        i: summary(s, victims.get(i, []), agencies, visible=sharing.can_see(session, s, caller))
        for i, s in shown.items()
    }
    index: dict[tuple[str, str], set[uuid.UUID]] = defaultdict(set)
    for series_id, md5, sha1, sha256 in found:
        for kind, value in (("md5", md5), ("sha1", sha1), ("sha256", sha256)):
            if value:
                index[(kind, value)].add(series_id)
    answers: list[list[IdentificationStatus]] = []
    for f in files:
        ids: set[uuid.UUID] = set()
        for kind in _DIGESTS:
            value = getattr(f, kind)
            if value:
                ids |= index.get((kind, value), set())
        answers.append([statuses[i] for i in sorted(ids, key=str) if i in statuses])
    return answers
