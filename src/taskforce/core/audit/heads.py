"""The audit log's evidence outside the database: the exported leaves and the signed tree heads.

In the audit folder (`Settings.audit_folder`, by default `<data folder>/audit/`):

- `leaves.bin`: every sealed entry's 32-byte leaf hash, in tree order (entry i at byte 32·i);
- `head.json`: the newest signed tree head, replaced (atomically) each round the tree grew, so
  it is at most about two seconds behind the newest entry;
- `heads.jsonl`: the history, one signed head per line, appended at most once a minute (and at
  shutdown): a year of it is about half a million lines, checked in well under a minute;
- the signing key, `audit-signing.key` in the data folder unless `audit_signing_key` is set.

A head is `{"format": "taskforce-audit-head/1", "origin": ..., "tree_size": n, "root_hash":
hex, "timestamp": ISO-8601 UTC, "key_id": ..., "signature": base64}`, Ed25519 over the canonical
JSON without `signature` (`core.signing`). It commits to every entry before it and their order;
an operator ships `heads.jsonl` and `head.json` (with the public key) where the hub's
administrators cannot rewrite them, and federation peers will countersign heads. The leaves let
`verify` name the exact entry that differs from what was sealed, where heads alone narrow it to
the entries between two heads.

Files are only ever appended or replaced whole, under an exclusive `flock`, so several
processes of one machine (server workers, `taskforce worker`) write one after the other.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import mmap
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from taskforce.core import signing
from taskforce.core.audit.merkle import Frontier
from taskforce.core.errors import Invalid
from taskforce.core.settings import Settings

FORMAT = "taskforce-audit-head/1"
KEY_FILE = "audit-signing.key"
LEAF_SIZE = 32
HISTORY_EVERY_SECONDS = 60  # how often a head also goes into heads.jsonl
_log = logging.getLogger(__name__)


def signing_key(settings: Settings) -> Ed25519PrivateKey:
    return signing.load_private(
        settings.audit_signing_key, settings.data_dir / KEY_FILE, setting="audit_signing_key"
    )


def public_key(settings: Settings) -> Ed25519PublicKey | None:
    """The key that checks this hub's heads, without making one (None: there is none yet)."""
    if not settings.audit_signing_key and not (settings.data_dir / KEY_FILE).exists():
        return None
    return signing_key(settings).public_key()


@dataclass(frozen=True)
class SignedHead:
    tree_size: int
    root_hash: str
    timestamp: datetime
    line: int  # in the heads file, from 1
    document: dict[str, Any]

    def describe(self) -> str:
        return f"the head of {self.tree_size:,} entries signed {self.timestamp:%Y-%m-%d %H:%M:%S}Z"


def sign_head(
    private: Ed25519PrivateKey, *, size: int, root: bytes, at: datetime, origin: str
) -> dict[str, Any]:
    document = {
        "format": FORMAT,
        "origin": origin,
        "tree_size": size,
        "root_hash": root.hex(),
        "timestamp": at.isoformat(timespec="seconds").replace("+00:00", "Z"),
    }
    return signing.sign(document, private)


def parse_head(line: str, number: int, public: Ed25519PublicKey) -> SignedHead:
    """One line of a heads file, its signature checked; `Invalid` says what is wrong with it."""
    try:
        document = json.loads(line)
    except ValueError as error:
        raise Invalid(f"heads line {number}", "must be one JSON object") from error
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise Invalid(f"heads line {number}", f"must be a signed head in format {FORMAT}")
    signing.verify(document, public, what=f"head on line {number}")
    try:
        size = int(document["tree_size"])
        root = str(document["root_hash"])
        bytes.fromhex(root)
        at = datetime.fromisoformat(str(document["timestamp"]).replace("Z", "+00:00"))
    except (KeyError, ValueError) as error:
        raise Invalid(f"heads line {number}", "tree_size, root_hash, timestamp") from error
    return SignedHead(size, root, at, number, document)


def read_heads(path: Path, public: Ed25519PublicKey) -> list[SignedHead]:
    """Every head in a heads file (a history, or one `head.json`), in file order; `Invalid` on
    the first line that is not a validly signed head (a forged or damaged line is itself
    evidence of tampering)."""
    if not path.exists():
        return []
    heads = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if line.strip():
                heads.append(parse_head(line, number, public))
    return heads


