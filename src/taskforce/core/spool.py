"""Spool files: uploads on their way in and exports on their way out, kept in the data folder
(`<data_dir>/spool/`), never in /tmp, and removed after use and after a crash.

Each process writes into a folder of its own, `spool/<pid>-<random>/`, announced by the lock
file `spool/<pid>-<random>.lock` on which the process holds an advisory lock (`flock`) for its
whole life. The kernel drops that lock when the process ends, however it ends (kill -9, out of
memory), so at start-up the server and the worker remove every folder whose lock they can take:
what a dead process left behind, and nothing a live one (another worker of the same hub) still
writes. Why a folder per process rather than one shared folder emptied at start-up: several
`taskforce serve --workers` processes and `taskforce worker`s share one data folder, and one
starting must not delete another's upload mid-way.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SPOOL_FOLDER = "spool"
_LOCK_SUFFIX = ".lock"
_STALE_PARTIAL_SECONDS = 60  # a lock file still being created is renamed within microseconds


@dataclass
class _Held:
    pid: int
    folder: Path
    lock_fd: int


_held: dict[Path, _Held] = {}
_guard = threading.Lock()


def spool_root(data_dir: Path) -> Path:
    return data_dir / SPOOL_FOLDER


def _claim(root: Path) -> _Held:
    """A new folder for this process, its lock taken before its name is visible: a sweeper in
    another process never sees an unlocked lock file of a live process."""
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    name = f"{os.getpid()}-{secrets.token_hex(6)}"
    partial = root / f".{name}.partial"
    fd = os.open(partial, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        partial.rename(root / (name + _LOCK_SUFFIX))
        folder = root / name
        folder.mkdir(mode=0o700)
    except BaseException:
        os.close(fd)
        partial.unlink(missing_ok=True)
        raise
    return _Held(pid=os.getpid(), folder=folder, lock_fd=fd)


def process_folder(data_dir: Path) -> Path:
    """This process's spool folder under `data_dir`, created and locked on first use."""
    root = spool_root(Path(data_dir)).resolve()
    with _guard:
        held = _held.get(root)
        if held is None or held.pid != os.getpid() or not held.folder.is_dir():
            if held is not None and held.pid == os.getpid():
                os.close(held.lock_fd)  # its folder was removed by hand: claim a new one
            held = _claim(root)  # first use, or the first in a forked child
            _held[root] = held
        return held.folder


def new_file(data_dir: Path, prefix: str, suffix: str = "") -> Path:
    """A new empty file (mode 0600) in this process's spool folder; the caller removes it."""
    handle, name = tempfile.mkstemp(
        prefix=f"{prefix}-", suffix=suffix, dir=process_folder(data_dir)
    )
    os.close(handle)
    return Path(name)


@contextmanager
def spool_file(data_dir: Path, prefix: str, suffix: str = "") -> Iterator[Path]:
    """A spool file for the length of the block, removed afterwards whatever happens."""
    path = new_file(data_dir, prefix, suffix)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def safe_name(name: str, default: str = "upload") -> str:
    """The base name of a file name a client sent (no folders, no control characters, at most
    200 characters), or `default` when nothing usable is left."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(c for c in base if c.isprintable()).strip()[-200:]
    return base if base.strip(".") else default


@contextmanager
def under_name(data_dir: Path, path: Path, name: str) -> Iterator[Path]:
    """A spool file moved, for the length of the block, into a folder of its own under the
    name its sender gave (`safe_name`): for readers that take meaning from a file's name (a
    chat export without an id of its own is named by its file). Removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="named-", dir=process_folder(data_dir)))
    try:
        named = folder / safe_name(name)
        path.rename(named)
        yield named
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def sweep(data_dir: Path, *, now: float | None = None) -> int:
    """Remove the spool folders of processes that are gone; how many files went with them.

    Run at start-up by the server and the worker. A folder is removed only while its lock is
    held by the sweeper, so a live process's folder is never touched."""
    root = spool_root(Path(data_dir))
    if not root.is_dir():
        return 0
    now = time.time() if now is None else now
    removed = 0
    for entry in sorted(root.iterdir()):
        if entry.name.endswith(".partial"):
            # A process that died between creating its lock file and naming it.
            try:
                if now - entry.stat().st_mtime > _STALE_PARTIAL_SECONDS:
                    entry.unlink(missing_ok=True)
            except FileNotFoundError:
                pass
            continue
        if entry.name.endswith(_LOCK_SUFFIX):
            removed += _sweep_one(root, entry.name.removesuffix(_LOCK_SUFFIX))
        elif entry.is_dir() and not (root / (entry.name + _LOCK_SUFFIX)).exists():
            # No lock file: its owner's sweeper or a crash removed the lock, never a live owner
            # (a folder is created only after its lock file is in place).
            removed += _remove_tree(entry)
        elif not entry.is_dir() and entry.is_file():
            entry.unlink(missing_ok=True)  # a stray file at the top: nobody writes there
            removed += 1
    return removed


def _sweep_one(root: Path, name: str) -> int:
    lock = root / (name + _LOCK_SUFFIX)
    try:
        fd = os.open(lock, os.O_RDWR)
    except FileNotFoundError:
        return 0
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return 0  # its process is alive
        removed = _remove_tree(root / name)
        lock.unlink(missing_ok=True)
        return removed
    finally:
        os.close(fd)


def _remove_tree(folder: Path) -> int:
    if not folder.is_dir():
        return 0
    count = sum(1 for p in folder.rglob("*") if p.is_file())
    shutil.rmtree(folder, ignore_errors=True)
    return count
