"""Reading and writing the hash-list formats of the field (see docs/formats.md).

Every reader streams: it yields one `ParsedEntry` or `BadLine` at a time, with the line (or,
for VICS and NCMEC files, the entry) number, so a ten-million-line file is never held in
memory and each bad line is reported while the good ones are kept. Every reader keeps to a
`core.budgets.Budget` (nesting, values per item, field and line length, records and values
per file): a line or entry past it is a bad line; a file past it raises `budgets.Exceeded`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import IO, Any

from taskforce.cases.selectors import SelectorKind, normalise
from taskforce.core import budgets, parsing
from taskforce.core.budgets import DEFAULT, Budget
from taskforce.core.errors import Invalid
from taskforce.core.parsing import ITEM
from taskforce.hashsets import categories
from taskforce.hashsets.categories import Category

FORMATS = ("vics", "ncmec", "icse", "csv", "lines", "pdq", "hash-json")
EXPORT_FORMATS = ("vics", "csv", "pdq")
_HASH_KINDS = {
    "md5": SelectorKind.MD5,
    "sha1": SelectorKind.SHA1,
    "sha256": SelectorKind.SHA256,
    "pdq": SelectorKind.PDQ,
}
_BY_LENGTH = {32: "md5", 40: "sha1", 64: "sha256"}
_TRUE = {"true", "yes", "1", "y", "t"}
_FALSE = {"false", "no", "0", "n", "f", ""}
CSV_COLUMNS = (
    "md5",
    "sha1",
    "sha256",
    "pdq",
    "pdq_quality",
    "category",
    "series",
    "victim_identified",
    "source",
    "vpdq",
    "identified_by",
)
MAX_VIDEO_FRAMES = 100_000  # about a day of video at vPDQ's one frame a second


@dataclass(frozen=True)
class Frame:
    """One vPDQ frame as hash lists carry it: PDQ, its quality, seconds into the video."""

    pdq: str
    quality: int
    timestamp: float

    def __str__(self) -> str:
        """ThreatExchange's compact form, `hex,quality,seconds` (3 decimals)."""
        return f"{self.pdq},{self.quality},{self.timestamp:.3f}"


def parse_vpdq(raw: object, field: str = "vpdq") -> list[Frame]:
    """A video's frames from ThreatExchange's compact vPDQ (a JSON list, or a list, of
    `"hex,quality,seconds"` strings), or `Invalid` naming the frame and the rule."""
    items = raw
    if isinstance(raw, str):
        try:
            items = json.loads(raw)
        except json.JSONDecodeError:
            raise Invalid(
                field, 'must be a JSON list of "pdq_hex,quality,seconds" strings'
            ) from None
    if not isinstance(items, list) or not items:
        raise Invalid(field, 'must be a non-empty list of "pdq_hex,quality,seconds" strings')
    if len(items) > MAX_VIDEO_FRAMES:
        raise Invalid(field, f"must have at most {MAX_VIDEO_FRAMES:,} frames")
    frames = []
    for number, item in enumerate(items):
        parts = str(item).split(",")
        try:
            pdq, quality, seconds = parts
            frame = Frame(hash_value("pdq", pdq), int(quality), float(seconds))
        except (ValueError, Invalid):
            raise Invalid(
                f"{field}[{number}]", 'must be "pdq_hex,quality,seconds" (64 hex digits)'
            ) from None
        if not 0 <= frame.quality <= 100 or not frame.timestamp >= 0:
            raise Invalid(f"{field}[{number}]", "quality must be 0-100 and seconds not negative")
        frames.append(frame)
    return frames


def vpdq_text(frames: Iterable[Frame]) -> str:
    """The compact JSON that `parse_vpdq` reads."""
    return json.dumps([str(f) for f in frames])