def newest_line(path: Path) -> str | None:
    """The last line of a heads file, read from its end."""
    if not path.exists():
        return None
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        end = handle.tell()
        handle.seek(max(0, end - 4096))
        lines = handle.read().decode("utf-8", errors="replace").strip().splitlines()
    return lines[-1] if lines else None


class ExportedLeaves:
    """`leaves.bin` opened for reading: leaf i is `leaves[i]`, without loading the file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = path.open("rb") if path.exists() and path.stat().st_size else None
        self._map = (
            mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ) if self._file else None
        )
        self.size = len(self._map) // LEAF_SIZE if self._map else 0

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> bytes:
        if self._map is None or not 0 <= index < self.size:
            raise IndexError(index)
        return self._map[index * LEAF_SIZE : (index + 1) * LEAF_SIZE]

    def close(self) -> None:
        if self._map is not None:
            self._map.close()
        if self._file is not None:
            self._file.close()


class Folder:
    """The audit folder of one machine and the frontier of its exported leaves (cached: the
    next export only reads what other processes appended since)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.leaves = path / "leaves.bin"
        self.head = path / "head.json"
        self.history = path / "heads.jsonl"
        self._lock = path / ".lock"
        self._frontier = Frontier()

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        with self._lock.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def exported_frontier(self) -> Frontier:
        """The tree over `leaves.bin` (call under `locked`). A partial last leaf — a crash in the
        middle of an append — is cut off: it was never covered by a head."""
        size = self.leaves.stat().st_size if self.leaves.exists() else 0
        if size % LEAF_SIZE:
            _log.warning("audit leaves file ends in a partial leaf; cut back to %d", size // 32)
            with self.leaves.open("r+b") as handle:
                handle.truncate(size - size % LEAF_SIZE)
            size -= size % LEAF_SIZE
        count = size // LEAF_SIZE
        if count < self._frontier.size:
            self._frontier = Frontier()  # the file shrank (verify will say so): read it anew
        if count > self._frontier.size:
            with self.leaves.open("rb") as handle:
                handle.seek(self._frontier.size * LEAF_SIZE)
                while chunk := handle.read(LEAF_SIZE * 65536):
                    for offset in range(0, len(chunk), LEAF_SIZE):
                        self._frontier.append(chunk[offset : offset + LEAF_SIZE])
        return self._frontier.copy()

    def append(self, leaves: list[bytes], frontier: Frontier) -> None:
        """Append leaves, made durable before any head covers them."""
        with self.leaves.open("ab") as out:
            out.write(b"".join(leaves))
            out.flush()
            os.fsync(out.fileno())
        self._frontier = frontier

    def publish(self, head: dict[str, Any], *, history: bool | None = None) -> None:
        """Make `head` the newest (`head.json`, replaced atomically) and, once a minute or when
        `history` says so, a line of `heads.jsonl`."""
        line = json.dumps(head, sort_keys=True, separators=(",", ":")) + "\n"
        temporary = self.head.with_suffix(".tmp")
        with temporary.open("w", encoding="utf-8") as out:
            out.write(line)
            out.flush()
            os.fsync(out.fileno())
        temporary.replace(self.head)
        if history is None:
            history = self._history_due(str(head["timestamp"]))
        if history:
            with self.history.open("a", encoding="utf-8") as out:
                out.write(line)
                out.flush()
                os.fsync(out.fileno())

    def catch_up_history(self, now: str) -> None:
        """After a quiet spell: the newest head into the history, if the history lacks it."""
        newest = newest_line(self.head)
        if newest is None or not self._history_due(now):
            return
        last = newest_line(self.history)
        try:
            head = json.loads(newest)
            behind = last is None or int(json.loads(last)["tree_size"]) < int(head["tree_size"])
        except (ValueError, KeyError, TypeError):
            return
        if behind:
            with self.history.open("a", encoding="utf-8") as out:
                out.write(json.dumps(head, sort_keys=True, separators=(",", ":")) + "\n")
                out.flush()
                os.fsync(out.fileno())

    def _history_due(self, now: str) -> bool:
        last = newest_line(self.history)
        if last is None:
            return True
        try:
            then = datetime.fromisoformat(str(json.loads(last)["timestamp"]).replace("Z", "+00:00"))
        except (ValueError, KeyError, TypeError):
            return True  # a damaged last line: verify reports it; keep writing history
        at = datetime.fromisoformat(now.replace("Z", "+00:00"))
        return (at - then).total_seconds() >= HISTORY_EVERY_SECONDS
