"""Reading and writing the hash-list formats of the field (see docs/formats.md).

Every reader streams: it yields one `ParsedEntry` or `BadLine` at a time, with the line (or,
for VICS and NCMEC files, the entry) number, so a ten-million-line file is never held in
memory and each bad line is reported while the good ones are kept.
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

import ijson
from defusedxml import DefusedXmlException, ElementTree

from taskforce.cases.selectors import SelectorKind, normalise
from taskforce.core.errors import Invalid
from taskforce.hashsets import categories
from taskforce.hashsets.categories import Category

FORMATS = ("vics", "ncmec", "icse", "csv", "lines", "pdq", "hash-json")
EXPORT_FORMATS = ("vics", "csv", "pdq")
_HASH_KINDS = {"md5": SelectorKind.MD5, "sha1": SelectorKind.SHA1,
               "sha256": SelectorKind.SHA256, "pdq": SelectorKind.PDQ}  # fmt: skip
_BY_LENGTH = {32: "md5", 40: "sha1", 64: "sha256"}
_TRUE = {"true", "yes", "1", "y", "t"}
_FALSE = {"false", "no", "0", "n", "f", ""}
CSV_COLUMNS = ("md5", "sha1", "sha256", "pdq", "pdq_quality", "category", "series",
               "victim_identified", "source", "vpdq", "identified_by")  # fmt: skip
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


def _text_lines(stream: IO[bytes]) -> Iterator[tuple[int, str]]:
    with _text(stream) as reader:
        for number, text in enumerate(reader, start=1):
            yield number, text.rstrip("\r\n")


def _text(stream: IO[bytes]) -> io.TextIOWrapper:
    """UTF-8 text (a BOM skipped, bad bytes replaced); closing it closes `stream`."""
    return io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")


# --- readers ----------------------------------------------------------------------------------


def read_lines(stream: IO[bytes], source: str) -> Iterator[Parsed]:
    """One hash per line, its type from its length (32 MD5, 40 SHA-1, 64 SHA-256)."""
    for number, text in _text_lines(stream):
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


def read_pdq(stream: IO[bytes], source: str) -> Iterator[Parsed]:
    """`pdq <64 hex digits>` per line (a bare 64-digit hash is read as PDQ too)."""
    for number, text in _text_lines(stream):
        words = text.split()
        if not words or words[0].startswith("#"):
            continue
        if words[0].lower() == "pdq":
            words = words[1:]
        if len(words) != 1:
            yield BadLine(number, "pdq", "each line must be: pdq <64 hexadecimal digits>")
            continue
        yield _entry(number, partial(_one_hash, number, "pdq", words[0], source))


def _optional(kind: str, raw: str | None) -> str | None:
    return hash_value(kind, raw) if raw and raw.strip() else None


def read_csv(stream: IO[bytes], source: str) -> Iterator[Parsed]:
    """CSV with a header naming at least one hash column (see `CSV_COLUMNS`)."""
    with _text(stream) as text:
        yield from _read_csv_rows(csv.DictReader(text), source)


def _read_csv_rows(reader: csv.DictReader[str], source: str) -> Iterator[Parsed]:
    header = [h.strip().lower() for h in reader.fieldnames or []]
    if not set(header) & {*_HASH_KINDS, "vpdq"}:
        yield BadLine(1, "header", "must name at least one of md5, sha1, sha256, pdq, vpdq")
        return
    reader.fieldnames = header
    for row in reader:
        number = reader.line_num

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


def read_hash_json(stream: IO[bytes], source: str) -> Iterator[Parsed]:
    """`taskforce hash --json` output, one object per line: an agency's own known files
    (images with PDQ, videos with vPDQ) made into a set. Files that failed to hash are
    reported as bad lines."""
    for number, text in _text_lines(stream):
        if not text.strip():
            continue
        try:
            found = json.loads(text)
        except json.JSONDecodeError:
            yield BadLine(number, "line", "must be one JSON object (taskforce hash --json)")
            continue
        if not isinstance(found, dict):
            yield BadLine(number, "line", "must be one JSON object (taskforce hash --json)")
            continue
        if found.get("error"):
            yield BadLine(number, "error", f"the file was not hashed: {found['error']}"[:300])
            continue

        def build(found: dict[str, Any] = found, number: int = number) -> ParsedEntry:
            frames = found.get("vpdq")
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


def _quality(raw: object) -> int | None:
    if raw is None or raw == "":
        return None
    if not isinstance(raw, int) or not 0 <= raw <= 100:
        raise Invalid("pdq_quality", "must be a whole number from 0 to 100")
    return raw


def _frame_text(frame: object) -> str:
    if not isinstance(frame, dict):
        return str(frame)
    return f"{frame.get('pdq')},{frame.get('quality')},{frame.get('timestamp')}"


def read_icse(stream: IO[bytes], source: str) -> Iterator[Parsed]:
    """INTERPOL ICSE export: `;`-separated, header `MD5;SHA1;PhotoDNA;Image ID;...;Baseline`."""
    with _text(stream) as text:
        yield from _read_icse_rows(csv.DictReader(text, delimiter=";"), source)


def _read_icse_rows(reader: csv.DictReader[str], source: str) -> Iterator[Parsed]:
    reader.fieldnames = [h.strip().lower() for h in reader.fieldnames or []]
    if "md5" not in reader.fieldnames and "sha1" not in reader.fieldnames:
        yield BadLine(1, "header", "must name MD5 or SHA1 (INTERPOL ICSE export)")
        return
    for row in reader:
        number = reader.line_num

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


def _vics_media(number: int, media: dict[str, Any], source: str) -> Parsed:
    media.pop("Miniature", None)  # an embedded thumbnail: never kept, not even in memory long

    def build() -> ParsedEntry:
        alternatives = {
            str(a.get("HashName", "")).strip().lower().replace("-", ""): str(a.get("HashValue", ""))
            for a in media.get("AlternativeHashes") or []
            if isinstance(a, dict)
        }
        raw_category = media.get("Category")
        category = (
            categories.category("vic-us", str(int(raw_category)))
            if raw_category not in (None, "", 0, "0")
            else None
        )
        return ParsedEntry(
            number,
            md5=_optional("md5", media.get("MD5")),
            sha1=_optional("sha1", media.get("SHA1")),
            sha256=_optional("sha256", alternatives.get("sha256")),
            pdq=_optional("pdq", alternatives.get("pdq")),
            vpdq=parse_vpdq(alternatives["vpdq"], "AlternativeHashes.vPDQ")
            if alternatives.get("vpdq")
            else None,
            category=category,
            series=str(media.get("Series") or "").strip()[:200] or None,
            victim_identified=flag(media.get("VictimIdentified"), "VictimIdentified"),
            source=source or str(media.get("PrecategorizationSource") or "")[:200],
        )

    return _entry(number, build)


def read_vics(stream: IO[bytes], source: str) -> Iterator[Parsed]:
    """Project VIC VICS JSON, 1.2/1.3/2.0, `#Media` hash sets or `#Cases` case exports.

    Media objects are parsed one at a time (ijson); the "line" of a bad entry is its number
    among the file's Media objects."""
    head = stream.read(4096)
    stream.seek(3 if head.startswith(b"\xef\xbb\xbf") else 0)  # many exports start with a BOM
    cases = b"#Cases" in head
    prefix = "value.item.Media.item" if cases else "value.item"
    try:
        for number, media in enumerate(ijson.items(stream, prefix, use_float=True), start=1):
            if isinstance(media, dict):
                yield _vics_media(number, media, source)
            else:
                yield BadLine(number, "Media", "must be a JSON object")
    except ijson.JSONError as exc:
        yield BadLine(0, "file", f"is not valid JSON: {exc}")


