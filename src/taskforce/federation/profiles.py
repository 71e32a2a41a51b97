"""The national profile: what may cross from this node to one peer, decided here and nowhere
else (the publisher asks `crossing`; pages, the CLI and the API describe the same rule in words
with `describe`, which asks `crossing` too).

Strict by default: a peer without a profile receives nothing; an empty list of types or of
levels means nothing (MISP #4200: an empty sharing group once meant everybody); RED and AMBER
cross as blinded tokens only; GREEN crosses as plaintext only where the profile says so; the
key holder never receives tokens (it holds the key and could test guesses against them
offline: docs/federation.md, "What a dishonest party can and cannot learn").
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from taskforce.cases.selectors import SelectorKind
from taskforce.core.audit.service import Operation, record
from taskforce.core.caller import Caller, Permission
from taskforce.core.db import utcnow
from taskforce.core.errors import Conflict, Invalid
from taskforce.core.sharing import SharingLevel
from taskforce.federation.models import Peer, Profile


class Form(StrEnum):
    TOKEN = "token"  # noqa: S105 (a blinded OPRF token, `blinding.py`; no secret)
    PLAINTEXT = "plaintext"  # the match key itself: GREEN only
    PDQ_CHUNKS = "pdq-chunks"  # a PDQ hash's 16 chunk tokens; a match is confirmed by the owner


KEY_HOLDER_RULE = (
    "the key holder never receives selectors: it holds the network key and could test "
    "guesses offline"
)

# The words an admin reads for each selector type, in the order the pages list them.
KIND_WORDS: dict[str, str] = {
    SelectorKind.EMAIL: "e-mail",
    SelectorKind.PHONE: "phone number",
    SelectorKind.USERNAME: "username",
    SelectorKind.IP: "IP address",
    SelectorKind.URL: "URL",
    SelectorKind.DOMAIN: "domain",
    SelectorKind.PAYMENT_ACCOUNT: "payment account",
    SelectorKind.CRYPTO_WALLET: "crypto wallet",
    SelectorKind.MD5: "MD5",
    SelectorKind.SHA1: "SHA-1",
    SelectorKind.SHA256: "SHA-256",
    SelectorKind.IMEI: "IMEI",
    SelectorKind.PDQ: "PDQ",
}
LEVELS = (SharingLevel.RED, SharingLevel.AMBER, SharingLevel.GREEN)


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
        return Form.PDQ_CHUNKS  # never the hash itself: chunk tokens, confirmed by the owner
    return Form.TOKEN


def release_required(profile: Profile, level: str) -> bool:
    """Whether a hit's details (case reference, title, agency, investigator) wait for the
    owner's human decision: always for RED, else as the profile says."""
    return level == SharingLevel.RED or profile.release_required


def get_profile(session: Session, peer_id: uuid.UUID) -> Profile | None:
    return session.get(Profile, peer_id)


def parse_kinds(items: Iterable[str]) -> list[str]:
    """Selector types as an admin writes them (`email`, `Crypto wallet`, or `all`), in the
    pages' order; an empty list stays empty: nothing crosses."""
    wanted: set[str] = set()
    for raw in items:
        name = "_".join(raw.strip().lower().replace("-", " ").split())
        if not name:
            continue
        if name == "all":
            wanted.update(KIND_WORDS)
        elif name in KIND_WORDS:
            wanted.add(name)
        else:
            raise Invalid(
                "kinds",
                f"{raw.strip()!r} is not a selector type; use 'all' or any of: "
                + ", ".join(KIND_WORDS)
                + " (an empty list means nothing crosses)",
            )
    return [k for k in KIND_WORDS if k in wanted]


def parse_levels(items: Iterable[str]) -> list[str]:
    """Sharing levels (`red`, `amber`, `green`), in that order; empty: nothing crosses."""
    wanted: set[str] = set()
    for raw in items:
        name = raw.strip().lower()
        if not name:
            continue
        if name not in {level.value for level in LEVELS}:
            raise Invalid(
                "levels",
                f"{raw.strip()!r} is not a sharing level; use red, amber, green "
                "(an empty list means nothing crosses)",
            )
        wanted.add(name)
    return [level.value for level in LEVELS if level.value in wanted]


def _state(profile: Profile | None) -> dict[str, Any] | None:
    if profile is None:
        return None
    return {
        "kinds": list(profile.kinds),
        "levels": list(profile.levels),
        "green_plaintext": profile.green_plaintext,
        "release_required": profile.release_required,
    }


