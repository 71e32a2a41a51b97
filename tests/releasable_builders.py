"""A small network with material on every side of the releasability line (synthetic, benign:
example.com addresses, 203.0.113.0/24, fictional wallets), for the interop tests."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from builders import Network, add_selector, make_case
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from taskforce.cases.models import Case, Selector, SelectorValue
from taskforce.cases.selectors import normalise
from taskforce.core.settings import Settings
from taskforce.core.sharing import SharingLevel
from taskforce.hashsets import service as hashset_service
from taskforce.hashsets.models import HashEntry, HashSet
from taskforce.hashsets.schemas import HashSetCreate

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
WALLET = "0x" + "ab" * 20
PDQ = "f0" * 32

# what the GREEN case holds: (type, value, platform); phone has no STIX form
GREEN_SELECTORS: list[tuple[str, str, str | None]] = [
    ("url", "http://example.com/it's/a\\path", None),
    ("domain", "example.org", None),
    ("email", "someone@example.com", None),
    ("ip", "203.0.113.7", None),
    ("ip", "2001:db8::7", None),
    ("crypto_wallet", WALLET, None),
    ("username", "fictional_user", "instagram"),
    ("md5", "d41d8cd98f00b204e9800998ecf8427e", None),
    ("sha1", "da39a3ee5e6b4b0d3255bfef95601890afd80709", None),
    ("sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", None),
    ("pdq", PDQ, None),
    ("phone", "+442079460958", None),
]
# their canonical forms, as stored and exported
GREEN_VALUES = [normalise(k, v, platform=p).value for k, v, p in GREEN_SELECTORS]


@dataclass
class World:
    green: Case
    nl_green: Case
    held_back: Case  # GREEN, not for export
    amber: Case
    red: Case
    peer: Case  # GREEN, from a peer node
    green_set: HashSet
    held_back_set: HashSet
    red_set: HashSet
    noise_value: str = "noise.example.com"
    common_value: str = "common.example.com"
    withheld: list[str] = field(default_factory=list)  # values that must never leave


def _stamp(session: Session, case: Case, start: datetime) -> None:
    """Give the case's selectors distinct, known times (tests never read the clock)."""
    session.flush()
    ids = session.scalars(
        select(Selector.id).where(Selector.case_id == case.id).order_by(Selector.value)
    ).all()
    for i, selector_id in enumerate(ids):
        session.execute(
            update(Selector)
            .where(Selector.id == selector_id)
            .values(added_at=start + timedelta(minutes=i))
        )
    session.execute(
        update(Case).where(Case.id == case.id).values(created_at=start - timedelta(days=1))
    )


def _entry(session: Session, hash_set: HashSet, n: int, *, pdq: str | None = None) -> None:
    md5 = hashlib.md5(f"file-{hash_set.name}-{n}".encode()).hexdigest()  # noqa: S324
    sha256 = hashlib.sha256(f"file-{hash_set.name}-{n}".encode()).hexdigest()
    session.add(
        HashEntry(
            hash_set_id=hash_set.id,
            entry_key=sha256,
            md5=md5,
            sha256=sha256,
            pdq=pdq,
            added_at=T0 + timedelta(hours=n),
        )
    )


def build(session: Session, settings: Settings, network: Network) -> World:
    gb, nl = network.gb, network.nl
    green = make_case(session, gb, title="Secret title", sharing=SharingLevel.GREEN)
    session.execute(
        update(Case)
        .where(Case.id == green.id)
        .values(summary="Secret summary", offence_types=["csam-distribution"])
    )
    for kind, value, platform in GREEN_SELECTORS:
        add_selector(
            session, settings, gb, green, kind, value, platform=platform, note="Secret note"
        )
    add_selector(session, settings, gb, green, "domain", "noise.example.com")
    add_selector(session, settings, gb, green, "domain", "common.example.com")
    session.execute(
        update(Selector).where(Selector.value == "noise.example.com").values(noise_reason="cdn")
    )
    session.execute(
        update(SelectorValue)
        .where(SelectorValue.key == "common.example.com")
        .values(is_common=True)
    )
    _stamp(session, green, T0)

    nl_green = make_case(session, nl, sharing=SharingLevel.GREEN)
    add_selector(session, settings, nl, nl_green, "domain", "nl-shared.example.net")
    add_selector(session, settings, nl, nl_green, "domain", "example.org")  # also in GB's
    _stamp(session, nl_green, T0 + timedelta(days=1))

    held_back = make_case(session, gb, sharing=SharingLevel.GREEN)
    session.execute(update(Case).where(Case.id == held_back.id).values(not_for_export=True))
    add_selector(session, settings, gb, held_back, "url", "http://held-back.example.com/")
    amber = make_case(session, gb, sharing=SharingLevel.AMBER, partners=["NL-NP"])
    add_selector(session, settings, gb, amber, "url", "http://amber.example.com/")
    red = make_case(session, gb)
    add_selector(session, settings, gb, red, "ip", "203.0.113.99")
    peer = make_case(session, gb, sharing=SharingLevel.GREEN)
    session.execute(update(Case).where(Case.id == peer.id).values(origin_node="peer-node"))
    add_selector(session, settings, gb, peer, "url", "http://peer.example.com/")
    for case, start in ((held_back, 2), (amber, 3), (red, 4), (peer, 5)):
        _stamp(session, case, T0 + timedelta(days=start))

    make_set = hashset_service.create_hash_set
    green_set = make_set(
        session, gb.caller, HashSetCreate(name="Green", sharing=SharingLevel.GREEN)
    )
    held_set = make_set(session, gb.caller, HashSetCreate(name="Held", sharing=SharingLevel.GREEN))
    session.execute(update(HashSet).where(HashSet.id == held_set.id).values(not_for_export=True))
    red_set = make_set(session, gb.caller, HashSetCreate(name="Red"))
    _entry(session, green_set, 1, pdq=PDQ)
    _entry(session, green_set, 2)
    _entry(session, held_set, 3)
    _entry(session, red_set, 4)
    session.flush()
    session.expire_all()
    return World(
        green=green,
        nl_green=nl_green,
        held_back=held_back,
        amber=amber,
        red=red,
        peer=peer,
        green_set=green_set,
        held_back_set=held_set,
        red_set=red_set,
        withheld=[
            "noise.example.com",
            "common.example.com",
            "http://held-back.example.com/",
            "http://amber.example.com/",
            "203.0.113.99",
            "http://peer.example.com/",
            "Secret title",
            "Secret summary",
            "Secret note",
        ],
    )
