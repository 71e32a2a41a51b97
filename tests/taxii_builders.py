"""Releasable and held-back material for the TAXII server's tests: GREEN cases and a GREEN hash
set of two agencies, and RED, AMBER and 'not for export' records whose values must never be
served."""

from __future__ import annotations

from dataclasses import dataclass

from builders import Network, add_selector, make_case
from sqlalchemy import update
from sqlalchemy.orm import Session

from taskforce.cases.models import Case
from taskforce.core.settings import Settings
from taskforce.core.sharing import SharingLevel
from taskforce.hashsets import formats
from taskforce.hashsets import service as hashset_service
from taskforce.hashsets.schemas import HashSetCreate

TAXII = "application/taxii+json;version=2.1"
ROOT = "/taxii2/api/"

# never served: a RED case, an AMBER case, a GREEN case held back, a RED hash set, titles
HELD_BACK = (
    "red-only@example.com",
    "amber-only@example.com",
    "held-back@example.com",
    "Operation Heron",
    "Operation Ibis",
    "Operation Jay",
    "ffffffffffffffffffffffffffffff01",
    "Red set Kite",
)


@dataclass
class Material:
    gb_values: list[str]  # canonical values of GB's GREEN selectors with a STIX form
    nl_values: list[str]
    shared_email: str  # held by both agencies' GREEN cases: one indicator


def releasable_material(session: Session, settings: Settings, network: Network) -> Material:
    gb_case = make_case(session, network.gb, title="Operation Heron", sharing=SharingLevel.GREEN)
    nl_case = make_case(session, network.nl, title="Operation Ibis", sharing=SharingLevel.GREEN)
    gb_values = []
    for kind, value, extra in (
        ("url", "https://files.example.com/drop/1", {}),
        ("email", "shared-seller@example.com", {}),
        ("domain", "drop.example.net", {}),
        ("ip", "203.0.113.5", {}),
        ("username", "seller_one", {"platform": "chatapp"}),
        ("md5", "5eb63bbbe01eeed093cb22bb8f5acdc3", {}),  # also in the GREEN hash set
        ("phone", "+442079460777", {}),  # no STIX form: skipped, counted
    ):
        added = add_selector(session, settings, network.gb, gb_case, kind, value, **extra)
        if kind not in ("phone", "md5"):  # the md5: counted in the tests on its own
            gb_values.append(added.selector.value)
    nl_values = []
    for kind, value in (
        ("email", "shared-seller@example.com"),
        ("domain", "mirror.example.org"),
        ("crypto_wallet", "0x52908400098527886e0f7030069857d2e4169ee7"),
    ):
        added = add_selector(session, settings, network.nl, nl_case, kind, value)
        nl_values.append(added.selector.value)

    red = make_case(session, network.gb, title="Operation Jay", sharing=SharingLevel.RED)
    add_selector(session, settings, network.gb, red, "email", "red-only@example.com")
    amber = make_case(
        session,
        network.gb,
        title="Operation Ibis 2",
        sharing=SharingLevel.AMBER,
        partners=["NL-NP"],
    )
    add_selector(session, settings, network.gb, amber, "email", "amber-only@example.com")
    held = make_case(session, network.gb, title="Operation Kestrel", sharing=SharingLevel.GREEN)
    add_selector(session, settings, network.gb, held, "email", "held-back@example.com")
    session.execute(update(Case).where(Case.id == held.id).values(not_for_export=True))

    green_set = hashset_service.create_hash_set(
        session, network.gb.caller, HashSetCreate(name="Green set Lark", sharing=SharingLevel.GREEN)
    )
    hashset_service.import_entries(
        session,
        network.gb.caller,
        set_id=green_set.id,
        entries=[
            formats.ParsedEntry(1, md5="5eb63bbbe01eeed093cb22bb8f5acdc3"),
            formats.ParsedEntry(
                2,
                md5="7d793037a0760186574b0282f2f435e7",
                sha256="b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9",
            ),
            formats.ParsedEntry(3, pdq="f" * 63 + "0"),
        ],
        fmt="lines",
    )
    red_set = hashset_service.create_hash_set(
        session, network.gb.caller, HashSetCreate(name="Red set Kite")
    )
    hashset_service.import_entries(
        session,
        network.gb.caller,
        set_id=red_set.id,
        entries=[formats.ParsedEntry(1, md5="ffffffffffffffffffffffffffffff01")],
        fmt="lines",
    )
    session.commit()
    return Material(gb_values, nl_values, "shared-seller@example.com")
