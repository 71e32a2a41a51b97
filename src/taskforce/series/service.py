"""Series and victims: grouping media into series, recording victims, marking them identified,
and telling every agency that meets the same material whether its child is already safe.

Visibility follows the series' sharing level like a case (404 for what a caller may not see).
The identification fact — "this series' victims are identified, contact agency X" — is given
to every member for any series whose owner leaves `status_public` on (the default), through
`series.status`: that is what stops duplicate work and false assumptions of safety.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

import pycountry
from sqlalchemy import Table, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.agencies.models import Agency
from taskforce.cases.models import Case
from taskforce.cases.schemas import LineError
from taskforce.core import sharing
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.caller import Caller, Permission
from taskforce.core.db import is_postgres, utcnow
from taskforce.core.errors import Conflict, Invalid, NotFound
from taskforce.core.sharing import SharingLevel
from taskforce.hashsets import formats
from taskforce.hashsets import service as hashset_service
from taskforce.hashsets.models import HashEntry
from taskforce.series import status
from taskforce.series.models import AgeBand, Series, SeriesMedia, Victim, VictimStatus
from taskforce.series.schemas import (
    MediaAdd,
    MediaAdded,
    MediaHashes,
    SeriesCreate,
    SeriesRead,
    VictimCreate,
    VictimIdentify,
    VictimRead,
)
from taskforce.triage import reading as triage_runs

SEXES = ("female", "male", "unknown")
_MEDIA = cast(Table, SeriesMedia.__table__)
_DIGESTS = ("md5", "sha1", "sha256")
CHUNK = 5000  # hash-set entries read and written at once when added to a series


def media_key(hashes: Mapping[str, str | None]) -> str:
    text = "|".join(f"{k}={hashes.get(k) or ''}" for k in ("md5", "sha1", "sha256", "pdq"))
    return hashlib.sha256(text.encode()).hexdigest()


# --- series -----------------------------------------------------------------------------------


def create_series(session: Session, caller: Caller, data: SeriesCreate) -> Series:
    caller.require(Permission.MANAGE_SERIES)
    if caller.agency_id is None:
        raise NotFound("agency")
    name = data.name.strip()
    if session.scalar(
        select(Series.id).where(
            sharing.owned_by(Series.owner_agency_id, caller), Series.name == name
        )
    ):
        raise Conflict(f"your agency already has a series named {name!r}")
    partners = sharing.amber_partners(
        caller,
        data.sharing,
        data.partners,
        lambda c: agency_service.resolve_codes(session, c),
        noun="series",
    )
    series = Series(
        name=name,
        description=data.description.strip(),
        sharing=data.sharing,
        owner_agency_id=caller.agency_id,
        first_seen_at=data.first_seen_at,
        status_public=data.status_public,
        created_by_id=caller.user_id,
    )
    session.add(series)
    session.flush()
    sharing.set_partners(session, series, [a.id for a in partners])
    audit.record(
        session,
        caller,
        action="series.create",
        operation=Operation.COLLECTION,
        subject_type="series",
        subject_id=series.id,
        subject_agency_id=caller.agency_id,
        detail={"name": name, "sharing": series.sharing},
    )
    return series


def get_visible(session: Session, caller: Caller, series_id: uuid.UUID) -> Series:
    """The series if the caller may see it; otherwise NotFound (the refusal is audited)."""
    return sharing.visible_or_404(
        session, caller, Series, series_id, subject_type="series", action="series.read"
    )


def _owned(session: Session, caller: Caller, series_id: uuid.UUID) -> Series:
    """Changes are the owner's: others see no difference between 'not yours' and 'missing'."""
    caller.require(Permission.MANAGE_SERIES)
    series = get_visible(session, caller, series_id)
    sharing.require_owner(series, caller, NotFound("series"))
    return series


