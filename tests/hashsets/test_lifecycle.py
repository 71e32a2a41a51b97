"""A hash set's life after its creation, over the API and the page: a file that is no hash
list is refused with its reason, and the owner renames and deletes its sets (audited; 404 for
anyone else; refused while a recorded triage run depends on the set unless forced)."""

from __future__ import annotations

import io
import uuid

from builders import Network, csrf_field, make_case, picture, token_for, web_login
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from taskforce.core.audit.models import AuditEntry
from taskforce.core.settings import Settings
from taskforce.hashsets.models import HashEntry, HashSet
from taskforce.triage.models import TriageResult, TriageRun

MD5 = "0123456789abcdef0123456789abcdef"
LIST = f"md5,series\n{MD5},Lake\n{'f' * 32},Lake\n".encode()
LETTER = b"Dear colleague,\n\nplease find attached the files we discussed.\n\nKind regards\n"


def _png() -> bytes:
    out = io.BytesIO()
    picture(1, (64, 48)).save(out, "PNG")
    return out.getvalue()


def _set(client: TestClient, headers: dict[str, str], name: str = "Known") -> str:
    r = client.post("/api/v1/hashsets", json={"name": name}, headers=headers)
    assert r.status_code == 201, r.text
    set_id: str = r.json()["id"]
    r = client.post(f"/api/v1/hashsets/{set_id}/import", content=LIST, headers=headers)
    assert r.status_code == 200, r.text
    return set_id


def _actions(session: Session, set_id: str) -> list[str]:
    session.expire_all()
    return list(
        session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.subject_id == uuid.UUID(set_id))
            .order_by(AuditEntry.seq)
        )
    )


