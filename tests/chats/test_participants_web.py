"""The participants page: who wrote and the identifiers found, where each was first seen
(linked to its conversation), and a form that confirms several at once into selectors of the
case or dismisses them; a refusal shown on the page, another agency's case a 404."""

from __future__ import annotations

import re

from builders import Network, csrf_field, make_case, web_login
from chats_builders import PHONE, imported, known_abroad
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from taskforce.core.settings import Settings


def test_the_page_lists_and_confirms_several_identifiers_at_once(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    known = known_abroad(session, settings, network)
    case, found = known.case, known.found
    chat = known.chat
    phone, snap = found["+442079460958"], found["snapchat:sam_22"]
    web_login(client, session, network.gb)
    url = f"/ui/chats/cases/{case.id}/participants"

    page = client.get(url)
    assert page.status_code == 200, page.text
    html = page.text
    assert case.reference in html
    assert PHONE in html
    assert "no account (a contact name or pseudonym)" in html  # Kim
    assert (
        f'href="/ui/chats/conversations/{chat.id}?start=2#m2"' in html
    )  # the handle's first message
    first_seen = client.get(f"/ui/chats/conversations/{chat.id}?start=2")
    assert first_seen.status_code == 200
    assert 'id="m2"' in first_seen.text
    assert re.search(rf'name="mention" value="{snap.id}" form="decide"', html)
    assert "<script" not in html.split("</header>")[-1]  # strict CSP: no inline script
    assert 'class="table table-dense table-stack"' in html  # one block a row on a phone
    assert 'data-label="First seen"' in html

    done = client.post(
        f"/ui/chats/cases/{case.id}/mentions",
        data={
            "csrf_token": csrf_field(html),
            "mention": [str(phone.id), str(snap.id)],
            "action": "confirm",
            "note": "Sam, the coach",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    shown = client.get(done.headers["location"])
    assert "2 confirmed: 2 selectors added to" in shown.text
    assert "1 new hit" in shown.text
    assert shown.text.count('<span class="state state-open">selector</span>') == 2
    # a confirmed identifier has no box to tick any more
    assert f'value="{snap.id}" form="decide"' not in shown.text

    confirmed = client.get(f"{url}?status=confirmed")
    assert "sam_22" in confirmed.text
    assert "example.com/club" not in confirmed.text


def test_a_refusal_is_shown_on_the_page_and_another_agency_gets_404(
    client: TestClient, session: Session, network: Network
) -> None:
    case = make_case(session, network.gb, title="Operation Harbour")
    imported(session, case)
    web_login(client, session, network.gb)
    url = f"/ui/chats/cases/{case.id}/participants"
    token = csrf_field(client.get(url).text)
    none_chosen = client.post(
        f"/ui/chats/cases/{case.id}/mentions", data={"csrf_token": token, "action": "confirm"}
    )
    assert none_chosen.status_code == 422
    assert "Choose at least one identifier" in none_chosen.text
    assert "Mentions:" not in none_chosen.text  # the API field, not words for the page
    client.post("/ui/logout", data={"csrf_token": token})
    client.cookies.clear()
    web_login(client, session, network.nl)  # GB's partner: none of GB's chats
    assert client.get(url).status_code == 404
