"""Write a STIX 2.1 bundle of what the caller may pass on to a binary file handle, streamed.

Memory stays bounded whatever the export's size: rows are read in keyset pages and each page is
encoded and written before the next is read. What is kept across pages is small: the ids already
written (16 bytes each, so an indicator shared by two cases is written once) and, for the case
being written, its objects' ids (its grouping's `object_refs`).

Order: the five TLP 2.0 marking definitions, the hub's identity and one per agency with
material in the bundle, then case by case (oldest first) its indicators (with a `file` object
and a relationship for hash selectors) and its grouping, then the known files of GREEN hash
sets (a `file` with its hashes and `x_pdq`, an indicator matching any of its hashes, and the
relationship between them), then the wallets on the GREEN watch list (an indicator each: the
same id as the wallet held as a selector, so a wallet in a case and on the list is written
once). Selector kinds without a STIX form are counted as skipped.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any

from sqlalchemy.orm import Session

from taskforce.core.caller import Caller
from taskforce.interop import markings, releasable, stix

BATCH = 5000
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
HASH_KINDS = {"md5": "MD5", "sha1": "SHA-1", "sha256": "SHA-256"}


@dataclass
class Counts:
    """What a bundle holds: objects by STIX type, rows read, kinds skipped (no STIX form)."""

    objects: Counter[str] = field(default_factory=Counter)
    selectors: int = 0
    hash_entries: int = 0
    cases: int = 0
    wallets: int = 0  # on the watch list
    skipped: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.objects.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "objects": dict(sorted(self.objects.items())),
            "total": self.total,
            "selectors": self.selectors,
            "hash_entries": self.hash_entries,
            "cases": self.cases,
            "wallets": self.wallets,
            "skipped": dict(sorted(self.skipped.items())),
        }


@dataclass(frozen=True)
class Written:
    bundle_id: str
    sha256: str
    bytes: int
    counts: Counts


class _Sink:
    """Encodes objects into the handle, hashing and counting the bytes, never writing an id
    twice."""

    def __init__(self, out: IO[bytes], counts: Counts) -> None:
        self.out = out
        self.digest = hashlib.sha256()
        self.size = 0
        self.first = True
        self.seen: set[bytes] = set()
        self.counts = counts
        self.pending: list[str] = []

    def raw(self, text: str) -> None:
        data = text.encode()
        self.out.write(data)
        self.digest.update(data)
        self.size += len(data)

    def add(self, obj: dict[str, Any]) -> bool:
        """Queue an object unless its id was written already; True if queued."""
        return self.add_text(obj["type"], obj["id"], None, obj)

    def add_text(
        self, kind: str, object_id: str, text: str | None, obj: dict[str, Any] | None = None
    ) -> bool:
        """Queue an object given as its JSON text (or as a dict, encoded only if new)."""
        key = bytes.fromhex(object_id[-36:].replace("-", ""))
        if key in self.seen:
            return False
        self.seen.add(key)
        self.pending.append(text if text is not None else _encode(obj))
        self.counts.objects[kind] += 1
        return True

    def flush(self) -> None:
        if not self.pending:
            return
        text = ",".join(self.pending)
        self.raw(text if self.first else "," + text)
        self.first = False
        self.pending.clear()


def bundle_id(*, agency_code: str | None, since: datetime | None, now: datetime) -> str:
    """A bundle's id names one export (who, which filter, when): bundles are not versioned."""
    key = f"{agency_code}|{since.isoformat() if since else ''}|{now.isoformat()}"
    return f"bundle--{uuid.uuid5(stix.HUB_NAMESPACE, 'bundle:' + key)}"


def agency_identity(agency: releasable.ReleasableAgency) -> dict[str, Any]:
    """The STIX identity of an agency whose material leaves (in a bundle or a TAXII page)."""
    return stix.agency_identity(
        code=agency.code, name=agency.name, country=agency.country, created=agency.created_at
    )


def selector_objects(row: releasable.ReleasableSelector, creator: str) -> list[dict[str, Any]]:
    """A selector's objects: its indicator, and for a hash its `file` and their relationship
    (the TAXII collections build theirs with this too)."""
    return _objects_of(row.kind, row.value, row.platform, row.added_at, creator)


def _objects_of(
    kind: str, value: str, platform: str | None, added_at: datetime, creator: str
) -> list[dict[str, Any]]:
    made = [
        stix.indicator(
            kind=kind, value=value, platform=platform, created=added_at, created_by=creator
        )
    ]
    if kind in HASH_KINDS:
        sco = stix.file_object(hashes={HASH_KINDS[kind]: value})
        made.append(sco)
        made.append(
            stix.relationship(
                source=made[0]["id"],
                kind="related-to",
                target=sco["id"],
                created=added_at,
                created_by=creator,
            )
        )
    return made


