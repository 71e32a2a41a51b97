"""Writing what may leave the hub as MISP: the events of `releasable` material
(`misp_events`), as one MISP JSON file or as a MISP feed folder a MISP instance subscribes to.

A feed is what MISP's feed generator writes (PyMISP's `tools.feed`, `MISPEvent.to_feed`):
`<uuid>.json` per event, `manifest.json` (each event's uuid -> its Orgc, tags, info, date,
analysis, threat level and timestamp: MISP pulls an event again when its timestamp moves) and
`hashes.csv` (the MD5 of each attribute value, then the event uuid: MISP's cache of the feed's
values). taskforce adds `SHA256SUMS` (each file's SHA-256, as `sha256sum` writes it): the feed's
signature covers that listing, so one signature vouches for every file.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import IO, Any

from pymisp import MISPEvent
from sqlalchemy.orm import Session

from taskforce.core.caller import Caller
from taskforce.core.errors import Invalid
from taskforce.interop import misp_events, releasable

PAGE = 5_000
MANIFEST = "manifest.json"
HASHES = "hashes.csv"
SUMS = "SHA256SUMS"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass
class Written:
    """What an export wrote: the SHA-256 and size of what is signed, and the counts."""

    sha256: str = ""
    bytes: int = 0  # everything written (a feed: all its files)
    signed_bytes: int = 0  # what the SHA-256 covers (a feed: its SHA256SUMS listing)
    events: int = 0
    attributes: int = 0
    selectors: int = 0
    hash_entries: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    files: list[str] = field(default_factory=list)

    def detail(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "attributes": self.attributes,
            "selectors": self.selectors,
            "hash_entries": self.hash_entries,
            "skipped": dict(sorted(self.skipped.items())),
        }


def events(
    session: Session,
    caller: Caller,
    written: Written,
    *,
    agency_code: str | None = None,
    wanted: str | None = None,
) -> Iterator[MISPEvent]:
    """One event per releasable case that has releasable selectors, then one per releasable
    hash set with entries; counted into `written` as they go. `wanted`: only the event of
    that uuid (a feed's `<uuid>.json`)."""
    for case in releasable.cases(session, caller, agency_code=agency_code):
        if wanted is not None and misp_events.case_event_uuid(case.case_id) != wanted:
            continue
        fetch = partial(releasable.selectors, session, caller, case_ids=[case.case_id], limit=PAGE)
        rows = [row for page in releasable.pages(fetch, PAGE) for row in page]
        if not rows:
            continue
        event, skipped = misp_events.case_event(case, rows)
        written.selectors += len(rows)
        written.skipped.update(skipped)
        yield event
    # Entries come by id across sets (the primary key's order, no sort); grouped by set here,
    # in memory: one event per set.
    sets: dict[Any, list[releasable.ReleasableHash]] = defaultdict(list)
    after_id = None
    while True:
        entries = releasable.hash_entries_by_id(
            session, caller, agency_code=agency_code, after_id=after_id, limit=PAGE
        )
        for entry in entries:
            if wanted is None or misp_events.hash_set_event_uuid(entry.hash_set_id) == wanted:
                sets[entry.hash_set_id].append(entry)
        if len(entries) < PAGE:
            break
        after_id = entries[-1].entry_id
    for group in sorted(sets.values(), key=lambda g: (g[0].hash_set_name, str(g[0].hash_set_id))):
        written.hash_entries += len(group)
        yield misp_events.hash_set_event(group)


def feed_part(source: Iterator[MISPEvent], part: str, written: Written) -> bytes | None:
    """One file of the feed, made on request (the API serves the feed live): `manifest.json`,
    `hashes.csv`, or `<uuid>.json` (None when no releasable event has that uuid)."""
    manifest: dict[str, Any] = {}
    lines: list[str] = []
    for event in source:
        document, entry, hashes = misp_events.feed_event(event)
        written.events += 1
        written.attributes += _attributes(document)
        if part == f"{event.uuid}.json":
            data = _dump(document)
            break
        manifest.update(entry)
        lines.extend(f"{h},{event.uuid}\n" for h in hashes)
    else:
        if part == MANIFEST:
            data = _dump(manifest)
        elif part == HASHES:
            data = "".join(lines).encode()
        else:
            return None
    written.bytes = written.signed_bytes = len(data)
    written.sha256 = hashlib.sha256(data).hexdigest()
    return data


def _attributes(document: dict[str, Any]) -> int:
    body = document["Event"]
    return len(body.get("Attribute", [])) + sum(
        len(o.get("Attribute", [])) for o in body.get("Object", [])
    )


def _dump(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def write_events(source: Iterator[MISPEvent], out: IO[bytes], written: Written) -> Written:
    """One MISP JSON file, `{"response": [{"Event": ...}, ...]}` as MISP's restSearch answers
    (MISP's "Import from... MISP JSON" and `taskforce import misp` read it), streamed."""
    digest = hashlib.sha256()

    def put(chunk: bytes) -> None:
        out.write(chunk)
        digest.update(chunk)
        written.bytes += len(chunk)

    put(b'{"response":[')
    for event in source:
        document, _, _ = misp_events.feed_event(event)
        document["Event"]["distribution"] = str(misp_events.DISTRIBUTION)
        put((b"," if written.events else b"") + _dump(document))
        written.events += 1
        written.attributes += _attributes(document)
    put(b"]}\n")
    written.sha256 = digest.hexdigest()
    written.signed_bytes = written.bytes
    return written


def _previous_events(folder: Path) -> set[str]:
    """The event files a previous feed in `folder` listed (to remove those gone since)."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text("utf-8"))
    except (OSError, ValueError):
        return set()
    if not isinstance(manifest, dict):
        return set()
    return {f"{u}.json" for u in manifest if isinstance(u, str) and _UUID.fullmatch(u)}


def prepare(folder: Path) -> set[str]:
    """The feed folder: made if missing; an existing one must be empty or hold a previous feed
    (never another folder's files). Returns the previous feed's event files."""
    if folder.exists() and not folder.is_dir():
        raise Invalid("out", "must be a folder (the feed's), not a file")
    folder.mkdir(parents=True, exist_ok=True)
    previous = _previous_events(folder)
    if not previous and any(folder.iterdir()):
        raise Invalid("out", "must be a new or empty folder, or one holding a previous MISP feed")
    return previous


def write_feed(source: Iterator[MISPEvent], folder: Path, written: Written) -> Written:
    """A MISP feed in `folder` (see the module's docstring). Event files of a previous feed that
    are no longer listed are removed; nothing else in the folder is touched."""
    previous = prepare(folder)
    manifest: dict[str, Any] = {}
    sums: dict[str, str] = {}
    with (folder / HASHES).open("wb") as hashes_file:
        hashes_digest = hashlib.sha256()
        for event in source:
            document, entry, hashes = misp_events.feed_event(event)
            name = f"{event.uuid}.json"
            data = _dump(document)
            (folder / name).write_bytes(data)
            sums[name] = hashlib.sha256(data).hexdigest()
            manifest.update(entry)
            lines = "".join(f"{h},{event.uuid}\n" for h in hashes).encode()
            hashes_file.write(lines)
            hashes_digest.update(lines)
            written.events += 1
            written.attributes += _attributes(document)
            written.bytes += len(data) + len(lines)
    sums[HASHES] = hashes_digest.hexdigest()
    manifest_data = _dump(manifest)
    (folder / MANIFEST).write_bytes(manifest_data)
    sums[MANIFEST] = hashlib.sha256(manifest_data).hexdigest()
    written.bytes += len(manifest_data)
    for stale in previous - sums.keys():
        (folder / stale).unlink(missing_ok=True)
    listing = "".join(f"{sums[name]}  {name}\n" for name in sorted(sums)).encode()
    (folder / SUMS).write_bytes(listing)
    written.sha256 = hashlib.sha256(listing).hexdigest()
    written.signed_bytes = len(listing)
    written.files = sorted(sums)
    return written
