"""The network OPRF keys, two per epoch, in the key holder's data folder.

Each epoch's exact-match key is a 32-byte seed (RFC 9497 DeriveKeyPair with
`blinding.key_info(epoch)`) in `federation/oprf-keys/epoch-NNNNNN.key`, and its PDQ-chunk key
(`blinding.KeyFamily.PDQ_CHUNK`, with a budget of its own) in `pdq-chunk-epoch-NNNNNN.key`
beside it; both hex, created together with mode 0600 in a 0700 folder and never rewritten.
Rotation writes the next epoch's files and makes the older ones read-only (0400): they stay,
so tokens made under them remain comparable until their owners re-blind (docs/federation.md,
"Key rotation"). A key file that others can read is refused rather than
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
from taskforce.federation.blinding import KeyFamily

_NAME = re.compile(r"^epoch-(\d{6})\.key$")


@dataclass(frozen=True)
class EpochKey:
    """What is published of one epoch: its number and public key; `current` is the epoch new
    tokens are made under."""

    epoch: int
    public_key: bytes
    current: bool
    pdq_chunk_public_key: bytes | None = None
    """None for an epoch made before the PDQ-chunk key existed (rotate to get one)."""


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
        for family in KeyFamily:
            if _file(settings, epoch, family).exists():
                _file(settings, epoch, family).chmod(0o400)
    return created


def published(settings: Settings) -> list[EpochKey]:
    """Every held epoch's public key, oldest first: what peers verify evaluations against."""
    require_key_holder(settings)
    held = epochs(settings)
    return [
        EpochKey(
            epoch,
            blinding.public_key(seed(settings, epoch), epoch),
            epoch == held[-1],
            _chunk_public_key(settings, epoch),
        )
        for epoch in held
    ]


def seed(settings: Settings, epoch: int, family: KeyFamily = KeyFamily.EXACT) -> bytes:
    """The secret seed of one epoch and key family, read from its file (refused if others may
    read it)."""
    require_key_holder(settings)
    path = _file(settings, epoch, family)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        named = "OPRF key" if family is KeyFamily.EXACT else f"{family.value} OPRF key"
        raise Invalid("epoch", f"no {named} of epoch {epoch} on this node") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise Forbidden(f"{path} may be read by others (mode {mode & 0o777:o}); chmod 600 it")
    try:
        value = bytes.fromhex(path.read_text().strip())
    except ValueError:
        value = b""
    if len(value) != blinding.SEED_BYTES:
        raise Invalid("key", f"{path} does not hold a {blinding.SEED_BYTES}-byte hex seed")
    return value


def _file(settings: Settings, epoch: int, family: KeyFamily = KeyFamily.EXACT) -> Path:
    prefix = "" if family is KeyFamily.EXACT else f"{family.value}-"
    return folder(settings) / f"{prefix}epoch-{epoch:06d}.key"


def _chunk_public_key(settings: Settings, epoch: int) -> bytes | None:
    if not _file(settings, epoch, KeyFamily.PDQ_CHUNK).exists():
        return None
    value = seed(settings, epoch, KeyFamily.PDQ_CHUNK)
    return blinding.public_key(value, epoch, KeyFamily.PDQ_CHUNK)


def _create(settings: Settings, epoch: int) -> EpochKey:
    """Both families' keys of a new epoch (the PDQ-chunk key first: the exact key's file is
    what makes the epoch exist, so a crash between the two leaves no half epoch)."""
    path = folder(settings)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)
    chunk = _write_seed(settings, epoch, KeyFamily.PDQ_CHUNK, replace=True)
    value = _write_seed(settings, epoch, KeyFamily.EXACT, replace=False)
    return EpochKey(
        epoch,
        blinding.public_key(value, epoch),
        True,
        blinding.public_key(chunk, epoch, KeyFamily.PDQ_CHUNK),
    )


def _write_seed(settings: Settings, epoch: int, family: KeyFamily, *, replace: bool) -> bytes:
    """A fresh seed in a new 0600 file; `replace`: a left-over file of a crashed creation
    (its epoch never existed, so no token was made with it) is replaced."""
    target = _file(settings, epoch, family)
    if replace and target.exists() and not _file(settings, epoch).exists():
        target.unlink()
    value = secrets.token_bytes(blinding.SEED_BYTES)
    try:
        handle = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise Conflict(f"the OPRF key of epoch {epoch} exists already") from None
    with os.fdopen(handle, "w") as stream:
        stream.write(value.hex() + "\n")
    return value