@dataclass
class ParsedEntry:
    line: int
    md5: str | None = None
    sha1: str | None = None
    sha256: str | None = None
    pdq: str | None = None
    pdq_quality: int | None = None
    category: Category | None = None
    series: str | None = None
    victim_identified: bool = False
    source: str = ""
    vpdq: list[Frame] | None = None  # a video's frame hashes

    def hashes(self) -> dict[str, str | None]:
        return {"md5": self.md5, "sha1": self.sha1, "sha256": self.sha256, "pdq": self.pdq}


@dataclass
class BadLine:
    line: int
    field: str
    rule: str


Parsed = ParsedEntry | BadLine


def hash_value(kind: str, raw: str) -> str:
    """A hex hash in canonical form (lower case), or `Invalid` naming the kind."""
    try:
        return normalise(_HASH_KINDS[kind], raw.strip()).value
    except Invalid as exc:
        raise Invalid(kind, exc.rule) from None


def flag(raw: object, name: str) -> bool:
    """VICS and CSV booleans come as true/false, "true"/"false", yes/no or 1/0."""
    if isinstance(raw, bool):
        return raw
    text = "" if raw is None else str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise Invalid(name, "must be true or false")


def _entry(line: int, build: Any) -> Parsed:
    """Run a builder; an `Invalid` becomes a bad line naming the field and the rule."""
    try:
        entry: ParsedEntry = build()
    except Invalid as exc:
        return BadLine(line, exc.field, exc.rule)
    if not any(entry.hashes().values()) and not entry.vpdq:
        return BadLine(line, "hashes", "needs at least one of MD5, SHA-1, SHA-256, PDQ or vPDQ")
    return entry


def _text(stream: IO[bytes]) -> io.TextIOWrapper:
    """UTF-8 text (a BOM skipped, bad bytes replaced); closing it closes `stream`."""
    return io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")


def _text_lines(stream: IO[bytes], budget: Budget) -> Iterator[tuple[int, str] | BadLine]:
    """Each line, or a bad line for one longer than the budget (its rest never held)."""
    with _text(stream) as reader:
        for number, text in budgets.lines(reader, budget):
            if text is None:
                yield BadLine(number, "line", budgets.too_long(budget.max_token))
            else:
                yield number, text


def _text_field(raw: object, name: str, budget: Budget) -> str:
    """A field that must be text (JSON and XML give other types too) within `max_field`."""
    if raw is None:
        return ""
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise Invalid(name, "must be text")
    text = str(raw)
    if len(text) > budget.max_field:
        raise Invalid(name, budgets.too_long(budget.max_field))
    return text


# --- readers ----------------------------------------------------------------------------------


def read_lines(stream: IO[bytes], source: str, budget: Budget = DEFAULT) -> Iterator[Parsed]:
    """One hash per line, its type from its length (32 MD5, 40 SHA-1, 64 SHA-256)."""
    for line in _text_lines(stream, budget):
        if isinstance(line, BadLine):
            yield line
            continue
        number, text = line
        value = text.strip()
        if not value or value.startswith("#"):
            continue
        kind = _BY_LENGTH.get(len(value))
        if kind is None:
            yield BadLine(number, "hash", "must be 32 (MD5), 40 (SHA-1) or 64 (SHA-256) hex digits")
            continue
        yield _entry(number, partial(_one_hash, number, kind, value, source))


def _one_hash(number: int, kind: str, value: str, source: str) -> ParsedEntry:
    entry = ParsedEntry(number, source=source)
    setattr(entry, kind, hash_value(kind, value))
    return entry


def read_pdq(stream: IO[bytes], source: str, budget: Budget = DEFAULT) -> Iterator[Parsed]:
    """`pdq <64 hex digits>` per line (a bare 64-digit hash is read as PDQ too)."""
    for line in _text_lines(stream, budget):
        if isinstance(line, BadLine):
            yield line
            continue
        number, text = line
        words = text.split(maxsplit=2)
        if not words or words[0].startswith("#"):
            continue
        if words[0].lower() == "pdq":
            words = words[1:]
        if len(words) != 1:
            yield BadLine(number, "pdq", "each line must be: pdq <64 hexadecimal digits>")
            continue
        yield _entry(number, partial(_one_hash, number, "pdq", words[0], source))


