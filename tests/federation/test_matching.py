"""Cross-node matching: a peer's entry meets this node's selectors, by token or GREEN plaintext,
in both directions, once, and never for what the local engine would not let hit."""

from __future__ import annotations

import base64
import hashlib
import uuid

from builders import Network, add_selector, make_case
from node_builders import OtherNode
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from taskforce.cases import service as case_service
from taskforce.cases.models import Case, Selector, SelectorValue
from taskforce.cases.schemas import CaseStatus
from taskforce.core.audit.models import AuditEntry
from taskforce.core.caller import system_caller
from taskforce.core.db import utcnow
from taskforce.core.outbox.models import OutboxMessage
from taskforce.core.settings import Settings
from taskforce.federation import matching, peering
from taskforce.federation.models import OwnToken, Peer, RemoteEntry, RemoteHit

EMAIL = "suspect.match@example.com"


def token_of(text: str, epoch: int = 1) -> bytes:
    """A stand-in for an OPRF token: matching compares bytes, it never makes tokens."""
    return hashlib.sha512(f"{epoch}|{text}".encode()).digest()


def selector_on(
    session: Session, settings: Settings, network: Network, value: str, kind: str = "email"
) -> tuple[Case, Selector]:
    case = make_case(session, network.gb)
    added = add_selector(session, settings, network.gb, case, kind, value)
    selector = session.get(Selector, added.selector.id)
    assert selector is not None
    return case, selector


def own_token(session: Session, selector: Selector, text: str, epoch: int = 1) -> None:
    session.add(OwnToken(value_id=selector.value_id, epoch=epoch, token=token_of(text, epoch)))
    session.flush()


def entry(
    session: Session,
    peer: OtherNode,
    value: str,
    *,
    kind: str = "email",
    form: str = "token",
    epoch: int | None = 1,
    level: str = "red",
) -> RemoteEntry:
    row = RemoteEntry(
        peer_id=peer.id,
        ref=str(uuid.uuid4()),
        seq=1,
        kind=kind,
        form=form,
        epoch=epoch,
        value=value,
        level=level,
        agency_id=uuid.uuid4(),
        details={},
    )
    session.add(row)
    session.flush()
    return row


def token_entry(session: Session, peer: OtherNode, text: str, **kw: object) -> RemoteEntry:
    epoch = kw.get("epoch", 1)
    assert isinstance(epoch, int)
    value = base64.b64encode(token_of(text, epoch)).decode()
    return entry(session, peer, value, **kw)  # type: ignore[arg-type]


def hits(session: Session) -> list[RemoteHit]:
    return list(session.scalars(select(RemoteHit)))


def test_a_peer_token_meets_an_own_token_once(
    session: Session, settings: Settings, network: Network, peer: OtherNode
) -> None:
    case, selector = selector_on(session, settings, network, EMAIL)
    own_token(session, selector, EMAIL)
    published = token_entry(session, peer, EMAIL)

    assert matching.for_entries(session, peer.id, [published.ref], []) == 1
    assert matching.for_entries(session, peer.id, [published.ref], []) == 0
    assert matching.for_values(session, [selector.value_id]) == 0

    [hit] = hits(session)
    assert (hit.peer_id, hit.ref, hit.selector_id) == (peer.id, published.ref, selector.id)
    assert (hit.case_id, hit.agency_id, hit.kind) == (case.id, case.owner_agency_id, "email")
    # notified as a local hit is: an e-mail to the case's investigator, an audit entry
    [mail] = session.scalars(
        select(OutboxMessage).where(OutboxMessage.subject.contains("node Node B"))
    ).all()
    assert mail.recipient == network.gb.user.email
    assert f"/ui/hits/remote/{hit.id}" in mail.body
    assert EMAIL not in mail.body
    found = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "federation.hit.found")
    ).all()
    assert [(a.subject_id, a.detail["node"]) for a in found] == [(case.id, "Node B")]


def test_an_own_value_tokenised_later_meets_the_live_entries(
    session: Session, settings: Settings, network: Network, peer: OtherNode
) -> None:
    _, selector = selector_on(session, settings, network, EMAIL)
    published = token_entry(session, peer, EMAIL)
    assert matching.for_entries(session, peer.id, [published.ref], []) == 0  # no token yet

    own_token(session, selector, EMAIL)
    assert matching.for_values(session, [selector.value_id]) == 1
    assert matching.for_values(session, [selector.value_id]) == 0
    assert len(hits(session)) == 1


def test_every_case_holding_the_value_gets_its_hit(
    session: Session, settings: Settings, network: Network, peer: OtherNode
) -> None:
    _, first = selector_on(session, settings, network, EMAIL)
    _, second = selector_on(session, settings, network, EMAIL)
    assert first.value_id == second.value_id
    own_token(session, first, EMAIL)
    published = token_entry(session, peer, EMAIL)
    assert matching.for_entries(session, peer.id, [published.ref], []) == 2
    assert {h.selector_id for h in hits(session)} == {first.id, second.id}


def test_another_epoch_or_type_or_token_does_not_meet(
    session: Session, settings: Settings, network: Network, peer: OtherNode
) -> None:
    _, selector = selector_on(session, settings, network, EMAIL)
    own_token(session, selector, EMAIL)
    refs = [
        token_entry(session, peer, EMAIL, epoch=2).ref,  # the same value under another epoch
        entry(session, peer, base64.b64encode(token_of(EMAIL)).decode(), kind="phone").ref,
        token_entry(session, peer, "someone.else@example.com").ref,
        entry(session, peer, "not base64!", kind="email").ref,
    ]
    assert matching.for_entries(session, peer.id, refs, []) == 0
    assert hits(session) == []


