"""A refused hotline form shows again what the analyst typed: the assessment ticked, the
category picked, the note and the re-routing reason, with the error naming the field."""

from __future__ import annotations

import re

from builders import csrf_field, web_login
from fastapi.testclient import TestClient
from hotline_builders import Hotlines, RouteAll, send
from sqlalchemy.orm import Session


def _report_page(
    client: TestClient, session: Session, hotlines: Hotlines, route_all: RouteAll
) -> str:
    public = TestClient(client.app)
    send(public, "url", url="https://files.example.net/kept", description="a picture")
    route_all()
    session.commit()
    web_login(client, session, hotlines.nl_hotline)
    link = re.search(r'href="(/ui/hotline/[0-9a-f-]{36})"', client.get("/ui/hotline").text)
    assert link is not None
    return link.group(1)


def test_a_refused_assessment_keeps_the_choice_and_the_note(
    client: TestClient, session: Session, hotlines: Hotlines, route_all: RouteAll
) -> None:
    page = _report_page(client, session, hotlines, route_all)
    token = csrf_field(client.get(page).text)
    note = "Seen twice <on> the board; see our ref NL-77"
    refused = client.post(
        f"{page}/assess",
        data={"csrf_token": token, "assessment": "illegal_material", "note": note},
    )
    assert refused.status_code == 422
    assert "Category" in refused.text  # the rule that refused it, named
    assert re.search(r'value="illegal_material" required checked', refused.text)
    assert "Seen twice &lt;on&gt; the board; see our ref NL-77</textarea>" in refused.text

    # a category picked with an assessment that does not take one keeps the category too
    refused = client.post(
        f"{page}/assess",
        data={"csrf_token": token, "assessment": "", "category": "national-b", "note": "x"},
    )
    assert refused.status_code == 422
    assert re.search(r'<option value="national-b" selected>', refused.text)


def test_a_refused_reroute_keeps_the_member_and_the_reason(
    client: TestClient, session: Session, hotlines: Hotlines, route_all: RouteAll
) -> None:
    page = _report_page(client, session, hotlines, route_all)
    token = csrf_field(client.get(page).text)
    refused = client.post(
        f"{page}/reroute", data={"csrf_token": token, "agency": "NOPE", "reason": "hosted in GB"}
    )
    assert refused.status_code == 422
    assert "hosted in GB</textarea>" in refused.text
