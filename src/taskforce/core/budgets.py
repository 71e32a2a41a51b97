"""Parser budgets: how much of an uploaded file one reader may hold, nest or do.

Every import reader (hash lists, case selectors, network tables) reads through the helpers
here, so that memory stays bounded whatever the file: a budget breach in one line or item is
a `Breach` that the reader reports as a bad line (the rest are read), and a breach that leaves
the parser unable to go on (nesting past `max_file_depth`, a token past `max_token`, more than
`max_records` records or `max_values` values in a file) raises `Exceeded`, which stops the
import with what it had kept. The limits and why each value was chosen are in
docs/formats.md ("Budgets"); the readers that use them are in `taskforce.core.parsing`.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import IO

from taskforce.core.errors import Invalid

KIB = 1 << 10
MIB = 1 << 20


@dataclass(frozen=True)
class Budget:
    """The limits of one import. `DEFAULT` is what every interface uses; tests shrink it."""

    max_depth: int = 32
    """Nesting inside one item (a VICS Media object, an NCMEC image, a `hash --json` line).
    Real items nest 3 levels (Media → AlternativeHashes → hash); deeper makes the item bad."""
    max_file_depth: int = 100_000
    """Nesting anywhere in a JSON or XML file. Up to it the parser keeps about 130 bytes a
    level (expat) and the item that nests is a bad item; past it the file stops."""
    max_item_values: int = 500_000
    """JSON values or XML elements in one item: a day of video is 100,000 vPDQ frames of
    4 values each in `taskforce hash --json`; more makes the item bad."""
    max_field: int = 128 * KIB
    """Characters of one field (a CSV cell, an XML element's text, a VICS string) other than
    a video's frames; a longer one makes its line bad, naming the field."""
    max_token: int = 16 * MIB
    """Characters of one line (CSV and line formats: a longer line is one bad line) and
    bytes a JSON or XML parser may buffer for one token (a string, number or tag: a longer
    one stops the file). A day of video's vPDQ frames, the longest legitimate value, is
    about 11 MB."""
    max_columns: int = 1_000
    """Cells of one CSV row (a row of 16 MiB of commas would be 16 million cells)."""
    max_records: int = 100_000_000
    """Lines or items of one file, bad ones included (the largest known sets hold tens of
    millions of hashes); past it the file stops."""
    max_values: int = 2_000_000_000
    """JSON values or XML elements of one file, inside items and out: the total work of a
    file, whatever it holds (a 2 GiB upload has at most about 1 billion); past it the file
    stops."""

    max_calendar_bytes: int = 1 * MIB
    """Bytes of one iCalendar file (a desk's unavailability, imported whole): a year of
    daily events with descriptions is about 400 KB; a larger file is refused whole."""

    def smaller(self, **limits: int) -> Budget:
        """This budget with some limits changed (tests, and readers of tighter formats)."""
        return replace(self, **limits)


DEFAULT = Budget()


@dataclass(frozen=True)
class Breach:
    """One line or item broke a budget: it is a bad line naming the field and the rule."""

    field: str
    rule: str


class Exceeded(Invalid):
    """The file broke a budget that stops it: `record` is the line or item it stopped at;
    everything before it was read (and, by an import, kept)."""

    def __init__(self, rule: str, record: int) -> None:
        super().__init__("file", rule)
        self.record = record


def too_long(limit: int, unit: str = "characters") -> str:
    return f"is longer than {limit:,} {unit}"


# --- lines ------------------------------------------------------------------------------------


def lines(text: IO[str], budget: Budget = DEFAULT) -> Iterator[tuple[int, str | None]]:
    """(line number, line without its end) for each line; `None` for a line longer than
    `max_token` characters, whose rest is skipped without being held. Counts every line
    against `max_records`."""
    limit = budget.max_token
    number = 0
    while True:
        line = text.readline(limit + 1)
        if not line:
            return
        number += 1
        if number > budget.max_records:
            raise Exceeded(f"has more than {budget.max_records:,} lines", number)
        if len(line) > limit and not line.endswith(("\n", "\r")):
            while (rest := text.readline(MIB)) and not rest.endswith(("\n", "\r")):
                pass
            yield number, None
            continue
        yield number, line.rstrip("\r\n")


def byte_lines(stream: IO[bytes], budget: Budget = DEFAULT) -> Iterator[tuple[int, bytes | None]]:
    """(line number, line without its end) for each line of a binary stream, before any
    decoding (a reader decodes line by line, so one badly encoded line stays one bad line);
    `None` for a line longer than `max_token` bytes, whose rest is skipped a mebibyte at a
    time without being held. Counts every line against `max_records`."""
    limit = budget.max_token
    number = 0
    while True:
        line = stream.readline(limit + 1)
        if not line:
            return
        number += 1
        if number > budget.max_records:
            raise Exceeded(f"has more than {budget.max_records:,} lines", number)
        if len(line) > limit and not line.endswith(b"\n"):
            while (rest := stream.readline(MIB)) and not rest.endswith(b"\n"):
                pass
            yield number, None
            continue
        yield number, line.rstrip(b"\r\n")


# A quoted CSV cell ("" inside it is two quoted cells back to back): removed before counting
# delimiters, so a video's frames (one quoted cell full of commas) count as one cell.
_QUOTED = re.compile(r'"[^"]*"')


def csv_rows(
    text: IO[str], budget: Budget = DEFAULT, delimiter: str = ","
) -> Iterator[tuple[int, list[str] | Breach]]:
    """CSV rows with the number of their (last) line, or a `Breach` for a row that is too
    long, has too many cells, a cell longer than `max_token`, or is not CSV. A bad row never
    stops the rows after it."""
    csv.field_size_limit(max(csv.field_size_limit(), budget.max_token))
    pending: list[tuple[int, Breach]] = []
    current = [0]

    def feed() -> Iterator[str]:
        for number, line in lines(text, budget):
            current[0] = number
            if line is None:
                pending.append((number, Breach("line", too_long(budget.max_token))))
                continue
            if _QUOTED.sub("", line).count(delimiter) >= budget.max_columns:
                rule = f"has more than {budget.max_columns:,} columns"
                pending.append((number, Breach("line", rule)))
                continue
            yield line

    reader = csv.reader(feed(), delimiter=delimiter)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            yield from _drain(pending)
            yield current[0], Breach("line", f"is not valid CSV ({exc})")
            continue
        yield from _drain(pending)
        yield current[0], row
    yield from _drain(pending)


def _drain(pending: list[tuple[int, Breach]]) -> Iterator[tuple[int, Breach]]:
    while pending:
        yield pending.pop(0)


def field_breach(
    row: dict[str, str], budget: Budget = DEFAULT, *, long_ok: str = ""
) -> Breach | None:
    """The first cell of a row longer than `max_field` (but `long_ok`, a column that may hold
    a video's frames), as a `Breach` naming its column."""
    for name, value in row.items():
        if name != long_ok and value is not None and len(value) > budget.max_field:
            return Breach(name, too_long(budget.max_field))
    return None
