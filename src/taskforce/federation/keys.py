"""The network OPRF key, one per epoch, in the key holder's data folder.

Each epoch's key is a 32-byte seed (RFC 9497 DeriveKeyPair with `blinding.key_info(epoch)`)
in `federation/oprf-keys/epoch-NNNNNN.key`, hex, created with mode 0600 in a 0700 folder and
never rewritten. Rotation writes the next epoch's file and makes the older ones read-only
(0400): they stay, so tokens made under them remain comparable until their owners re-blind
(docs/federation.md, "Key rotation"). A key file that others can read is refused rather than
used. Only a node designated `federation_key_holder` keeps keys.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from taskforce.core.errors import Conflict, Forbidden, Invalid, NotFound
from taskforce.core.settings import Settings
from taskforce.federation import blinding

_NAME = re.compile(r"^epoch-(\d{6})\.key$")


@dataclass(frozen=True)
class EpochKey:
    """What is published of one epoch: its number and public key; `current` is the epoch new
    tokens are made under."""

    epoch: int
    public_key: bytes
    current: bool


def folder(settings: Settings) -> Path:
    return settings.data_dir / "federation" / "oprf-keys"


def require_key_holder(settings: Settings) -> None:
    if not settings.federation_key_holder:
        raise Forbidden(
            "this node is not the network's OPRF key holder (TASKFORCE_FEDERATION_KEY_HOLDER "
            "is false)"
        )


def epochs(settings: Settings) -> list[int]:
    """The epochs whose keys this node holds, oldest first."""
    path = folder(settings)
    if not path.is_dir():
        return []
    found = (_NAME.match(p.name) for p in path.iterdir())
    return sorted(int(m.group(1)) for m in found if m)


def current_epoch(settings: Settings) -> int:
    held = epochs(settings)
    if not held:
        raise NotFound("OPRF key (run `taskforce federation key init`)")
    return held[-1]


def create_first(settings: Settings) -> EpochKey:
    """Epoch 1's key; refused if any epoch exists (a second init would orphan every token)."""
    require_key_holder(settings)
    if epochs(settings):
        raise Conflict(
            "the OPRF key exists already; `taskforce federation key rotate` adds an epoch"
        )
    return _create(settings, 1)


def rotate(settings: Settings) -> EpochKey:
    """A new epoch's key; the older keys become read-only and stay."""
    require_key_holder(settings)
    held = epochs(settings)
    if not held:
        raise NotFound("OPRF key (run `taskforce federation key init` first)")
    created = _create(settings, held[-1] + 1)
    for epoch in held:
        _file(settings, epoch).chmod(0o400)
    return created


def published(settings: Settings) -> list[EpochKey]:
    """Every held epoch's public key, oldest first: what peers verify evaluations against."""
    require_key_holder(settings)
    held = epochs(settings)
    return [
        EpochKey(epoch, blinding.public_key(seed(settings, epoch), epoch), epoch == held[-1])
        for epoch in held
    ]


def seed(settings: Settings, epoch: int) -> bytes:
    """The secret seed of one epoch, read from its file (refused if others may read it)."""
    require_key_holder(settings)
    path = _file(settings, epoch)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise Invalid("epoch", f"no OPRF key of epoch {epoch} on this node") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise Forbidden(f"{path} may be read by others (mode {mode & 0o777:o}); chmod 600 it")
    try:
        value = bytes.fromhex(path.read_text().strip())
    except ValueError:
        value = b""
    if len(value) != blinding.SEED_BYTES:
        raise Invalid("key", f"{path} does not hold a {blinding.SEED_BYTES}-byte hex seed")
    return value


def _file(settings: Settings, epoch: int) -> Path:
    return folder(settings) / f"epoch-{epoch:06d}.key"


def _create(settings: Settings, epoch: int) -> EpochKey:
    path = folder(settings)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)
    value = secrets.token_bytes(blinding.SEED_BYTES)
    try:
        handle = os.open(_file(settings, epoch), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise Conflict(f"the OPRF key of epoch {epoch} exists already") from None
    with os.fdopen(handle, "w") as stream:
        stream.write(value.hex() + "\n")
    return EpochKey(epoch, blinding.public_key(value, epoch), True)
