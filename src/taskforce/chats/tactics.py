"""The grooming tactics the tagger looks for, and the stages of the grooming models they
belong to.

The tactics are those the research agrees on (PAN-12's predator lines, O'Connell 2003,
Lorenzo-Dus, Izura & Pérez-Tattam 2016, Microsoft's Project Artemis). Each is mapped to a phase
of Lorenzo-Dus's Online Grooming Communication model (access → entrapment → approach, with
compliance testing throughout) and named with O'Connell's nearest stage. The timeline shows
tactics in the order they occur and never assumes the phases follow each other: in convicted
groomers' chats they often do not (Aitken, Gaskell & Hodkinson 2018).

The bit of a tactic is its place in a message's `tactics` bit set: never renumber one.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Stage(StrEnum):
    """Phases of the Online Grooming Communication model (Lorenzo-Dus et al. 2016)."""

    ACCESS = "access"
    TRUST = "trust"  # entrapment: deceptive trust development
    ISOLATION = "isolation"  # entrapment: isolation
    GRATIFICATION = "gratification"  # entrapment: requests moving to images
    APPROACH = "approach"
    COMPLIANCE = "compliance"  # compliance testing, throughout


STAGE_LABELS: dict[Stage, str] = {
    Stage.ACCESS: "Access (O'Connell: friendship forming, risk assessment)",
    Stage.TRUST: "Entrapment – deceptive trust development (O'Connell: relationship forming)",
    Stage.ISOLATION: "Entrapment – isolation (O'Connell: risk assessment, exclusivity)",
    Stage.GRATIFICATION: "Entrapment – image requests",
    Stage.APPROACH: "Approach (O'Connell: concluding)",
    Stage.COMPLIANCE: "Compliance testing (throughout)",
}


class Tactic(StrEnum):
    AGE_PROBING = "age_probing"
    FLATTERY = "flattery"
    GIFTS = "gifts"
    SECRECY = "secrecy"
    ISOLATION = "isolation"
    PLATFORM_MOVE = "platform_move"
    IMAGE_REQUEST = "image_request"
    MEETING = "meeting"
    COMPLIANCE_TESTING = "compliance_testing"


@dataclass(frozen=True)
class TacticInfo:
    tactic: Tactic
    bit: int
    label: str
    stage: Stage
    description: str


TACTICS: dict[Tactic, TacticInfo] = {
    info.tactic: info
    for info in (
        TacticInfo(
            Tactic.AGE_PROBING,
            0,
            "Age probing",
            Stage.ACCESS,
            "Asks the other's age, school year or whether they are a child.",
        ),
        TacticInfo(
            Tactic.FLATTERY,
            1,
            "Flattery",
            Stage.TRUST,
            "Praises maturity or looks, says the other is special or understood only by them.",
        ),
        TacticInfo(
            Tactic.GIFTS,
            2,
            "Gifts",
            Stage.TRUST,
            "Offers gifts, money, game credit, phone top-ups or other favours.",
        ),
        TacticInfo(
            Tactic.SECRECY,
            3,
            "Secrecy",
            Stage.ISOLATION,
            "Asks to keep the contact or its content secret, to delete messages.",
        ),
        TacticInfo(
            Tactic.ISOLATION,
            4,
            "Isolation",
            Stage.ISOLATION,
            "Asks whether the other is alone or watched, sets them against parents or friends.",
        ),
        TacticInfo(
            Tactic.PLATFORM_MOVE,
            5,
            "Moving platform",
            Stage.ISOLATION,
            "Asks to continue on another app, a private chat or a phone number.",
        ),
        TacticInfo(
            Tactic.IMAGE_REQUEST,
            6,
            "Image request",
            Stage.GRATIFICATION,
            "Asks for photos or videos of the other, or to turn on a camera.",
        ),
        TacticInfo(
            Tactic.MEETING,
            7,
            "Meeting",
            Stage.APPROACH,
            "Proposes to meet in person, pick the other up or visit.",
        ),
        TacticInfo(
            Tactic.COMPLIANCE_TESTING,
            8,
            "Compliance testing",
            Stage.COMPLIANCE,
            "Tests trust and obedience: 'do you trust me', 'prove it', 'you promised'.",
        ),
    )
}


def bits(tactics: set[Tactic] | frozenset[Tactic]) -> int:
    """The bit set of `tactics` (a message's `tactics` column)."""
    value = 0
    for tactic in tactics:
        value |= 1 << TACTICS[tactic].bit
    return value


def from_bits(value: int) -> list[Tactic]:
    """The tactics of a bit set, in the order of `TACTICS`."""
    return [t for t, info in TACTICS.items() if value & (1 << info.bit)]
