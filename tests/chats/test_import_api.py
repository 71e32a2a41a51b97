"""`POST /api/v1/chats/cases/{case_id}/imports` and the import records: a raw body or a
multipart form, spooled in the data folder and gone after; another agency's case refused
before a byte is kept; the body limit of `chats_upload_bytes`."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

import pytest
from builders import Network, make_case, token_for, web_login
from chats import exports
from chats_builders import GAME_LOBBY, SCHOOL_RUN, csv_export
from fastapi import Request, Response
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from taskforce.app import create_app
from taskforce.chats.models import ChatAttachment, ChatImport, ChatMessage
from taskforce.core import limits, spool
from taskforce.core.audit.models import AuditEntry
from taskforce.core.settings import Settings
from taskforce.core.sharing import SharingLevel
from taskforce.hashsets import service as hashset_service
from taskforce.hashsets.schemas import HashSetCreate


def _spooled(settings: Settings) -> list[Path]:
    """Files left in the spool folders (lock files are the folders' own)."""
    root = spool.spool_root(settings.data_dir)
    if not root.exists():
        return []
    return [p for p in root.rglob("*") if p.is_file() and not p.name.endswith(".lock")]


def test_an_export_sent_as_the_body_is_imported_and_sending_it_again_adds_nothing(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    case = make_case(session, network.gb)
    headers = token_for(session, settings, network.gb)
    url = f"/api/v1/chats/cases/{case.id}/imports?name=lobby.csv&timezone=Europe/Berlin"
    body = csv_export(SCHOOL_RUN + GAME_LOBBY).encode()
    first = client.post(url, headers=headers, content=body)
    assert first.status_code == 200, first.text
    summary = first.json()
    assert (summary["messages_added"], summary["conversations"], summary["file_name"]) == (
        11,
        2,
        "lobby.csv",
    )
    assert summary["case_reference"] == case.reference
    again = client.post(url, headers=headers, content=body).json()
    assert (again["messages_added"], again["messages_present"]) == (0, 11)
    assert _spooled(settings) == []  # the upload is gone once imported
    record = client.get(f"/api/v1/chats/imports/{summary['import_id']}", headers=headers)
    assert record.status_code == 200
    assert record.json()["timezone"] == "Europe/Berlin"
    assert record.json()["file_bytes"] == len(body)
    listed = client.get(f"/api/v1/chats/cases/{case.id}/imports", headers=headers).json()
    assert [i["messages_added"] for i in listed] == [0, 11]  # newest first
    assert session.scalar(select(func.count()).where(AuditEntry.action == "chats.import")) == 2


def test_a_multipart_form_carries_the_file_and_its_options(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    case = make_case(session, network.gb)
    headers = token_for(session, settings, network.gb)
    bad = "31/02/2026 10:00,school-run,discord,ana.k,Ana,hi,\n"
    r = client.post(
        f"/api/v1/chats/cases/{case.id}/imports",
        headers=headers,
        files={"file": ("school.csv", (csv_export(SCHOOL_RUN) + bad).encode(), "text/csv")},
        data={"timezone": "Europe/Berlin", "platform": "discord"},
    )
    assert r.status_code == 200, r.text
    summary = r.json()
    assert (summary["messages_added"], summary["problems_count"]) == (4, 1)
    assert summary["problems"][0]["source"] == "school.csv"
    assert summary["problems"][0]["line"] == 6
    first = session.scalar(select(ChatMessage).where(ChatMessage.seq == 0))
    assert first is not None
    assert first.sent_at is not None
    assert first.sent_at.hour == 7  # 08:00 in Berlin
    assert _spooled(settings) == []


def test_bad_input_is_named_and_nothing_readable_is_422(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    case = make_case(session, network.gb)
    headers = token_for(session, settings, network.gb)
    url = f"/api/v1/chats/cases/{case.id}/imports"
    zone = client.post(f"{url}?timezone=Mars/Olympus", headers=headers, content=b"x")
    assert zone.status_code == 422
    assert zone.json()["field"] == "timezone"
    letter = client.post(f"{url}?name=letter.txt", headers=headers, content=b"Dear colleague,\n")
    assert letter.status_code == 422
    assert letter.json()["field"] == "file"
    assert "letter.txt" in letter.json()["message"]
    no_file = client.post(url, headers=headers, data={"timezone": "UTC"}, files={"x": ("", b"")})
    assert no_file.status_code == 422
    assert _spooled(settings) == []


def test_another_agencys_case_or_import_is_missing(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    theirs = make_case(session, network.nl, sharing=SharingLevel.AMBER, partners=["GB-NCA"])
    mine = make_case(session, network.gb)
    gb = token_for(session, settings, network.gb)
    nl = token_for(session, settings, network.nl)
    body = csv_export(SCHOOL_RUN).encode()
    refused = client.post(f"/api/v1/chats/cases/{theirs.id}/imports", headers=gb, content=body)
    assert refused.status_code == 404
    assert session.scalar(select(func.count()).select_from(ChatImport)) == 0
    done = client.post(
        f"/api/v1/chats/cases/{mine.id}/imports?name=a.csv", headers=gb, content=body
    )
    assert done.status_code == 200
    import_id = done.json()["import_id"]
    assert client.get(f"/api/v1/chats/imports/{import_id}", headers=nl).status_code == 404
    assert client.get(f"/api/v1/chats/cases/{mine.id}/imports", headers=nl).status_code == 404
    reader = token_for(session, settings, network.gb_reader)
    read_only = client.post(f"/api/v1/chats/cases/{mine.id}/imports", headers=reader, content=body)
    assert read_only.status_code == 403
    assert _spooled(settings) == []


def test_an_upload_over_the_chat_export_limit_is_413(
    engine: Engine,
    session_factory: sessionmaker[Session],
    session: Session,
    settings: Settings,
    network: Network,
) -> None:
    small = settings.model_copy(update={"chats_upload_bytes": 1 << 20})
    app = create_app(small, engine)
    app.state.sessionmaker = session_factory
    case = make_case(session, network.gb)
    headers = token_for(session, small, network.gb)
    with TestClient(app, base_url="http://testserver") as client:
        url = f"/api/v1/chats/cases/{case.id}/imports?name=big.csv"
        r = client.post(url, headers=headers, content=b"x" * ((1 << 20) + 1))
        assert r.status_code == 413
        assert "1,048,576 bytes" in r.json()["message"]
        assert client.post(url, headers=headers, content=csv_export(SCHOOL_RUN)).status_code == 200
    assert _spooled(small) == []


# --- the case's chats page ---------------------------------------------------------------------


def test_the_case_page_imports_an_export_and_shows_its_summary(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    case = make_case(session, network.gb)
    theirs = make_case(session, network.nl, sharing=SharingLevel.AMBER, partners=["GB-NCA"])
    csrf = web_login(client, session, network.gb)
    page = client.get(f"/ui/chats/cases/{case.id}")
    assert page.status_code == 200
    assert f'action="/ui/chats/cases/{case.id}/import"' in page.text
    bad = "31/02/2026 10:00,school-run,discord,ana.k,Ana,hi,\n"
    export = (csv_export(SCHOOL_RUN + GAME_LOBBY) + bad).encode()
    done = client.post(
        f"/ui/chats/cases/{case.id}/import",
        data={"csrf_token": csrf, "timezone": "Europe/Berlin"},
        files={"file": ("lobby.csv", export, "text/csv")},
    )
    assert done.status_code == 200, done.text
    assert "11 added, 0 already there" in done.text
    assert "lobby.csv</bdi>, line 13: time: " in done.text
    assert "game-lobby" in done.text  # the conversations list shows what came in
    zone = client.post(
        f"/ui/chats/cases/{case.id}/import",
        data={"csrf_token": csrf, "timezone": "Mars/Olympus"},
        files={"file": ("lobby.csv", export, "text/csv")},
    )
    assert zone.status_code == 422
    assert 'role="alert"' in zone.text
    expired = client.post(
        f"/ui/chats/cases/{case.id}/import",
        data={"csrf_token": "wrong"},
        files={"file": ("lobby.csv", export, "text/csv")},
    )
    assert expired.status_code == 403
    refused = client.post(
        f"/ui/chats/cases/{theirs.id}/import",
        data={"csrf_token": csrf},
        files={"file": ("lobby.csv", export, "text/csv")},
    )
    assert refused.status_code == 404
    assert session.scalar(select(func.count()).select_from(ChatImport)) == 1
    assert _spooled(settings) == []


def test_a_past_imports_problems_are_on_its_own_page(
    client: TestClient, session: Session, network: Network
) -> None:
    """The analyst who imported yesterday finds the bad lines again from the case's chats,
    with file, line and rule; the read is audited; another agency gets the 404 page."""
    case = make_case(session, network.gb)
    csrf = web_login(client, session, network.gb)
    bad = "31/02/2026 10:00,school-run,discord,ana.k,Ana,hi,\n"
    client.post(
        f"/ui/chats/cases/{case.id}/import",
        data={"csrf_token": csrf, "timezone": "Europe/Berlin"},
        files={"file": ("lobby.csv", (csv_export(SCHOOL_RUN) + bad).encode(), "text/csv")},
    )
    record = session.scalars(select(ChatImport)).one()
    listed = client.get(f"/ui/chats/cases/{case.id}")
    assert f'href="/ui/chats/imports/{record.id}"' in listed.text
    page = client.get(f"/ui/chats/imports/{record.id}")
    assert page.status_code == 200
    assert "Import of <bdi" in page.text
    row = page.text.split('id="problems"')[1]
    assert "lobby.csv" in row
    assert '<td data-label="Line" class="num">6</td>' in row  # header, 4 rows, then it
    assert "&#39;31/02/2026&#39; is not a date (day 31 of February" in row
    assert "Europe/Berlin" in page.text
    assert session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.action == "chats.import.read", AuditEntry.subject_id == record.id)
    )
    web_login(client, session, network.us)
    assert client.get(f"/ui/chats/imports/{record.id}").status_code == 404


def test_a_zipped_export_keeps_its_attachments_hashes_and_never_their_bytes(
    client: TestClient, session: Session, settings: Settings, network: Network, tmp_path: Path
) -> None:
    known_png, new_png = exports.png(seed=3), exports.png(seed=7)
    hashset_service.create_hash_set(
        session, network.gb.caller, HashSetCreate(name="Known", sharing=SharingLevel.RED)
    )
    known_list = tmp_path / "known.csv"
    known_md5 = hashlib.md5(known_png, usedforsecurity=False).hexdigest()
    known_list.write_text(f"md5,category\n{known_md5},national-a\n")
    hashset_service.import_file(session, network.gb.caller, name="Known", path=known_list)
    start = datetime(2026, 2, 1, 9, 0)  # noqa: DTZ001 - the phone's local time
    said = [
        exports.Said(start, "Ana", "look", attachment="IMG-20260201-WA0001.jpg"),
        exports.Said(
            start.replace(minute=1), "Ben", "and this", attachment="IMG-20260201-WA0002.jpg"
        ),
        exports.Said(start.replace(minute=2), "Ana", "nice"),
    ]
    chat = exports.whatsapp_lines(said, "android-uk").encode()
    archive = exports.zip_of(
        tmp_path,
        {
            "WhatsApp Chat with Ana.txt": chat,
            "IMG-20260201-WA0001.jpg": known_png,
            "IMG-20260201-WA0002.jpg": new_png,
        },
    )
    case = make_case(session, network.gb)
    headers = token_for(session, settings, network.gb)
    r = client.post(
        f"/api/v1/chats/cases/{case.id}/imports?name=export.zip&timezone=Europe/London",
        headers=headers,
        content=archive.read_bytes(),
    )
    assert r.status_code == 200, r.text
    summary = r.json()
    assert (summary["messages_added"], summary["attachments"]) == (3, 2)
    assert summary["attachments_known"] == 1
    assert summary["selectors_added"] >= 1  # the new picture's hashes, as triage adds them
    rows = {a.name: a for a in session.scalars(select(ChatAttachment))}
    known = rows["IMG-20260201-WA0001.jpg"]
    assert known.known
    assert known.md5 == known_md5
    assert known.matches[0]["hash_set"] == "Known"
    fresh = rows["IMG-20260201-WA0002.jpg"]
    assert fresh.present
    assert not fresh.known
    assert fresh.sha256 == hashlib.sha256(new_png).hexdigest()
    assert _spooled(settings) == []
    for path in settings.data_dir.rglob("*"):  # the database, the spool, anything else
        if path.is_file():
            held = path.read_bytes()
            assert known_png not in held
            assert new_png not in held


def test_both_upload_addresses_take_their_limit_from_the_setting() -> None:
    sized = {"chats_upload_bytes": 5 << 20}
    for path in ("/api/v1/chats/cases/abc/imports", "/ui/chats/cases/abc/import"):
        assert limits.body_class(path).limit(1 << 20, sized) == 5 << 20
    assert limits.body_class("/api/v1/chats/cases/abc/imports").caller == "token"
    assert limits.body_class("/ui/chats/cases/abc/import").caller == "session"
    assert limits.body_class("/api/v1/chats/imports/abc").limit(1 << 20, sized) == 1 << 20
    with pytest.raises(ValueError, match="chats_upload_bytes"):  # never falls back silently
        limits.BodyGate(
            Response(),  # an ASGI app, never called: the gate is refused when it is made
            default_limit=1 << 20,
            checks={"token": _never, "session": _never},
            refuse=lambda _request, _error: Response(),
        )


async def _never(_request: Request) -> Response | None:
    return None
