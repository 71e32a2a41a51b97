"""The national profile: what may cross from this node to one peer, decided here and nowhere
else (the publisher asks `crossing`; pages and the CLI describe the same rule in words).

Strict by default: a peer without a profile receives nothing; an empty list of types or of
levels means nothing (MISP #4200: an empty sharing group once meant everybody); RED and AMBER
cross as blinded tokens only; GREEN crosses as plaintext only where the profile says so; the
key holder never receives tokens (it holds the key and could test guesses against them
offline: docs/federation.md, "What a dishonest party can and cannot learn").
"""

from __future__ import annotations

from enum import StrEnum

from taskforce.cases.selectors import SelectorKind
from taskforce.core.sharing import SharingLevel
from taskforce.federation.models import Peer, Profile


class Form(StrEnum):
    TOKEN = "token"  # noqa: S105 (a blinded OPRF token, `blinding.py`; no secret)
    PLAINTEXT = "plaintext"  # the match key itself: GREEN only


def crossing(peer: Peer, profile: Profile | None, kind: str, level: str) -> Form | None:
    """The form in which a selector of `kind` on a record shared at `level` may go to `peer`;
    None: it may not go at all."""
    if profile is None or peer.state != "active" or peer.key_holder:
        return None
    if kind not in profile.kinds or level not in profile.levels:
        return None
    if level == SharingLevel.GREEN and profile.green_plaintext:
        return Form.PLAINTEXT
    if kind == SelectorKind.PDQ:
        return None  # PDQ candidates are not built yet: no plaintext PDQ of RED or AMBER
    return Form.TOKEN


def release_required(profile: Profile, level: str) -> bool:
    """Whether a hit's details (case reference, title, agency, investigator) wait for the
    owner's human decision: always for RED, else as the profile says."""
    return level == SharingLevel.RED or profile.release_required