def _audit(
    session: Session,
    caller: Caller,
    peer: Peer,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    record(
        session,
        caller,
        action="federation.profile.change",
        operation=Operation.ALTERATION,
        subject_type="peer",
        subject_id=peer.id,
        recipients=[peer.name],
        detail={"peer": peer.name, "before": before, "after": after},
    )


def set_profile(
    session: Session,
    caller: Caller,
    peer: Peer,
    *,
    kinds: Sequence[str],
    levels: Sequence[str],
    green_plaintext: bool,
    release_required: bool,
) -> Profile:
    """Replace what may cross to `peer` (every field at once, so what the admin saw is what
    holds). Refused for the key holder and for a removed peer."""
    caller.require(Permission.MANAGE_PEERS)
    chosen_kinds, chosen_levels = parse_kinds(kinds), parse_levels(levels)
    if peer.key_holder and (chosen_kinds or chosen_levels):
        raise Invalid("kinds" if chosen_kinds else "levels", KEY_HOLDER_RULE)
    if peer.state != "active":
        raise Conflict(f"{peer.name} was removed: add its peering document again first")
    found = get_profile(session, peer.id)
    before = _state(found)
    if found is None:
        found = Profile(peer_id=peer.id)
        session.add(found)
    found.kinds, found.levels = chosen_kinds, chosen_levels
    found.green_plaintext, found.release_required = green_plaintext, release_required
    found.updated_at, found.updated_by = utcnow(), caller.label
    session.flush()
    _audit(session, caller, peer, before, _state(found))
    return found


def clear_profile(session: Session, caller: Caller, peer: Peer) -> bool:
    """Back to nothing (no profile row); False if there was none (nothing changed, nothing
    audited)."""
    caller.require(Permission.MANAGE_PEERS)
    found = get_profile(session, peer.id)
    if found is None:
        return False
    before = _state(found)
    session.delete(found)
    session.flush()
    _audit(session, caller, peer, before, None)
    return True


def _words(items: Sequence[str], table: dict[str, str] | None = None) -> str:
    names = [table[i] if table else i.upper() for i in items]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def describe(peer: Peer, profile: Profile | None) -> list[str]:
    """What `peer` receives, in the words an admin reads (the page, the CLI and the API say
    the same): derived from `crossing`, so the words cannot drift from the rule."""
    if peer.state != "active":
        return ["Receives nothing: the peering was removed."]
    if peer.key_holder:
        return [
            "Receives nothing: it is the network's key holder, which never receives selectors "
            "(it holds the network key and could test guesses offline). This node fetches its "
            "tokens from it."
        ]
    if profile is None:
        return ["Receives nothing.", "No profile is set: nothing crosses until one allows it."]
    if not profile.kinds or not profile.levels:
        empty = "selector types" if not profile.kinds else "sharing levels"
        return ["Receives nothing.", f"The profile lists no {empty}: nothing crosses."]
    forms: dict[Form | None, dict[str, list[str]]] = {None: {}, **{f: {} for f in Form}}
    for level in (lv.value for lv in LEVELS if lv.value in profile.levels):
        for kind in (k for k in KIND_WORDS if k in profile.kinds):
            forms[crossing(peer, profile, kind, level)].setdefault(level, []).append(kind)
    lines: list[str] = []
    for kinds, levels in _grouped(forms[Form.TOKEN]):
        lines.append(
            f"Receives blinded tokens of {_words(kinds, KIND_WORDS)} selectors of "
            f"{_words(levels)} cases: it can match them, not read them."
        )
    for kinds, levels in _grouped(forms[Form.PDQ_CHUNKS]):
        lines.append(
            f"Receives blinded chunk tokens of {_words(kinds, KIND_WORDS)} selectors of "
            f"{_words(levels)} cases: it finds candidates, which this node confirms on the "
            "hash; it cannot read the hash."
        )
    for kinds, levels in _grouped(forms[Form.PLAINTEXT]):
        lines.append(
            f"Receives {_words(kinds, KIND_WORDS)} selectors of {_words(levels)} cases "
            "as plaintext."
        )
    for kinds, levels in _grouped(forms[None]):
        lines.append(
            f"{_words(kinds, KIND_WORDS)} selectors of {_words(levels)} cases do not cross: "
            "they have no blinded form yet."
        )
    lines.append(_release_words(profile))
    return lines


def _grouped(by_level: dict[str, list[str]]) -> list[tuple[list[str], list[str]]]:
    """Levels that carry the same types, together: one sentence each."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for level, kinds in by_level.items():
        groups.setdefault(tuple(kinds), []).append(level)
    return [(list(kinds), levels) for kinds, levels in groups.items()]


def _release_words(profile: Profile) -> str:
    details = "Details of a hit (case reference, title, investigator)"
    held = [lv for lv in profile.levels if release_required(profile, lv)]
    free = [lv for lv in profile.levels if lv not in held]
    if not free:
        return f"{details} go only after your agency releases them."
    if not held:
        return f"{details} go with the hit, without a release."
    return (
        f"{details} go with the hit for {_words(free)} cases; for {_words(held)} cases only "
        "after your agency releases them."
    )
