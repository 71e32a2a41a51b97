"""MISP events of what may leave the hub, built with PyMISP: one event per releasable case (its
selectors as attributes) and one per hash set (a `file` object per entry).

Pure: the rows come from `interop.releasable` (any objects with the same fields do). Every
uuid is a UUIDv5 in `NAMESPACE` over what the thing is (the case, the set, the value), and every
timestamp is a row's own, so exporting the same material twice writes the same bytes and a
MISP instance that pulls the feed again updates its events instead of duplicating them.

Events carry `tlp:green` (only GREEN material leaves) and `rsit:abusive-content="violence"`
(RSIT's "(child) sexual exploitation" class), distribution 1 ("this community only": TLP:GREEN
is for the community, not the public); the creator organisation is the owning agency. Case
titles, summaries and selector notes never leave: an event's `info` is the case reference.

MISP has no PDQ type (its `describeTypes` has none, nor any bundled object): a PDQ is written
as a `text` attribute (object relation `text` of the `file` object) whose comment starts with
"PDQ", with `to_ids` off (a perceptual hash is a similarity, not an exact match);
`interop.misp_import` reads it back as a PDQ.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Final, Protocol

from pymisp import MISPEvent, MISPObject, MISPOrganisation

NAMESPACE = uuid.UUID("8f0c3c52-7f0e-5a5e-9d36-2b1f6c0a4e71")
"""The hub's namespace for MISP uuids (events, objects, attributes, organisations)."""

TAGS = ("tlp:green", 'rsit:abusive-content="violence"')
DISTRIBUTION = 1  # this community only
INHERIT = 5  # attributes and objects: the event's distribution
THREAT_LEVEL = 4  # undefined: the tags say what the material is
PDQ_COMMENT = "PDQ perceptual hash (Meta's PDQ, 256 bits as 64 hex digits); MISP has no PDQ type"


