"""The hash sets page: create a set, upload a list, see the report, download an export."""

from __future__ import annotations

import json

from builders import Network, csrf_field, web_login
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

MD5 = "0123456789abcdef0123456789abcdef"


def test_create_upload_and_download(client: TestClient, session: Session, network: Network) -> None:
    web_login(client, session, network.gb)
    page = client.get("/ui/hashsets")
    assert page.status_code == 200
    assert "No hash set is visible" in page.text
    created = client.post(
        "/ui/hashsets/new",
        data={"csrf_token": csrf_field(page.text), "name": "Known series", "sharing": "green"},
        follow_redirects=True,
    )
    assert created.status_code == 200
    assert "Known series" in created.text
    set_id = created.text.split("/ui/hashsets/")[1].split("/")[0]
    upload = client.post(
        f"/ui/hashsets/{set_id}/import",
        data={"csrf_token": csrf_field(created.text), "format": ""},
        files={"file": ("list.csv", f"md5,series\n{MD5},Lake\nnot-a-hash,\n", "text/csv")},
    )
    assert upload.status_code == 200
    assert "1 added" in upload.text
    assert "line 3: md5" in upload.text
    download = client.get(f"/ui/hashsets/{set_id}/export?format=vics")
    assert download.status_code == 200
    assert json.loads(download.content)["value"][0]["MD5"] == MD5.upper()


def test_duplicate_name_is_explained_and_forms_need_the_csrf_token(
    client: TestClient, session: Session, network: Network
) -> None:
    web_login(client, session, network.gb)
    page = client.get("/ui/hashsets")
    data = {"csrf_token": csrf_field(page.text), "name": "Known"}
    assert client.post("/ui/hashsets/new", data=data, follow_redirects=True).status_code == 200
    again = client.post("/ui/hashsets/new", data=data)
    assert again.status_code == 422
    assert "already has a hash set named" in again.text
    forged = client.post("/ui/hashsets/new", data={"csrf_token": "x", "name": "Other"})
    assert forged.status_code == 403


def test_other_agency_sees_no_red_set(
    client: TestClient, session: Session, network: Network
) -> None:
    web_login(client, session, network.gb)
    page = client.get("/ui/hashsets")
    client.post(
        "/ui/hashsets/new", data={"csrf_token": csrf_field(page.text), "name": "Secret set"}
    )
    client.cookies.clear()
    web_login(client, session, network.us)
    assert "Secret set" not in client.get("/ui/hashsets").text
