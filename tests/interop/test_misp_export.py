"""MISP export: only what may leave the hub (GREEN, not held back, local; no titles, notes or
noise), one event per case and per hash set, deterministic, recorded and audited; the feed is
what PyMISP's own feed generator makes of the same event files; an export imported into
another agency's case gives the same selectors and makes hits with the source case."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from builders import Network, add_selector, make_case, token_for
from cli_hub import add_agency, fresh_hub
from fastapi.testclient import TestClient
from pymisp import MISPEvent
from pymisp.tools import feed_meta_generator
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from taskforce.cases.models import Case, Hit, Selector
from taskforce.core.audit.models import AuditEntry
from taskforce.core.errors import Invalid
from taskforce.core.settings import Settings
from taskforce.core.sharing import SharingLevel
from taskforce.core.signing import BadSignature
from taskforce.hashsets import service as hashset_service
from taskforce.hashsets.models import HashEntry, HashSet
from taskforce.hashsets.schemas import HashSetCreate
from taskforce.interop import misp, misp_events, signatures
from taskforce.interop.models import InteropExport

NOW = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
WALLET = "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"
PDQ = "f0" * 32
GREEN = [
    ("url", "https://forum.example.com/board/"),
    ("domain", "mirror.example.net"),
    ("email", "night.fox@example.com"),
    ("ip", "203.0.113.7"),
    ("crypto_wallet", WALLET),
    ("sha256", "ab" * 32),
    ("pdq", PDQ),
]
WITHHELD = [
    "Secret title",
    "Secret note",
    "held-back.example.com",
    "amber.example.com",
    "203.0.113.99",
    "Red set",
    "e" * 32,
]


@dataclass
class World:
    green: Case
    held_back: Case
    green_set: HashSet


def _entry(session: Session, hash_set: HashSet, n: int, pdq: str | None = None) -> None:
    seed = f"file-{hash_set.name}-{n}".encode()
    session.add(
        HashEntry(
            hash_set_id=hash_set.id,
            entry_key=hashlib.sha256(seed).hexdigest(),
            md5=hashlib.md5(seed).hexdigest(),  # noqa: S324 (a hash list's MD5 column)
            sha256=hashlib.sha256(seed).hexdigest(),
            pdq=pdq,
            added_at=T0 + timedelta(hours=n),
        )
    )


def build(session: Session, settings: Settings, network: Network) -> World:
    gb = network.gb
    green = make_case(session, gb, title="Secret title", sharing=SharingLevel.GREEN)
    for kind, value in GREEN:
        add_selector(session, settings, gb, green, kind, value, note="Secret note")
    add_selector(session, settings, gb, green, "username", "night_fox", platform="instagram")
    held_back = make_case(session, gb, sharing=SharingLevel.GREEN)
    add_selector(session, settings, gb, held_back, "domain", "held-back.example.com")
    session.execute(update(Case).where(Case.id == held_back.id).values(not_for_export=True))
    amber = make_case(session, gb, sharing=SharingLevel.AMBER, partners=["NL-NP"])
    add_selector(session, settings, gb, amber, "domain", "amber.example.com")
    red = make_case(session, gb)
    add_selector(session, settings, gb, red, "ip", "203.0.113.99")
    green_set = hashset_service.create_hash_set(
        session, gb.caller, HashSetCreate(name="Green set", sharing=SharingLevel.GREEN)
    )
    red_set = hashset_service.create_hash_set(session, gb.caller, HashSetCreate(name="Red set"))
    _entry(session, green_set, 1, pdq=PDQ)
    _entry(session, green_set, 2)
    session.add(HashEntry(hash_set_id=red_set.id, entry_key="e" * 64, md5="e" * 32, added_at=T0))
    session.flush()
    return World(green=green, held_back=held_back, green_set=green_set)


def _export(session: Session, settings: Settings, network: Network) -> tuple[bytes, misp.Exported]:
    sink = io.BytesIO()
    done = misp.export_misp(session, network.gb.caller, settings, sink, now=NOW)
    return sink.getvalue(), done


def test_only_releasable_material_leaves_as_one_event_per_case_and_hash_set(
    session: Session, settings: Settings, network: Network
) -> None:
    world = build(session, settings, network)
    data, done = _export(session, settings, network)
    written = done.written
    text = data.decode()
    for secret in WITHHELD:
        assert secret not in text
    events = json.loads(data)["response"]
    assert written.events == len(events) == 2
    parsed = []
    for document in events:
        event = MISPEvent()
        event.load(document)
        parsed.append(event)
    case_event, set_event = parsed
    assert case_event.uuid == misp_events.case_event_uuid(world.green.id)
    assert world.green.reference in case_event.info
    assert {(a.type, a.value) for a in case_event.attributes} >= {
        ("ip-dst", "203.0.113.7"),
        ("btc", WALLET),
        ("text", PDQ),
    }
    assert written.skipped == {"username": 1}
    assert set_event.uuid == misp_events.hash_set_event_uuid(world.green_set.id)
    assert len(set_event.objects) == 2
    assert {t.name for t in case_event.tags} == set(misp_events.TAGS)

    again, _ = _export(session, settings, network)
    assert again == data  # deterministic: a re-export changes nothing

    record = session.scalars(select(InteropExport).where(InteropExport.format == "misp")).first()
    assert record is not None
    assert record.sha256 == hashlib.sha256(data).hexdigest()
    assert record.byte_count == len(data)
    assert record.key_id == done.signature["key_id"]
    signatures.verify(io.BytesIO(data), done.signature, signatures.public_key(settings))
    with pytest.raises(BadSignature):
        signatures.verify(io.BytesIO(data[:-2]), done.signature, signatures.public_key(settings))
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "export_misp")).first()
    assert entry is not None
    assert entry.operation == "disclosure"


def test_the_feed_is_what_pymisp_s_generator_makes_of_its_event_files(
    session: Session, settings: Settings, network: Network, tmp_path: Path
) -> None:
    world = build(session, settings, network)
    folder = tmp_path / "feed"
    done = misp.export_feed(session, network.gb.caller, settings, folder, now=NOW)
    written = done.written
    manifest = json.loads((folder / "manifest.json").read_text())
    names = {p.name for p in folder.iterdir()}
    assert names == {f"{u}.json" for u in manifest} | {"manifest.json", "hashes.csv", "SHA256SUMS"}
    assert len(manifest) == written.events == 2
    for uuid_ in manifest:
        event = MISPEvent()
        event.load_file(str(folder / f"{uuid_}.json"))
        assert event.uuid == uuid_

    theirs = tmp_path / "pymisp"
    theirs.mkdir()
    for uuid_ in manifest:
        shutil.copy(folder / f"{uuid_}.json", theirs)
    feed_meta_generator(theirs)
    assert json.loads((theirs / "manifest.json").read_text()) == manifest
    ours = set((folder / "hashes.csv").read_text().splitlines())
    assert set((theirs / "hashes.csv").read_text().splitlines()) == ours
    assert f"{hashlib.md5(WALLET.encode()).hexdigest()}," in "\n".join(ours)  # noqa: S324

    sums = (folder / "SHA256SUMS").read_bytes()
    assert written.sha256 == hashlib.sha256(sums).hexdigest()
    with (folder / "SHA256SUMS").open("rb") as stream:
        signatures.verify(stream, done.signature, signatures.public_key(settings))

    # held back since: its event file goes at the next export into the same folder
    session.execute(update(Case).where(Case.id == world.green.id).values(not_for_export=True))
    misp.export_feed(session, network.gb.caller, settings, folder, now=NOW)
    assert not (folder / f"{misp_events.case_event_uuid(world.green.id)}.json").exists()
    assert len(json.loads((folder / "manifest.json").read_text())) == 1


def test_a_folder_of_other_files_is_refused(
    session: Session, settings: Settings, network: Network, tmp_path: Path
) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(Invalid, match="empty folder"):
        misp.export_feed(session, network.gb.caller, settings, tmp_path, now=NOW)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_an_export_imported_into_another_agency_s_case_gives_the_same_selectors_and_hits(
    session: Session, settings: Settings, network: Network
) -> None:
    world = build(session, settings, network)
    data, _ = _export(session, settings, network)
    nl_case = make_case(session, network.nl)
    summary = misp.import_misp(session, network.nl.caller, settings, data, nl_case.reference)
    imported = {
        (s.kind, s.value)
        for s in session.scalars(select(Selector).where(Selector.case_id == nl_case.id))
    }
    hashes = {
        (kind, value)
        for e in session.scalars(
            select(HashEntry).where(HashEntry.hash_set_id == world.green_set.id)
        )
        for kind, value in (("md5", e.md5), ("sha256", e.sha256), ("pdq", e.pdq))
        if value
    }
    assert imported == set(GREEN) | hashes
    assert summary.invalid == []
    hit_cases = {
        h.a_case_id if h.b_case_id == nl_case.id else h.b_case_id
        for h in session.scalars(
            select(Hit).where((Hit.a_case_id == nl_case.id) | (Hit.b_case_id == nl_case.id))
        )
    }
    assert world.green.id in hit_cases
    assert world.held_back.id not in hit_cases


def test_the_api_exports_with_its_hash_and_refuses_a_provider(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    build(session, settings, network)
    session.commit()
    answer = client.get(
        "/api/v1/interop/misp", headers=token_for(session, settings, network.gb_reader)
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["x-taskforce-sha256"] == hashlib.sha256(answer.content).hexdigest()
    document = json.loads(base64.b64decode(answer.headers["x-taskforce-signature"]))
    signatures.verify(io.BytesIO(answer.content), document, signatures.public_key(settings))
    assert len(answer.json()["response"]) == 2
    only_nl = client.get(
        "/api/v1/interop/misp?agency=NL-NP", headers=token_for(session, settings, network.gb)
    )
    assert only_nl.json() == {"response": []}
    unknown = client.get(
        "/api/v1/interop/misp?agency=XX-NONE", headers=token_for(session, settings, network.gb)
    )
    assert unknown.status_code == 422


def test_the_cli_writes_an_empty_export_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from taskforce.cli import app

    runner = fresh_hub(tmp_path, monkeypatch)
    add_agency(runner, "GB-NCA", country="GB", timezone="Europe/London", phone="+442079460001")
    out = tmp_path / "misp.json"
    done = runner.invoke(app, ["export", "misp", "--agency", "GB-NCA", "--out", str(out)])
    assert done.exit_code == 1, done.output
    assert "0 events" in done.output
    assert "nothing to pass on" in done.output  # the reason for the exit status, on stderr
    assert json.loads(out.read_text()) == {"response": []}
    verified = runner.invoke(app, ["export", "verify", str(out)])
    assert verified.exit_code == 0, verified.output
    folder = tmp_path / "feed"
    done = runner.invoke(app, ["export", "misp-feed", "--agency", "GB-NCA", "--out", str(folder)])
    assert done.exit_code == 1, done.output
    assert json.loads((folder / "manifest.json").read_text()) == {}
    verified = runner.invoke(app, ["export", "verify", str(folder / "SHA256SUMS")])
    assert verified.exit_code == 0, verified.output
    for line in (folder / "SHA256SUMS").read_text().splitlines():  # as `sha256sum -c` reads
        digest, name = line.split("  ")
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest
    refused = runner.invoke(app, ["export", "misp-feed", "--agency", "GB-NCA", "--out", str(out)])
    assert refused.exit_code == 2


def test_the_live_feed_serves_the_same_files_as_the_folder(
    client: TestClient, session: Session, settings: Settings, network: Network, tmp_path: Path
) -> None:
    build(session, settings, network)
    session.commit()
    folder = tmp_path / "feed"
    misp.export_feed(session, network.gb_reader.caller, settings, folder, now=NOW)
    headers = token_for(session, settings, network.gb_reader)
    base = "/api/v1/interop/misp/feed"
    manifest = client.get(f"{base}/manifest.json", headers=headers)
    assert manifest.status_code == 200, manifest.text
    assert manifest.content == (folder / "manifest.json").read_bytes()
    for uuid_ in manifest.json():
        event = client.get(f"{base}/{uuid_}.json", headers=headers)
        assert event.content == (folder / f"{uuid_}.json").read_bytes()
    hashes = client.get(f"{base}/hashes.csv", headers=headers)
    assert hashes.content == (folder / "hashes.csv").read_bytes()
    assert hashes.headers["content-type"].startswith("text/csv")
    gone = client.get(
        f"{base}/{misp_events.case_event_uuid(network.gb.user.id)}.json", headers=headers
    )
    assert gone.status_code == 404
    assert client.get(f"{base}/manifest.json").status_code == 401
    reads = session.scalars(select(AuditEntry).where(AuditEntry.action == "misp_feed_read")).all()
    assert len(reads) == 2 + len(manifest.json())  # manifest, hashes, each event (not the 404)
