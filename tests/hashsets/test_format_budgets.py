"""The hostile files of issue 11, each read within the parser budget (core.budgets).

Each test would fail on the readers as they were: memory that grew with the square of the
nesting (VICS) or with every element of the file (NCMEC), and exceptions (500s) that lost the
whole file for one bad value (VICS `Category`, a CSV field over 128 KiB, a deep hash-json
line). Sizes are smaller than the issue's where the old memory use is what fails: the peak is
measured, and the old readers' peaks at these sizes are in the comments.
"""

from __future__ import annotations

import io
import json

import pytest
from memory import peak_mib

from taskforce.core import budgets
from taskforce.hashsets import formats

MD5 = "d41d8cd98f00b204e9800998ecf8427e"
MD5_B = "0cc175b9c0f1b6a831c399e269772661"
PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


def _read(fmt: str, data: bytes, budget: budgets.Budget = budgets.DEFAULT) -> list[formats.Parsed]:
    extra = [] if budget is budgets.DEFAULT else [budget]  # the readers before took two
    return list(formats.READERS[fmt](io.BytesIO(data), "test", *extra))


def _summary(items: list[formats.Parsed]) -> list[tuple[int, str]]:
    return [
        (i.line, i.md5 or "") if isinstance(i, formats.ParsedEntry) else (i.line, i.field)
        for i in items
    ]


def test_vics_nesting_inside_a_media_item_is_one_bad_item_in_bounded_memory() -> None:
    depth = 20_000  # the 40 kB file: +708 MiB before
    data = (
        b'{"value":[{"MD5":"'
        + MD5.encode()
        + b'","Exifs":'
        + b"[" * depth
        + b"]" * depth
        + b'},{"MD5":"'
        + MD5_B.encode()
        + b'"}]}'
    )
    items, peak = peak_mib(lambda: _read("vics", data))
    assert _summary(items) == [(1, "Media.item"), (2, MD5_B)]
    assert isinstance(items[0], formats.BadLine)
    assert "deeper than 32" in items[0].rule
    assert peak < 4  # MiB; the old reader peaked at 60 MiB for 5,000 levels, 708 for 20,000


def test_vics_nesting_past_the_file_limit_stops_the_file_keeping_what_came_before() -> None:
    data = (
        b'{"value":[{"MD5":"'
        + MD5.encode()
        + b'"},{"X":'
        + b"[" * 200_000
        + b"]" * 200_000
        + b'},{"MD5":"'
        + MD5_B.encode()
        + b'"}]}'
    )
    reader = formats.READERS["vics"](io.BytesIO(data), "test")
    first = next(reader)
    assert isinstance(first, formats.ParsedEntry)
    assert first.md5 == MD5
    with pytest.raises(budgets.Exceeded) as stop:
        next(reader)
    assert stop.value.field == "file"
    assert "deeper than 100,000 levels" in stop.value.rule
    assert stop.value.record == 2


def test_ncmec_keeps_nothing_of_elements_outside_images() -> None:
    foreign = b"<unrelated/>" * 300_000  # the issue: 8 M of them took +673 MiB
    data = (
        b"<queryResult>"
        + foreign
        + b"<images><image><fingerprints><md5>"
        + MD5.encode()
        + b"</md5></fingerprints></image></images></queryResult>"
    )
    items, peak = peak_mib(lambda: _read("ncmec", data))
    assert _summary(items) == [(1, MD5)]
    assert peak < 4  # MiB; the old reader held every element: 26 MiB here


def test_ncmec_image_too_deep_too_large_or_with_a_long_field_is_one_bad_item() -> None:
    good = f"<image><md5>{MD5}</md5></image>"
    deep = "<image>" + "<a>" * 40 + "</a>" * 40 + "</image>"
    wide = "<image>" + "<a/>" * 600_001 + "</image>"
    long = "<image><md5>" + "x" * (200 * 1024) + "</md5></image>"
    data = f"<queryResult>{deep}{wide}{long}{good}</queryResult>".encode()
    items = _read("ncmec", data)
    assert _summary(items) == [(1, "a"), (2, "a"), (3, "md5"), (4, MD5)]
    rules = [i.rule for i in items if isinstance(i, formats.BadLine)]
    assert "deeper than 32" in rules[0]
    assert "more than 500,000" in rules[1]
    assert rules[2] == "is longer than 131,072 characters"


def test_vics_category_that_is_not_an_integer_is_one_bad_item_the_rest_import() -> None:
    media = [
        {"MD5": MD5, "Category": 1},
        {"MD5": MD5_B, "Category": "CAM"},  # the whole file was lost: ValueError, a 500
        {"MD5": MD5_B, "Category": [1]},
        {"MD5": MD5_B, "Category": 2.5},
        {"MD5": MD5_B, "Category": "2"},
        {"MD5": 12, "AlternativeHashes": 5},
    ]
    items = _read("vics", json.dumps({"value": media}).encode())
    assert _summary(items) == [
        (1, MD5),
        (2, "Category"),
        (3, "Category"),
        (4, "Category"),
        (5, MD5_B),
        (6, "AlternativeHashes"),
    ]
    assert isinstance(items[1], formats.BadLine)
    assert items[1].rule == "must be a whole number (Project VIC category 0-4)"
    assert isinstance(items[4], formats.ParsedEntry)
    assert items[4].category is not None
    assert items[4].category.code == "2"


