"""The provider's copy of the list, and `sync`, which keeps it up to date.

A provider asks the hub for the whole list once, then only for the changes since the version it
holds. Each piece the hub sends is signed, and a merged list would not be, so the copy on disk
is a *bundle*: the signed full list and the signed deltas after it, in order. Every piece is
verified each time the copy is loaded, so what a provider blocks never rests on a file it wrote
itself. When the deltas hold more changes than a share of the list (`COMPACT_SHARE`), the next
sync asks for the whole list again and the bundle starts over.

A plain full list (what the hub's download or `blocklist export` gives) loads as well. The copy
is replaced atomically (a new file renamed over the old), so a checker that reads it while sync
runs sees the old version or the new one, never half of one.

Needs no database: only `httpx`, the checker and the signatures.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from taskforce.blocklist.checker import FORMAT, Checker
from taskforce.core.errors import Invalid, TaskforceError

BUNDLE = "taskforce-blocklist-bundle/1"
COMPACT_SHARE = 0.25  # deltas holding more changes than this share of the list: fetch it whole,
COMPACT_MIN = 1_000  # once they hold this many changes (a small list is cheap either way),
MAX_DELTAS = 500  # or once there are this many deltas, whatever their size


class HubError(TaskforceError):
    """The hub could not be reached, or refused the request."""


@dataclass(frozen=True)
class SyncResult:
    before: int | None  # the version held before, None without a usable copy
    version: int
    entries: int
    kind: str  # "full" | "delta" | "current" (nothing changed)
    added: int = 0
    removed: int = 0
    why_full: str = ""  # why the whole list was fetched, when it was

    def summary(self) -> str:
        if self.kind == "current":
            return f"version {self.version} is current; {self.entries:,} entries; nothing written"
        if self.kind == "delta":
            return (
                f"version {self.before} → {self.version}: {self.added:,} added, "
                f"{self.removed:,} removed; {self.entries:,} entries; written"
            )
        start = "whole list" + (f" ({self.why_full})" if self.why_full else "")
        return f"{start}: version {self.version}, {self.entries:,} entries; written"


def _changes(delta: dict[str, Any]) -> int:
    return len(delta.get("added", [])) + len(delta.get("removed", []))


def load_document(document: dict[str, Any], public: Ed25519PublicKey) -> Checker:
    """A checker for a full list or a bundle; every signature verified, deltas in order."""
    if document.get("format") != BUNDLE:
        return Checker.from_document(document, public)
    full, deltas = document.get("full"), document.get("deltas")
    if not isinstance(full, dict) or not isinstance(deltas, list):
        raise Invalid("list", f"a {BUNDLE} bundle holds a full list and a list of deltas")
    checker = Checker.from_document(full, public)
    for delta in deltas:
        if not isinstance(delta, dict):
            raise Invalid("list", "every delta of a bundle must be a signed delta document")
        checker.apply_delta(delta, public)
    return checker


def read(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise Invalid("list", f"{path} is not a readable JSON list: {error}") from error
    if not isinstance(document, dict):
        raise Invalid("list", f"{path} is not a block-list document")
    return document


def load(path: Path, public: Ed25519PublicKey) -> Checker:
    """The checker for the copy at `path` (a full list or a bundle)."""
    return load_document(read(path), public)


def write(path: Path, document: dict[str, Any]) -> None:
    """Replace `path` in one step: written beside it, flushed to disk, then renamed over it.
    Keeps the old file's permissions (the filtering service may run as another user)."""
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(handle, mode)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(document, out, separators=(",", ":"))
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _get(client: httpx.Client, since: int | None) -> httpx.Response:
    params = {} if since is None else {"since": since}
    try:
        return client.get("/api/v1/blocklist", params=params)
    except httpx.HTTPError as error:
        raise HubError(f"could not reach the hub: {error}") from error


def _json(response: httpx.Response) -> dict[str, Any]:
    if response.status_code in (401, 403):
        raise HubError(f"the hub refused the token ({response.status_code})")
    if response.status_code != 200:
        raise HubError(f"the hub answered {response.status_code}: {response.text[:200]}")
    try:
        document = response.json()
    except ValueError as error:
        raise HubError("the hub's answer is not JSON") from error
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise HubError(f"the hub's answer is not a {FORMAT} document")
    return document


def sync(
    client: httpx.Client, path: Path, public: Ed25519PublicKey, *, full: bool = False
) -> SyncResult:
    """Bring the copy at `path` up to the hub's version; `client` has the hub's base URL and
    the provider's token. Nothing is written unless what came verifies."""
    held: dict[str, Any] | None = None
    checker: Checker | None = None
    held_version: int | None = None
    why_full = "asked for" if full else ""
    if not full:
        if not path.exists():
            why_full = "no copy yet"
        else:
            try:
                held = read(path)
                checker = load_document(held, public)
                held_version = checker.version
            except TaskforceError as error:
                why_full = f"the copy held was refused: {error.message}"
                held = checker = None
    if checker is not None and held is not None:
        response = _get(client, checker.version)
        if response.status_code == 422:
            why_full = f"the hub has no version {checker.version} to start from"
        else:
            delta = _json(response)
            checker.apply_delta(delta, public)
            if checker.version == held_version:
                return SyncResult(held_version, held_version, len(checker), "current")
            bundle = (
                held
                if held.get("format") == BUNDLE
                else {"format": BUNDLE, "full": held, "deltas": []}
            )
            deltas = [*bundle["deltas"], delta]
            changes = sum(_changes(d) for d in deltas)
            too_many = changes > max(COMPACT_SHARE * len(checker), COMPACT_MIN)
            if not too_many and len(deltas) <= MAX_DELTAS:
                write(path, {"format": BUNDLE, "full": bundle["full"], "deltas": deltas})
                added, removed = len(delta["added"]), len(delta["removed"])
                return SyncResult(
                    held_version, checker.version, len(checker), "delta", added, removed
                )
            why_full = f"{len(deltas):,} deltas held {changes:,} changes; starting over"
    document = _json(_get(client, None))
    fresh = Checker.from_document(document, public)
    write(path, document)
    return SyncResult(held_version, fresh.version, len(fresh), "full", why_full=why_full)
