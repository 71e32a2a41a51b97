"""Each hash-list format: good entries read, bad ones named with their line and rule."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from taskforce.hashsets import formats

MD5 = "d41d8cd98f00b204e9800998ecf8427e"
SHA1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709"
SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


def _read(fmt: str, data: str | bytes) -> list[formats.Parsed]:
    raw = data.encode() if isinstance(data, str) else data
    return list(formats.READERS[fmt](io.BytesIO(raw), "test"))


def _good(items: list[formats.Parsed]) -> list[formats.ParsedEntry]:
    return [i for i in items if isinstance(i, formats.ParsedEntry)]


def _bad(items: list[formats.Parsed]) -> list[formats.BadLine]:
    return [i for i in items if isinstance(i, formats.BadLine)]


def test_plain_lines_type_by_length_and_bad_lines_named() -> None:
    items = _read("lines", f"# a comment\n{MD5.upper()}\n{SHA1}\n\n{SHA256}\nnot-a-hash\n")
    good = _good(items)
    assert [(g.line, g.md5, g.sha1, g.sha256) for g in good] == [
        (2, MD5, None, None),
        (3, None, SHA1, None),
        (5, None, None, SHA256),
    ]
    [bad] = _bad(items)
    assert bad.line == 6
    assert bad.field == "hash"
    assert "32 (MD5)" in bad.rule


def test_pdq_lines() -> None:
    items = _read("pdq", f"pdq {PDQ}\npdq {PDQ[:-1]}\n{PDQ.upper()}\n")
    assert [g.pdq for g in _good(items)] == [PDQ, PDQ]
    [bad] = _bad(items)
    assert bad.line == 2
    assert bad.field == "pdq"
    assert "64 hexadecimal" in bad.rule


def test_csv_with_header_bom_and_categories() -> None:
    data = (
        "\ufeffMD5,SHA1,pdq,category,series,victim_identified\n"
        f"{MD5},{SHA1},{PDQ},uk-caid:a,Series One,true\n"
        f"{MD5},,,national-b,,false\n"
        f"{MD5},,,no-such-scheme:1,,\n"
        f"{MD5},,,,,maybe\n"
    )
    items = _read("csv", data)
    good = _good(items)
    assert good[0].category is not None
    assert good[0].category.code == "A"
    assert good[0].series == "Series One"
    assert good[0].victim_identified is True
    assert good[1].category is not None
    assert good[1].category.scheme == "taskforce"
    bad = {b.line: b for b in _bad(items)}
    assert bad[4].field == "category_scheme"
    assert bad[5].field == "victim_identified"


def test_icse_semicolon_export() -> None:
    data = (
        "MD5;SHA1;PhotoDNA;Image ID;Is distributed;Victim identified;Offender identified;"
        "Series name;Number of submissions;File Available;Media Type;Baseline\n"
        f"{MD5.upper()};{SHA1.upper()};;17;Yes;Yes;No;Series X;3;No;Image;Yes\n"
    )
    [entry] = _good(_read("icse", data))
    assert entry.md5 == MD5
    assert entry.sha1 == SHA1
    assert entry.victim_identified
    assert entry.category is not None
    assert entry.category.code == "baseline"
    assert entry.series == "Series X"


def _vics(media: list[dict[str, object]], kind: str = "Media") -> bytes:
    context = f"http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#{kind}"
    value: object = media if kind == "Media" else [{"CaseID": "1", "Media": media}]
    return ("\ufeff" + json.dumps({"@odata.context": context, "value": value})).encode()


def test_vics_media_file_upper_hex_string_booleans_and_no_thumbnail() -> None:
    media: list[dict[str, object]] = [
        {
            "MediaID": 1,
            "Category": 1,
            "MD5": MD5.upper(),
            "SHA1": SHA1.upper(),
            "VictimIdentified": "true",
            "Series": "Bridge",
            "Miniature": "iVBORw0KGgo=",
            "AlternativeHashes": [{"HashName": "PDQ", "HashValue": PDQ.upper()}],
        },
        {"MediaID": 2, "Category": None, "MD5": "xyz", "VictimIdentified": "false"},
    ]
    items = _read("vics", _vics(media))
    [entry] = _good(items)
    assert (entry.md5, entry.sha1, entry.pdq) == (MD5, SHA1, PDQ)
    assert entry.category is not None
    assert (entry.category.scheme, entry.category.code) == (
        "vic-us",
        "1",
    )
    assert entry.victim_identified
    assert entry.series == "Bridge"
    assert "Miniature" not in repr(entry)
    [bad] = _bad(items)
    assert bad.line == 2
    assert bad.field == "md5"


def test_vics_case_export_reads_the_media_of_every_case() -> None:
    items = _read("vics", _vics([{"MD5": MD5, "Category": 0}], kind="Cases"))
    [entry] = _good(items)
    assert entry.md5 == MD5
    assert entry.category is None


def test_broken_json_is_reported_not_raised() -> None:
    items = _read("vics", b'{"value": [{"MD5": "')
    assert any(b.field == "file" for b in _bad(items))


def test_ncmec_xml() -> None:
    xml = (
        "<queryResult><images count='2'>"
        f"<image><id>1</id><classification>A1</classification><fingerprints><md5>{MD5}</md5>"
        f"<pdq>{PDQ}</pdq></fingerprints></image>"
        "<image><id>2</id><fingerprints><sha1>zz</sha1></fingerprints></image>"
        "</images></queryResult>"
    )
    items = _read("ncmec", xml)
    [entry] = _good(items)
    assert entry.md5 == MD5
    assert entry.pdq == PDQ
    assert entry.category is not None
    assert entry.category.code == "A1"
    [bad] = _bad(items)
    assert bad.line == 2
    assert bad.field == "sha1"


def test_xml_entity_bombs_are_refused() -> None:
    bomb = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><queryResult>&a;</queryResult>'
    [bad] = _bad(_read("ncmec", bomb))
    assert bad.field == "file"
    assert "entities" in bad.rule


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"odata.metadata": "x#Media", "value": []}', "vics"),
        ("<queryResult/>", "ncmec"),
        ("MD5;SHA1;PhotoDNA;Image ID\n", "icse"),
        ("md5,category\n", "csv"),
        (f"pdq {PDQ}\n", "pdq"),
        (f"{MD5}\n", "lines"),
    ],
)
def test_format_detection(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "list"
    path.write_text(content)
    assert formats.detect_format(path) == expected


def test_vics_export_reads_back() -> None:
    entry = formats.ExportEntry(MD5, SHA1, SHA256, PDQ, 100, "vic-us", "1", "S", True, "x")
    out = io.StringIO()
    assert formats.write_vics(out, [entry]) == 1
    document = json.loads(out.getvalue())
    assert document["value"][0]["MD5"] == MD5.upper()
    [back] = _good(_read("vics", out.getvalue()))
    assert (back.md5, back.sha1, back.sha256, back.pdq) == (MD5, SHA1, SHA256, PDQ)
    assert back.victim_identified
    assert back.series == "S"
