"""An import that breaks a stopping budget keeps what it had read and says so (issue 11)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from builders import Network, token_for
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.core import budgets
from taskforce.core.audit.models import AuditEntry
from taskforce.core.settings import Settings
from taskforce.hashsets import formats, service
from taskforce.hashsets.models import HashEntry
from taskforce.hashsets.schemas import HashSetCreate

MD5S = [f"{i:032x}" for i in range(1, 8)]


def test_a_stopped_import_keeps_the_batches_before_it_and_is_audited(
    session: Session, network: Network, tmp_path: Path
) -> None:
    caller = network.gb.caller
    service.create_hash_set(session, caller, HashSetCreate(name="Known"))
    path = tmp_path / "list.txt"
    path.write_text("\n".join([*MD5S, "nonsense"]) + "\n")
    small = budgets.DEFAULT.smaller(max_records=5)
    entries = formats.read(path, "lines", budget=small)
    with pytest.raises(budgets.Exceeded) as raised:
        service.import_entries(
            session,
            caller,
            name="Known",
            entries=entries,
            fmt="lines",
            after_batch=lambda _read: session.commit(),
        )
    session.rollback()
    stopped = raised.value
    assert stopped.field == "file"
    assert stopped.record == 6
    assert stopped.rule == (
        "has more than 5 lines: the import stopped at entry 6; the 5 entries before it were "
        "read (5 added, 0 already present, 0 rejected) and are kept"
    )
    assert len(session.scalars(select(HashEntry.md5)).all()) == 5
    detail = session.scalars(
        select(AuditEntry.detail).where(AuditEntry.action == "hashset.import")
    ).one()
    assert detail["stopped"] == "file: has more than 5 lines (at 6)"
    assert detail["added"] == 5


def test_api_answers_422_naming_the_file_for_a_token_past_the_budget(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    gb = token_for(session, settings, network.gb)
    r = client.post("/api/v1/hashsets", json={"name": "Known"}, headers=gb)
    set_id = r.json()["id"]
    media = [{"MD5": MD5S[0]}, {"MD5": MD5S[1], "Series": "s" * (17 << 20)}]  # 17 MiB string
    body = json.dumps({"@odata.context": "x#Media", "value": media}).encode()
    r = client.post(f"/api/v1/hashsets/{set_id}/import?format=vics", content=body, headers=gb)
    assert r.status_code == 422, r.text
    error = r.json()
    assert error["field"] == "file"
    assert "longer than 16,777,216 bytes" in error["rule"]
    assert "the 1 entries before it were read (1 added" in error["rule"]
    r = client.get(f"/api/v1/hashsets/{set_id}", headers=gb)
    assert r.json()["entry_count"] == 1  # kept, as the error says