def test_a_file_that_is_no_hash_list_is_refused_with_its_reason(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    gb = token_for(session, settings, network.gb)
    r = client.post("/api/v1/hashsets", json={"name": "Empty so far"}, headers=gb)
    set_id = r.json()["id"]
    url = f"/api/v1/hashsets/{set_id}/import"
    cases = [
        (_png(), "image/png"),
        (LETTER, "none of its"),
        (b"", "empty"),
        (b"md5,sha1\nnot-a-hash,\nstill-not,\n", "none of its 2 entries"),  # every line bad
    ]
    for body, reason in cases:
        r = client.post(url, content=body, headers=gb)
        assert r.status_code == 422, r.text
        assert r.json()["field"] == "file"
        assert reason in r.json()["message"]
    assert client.get(f"/api/v1/hashsets/{set_id}", headers=gb).json()["entry_count"] == 0


def test_the_owner_renames_a_set_others_get_404(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    gb = token_for(session, settings, network.gb)
    nl = token_for(session, settings, network.nl)
    set_id = _set(client, gb)
    _set(client, gb, name="Other")
    url = f"/api/v1/hashsets/{set_id}"
    assert client.patch(url, json={"name": "Nope"}, headers=nl).status_code == 404
    clash = client.patch(url, json={"name": "Other"}, headers=gb)
    assert clash.status_code == 409
    assert "Other" in clash.json()["message"]
    assert client.patch(url, json={"name": ""}, headers=gb).status_code == 422
    r = client.patch(url, json={"name": "  Known   2026 "}, headers=gb)
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Known 2026"
    assert "hashset.rename" in _actions(session, set_id)


def test_delete_takes_the_entries_and_is_refused_while_a_triage_run_uses_the_set(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    gb = token_for(session, settings, network.gb)
    nl = token_for(session, settings, network.nl)
    set_id = _set(client, gb)
    case = make_case(session, network.gb)
    run = TriageRun(
        case_id=case.id,
        agency_id=network.gb.user.agency_id,
        actor_label="test",
        channel="cli",
        report_dir="report-17",
    )
    session.add(run)
    session.flush()
    session.add(
        TriageResult(
            run_id=run.id,
            path_key="k" * 64,
            path="a.jpg",
            match_type="exact",
            md5=MD5,
            hash_set_id=uuid.UUID(set_id),
            hash_set="Known",
        )
    )
    session.commit()
    url = f"/api/v1/hashsets/{set_id}"

    assert client.delete(url, headers=nl).status_code == 404
    refused = client.delete(url, headers=gb)
    assert refused.status_code == 409
    assert "1 recorded triage run matched files against it" in refused.json()["message"]
    assert client.get(url, headers=gb).status_code == 200  # still there

    assert client.delete(f"{url}?force=true", headers=gb).status_code == 204
    assert client.get(url, headers=gb).status_code == 404
    session.expire_all()
    assert session.get(HashSet, uuid.UUID(set_id)) is None
    gone = select(func.count()).where(HashEntry.hash_set_id == uuid.UUID(set_id))
    assert session.scalar(gone) == 0
    result = session.scalars(select(TriageResult).where(TriageResult.run_id == run.id)).one()
    assert (result.hash_set_id, result.hash_set) == (None, "Known")  # the run keeps the name
    assert _actions(session, set_id)[-1] == "hashset.delete"


def test_a_set_copied_into_a_series_stays_in_use_after_a_rename(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    gb = token_for(session, settings, network.gb)
    set_id = _set(client, gb)
    r = client.post("/api/v1/series", json={"name": "Lake series"}, headers=gb)
    assert r.status_code == 201, r.text
    series_id = r.json()["id"]
    r = client.post(
        f"/api/v1/series/{series_id}/media",
        json={"hash_set": "Known", "hash_set_series": "Lake"},
        headers=gb,
    )
    assert r.json()["added"] == 2, r.text
    url = f"/api/v1/hashsets/{set_id}"
    assert client.patch(url, json={"name": "Known, renamed"}, headers=gb).status_code == 200

    refused = client.delete(url, headers=gb)
    assert refused.status_code == 409
    assert "1 series holds media copied from it" in refused.json()["message"]


def test_the_page_renames_and_deletes_behind_a_confirmation(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    gb = token_for(session, settings, network.gb)
    set_id = _set(client, gb)
    token = web_login(client, session, network.gb)
    listing = client.get("/ui/hashsets")
    assert f"/ui/hashsets/{set_id}/manage" in listing.text

    page = client.get(f"/ui/hashsets/{set_id}/manage")
    assert page.status_code == 200
    assert "Delete Known and its 2 entries" in page.text
    r = client.post(
        f"/ui/hashsets/{set_id}/rename",
        data={"csrf_token": token, "name": "Known (2026)"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "Known (2026)" in client.get("/ui/hashsets").text

    r = client.post(
        f"/ui/hashsets/{set_id}/delete", data={"csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303
    assert client.get(f"/ui/hashsets/{set_id}/manage").status_code == 404
    assert "Known (2026)" not in client.get("/ui/hashsets").text


def test_the_page_shows_a_refused_import_as_an_error_not_a_success(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    gb = token_for(session, settings, network.gb)
    set_id = _set(client, gb)
    web_login(client, session, network.gb)
    page = client.get("/ui/hashsets")
    r = client.post(
        f"/ui/hashsets/{set_id}/import",
        data={"csrf_token": csrf_field(page.text), "format": ""},
        files={"file": ("letter.txt", LETTER, "text/plain")},
    )
    assert r.status_code == 422
    assert "alert-error" in r.text
    assert "alert-ok" not in r.text
    assert "not a hash list" in r.text


def test_a_list_imported_after_a_deletion_is_matched(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    """SQLite numbers new entries with the deleted ones' numbers: the matching index, synced
    past them, must load the new entries rather than keep the deleted PDQ hashes."""
    gb = token_for(session, settings, network.gb)
    old, new = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22", "0f" * 32
    first = client.post("/api/v1/hashsets", json={"name": "First"}, headers=gb).json()["id"]
    r = client.post(f"/api/v1/hashsets/{first}/import", content=f"pdq {old}\n", headers=gb)
    assert r.status_code == 200, r.text

    def matched(pdq: str) -> list[object]:
        found = client.post("/api/v1/match", json={"hashes": [{"pdq": pdq}]}, headers=gb)
        assert found.status_code == 200, found.text
        matches: list[object] = found.json()[0]["matches"]
        return matches

    assert matched(old)  # the index is synced past the first set's entry
    assert client.delete(f"/api/v1/hashsets/{first}", headers=gb).status_code == 204
    second = client.post("/api/v1/hashsets", json={"name": "Second"}, headers=gb).json()["id"]
    r = client.post(f"/api/v1/hashsets/{second}/import", content=f"pdq {new}\n", headers=gb)
    assert r.status_code == 200, r.text
    assert matched(new)
    assert not matched(old)