def list_series(session: Session, caller: Caller) -> list[SeriesRead]:
    caller.require(Permission.READ)
    found = list(
        session.scalars(sharing.visible(select(Series), Series, caller).order_by(Series.name))
    )
    audit.record(
        session,
        caller,
        action="series.list",
        operation=Operation.CONSULTATION,
        detail={"series": len(found)},
    )
    return describe_many(session, caller, found)


def read_series(session: Session, caller: Caller, series_id: uuid.UUID) -> SeriesRead:
    series = get_visible(session, caller, series_id)
    audit.record(
        session,
        caller,
        action="series.read",
        operation=Operation.CONSULTATION,
        subject_type="series",
        subject_id=series.id,
        subject_agency_id=series.owner_agency_id,
    )
    return describe_many(session, caller, [series])[0]


def describe_many(
    session: Session,
    caller: Caller,  # noqa: ARG001 - a read for someone, as every service read; access is the finder's
    found: Sequence[Series],
) -> list[SeriesRead]:
    if not found:
        return []
    ids = [s.id for s in found]
    counts = dict(
        session.execute(
            select(SeriesMedia.series_id, func.count())
            .where(SeriesMedia.series_id.in_(ids))
            .group_by(SeriesMedia.series_id)
        ).all()
    )
    victims = status.victims_of(session, ids)
    partners = sharing.partner_ids_of(session, Series, ids)
    agency_ids = {s.owner_agency_id for s in found} | {p for ps in partners.values() for p in ps}
    agency_ids |= {
        v.identified_by_agency_id
        for vs in victims.values()
        for v in vs
        if v.identified_by_agency_id
    }
    agencies = agency_service.agencies_by_id(session, agency_ids)
    return [
        SeriesRead(
            id=s.id,
            name=s.name,
            description=s.description,
            agency=agencies[s.owner_agency_id].code,
            sharing=SharingLevel(s.sharing),
            partners=sorted(agencies[p].code for p in partners.get(s.id, set())),
            first_seen_at=s.first_seen_at,
            status_public=s.status_public,
            created_at=s.created_at,
            media_count=int(counts.get(s.id, 0)),
            victims=[_victim_read(v, agencies) for v in victims.get(s.id, [])],
            status=status.summary(s, victims.get(s.id, []), agencies, visible=True),
        )
        for s in found
    ]


def _victim_read(v: Victim, agencies: Mapping[uuid.UUID, Agency]) -> VictimRead:
    by = agencies.get(v.identified_by_agency_id) if v.identified_by_agency_id else None
    return VictimRead(
        id=v.id,
        label=v.label,
        age_band=v.age_band,
        sex=v.sex,
        status=v.status,
        identified_by=by.code if by else None,
        identified_at=v.identified_at,
        identified_country=v.identified_country,
        notes=v.notes,
    )


# --- media ------------------------------------------------------------------------------------


def listed_media(text: str) -> tuple[list[MediaHashes], list[LineError]]:
    """Hashes pasted one a line, read by the hash-set import's own line reader: each bad line
    is reported as an import reports it (its number, the field, the rule, what it held) and
    the good ones are kept, so one typo does not refuse a list of a thousand."""
    media: list[MediaHashes] = []
    rejected: list[LineError] = []
    lines = text.splitlines()
    for item in formats.read_lines(io.BytesIO(text.encode("utf-8")), source=""):
        if isinstance(item, formats.BadLine):
            held = lines[item.line - 1].strip() if 0 < item.line <= len(lines) else ""
            rejected.append(
                LineError(line=item.line, field=item.field, rule=item.rule, value=held[:80])
            )
        else:
            media.append(MediaHashes(md5=item.md5, sha1=item.sha1, sha256=item.sha256))
    return media, rejected


