"""Spool files live in the data folder, one folder per process held by a lock, and whatever a
crashed process left there is removed when the server or the worker starts (issue 11,
finding 10) — never what a live process is still writing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from taskforce.core import spool

HOLDER = """
import sys, time
from pathlib import Path
from taskforce.core import spool
path = spool.new_file(Path(sys.argv[1]), "hash-list")
path.write_bytes(b"0" * 1000)
print(path, flush=True)
time.sleep(600)
"""


def _holder(data_dir: Path) -> tuple[subprocess.Popen[str], Path]:
    """A process that spools a file and keeps running; its file's path."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(data_dir)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    assert line, "the holder did not start"
    return proc, Path(line)


def _kill(proc: subprocess.Popen[str]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    if proc.stdout is not None:
        proc.stdout.close()


def test_sweep_removes_what_dead_processes_left_and_keeps_live_ones(tmp_path: Path) -> None:
    dead, dead_file = _holder(tmp_path)
    alive, alive_file = _holder(tmp_path)
    try:
        _kill(dead)  # kill -9: no clean-up ran
        assert dead_file.exists()
        mine = spool.new_file(tmp_path, "export")  # this process's own, in use
        assert spool.sweep(tmp_path) == 1
        assert not dead_file.exists()
        assert not dead_file.parent.exists()
        assert alive_file.exists()
        assert mine.exists()
        assert spool.sweep(tmp_path) == 0  # nothing more to remove
    finally:
        _kill(alive)
    assert spool.sweep(tmp_path) == 1
    assert not alive_file.exists()
    assert {p.name for p in spool.spool_root(tmp_path).iterdir()} == {
        mine.parent.name,
        mine.parent.name + ".lock",
    }


def test_spool_context_removes_its_file(tmp_path: Path) -> None:
    with spool.spool_file(tmp_path, "hash-list") as path:
        path.write_bytes(b"x")
        assert path.parent.parent == spool.spool_root(tmp_path)
        assert oct(path.stat().st_mode & 0o777) == oct(0o600)
    assert not path.exists()


def test_the_worker_sweeps_at_start(tmp_path: Path) -> None:
    dead, dead_file = _holder(tmp_path)
    _kill(dead)
    from taskforce.cli import app

    result = CliRunner().invoke(
        app, ["worker", "--once"], env={"TASKFORCE_DATA_DIR": str(tmp_path), "COLUMNS": "160"}
    )
    assert result.exit_code == 0, result.output
    assert not dead_file.exists()


def test_a_stale_partial_lock_is_removed_after_a_minute(tmp_path: Path) -> None:
    root = spool.spool_root(tmp_path)
    root.mkdir(parents=True)
    partial = root / ".123-abc.partial"
    partial.write_bytes(b"")
    spool.sweep(tmp_path, now=time.time())
    assert partial.exists()  # may be a process naming its lock right now
    spool.sweep(tmp_path, now=time.time() + 120)
    assert not partial.exists()
