"""Property tests: every import format, fed good records mixed with hostile ones, keeps to
its budget.

For each format hypothesis builds files of good entries and hostile records (deep nesting,
too many values, long fields and lines, wrong types, random JSON/text) and checks that the
reader (1) returns exactly one result per record, every good entry among them, (2) stops
the file (`budgets.Exceeded`) exactly when a record breaks a budget that stops it, and never
raises anything else, and (3) allocates at most `PEAK_MIB` at once, whatever the sizes drawn
(hostile records reach several MB). Budgets are shrunk so that each example runs in
milliseconds; the limits work the same at their real values. Examples are derandomised, so
CI runs the same files every time.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from memory import peak_mib

from taskforce.core import budgets
from taskforce.hashsets import formats

BUDGET = budgets.Budget(
    max_depth=8,
    max_file_depth=2_000,
    max_item_values=5_000,
    max_field=4_096,
    max_token=64 * 1024,
    max_columns=50,
    max_records=10_000,
    max_values=10_000_000,
)
PEAK_MIB = 6
FUZZ = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
md5s = st.binary(min_size=16, max_size=16).map(bytes.hex)
text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=40)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=20,
)


@dataclass
class Record:
    """One record of a generated file and what the reader must make of it."""

    body: object
    md5: str | None = None  # a good entry with this MD5
    stops: bool = False  # breaks a budget that stops the file
    fields: set[str] = field(default_factory=set)  # a bad record: one of these fields


def _check(read: Callable[[], list[formats.Parsed]], records: list[Record]) -> None:
    def run() -> tuple[list[formats.Parsed], budgets.Exceeded | None]:
        out: list[formats.Parsed] = []
        try:
            for item in read():
                out.append(item)
        except budgets.Exceeded as exc:
            return out, exc
        return out, None

    (items, stopped), peak = peak_mib(run)
    assert peak < PEAK_MIB, f"{peak:.1f} MiB"
    first_stop = next((n for n, r in enumerate(records) if r.stops), None)
    assert (stopped is not None) == (first_stop is not None)
    expected = records if first_stop is None else records[:first_stop]
    assert len(items) == len(expected)
    for got, want in zip(items, expected, strict=True):
        if want.md5 is not None:
            assert isinstance(got, formats.ParsedEntry)
            assert got.md5 == want.md5
        else:
            assert isinstance(got, formats.BadLine), got
            if want.fields:
                assert got.field in want.fields, (got, want.fields)


def _reader(fmt: str, data: bytes) -> Callable[[], list[formats.Parsed]]:
    def read() -> list[formats.Parsed]:
        return formats.READERS[fmt](io.BytesIO(data), "fuzz", BUDGET)  # type: ignore[return-value]

    return read


# --- JSON: VICS and hash --json ---------------------------------------------------------------


@st.composite
def vics_media(draw: st.DrawFn) -> Record:
    """A Media object as JSON text, and what the reader must make of it."""
    kind = draw(st.sampled_from(["good", "deep", "wide", "long", "types", "json", "stop"]))
    md5 = draw(md5s)
    n = draw(st.integers(0, 300_000))
    if kind == "good":
        category = draw(st.sampled_from([None, 0, 1, "2"]))
        return Record(json.dumps({"MD5": md5.upper(), "Category": category}), md5=md5)
    if kind == "deep":
        depth = 9 + n % 3_000  # the Media object is 3 levels down: file depth is depth + 3
        body = f'{{"MD5": "{md5}", "X": ' + "[" * depth + "]" * depth + "}"
        return Record(body, stops=depth + 3 > BUDGET.max_file_depth, fields={"Media.item"})
    if kind == "wide":
        body = json.dumps({"MD5": md5, "X": [0] * (5_000 + n % 50_000)})
        return Record(body, fields={"Media.item"})
    if kind == "long":
        return Record(
            json.dumps({"MD5": md5, "Series": "s" * (4_097 + n % 50_000)}), fields={"Series"}
        )
    if kind == "stop":
        # a token that the parser would buffer: past max_token plus two reads, it stops
        return Record(json.dumps({"MD5": md5, "Series": "s" * (200_000 + n)}), stops=True)
    if kind == "types":
        bad: dict[str, object] = draw(
            st.sampled_from(
                [
                    {"Category": "CAM"},
                    {"Category": [1]},
                    {"Category": 1.5},
                    {"Category": True},
                    {"MD5": 5},
                    {"MD5": [md5]},
                    {"AlternativeHashes": 7},
                    {"AlternativeHashes": "x"},
                    {"VictimIdentified": {"a": 1}},
                    {"Series": ["x"]},
                ]
            )
        )
        return Record(json.dumps({"MD5": md5, **bad}), fields=set(bad) | {"md5"})
    return Record(json.dumps(draw(json_values)))  # random JSON: never a hash, so a bad item


@given(st.lists(vics_media(), max_size=12))
@FUZZ
def test_vics(records: list[Record]) -> None:
    items = ",".join(str(r.body) for r in records)
    data = f'{{"@odata.context": "x#Media", "value": [{items}]}}'
    _check(_reader("vics", data.encode()), records)


@st.composite
def hash_json_lines(draw: st.DrawFn) -> tuple[str, Record]:
    kind = draw(st.sampled_from(["good", "deep", "wide", "line", "types", "json"]))
    md5 = draw(md5s)
    n = draw(st.integers(0, 300_000))
    if kind == "good":
        return json.dumps({"path": "a.jpg", "md5": md5, "pdq_quality": None}), Record(None, md5)
    if kind == "deep":  # each line is parsed on its own: past any budget, one bad line
        depth = 9 + n
        return "[" * depth + "]" * depth, Record(None, fields={"line", "item"})
    if kind == "wide":
        return json.dumps({"md5": md5, "x": [0] * (5_000 + n % 50_000)}), Record(None)
    if kind == "line":
        return json.dumps({"md5": md5, "x": "s" * (70_000 + n)}), Record(None, fields={"line"})
    if kind == "types":
        bad: dict[str, object] = draw(
            st.sampled_from(
                [
                    {"md5": 5},
                    {"md5": [md5]},
                    {"vpdq": 3},
                    {"vpdq": "x"},
                    {"pdq_quality": "high"},
                    {"pdq_quality": 101},
                ]
            )
        )
        return json.dumps({"path": "a.jpg", **bad}), Record(None)
    value = draw(json_values.filter(lambda v: not isinstance(v, dict) or not v.get("error")))
    return json.dumps(value), Record(None)  # never a hash: a bad line


@given(st.lists(hash_json_lines(), max_size=12))
@FUZZ
def test_hash_json(lines: list[tuple[str, Record]]) -> None:
    _check(_reader("hash-json", "\n".join(t for t, _ in lines).encode()), [r for _, r in lines])


# --- XML: NCMEC -------------------------------------------------------------------------------


@st.composite
def ncmec_images(draw: st.DrawFn) -> tuple[str, Record | None]:
    kind = draw(st.sampled_from(["good", "deep", "wide", "long", "foreign", "text", "stop"]))
    md5 = draw(md5s)
    n = draw(st.integers(0, 300_000))
    if kind == "good":
        return f"<image><fingerprints><md5>{md5}</md5></fingerprints></image>", Record(None, md5)
    if kind == "deep":
        depth = 8 + n % 3_000
        body = "<a>" * depth + "</a>" * depth
        return f"<image>{body}</image>", Record(
            None, stops=depth + 3 > BUDGET.max_file_depth, fields={"a"}
        )
    if kind == "wide":
        return "<image>" + "<a/>" * (5_001 + n % 50_000) + "</image>", Record(None, fields={"a"})
    if kind == "long":
        long = "x" * (4_097 + n % 50_000)
        return f"<image><md5>{long}</md5></image>", Record(None, fields={"md5"})
    if kind == "foreign":
        return "<other/>" * (n % 100_000), None  # outside images: nothing is kept
    if kind == "stop":
        return f'<image a="{"v" * (200_000 + n)}"/>', Record(None, stops=True)
    value = escape(draw(text))
    body = f"<image><md5>{value}</md5><sha1>{value}</sha1></image>"
    return body, Record(None, fields={"md5", "sha1", "hashes"})


@given(st.lists(ncmec_images(), max_size=12))
@FUZZ
def test_ncmec(parts: list[tuple[str, Record | None]]) -> None:
    data = "<queryResult><images>" + "".join(p for p, _ in parts) + "</images></queryResult>"
    records = [r for _, r in parts if r is not None]
    _check(_reader("ncmec", data.encode()), records)


# --- CSV, ICSE, plain lines, PDQ lists --------------------------------------------------------


@st.composite
def csv_rows(draw: st.DrawFn) -> tuple[list[str] | str, Record]:
    kind = draw(st.sampled_from(["good", "long", "wide", "line", "text", "hash"]))
    md5 = draw(md5s)
    n = draw(st.integers(0, 300_000))
    if kind == "good":
        return [md5, "", ""], Record(None, md5)
    if kind == "long":
        return [md5, "", "s" * (4_097 + n % 50_000)], Record(None, fields={"series", "series name"})
    if kind == "wide":
        return [md5, "", "", *[""] * (50 + n % 5_000)], Record(None, fields={"line"})
    if kind == "line":
        return f"{md5},,{'s' * (70_000 + n)}", Record(None, fields={"line"})
    if kind == "text":  # any text in the series column (quoted as CSV writes it): kept
        return [md5, "", draw(text)], Record(None, md5)
    return [draw(text), "", ""], Record(None, fields={"md5", "hashes", "line"})


def _csv(rows: list[tuple[list[str] | str, Record]], header: list[str], sep: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=sep, lineterminator="\n")
    writer.writerow(header)
    for row, _ in rows:
        if isinstance(row, str):
            out.write(row.replace(",", sep) + "\n")
        else:
            writer.writerow(row)
    return out.getvalue().encode()


@given(st.lists(csv_rows(), max_size=12))
@FUZZ
def test_csv(rows: list[tuple[list[str] | str, Record]]) -> None:
    records = [r for _, r in rows]
    for row, r in rows:  # a random "hash" that happens to be blank is a line with no hash
        if isinstance(row, list) and r.md5 is None and not row[0].strip() and "md5" in r.fields:
            r.fields = {"hashes"}
    _check(_reader("csv", _csv(rows, ["md5", "sha1", "series"], ",")), records)


@given(st.lists(csv_rows(), max_size=12))
@FUZZ
def test_icse(rows: list[tuple[list[str] | str, Record]]) -> None:
    records = [r for _, r in rows]
    for row, r in rows:
        if isinstance(row, list) and r.md5 is None and not row[0].strip() and "md5" in r.fields:
            r.fields = {"hashes"}
    _check(_reader("icse", _csv(rows, ["MD5", "SHA1", "Series name"], ";")), records)


@st.composite
def hash_lines(draw: st.DrawFn) -> tuple[str, Record]:
    kind = draw(st.sampled_from(["good", "long", "junk"]))
    md5 = draw(md5s)
    if kind == "good":
        return md5, Record(None, md5)
    if kind == "long":
        return "a" * (70_000 + draw(st.integers(0, 1_000_000))), Record(None, fields={"line"})
    chars = st.characters(blacklist_characters="\r\n", blacklist_categories=["Cs"])
    junk = draw(
        st.text(chars, min_size=1, max_size=80).filter(
            lambda t: bool(t.strip()) and not t.strip().startswith("#")
        )
    )
    return junk, Record(None, fields={"hash", "md5", "sha1", "sha256", "pdq"})


@given(st.lists(hash_lines(), max_size=12))
@FUZZ
def test_plain_lines(lines: list[tuple[str, Record]]) -> None:
    _check(_reader("lines", "\n".join(t for t, _ in lines).encode()), [r for _, r in lines])


@given(st.lists(hash_lines(), max_size=12))
@FUZZ
def test_pdq_lines(lines: list[tuple[str, Record]]) -> None:
    # a 32-digit MD5 is no PDQ: every line here is a bad PDQ line
    records = [Record(None, fields={"pdq", "line"}) for _ in lines]
    _check(_reader("pdq", "\n".join(t for t, _ in lines).encode()), records)
