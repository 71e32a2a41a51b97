"""Bulk import of selectors, deconflicted in batches.

Adding selectors one at a time costs several round trips each (value row, duplicate check,
count, hit query, history), which caps an import at a couple of thousand lines a second. Here
the lines are normalised first, then every step is one statement per batch of lines: the value
rows, the duplicate check, the selector rows, the holder counts and the hit query. The result
is the same as adding each line with `service.add_selector`: same selectors, same hits (exact
keys, PDQ near matches, noise and common values, the IP observation window), same
notifications; the case history gets one "selectors_imported" entry instead of one per line.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from taskforce.cases import noise as builtin_noise
from taskforce.cases import pdq
from taskforce.cases.models import Case, Hit, NoiseEntry, PdqBits, Selector, SelectorValue
from taskforce.cases.schemas import LineError, SelectorCreate
from taskforce.cases.selectors import NormalisedSelector, SelectorKind
from taskforce.core.budgets import Breach
from taskforce.core.caller import Caller
from taskforce.core.db import insert_new, is_postgres, utcnow
from taskforce.core.errors import TaskforceError
from taskforce.core.hamming import hamming, hex_to_bytes
from taskforce.core.settings import Settings
from taskforce.core.text import RULE as UNSTORABLE
from taskforce.core.text import unstorable

BATCH_SIZE = 2000
_VALUES = cast(Table, SelectorValue.__table__)
_SELECTORS = cast(Table, Selector.__table__)
_PDQ = cast(Table, PdqBits.__table__)


@dataclass
class _Line:
    normalised: NormalisedSelector
    raw: str
    observed_at: datetime | None
    note: str


@dataclass
class BulkOutcome:
    accepted: int
    duplicates: int
    rejected: list[LineError]
    hits: list[Hit]


def parse_lines(
    caller: Caller,
    rows: Iterable[tuple[int, dict[str, str] | Breach]],
    normalise_input: Callable[[Caller, SelectorCreate], NormalisedSelector],
    parse_time: Callable[[str], datetime | None],
) -> tuple[list[_Line], list[LineError]]:
    """Validate and normalise every line; bad ones (and rows past the parser budget, given
    as a `Breach`) become `LineError`s, in input order."""
    good: list[_Line] = []
    rejected: list[LineError] = []
    for line, row in rows:
        if isinstance(row, Breach):
            rejected.append(LineError(line=line, field=row.field, rule=row.rule, value=""))
            continue
        column = next((k for k, v in row.items() if v and unstorable(v)), None)
        if column is not None:
            rejected.append(LineError(line=line, field=column, rule=UNSTORABLE, value=""))
            continue
        try:
            data = SelectorCreate(
                type=row.get("type", "").strip() or "?",
                value=row.get("value", "") or " ",
                platform=(row.get("platform") or "").strip() or None,
                note=(row.get("note") or "")[:500],
            )
            observed_at = parse_time(row.get("observed_at", "") or "")
            normalised = normalise_input(caller, data)
        except TaskforceError as exc:
            field = getattr(exc, "field", "value")
            rule = getattr(exc, "rule", exc.message)
            rejected.append(
                LineError(line=line, field=field, rule=rule, value=str(row.get("value", ""))[:100])
            )
            continue
        except ValueError as exc:  # pydantic validation of the row
            rejected.append(
                LineError(
                    line=line,
                    field="value",
                    rule=str(exc).splitlines()[0][:200],
                    value=str(row.get("value", ""))[:100],
                )
            )
            continue
        if observed_at is not None:
            observed_at = observed_at.astimezone(UTC)
        good.append(_Line(normalised, data.value, observed_at, data.note.strip()))
    return good, rejected


def _noise_rules(session: Session) -> dict[str, list[builtin_noise.NoiseRule]]:
    """The admins' rules by kind; a kind is present iff any rule (built-in too) can match it,
    since a rule only matches selectors of its own kind."""
    rules: dict[str, list[builtin_noise.NoiseRule]] = {
        rule.kind.value: [] for rule in builtin_noise.BUILTIN_NOISE
    }
    for entry in session.scalars(select(NoiseEntry)):
        rules.setdefault(entry.kind, []).append(
            builtin_noise.NoiseRule(SelectorKind(entry.kind), entry.pattern, entry.reason)
        )
    return rules


def _value_ids(
    session: Session, pairs: Sequence[tuple[str, str]]
) -> tuple[dict[tuple[str, str], Any], set[Any]]:
    """Get or create the value rows of a batch: ({(kind, key): id}, ids of rows created now).

    Rows created now are new to the network (inserted with `case_count` 1 for this case), so
    nothing else need be looked up for them. Existing rows are locked on PostgreSQL, in id
    order; new rows are inserted in (kind, key) order, so two imports racing on the same new
    values wait for each other in the same order instead of deadlocking."""
    rows = [
        {"id": uuid.uuid4(), "kind": k, "key": key, "case_count": 1, "is_common": False}
        for k, key in sorted(pairs)
    ]
    dialect_insert = pg_insert if is_postgres(session) else sqlite_insert
    inserted = session.execute(
        dialect_insert(_VALUES)
        .on_conflict_do_nothing()
        .returning(_VALUES.c.id, _VALUES.c.kind, _VALUES.c.key),
        rows,
    )
    found = {(k, key): vid for vid, k, key in inserted}
    created = set(found.values())
    by_kind: dict[str, list[str]] = {}
    for k, key in pairs:
        if (k, key) not in found:
            by_kind.setdefault(k, []).append(key)
    if by_kind:
        # one IN list per kind, so both databases use the (kind, key) unique index
        stmt = select(_VALUES.c.id, _VALUES.c.kind, _VALUES.c.key).where(
            or_(
                *(and_(_VALUES.c.kind == k, _VALUES.c.key.in_(keys)) for k, keys in by_kind.items())
            )
        )
        if is_postgres(session):
            stmt = stmt.order_by(_VALUES.c.id).with_for_update()
        found.update(((k, key), vid) for vid, k, key in session.execute(stmt))
    return found, created


def _ip_compatible(a: datetime | None, b: datetime | None, window_hours: int) -> bool:
    if a is None or b is None:
        return True
    return abs(a - b) <= timedelta(hours=window_hours)


def import_lines(
    session: Session,
    caller: Caller,
    settings: Settings,
    case: Case,
    lines: Sequence[_Line],
) -> tuple[int, int, list[Hit]]:
    """Add the lines to the case and deconflict them; (accepted, duplicates, new hits)."""
    admin = _noise_rules(session)
    seen: set[tuple[str, str]] = set()
    unique: list[_Line] = []
    for item in lines:
        pair = (item.normalised.kind.value, item.normalised.key)
        if pair not in seen:
            seen.add(pair)
            unique.append(item)
    duplicates = len(lines) - len(unique)
    pdq.lock(  # before any value row, as single additions take it
        session,
        [hex_to_bytes(i.normalised.value) for i in unique if i.normalised.kind == SelectorKind.PDQ],
        settings.pdq_match_threshold,
    )
    accepted = 0
    hits: list[Hit] = []
    for start in range(0, len(unique), BATCH_SIZE):
        added, dup, found = _import_batch(
            session, caller, settings, case, unique[start : start + BATCH_SIZE], admin
        )
        accepted += added
        duplicates += dup
        hits.extend(found)
    return accepted, duplicates, hits


def _import_batch(
    session: Session,
    caller: Caller,
    settings: Settings,
    case: Case,
    batch: Sequence[_Line],
    admin: dict[str, list[builtin_noise.NoiseRule]],
) -> tuple[int, int, list[Hit]]:
    pairs = [(i.normalised.kind.value, i.normalised.key) for i in batch]
    value_ids, created = _value_ids(session, pairs)
    existing = [vid for vid in value_ids.values() if vid not in created]
    held = (
        set(
            session.scalars(
                select(Selector.value_id).where(
                    Selector.case_id == case.id, Selector.value_id.in_(existing)
                )
            )
        )
        if existing
        else set()
    )
    now = utcnow()
    new: list[dict[str, Any]] = []
    for item, pair in zip(batch, pairs, strict=True):
        value_id = value_ids[pair]
        if value_id in held:
            continue
        n = item.normalised
        new.append(
            {
                "id": uuid.uuid4(),
                "case_id": case.id,
                "value_id": value_id,
                "kind": n.kind.value,
                "value": n.value,
                "platform": n.platform,
                "raw": item.raw[:2100],
                "observed_at": item.observed_at,
                "note": item.note,
                "noise_reason": builtin_noise.noise_reason(n, admin[n.kind.value])
                if n.kind.value in admin
                else None,
                "added_by_id": caller.user_id,
                "added_at": now,
            }
        )
    duplicates = len(batch) - len(new)
    if not new:
        return 0, duplicates, []
    session.execute(insert(_SELECTORS), new)

    # Values new to the network have no other holder: only the others are counted and compared.
    shared_ids = [s["value_id"] for s in new if s["value_id"] not in created]
    hits: list[Hit] = []
    if shared_ids:
        hits = _shared_value_hits(session, settings, case, new, shared_ids)

    pdq_new = [s for s in new if s["kind"] == SelectorKind.PDQ]
    if pdq_new:
        hits.extend(_pdq_hits(session, settings, case, pdq_new, hits))
        session.execute(
            insert(_PDQ),
            [{"selector_id": s["id"], "bits": hex_to_bytes(s["value"])} for s in pdq_new],
        )
    insert_new(session, hits)
    return len(new), duplicates, hits


def _shared_value_hits(
    session: Session,
    settings: Settings,
    case: Case,
    new: Sequence[dict[str, Any]],
    shared_ids: Sequence[Any],
) -> list[Hit]:
    """Recount the holders of values other cases already hold, mark the common ones, and
    make the exact-key hits of the batch's selectors of those values."""
    holders = (
        select(func.count(func.distinct(_SELECTORS.c.case_id)))
        .where(_SELECTORS.c.value_id == _VALUES.c.id)
        .scalar_subquery()
    )
    session.execute(update(_VALUES).where(_VALUES.c.id.in_(shared_ids)).values(case_count=holders))
    session.execute(
        update(_VALUES)
        .where(
            _VALUES.c.id.in_(shared_ids),
            _VALUES.c.case_count > settings.common_value_case_limit,
        )
        .values(is_common=True)
    )
    common = set(
        session.scalars(
            select(_VALUES.c.id).where(_VALUES.c.id.in_(shared_ids), _VALUES.c.is_common)
        )
    )
    shared = set(shared_ids) - common
    hitting = {
        s["value_id"]: s for s in new if s["value_id"] in shared and s["noise_reason"] is None
    }
    if not hitting:
        return []
    others = session.execute(
        select(
            Selector.id,
            Selector.value_id,
            Selector.case_id,
            Selector.observed_at,
            Case.owner_agency_id,
        )
        .join(Case, Case.id == Selector.case_id)
        .where(
            Selector.value_id.in_(list(hitting)),
            Selector.case_id != case.id,
            Selector.noise_reason.is_(None),
        )
        .order_by(Selector.value_id)
    ).all()
    hits: list[Hit] = []
    for other_id, value_id, other_case_id, other_observed, other_agency in others:
        mine = hitting[value_id]
        if mine["kind"] == SelectorKind.IP and not _ip_compatible(
            mine["observed_at"], other_observed, settings.ip_hit_window_hours
        ):
            continue
        hits.append(_hit(mine, case, other_id, other_case_id, other_agency, 0))
    return hits