def _optional(kind: str, raw: object) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise Invalid(kind, "must be text: a hexadecimal hash")
    return hash_value(kind, raw) if raw.strip() else None


def _rows(
    stream: IO[bytes], budget: Budget, delimiter: str
) -> Iterator[tuple[int, dict[str, str]] | BadLine | list[str]]:
    """The header (a list of lower-case names) first, then each row as a dict by name, or a
    bad line for a row past the budget or not CSV. Nothing at all for an empty file."""
    with _text(stream) as text:
        header: list[str] | None = None
        for number, row in budgets.csv_rows(text, budget, delimiter):
            if isinstance(row, budgets.Breach):
                yield BadLine(number, "header" if header is None else row.field, row.rule)
                if header is None:
                    return
                continue
            if not row:
                continue  # a blank line, as csv.DictReader skips it
            if header is None:
                header = [h.strip().lower() for h in row]
                yield header
                continue
            yield number, dict(zip(header, row, strict=False))


def read_csv(stream: IO[bytes], source: str, budget: Budget = DEFAULT) -> Iterator[Parsed]:
    """CSV with a header naming at least one hash column (see `CSV_COLUMNS`)."""
    rows = _rows(stream, budget, ",")
    header = next(rows, [])
    if isinstance(header, BadLine):
        yield header
        return
    if not isinstance(header, list) or not set(header) & {*_HASH_KINDS, "vpdq"}:
        yield BadLine(1, "header", "must name at least one of md5, sha1, sha256, pdq, vpdq")
        return
    for item in rows:
        if isinstance(item, BadLine | list):
            if isinstance(item, BadLine):
                yield item
            continue
        number, row = item
        breach = budgets.field_breach(row, budget, long_ok="vpdq")
        if breach is not None:
            yield BadLine(number, breach.field, breach.rule)
            continue

        def build(row: dict[str, str] = row, number: int = number) -> ParsedEntry:
            quality = (row.get("pdq_quality") or "").strip()
            if quality and not (quality.isdigit() and int(quality) <= 100):
                raise Invalid("pdq_quality", "must be a whole number from 0 to 100")
            return ParsedEntry(
                number,
                md5=_optional("md5", row.get("md5")),
                sha1=_optional("sha1", row.get("sha1")),
                sha256=_optional("sha256", row.get("sha256")),
                pdq=_optional("pdq", row.get("pdq")),
                pdq_quality=int(quality) if quality else None,
                category=categories.parse(row.get("category") or ""),
                series=(row.get("series") or "").strip()[:200] or None,
                victim_identified=flag(row.get("victim_identified"), "victim_identified"),
                source=(row.get("source") or "").strip()[:200] or source,
                vpdq=parse_vpdq(raw) if (raw := (row.get("vpdq") or "").strip()) else None,
            )

        yield _entry(number, build)


def read_hash_json(stream: IO[bytes], source: str, budget: Budget = DEFAULT) -> Iterator[Parsed]:
    """`taskforce hash --json` output, one object per line: an agency's own known files
    (images with PDQ, videos with vPDQ) made into a set. Files that failed to hash are
    reported as bad lines. Each line is parsed within the budget on its own, so a line that
    nests too deep or holds too much is one bad line."""
    for line in _text_lines(stream, budget):
        if isinstance(line, BadLine):
            yield line
            continue
        number, text = line
        if not text.strip():
            continue
        found = _json_line(text, budget)
        if isinstance(found, budgets.Breach):
            yield BadLine(number, found.field, found.rule)
            continue
        if not isinstance(found, dict):
            yield BadLine(number, "line", "must be one JSON object (taskforce hash --json)")
            continue
        if found.get("error"):
            yield BadLine(number, "error", f"the file was not hashed: {found['error']}"[:300])
            continue

        def build(found: dict[str, Any] = found, number: int = number) -> ParsedEntry:
            frames = found.get("vpdq")
            if frames and not isinstance(frames, list):
                raise Invalid("vpdq", "must be a list of frames (taskforce hash --json)")
            return ParsedEntry(
                number,
                md5=_optional("md5", found.get("md5")),
                sha1=_optional("sha1", found.get("sha1")),
                sha256=_optional("sha256", found.get("sha256")),
                pdq=_optional("pdq", found.get("pdq")),
                pdq_quality=_quality(found.get("pdq_quality")),
                vpdq=parse_vpdq([_frame_text(f) for f in frames]) if frames else None,
                source=source,
            )

        yield _entry(number, build)


