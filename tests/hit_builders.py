"""A cross-node hit made the way the sync makes one: the peer's agency in its directory, its
entry holding a token this node also made for one of its selectors, then `for_entries`."""

from __future__ import annotations

import base64
import hashlib
import uuid
from typing import Any

from builders import Person, add_selector, make_case
from node_builders import OtherNode
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.cases.models import Case, Selector
from taskforce.core.settings import Settings
from taskforce.federation import matching
from taskforce.federation.models import OwnToken, PeerAgency, RemoteEntry, RemoteHit

PEER_AGENCY = uuid.UUID("0b5e6d1e-0000-4000-8000-0000000000b1")


def token_of(text: str, epoch: int = 1) -> bytes:
    """A stand-in for an OPRF token: matching compares bytes, it never makes tokens."""
    return hashlib.sha512(f"{epoch}|{text}".encode()).digest()


def directory_agency(session: Session, peer: OtherNode) -> PeerAgency:
    agency = PeerAgency(
        peer_id=peer.id,
        agency_id=PEER_AGENCY,
        code="NL-POL",
        name="Politie (fictional)",
        country="NL",
        kind="police",
        timezone="Europe/Amsterdam",
        contact_desk="NL-POL 24/7 desk",
        contact_phone="+31612345678",
        contact_email="desk@nl-pol.example.com",
        partners=[],
    )
    session.add(agency)
    session.flush()
    return agency


def remote_hit(
    session: Session,
    settings: Settings,
    person: Person,
    peer: OtherNode,
    value: str = "shared.suspect@example.com",
    *,
    details: dict[str, Any] | None = None,
    case: Case | None = None,
) -> RemoteHit:
    """A RED case of `person`'s agency holding `value`, met by the peer's token entry."""
    case = case or make_case(session, person, title="Operation Crossing")
    added = add_selector(session, settings, person, case, "email", value)
    selector = session.get(Selector, added.selector.id)
    assert selector is not None
    if session.get(OwnToken, (selector.value_id, 1)) is None:
        session.add(OwnToken(value_id=selector.value_id, epoch=1, token=token_of(value)))
    if session.get(PeerAgency, (peer.id, PEER_AGENCY)) is None:
        directory_agency(session, peer)
    entry = RemoteEntry(
        peer_id=peer.id,
        ref=str(uuid.uuid4()),
        seq=1,
        kind="email",
        form="token",
        epoch=1,
        value=base64.b64encode(token_of(value)).decode(),
        level="red",
        agency_id=PEER_AGENCY,
        details=details or {},
    )
    session.add(entry)
    session.flush()
    assert matching.for_entries(session, peer.id, [entry.ref], []) >= 1
    return session.scalars(
        select(RemoteHit).where(RemoteHit.ref == entry.ref, RemoteHit.selector_id == selector.id)
    ).one()
