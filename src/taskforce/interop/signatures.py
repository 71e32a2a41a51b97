"""Detached Ed25519 signatures of exports: a small JSON document beside the file
(`FILE.sig.json`) that names the export's SHA-256, size and object count and is signed with the
hub's export key (`core.signing`: canonical JSON without `signature`, base64 Ed25519).

Detached rather than embedded, so the export stays byte-for-byte what STIX or MISP tools read,
and the signature covers a hash computed while streaming, never a second copy in memory.
A recipient checks both: the document's signature with the hub's public key
(`taskforce export public-key`, `GET /api/v1/interop/public-key`), and the file's SHA-256
against the document (`taskforce export verify FILE`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import IO, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from taskforce.core import signing
from taskforce.core.errors import Invalid
from taskforce.core.settings import Settings

KEY_FILE = "export-signing.key"
FIELDS = ("format", "sha256", "bytes", "objects", "agency", "exported_at")


def private_key(settings: Settings) -> Ed25519PrivateKey:
    """The hub's export key: `export_signing_key`, else generated once into the data folder."""
    return signing.load_private(
        settings.export_signing_key, settings.data_dir / KEY_FILE, setting="export_signing_key"
    )


def public_key(settings: Settings) -> Ed25519PublicKey:
    return private_key(settings).public_key()


def signature_path(export: Path) -> Path:
    return export.with_name(export.name + ".sig.json")


def sign(
    settings: Settings,
    *,
    format: str,
    sha256: str,
    size: int,
    objects: int,
    agency: str | None,
    exported_at: str,
) -> dict[str, Any]:
    """The signed document of one export (with `key_id` and `signature`)."""
    document = {
        "format": format,
        "sha256": sha256,
        "bytes": size,
        "objects": objects,
        "agency": agency,
        "exported_at": exported_at,
    }
    return signing.sign(document, private_key(settings))


def digest(stream: IO[bytes]) -> tuple[str, int]:
    """SHA-256 (hex) and size of everything left in a binary stream, read in chunks."""
    sha, size = hashlib.sha256(), 0
    while chunk := stream.read(1 << 20):
        sha.update(chunk)
        size += len(chunk)
    return sha.hexdigest(), size


def read_document(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise Invalid("signature", f"cannot be read as a signature document: {error}") from None
    if not isinstance(document, dict) or not all(k in document for k in FIELDS):
        raise Invalid(
            "signature", "is not an export signature document (" + ", ".join(FIELDS) + ")"
        )
    return document


def verify(stream: IO[bytes], document: dict[str, Any], public: Ed25519PublicKey) -> None:
    """Raise unless the document is the hub's and the stream is exactly what it names."""
    signing.verify(document, public, what="export signature")
    sha256, size = digest(stream)
    if sha256 != document["sha256"] or size != document["bytes"]:
        raise signing.BadSignature(
            "the file is not the one signed: its SHA-256 or size differs (altered or truncated)"
        )