def _json_line(text: str, budget: Budget) -> object:
    """One line's JSON value, or a `Breach` (invalid JSON, or past the budget)."""
    try:
        items = list(parsing.json_items(io.BytesIO(text.encode()), (), budget))
    except parsing.Malformed:
        return budgets.Breach("line", "must be one JSON object (taskforce hash --json)")
    except budgets.Exceeded as exc:
        return budgets.Breach("line", exc.rule)
    if len(items) != 1:
        return budgets.Breach("line", "must be one JSON object (taskforce hash --json)")
    return items[0][1]


def _quality(raw: object) -> int | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= 100:
        raise Invalid("pdq_quality", "must be a whole number from 0 to 100")
    return raw


def _frame_text(frame: object) -> str:
    if not isinstance(frame, dict):
        return str(frame)[:200]
    return f"{frame.get('pdq')},{frame.get('quality')},{frame.get('timestamp')}"[:200]


def read_icse(stream: IO[bytes], source: str, budget: Budget = DEFAULT) -> Iterator[Parsed]:
    """INTERPOL ICSE export: `;`-separated, header `MD5;SHA1;PhotoDNA;Image ID;...;Baseline`."""
    rows = _rows(stream, budget, ";")
    header = next(rows, [])
    if isinstance(header, BadLine):
        yield header
        return
    if not isinstance(header, list) or ("md5" not in header and "sha1" not in header):
        yield BadLine(1, "header", "must name MD5 or SHA1 (INTERPOL ICSE export)")
        return
    for item in rows:
        if isinstance(item, BadLine | list):
            if isinstance(item, BadLine):
                yield item
            continue
        number, row = item
        breach = budgets.field_breach(row, budget)
        if breach is not None:
            yield BadLine(number, breach.field, breach.rule)
            continue

        def build(row: dict[str, str] = row, number: int = number) -> ParsedEntry:
            baseline = flag(row.get("baseline"), "Baseline")
            return ParsedEntry(
                number,
                md5=_optional("md5", row.get("md5")),
                sha1=_optional("sha1", row.get("sha1")),
                category=categories.category("taskforce", "baseline") if baseline else None,
                series=(row.get("series name") or "").strip()[:200] or None,
                victim_identified=flag(row.get("victim identified"), "Victim identified"),
                source=source or "INTERPOL ICSE",
            )

        yield _entry(number, build)


