"""The identification status travels with the hashes: a match over the API, a hash-set export
and a case's triage results all say, for a file of a series, whether its child is identified
and by whom — and a triage page says so even when the child was identified after the run."""

from __future__ import annotations

import csv
import io
import json

from builders import Network, make_case, make_triage_run, token_for
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from taskforce.core.settings import Settings
from taskforce.core.sharing import SharingLevel
from taskforce.hashsets import formats
from taskforce.hashsets import service as hashset_service
from taskforce.hashsets.schemas import HashSetCreate
from taskforce.series import service
from taskforce.series.models import Victim
from taskforce.series.schemas import (
    MediaAdd,
    MediaHashes,
    SeriesCreate,
    VictimCreate,
    VictimIdentify,
)

KNOWN = "5eb63bbbe01eeed093cb22bb8f5acdc3"
NEW = "7d793037a0760186574b0282f2f435e7"


def _identified_series(session: Session, network: Network, md5: str) -> Victim:
    series = service.create_series(session, network.gb.caller, SeriesCreate(name="Blue Room"))
    service.add_media(session, network.gb.caller, series.id, MediaAdd(media=[MediaHashes(md5=md5)]))
    return service.add_victim(session, network.gb.caller, series.id, VictimCreate(label="V1"))


def test_match_and_export_carry_the_status(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    victim = _identified_series(session, network, KNOWN)
    service.identify_victim(
        session, network.gb.caller, victim.id, VictimIdentify(country="NL", agency="NL-NP")
    )
    green = hashset_service.create_hash_set(
        session, network.gb.caller, HashSetCreate(name="Shared", sharing=SharingLevel.GREEN)
    )
    hashset_service.import_entries(
        session,
        network.gb.caller,
        set_id=green.id,
        fmt="lines",
        entries=[formats.ParsedEntry(1, md5=KNOWN)],
    )
    us = token_for(session, settings, network.us)

    r = client.post("/api/v1/match", json={"hashes": [{"md5": KNOWN}]}, headers=us)
    [hit] = r.json()[0]["matches"]
    assert hit["victim_identified"] is True
    [status] = hit["identification"]
    assert status["identified_by"] == ["NL-NP"]
    assert status["series"] is None
    assert status["owner_agency"] == "GB-NCA"
    assert status["contact"]

    r = client.get(f"/api/v1/hashsets/{green.id}/export?format=csv", headers=us)
    [row] = list(csv.DictReader(io.StringIO(r.text)))
    assert (row["victim_identified"], row["identified_by"]) == ("true", "NL-NP")
    r = client.get(f"/api/v1/hashsets/{green.id}/export?format=vics", headers=us)
    assert json.loads(r.content)["value"][0]["VictimIdentified"] == "true"


def test_a_triage_page_shows_an_identification_made_after_the_run(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    case = make_case(session, network.gb)
    run = make_triage_run(
        session,
        network.gb,
        case,
        [{"path": "/evidence/disk1/new.jpg", "md5": NEW, "media_type": "image/jpeg"}],
    )
    victim = _identified_series(session, network, NEW)  # the new file became a series
    gb = token_for(session, settings, network.gb)

    [before] = client.get(f"/api/v1/triage-runs/{run.id}", headers=gb).json()["results"]["items"]
    assert before["identification"][0]["identified"] == 0
    assert before["identification"][0]["series"] == "Blue Room"

    service.identify_victim(session, network.gb.caller, victim.id, VictimIdentify(country="GB"))
    session.commit()
    [after] = client.get(f"/api/v1/triage-runs/{run.id}", headers=gb).json()["results"]["items"]
    assert after["victim_identified"] is True
    assert after["identification"][0]["identified_by"] == ["GB-NCA"]