def add_media(session: Session, caller: Caller, series_id: uuid.UUID, data: MediaAdd) -> MediaAdded:
    """Add files to a series by hash: listed hashes, a case's triage results, or the entries of
    a visible hash set that carry a given series name. Adding a file twice adds nothing."""
    series = _owned(session, caller, series_id)
    rows: list[dict[str, Any]] = []
    for i, item in enumerate(data.media):
        rows.append(
            _media_row(series.id, _normalised(item, f"media[{i}]"), data.source or "listed", caller)
        )
    if data.triage_results:
        rows.extend(_from_triage(session, caller, series.id, data.triage_results))
    # listed files and triage results: at most 100,000 each (MediaAdd)
    chunks: Iterable[list[dict[str, Any]]] = [rows]
    if data.hash_set:  # a hash set may hold millions: read and written CHUNK at a time
        hash_set = _from_hash_set(session, caller, series.id, data.hash_set, data.hash_set_series)
        chunks = itertools.chain(chunks, hash_set)
    offered = distinct = added = 0
    for chunk in chunks:
        offered += len(chunk)
        distinct += len({r["media_key"] for r in chunk})
        added += _write(session, chunk)
    if not offered:
        raise Invalid("media", "name at least one file: hashes, triage results or a hash set")
    audit.record(
        session,
        caller,
        action="series.add_media",
        operation=Operation.COLLECTION,
        subject_type="series",
        subject_id=series.id,
        subject_agency_id=series.owner_agency_id,
        detail={"offered": offered, "added": added},
    )
    return MediaAdded(added=added, already_present=distinct - added)