def test_a_withdrawn_entry_marks_its_hit_withdrawn_and_keeps_it(
    session: Session, settings: Settings, network: Network, peer: OtherNode
) -> None:
    _, selector = selector_on(session, settings, network, EMAIL)
    own_token(session, selector, EMAIL)
    published = token_entry(session, peer, EMAIL)
    matching.for_entries(session, peer.id, [published.ref], [])

    assert matching.for_entries(session, peer.id, [], [published.ref]) == 0
    [hit] = hits(session)
    assert hit.withdrawn_at is not None

    # the sync marks the entry withdrawn: the own side's new values no longer meet it
    published.withdrawn_at = hit.withdrawn_at
    session.flush()
    _, other = selector_on(session, settings, network, EMAIL)
    assert matching.for_values(session, [other.value_id]) == 0


def test_closed_cases_noise_and_common_values_make_no_hit(
    session: Session, settings: Settings, network: Network, peer: OtherNode
) -> None:
    closed, on_closed = selector_on(session, settings, network, EMAIL)
    case_service.set_status(session, network.gb.caller, closed.id, CaseStatus.CLOSED)
    _, noise = selector_on(session, settings, network, "8.8.8.8", kind="ip")
    assert noise.noise_reason is not None
    _, common = selector_on(session, settings, network, "common.one@example.com")
    value = session.get(SelectorValue, common.value_id)
    assert value is not None
    value.is_common = True
    for selector, text in ((on_closed, EMAIL), (noise, "8.8.8.8"), (common, value.key)):
        own_token(session, selector, text)
    refs = [
        token_entry(session, peer, EMAIL).ref,
        token_entry(session, peer, "8.8.8.8", kind="ip").ref,
        token_entry(session, peer, value.key).ref,
    ]
    assert matching.for_entries(session, peer.id, refs, []) == 0
    assert matching.for_values(session, [on_closed.value_id, noise.value_id, value.id]) == 0
    assert hits(session) == []


def test_green_plaintext_meets_the_match_key(
    session: Session, settings: Settings, network: Network, peer: OtherNode
) -> None:
    # two spellings of one address: the peer publishes the match key, as the engine makes it
    _, selector = selector_on(session, settings, network, "Green.Case@Example.COM")
    value = session.get(SelectorValue, selector.value_id)
    assert value is not None
    green = entry(session, peer, value.key, form="plaintext", epoch=None, level="green")
    assert matching.for_entries(session, peer.id, [green.ref], []) == 1

    # and from this node's side: a second case's selector of that value
    _, later = selector_on(session, settings, network, "green.case@example.com")
    assert matching.for_values(session, [later.value_id]) == 1
    assert len(hits(session)) == 2


def test_pdq_entries_are_not_matched_as_exact_values(
    session: Session, settings: Settings, network: Network, peer: OtherNode
) -> None:
    """A GREEN plaintext PDQ hash hits by distance (`for_entries`, `for_pdq_values`:
    tests/federation/test_pdq_candidates.py), never through the exact-value path."""
    bits = "f" * 64
    _, selector = selector_on(session, settings, network, bits, kind="pdq")
    value = session.get(SelectorValue, selector.value_id)
    assert value is not None
    pdq = entry(session, peer, value.key, kind="pdq", form="plaintext", epoch=None, level="green")
    assert matching.for_values(session, [selector.value_id]) == 0
    assert matching.for_entries(session, peer.id, [pdq.ref], []) == 1  # by distance (0)
    assert matching.for_values(session, [selector.value_id]) == 0


def test_a_removed_peer_entries_meet_nothing_new(
    session: Session, settings: Settings, network: Network, peer: OtherNode
) -> None:
    _, selector = selector_on(session, settings, network, EMAIL)
    token_entry(session, peer, EMAIL)
    peering.remove_peer(session, system_caller(), peer.name)
    removed = session.get(Peer, peer.id)
    assert removed is not None
    assert removed.state == "removed"
    own_token(session, selector, EMAIL)
    assert matching.for_values(session, [selector.value_id]) == 0
    assert session.scalar(select(func.count()).select_from(RemoteHit)) == 0


def test_a_case_added_later_to_a_matched_value_gets_its_hit(
    session: Session, settings: Settings, network: Network, peer: OtherNode
) -> None:
    _, first = selector_on(session, settings, network, EMAIL)
    own_token(session, first, EMAIL)
    published = token_entry(session, peer, EMAIL)
    assert matching.for_entries(session, peer.id, [published.ref], []) == 1
    assert matching.for_new_holders(session) == 0

    # a second case of the value brings no new token (the publisher tokenises values once)
    _, second = selector_on(session, settings, network, EMAIL)
    assert matching.for_new_holders(session) == 1
    assert matching.for_new_holders(session) == 0
    assert {h.selector_id for h in hits(session)} == {first.id, second.id}


def test_a_ref_published_again_brings_its_hit_back_and_a_withdrawn_one_does_not(
    session: Session, settings: Settings, network: Network, peer: OtherNode
) -> None:
    _, selector = selector_on(session, settings, network, EMAIL)
    own_token(session, selector, EMAIL)
    published = token_entry(session, peer, EMAIL)
    matching.for_entries(session, peer.id, [published.ref], [])
    matching.for_entries(session, peer.id, [], [published.ref])
    published.withdrawn_at = utcnow()
    session.flush()
    # named as added while its entry is withdrawn: the hit stays withdrawn
    assert matching.for_entries(session, peer.id, [published.ref], []) == 0
    [hit] = hits(session)
    assert hit.withdrawn_at is not None

    published.withdrawn_at = None  # the peer published the ref again (a level changed)
    session.flush()
    assert matching.for_entries(session, peer.id, [published.ref], []) == 0  # not a new hit
    session.refresh(hit)
    assert hit.withdrawn_at is None
