"""The review queue and conversations over the API: the queue riskiest first with a cursor,
a conversation with its marked messages, a decision recorded (or refused naming the field),
and another agency's conversation or case answered 404 like a missing one."""

from __future__ import annotations

import uuid

from builders import Network, make_case, token_for
from chats_builders import conversation, grooming_lines, ordinary_lines
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from taskforce.core.settings import Settings


def test_queue_conversation_and_review_over_the_api(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    case = make_case(session, network.gb, title="Operation Harbour")
    flagged = conversation(
        session, case, "Chat with Kim", grooming_lines(), risk=0.91, flagged_seq=5
    )
    conversation(session, case, "Football", ordinary_lines(), risk=0.05)
    conversation(session, case, "Later", ordinary_lines())
    headers = token_for(session, settings, network.gb_analyst)

    first = client.get("/api/v1/chats/queue?limit=2", headers=headers)
    assert first.status_code == 200, first.text
    body = first.json()
    assert [(i["title"], i["flagged"]) for i in body["items"]] == [
        ("Chat with Kim", True),
        ("Football", False),
    ]
    rest = client.get(f"/api/v1/chats/queue?limit=2&after={body['next']}", headers=headers).json()
    assert [i["title"] for i in rest["items"]] == ["Later"]
    assert rest["next"] is None

    view = client.get(
        f"/api/v1/chats/conversations/{flagged.id}?at_flagged=true&limit=3", headers=headers
    )
    assert view.status_code == 200, view.text
    shown = view.json()
    assert shown["conversation"]["flagged_seq"] == 5
    assert [m["seq"] for m in shown["messages"]["items"]] == [0, 1, 2]
    assert shown["messages"]["items"][2]["rules"] == [
        {"tactic": "age_probing", "rule": "age.how_old", "start": 0, "end": 15}
    ]
    more = client.get(
        f"/api/v1/chats/conversations/{flagged.id}/messages?start=5&limit=1", headers=headers
    ).json()
    assert more["items"][0]["segments"][0] == {
        "text": "don't tell your parents",
        "tactic": "secrecy",
        "rule": "secrecy.dont_tell",
    }

    refused = client.post(
        f"/api/v1/chats/conversations/{flagged.id}/review",
        json={"decision": "no_concern", "note": ""},
        headers=headers,
    )
    assert refused.status_code == 422
    assert refused.json()["field"] == "note"
    done = client.post(
        f"/api/v1/chats/conversations/{flagged.id}/review",
        json={"decision": "concern", "note": "secrecy, then another app"},
        headers=headers,
    )
    assert done.status_code == 201, done.text
    assert done.json()["reviewer"].startswith(network.gb_analyst.user.email)
    assert done.json()["risk"] == 0.91

    chats = client.get(f"/api/v1/chats/cases/{case.id}/conversations", headers=headers).json()
    assert [(c["title"], c["decision"]) for c in chats["conversations"]] == [
        ("Chat with Kim", "concern"),
        ("Football", "unreviewed"),
        ("Later", "unreviewed"),
    ]


def test_another_agency_gets_404_everywhere(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    case = make_case(session, network.gb)
    chat = conversation(session, case, "ours", grooming_lines(), risk=0.9)
    stranger = token_for(session, settings, network.us)
    for path in (
        f"/api/v1/chats/conversations/{chat.id}",
        f"/api/v1/chats/conversations/{chat.id}/messages",
        f"/api/v1/chats/cases/{case.id}/conversations",
        f"/api/v1/chats/conversations/{uuid.uuid4()}",
    ):
        assert client.get(path, headers=stranger).status_code == 404, path
    posted = client.post(
        f"/api/v1/chats/conversations/{chat.id}/review",
        json={"decision": "no_concern", "note": "not ours"},
        headers=stranger,
    )
    assert posted.status_code == 404
    assert client.get("/api/v1/chats/queue?decision=all", headers=stranger).json()["items"] == []
    bad = client.get("/api/v1/chats/queue?after=zz", headers=stranger)
    assert bad.status_code == 422
    assert bad.json()["field"] == "after"