def _normalised(item: MediaHashes, field: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for kind in ("md5", "sha1", "sha256", "pdq"):
        raw = getattr(item, kind)
        try:
            values[kind] = formats.hash_value(kind, raw) if raw and raw.strip() else None
        except Invalid as exc:
            raise Invalid(f"{field}.{kind}", exc.rule) from None
    if not any(values.values()):
        raise Invalid(field, "needs at least one of md5, sha1, sha256, pdq")
    values["pdq_quality"] = item.pdq_quality
    return values


def _media_row(
    series_id: uuid.UUID, hashes: Mapping[str, Any], source: str, caller: Caller
) -> dict[str, Any]:
    return {
        "series_id": series_id,
        "media_key": media_key(hashes),
        "md5": hashes.get("md5"),
        "sha1": hashes.get("sha1"),
        "sha256": hashes.get("sha256"),
        "pdq": hashes.get("pdq"),
        "pdq_quality": hashes.get("pdq_quality"),
        "source": source[:300],
        "added_at": utcnow(),
        "added_by_id": caller.user_id,
    }


def _from_triage(
    session: Session, caller: Caller, series_id: uuid.UUID, ids: Sequence[int]
) -> list[dict[str, Any]]:
    found = triage_runs.results_with_case(session, ids)
    cases = {
        c.id: c for c in session.scalars(select(Case).where(Case.id.in_({r[1] for r in found})))
    }
    usable = {
        r.id: r
        for r, case_id in found
        if case_id in cases and sharing.can_see(session, cases[case_id], caller)
    }
    missing = [i for i in ids if i not in usable]
    if missing:
        raise NotFound(f"triage result {missing[0]}")
    rows = []
    for r in usable.values():
        if not (r.md5 or r.sha1 or r.sha256 or r.pdq):
            continue
        hashes = {
            "md5": r.md5,
            "sha1": r.sha1,
            "sha256": r.sha256,
            "pdq": r.pdq,
            "pdq_quality": r.pdq_quality,
        }
        rows.append(_media_row(series_id, hashes, f"triage: {r.path}", caller))
    return rows


def _from_hash_set(
    session: Session, caller: Caller, series_id: uuid.UUID, name: str, series_name: str | None
) -> Iterator[list[dict[str, Any]]]:
    """The set's entries (of one series name) as media rows, `CHUNK` at a time: memory stays
    one chunk, however large the set."""
    hash_set = hashset_service.get_by_name(session, caller, name)
    stmt = select(HashEntry).where(HashEntry.hash_set_id == hash_set.id)
    if series_name:
        stmt = stmt.where(HashEntry.series == series_name)
    rows: list[dict[str, Any]] = []
    for e in session.scalars(stmt.order_by(HashEntry.id).execution_options(yield_per=CHUNK)):
        if not (e.md5 or e.sha1 or e.sha256 or e.pdq):
            continue
        hashes = {
            "md5": e.md5,
            "sha1": e.sha1,
            "sha256": e.sha256,
            "pdq": e.pdq,
            "pdq_quality": e.pdq_quality,
        }
        rows.append(_media_row(series_id, hashes, f"hash set: {hash_set.name}", caller))
        if len(rows) >= CHUNK:
            yield rows
            rows = []
    yield rows


def _write(session: Session, rows: Sequence[dict[str, Any]]) -> int:
    unique = list({r["media_key"]: r for r in rows}.values())
    dialect_insert = pg_insert if is_postgres(session) else sqlite_insert
    added = 0
    for first in range(0, len(unique), 5000):
        added += len(
            session.execute(
                dialect_insert(_MEDIA).on_conflict_do_nothing().returning(_MEDIA.c.id),
                unique[first : first + 5000],
            ).all()
        )
    return added


# --- victims ----------------------------------------------------------------------------------


def add_victim(
    session: Session, caller: Caller, series_id: uuid.UUID, data: VictimCreate
) -> Victim:
    series = _owned(session, caller, series_id)
    if data.age_band not in AgeBand.BANDS:
        raise Invalid("age_band", f"must be one of {', '.join(AgeBand.BANDS)}")
    if data.sex not in SEXES:
        raise Invalid("sex", f"must be one of {', '.join(SEXES)}")
    label = data.label.strip()
    if session.scalar(
        select(Victim.id).where(Victim.series_id == series.id, Victim.label == label)
    ):
        raise Conflict(f"the series already has a victim labelled {label!r}")
    victim = Victim(
        series_id=series.id,
        label=label,
        age_band=data.age_band,
        sex=data.sex,
        notes=data.notes.strip(),
    )
    session.add(victim)
    session.flush()
    audit.record(
        session,
        caller,
        action="victim.create",
        operation=Operation.COLLECTION,
        subject_type="victim",
        subject_id=victim.id,
        subject_agency_id=series.owner_agency_id,
    )
    return victim


def identify_victim(
    session: Session, caller: Caller, victim_id: uuid.UUID, data: VictimIdentify
) -> Victim:
    """Record that a victim is identified (or safeguarded): by which agency, when, where.

    Anyone who can see the series and works on victim identification may record it — the
    identifying agency is often not the series' owner (a clue notice answered elsewhere)."""
    caller.require(Permission.MANAGE_SERIES)
    victim = session.get(Victim, victim_id)
    if victim is None:
        raise NotFound("victim")
    series = get_visible(session, caller, victim.series_id)
    if data.status not in (VictimStatus.IDENTIFIED, VictimStatus.SAFEGUARDED):
        raise Invalid("status", "must be identified or safeguarded")
    country = pycountry.countries.get(alpha_2=data.country.strip().upper())
    if country is None:
        raise Invalid("country", "must be an ISO 3166 alpha-2 country code")
    if data.agency:
        [agency] = agency_service.resolve_codes(session, [data.agency], field="agency")
    else:
        found = session.get(Agency, caller.agency_id) if caller.agency_id else None
        if found is None:
            raise Invalid("agency", "name the identifying agency")
        agency = found
    when = data.identified_at or utcnow()
    if when > utcnow():
        raise Invalid("identified_at", "must not be in the future")
    victim.status = data.status
    victim.identified_by_agency_id = agency.id
    victim.identified_at = when
    victim.identified_country = country.alpha_2
    session.flush()
    audit.record(
        session,
        caller,
        action="victim.identify",
        operation=Operation.ALTERATION,
        subject_type="victim",
        subject_id=victim.id,
        subject_agency_id=series.owner_agency_id,
        detail={"status": victim.status, "agency": agency.code, "country": country.alpha_2},
    )
    return victim


# --- statistics -------------------------------------------------------------------------------


def statistics(session: Session, caller: Caller) -> dict[str, Any]:
    """Children identified over time, by identifying country, and time from a series' first
    sighting to identification — counts only, over every series whose status is shared."""
    caller.require(Permission.READ)
    stmt = (
        select(
            Victim.identified_at, Victim.identified_country, Series.first_seen_at, Series.created_at
        )
        .join(Series, Series.id == Victim.series_id)
        .where(Victim.status != VictimStatus.UNIDENTIFIED, Victim.identified_at.is_not(None))
    )
    rows = session.execute(
        sharing.visible(stmt, Series, caller, also=Series.status_public.is_(True))
    ).all()
    by_month: dict[str, int] = defaultdict(int)
    by_country: dict[str, int] = defaultdict(int)
    days: list[float] = []
    for identified_at, country, first_seen, created in rows:
        assert identified_at is not None  # filtered in the query
        by_month[identified_at.strftime("%Y-%m")] += 1
        by_country[country or "unknown"] += 1
        start: datetime = first_seen or created
        days.append(max(0.0, (identified_at - start).total_seconds() / 86_400))
    days.sort()
    audit.record(session, caller, action="series.statistics", operation=Operation.CONSULTATION)
    return {
        "identified": len(rows),
        "by_month": [{"month": m, "identified": by_month.get(m, 0)} for m in _months(by_month)],
        "by_country": [
            {"country": c, "name": _country_name(c), "identified": n}
            for c, n in sorted(by_country.items(), key=lambda item: (-item[1], item[0]))
        ],
        "days_to_identification": {
            "median": days[len(days) // 2] if days else None,
            "p90": days[min(len(days) - 1, int(len(days) * 0.9))] if days else None,
            "values": [round(d, 1) for d in days],
        },
    }


def _months(counted: Mapping[str, int]) -> list[str]:
    """Every month from the first to the last with an identification: a time axis with gaps
    left out would misstate the trend."""
    if not counted:
        return []
    first, last = min(counted), max(counted)
    year, month = int(first[:4]), int(first[5:])
    months = []
    while f"{year:04d}-{month:02d}" <= last:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _country_name(code: str) -> str:
    found = pycountry.countries.get(alpha_2=code) if len(code) == 2 else None
    return str(found.name) if found else code


def statistics_csv(stats: Mapping[str, Any]) -> str:
    """The statistics as CSV: `kind,key,identified` rows (month, country)."""
    lines = ["kind,key,identified"]
    lines += [f"month,{r['month']},{r['identified']}" for r in stats["by_month"]]
    lines += [f"country,{r['country']},{r['identified']}" for r in stats["by_country"]]
    median = stats["days_to_identification"]["median"]
    lines.append(f"median_days_to_identification,,{'' if median is None else round(median, 1)}")
    return "\n".join(lines) + "\n"


def get_victim(session: Session, caller: Caller, victim_id: uuid.UUID) -> Victim:
    """A victim of a series the caller may see; otherwise NotFound."""
    victim = session.get(Victim, victim_id)
    if victim is None:
        raise NotFound("victim")
    get_visible(session, caller, victim.series_id)
    return victim


def series_from_hash_set(session: Session, set_id: uuid.UUID) -> str | None:
    """For `core.dependents`: series holding media copied from the hash set.

    Matched by the copied hashes, not by the name in `source`: the set may have been renamed
    since it was copied."""
    entry = select(HashEntry.id).where(HashEntry.hash_set_id == set_id)
    copied = or_(
        *(
            entry.where(getattr(HashEntry, column) == getattr(SeriesMedia, column)).exists()
            for column in ("sha256", "sha1", "md5", "pdq")
        )
    )
    count = session.scalar(
        select(func.count(func.distinct(SeriesMedia.series_id))).where(
            SeriesMedia.source.startswith("hash set: "), copied
        )
    )
    if not count:
        return None
    return f"{count:,} series hold{'s' if count == 1 else ''} media copied from it"
