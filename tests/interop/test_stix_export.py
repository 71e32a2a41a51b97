"""A whole STIX export: the bundle valid for OASIS's validator and parsed by stix2, nothing
withheld in it, kinds without a STIX form counted, signed (detached), recorded and audited;
a re-export of unchanged data carries the same ids."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import stix2
from builders import Network
from releasable_builders import GREEN_VALUES, build
from sqlalchemy import select
from sqlalchemy.orm import Session
from stix2validator import ValidationOptions, validate_string

from taskforce.core.audit.models import AuditEntry
from taskforce.core.settings import Settings
from taskforce.core.signing import BadSignature
from taskforce.interop import markings, service, signatures, stix
from taskforce.interop.models import InteropExport

NOW = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)


def _export(session: Session, settings: Settings, network: Network, **kw: Any) -> tuple[bytes, Any]:
    out = io.BytesIO()
    result = service.export_stix(session, network.us.caller, settings, out, now=NOW, **kw)
    return out.getvalue(), result


def test_the_bundle_validates_and_holds_only_what_may_leave(
    session: Session, settings: Settings, network: Network
) -> None:
    world = build(session, settings, network)
    data, result = _export(session, settings, network)
    report = validate_string(data.decode(), ValidationOptions(version="2.1"))
    assert report.is_valid, [str(e) for r in report.object_results for e in r.errors]
    parsed = stix2.parse(data.decode(), allow_custom=True)
    objects: list[dict[str, Any]] = json.loads(data)["objects"]
    assert [o["id"] for o in objects[:5]] == [d["id"] for d in markings.definitions()]
    text = data.decode()
    for withheld in world.withheld:
        assert json.dumps(withheld)[1:-1] not in text, withheld
    patterns = " ".join(o.get("pattern", "") for o in objects)
    for value in GREEN_VALUES[:-1]:  # all but the phone number
        assert stix.quote(value)[1:-1] in patterns, value
    assert "+442079460958" not in text
    assert result.counts["skipped"] == {"phone": 1}
    assert len(parsed.objects) == len(objects) == result.objects
    ids = [o["id"] for o in objects]
    assert len(ids) == len(set(ids))  # example.org, in GB's case and NL's: written once
    groupings = {o["name"]: o for o in objects if o["type"] == "grouping"}
    assert set(groupings) == {world.green.reference, world.nl_green.reference}
    shared = stix.indicator_id("domain", "example.org")
    assert all(shared in g["object_refs"] for g in groupings.values())
    assert groupings[world.green.reference]["labels"] == ["csam-distribution"]
    files = [o for o in objects if o["type"] == "file"]
    assert any(f.get("x_pdq") == "f0" * 32 for f in files)
    known = [o["name"] for o in objects if o.get("name", "").startswith("known file: ")]
    assert known  # a hash set's files, each named by its strongest hash, not a file id
    assert all(n.split()[2] in ("SHA-256", "SHA-1", "MD5") for n in known)
    assert not [o for o in objects if "file--" in o.get("name", "")]
    assert all(o["object_marking_refs"] == [markings.TLP_GREEN] for o in objects[5:])
    agencies = {o["name"] for o in objects if o["type"] == "identity"}
    assert agencies == {"taskforce hub", "GB-NCA (fictional)", "NL-NP (fictional)"}


def test_the_export_is_signed_recorded_and_audited(
    session: Session, settings: Settings, network: Network
) -> None:
    build(session, settings, network)
    data, result = _export(session, settings, network)
    import hashlib

    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.bytes == len(data)
    document = result.signature
    assert (document["format"], document["agency"], document["objects"]) == (
        "stix-2.1",
        "US-HSI",
        result.objects,
    )
    public = signatures.public_key(settings)
    signatures.verify(io.BytesIO(data), document, public)
    with pytest.raises(BadSignature):
        signatures.verify(io.BytesIO(data[:-1] + b" "), document, public)
    with pytest.raises(BadSignature):
        signatures.verify(io.BytesIO(data), {**document, "objects": 1}, public)
    row = session.get(InteropExport, result.export_id)
    assert row is not None
    assert (row.format, row.sha256, row.byte_count, row.object_count) == (
        "stix",
        result.sha256,
        len(data),
        result.objects,
    )
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "export_stix")).one()
    assert entry.operation == "disclosure"
    assert entry.detail["sha256"] == result.sha256
    assert entry.detail["skipped"] == {"phone": 1}


def test_a_re_export_of_unchanged_data_carries_the_same_ids(
    session: Session, settings: Settings, network: Network
) -> None:
    build(session, settings, network)
    first, _ = _export(session, settings, network)
    again = io.BytesIO()
    service.export_stix(session, network.gb.caller, settings, again, now=NOW + timedelta(days=3))
    objects_first = json.loads(first)["objects"]
    objects_again = json.loads(again.getvalue())["objects"]
    assert objects_first == objects_again  # not only the ids: the very objects
    assert json.loads(first)["id"] != json.loads(again.getvalue())["id"]


def test_filters_narrow_the_bundle(session: Session, settings: Settings, network: Network) -> None:
    world = build(session, settings, network)
    data, result = _export(session, settings, network, agency_code="nl-np")
    objects = json.loads(data)["objects"]
    assert {o["name"] for o in objects if o["type"] == "grouping"} == {world.nl_green.reference}
    assert result.counts["hash_entries"] == 0
    assert not [o for o in objects if o["type"] == "file"]
    late, _ = _export(session, settings, network, since=datetime(2030, 1, 1, tzinfo=UTC))
    kinds = {o["type"] for o in json.loads(late)["objects"]}
    assert kinds == {"marking-definition", "identity"}
