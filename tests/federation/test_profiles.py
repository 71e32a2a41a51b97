"""The national profile: strict by default (no profile, or an empty list, means nothing
crosses), RED and AMBER as blinded tokens only, GREEN as plaintext only where the profile says,
nothing ever to the key holder, every change audited, and words an admin can read."""

from __future__ import annotations

import uuid

import pytest
from builders import make_agency, make_person, token_for
from node_builders import OtherNode
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from taskforce.core.audit.models import AuditEntry
from taskforce.core.caller import Caller, Role, system_caller
from taskforce.core.errors import Conflict, Forbidden, Invalid
from taskforce.core.settings import Settings
from taskforce.federation import identity, peering, profiles
from taskforce.federation.models import Peer, Profile
from taskforce.federation.profiles import Form, crossing

ADMIN = system_caller()
EVERY = [(k, lv) for k in profiles.KIND_WORDS for lv in ("red", "amber", "green")]


@pytest.fixture
def other(session: Session, peer: OtherNode) -> Peer:
    found = session.get(Peer, peer.id)
    assert found is not None
    return found


def _set(session: Session, peer: Peer, **fields: object) -> Profile:
    values: dict[str, object] = {
        "kinds": ["all"],
        "levels": ["red", "amber", "green"],
        "green_plaintext": False,
        "release_required": True,
    }
    values.update(fields)
    return profiles.set_profile(session, ADMIN, peer, **values)  # type: ignore[arg-type]


def _forms(peer: Peer, profile: Profile | None) -> set[tuple[str, str, Form]]:
    return {
        (k, lv, form) for k, lv in EVERY if (form := crossing(peer, profile, k, lv)) is not None
    }


def test_a_peer_without_a_profile_receives_nothing(session: Session, other: Peer) -> None:
    assert profiles.get_profile(session, other.id) is None
    assert _forms(other, None) == set()
    assert profiles.describe(other, None) == [
        "Receives nothing.",
        "No profile is set: nothing crosses until one allows it.",
    ]


def test_an_empty_list_means_nothing_never_everyone(session: Session, other: Peer) -> None:
    no_kinds = _set(session, other, kinds=[])
    assert no_kinds.kinds == []
    assert _forms(other, no_kinds) == set()
    assert profiles.describe(other, no_kinds) == [
        "Receives nothing.",
        "The profile lists no selector types: nothing crosses.",
    ]
    no_levels = _set(session, other, levels=[" ", ""])
    assert _forms(other, no_levels) == set()
    assert "no sharing levels" in profiles.describe(other, no_levels)[1]


def test_red_and_amber_cross_as_tokens_only_and_pdq_of_them_as_chunk_tokens(
    session: Session, other: Peer
) -> None:
    profile = _set(session, other, kinds=["email", "phone", "pdq"], levels=["red", "amber"])
    assert _forms(other, profile) == {
        ("email", "red", Form.TOKEN),
        ("email", "amber", Form.TOKEN),
        ("phone", "red", Form.TOKEN),
        ("phone", "amber", Form.TOKEN),
        ("pdq", "red", Form.PDQ_CHUNKS),
        ("pdq", "amber", Form.PDQ_CHUNKS),
    }
    assert profiles.describe(other, profile) == [
        "Receives blinded tokens of e-mail and phone number selectors of RED and AMBER cases: "
        "it can match them, not read them.",
        "Receives blinded chunk tokens of PDQ selectors of RED and AMBER cases: it finds "
        "candidates, which this node confirms on the hash; it cannot read the hash.",
        "Details of a hit (case reference, title, investigator) go only after your agency "
        "releases them.",
    ]


def test_green_is_plaintext_only_when_the_profile_says_so(session: Session, other: Peer) -> None:
    tokens = _set(session, other, kinds=["email", "pdq"], levels=["green"])
    assert _forms(other, tokens) == {
        ("email", "green", Form.TOKEN),
        ("pdq", "green", Form.PDQ_CHUNKS),
    }
    plain = _set(session, other, kinds=["email", "pdq"], levels=["green"], green_plaintext=True)
    assert _forms(other, plain) == {
        ("email", "green", Form.PLAINTEXT),
        ("pdq", "green", Form.PLAINTEXT),
    }
    words = profiles.describe(other, plain)
    assert words[0] == "Receives e-mail and PDQ selectors of GREEN cases as plaintext."
    # RED never in plaintext, whatever the flag says
    mixed = _set(session, other, kinds=["email"], levels=["red", "green"], green_plaintext=True)
    assert crossing(other, mixed, "email", "red") is Form.TOKEN