def _pdq_hits(
    session: Session,
    settings: Settings,
    case: Case,
    pdq_new: Sequence[dict[str, Any]],
    exact: Sequence[Hit],
) -> list[Hit]:
    """PDQ near matches of the batch's PDQ selectors, through the in-memory index."""
    index = pdq.index_for(session)
    threshold = settings.pdq_match_threshold
    wanted: dict[int, list[dict[str, Any]]] = {}
    queried = [s for s in pdq_new if s["noise_reason"] is None]
    found = index.candidates_many(session, [hex_to_bytes(s["value"]) for s in queried], threshold)
    for s, seqs in zip(queried, found, strict=True):
        for seq in seqs:
            wanted.setdefault(seq, []).append(s)
    if not wanted:
        return []
    rows = session.execute(
        select(Selector.id, Selector.case_id, Case.owner_agency_id, PdqBits.seq, PdqBits.bits)
        .join(PdqBits, PdqBits.selector_id == Selector.id)
        .join(Case, Case.id == Selector.case_id)
        .where(
            PdqBits.seq.in_(list(wanted)),
            Selector.case_id != case.id,
            Selector.noise_reason.is_(None),
        )
        .order_by(PdqBits.seq)
    ).all()
    already = {(h.a_selector_id, h.b_selector_id) for h in exact}
    hits: list[Hit] = []
    for other_id, other_case_id, other_agency, seq, other_bits in rows:
        for mine in wanted[seq]:
            if (mine["id"], other_id) in already:
                continue
            distance = hamming(hex_to_bytes(mine["value"]), bytes(other_bits))
            if distance <= threshold:
                hits.append(_hit(mine, case, other_id, other_case_id, other_agency, distance))
    return hits


def _hit(
    mine: dict[str, Any],
    case: Case,
    other_id: uuid.UUID,
    other_case_id: uuid.UUID,
    other_agency_id: uuid.UUID,
    distance: int,
) -> Hit:
    return Hit(
        id=uuid.uuid4(),
        kind=mine["kind"],
        distance=distance,
        created_at=utcnow(),
        a_case_id=case.id,
        a_selector_id=mine["id"],
        a_agency_id=case.owner_agency_id,
        b_case_id=other_case_id,
        b_selector_id=other_id,
        b_agency_id=other_agency_id,
    )