def _vics_category(raw: object) -> Category | None:
    """Project VIC's `Category`: a whole number (or its digits as text); null or 0 is none."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, str) and raw.strip().isdigit():
        raw = int(raw.strip())
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise Invalid("Category", "must be a whole number (Project VIC category 0-4)")
    if raw == 0:
        return None
    try:
        return categories.category("vic-us", str(raw))
    except Invalid as exc:
        raise Invalid("Category", exc.rule) from None


def _vics_media(number: int, media: dict[str, Any], source: str, budget: Budget) -> Parsed:
    media.pop("Miniature", None)  # an embedded thumbnail: never kept, not even in memory long

    def build() -> ParsedEntry:
        listed = media.get("AlternativeHashes") or []
        if not isinstance(listed, list):
            raise Invalid("AlternativeHashes", "must be a list of {HashName, HashValue}")
        alternatives: dict[str, str] = {}
        for alternative in listed:
            if not isinstance(alternative, dict):
                continue
            name = _text_field(alternative.get("HashName"), "AlternativeHashes.HashName", budget)
            key = name.strip().lower().replace("-", "")
            video = budget.smaller(max_field=budget.max_token) if key == "vpdq" else budget
            alternatives[key] = _text_field(
                alternative.get("HashValue"), f"AlternativeHashes.{name.strip()[:20]}", video
            )
        return ParsedEntry(
            number,
            md5=_optional("md5", _text_field(media.get("MD5"), "MD5", budget) or None),
            sha1=_optional("sha1", _text_field(media.get("SHA1"), "SHA1", budget) or None),
            sha256=_optional("sha256", alternatives.get("sha256")),
            pdq=_optional("pdq", alternatives.get("pdq")),
            vpdq=parse_vpdq(alternatives["vpdq"], "AlternativeHashes.vPDQ")
            if alternatives.get("vpdq")
            else None,
            category=_vics_category(media.get("Category")),
            series=_text_field(media.get("Series"), "Series", budget).strip()[:200] or None,
            victim_identified=flag(
                _text_field(media.get("VictimIdentified"), "VictimIdentified", budget)
                if not isinstance(media.get("VictimIdentified"), bool)
                else media["VictimIdentified"],
                "VictimIdentified",
            ),
            source=source
            or _text_field(media.get("PrecategorizationSource"), "PrecategorizationSource", budget)[
                :200
            ],
        )

    return _entry(number, build)


def read_vics(stream: IO[bytes], source: str, budget: Budget = DEFAULT) -> Iterator[Parsed]:
    """Project VIC VICS JSON, 1.2/1.3/2.0, `#Media` hash sets or `#Cases` case exports.

    Media objects are parsed one at a time, within the budget (`core.parsing.json_items`);
    the "line" of a bad entry is its number among the file's Media objects."""
    head = stream.read(4096)
    stream.seek(3 if head.startswith(b"\xef\xbb\xbf") else 0)  # many exports start with a BOM
    path = ("value", ITEM, "Media", ITEM) if b"#Cases" in head else ("value", ITEM)
    try:
        for number, media in parsing.json_items(stream, path, budget):
            if isinstance(media, budgets.Breach):
                yield BadLine(number, f"Media.{media.field}", media.rule)
            elif isinstance(media, dict):
                yield _vics_media(number, media, source, budget)
            else:
                yield BadLine(number, "Media", "must be a JSON object")
    except parsing.Malformed as exc:
        yield BadLine(exc.record, "file", str(exc))


def read_ncmec(stream: IO[bytes], source: str, budget: Budget = DEFAULT) -> Iterator[Parsed]:
    """NCMEC hash-sharing XML (`queryResult/images/image` with `fingerprints`): only the text
    inside `image` and `video` elements is kept, one element at a time."""
    try:
        for number, prints in parsing.xml_items(stream, ("image", "video"), budget):
            if isinstance(prints, budgets.Breach):
                yield BadLine(number, prints.field, prints.rule)
                continue

            def build(prints: dict[str, str] = prints, number: int = number) -> ParsedEntry:
                code = prints.get("classification", "").strip()
                return ParsedEntry(
                    number,
                    md5=_optional("md5", prints.get("md5")),
                    sha1=_optional("sha1", prints.get("sha1")),
                    pdq=_optional("pdq", prints.get("pdq")),
                    category=categories.category("ncmec", code) if code else None,
                    source=source or "NCMEC",
                )

            yield _entry(number, build)
    except parsing.Malformed as exc:
        yield BadLine(exc.record, "file", str(exc))


READERS = {
    "vics": read_vics,
    "ncmec": read_ncmec,
    "icse": read_icse,
    "csv": read_csv,
    "lines": read_lines,
    "pdq": read_pdq,
    "hash-json": read_hash_json,
}


