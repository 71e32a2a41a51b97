"""Text exports as numbered lines, decoded one line at a time.

A chat export is read as bytes and split on newlines before decoding, so a line in the wrong
encoding is one bad line (reported, the next goes on) rather than a file that stops, and a
line longer than the budget is skipped without ever being held whole. A byte-order mark picks
UTF-8 or UTF-16; without one the export is UTF-8 unless the reader was told its legacy
encoding (Windows exports in cp1252, old phones in latin-1 …)."""

from __future__ import annotations

import codecs
import contextlib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any, Protocol, cast

from taskforce.core import budgets

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line that is not text: `rule` says why (its encoding, its length)."""

    rule: str


def sniff(head: bytes, encoding: str | None) -> tuple[str, int]:
    """The encoding of a text whose first bytes are `head`, and the length of its BOM. A BOM
    wins over `encoding` (it cannot be wrong by accident); no BOM: `encoding`, else UTF-8.
    Without a BOM, a head whose every other byte is NUL is UTF-16 (Windows tools write it)."""
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name, len(bom)
    if encoding:
        return encoding, 0
    sample = head[:200]
    if len(sample) >= 4 and sample[1::2].count(0) == len(sample[1::2]) and sample[0]:
        return "utf-16-le", 0
    if len(sample) >= 4 and sample[0::2].count(0) == len(sample[0::2]) and sample[1]:
        return "utf-16-be", 0
    return "utf-8", 0


def check_encoding(name: str) -> str:
    """The codec's canonical name, or ValueError naming the encoding that does not exist."""
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise ValueError(f"{name!r} is not a text encoding Python knows (e.g. cp1252)") from None


def lines(
    stream: IO[bytes], encoding: str | None = None, budget: budgets.Budget = budgets.DEFAULT
) -> Iterator[tuple[int, str | BadLine]]:
    """(line number from 1, text without its end, or `BadLine`) for each line of `stream`."""
    buffered: Any = stream if hasattr(stream, "peek") else io.BufferedReader(cast(Any, stream))
    head = buffered.peek(4096)[:4096]
    name, bom = sniff(head, encoding)
    if bom:
        buffered.read(bom)
    if name.startswith("utf-16"):
        yield from _wide_lines(buffered, name, budget)
        return
    too_long = BadLine(budgets.too_long(budget.max_token, "bytes"))
    for number, raw in budgets.byte_lines(buffered, budget):
        if raw is None:
            yield number, too_long
            continue
        try:
            yield number, raw.decode(name)
        except UnicodeDecodeError as exc:
            yield number, BadLine(_undecodable(raw, name, exc))


def _undecodable(raw: bytes, encoding: str, exc: UnicodeDecodeError) -> str:
    bad = raw[exc.start : exc.start + 4].hex(" ")
    return (
        f"is not {encoding} text (byte {exc.start + 1}: {bad}); "
        "give the export's encoding (e.g. cp1252) if it is an old one"
    )


def _wide_lines(
    stream: Any, encoding: str, budget: budgets.Budget
) -> Iterator[tuple[int, str | BadLine]]:
    """UTF-16 cannot be split on the newline byte: decode in chunks (a surrogate half that
    does not pair becomes U+FFFD) and report a line that held one."""
    text = io.TextIOWrapper(stream, encoding=encoding, errors="replace", newline="")
    try:
        for number, line in budgets.lines(text, budget):
            if line is None:
                yield number, BadLine(budgets.too_long(budget.max_token))
            elif "\ufffd" in line:
                yield number, BadLine(f"is not {encoding} text (a character that does not decode)")
            else:
                yield number, line
    finally:
        with contextlib.suppress(ValueError):  # already closed by its opener
            text.detach()  # the stream is its opener's to close


class Options(Protocol):
    """What a reader is told about an export (`reading.ReadOptions` is the one used)."""

    @property
    def timezone(self) -> str: ...
    @property
    def platform(self) -> str | None: ...
    @property
    def date_order(self) -> str | None: ...
    @property
    def encoding(self) -> str | None: ...
    @property
    def budget(self) -> budgets.Budget: ...


Opener = Callable[[], IO[bytes]]
"""Opens the export afresh (a file, a zip member): a reader that needs two passes (WhatsApp's
date order) opens it twice rather than holding it."""


class LineFeed:
    """The decoded lines of `lines()` as a text stream for `csv`: a bad line reads as an empty
    line (so numbers stay right) and is kept in `bad` for the reader to report."""

    def __init__(self, numbered: Iterator[tuple[int, str | BadLine]]) -> None:
        self.numbered = numbered
        self.bad: list[tuple[int, BadLine]] = []
        self.number = 0  # the line last read

    def readline(self, size: int = -1) -> str:  # noqa: ARG002 - lines are already bounded
        for number, line in self.numbered:
            self.number = number
            if isinstance(line, BadLine):
                self.bad.append((number, line))
                return "\n"
            return line + "\n"
        return ""
