"""The chat pages as an analyst uses them: the queue, a conversation with the rule's words
marked and the statement that a score is a lead, the decision form (refused with the field
named, recorded and shown reviewed), a case's chats; hostile message text escaped under the
strict policy; another agency's conversation or case the same 404 page as a missing one."""

from __future__ import annotations

import re

from builders import Network, make_case, web_login
from chats_builders import Line, conversation, grooming_lines, ordinary_lines
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.chats.models import ChatConversation, ChatMessage
from taskforce.chats.tactics import Tactic
from taskforce.core.audit.models import AuditEntry


def _no_inline_code(html: str) -> None:
    """Strict CSP: no inline script or style; every script is a file of the site."""
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert " style=" not in html
    assert "<style" not in html
    assert not re.search(r"<[a-z][^>]*\son[a-z]+=", html)


def test_queue_conversation_and_decision_in_the_pages(
    client: TestClient, session: Session, network: Network
) -> None:
    case = make_case(session, network.gb, title="Operation Harbour")
    chat = conversation(session, case, "Chat with Kim", grooming_lines(), risk=0.91, flagged_seq=5)
    conversation(session, case, "Football", ordinary_lines(), risk=0.05)
    token = web_login(client, session, network.gb_analyst)

    queue = client.get("/ui/chats")
    assert queue.status_code == 200
    assert queue.headers["content-security-policy"]
    _no_inline_code(queue.text)
    assert (
        'href="/ui/chats">Chats</a>' in queue.text
        or 'href="/ui/chats" class="active"' in queue.text
    )
    rows = re.findall(r'<tr class="[^"]*">(.*?)</tr>', queue.text, re.S)
    assert "Chat with Kim" in rows[0]
    assert "Flagged" in rows[0]
    assert "0.91" in rows[0]
    assert "Secrecy" in rows[0]
    assert "Football" in rows[1]
    assert "never evidence by itself" in queue.text

    page = client.get(f"/ui/chats/conversations/{chat.id}?at=flagged")
    assert page.status_code == 200
    _no_inline_code(page.text)
    assert "never evidence by itself" in page.text
    assert (
        '<mark class="rule tactic-isolation" title="Secrecy · rule secrecy.dont_tell">'
        "don&#39;t tell your parents</mark> we talk, ok?"
    ) in page.text
    assert 'id="m5" class="msg msg-tactic msg-flagged"' in page.text
    assert "at message <a" in page.text
    assert "IMG-20260302-WA0001.jpg" in page.text
    assert "known media" in page.text

    refused = client.post(
        f"/ui/chats/conversations/{chat.id}/review",
        data={"csrf_token": token, "decision": "concern", "note": " "},
        follow_redirects=False,
    )
    assert refused.status_code == 422
    assert "Say what the concern is" in refused.text
    assert 'value="concern" required checked' in refused.text  # what was chosen survives
    done = client.post(
        f"/ui/chats/conversations/{chat.id}/review",
        data={"csrf_token": token, "decision": "concern", "note": "secrecy, then another app"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    shown = client.get(done.headers["location"])
    assert "Your decision is recorded" in shown.text
    assert "Next to review: <a" in shown.text
    assert "<bdi>Football</bdi></a> (risk 0.05)" in shown.text
    assert "secrecy, then another app" in shown.text
    assert "Chat with Kim" not in client.get("/ui/chats").text
    reviewed = client.get("/ui/chats?decision=reviewed").text
    assert "Chat with Kim" in reviewed
    assert "Concern: refer to the investigator" in reviewed
    session.refresh(chat)
    assert chat.decision == "concern"

    forged = client.post(
        f"/ui/chats/conversations/{chat.id}/review",
        data={"csrf_token": "forged", "decision": "no_concern", "note": "x"},
        follow_redirects=False,
    )
    assert forged.status_code == 403

    chats = client.get(f"/ui/chats/cases/{case.id}")
    assert chats.status_code == 200
    assert "Chat with Kim" in chats.text
    assert f"/ui/chats/cases/{case.id}/participants" in chats.text
    assert f'href="/ui/chats/cases/{case.id}"' in client.get(f"/ui/cases/{case.id}").text


def test_hostile_text_is_escaped_and_kept_apart(
    client: TestClient, session: Session, network: Network
) -> None:
    case = make_case(session, network.gb)
    hostile = [
        Line("<b>eve</b>", "<script>alert('x')</script><img src=x onerror=alert(1)>"),
        Line(
            "eve",
            "\u202edon't tell\u202c anyone",
            {Tactic.SECRECY: 0.9},
            [
                (Tactic.SECRECY, "secrecy.dont_tell", "don't tell"),
            ],
        ),
        Line("eve", "a" * 65_536),
    ]
    chat = conversation(session, case, '"><svg onload=alert(1)>', hostile, risk=0.7)
    web_login(client, session, network.gb)
    page = client.get(f"/ui/chats/conversations/{chat.id}")
    assert page.status_code == 200
    _no_inline_code(page.text)
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in (
        page.text
    )
    assert "&lt;b&gt;eve&lt;/b&gt;" in page.text
    assert "<svg onload" not in page.text
    # the override stays inside the message's own isolated text, the mark around the words
    assert '<p class="msg-text">\u202e<mark class="rule tactic-isolation"' in page.text
    assert "a" * 65_536 in page.text
    queue = client.get("/ui/chats").text
    assert "&#34;&gt;&lt;svg onload=alert(1)&gt;" in queue
    _no_inline_code(queue)


def test_another_agency_gets_the_404_page(
    client: TestClient, session: Session, network: Network
) -> None:
    case = make_case(session, network.gb)
    chat = conversation(session, case, "ours", grooming_lines(), risk=0.9)
    token = web_login(client, session, network.us)
    assert client.get(f"/ui/chats/conversations/{chat.id}").status_code == 404
    assert client.get(f"/ui/chats/cases/{case.id}").status_code == 404
    posted = client.post(
        f"/ui/chats/conversations/{chat.id}/review",
        data={"csrf_token": token, "decision": "no_concern", "note": "x"},
        follow_redirects=False,
    )
    assert posted.status_code == 404
    assert "ours" not in client.get("/ui/chats?decision=all").text
    assert session.get(ChatConversation, chat.id).decision == "unreviewed"  # type: ignore[union-attr]
    refused = session.scalars(
        select(AuditEntry.action).where(
            AuditEntry.outcome == "not_found",
            AuditEntry.actor_agency_id == network.us.caller.agency_id,
        )
    ).all()
    assert "chats.conversation.read" in refused
    assert "chats.case.read" in refused


def test_why_these_tactics_opens_the_taggers_reasons_under_the_message(
    client: TestClient, session: Session, network: Network
) -> None:
    case = make_case(session, network.gb)
    chat = conversation(session, case, "ours", grooming_lines(), risk=0.9, flagged_seq=5)
    message = session.scalars(
        select(ChatMessage).where(ChatMessage.conversation_id == chat.id, ChatMessage.seq == 5)
    ).one()
    web_login(client, session, network.gb_analyst)
    page = client.get(f"/ui/chats/conversations/{chat.id}")
    assert f"explain={message.id}#m5" in page.text
    why = client.get(f"/ui/chats/conversations/{chat.id}?explain={message.id}")
    assert why.status_code == 200
    _no_inline_code(why.text)
    panel = why.text.split('<div class="why" id="why">', 1)[1].split("</div>\n        \n", 1)[0]
    assert "Secrecy" in panel
    assert "threshold" in panel
    assert "Model n-grams" in panel
    assert "<code>char:</code> 3 to 5 letters" in panel  # the pieces said in words
    assert "scored by another model version" in panel  # the test's rows name no real model


def test_the_queue_points_to_conversations_left_unclear(
    client: TestClient, session: Session, network: Network
) -> None:
    """'Unclear: needs another look' takes a conversation out of the unreviewed list; the
    queue then says how many wait for that look and links to them."""
    case = make_case(session, network.gb)
    chat = conversation(session, case, "Chat with Kim", grooming_lines(), risk=0.91, flagged_seq=5)
    conversation(session, case, "Football", ordinary_lines(), risk=0.05)
    token = web_login(client, session, network.gb_analyst)
    assert 'id="unclear"' not in client.get("/ui/chats").text
    posted = client.post(
        f"/ui/chats/conversations/{chat.id}/review",
        data={"csrf_token": token, "decision": "unclear", "note": "ask the team about Kim"},
        follow_redirects=False,
    )
    assert posted.status_code == 303
    queue = client.get("/ui/chats").text
    assert "1 conversation marked <strong>unclear</strong> waits for another look" in queue
    assert '<a href="/ui/chats?decision=unclear">show it</a>' in queue
    assert '<a href="/ui/chats?decision=unclear">1 unclear</a>' in queue  # the counts link
    assert "Chat with Kim" in client.get("/ui/chats?decision=unclear").text
