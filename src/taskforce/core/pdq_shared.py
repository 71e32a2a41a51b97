"""PDQ index tables in files that the server's processes map, so the page cache holds one copy.

Each `taskforce serve` worker used to build its own multi-index (1.15 GiB at 10M hashes, four
workers 4.6 GiB). Now whichever process first has a main part made only of committed rows
writes it to `<data>/pdq-index/<table>-<last row number>/` (codes, row numbers, positions,
offsets as .npy, written in a scratch folder and renamed into place, so a reader sees a
generation whole or not at all); every process maps the newest generation read-only
(`np.load(mmap_mode="r")`) in place of its own copy and keeps only its small tail of later
rows. A generation's name says which rows it holds (all committed rows up to that number),
and its last code is checked against that row in the database before a process maps it.
When rows are deleted, generations above the deletion are removed: their numbers may be
given again to other rows (SQLite).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from taskforce.core.mih import MultiIndex

Ids = npt.NDArray[np.int64]
_ARRAYS = ("codes", "positions", "offsets", "ids")


def _generations(directory: Path, name: str) -> list[tuple[int, Path]]:
    """(last row number, folder) of the table's published generations, oldest first."""
    pattern = re.compile(re.escape(name) + r"-(\d+)")
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return []
    found = [
        (int(match.group(1)), Path(entry.path))
        for entry in entries
        if (match := pattern.fullmatch(entry.name)) and entry.is_dir()
    ]
    return sorted(found)


def newest(directory: Path, name: str, above: int) -> tuple[int, Path] | None:
    """The newest generation holding rows beyond `above`, if any."""
    found = _generations(directory, name)
    return found[-1] if found and found[-1][0] > above else None


def load(folder: Path) -> tuple[MultiIndex, Ids] | None:
    """The generation in `folder`, mapped read-only; None if it was removed meanwhile."""
    try:
        codes, positions, offsets, ids = (
            np.load(folder / f"{array}.npy", mmap_mode="r") for array in _ARRAYS
        )
    except FileNotFoundError:
        return None
    bits = int(offsets.shape[1] - 1).bit_length() - 1
    return MultiIndex(bits, len(ids), codes, positions, offsets), ids


def last_code(main: MultiIndex) -> bytes:
    """The last code of a generation as stored (32 bytes): what a process checks against the
    database's row before it maps the generation."""
    return np.asarray(main.codes[main.size - 1], dtype=">u8").tobytes()


def publish(directory: Path, name: str, main: MultiIndex, ids: Ids) -> Path:
    """Write a generation (rows up to ids[-1], all committed) and remove the older ones.

    Two processes may publish the same rows at once: the first rename wins, the other's
    scratch folder is removed and the winner's folder returned."""
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / f"{name}-{int(ids[-1])}"
    found = load(final) if final.exists() else None
    if found is not None and last_code(found[0]) != last_code(main):
        shutil.rmtree(final, ignore_errors=True)  # left from a database since re-created
    if not final.exists():
        scratch = directory / f".{final.name}-{os.getpid()}-{secrets.token_hex(4)}.tmp"
        scratch.mkdir()
        try:
            arrays: tuple[npt.NDArray[Any], ...] = (
                main.codes[: main.size],
                main.positions,
                main.offsets,
                ids,
            )
            for array, values in zip(_ARRAYS, arrays, strict=True):
                np.save(scratch / f"{array}.npy", values)
            scratch.rename(final)
        except OSError:
            if not final.exists():
                raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    for last, folder in _generations(directory, name):
        if last < int(ids[-1]):
            shutil.rmtree(folder, ignore_errors=True)  # processes that map it keep their pages
    return final


def discard_above(directory: Path, name: str, seq: int) -> None:
    """Remove the generations holding rows above `seq` (they are being deleted)."""
    for last, folder in _generations(directory, name):
        if last > seq:
            shutil.rmtree(folder, ignore_errors=True)
