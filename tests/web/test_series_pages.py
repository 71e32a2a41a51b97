"""Series pages: create a series, record a child and its identification, add files by hash,
see the statistics with their downloads; another agency gets 404 for a RED series."""

from __future__ import annotations

from builders import Network, csrf_field, web_login
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

MD5 = "0123456789abcdef0123456789abcdef"


def test_series_from_creation_to_identification(
    client: TestClient, session: Session, network: Network
) -> None:
    web_login(client, session, network.gb)
    page = client.get("/ui/series")
    assert page.status_code == 200
    assert "No series your agency may see yet" in page.text
    created = client.post(
        "/ui/series/new",
        data={
            "csrf_token": csrf_field(page.text),
            "name": "Blue Room",
            "first_seen": "2025-01-15",
            "status_public": "1",
        },
        follow_redirects=True,
    )
    assert created.status_code == 200
    assert "Blue Room" in created.text
    series_url = str(created.url)
    token = csrf_field(created.text)

    added = client.post(
        f"{series_url}/media", data={"csrf_token": token, "hashes": f"{MD5}\n{MD5.upper()}\n"}
    )
    assert "1 file added" in added.text
    bad = client.post(f"{series_url}/media", data={"csrf_token": token, "hashes": "abc"})
    assert bad.status_code == 422
    assert "Line 1" in bad.text

    page = client.post(
        f"{series_url}/victims",
        data={"csrf_token": token, "label": "V1", "age_band": "6-8", "sex": "female"},
        follow_redirects=True,
    )
    assert "not identified" in page.text
    victim_id = page.text.split("/ui/victims/")[1].split("/")[0]
    wrong = client.post(
        f"/ui/victims/{victim_id}/identify", data={"csrf_token": token, "country": "ZZ"}
    )
    assert wrong.status_code == 422
    assert "ISO 3166" in wrong.text
    done = client.post(
        f"/ui/victims/{victim_id}/identify",
        data={"csrf_token": token, "country": "GB", "identified_on": "2025-03-01"},
        follow_redirects=True,
    )
    assert "by <strong>GB-NCA</strong>, GB" in done.text

    stats = client.get("/ui/statistics/identification")
    assert stats.status_code == 200
    assert "<svg" in stats.text
    assert "45 days" in stats.text
    csv_text = client.get("/ui/statistics/identification.csv").text
    assert "month,2025-03,1" in csv_text
    assert "country,GB,1" in csv_text


def test_another_agency_gets_404_for_a_red_series(
    client: TestClient, session: Session, network: Network
) -> None:
    web_login(client, session, network.gb)
    page = client.get("/ui/series")
    created = client.post(
        "/ui/series/new",
        data={"csrf_token": csrf_field(page.text), "name": "Kestrel"},
        follow_redirects=True,
    )
    series_url = str(created.url)
    client.cookies.clear()
    web_login(client, session, network.us)
    assert client.get(series_url).status_code == 404
    assert "Kestrel" not in client.get("/ui/series").text
