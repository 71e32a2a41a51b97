"""How a new hit is announced (cases.additions.hit_messages), the one rule for local and
cross-node hits: an e-mail to the case's inbox owner that links the hit and says no more, and
the agency's `hit.created` webhook as JSON."""

from __future__ import annotations

import json
import uuid

from builders import Network, add_selector, make_case
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.agencies.models import Agency
from taskforce.cases.additions import hit_messages
from taskforce.core.db import utcnow
from taskforce.core.outbox.models import OutboxMessage
from taskforce.core.settings import Settings


def test_a_local_hit_mails_the_inbox_owner_and_calls_the_webhook(
    session: Session, settings: Settings, network: Network
) -> None:
    gb_agency = session.get(Agency, network.gb.user.agency_id)
    assert gb_agency is not None
    gb_agency.webhook_url = "https://hooks.example.com/gb"
    session.flush()
    gb_case = make_case(session, network.gb)
    nl_case = make_case(session, network.nl)
    add_selector(session, settings, network.gb, gb_case, "email", "harbour.light@example.com")
    added = add_selector(
        session, settings, network.nl, nl_case, "email", "harbour.light@example.com"
    )
    assert added.hits, "the second holder makes a hit"
    hit_id = added.hits[0].id
    messages = session.scalars(select(OutboxMessage)).all()
    [mail] = [m for m in messages if m.channel == "email" and m.recipient == network.gb.user.email]
    assert mail.subject == f"[taskforce] New hit on {gb_case.reference} (email)"
    assert "held by another agency" in mail.body
    assert f"/ui/hits/{hit_id}" in mail.body
    assert nl_case.reference not in mail.body + mail.subject  # RED: the other case is not named
    [hook] = [m for m in messages if m.channel == "webhook"]
    assert hook.recipient == "https://hooks.example.com/gb"
    assert json.loads(hook.body) == {
        "event": "hit.created",
        "hit": str(hit_id),
        "case": gb_case.reference,
        "type": "email",
    }


def test_a_cross_node_hit_names_its_node_and_the_webhook_stays_json(
    session: Session, network: Network
) -> None:
    case = make_case(session, network.gb)
    case.reference = 'GB-"QUOTED"-1'  # whatever a reference holds, the body stays JSON
    hit_id = uuid.uuid4()
    mail, hook = hit_messages(
        case,
        network.gb.user,
        "https://hooks.example.com/gb",
        hit_id=hit_id,
        kind="phone",
        holder="an agency on node Netherlands",
        link=f"https://taskforce.example.org/ui/hits/remote/{hit_id}",
        now=utcnow(),
        node="Netherlands",
    )
    assert mail["subject"] == f"[taskforce] New hit on {case.reference} (phone, node Netherlands)"
    assert "held by an agency on node Netherlands" in mail["body"]
    assert json.loads(hook["body"])["node"] == "Netherlands"
    assert json.loads(hook["body"])["case"] == case.reference
    assert (
        hit_messages(
            case, None, None, hit_id=hit_id, kind="phone", holder="x", link="x", now=utcnow()
        )
        == []
    )
