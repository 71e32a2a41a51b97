"""Every refused form shows again what was typed (the `sent` rule of web/session.py's render):
a series with a name too short keeps its description and date, a child's record keeps its
notes and choices, an identification with a wrong country keeps what was typed in that row
only, and a clue notice's answer keeps its countries and note."""

from __future__ import annotations

import re

from builders import Network, csrf_field, web_login
from fastapi.testclient import TestClient
from notice_builders import make_scene, write_notice
from sqlalchemy.orm import Session

from taskforce.core.settings import Settings
from taskforce.notices import reading


def test_series_forms_keep_what_was_typed(
    client: TestClient, session: Session, network: Network
) -> None:
    web_login(client, session, network.gb)
    token = csrf_field(client.get("/ui/series").text)
    refused = client.post(
        "/ui/series/new",
        data={
            "csrf_token": token,
            "name": "B",
            "first_seen": "2025-01-15",
            "description": "Blue walls, a <small> window",
        },
    )
    assert refused.status_code == 422
    assert 'value="B"' in refused.text
    assert 'value="2025-01-15"' in refused.text
    assert "Blue walls, a &lt;small&gt; window</textarea>" in refused.text

    series = client.post("/ui/series/new", data={"csrf_token": token, "name": "Blue Room"}).url.path
    refused = client.post(
        f"{series}/victims",
        data={
            "csrf_token": token,
            "label": "",
            "age_band": "6-8",
            "sex": "female",
            "notes": "scar on the left hand",
        },
    )
    assert refused.status_code == 422
    assert 'value="scar on the left hand"' in refused.text
    assert "<option selected>6-8</option>" in refused.text
    assert "<option selected>female</option>" in refused.text

    page = client.post(f"{series}/victims", data={"csrf_token": token, "label": "V1"}).text
    client.post(f"{series}/victims", data={"csrf_token": token, "label": "V2"})
    victim = re.findall(r"/ui/victims/([0-9a-f-]{36})/identify", page)[0]
    refused = client.post(
        f"/ui/victims/{victim}/identify",
        data={
            "csrf_token": token,
            "status": "safeguarded",
            "country": "ZZ",
            "identified_on": "2025-03-01",
        },
    )
    assert refused.status_code == 422
    assert refused.text.count('value="ZZ"') == 1  # that child's row, not the other's
    assert refused.text.count('value="2025-03-01"') == 1
    assert '<option value="safeguarded" selected>' in refused.text


def test_a_refused_clue_answer_keeps_its_countries_and_note(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    scene = make_scene(session, network)
    notice = write_notice(session, settings, scene, targets=["NL"])
    clue = reading.describe(session, network.gb.caller, settings, notice).clues[0]
    web_login(client, session, network.nl)
    page = client.get(f"/ui/notices/{notice.id}")
    refused = client.post(
        f"/ui/notices/{notice.id}/clues/{clue.id}/answers",
        data={
            "csrf_token": csrf_field(page.text),
            "countries": "Atlantis",
            "confidence": "high",
            "note": "the sockets look like ours",
        },
    )
    assert refused.status_code == 422
    assert 'value="Atlantis"' in refused.text
    assert 'value="the sockets look like ours"' in refused.text
    assert re.search(r'<option value="high" selected>', refused.text)
