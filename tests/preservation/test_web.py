"""The preservation pages: recording from the form (a refusal keeps what was typed and names
the line), the list and detail, the steps, counts with CSV, and 404 for another agency."""

from __future__ import annotations

import re

from builders import csrf_field, web_login
from fastapi.testclient import TestClient
from preservation_builders import Desks
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from taskforce.preservation.models import PreservationRequest

FORM = {
    "provider": "Fictional Mail Ltd",
    "provider_country": "IE",
    "identifiers": "email:Night.Fox@Example.COM\nusername:kik:Night_Fox\n",
    "legal_basis": "art29_preservation",
    "requesting_country": "GB",
    "sent_at": "",
    "expires_at": "",
    "provider_reference": "",
    "notes": "asked by phone <b>first</b>",
    "case_id": "",
}


def test_record_from_the_form_then_read_and_move_it(
    client: TestClient, session: Session, desks: Desks
) -> None:
    token = web_login(client, session, desks.gb)
    form = client.get("/ui/preservations/new")
    assert form.status_code == 200
    assert 'value="GB"' in form.text  # the agency's country by default

    bad = client.post(
        "/ui/preservations/new",
        data={
            **FORM,
            "identifiers": "email:fine@example.com\nemail:not an address",
            "csrf_token": token,
        },
    )
    assert bad.status_code == 422
    assert "Line 2 (value): must be an e-mail address" in bad.text
    assert "Fictional Mail Ltd" in bad.text  # what was typed survives
    assert session.scalar(select(func.count()).select_from(PreservationRequest)) == 0

    made = client.post(
        "/ui/preservations/new", data={**FORM, "csrf_token": token}, follow_redirects=False
    )
    assert made.status_code == 303, made.text
    path = made.headers["location"]
    page = client.get(path)
    assert page.status_code == 200
    reference = re.search(r"PR-GB-\d{4}-\d{4}", page.text)
    assert reference is not None
    assert "night.fox@example.com" in page.text
    assert "&lt;b&gt;first&lt;/b&gt;" in page.text  # escaped
    assert "Extend once" in page.text
    # how long it still holds, in whole days as people say it ("in 90 days", not "90.0 days")
    assert re.search(r", in (89|90) days</p>", page.text), page.text
    listed = client.get("/ui/preservations")
    assert reference.group(0) in listed.text
    assert re.search(r"in (89|90) days", listed.text)  # every active row says when it lapses
    empty = client.get("/ui/preservations?status=withdrawn")
    assert "No request here." in empty.text
    assert 'href="/ui/preservations?status=all"' in empty.text  # a way out of an empty list
    assert "Preservation requests" in listed.text  # the 24/7 watch tab

    assert client.post(f"{path}/extend", data={"csrf_token": token}).status_code == 200
    again = client.post(f"{path}/extend", data={"csrf_token": token})
    assert again.status_code == 422
    assert "extended once only" in again.text
    done = client.post(f"{path}/follow-up", data={"formal_reference": "MLA-3", "csrf_token": token})
    assert done.status_code == 200
    assert "MLA-3" in done.text
    assert "Followed up" in done.text

    counts = client.get("/ui/preservations/counts")
    assert counts.status_code == 200
    assert "GB-NCA" in counts.text
    csv = client.get("/ui/preservations/counts.csv")
    assert csv.headers["content-type"].startswith("text/csv")
    assert "agency,GB-NCA,1,0,0" in csv.text


def test_another_agency_gets_404_and_the_coordinator_counts_only(
    client: TestClient, session: Session, desks: Desks
) -> None:
    token = web_login(client, session, desks.gb)
    made = client.post(
        "/ui/preservations/new", data={**FORM, "csrf_token": token}, follow_redirects=False
    )
    path = made.headers["location"]
    client.post("/ui/logout", data={"csrf_token": token})
    nl_token = web_login(client, session, desks.nl)
    hidden = client.get(path)
    assert hidden.status_code == 404
    assert "Fictional Mail" not in hidden.text
    refused = client.post(f"{path}/withdraw", data={"reason": "probing", "csrf_token": nl_token})
    assert refused.status_code == 404
    client.post("/ui/logout", data={"csrf_token": nl_token})
    web_login(client, session, desks.hub)
    counts = client.get("/ui/preservations/counts")
    assert "Every member agency" in counts.text
    assert "GB-NCA" in counts.text
    assert "night.fox" not in counts.text.lower()
    assert client.get(path).status_code == 404
    assert csrf_field(counts.text)
    dashboard = client.get("/ui/")  # the coordinator's overview of the network
    assert 'id="network-preservations"' in dashboard.text
    assert "1 holding data at providers" in dashboard.text
    assert "night.fox" not in dashboard.text.lower()
