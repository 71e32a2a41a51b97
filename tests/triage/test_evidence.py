"""Hostile evidence: symlink loops, nested archive bombs, odd file names, unreadable files."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import pytest

from taskforce.triage import evidence


def _items(root: Path, work: Path) -> dict[str, evidence.Item]:
    return {i.display: i for i in evidence.walk([root], work)}


def test_symlink_loops_are_reported_not_followed(tmp_path: Path) -> None:
    root = tmp_path / "seizure"
    (root / "a").mkdir(parents=True)
    (root / "a" / "loop").symlink_to(root, target_is_directory=True)
    (root / "a" / "file.txt").write_text("x")
    items = _items(root, tmp_path / "work")
    assert items[f"{root}/a/loop"].error == "symbolic link not followed"
    assert items[f"{root}/a/file.txt"].path is not None


def _nest(levels: int) -> bytes:
    data = b"innermost"
    for level in range(levels):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as z:
            z.writestr(f"level{level}.zip" if level else "inner.txt", data)
        data = buffer.getvalue()
    return data


def test_nested_archives_stop_at_the_depth_limit(tmp_path: Path) -> None:
    root = tmp_path / "seizure"
    root.mkdir()
    (root / "nested.zip").write_bytes(_nest(evidence.MAX_DEPTH + 2))
    items = list(evidence.walk([root], tmp_path / "work"))
    refused = [i for i in items if i.error and "nested deeper" in i.error]
    assert len(refused) == 1 and f"{evidence.MAX_DEPTH} levels" in (refused[0].error or "")
    assert max(i.display.count("!/") for i in items if not i.error) == evidence.MAX_DEPTH


def test_expansion_limit_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(evidence, "MAX_ARCHIVE_BYTES", 1000)
    root = tmp_path / "seizure"
    root.mkdir()
    with zipfile.ZipFile(root / "bomb.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("zeros-1.bin", b"\0" * 800)
        z.writestr("zeros-2.bin", b"\0" * 800)
    items = list(evidence.walk([root], tmp_path / "work"))
    assert any(i.error and "expands past" in i.error for i in items)
    assert not any(i.display.endswith("zeros-2.bin") and i.error is None for i in items)


def test_odd_file_name_bytes_are_shown_escaped(tmp_path: Path) -> None:
    root = tmp_path / "seizure"
    root.mkdir()
    odd = os.fsencode(str(root)) + b"/caf\xe9.jpg"  # Latin-1 bytes, not UTF-8
    Path(os.fsdecode(odd)).write_bytes(b"data")
    [item] = list(evidence.walk([root], tmp_path / "work"))
    assert item.display.endswith("caf\\xe9.jpg") and item.path is not None
    assert item.display.encode("utf-8")  # printable in every report


def test_unreadable_file_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "seizure"
    root.mkdir()
    (root / "locked.jpg").write_bytes(b"data")
    (root / "open.txt").write_text("readable")
    real_open = Path.open

    def refuse(self: Path, *args: object, **kwargs: object) -> object:
        if self.name == "locked.jpg":  # as a file the examiner's account may not read
            raise PermissionError(13, "Permission denied")
        return real_open(self, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(Path, "open", refuse)
    items = _items(root, tmp_path / "work")
    assert items[f"{root}/locked.jpg"].error == "cannot read: Permission denied"
    assert items[f"{root}/open.txt"].error is None