class CaseRow(Protocol):
    @property
    def case_id(self) -> uuid.UUID: ...
    @property
    def reference(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def offence_types(self) -> tuple[str, ...]: ...
    @property
    def agency_code(self) -> str: ...


class SelectorRow(Protocol):
    @property
    def kind(self) -> str: ...
    @property
    def value(self) -> str: ...
    @property
    def added_at(self) -> datetime: ...


class HashRow(Protocol):
    @property
    def entry_id(self) -> int: ...
    @property
    def hash_set_id(self) -> uuid.UUID: ...
    @property
    def hash_set_name(self) -> str: ...
    @property
    def agency_code(self) -> str: ...
    @property
    def md5(self) -> str | None: ...
    @property
    def sha1(self) -> str | None: ...
    @property
    def sha256(self) -> str | None: ...
    @property
    def pdq(self) -> str | None: ...
    @property
    def added_at(self) -> datetime: ...


def uuid_of(*parts: object) -> str:
    return str(uuid.uuid5(NAMESPACE, ":".join(str(p) for p in parts)))


def case_event_uuid(case_id: uuid.UUID) -> str:
    return uuid_of("case", case_id)


def hash_set_event_uuid(hash_set_id: uuid.UUID) -> str:
    return uuid_of("hash-set", hash_set_id)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# the selector kinds MISP carries (`attribute_of`), and those it carries only in part
MISP_IN_PART: Final = {  # in the few words of a mark on the exports page
    "payment_account": "cards, IBANs",
    "crypto_wallet": "BTC, XMR",
}
MISP_KINDS: Final = frozenset(
    {"url", "domain", "md5", "sha1", "sha256", "email", "ip", "phone", "pdq", *MISP_IN_PART}
)


def attribute_of(kind: str, value: str) -> tuple[str, str] | None:
    """The MISP attribute type and value of a selector, or None where MISP has no type for it
    (usernames, IMEIs, merchant ids, Ethereum addresses: skipped and counted by kind)."""
    match kind:
        case "url" | "domain" | "md5" | "sha1" | "sha256":
            return kind, value
        case "email":
            return "email", value
        case "ip":
            return "ip-dst", value
        case "phone":
            return "phone-number", value
        case "payment_account":
            sub_kind, _, rest = value.partition(":")
            found = {"card": "cc-number", "iban": "iban"}.get(sub_kind)
            return (found, rest) if found else None
        case "crypto_wallet":
            if value[:1] in ("1", "3") or value.startswith("bc1"):
                return "btc", value
            if value[:1] in ("4", "8") and len(value) == 95:
                return "xmr", value
            return None
        case "pdq":
            return "text", value
    return None


def _event(uuid_: str, info: str, agency_code: str, day: datetime, changed: datetime) -> MISPEvent:
    event = MISPEvent()
    event.uuid = uuid_
    event.info = info
    org = MISPOrganisation()
    org.name = agency_code
    org.uuid = uuid_of("agency", agency_code)
    event.Orgc = org
    event.date = _utc(day).date()
    event.timestamp = _utc(changed)
    event.published = True
    event.publish_timestamp = _utc(changed)
    event.distribution = DISTRIBUTION
    event.threat_level_id = THREAT_LEVEL
    event.analysis = 2
    for tag in TAGS:
        event.add_tag(tag)
    return event


def case_event(case: CaseRow, selectors: Iterable[SelectorRow]) -> tuple[MISPEvent, Counter[str]]:
    """The event of one case (`info`: the reference and offence types) and the selector kinds
    it skipped, counted. An attribute per distinct (type, value)."""
    event_uuid = case_event_uuid(case.case_id)
    offences = ", ".join(o.replace("_", " ") for o in case.offence_types)  # a title, in words
    event = _event(
        event_uuid,
        f"{case.reference}: indicators of a taskforce case"
        + (f" ({offences})" if offences else ""),
        case.agency_code,
        case.created_at,
        case.created_at,
    )
    skipped: Counter[str] = Counter()
    seen: set[tuple[str, str]] = set()
    latest = _utc(case.created_at)
    for row in selectors:
        found = attribute_of(row.kind, row.value)
        if found is None:
            skipped[row.kind] += 1
            continue
        if found in seen:
            continue
        seen.add(found)
        misp_type, value = found
        added = _utc(row.added_at)
        latest = max(latest, added)
        extra: dict[str, Any] = (
            {"comment": PDQ_COMMENT, "to_ids": False} if row.kind == "pdq" else {"to_ids": True}
        )
        event.add_attribute(
            misp_type,
            value,
            uuid=uuid_of(event_uuid, misp_type, value),
            timestamp=added,
            distribution=INHERIT,
            **extra,
        )
    event.timestamp = latest
    event.publish_timestamp = latest
    return event, skipped


def hash_set_event(entries: Sequence[HashRow]) -> MISPEvent:
    """The event of one hash set (all `entries` are of it; at least one): a `file` object per
    entry with its MD5, SHA-1, SHA-256 and PDQ."""
    first = entries[0]
    event_uuid = hash_set_event_uuid(first.hash_set_id)
    changed = max(_utc(e.added_at) for e in entries)
    event = _event(
        event_uuid,
        f"{first.hash_set_name}: known-media hashes (taskforce hash set)",
        first.agency_code,
        min(_utc(e.added_at) for e in entries),
        changed,
    )
    for entry in entries:
        obj = MISPObject("file", standalone=False)
        obj.uuid = uuid_of(event_uuid, "file", entry.entry_id)
        obj.timestamp = _utc(entry.added_at)
        obj.distribution = INHERIT
        for relation in ("md5", "sha1", "sha256"):
            value = getattr(entry, relation)
            if value:
                obj.add_attribute(
                    relation,
                    value,
                    uuid=uuid_of(obj.uuid, relation),
                    timestamp=_utc(entry.added_at),
                    to_ids=True,
                )
        if entry.pdq:
            obj.add_attribute(
                "text",
                entry.pdq,
                type="text",
                uuid=uuid_of(obj.uuid, "pdq"),
                timestamp=_utc(entry.added_at),
                comment=PDQ_COMMENT,
                to_ids=False,
            )
        event.add_object(obj)
    return event


def feed_event(event: MISPEvent) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """What a MISP feed holds of an event, as PyMISP writes it (`MISPEvent.to_feed`): the
    event file's content, its manifest entry, and the MD5s of its values (`hashes.csv`)."""
    document = event.to_feed(with_meta=True)
    body = document["Event"]
    manifest: dict[str, Any] = body.pop("_manifest")
    hashes: list[str] = body.pop("_hashes")
    return document, manifest, hashes