def hash_objects(row: releasable.ReleasableHash, creator: str) -> list[dict[str, Any]]:
    """A known file's objects: its `file`, an indicator matching any of its hashes and their
    relationship; a PDQ alone: its indicator (the TAXII collections build theirs with this)."""
    hashes = stix.file_hashes(md5=row.md5, sha1=row.sha1, sha256=row.sha256)
    if not hashes:  # a PDQ only: no `file` object can be made of it, its indicator can
        if not row.pdq:
            return []
        return [
            stix.indicator(
                kind="pdq", value=row.pdq, platform=None, created=row.added_at, created_by=creator
            )
        ]
    sco = stix.file_object(hashes=hashes, pdq=row.pdq)
    # named by its strongest hash, as an analyst looks it up ("known file: SHA-256 2ef7…"),
    # not by the file object's id
    strongest = next(name for name in ("SHA-256", "SHA-1", "MD5") if name in hashes)
    found = stix.indicator(
        kind="known file",
        value=f"{strongest} {hashes[strongest]}",
        platform=None,
        created=row.added_at,
        created_by=creator,
        stix_pattern=stix.file_pattern(hashes),
        object_id=stix.hub_id("indicator", sco["id"]),
        description="A known file of a GREEN hash set of a member agency",
    )
    link = stix.relationship(
        source=found["id"],
        kind="related-to",
        target=sco["id"],
        created=row.added_at,
        created_by=creator,
    )
    return [sco, found, link]


def watched_wallet(row: releasable.ReleasableWallet) -> dict[str, Any]:
    """A wallet on the watch list: its indicator (the id of the wallet as a selector), said to
    be on the list; the reason it was listed stays in the hub."""
    return stix.indicator(
        kind="crypto_wallet",
        value=row.address,
        platform=None,
        created=row.listed_at,
        created_by=stix.agency_identity_id(row.agency_code),
        description=f"A {row.chain.upper()} wallet on the GREEN wallet watch list of a member "
        "agency",
    )


def write_bundle(
    session: Session,
    caller: Caller,
    out: IO[bytes],
    *,
    now: datetime,
    agency_code: str | None = None,
    since: datetime | None = None,
    batch: int = BATCH,
    progress: Callable[[Counts], None] | None = None,
) -> Written:
    """Stream the bundle into `out`; the SHA-256 and size are of exactly the bytes written."""
    releasable.require_exporter(caller)
    counts = Counts()
    sink = _Sink(out, counts)
    the_id = bundle_id(agency_code=agency_code, since=since, now=now)
    sink.raw('{"type":"bundle","id":"' + the_id + '","objects":[')
    for definition in markings.definitions():
        sink.add(definition)
    sink.add(stix.hub_identity())
    for agency in releasable.agencies(session, caller, agency_code=agency_code, wallets=True):
        sink.add(agency_identity(agency))
    sink.flush()

    for case in releasable.cases(session, caller, agency_code=agency_code):
        creator = stix.agency_identity_id(case.agency_code)
        refs: list[str] = []
        after = None
        while page := releasable.case_selector_rows(
            session, caller, case_id=case.case_id, since=since, after=after, limit=batch
        ):
            for _, kind, value, platform, added_at in page:
                if kind not in stix.EXPORTED_KINDS:
                    counts.skipped[kind] += 1
                    continue
                if kind in HASH_KINDS:
                    for obj in _objects_of(kind, value, platform, added_at, creator):
                        refs.append(obj["id"])
                        sink.add(obj)
                    continue
                object_id, text = stix.indicator_text(
                    kind=kind, value=value, platform=platform, created=added_at, created_by=creator
                )
                refs.append(object_id)
                sink.add_text("indicator", object_id, text)
            counts.selectors += len(page)
            after = (page[-1][4], page[-1][0])
            sink.flush()
            if progress:
                progress(counts)
        if refs:
            counts.cases += 1
            sink.add(
                stix.grouping(
                    key=f"case:{case.case_id}",
                    name=case.reference,
                    created=case.created_at,
                    created_by=creator,
                    object_refs=list(dict.fromkeys(refs)),
                    labels=case.offence_types,
                )
            )
            sink.flush()

    after_id: int | None = None
    while page_h := releasable.hash_entries_by_id(
        session, caller, agency_code=agency_code, since=since, after_id=after_id, limit=batch
    ):
        for entry in page_h:
            made = hash_objects(entry, stix.agency_identity_id(entry.agency_code))
            if not made:
                counts.skipped["empty hash entry"] += 1
            for obj in made:
                sink.add(obj)
        counts.hash_entries += len(page_h)
        after_id = page_h[-1].entry_id
        sink.flush()
        if progress:
            progress(counts)

    after_wallet: tuple[datetime, uuid.UUID] | None = None
    while page_w := releasable.watched_wallets(
        session, caller, agency_code=agency_code, since=since, after=after_wallet, limit=batch
    ):
        for wallet in page_w:
            sink.add(watched_wallet(wallet))
        counts.wallets += len(page_w)
        after_wallet = page_w[-1].key
        sink.flush()
        if progress:
            progress(counts)

    sink.raw("]}")
    return Written(the_id, sink.digest.hexdigest(), sink.size, counts)