def read_ncmec(stream: IO[bytes], source: str) -> Iterator[Parsed]:
    """NCMEC hash-sharing XML (`queryResult/images/image` with `fingerprints`)."""
    number = 0
    try:
        for _event, element in ElementTree.iterparse(stream, events=("end",)):
            if element.tag not in ("image", "video"):
                continue
            number += 1
            prints = {child.tag.lower(): (child.text or "") for child in element.iter()}
            classification = (element.findtext("classification") or "").strip()

            def build(
                prints: dict[str, str] = prints, code: str = classification, number: int = number
            ) -> ParsedEntry:
                return ParsedEntry(
                    number,
                    md5=_optional("md5", prints.get("md5")),
                    sha1=_optional("sha1", prints.get("sha1")),
                    pdq=_optional("pdq", prints.get("pdq")),
                    category=categories.category("ncmec", code) if code else None,
                    source=source or "NCMEC",
                )

            yield _entry(number, build)
            element.clear()
    except ElementTree.ParseError as exc:
        yield BadLine(number + 1, "file", f"is not valid XML: {exc}")
    except DefusedXmlException:
        yield BadLine(number + 1, "file", "declares XML entities or a DTD, which are refused")


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


def read(path: Path, fmt: str, source: str = "") -> Iterator[Parsed]:
    if fmt not in READERS:
        raise Invalid("format", f"must be one of {', '.join(FORMATS)}")
    with path.open("rb") as stream:
        yield from READERS[fmt](stream, source)


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
        writer.writerow([e.md5 or "", e.sha1 or "", e.sha256 or "", e.pdq or "",
                         "" if e.pdq_quality is None else e.pdq_quality, category,
                         e.series or "", "true" if e.victim_identified else "false",
                         e.source, e.vpdq or "", e.identified_by or ""])  # fmt: skip
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
