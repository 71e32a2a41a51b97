"""The exports `benchmarks/chats.py` generates are read whole, in every format, with no problem:
otherwise its messages/s would time a reader refusing lines, not an import."""

from __future__ import annotations

import importlib.util
from collections import Counter
from pathlib import Path
from types import ModuleType

from taskforce.chats.kinds import Message, Problem
from taskforce.chats.reading import ReadOptions, read_file

SCRIPT = Path(__file__).parents[2] / "benchmarks" / "chats.py"


def _benchmark() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_chats", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_generated_exports_read_whole_in_six_shapes(tmp_path: Path) -> None:
    bench = _benchmark()
    paths = bench.generate(tmp_path, 3_000)
    formats: Counter[str] = Counter()
    problems: list[Problem] = []
    read = 0
    for path in paths:
        for event in read_file(path, ReadOptions(timezone="Europe/London")):
            if isinstance(event, Message):
                read += 1
                formats[event.format] += 1
            elif isinstance(event, Problem):
                problems.append(event)
    assert problems == []
    assert read == 3_000
    assert set(formats) == {"whatsapp", "plain", "csv", "telegram", "pan12"}
    # the same seed writes the same bytes (a run is repeatable)
    again = bench.generate(tmp_path / "again", 3_000)
    assert [p.read_bytes() for p in again] == [p.read_bytes() for p in paths]
    lines, _, _ = bench.baseline(paths)
    assert lines >= 3_000
