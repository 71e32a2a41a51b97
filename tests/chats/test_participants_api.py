"""Participants and identifiers over the API: the lists, a confirmation that makes selectors
(with the hit against another agency's case), a dismissal, a bad request named by its field,
and another agency's case or identifier answered 404 like a missing one."""

from __future__ import annotations

import uuid

from builders import Network, make_case, token_for
from chats_builders import PHONE, by_key, imported, known_abroad
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from taskforce.core.settings import Settings


def test_participants_mentions_confirm_and_dismiss_over_the_api(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    known = known_abroad(session, settings, network)
    case, found = known.case, known.found
    phone, url = found["+442079460958"], found["http://example.com/club"]
    headers = token_for(session, settings, network.gb)
    base = f"/api/v1/chats/cases/{case.id}"

    people = client.get(f"{base}/participants", headers=headers)
    assert people.status_code == 200, people.text
    sam = people.json()["participants"][0]
    assert (sam["handle"], sam["message_count"]) == (PHONE, 3)
    assert sam["mention"]["value"] == "+442079460958"
    assert sam["conversations"][0]["title"] == "club"

    listed = client.get(f"{base}/mentions?status=proposed", headers=headers).json()
    assert listed["total"] == 4
    assert listed["mentions"][0]["value"] == "+442079460958"  # the author's account first

    bad = client.get(f"{base}/mentions?status=maybe", headers=headers)
    assert bad.status_code == 422
    assert "status" in bad.text

    done = client.post(
        f"{base}/mentions/confirm",
        json={"mention_ids": [str(phone.id)], "note": "Sam, the coach"},
        headers=headers,
    )
    assert done.status_code == 200, done.text
    assert (done.json()["added"], done.json()["hits"]) == (1, 1)
    selectors = client.get(f"/api/v1/cases/{case.id}/selectors", headers=headers).json()
    assert [(s["type"], s["value"]) for s in selectors] == [("phone", "+442079460958")]

    dismissed = client.post(
        f"{base}/mentions/dismiss", json={"mention_ids": [str(url.id)]}, headers=headers
    )
    assert dismissed.json() == {"case_id": str(case.id), "changed": 1}
    counts = client.get(f"{base}/mentions", headers=headers).json()["counts"]
    assert counts == {"proposed": 2, "confirmed": 1, "dismissed": 1}

    empty = client.post(f"{base}/mentions/confirm", json={"mention_ids": []}, headers=headers)
    assert empty.status_code == 422


def test_another_agency_gets_404_for_the_case_and_the_identifiers(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    case = make_case(session, network.gb, title="Operation Harbour")
    imported(session, case)
    mention = by_key(session, case)["snapchat:sam_22"]
    nl = token_for(session, settings, network.nl)  # GB's partner: sees none of its chats
    base = f"/api/v1/chats/cases/{case.id}"
    assert client.get(f"{base}/participants", headers=nl).status_code == 404
    assert client.get(f"{base}/mentions", headers=nl).status_code == 404
    answer = client.post(
        f"{base}/mentions/confirm", json={"mention_ids": [str(mention.id)]}, headers=nl
    )
    assert answer.status_code == 404
    # NL's own case in the path does not reach GB's identifier either
    nl_case = make_case(session, network.nl, title="Operation Dune")
    answer = client.post(
        f"/api/v1/chats/cases/{nl_case.id}/mentions/dismiss",
        json={"mention_ids": [str(mention.id)]},
        headers=nl,
    )
    assert answer.status_code == 404
    missing = client.get(f"/api/v1/chats/cases/{uuid.uuid4()}/mentions", headers=nl)
    assert missing.status_code == 404
    session.expire_all()
    assert by_key(session, case)["snapchat:sam_22"].status == "proposed"