def test_vics_integers_past_64_bits_are_numbers_not_a_broken_file() -> None:
    """JSON allows any integer; yajl's float mode called one past 2^63 an "integer overflow"
    and the whole file was lost (found by the property test)."""
    data = (
        f'{{"value": [{{"MD5": "{MD5}", "Category": 99999999999999999999, "Size": 1.5}},'
        f' {{"MD5": "{MD5_B}", "Category": 1}}]}}'
    ).encode()
    items = _read("vics", data)
    assert _summary(items) == [(1, "Category"), (2, MD5_B)]


@pytest.mark.parametrize(("fmt", "sep"), [("csv", ","), ("icse", ";")])
def test_csv_field_over_128_kib_is_one_bad_line_naming_its_column(fmt: str, sep: str) -> None:
    header = sep.join(["md5", "sha1", "series name" if fmt == "icse" else "series"])
    long = "x" * (200 * 1024)  # csv.Error "field larger than field limit": a 500 before
    rows = [f"{MD5}{sep}{sep}{long}", f"{MD5_B}{sep}{sep}short"]
    items = _read(fmt, "\n".join([header, *rows, ""]).encode())
    column = "series name" if fmt == "icse" else "series"
    assert _summary(items) == [(2, column), (3, MD5_B)]
    assert isinstance(items[0], formats.BadLine)
    assert items[0].rule == "is longer than 131,072 characters"


def test_csv_video_frames_may_be_longer_than_a_field() -> None:
    frames = [f"{PDQ},100,{n}.000" for n in range(3_000)]  # 50 minutes of video, 220 kB
    cell = '"' + json.dumps(frames).replace('"', '""') + '"'
    items = _read("csv", f"md5,vpdq\n{MD5},{cell}\n".encode())
    [entry] = items
    assert isinstance(entry, formats.ParsedEntry)
    assert entry.vpdq
    assert len(entry.vpdq) == 3_000


def test_csv_line_too_long_or_too_wide_is_one_bad_line() -> None:
    small = budgets.DEFAULT.smaller(max_token=1_000, max_columns=20)
    data = f"md5,series\n{MD5},{'y' * 5_000}\n{MD5},{',' * 50}\n{MD5_B},ok\n".encode()
    items = _read("csv", data, small)
    assert _summary(items) == [(2, "line"), (3, "line"), (4, MD5_B)]
    rules = [i.rule for i in items if isinstance(i, formats.BadLine)]
    assert rules == ["is longer than 1,000 characters", "has more than 20 columns"]


def test_hash_json_nested_a_million_deep_is_one_bad_line() -> None:
    depth = 1_000_000  # RecursionError before: a 500
    good = json.dumps({"path": "a.jpg", "md5": MD5})
    data = b"[" * depth + b"]" * depth + b"\n" + good.encode() + b"\n"
    items = _read("hash-json", data)
    assert _summary(items) == [(1, "line"), (2, MD5)]
    assert isinstance(items[0], formats.BadLine)
    assert "deeper than" in items[0].rule


def test_lines_longer_than_the_budget_are_bad_lines_not_held() -> None:
    small = budgets.DEFAULT.smaller(max_token=100)
    data = f"{MD5}\n{'a' * 1_000_000}\n{MD5_B}\n".encode()
    items, peak = peak_mib(lambda: _read("lines", data, small))
    assert _summary(items) == [(1, MD5), (2, "line"), (3, MD5_B)]
    assert peak < 3


def test_a_token_longer_than_the_budget_stops_a_json_or_xml_file() -> None:
    small = budgets.DEFAULT.smaller(max_token=64 * 1024)
    vics = b'{"value":[{"MD5":"' + MD5.encode() + b'"},{"Series":"' + b"s" * 1_000_000 + b'"}]}'
    xml = b"<r><image><md5>" + MD5.encode() + b'</md5></image><x a="' + b"v" * 1_000_000
    for fmt, data in (("vics", vics), ("ncmec", xml)):
        reader = formats.READERS[fmt](io.BytesIO(data), "test", small)
        first = next(reader)
        assert isinstance(first, formats.ParsedEntry)
        assert first.md5 == MD5
        with pytest.raises(budgets.Exceeded, match="single token"):
            next(reader)


def test_records_past_the_budget_stop_the_file() -> None:
    small = budgets.DEFAULT.smaller(max_records=2)
    reader = formats.READERS["lines"](io.BytesIO(f"{MD5}\n{MD5_B}\n{MD5}\n".encode()), "t", small)
    assert len([next(reader), next(reader)]) == 2
    with pytest.raises(budgets.Exceeded, match="more than 2 lines"):
        next(reader)


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>',  # XXE: a local file
        '<!DOCTYPE queryResult SYSTEM "http://example.com/x.dtd">',  # an external DTD
        '<!DOCTYPE x [<!ENTITY % p SYSTEM "http://example.com/x"> %p;]>',  # a parameter entity
        '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>',  # expansion
    ],
)
def test_ncmec_refuses_external_references_and_entities(doctype: str) -> None:
    xml = (
        f'<?xml version="1.0"?>{doctype}<queryResult><image><md5>{MD5}</md5></image></queryResult>'
    )
    [bad] = _read("ncmec", xml.encode())
    assert isinstance(bad, formats.BadLine)
    assert bad.field == "file"
    assert bad.rule == "declares XML entities or a DTD, which are refused"
