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
    assert len(refused) == 1
    assert f"{evidence.MAX_DEPTH} levels" in (refused[0].error or "")
    assert max(i.display.count("!/") for i in items if not i.error) == evidence.MAX_DEPTH


def test_expansion_limit_is_named(tmp_path: Path) -> None:
    root = tmp_path / "seizure"
    root.mkdir()
    with zipfile.ZipFile(root / "bomb.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("zeros-1.bin", b"\0" * 800)
        z.writestr("zeros-2.bin", b"\0" * 800)
    budget = evidence.ArchiveBudget(max_bytes=1000)
    items = list(evidence.walk([root], tmp_path / "work", budget))
    assert any(
        i.error and "archive budget is spent (1,000 bytes expanded" in i.error for i in items
    )
    assert not any(i.display.endswith("zeros-2.bin") and i.error is None for i in items)


def _zip_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buffer.getvalue()


def test_one_budget_for_every_archive_and_level_of_a_run(tmp_path: Path) -> None:
    """Issue 11: the expansion limit restarted for each archive, so nesting multiplied it
    (10 x 10 inner archives of 8 GiB each: 800 GiB from a few MB). A run has one budget."""
    inner = _zip_of({f"zeros-{n}.bin": b"\0" * 10_000 for n in range(10)})  # 100 kB each
    outer = _zip_of({f"inner-{n}.zip": inner for n in range(10)})  # 1 MB in all
    root = tmp_path / "seizure"
    root.mkdir()
    (root / "outer.zip").write_bytes(outer)
    (root / "second.zip").write_bytes(_zip_of({"note.txt": b"x"}))
    budget = evidence.ArchiveBudget(max_bytes=250_000, max_members=1_000)
    items = list(evidence.walk([root], tmp_path / "work", budget))
    opened = [i for i in items if i.error is None and "!/" in i.display]
    assert sum(i.size or 0 for i in opened) <= 250_000  # a budget per archive: 1.1 MB
    refused = [i for i in items if i.error]
    assert refused
    assert all("the run's archive budget is spent" in (i.error or "") for i in refused)
    assert any(i.display.endswith("second.zip!/") for i in refused)  # later archives too
    assert any(i.display.endswith("second.zip") and i.path for i in items)  # still hashed


def test_member_count_is_part_of_the_run_budget(tmp_path: Path) -> None:
    root = tmp_path / "seizure"
    root.mkdir()
    (root / "many.zip").write_bytes(_zip_of({f"f{n}.txt": b"x" for n in range(50)}))
    budget = evidence.ArchiveBudget(max_members=20)
    items = list(evidence.walk([root], tmp_path / "work", budget))
    assert len([i for i in items if i.error is None and "!/" in i.display]) == 20
    [refused] = [i for i in items if i.error]
    assert "20 members for all archives of a run" in (refused.error or "")


def test_a_7z_bomb_stops_at_the_run_budget_while_decompressing(tmp_path: Path) -> None:
    py7zr = pytest.importorskip("py7zr")
    root = tmp_path / "seizure"
    root.mkdir()
    with py7zr.SevenZipFile(root / "bomb.7z", "w") as archive:
        for n in range(5):
            archive.writestr(b"\0" * 1_000_000, f"zeros-{n}.bin")
    budget = evidence.ArchiveBudget(max_bytes=1_500_000)
    items = list(evidence.walk([root], tmp_path / "work", budget))
    assert budget.used_bytes <= 1_500_000 + (1 << 20)  # stopped within a write of the budget
    [refused] = [i for i in items if i.error]
    assert refused.display.endswith("bomb.7z!/")
    assert "archive budget is spent" in (refused.error or "")
    assert not list((tmp_path / "work").glob("*"))  # nothing decompressed is left behind


def test_odd_file_name_bytes_are_shown_escaped(tmp_path: Path) -> None:
    root = tmp_path / "seizure"
    root.mkdir()
    odd = os.fsencode(str(root)) + b"/caf\xe9.jpg"  # Latin-1 bytes, not UTF-8
    Path(os.fsdecode(odd)).write_bytes(b"data")
    [item] = list(evidence.walk([root], tmp_path / "work"))
    assert item.display.endswith("caf\\xe9.jpg")
    assert item.path is not None
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
