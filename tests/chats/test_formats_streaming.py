"""Memory stays bounded whatever the export: a 2 GiB single line streamed from a generator
(never held), and a large generated export read event by event."""

from __future__ import annotations

import io
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

from chats.exports import talk, whatsapp_txt

from taskforce.chats.kinds import Message, Problem
from taskforce.chats.reading import ReadOptions, read_file, read_stream
from taskforce.core.budgets import MIB


class Endless(io.RawIOBase):
    """`head`, then `size` bytes of one repeated character, then `tail`: a file of any size
    that is never in memory."""

    def __init__(self, head: bytes, size: int, tail: bytes) -> None:
        self.parts: list[bytes | int] = [head, size, tail]
        self.fill = b"x" * MIB

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        while self.parts:
            part = self.parts[0]
            if isinstance(part, int):
                if part == 0:
                    self.parts.pop(0)
                    continue
                n = min(len(view), part, len(self.fill))
                view[:n] = self.fill[:n]
                self.parts[0] = part - n
                return n
            if not part:
                self.parts.pop(0)
                continue
            assert isinstance(part, bytes)
            n = min(len(view), len(part))
            view[:n] = part[:n]
            self.parts[0] = part[n:]
            return n
        return 0


def read_peak(events: Iterator[object]) -> tuple[list[object], int]:
    """The events that are not messages, the messages' count, and the peak memory traced."""
    tracemalloc.start()
    try:
        kept: list[object] = []
        count = 0
        for event in events:
            if isinstance(event, Message):
                count += 1
            else:
                kept.append(event)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    kept.append(count)
    return kept, peak


def test_a_2_gib_single_line_is_one_problem_in_bounded_memory() -> None:
    def opener() -> io.BufferedReader:
        return io.BufferedReader(
            Endless(b"13/02/2024, 10:00 - Alice: ", 2 << 30, b"\n13/02/2024, 10:01 - Bob: after\n"),
            buffer_size=MIB,
        )

    kept, peak = read_peak(read_stream(opener, "big.txt", "big.txt", ReadOptions()))
    *found, count = kept
    assert count == 1  # the message after the long line
    assert found == [Problem("big.txt", 1, "line", "is longer than 16,777,216 bytes")]
    assert peak < 40 * MIB  # one budget's line (16 MiB) and the buffers, not 2 GiB


def test_a_shrunk_budget_keeps_the_same_rule(tmp_path: Path) -> None:
    path = tmp_path / "WhatsApp Chat with Bob.txt"
    path.write_bytes(
        b"13/02/2024, 10:00 - Alice: " + b"y" * 100_000 + b"\n13/02/2024, 10:01 - B: ok\n"
    )
    options = ReadOptions(budget=ReadOptions().budget.smaller(max_token=10_000))
    events = list(read_file(path, options))
    assert [e.text for e in events if isinstance(e, Message)] == ["ok"]
    assert [e for e in events if isinstance(e, Problem)] == [
        Problem(path.name, 1, "line", "is longer than 10,000 bytes")
    ]


def test_a_large_export_is_read_in_bounded_memory(tmp_path: Path) -> None:
    path = whatsapp_txt(tmp_path, talk(60_000), style="android-uk")
    assert path.stat().st_size > 4 * MIB
    kept, peak = read_peak(read_file(path, ReadOptions(timezone="Europe/Berlin")))
    assert kept == [60_000]
    assert peak < MIB, peak  # the file is 4 MiB; peak is the buffers and the date caches
