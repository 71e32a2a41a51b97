"""The URL block list: analysts add and remove entries, providers download it signed.

Every change is one version: adding or removing an entry takes the next number and records it
in `blocklist_version`, so "changes since N" is the entries whose last change is after N.

An entry is kept by the agency that listed it (`agency_id`; none: the network's). Its people
and the network's stewards (network admins with the permission, the network coordinator; see
`core.proposals`) take it off the list; any other agency's removal is PROPOSED
(`blocklist.remove`) for the keeper or a steward to approve or reject.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from datetime import UTC
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from taskforce.agencies.models import Agency
from taskforce.blocklist import normalise
from taskforce.blocklist.checker import FORMAT, PREFIX
from taskforce.blocklist.models import BlocklistEntry, BlocklistVersion
from taskforce.blocklist.schemas import EntryCreate, EntryPage, EntrySummary, ListSummary
from taskforce.core import signing
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.caller import Caller, Permission
from taskforce.core.db import utcnow
from taskforce.core.errors import Conflict, Invalid, NotFound
from taskforce.core.proposals import service as proposals
from taskforce.core.proposals.models import ChangeProposal
from taskforce.core.settings import Settings

KEY_FILE = "blocklist-signing.key"  # in the data folder unless `blocklist_signing_key` is set


def signing_key(settings: Settings) -> Ed25519PrivateKey:
    return signing.load_private(
        settings.blocklist_signing_key,
        settings.data_dir / KEY_FILE,
        setting="blocklist_signing_key",
    )


def current_version(session: Session) -> int:
    return int(session.scalar(select(func.max(BlocklistVersion.number))) or 0)


def _bump(session: Session, caller: Caller, entry: BlocklistEntry, action: str) -> int:
    number = current_version(session) + 1
    session.add(
        BlocklistVersion(number=number, entry_id=entry.id, action=action, by_id=caller.user_id)
    )
    return number


MAX_KEY = 2048  # fits PostgreSQL's unique index on (key, match)


def entry_key(url: str, match: str) -> str:
    key = normalise.prefix_key(url) if match == PREFIX else normalise.block_key(url)
    if len(key) > MAX_KEY:
        raise Invalid("url", f"at most {MAX_KEY:,} characters once normalised")
    return key


def add_entry(session: Session, caller: Caller, data: EntryCreate) -> BlocklistEntry:
    """List a URL or path prefix; adding a removed entry again re-activates it."""
    caller.require(Permission.MANAGE_BLOCKLIST)
    key = entry_key(data.url, data.match)
    entry = session.scalar(
        select(BlocklistEntry).where(BlocklistEntry.key == key, BlocklistEntry.match == data.match)
    )
    if entry is not None and entry.removed_version is None:
        raise Conflict(f"{key} is already listed ({data.match})")
    if entry is None:
        entry = BlocklistEntry(id=uuid.uuid4(), key=key, match=data.match, added_version=0)
        session.add(entry)
        session.flush()
    entry.category = data.category.strip()
    entry.reason = data.reason.strip()
    entry.source = data.source.strip()
    entry.agency_id = caller.agency_id
    entry.added_by_id = caller.user_id
    entry.added_at = utcnow()
    entry.removed_version = entry.removed_at = None
    entry.removed_reason = ""
    entry.added_version = _bump(session, caller, entry, "add")
    session.flush()
    audit.record(
        session,
        caller,
        action="blocklist.add",
        operation=Operation.COLLECTION,
        subject_type="blocklist_entry",
        subject_id=entry.id,
        detail={"key": key, "match": data.match, "version": entry.added_version},
    )
    return entry


def remove_entry(
    session: Session, caller: Caller, entry_id: uuid.UUID, *, reason: str
) -> BlocklistEntry | ChangeProposal:
    """Take an entry off the list (the content is gone); the row stays for the record. From
    an agency that does not keep the entry, the removal is proposed instead (and returned)."""
    caller.require(Permission.MANAGE_BLOCKLIST)
    entry = session.get(BlocklistEntry, entry_id)
    if entry is None:
        raise NotFound("block list entry")
    if entry.removed_version is not None:
        raise Conflict("the entry was already removed")
    keeper = entry.agency_id
    if not proposals.may_change(
        session, caller, owner_agency_id=keeper, permission=Permission.MANAGE_BLOCKLIST
    ):
        return proposals.propose(
            session,
            caller,
            REMOVE,
            target_type="blocklist_entry",
            target_id=entry.id,
            target_label=f"{entry.key} ({entry.match})",
            owner_agency_id=keeper,
            payload={"reason": reason.strip()[:1000]},
            summary=f"take {entry.key} ({entry.match}) off the block list",
            reason=reason,
        )
    entry.removed_version = _bump(session, caller, entry, "remove")
    entry.removed_at = utcnow()
    entry.removed_reason = reason.strip()
    session.flush()
    audit.record(
        session,
        caller,
        action="blocklist.remove",
        operation=Operation.ALTERATION,
        subject_type="blocklist_entry",
        subject_id=entry.id,
        detail={"key": entry.key, "version": entry.removed_version},
    )
    return entry


def _apply_remove(session: Session, caller: Caller, proposal: ChangeProposal) -> str:
    entry = session.get(BlocklistEntry, proposal.target_id)
    if entry is None:
        raise Conflict("the entry no longer exists")
    done = remove_entry(session, caller, entry.id, reason=proposal.payload.get("reason", ""))
    if isinstance(done, ChangeProposal):  # the decider keeps it or is a steward: never happens
        raise Conflict("the removal could not be applied by this decider")
    return f"{done.key} taken off the list at version {done.removed_version}"


def _now(session: Session, proposal: ChangeProposal) -> str | None:
    entry = session.get(BlocklistEntry, proposal.target_id)
    if entry is None:
        return None
    if entry.removed_version is not None:
        return f"removed at version {entry.removed_version} ({entry.removed_reason})"
    return f"listed since version {entry.added_version}"


REMOVE = proposals.register(
    proposals.Kind(
        name="blocklist.remove",
        title="Take a URL off the block list",
        permission=Permission.MANAGE_BLOCKLIST,
        apply=_apply_remove,
        now=_now,
    )
)


def list_entries(
    session: Session, caller: Caller, *, include_removed: bool = False
) -> list[BlocklistEntry]:
    caller.require(Permission.MANAGE_BLOCKLIST)
    query = select(BlocklistEntry).order_by(BlocklistEntry.added_version)
    if not include_removed:
        query = query.where(BlocklistEntry.removed_version.is_(None))
    entries = list(session.scalars(query))
    audit.record(
        session,
        caller,
        action="blocklist.list",
        operation=Operation.CONSULTATION,
        detail={"state": "all" if include_removed else "active", "shown": len(entries)},
    )
    return entries


# --- the analysts' table ---------------------------------------------------------------------

STATES = ("active", "removed", "all")
_SCHEME = re.compile(r"^\s*https?://", re.IGNORECASE)


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _key_matches(query: str) -> ColumnElement[bool]:
    """Keys containing the text (case-insensitive, without any http(s):// typed before it) or
    the text's normalised key when it reads as a URL: a pasted `https://Example.com/a/` finds
    `example.com/a`, and `münchen.example/x` finds `xn--mnchen-3ya.example/x`."""
    texts = {_SCHEME.sub("", query)}
    for key_of in (normalise.block_key, normalise.prefix_key):
        with contextlib.suppress(Invalid):  # not a URL: the text alone
            texts.add(key_of(query))
    return or_(*(BlocklistEntry.key.ilike(_like(t), escape="\\") for t in sorted(texts)))


def _summary(entry: BlocklistEntry, agency_code: str | None) -> EntrySummary:
    return EntrySummary(
        id=entry.id,
        key=entry.key,
        match=entry.match,
        category=entry.category,
        reason=entry.reason,
        source=entry.source,
        agency_code=agency_code,
        added_version=entry.added_version,
        added_at=entry.added_at,
        removed_version=entry.removed_version,
        removed_at=entry.removed_at,
        removed_reason=entry.removed_reason,
    )


def search_entries(
    session: Session,
    caller: Caller,
    *,
    query: str = "",
    state: str = "active",
    limit: int = 50,
    offset: int = 0,
) -> EntryPage:
    """One page of entries, the latest change first; `state` is active, removed or all.
    The read is audited, with the search text."""
    caller.require(Permission.MANAGE_BLOCKLIST)
    if state not in STATES:
        raise Invalid("state", f"one of: {', '.join(STATES)}")
    limit = max(1, min(limit, 500))
    offset = max(0, offset)
    text = query.strip()[:200]
    conditions: list[ColumnElement[bool]] = []
    if state == "active":
        conditions.append(BlocklistEntry.removed_version.is_(None))
    elif state == "removed":
        conditions.append(BlocklistEntry.removed_version.is_not(None))
    if text:
        conditions.append(_key_matches(text))
    total = int(
        session.scalar(select(func.count()).select_from(BlocklistEntry).where(*conditions)) or 0
    )
    last_change = func.coalesce(BlocklistEntry.removed_version, BlocklistEntry.added_version)
    rows = session.execute(
        select(BlocklistEntry, Agency.code)
        .outerjoin(Agency, Agency.id == BlocklistEntry.agency_id)
        .where(*conditions)
        .order_by(last_change.desc(), BlocklistEntry.id)
        .limit(limit)
        .offset(offset)
    ).all()
    items = [_summary(entry, code) for entry, code in rows]
    audit.record(
        session,
        caller,
        action="blocklist.list",
        operation=Operation.CONSULTATION,
        detail={"state": state, "query": text, "shown": len(items), "total": total},
    )
    return EntryPage(items=items, total=total, limit=limit, offset=offset)


def list_summary(session: Session, caller: Caller) -> ListSummary:
    """The current version, when it was taken, and how many entries are active and removed."""
    caller.require(Permission.MANAGE_BLOCKLIST)
    last = session.execute(
        select(BlocklistVersion.number, BlocklistVersion.at)
        .order_by(BlocklistVersion.number.desc())
        .limit(1)
    ).one_or_none()
    active, removed = session.execute(
        select(
            func.count(BlocklistEntry.id).filter(BlocklistEntry.removed_version.is_(None)),
            func.count(BlocklistEntry.id).filter(BlocklistEntry.removed_version.is_not(None)),
        )
    ).one()
    return ListSummary(
        version=last.number if last else 0,
        changed_at=last.at if last else None,
        active=int(active),
        removed=int(removed),
    )


def get_entry(session: Session, caller: Caller, entry_id: uuid.UUID) -> BlocklistEntry:
    """One entry, active or removed (the page names it after a change)."""
    caller.require(Permission.MANAGE_BLOCKLIST)
    entry = session.get(BlocklistEntry, entry_id)
    if entry is None:
        raise NotFound("block list entry")
    return entry


def entries_from(session: Session, source: str) -> list[BlocklistEntry]:
    """Entries (active or removed) that one source put on the list, e.g. "report:<id>"."""
    return list(
        session.scalars(
            select(BlocklistEntry)
            .where(BlocklistEntry.source == source)
            .order_by(BlocklistEntry.added_version)
        )
    )


def entry_blocking(session: Session, url: str) -> BlocklistEntry | None:
    """The active entry that blocks `url` (its exact entry, else the deepest prefix covering
    it), or None. For routing a "blocked by mistake" report to the entry's keeper: the answer
    never goes back to the visitor, so the list cannot be probed through the form."""
    try:
        key = normalise.block_key(url if "://" in url else f"http://{url}")
    except Invalid:
        return None
    host_end = key.find("/")
    path = key[host_end:].split("?", 1)[0]
    prefixes = [key[:host_end] + "/"]
    segments = [s for s in path.split("/") if s]
    for depth in range(1, len(segments) + 1):
        prefixes.append(key[:host_end] + "/" + "/".join(segments[:depth]))
    found = session.scalars(
        select(BlocklistEntry).where(
            BlocklistEntry.removed_version.is_(None),
            or_(
                (BlocklistEntry.match != PREFIX) & (BlocklistEntry.key == key),
                (BlocklistEntry.match == PREFIX) & BlocklistEntry.key.in_(prefixes),
            ),
        )
    ).all()
    if not found:
        return None
    exact = [entry for entry in found if entry.match != PREFIX]
    return exact[0] if exact else max(found, key=lambda entry: len(entry.key))


def _item(entry: BlocklistEntry) -> dict[str, Any]:
    return {"key": entry.key, "match": entry.match, "category": entry.category}


def document(
    session: Session, caller: Caller, settings: Settings, *, since: int | None = None
) -> dict[str, Any]:
    """The signed list: every active entry, or (with `since`) what changed after version N."""
    caller.require(Permission.DOWNLOAD_BLOCKLIST)
    version = current_version(session)
    body: dict[str, Any] = {
        "format": FORMAT,
        "version": version,
        "generated_at": utcnow().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if since is None:
        active = session.scalars(
            select(BlocklistEntry)
            .where(BlocklistEntry.removed_version.is_(None))
            .order_by(BlocklistEntry.key, BlocklistEntry.match)
        )
        body |= {"kind": "full", "entries": [_item(e) for e in active]}
    else:
        if since < 0 or since > version:
            raise Invalid("since", f"must be a version from 0 to {version}")
        changed = select(BlocklistVersion.entry_id).where(BlocklistVersion.number > since)
        rows = list(
            session.scalars(
                select(BlocklistEntry)
                .where(BlocklistEntry.id.in_(changed))
                .order_by(BlocklistEntry.key, BlocklistEntry.match)
            )
        )
        # an entry's state now says what its last change was: added, or removed
        body |= {
            "kind": "delta",
            "since": since,
            "added": [_item(e) for e in rows if e.removed_version is None],
            "removed": [
                {"key": e.key, "match": e.match} for e in rows if e.removed_version is not None
            ],
        }
    audit.record(
        session,
        caller,
        action="blocklist.download",
        operation=Operation.DISCLOSURE,
        detail={"version": version, "since": since},
    )
    return signing.sign(body, signing_key(settings))
