"""Walking evidence: folders and archives (zip, tar, tar.gz/bz2/xz, 7z), read in place.

Nothing of the evidence is written anywhere except, for archive members too large to hold in
memory, a private temporary folder (`work_dir`) that is removed at the end, and at the start of
the next run if a crash left it behind. Archive member names are only ever display names:
nothing is extracted by name, so `../` paths cannot write outside the work folder. Nested
archives are opened up to `MAX_DEPTH` levels, and all the archives of one run, at every level,
share one `ArchiveBudget` (`MAX_EXPANDED_BYTES` expanded, `MAX_MEMBERS` members): a budget per
archive would multiply with nesting (10 archives of 10 archives of 8 GiB each reach 800 GiB).
Past the budget a member or archive is reported, naming the budget, instead of opened.
"""

from __future__ import annotations

import io
import os
import stat
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

MAX_DEPTH = 3
MAX_EXPANDED_BYTES = 64 << 30  # 64 GiB expanded from all the archives of one run
MAX_MEMBERS = 1_000_000  # archive members of one run, every level counted
IN_MEMORY_LIMIT = 64 << 20  # members up to 64 MiB are hashed from memory


class BudgetSpent(Exception):
    """The run's archive budget is spent; the message names it."""


@dataclass
class ArchiveBudget:
    """What all the archives of one triage run may expand to, across every nesting level.

    Bytes are counted as members are read: zip and tar members by their declared size, which
    their readers never exceed (a member that would is a CRC or size error), 7z members as
    they are decompressed."""

    max_bytes: int = MAX_EXPANDED_BYTES
    max_members: int = MAX_MEMBERS
    used_bytes: int = 0
    members: int = 0

    def describe(self) -> str:
        return (
            f"the run's archive budget is spent ({_size(self.max_bytes)} expanded and "
            f"{self.max_members:,} members for all archives of a run, every level counted)"
        )

    def member(self, size: int) -> None:
        """Count one member of `size` bytes, or `BudgetSpent` before it is read."""
        if self.members + 1 > self.max_members or self.used_bytes + size > self.max_bytes:
            self.used_bytes = max(self.used_bytes, self.max_bytes)  # nothing more is opened
            raise BudgetSpent(self.describe())
        self.members += 1
        self.used_bytes += size

    def spend(self, size: int) -> None:
        """Count bytes as they are decompressed (7z), or `BudgetSpent`."""
        self.used_bytes += size
        if self.used_bytes > self.max_bytes:
            raise BudgetSpent(self.describe())

    @property
    def spent(self) -> bool:
        return self.used_bytes >= self.max_bytes or self.members >= self.max_members


def _size(n: int) -> str:
    return f"{n >> 30:,} GiB" if n >= 1 << 30 else f"{n:,} bytes"


@dataclass
class Item:
    """One file of the evidence: its display path and where to read it."""

    display: str
    path: Path | None = None  # a file on disk (evidence or private temporary copy)
    data: bytes | None = None  # an archive member held in memory
    error: str | None = None  # could not be read at all
    size: int | None = None


