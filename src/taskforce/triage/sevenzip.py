"""7z archive members for the evidence walk (`evidence.py`), in a module of their own so that
py7zr is imported only when a 7z archive is met, not by every `taskforce` command."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import py7zr
import py7zr.io

if TYPE_CHECKING:
    from taskforce.triage.evidence import ArchiveBudget


def members(
    source: BinaryIO, work_dir: Path, budget: ArchiveBudget
) -> Iterator[tuple[str, int, object]]:
    """7z members, decompressed in one pass (7z is often solid) into spooled files: small ones
    stay in memory, larger ones go to the private work folder and are deleted when read. The
    bytes count against the run's budget as they are written: a 7z bomb stops at it."""
    factory = _SpoolFactory(work_dir, budget)
    try:
        with source as f, py7zr.SevenZipFile(f, mode="r") as archive:
            archive.extract(factory=factory)
    except py7zr.Bad7zFile as exc:
        for spool in factory.products.values():
            spool.close()
        raise ValueError(str(exc)) from None
    except BaseException:
        for spool in factory.products.values():
            spool.close()
        raise
    try:
        for name in sorted(factory.products):
            spool = factory.products[name]
            spool.seek(0)
            yield name, spool.size(), lambda spool=spool: _Unclosed(spool)
    finally:
        for spool in factory.products.values():
            spool.close()


class _SpoolIO(py7zr.io.Py7zIO):
    def __init__(self, work_dir: Path, budget: ArchiveBudget) -> None:
        self._budget = budget
        work_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._file: tempfile.SpooledTemporaryFile[bytes] = tempfile.SpooledTemporaryFile(  # noqa: SIM115
            max_size=1 << 20, mode="w+b", dir=str(work_dir)
        )

    def write(self, s: bytes | bytearray) -> int:
        self._budget.spend(len(s))
        return self._file.write(s)

    def read(self, size: int | None = None) -> bytes:
        return self._file.read(-1 if size is None else size)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._file.seek(offset, whence)

    def flush(self) -> None:
        self._file.flush()

    def size(self) -> int:
        here = self._file.tell()
        end = self._file.seek(0, io.SEEK_END)
        self._file.seek(here)
        return end

    def close(self) -> None:
        self._file.close()


class _SpoolFactory(py7zr.io.WriterFactory):
    def __init__(self, work_dir: Path, budget: ArchiveBudget) -> None:
        self.work_dir, self.budget = work_dir, budget
        self.products: dict[str, _SpoolIO] = {}

    def create(self, filename: str) -> py7zr.io.Py7zIO:
        product = _SpoolIO(self.work_dir, self.budget)
        self.products[filename] = product
        return product


class _Unclosed:
    """A context manager that reads a spool without closing it (the walker closes it)."""

    def __init__(self, spool: _SpoolIO) -> None:
        self._spool = spool

    def __enter__(self) -> _SpoolIO:
        return self._spool

    def __exit__(self, *_exc: object) -> None:
        return None
