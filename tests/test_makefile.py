"""`make demo PORT=…` and `make setup`: the port is checked before anything is installed or
built, and nothing is installed again while pyproject.toml has not changed."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAKE = shutil.which("make")

pytestmark = pytest.mark.skipif(MAKE is None, reason="make is not installed")


def _copy(tmp_path: Path) -> Path:
    """The Makefile and pyproject.toml alone: a recipe that ran would fail, not install."""
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def _make(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert MAKE is not None
    return subprocess.run(
        [MAKE, "--no-print-directory", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_make_demo_refuses_a_busy_port_before_installing(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = _make(folder, "demo", f"PORT={port}")
    assert done.returncode != 0
    assert f"port {port} is in use" in done.stderr
    assert "make demo PORT=" in done.stderr
    assert not (folder / ".venv").exists()  # refused before setup


def test_make_demo_names_the_busy_port_of_the_three(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]  # PORT+1 of the demo asked for
        done = _make(folder, "demo", f"PORT={port - 1}")
    assert done.returncode != 0
    assert f"port {port} is in use" in done.stderr
    assert "the demo's three nodes take PORT, PORT+1, PORT+2" in done.stderr
    assert f"make demo PORT={port + 2}" in done.stderr


def test_make_demo_serves_on_the_port_it_is_given(tmp_path: Path) -> None:
    dry = _make(_copy(tmp_path), "-n", "demo", "PORT=8001")
    assert ".venv/bin/taskforce demo --port 8001" in dry.stdout


def test_setup_installs_again_only_when_pyproject_changed(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    stamp = folder / ".venv" / ".installed"
    stamp.parent.mkdir()
    stamp.touch()
    later = (folder / "pyproject.toml").stat().st_mtime + 10
    os.utime(stamp, (later, later))
    assert _make(folder, "-q", "setup").returncode == 0  # up to date: nothing to run
    os.utime(folder / "pyproject.toml", (later + 10, later + 10))
    assert _make(folder, "-q", "setup").returncode == 1  # pyproject.toml is newer: install