def display_name(path: Path) -> str:
    """The path as text, whatever bytes the file system gave (odd encodings shown escaped)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def walk(roots: list[Path], work_dir: Path, budget: ArchiveBudget | None = None) -> Iterator[Item]:
    """Every file under the roots, archive members included, in a stable order; one
    `ArchiveBudget` (a fresh default one unless given) for every archive of the walk."""
    budget = budget or ArchiveBudget()
    for root in roots:
        if root.is_symlink():
            yield Item(display_name(root), error="symbolic link not followed")
        elif root.is_dir():
            yield from _walk_dir(root, work_dir, budget)
        elif root.exists():
            yield from _file(root, display_name(root), work_dir, budget)
        else:
            yield Item(display_name(root), error="no such file or folder")


def _walk_dir(root: Path, work_dir: Path, budget: ArchiveBudget) -> Iterator[Item]:
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: os.fsencode(e.name))
        except OSError as exc:
            yield Item(display_name(folder), error=f"cannot list folder: {exc.strerror}")
            continue
        subfolders = []
        for entry in entries:
            path = Path(entry.path)
            shown = display_name(path)
            try:
                mode = entry.stat(follow_symlinks=False).st_mode
            except OSError as exc:
                yield Item(shown, error=f"cannot read: {exc.strerror}")
                continue
            if stat.S_ISLNK(mode):
                yield Item(shown, error="symbolic link not followed")
            elif stat.S_ISDIR(mode):
                subfolders.append(path)
            elif stat.S_ISREG(mode):
                yield from _file(path, shown, work_dir, budget)
            else:
                yield Item(shown, error="not a regular file (device, socket or pipe)")
        stack.extend(reversed(subfolders))


def _file(path: Path, shown: str, work_dir: Path, budget: ArchiveBudget) -> Iterator[Item]:
    try:
        with path.open("rb") as f:
            kind = _archive_kind(f)
    except OSError as exc:
        yield Item(shown, error=f"cannot read: {exc.strerror}")
        return
    yield Item(shown, path=path)  # the archive itself is evidence and gets hashed too
    if kind:
        yield from _members(kind, path, shown, work_dir, budget, depth=1)


def _archive_kind(f: BinaryIO) -> str | None:
    head = f.read(512)
    f.seek(0)
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "zip"
    if head.startswith(b"7z\xbc\xaf\x27\x1c"):
        return "7z"
    if head[:2] in (b"\x1f\x8b", b"BZ") or head.startswith(b"\xfd7zXZ\x00"):
        return "tar"  # compressed: a tar inside is opened, a lone compressed file is not
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    return None


def _members(
    kind: str, source: Path | bytes, shown: str, work_dir: Path, budget: ArchiveBudget, depth: int
) -> Iterator[Item]:
    if depth > MAX_DEPTH:
        yield Item(shown + "!/", error=f"archive nested deeper than {MAX_DEPTH} levels: not opened")
        return
    if budget.spent:
        yield Item(shown + "!/", error=f"archive not opened: {budget.describe()}")
        return
    try:
        members = (
            _7z_members(source, work_dir, budget)  # a damaged 7z: ValueError
            if kind == "7z"
            else (_zip_members if kind == "zip" else _tar_members)(source)
        )
        for name, size, read in members:
            member = f"{shown}!/{name}"
            try:
                budget.member(0 if kind == "7z" else size)  # 7z: counted as decompressed
            except BudgetSpent as exc:
                yield Item(member, error=f"{exc}: the rest of the archive is not opened")
                return
            try:
                item = _hold(member, size, read, work_dir)
            except (
                OSError,
                EOFError,
                zipfile.BadZipFile,
                tarfile.TarError,
                RuntimeError,
                ValueError,
            ) as exc:
                yield Item(member, error=f"cannot read archive member: {exc}")
                continue
            yield item
            inner = _archive_kind(io.BytesIO(item.data)) if item.data is not None else None
            if inner is None and item.path is not None:
                with item.path.open("rb") as f:
                    inner = _archive_kind(f)
            if inner:
                yield from _members(
                    inner,
                    item.data if item.data is not None else item.path,  # type: ignore[arg-type]
                    member,
                    work_dir,
                    budget,
                    depth + 1,
                )
    except BudgetSpent as exc:
        yield Item(shown + "!/", error=f"archive not opened: {exc}")
    except (
        OSError,
        EOFError,
        zipfile.BadZipFile,
        tarfile.TarError,
        RuntimeError,
        ValueError,
    ) as exc:
        yield Item(shown + "!/", error=f"cannot open archive: {exc}")


ReadMember = tuple[str, int, "object"]


def _hold(member: str, size: int, read: object, work_dir: Path) -> Item:
    """The member's bytes in memory, or in a private temporary file when large."""
    reader = read  # a zero-argument callable returning a binary stream
    with reader() as stream:  # type: ignore[operator]
        if size <= IN_MEMORY_LIMIT:
            data = stream.read(IN_MEMORY_LIMIT + 1)
            if len(data) <= IN_MEMORY_LIMIT:
                return Item(member, data=data, size=len(data))
            stream = _Chain(data, stream)
        work_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle, name = tempfile.mkstemp(dir=work_dir)
        with os.fdopen(handle, "wb") as out:
            while chunk := stream.read(1 << 20):
                out.write(chunk)
        return Item(member, path=Path(name), size=Path(name).stat().st_size)


class _Chain:
    def __init__(self, first: bytes, rest: BinaryIO) -> None:
        self._first, self._rest = first, rest

    def read(self, n: int) -> bytes:
        if self._first:
            chunk, self._first = self._first[:n], self._first[n:]
            return chunk
        return self._rest.read(n)


def _source(source: Path | bytes) -> BinaryIO:
    return io.BytesIO(source) if isinstance(source, bytes) else source.open("rb")


def _7z_members(
    source: Path | bytes, work_dir: Path, budget: ArchiveBudget
) -> Iterator[tuple[str, int, object]]:
    from taskforce.triage import sevenzip  # py7zr costs every `taskforce` command ~0.2 s

    return sevenzip.members(_source(source), work_dir, budget)


def _zip_members(source: Path | bytes) -> Iterator[tuple[str, int, object]]:
    with _source(source) as f, zipfile.ZipFile(f) as archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            yield info.filename, info.file_size, lambda info=info: archive.open(info)


def _tar_members(source: Path | bytes) -> Iterator[tuple[str, int, object]]:
    with _source(source) as f, tarfile.open(fileobj=f, mode="r:*") as archive:
        for info in archive:
            if not info.isfile():
                continue
            yield info.name, info.size, lambda info=info: archive.extractfile(info)
