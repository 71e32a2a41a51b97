"""MISP import: a MISP event's urls, domains, addresses, wallets and hashes become selectors of
the caller's case (deconflicted: hits made), unknown types are skipped and counted, refused
values are listed, and a file that is not a MISP event is refused naming the file."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from builders import Network, add_selector, make_case, token_for
from cli_hub import add_agency, fresh_hub
from fastapi.testclient import TestClient
from pymisp import MISPEvent, MISPObject
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.cases.models import Selector
from taskforce.core.audit.models import AuditEntry
from taskforce.core.errors import Invalid
from taskforce.core.settings import Settings
from taskforce.core.sharing import SharingLevel
from taskforce.interop import misp, misp_import

WALLET = "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"
MD5 = "0123456789abcdef0123456789abcdef"
SHA256 = "ab" * 32


def misp_event() -> dict[str, Any]:
    """A MISP event as a MISP instance exports it ({"Event": ...}), built with PyMISP."""
    event = MISPEvent()
    event.info = "Fictional forum, example data"
    event.add_attribute("url", "HTTPS://Forum.Example.com/board/")
    event.add_attribute("domain", "mirror.example.net")
    event.add_attribute("hostname|port", "cdn.example.org|8443")
    event.add_attribute("email-src", "Night.Fox@Example.COM")
    event.add_attribute("ip-dst|port", "203.0.113.7|443")
    event.add_attribute("btc", WALLET)
    event.add_attribute("comment", "seen on the board's front page")
    event.add_attribute("filename", "holiday.jpg")
    event.add_attribute("ip-src", "203.0.113.999")  # not an address: a reported line
    file = MISPObject("file")
    file.add_attribute("md5", MD5)
    file.add_attribute("sha256", SHA256)
    file.add_attribute("filename", "a.jpg")
    event.add_object(file)
    event.add_tag("tlp:green")
    document: dict[str, Any] = json.loads(event.to_json())
    return document


def wrapped() -> bytes:
    return json.dumps({"Event": misp_event()}).encode()


def test_a_misp_event_becomes_selectors_of_the_case_and_makes_hits(
    session: Session, settings: Settings, network: Network
) -> None:
    theirs = make_case(session, network.nl, sharing=SharingLevel.GREEN)
    add_selector(session, settings, network.nl, theirs, "domain", "mirror.example.net")
    mine = make_case(session, network.gb)

    summary = misp.import_misp(session, network.gb.caller, settings, wrapped(), mine.reference)

    values = {
        (s.kind, s.value)
        for s in session.scalars(select(Selector).where(Selector.case_id == mine.id))
    }
    assert values == {
        ("url", "https://forum.example.com/board/"),
        ("domain", "mirror.example.net"),
        ("domain", "cdn.example.org"),
        ("email", "night.fox@example.com"),
        ("ip", "203.0.113.7"),
        ("crypto_wallet", WALLET),
        ("md5", MD5),
        ("sha256", SHA256),
    }
    assert (summary.added, summary.already_there, summary.hits) == (8, 0, 1)
    assert summary.skipped == {"comment": 1, "filename": 2}
    [bad] = summary.invalid
    assert (bad.misp_type, bad.field) == ("ip-src", "value")
    assert summary.events == 1
    assert summary.attributes == 12
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "interop.misp_import")
    ).one()
    assert entry.subject_id == mine.id

    again = misp.import_misp(session, network.gb.caller, settings, wrapped(), mine.reference)
    assert (again.added, again.already_there) == (0, 8)


def test_bare_events_lists_and_pair_types_are_read() -> None:
    bare = {
        "info": "bare",
        "Attribute": [
            {"type": "domain|ip", "value": "example.com|203.0.113.9"},
            {"type": "filename|sha1", "value": "a.jpg|" + "c" * 40},
            {"type": "xmr", "value": "4" + "A" * 94},
            {"type": "yara", "value": "rule x {}"},
            {"type": "url"},  # no value
        ],
    }
    reading = misp_import.read(json.dumps([bare, {"Event": bare}]))
    assert reading.events == 2
    assert [row["type"] for _, row in reading.lines[:4]] == [
        "domain",
        "ip",
        "sha1",
        "crypto_wallet",
    ]
    assert reading.lines[2][1]["value"] == "c" * 40
    assert reading.skipped == {"yara": 2, "(no type or value)": 2}


@pytest.mark.parametrize(
    "data",
    [
        b"not json",
        b"\xff\xfe",
        b"[]",
        b"{}",
        b'{"Event": 3}',
        b'{"foo": 1}',
        b'{"Event": {"info": "x", "Attribute": "url"}}',
        b'{"Event": {"info": "x", "Object": [{"Attribute": 5}]}}',
        b"[" * 100_000 + b"]" * 100_000,
    ],
)
def test_what_is_not_a_misp_event_is_refused_naming_the_file(data: bytes) -> None:
    with pytest.raises(Invalid) as refused:
        misp_import.read(data)
    assert refused.value.field == "file"


def test_another_agency_s_case_is_refused_like_a_missing_one(
    session: Session, settings: Settings, network: Network
) -> None:
    theirs = make_case(session, network.nl, sharing=SharingLevel.GREEN)
    for reference in (theirs.reference, "GB-NCA-1999-0001"):
        with pytest.raises(Invalid) as refused:
            misp.import_misp(session, network.gb.caller, settings, wrapped(), reference)
        assert refused.value.field == "case"


def test_the_api_imports_and_answers_4xx_for_what_is_not_an_event(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    case = make_case(session, network.gb)
    session.commit()
    headers = token_for(session, settings, network.gb)
    url = f"/api/v1/interop/misp/import?case={case.reference}"
    done = client.post(url, headers=headers, content=wrapped())
    assert done.status_code == 200, done.text
    assert done.json()["added"] == 8
    assert done.json()["skipped"] == {"comment": 1, "filename": 2}
    for body in (b"{", b'{"foo": 1}', b"[]"):
        refused = client.post(url, headers=headers, content=body)
        assert refused.status_code == 422, refused.text
        assert refused.json()["field"] == "file"
    missing = client.post(
        "/api/v1/interop/misp/import?case=NL-NP-2026-0001", headers=headers, content=wrapped()
    )
    assert missing.status_code == 422
    reader = token_for(session, settings, network.gb_reader)
    assert client.post(url, headers=reader, content=wrapped()).status_code == 403


def test_the_cli_imports_a_file_and_fails_when_nothing_was_added(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from taskforce.cli import app

    runner = fresh_hub(tmp_path, monkeypatch)
    add_agency(runner, "GB-NCA", country="GB", timezone="Europe/London", phone="+442079460001")
    recorded = runner.invoke(  # a preservation request opens a RED case of the agency
        app,
        [
            "preservation", "record", "--agency", "GB-NCA", "--provider", "Fictional Mail Ltd",
            "-i", "email:desk.owner@example.org", "--legal-basis", "art29_preservation",
        ],
    )  # fmt: skip
    assert recorded.exit_code == 0, recorded.output
    reference = recorded.output.split("on case ")[1].split()[0]
    path = tmp_path / "event.json"
    path.write_bytes(wrapped())
    args = ["import", "misp", str(path), "--case", reference, "--agency", "GB-NCA"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "8 added" in first.output
    assert "skipped 2 filename" in first.output
    assert re.search(r"^attribute \d+ \(ip-src\): value: ", first.output, re.MULTILINE)
    second = runner.invoke(app, args)
    assert second.exit_code == 1
    assert "8 already there" in second.output
    path.write_text("{")
    bad = runner.invoke(app, args)
    assert bad.exit_code == 2
    assert "file" in bad.output