def test_the_release_words_follow_the_rule(session: Session, other: Peer) -> None:
    profile = _set(session, other, kinds=["email"], levels=["red", "green"], release_required=False)
    assert profiles.release_required(profile, "red")
    assert not profiles.release_required(profile, "green")
    assert profiles.describe(other, profile)[-1] == (
        "Details of a hit (case reference, title, investigator) go with the hit for GREEN cases; "
        "for RED cases only after your agency releases them."
    )


def test_all_means_every_type_and_words_are_read_as_typed(session: Session, other: Peer) -> None:
    profile = _set(session, other, kinds=["all"], levels=["Amber", "RED"])
    assert profile.kinds == list(profiles.KIND_WORDS)
    assert profile.levels == ["red", "amber"]
    assert _set(session, other, kinds=["Crypto wallet", "payment-account"]).kinds == [
        "payment_account",
        "crypto_wallet",
    ]


@pytest.mark.parametrize(
    ("field", "kinds", "levels", "said"),
    [
        ("kinds", ["email", "fax"], ["red"], "'fax' is not a selector type; use 'all'"),
        ("levels", ["email"], ["red", "purple"], "'purple' is not a sharing level"),
    ],
)
def test_bad_types_and_levels_are_named(
    session: Session, other: Peer, field: str, kinds: list[str], levels: list[str], said: str
) -> None:
    with pytest.raises(Invalid) as refused:
        _set(session, other, kinds=kinds, levels=levels)
    assert refused.value.field == field
    assert said in refused.value.rule
    assert "an empty list means nothing crosses" in refused.value.rule
    assert profiles.get_profile(session, other.id) is None


def test_the_key_holder_never_receives_selectors(session: Session, other: Peer) -> None:
    _set(session, other, kinds=["email"], levels=["red"])
    change = peering.set_key_holder(session, ADMIN, other, True)
    assert change.profile_cleared
    assert any("profile was cleared" in m for m in change.messages)
    assert profiles.get_profile(session, other.id) is None

    with pytest.raises(Invalid) as refused:
        _set(session, other, kinds=["email"], levels=["red"])
    assert refused.value.rule == profiles.KEY_HOLDER_RULE
    # even a profile row written some other way gives it nothing
    forced = Profile(peer_id=other.id, kinds=["email"], levels=["green"])
    forced.green_plaintext = True
    assert _forms(other, forced) == set()
    assert "key holder" in profiles.describe(other, forced)[0]
    # an empty profile is no allowance: allowed, and still nothing
    assert _set(session, other, kinds=[], levels=[]).kinds == []


def test_one_key_holder_at_most_and_its_target(session: Session, other: Peer) -> None:
    assert peering.key_holder_target(session) is None
    peering.set_key_holder(session, ADMIN, other, True)
    target = peering.key_holder_target(session)
    assert target is not None
    assert (target.peer_id, target.name, target.url) == (other.id, other.name, other.url)

    second = OtherNode(name="Node C", url="http://node-c.example.org")
    added = peering.add_peer(session, ADMIN, identity.read_document(second.document()))
    with pytest.raises(Conflict, match="Node B is the key holder already"):
        peering.set_key_holder(session, ADMIN, added, True)
    assert not peering.set_key_holder(session, ADMIN, other, True).changed
    peering.set_key_holder(session, ADMIN, other, False)
    assert peering.key_holder_target(session) is None
    peering.set_key_holder(session, ADMIN, added, True)
    assert peering.key_holder_target(session).name == "Node C"  # type: ignore[union-attr]


def test_removing_a_peer_withdraws_its_profile_and_flag(session: Session, other: Peer) -> None:
    _set(session, other, kinds=["email"], levels=["red"])
    peering.remove_peer(session, ADMIN, other.name)
    assert profiles.get_profile(session, other.id) is None
    assert profiles.describe(other, None) == ["Receives nothing: the peering was removed."]
    with pytest.raises(Conflict, match="was removed"):
        _set(session, other, kinds=["email"], levels=["red"])


