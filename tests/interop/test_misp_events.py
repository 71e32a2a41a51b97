"""MISP events built from releasable rows: deterministic (same rows, same bytes), tagged
TLP:GREEN and RSIT, kinds MISP has no type for skipped and counted, PDQ written as a commented
`text` attribute that the import reads back as a PDQ."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from pymisp import MISPEvent

from taskforce.interop import misp_events, misp_import

WALLET = "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"
DAY = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Case:
    case_id: uuid.UUID
    reference: str
    created_at: datetime
    offence_types: tuple[str, ...]
    agency_code: str


@dataclass(frozen=True)
class Row:
    kind: str
    value: str
    added_at: datetime


@dataclass(frozen=True)
class Entry:
    entry_id: int
    hash_set_id: uuid.UUID
    hash_set_name: str
    agency_code: str
    md5: str | None
    sha1: str | None
    sha256: str | None
    pdq: str | None
    added_at: datetime


CASE = Case(uuid.UUID(int=7), "GB-NCA-2026-0007", DAY, ("grooming", "live_streaming"), "GB-NCA")
ROWS = [
    Row("url", "https://forum.example.com/board/", DAY),
    Row("email", "night.fox@example.com", DAY),
    Row("ip", "203.0.113.7", DAY),
    Row("crypto_wallet", WALLET, DAY),
    Row("payment_account", "iban:GB82WEST12345698765432", DAY),
    Row("pdq", "f" * 64, DAY),
    Row("username", "night_fox", DAY),
    Row("imei", "490154203237518", DAY),
]


def test_a_case_event_is_deterministic_tagged_and_counts_what_it_skips() -> None:
    first, skipped = misp_events.case_event(CASE, ROWS)
    again, _ = misp_events.case_event(CASE, ROWS)
    assert first.to_json(sort_keys=True) == again.to_json(sort_keys=True)
    assert skipped == {"username": 1, "imei": 1}
    assert {t.name for t in first.tags} == {"tlp:green", 'rsit:abusive-content="violence"'}
    assert first.info.startswith("GB-NCA-2026-0007")
    assert first.info.endswith("(grooming, live streaming)")  # the event's title, in words
    assert first.Orgc.name == "GB-NCA"
    types = {(a.type, a.value) for a in first.attributes}
    assert ("ip-dst", "203.0.113.7") in types
    assert ("iban", "GB82WEST12345698765432") in types
    assert ("btc", WALLET) in types
    [pdq] = [a for a in first.attributes if a.type == "text"]
    assert pdq.comment.startswith("PDQ")
    assert not pdq.to_ids


def test_exported_events_read_back_as_the_same_selectors() -> None:
    event, _ = misp_events.case_event(CASE, ROWS)
    entries = [
        Entry(1, uuid.UUID(int=9), "Set A", "NL-NP", "0" * 32, "1" * 40, "2" * 64, "3" * 64, DAY)
    ]
    hashes = misp_events.hash_set_event(entries)
    files = [misp_events.feed_event(e)[0] for e in (event, hashes)]
    reading = misp_import.read(json.dumps({"response": files}))
    read = {(row["type"], row["value"]) for _, row in reading.lines}
    assert read == {
        ("url", "https://forum.example.com/board/"),
        ("email", "night.fox@example.com"),
        ("ip", "203.0.113.7"),
        ("crypto_wallet", WALLET),
        ("payment_account", "GB82WEST12345698765432"),
        ("pdq", "f" * 64),
        ("md5", "0" * 32),
        ("sha1", "1" * 40),
        ("sha256", "2" * 64),
        ("pdq", "3" * 64),
    }
    parsed = MISPEvent()
    parsed.load(json.dumps(files[1]))
    assert parsed.uuid == misp_events.hash_set_event_uuid(uuid.UUID(int=9))
    [obj] = parsed.objects
    assert obj.name == "file"