def detect_format(path: Path) -> str:
    """The format from the first bytes: JSON is VICS, XML is NCMEC, and so on."""
    with path.open("rb") as f:
        head = f.read(4096).decode("utf-8-sig", errors="replace").lstrip()
    first = head.splitlines()[0].strip().lower() if head else ""
    if head.startswith("{"):
        return "hash-json" if first.startswith('{"path"') else "vics"
    if head.startswith("<"):
        return "ncmec"
    if first.startswith("md5;") or (";" in first and "photodna" in first):
        return "icse"
    if "," in first and set(first.split(",")) & {*_HASH_KINDS, "vpdq"}:
        return "csv"
    if first.startswith("pdq"):
        return "pdq"
    return "lines"


def read(path: Path, fmt: str, source: str = "", budget: Budget = DEFAULT) -> Iterator[Parsed]:
    """The entries of a file; raises `budgets.Exceeded` where the file breaks a budget that
    stops it (the entries before it have been yielded)."""
    if fmt not in READERS:
        raise Invalid("format", f"must be one of {', '.join(FORMATS)}")
    with path.open("rb") as stream:
        yield from READERS[fmt](stream, source, budget)


# --- writers ----------------------------------------------------------------------------------


@dataclass
class ExportEntry:
    md5: str | None
    sha1: str | None
    sha256: str | None
    pdq: str | None
    pdq_quality: int | None
    category_scheme: str | None
    category_code: str | None
    series: str | None
    victim_identified: bool
    source: str
    vpdq: str | None = None  # compact JSON, as stored
    identified_by: str | None = None  # identifying agencies' codes (series status), exports only


def write_csv(out: IO[str], entries: Iterable[ExportEntry]) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    count = 0
    for e in entries:
        category = f"{e.category_scheme}:{e.category_code}" if e.category_code else ""
        writer.writerow(
            [
                e.md5 or "",
                e.sha1 or "",
                e.sha256 or "",
                e.pdq or "",
                "" if e.pdq_quality is None else e.pdq_quality,
                category,
                e.series or "",
                "true" if e.victim_identified else "false",
                e.source,
                e.vpdq or "",
                e.identified_by or "",
            ]
        )
        count += 1
    return count


def write_pdq(out: IO[str], entries: Iterable[ExportEntry]) -> int:
    count = 0
    for e in entries:
        if e.pdq:
            out.write(f"pdq {e.pdq}\n")
            count += 1
    return count


VICS_CONTEXT = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Media"


def write_vics(out: IO[str], entries: Iterable[ExportEntry]) -> int:
    """VICS 2.0 `#Media`, written entry by entry (hex upper-case, booleans as strings)."""
    out.write('{"@odata.context":' + json.dumps(VICS_CONTEXT) + ',"value":[')
    count = 0
    for e in entries:
        alternatives = [
            {"HashName": name, "HashValue": value}
            for name, value in (("SHA256", e.sha256), ("PDQ", e.pdq), ("vPDQ", e.vpdq))
            if value
        ]
        media: dict[str, Any] = {
            "MediaID": count + 1,
            "Category": int(e.category_code)
            if e.category_scheme == "vic-us" and e.category_code
            else None,
            "MD5": e.md5.upper() if e.md5 else None,
            "SHA1": e.sha1.upper() if e.sha1 else None,
            "Series": e.series or "",
            "VictimIdentified": "true" if e.victim_identified else "false",
            "IsPrecategorized": "true" if e.category_code else "false",
            "AlternativeHashes": alternatives,
            "Tags": f"{e.category_scheme}:{e.category_code}" if e.category_code else "",
        }
        out.write(("," if count else "") + json.dumps(media, ensure_ascii=False))
        count += 1
    out.write("]}\n")
    return count


WRITERS = {"vics": write_vics, "csv": write_csv, "pdq": write_pdq}
