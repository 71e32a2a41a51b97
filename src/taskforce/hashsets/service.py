"""Hash sets: create, list, import (streaming, idempotent, resumable) and export.

An import reads the file one entry at a time and writes batches of `BATCH_SIZE` entries with
one multi-row insert each; an entry whose hashes the set already holds is skipped by the
database (unique `entry_key`), so importing the same file twice adds nothing, and running an
interrupted import again adds only what is missing. The caller may commit after each batch.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any, cast

from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.cases.schemas import LineError
from taskforce.core import budgets, dependents, pdq_index, sharing
from taskforce.core import identification as travel
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.caller import Caller, Permission
from taskforce.core.db import is_postgres, utcnow
from taskforce.core.errors import Conflict, Invalid, NotFound
from taskforce.core.sharing import SharingLevel
from taskforce.core.text import RULE as UNSTORABLE
from taskforce.core.text import unstorable
from taskforce.hashsets import formats, videos
from taskforce.hashsets.models import HashEntry, HashEntryFrame, HashSet
from taskforce.hashsets.schemas import (
    HashSetCreate,
    HashSetRead,
    ImportReport,
)
from taskforce.media.hashing import media_type

SNIFF_ENTRIES = 1000  # a file none of whose first entries holds a hash is not a hash list
BATCH_SIZE = 2000  # one transaction: about 0.3 s of SQLite write lock on 1M entries (benchmarks.md)
MAX_REPORTED_ERRORS = 1000
_ENTRIES = cast(Table, HashEntry.__table__)
_FRAMES = cast(Table, HashEntryFrame.__table__)


def entry_key(hashes: dict[str, str | None], vpdq: str | None = None) -> str:
    """The identity of an entry within its set: a digest of its canonical hashes (and of a
    video's frames, for entries that have them)."""
    text = "|".join(f"{k}={hashes[k] or ''}" for k in ("md5", "sha1", "sha256", "pdq"))
    if vpdq:
        text += f"|vpdq={vpdq}"
    return hashlib.sha256(text.encode()).hexdigest()


def create_hash_set(session: Session, caller: Caller, data: HashSetCreate) -> HashSet:
    caller.require(Permission.MANAGE_HASH_SETS)
    if caller.agency_id is None:
        raise Invalid("agency", "a hash set belongs to an agency; act for one")
    name = " ".join(data.name.split())
    clash = session.scalar(
        select(HashSet.id).where(
            sharing.owned_by(HashSet.owner_agency_id, caller), HashSet.name == name
        )
    )
    if clash is not None:
        raise Conflict(f"your agency already has a hash set named {name!r}")
    partners = sharing.amber_partners(
        caller,
        data.sharing,
        data.partners,
        lambda c: agency_service.resolve_codes(session, c),
        noun="hash set",
    )
    hash_set = HashSet(
        name=name,
        description=data.description.strip(),
        source=data.source.strip(),
        owner_agency_id=caller.agency_id,
        sharing=data.sharing,
        created_by_id=caller.user_id,
    )
    session.add(hash_set)
    session.flush()
    sharing.set_partners(session, hash_set, [a.id for a in partners])
    audit.record(
        session,
        caller,
        action="hashset.create",
        operation=Operation.COLLECTION,
        subject_type="hash_set",
        subject_id=hash_set.id,
        subject_agency_id=caller.agency_id,
        detail={"name": name, "sharing": data.sharing.value},
    )
    return hash_set


def list_hash_sets(session: Session, caller: Caller) -> list[HashSetRead]:
    """The hash sets the caller's agency may use: its own, GREEN ones, AMBER naming it."""
    caller.require(Permission.READ)
    rows = session.scalars(
        sharing.visible(select(HashSet), HashSet, caller).order_by(HashSet.name)
    ).all()
    audit.record(
        session,
        caller,
        action="hashset.list",
        operation=Operation.CONSULTATION,
        detail={"count": len(rows)},
    )
    return [describe(session, s) for s in rows]


def list_all(session: Session, caller: Caller) -> list[HashSetRead]:
    """Every hash set's name, owner, sharing and size (not its entries): the network view."""
    caller.require(Permission.MANAGE_AGENCIES)
    rows = session.scalars(select(HashSet).order_by(HashSet.name)).all()
    return [describe(session, s) for s in rows]


def describe(session: Session, hash_set: HashSet) -> HashSetRead:
    agency = agency_service.get(session, hash_set.owner_agency_id)
    return HashSetRead(
        id=hash_set.id,
        name=hash_set.name,
        agency=agency.code if agency else "?",
        description=hash_set.description,
        source=hash_set.source,
        sharing=SharingLevel(hash_set.sharing),
        entry_count=hash_set.entry_count,
        not_for_export=hash_set.not_for_export,
        created_at=hash_set.created_at,
        updated_at=hash_set.updated_at,
    )


def get_by_name(session: Session, caller: Caller, name: str) -> HashSet:
    """A visible hash set by name, the caller's own agency's first; 404 when not visible."""
    rows = session.scalars(
        sharing.visible(select(HashSet), HashSet, caller).where(HashSet.name == name.strip())
    ).all()
    if not rows:
        raise NotFound("hash set")
    own = [s for s in rows if sharing.is_owner(s, caller)]
    if own:
        return own[0]
    if len(rows) > 1:
        raise Invalid("name", "several agencies share a hash set of this name; use its id")
    return rows[0]


def get_visible(session: Session, caller: Caller, set_id: uuid.UUID) -> HashSet:
    return sharing.visible_or_404(
        session, caller, HashSet, set_id, subject_type="hash_set", action=None
    )


def _find(session: Session, caller: Caller, name: str | None, set_id: uuid.UUID | None) -> HashSet:
    if set_id is not None:
        return get_visible(session, caller, set_id)
    if name is None:
        raise Invalid("name", "name the hash set")
    return get_by_name(session, caller, name)


def _owned(
    session: Session, caller: Caller, name: str | None, set_id: uuid.UUID | None = None
) -> HashSet:
    hash_set = _find(session, caller, name, set_id)
    # only the owner changes a set; others see no difference
    sharing.require_owner(hash_set, caller, NotFound("hash set"))
    return hash_set


def import_target(
    session: Session, caller: Caller, *, name: str | None = None, set_id: uuid.UUID | None = None
) -> HashSet:
    """The set the caller may import into: its agency's own, with the role to manage sets.
    Checked by an upload route before a byte of the upload is kept, and again by the import."""
    caller.require(Permission.MANAGE_HASH_SETS)
    return _owned(session, caller, name, set_id)


def import_entries(
    session: Session,
    caller: Caller,
    *,
    name: str | None = None,
    set_id: uuid.UUID | None = None,
    entries: Iterable[formats.Parsed],
    fmt: str,
    after_batch: Callable[[int], None] | None = None,
) -> ImportReport:
    """Add the parsed entries to the caller's hash set `name`; bad lines are reported.

    `after_batch(lines_read)` runs after each batch is written (commit, progress): every
    interface passes one that commits, so no transaction holds SQLite's write lock for more
    than one batch, and an interrupted import keeps what it wrote (re-running adds the rest).
    A file that breaks a budget that stops it (`core.budgets`) keeps what was read before and
    raises `budgets.Exceeded` saying so."""
    hash_set = import_target(session, caller, name=name, set_id=set_id)
    set_id = hash_set.id
    rejected: list[LineError] = []
    rejected_count = 0
    added = read = 0
    batch: list[formats.ParsedEntry] = []
    stopped: budgets.Exceeded | None = None
    try:
        for item in entries:
            read += 1
            if isinstance(item, formats.ParsedEntry) and (bad := _unstorable_field(item)):
                item = formats.BadLine(item.line, bad, UNSTORABLE)
            if isinstance(item, formats.BadLine):
                rejected_count += 1
                if len(rejected) < MAX_REPORTED_ERRORS:
                    rejected.append(
                        LineError(line=item.line, field=item.field, rule=item.rule, value="")
                    )
                continue
            batch.append(item)
            if len(batch) >= BATCH_SIZE:
                added += _write(session, set_id, batch)
                batch = []
                if after_batch:
                    after_batch(read)
    except budgets.Exceeded as exc:
        stopped = exc
    if batch:
        added += _write(session, set_id, batch)
    accepted = read - rejected_count
    detail: dict[str, Any] = {"format": fmt, "read": read, "added": added}
    detail["rejected"] = rejected_count
    if stopped is not None:
        detail["stopped"] = f"{stopped.field}: {stopped.rule} (at {stopped.record:,})"
    audit.record(
        session,
        caller,
        action="hashset.import",
        operation=Operation.COLLECTION,
        subject_type="hash_set",
        subject_id=set_id,
        subject_agency_id=caller.agency_id,
        detail=detail,
    )
    if after_batch:
        after_batch(read)
    if stopped is None and accepted == 0:
        raise Invalid("file", _nothing_read(read, rejected))
    if stopped is not None:
        kept = "kept" if after_batch else "not kept (nothing was committed)"
        raise budgets.Exceeded(
            f"{stopped.rule}: the import stopped at entry {stopped.record:,}; the {read:,} "
            f"entries before it were read ({added:,} added, {accepted - added:,} already "
            f"present, {rejected_count:,} rejected) and are {kept}",
            stopped.record,
        )
    return ImportReport(
        hash_set=hash_set.name,
        format=fmt,
        lines_read=read,
        added=added,
        already_present=accepted - added,
        rejected=rejected,
    )


def _nothing_read(read: int, rejected: Sequence[LineError]) -> str:
    """Why an import that added nothing and could add nothing failed, with its first reasons."""
    if not read:
        return "not a hash list: the file holds no entries"
    reasons = "; ".join(f"line {b.line}: {b.field} {b.rule}" for b in rejected[:3])
    if read == 1:
        return f"not a hash list: its one entry could not be read ({reasons})"
    return f"not a hash list: none of its {read:,} entries could be read ({reasons})"


def check_hash_list(path: Path, fmt: str | None = None) -> str:
    """Refuse a file that is no hash list (empty, a picture or other binary file, a letter)
    with the reason, before a set is created or a line written; the format to read it with.

    Reads the first bytes and at most `SNIFF_ENTRIES` entries: a list whose first entries
    are all bad is refused whole, since an import of it would add nothing."""
    with path.open("rb") as f:
        head = f.read(8192)
    if not head:
        raise Invalid("file", "the file is empty: not a hash list")
    kind = media_type(head)
    if kind is not None:
        raise Invalid("file", f"not a hash list: the file is {kind} content")
    if head.count(b"\x00") * 10 > len(head):  # a stray NUL in a text line is a bad line
        raise Invalid(
            "file", "not a hash list: the file is binary content (a list must be UTF-8 text)"
        )
    fmt = fmt or formats.detect_format(path)
    if fmt not in formats.READERS:
        raise Invalid("format", f"must be one of {', '.join(formats.FORMATS)}")
    read = 0
    rejected: list[LineError] = []
    try:
        for item in formats.read(path, fmt, source=""):
            read += 1
            if isinstance(item, formats.ParsedEntry):
                return fmt
            rejected.append(LineError(line=item.line, field=item.field, rule=item.rule, value=""))
            if read >= SNIFF_ENTRIES:
                break
    except budgets.Exceeded as exc:
        rejected.append(LineError(line=exc.record, field=exc.field, rule=exc.rule, value=""))
        read = max(read, 1)
    raise Invalid("file", _nothing_read(read, rejected))


def rename_hash_set(
    session: Session,
    caller: Caller,
    *,
    name: str | None = None,
    set_id: uuid.UUID | None = None,
    new_name: str,
) -> HashSet:
    """Rename one of the agency's own sets (404 for anyone else's); audited."""
    caller.require(Permission.MANAGE_HASH_SETS)
    hash_set = _owned(session, caller, name, set_id)
    wanted = " ".join(new_name.split())
    if not wanted:
        raise Invalid("name", "must not be empty")
    if len(wanted) > 120:
        raise Invalid("name", "at most 120 characters")
    if unstorable(wanted):
        raise Invalid("name", UNSTORABLE)
    if wanted == hash_set.name:
        return hash_set
    clash = session.scalar(
        select(HashSet.id).where(
            sharing.owned_by(HashSet.owner_agency_id, caller), HashSet.name == wanted
        )
    )
    if clash is not None:
        raise Conflict(f"your agency already has a hash set named {wanted!r}")
    before = hash_set.name
    hash_set.name = wanted
    hash_set.updated_at = utcnow()
    session.flush()
    audit.record(
        session,
        caller,
        action="hashset.rename",
        operation=Operation.ALTERATION,
        subject_type="hash_set",
        subject_id=hash_set.id,
        subject_agency_id=caller.agency_id,
        detail={"from": before, "to": wanted},
    )
    return hash_set


def mark_not_for_export(
    session: Session,
    caller: Caller,
    *,
    name: str | None = None,
    set_id: uuid.UUID | None = None,
    not_for_export: bool,
) -> HashSet:
    """The owner's mark on one of its sets (404 for anyone else's): a GREEN set so marked stays
    usable by every member but never leaves the hub (interop/releasable.py); audited."""
    caller.require(Permission.MANAGE_HASH_SETS)
    hash_set = _owned(session, caller, name, set_id)
    if hash_set.not_for_export == not_for_export:
        return hash_set
    hash_set.not_for_export = not_for_export
    hash_set.updated_at = utcnow()
    session.flush()
    audit.record(
        session,
        caller,
        action="hashset.not_for_export",
        operation=Operation.ALTERATION,
        subject_type="hash_set",
        subject_id=hash_set.id,
        subject_agency_id=caller.agency_id,
        detail={"not_for_export": [not not_for_export, not_for_export]},
    )
    return hash_set


def deletion_target(
    session: Session, caller: Caller, *, name: str | None = None, set_id: uuid.UUID | None = None
) -> tuple[HashSet, list[str]]:
    """One of the agency's own sets (404 for anyone else's) and what depends on it, in words:
    what a confirmation names before the set and its entries go."""
    caller.require(Permission.MANAGE_HASH_SETS)
    hash_set = _owned(session, caller, name, set_id)
    return hash_set, dependents.of(session, "hash_set", hash_set.id)


def delete_hash_set(
    session: Session,
    caller: Caller,
    *,
    name: str | None = None,
    set_id: uuid.UUID | None = None,
    force: bool = False,
) -> int:
    """Delete one of the agency's own sets with its entries; how many entries went.

    Refused (409) while a triage run or a series depends on it, unless `force`: the runs keep
    the set's name on their results, the series keep their copies of its hashes. Audited."""
    hash_set, depending = deletion_target(session, caller, name=name, set_id=set_id)
    if depending and not force:
        raise Conflict(
            f"hash set {hash_set.name!r} is in use: {'; '.join(depending)}. Delete it anyway "
            "with force (the runs and series keep what they hold)"
        )
    entries = select(HashEntry.id).where(HashEntry.hash_set_id == hash_set.id)
    first_entry = session.scalar(select(func.min(HashEntry.id)).where(HashEntry.id.in_(entries)))
    first_frame = session.scalar(
        select(func.min(HashEntryFrame.id)).where(HashEntryFrame.entry_id.in_(entries))
    )
    count = hash_set.entry_count
    session.execute(delete(HashEntryFrame).where(HashEntryFrame.entry_id.in_(entries)))
    session.execute(delete(HashEntry).where(HashEntry.hash_set_id == hash_set.id))
    if first_entry is not None:  # SQLite may number new entries with these
        pdq_index.forget_deleted(session, "hash_entry_pdq", first_entry - 1)
    if first_frame is not None:
        pdq_index.forget_deleted(session, "hash_entry_frame", first_frame - 1)
    sharing.set_partners(session, hash_set, [])
    audit.record(
        session,
        caller,
        action="hashset.delete",
        operation=Operation.ERASURE,
        subject_type="hash_set",
        subject_id=hash_set.id,
        subject_agency_id=caller.agency_id,
        detail={
            "name": hash_set.name,
            "entries": count,
            "forced": bool(depending) and force,
            "dependents": depending,
        },
    )
    session.delete(hash_set)
    session.flush()
    return count


def _unstorable_field(entry: formats.ParsedEntry) -> str | None:
    """A free-text field no database stores (`core.text`): the line is bad, not the import a
    500 on PostgreSQL that loses the good lines with it."""
    return next((f for f in ("series", "source") if unstorable(getattr(entry, f) or "")), None)


def _row(set_id: uuid.UUID, entry: formats.ParsedEntry) -> dict[str, Any]:
    vpdq = formats.vpdq_text(entry.vpdq) if entry.vpdq else None
    return {
        "hash_set_id": set_id,
        "entry_key": entry_key(entry.hashes(), vpdq),
        "vpdq": vpdq,
        "md5": entry.md5,
        "sha1": entry.sha1,
        "sha256": entry.sha256,
        "pdq": entry.pdq,
        "pdq_quality": entry.pdq_quality,
        "category_scheme": entry.category.scheme if entry.category else None,
        "category_code": entry.category.code if entry.category else None,
        "series": entry.series,
        "victim_identified": entry.victim_identified,
        "source": entry.source[:200],
        "added_at": utcnow(),
    }


def _write(session: Session, set_id: uuid.UUID, entries: Sequence[formats.ParsedEntry]) -> int:
    """Insert the entries the set does not hold yet (and new videos' frames); how many."""
    rows = [_row(set_id, e) for e in entries]
    unique = list({r["entry_key"]: r for r in rows}.values())
    dialect_insert = pg_insert if is_postgres(session) else sqlite_insert
    inserted = session.execute(
        dialect_insert(_ENTRIES)
        .on_conflict_do_nothing()
        .returning(_ENTRIES.c.id, _ENTRIES.c.entry_key),
        unique,
    ).all()
    frames = {r["entry_key"]: e.vpdq for r, e in zip(rows, entries, strict=True) if e.vpdq}
    frame_rows = [
        {"entry_id": entry_id, "pdq": frame.pdq}
        for entry_id, key in inserted
        if key in frames
        for frame in videos.usable(frames[key] or [])
    ]
    if frame_rows:
        session.execute(insert(_FRAMES), frame_rows)
    # Counted in the batch's transaction (not recounted at the end: a count of millions of
    # rows would hold SQLite's write lock), so an interrupted import leaves the count right.
    session.execute(
        update(HashSet)
        .where(HashSet.id == set_id)
        .values(entry_count=HashSet.entry_count + len(inserted), updated_at=utcnow())
    )
    return len(inserted)


def import_file(
    session: Session,
    caller: Caller,
    *,
    name: str | None = None,
    set_id: uuid.UUID | None = None,
    path: Path,
    fmt: str | None = None,
    after_batch: Callable[[int], None] | None = None,
) -> ImportReport:
    fmt = check_hash_list(path, fmt)
    return import_entries(
        session,
        caller,
        name=name,
        set_id=set_id,
        entries=formats.read(path, fmt, source=""),
        fmt=fmt,
        after_batch=after_batch,
    )


def export(
    session: Session,
    caller: Caller,
    *,
    name: str | None = None,
    set_id: uuid.UUID | None = None,
    fmt: str,
    out: IO[str],
) -> int:
    """Write a visible hash set in `fmt`; entries streamed in id order. Number written."""
    caller.require(Permission.READ)
    if fmt not in formats.WRITERS:
        raise Invalid("format", f"must be one of {', '.join(formats.EXPORT_FORMATS)}")
    hash_set = _find(session, caller, name, set_id)
    rows = _with_series_status(session, caller, _export_rows(session, hash_set.id))
    count = formats.WRITERS[fmt](out, rows)
    audit.record(
        session,
        caller,
        action="hashset.export",
        operation=Operation.DISCLOSURE,
        subject_type="hash_set",
        subject_id=hash_set.id,
        subject_agency_id=hash_set.owner_agency_id,
        detail={"format": fmt, "entries": count},
    )
    return count


def _export_rows(session: Session, set_id: uuid.UUID) -> Iterator[formats.ExportEntry]:
    stmt = (
        select(
            _ENTRIES.c.md5,
            _ENTRIES.c.sha1,
            _ENTRIES.c.sha256,
            _ENTRIES.c.pdq,
            _ENTRIES.c.pdq_quality,
            _ENTRIES.c.category_scheme,
            _ENTRIES.c.category_code,
            _ENTRIES.c.series,
            _ENTRIES.c.victim_identified,
            _ENTRIES.c.source,
            _ENTRIES.c.vpdq,
        )
        .where(_ENTRIES.c.hash_set_id == set_id)
        .order_by(_ENTRIES.c.id)
        .execution_options(yield_per=5000)
    )
    for row in session.execute(stmt):
        yield formats.ExportEntry(**row._mapping)


def _with_series_status(
    session: Session, caller: Caller, rows: Iterable[formats.ExportEntry]
) -> Iterator[formats.ExportEntry]:
    """Exports carry what the network knows now: an entry whose file belongs to a series with
    an identified victim is exported as identified, with the identifying agencies."""
    batch: list[formats.ExportEntry] = []

    def flush() -> Iterator[formats.ExportEntry]:
        lookups = [travel.Lookup(md5=e.md5, sha1=e.sha1, sha256=e.sha256) for e in batch]
        for entry, statuses in zip(
            batch, travel.status_for_hashes(session, caller, lookups), strict=True
        ):
            identified = [st for st in statuses if st.identified]
            if identified:
                entry.victim_identified = True
                entry.identified_by = " ".join(
                    sorted({code for st in identified for code in st.identified_by})
                )
            if not entry.series:
                entry.series = next((st.series for st in statuses if st.series), None)
            yield entry
        batch.clear()

    for row in rows:
        batch.append(row)
        if len(batch) >= 2000:
            yield from flush()
    yield from flush()