def test_only_the_network_admin_changes_a_profile(session: Session, other: Peer) -> None:
    someone = Caller(role=Role.AGENCY_ADMIN, channel="cli", agency_id=uuid.uuid4())
    with pytest.raises(Forbidden):
        profiles.set_profile(
            session,
            someone,
            other,
            kinds=["email"],
            levels=["red"],
            green_plaintext=False,
            release_required=True,
        )
    with pytest.raises(Forbidden):
        peering.set_key_holder(session, someone, other, True)
    assert profiles.get_profile(session, other.id) is None


def test_every_change_is_audited_with_before_and_after(session: Session, other: Peer) -> None:
    _set(session, other, kinds=["email"], levels=["red"])
    _set(session, other, kinds=["email", "phone"], levels=["red"], green_plaintext=True)
    assert profiles.clear_profile(session, ADMIN, other)
    assert not profiles.clear_profile(session, ADMIN, other)  # nothing to clear: not audited
    entries = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "federation.profile.change")
    ).all()
    pairs = [(e.detail["before"], e.detail["after"]) for e in entries]
    assert len(pairs) == 3
    for expected in [
        (
            None,
            {
                "kinds": ["email"],
                "levels": ["red"],
                "green_plaintext": False,
                "release_required": True,
            },
        ),
        (
            {
                "kinds": ["email"],
                "levels": ["red"],
                "green_plaintext": False,
                "release_required": True,
            },
            {
                "kinds": ["email", "phone"],
                "levels": ["red"],
                "green_plaintext": True,
                "release_required": True,
            },
        ),
        (
            {
                "kinds": ["email", "phone"],
                "levels": ["red"],
                "green_plaintext": True,
                "release_required": True,
            },
            None,
        ),
    ]:
        assert expected in pairs
    assert all(e.subject_id == other.id and list(e.recipients) == [other.name] for e in entries)


# --- the API: GET/PUT/DELETE /api/v1/federation/peers/{id}/profile ---------------------------


def test_the_profile_over_the_api(
    client: TestClient, session: Session, settings: Settings, other: Peer
) -> None:
    admin = make_person(session, make_agency(session, "EU-EC3"), role=Role.NETWORK_ADMIN)
    headers = token_for(session, settings, admin)
    url = f"/api/v1/federation/peers/{other.id}/profile"

    empty = client.get(url, headers=headers)
    assert empty.status_code == 200
    assert empty.json()["set"] is False
    assert empty.json()["description"][0] == "Receives nothing."

    put = client.put(url, headers=headers, json={"kinds": ["email"], "levels": ["red"]})
    assert put.status_code == 200, put.text
    assert (put.json()["kinds"], put.json()["levels"]) == (["email"], ["red"])
    assert put.json()["description"][0].startswith("Receives blinded tokens of e-mail")
    assert client.get(url, headers=headers).json()["set"] is True

    bad = client.put(url, headers=headers, json={"kinds": ["fax"], "levels": ["red"]})
    assert bad.status_code == 422
    assert bad.json()["field"] == "kinds"
    extra = client.put(url, headers=headers, json={"kinds": [], "everyone": True})
    assert extra.status_code == 422  # an unknown field is refused, never ignored

    assert (
        client.get(f"/api/v1/federation/peers/{uuid.uuid4()}/profile", headers=headers).status_code
        == 404
    )
    peers = client.get("/api/v1/federation/peers", headers=headers).json()
    assert peers[0]["key_holder"] is False
    assert peers[0]["synced_at"] is None

    cleared = client.delete(url, headers=headers)
    assert cleared.json()["set"] is False
    assert profiles.get_profile(session, other.id) is None
    channels = session.scalars(
        select(AuditEntry.channel).where(AuditEntry.action == "federation.profile.change")
    ).all()
    assert list(channels) == ["api", "api"]

    analyst = make_person(session, make_agency(session, "NL-POL"))
    other_headers = token_for(session, settings, analyst)
    assert client.get(url, headers=other_headers).status_code == 403
    assert client.put(url, headers=other_headers, json={"kinds": ["all"]}).status_code == 403


def test_every_form_the_rule_can_give_has_words(
    session: Session, other: Peer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the rule grows a form, the page must say it, not drop it silently."""
    profile = _set(session, other, kinds=["pdq"], levels=["red"])
    for form in Form:
        monkeypatch.setattr(profiles, "crossing", lambda *_, f=form: f)
        said = profiles.describe(other, profile)[0]
        assert said.startswith("Receives ")
        assert "PDQ selectors of RED cases" in said
