"""The provider-side checker: matches, signatures, deltas and the offline CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from taskforce.blocklist.checker import FORMAT, Checker, Match, key_of
from taskforce.blocklist.normalise import block_key
from taskforce.cli import app
from taskforce.core import signing
from taskforce.core.errors import Invalid

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
ENTRIES = [
    {"key": "example.com/a/b.jpg", "match": "exact", "category": "A"},
    {"key": "example.com/page?id=7", "match": "exact", "category": "A"},
    {"key": "example.org/gallery", "match": "prefix", "category": "B"},
    {"key": "bad.example.net/", "match": "prefix", "category": "C"},
]


def full(entries: list[dict[str, Any]], version: int = 4) -> dict[str, Any]:
    doc = {"format": FORMAT, "kind": "full", "version": version, "generated_at": "x"}
    return signing.sign({**doc, "entries": entries}, KEY)


@pytest.fixture
def checker() -> Checker:
    return Checker.from_document(full(ENTRIES), KEY.public_key())


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("http://example.com/a/b.jpg", "example.com/a/b.jpg"),
        ("HTTPS://EXAMPLE.com:443/a/./b.jpg#x", "example.com/a/b.jpg"),
        ("example.com/a/b.jpg/", "example.com/a/b.jpg"),
        ("http://example.com/page?id=7", "example.com/page?id=7"),
        ("http://example.org/gallery", "example.org/gallery"),
        ("http://example.org/gallery/", "example.org/gallery"),
        ("http://example.org/gallery/2024/x.jpg?s=1", "example.org/gallery"),
        ("http://example.org/%67allery/x", "example.org/gallery"),
        ("http://bad.example.net", "bad.example.net/"),
        ("http://bad.example.net/any/thing", "bad.example.net/"),
        ("http://EXAMPLE.com/a/b.jpg", "example.com/a/b.jpg"),
        ("http://example.com:80/a/b.jpg", "example.com/a/b.jpg"),
        ("http://user@example.com/a/b.jpg", "example.com/a/b.jpg"),
        ("http://bad.example.net./x", "bad.example.net/"),
        ("http://bad.example.net?x=/y", "bad.example.net/"),
    ],
)
def test_blocked(checker: Checker, url: str, key: str) -> None:
    found = checker.is_blocked(url)
    assert found is not None
    assert found.key == key


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/a/b.jpgx",
        "http://example.com/a",
        "http://example.com/page?id=8",
        "http://example.com/page",
        "http://example.org/galleryx",
        "http://example.org/",
        "http://www.example.org/gallery/x",  # www. is another host
        "http://sub.bad.example.net/x",
    ],
)
def test_not_blocked(checker: Checker, url: str) -> None:
    assert checker.is_blocked(url) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/a/b",
        "https://example.com/",
        "http://example.com",
        "http://example.com/a/",
        "http://example.com/a/./b",
        "http://example.com/%41",
        "http://example.com./a",
        "http://example.com/a?",
        "http://Example.com/a",
        "http://example.com:80/a",
        "http://example.com//a",
        "http://example.com/a?b=1&c=%2f",
        "https://a-b.example.com/x.y/.z/..w?q",
        "http://example.com/a/..",
    ],
)
def test_fast_path_agrees_with_parser(url: str) -> None:
    assert key_of(url) == block_key(url)


def test_invalid_url_raises(checker: Checker) -> None:
    with pytest.raises(Invalid):
        checker.is_blocked("ftp://example.com/a")


def test_tampered_list_is_refused() -> None:
    doc = full(ENTRIES)
    doc["entries"] = doc["entries"][1:]
    with pytest.raises(Invalid, match="does not verify"):
        Checker.from_document(doc, KEY.public_key())


def test_other_key_and_unsigned_are_refused() -> None:
    with pytest.raises(Invalid, match="another key"):
        Checker.from_document(full(ENTRIES), OTHER.public_key())
    doc = full(ENTRIES)
    del doc["signature"]
    with pytest.raises(Invalid, match="not signed"):
        Checker.from_document(doc, KEY.public_key())


def test_signature_covers_canonical_bytes() -> None:
    doc = full(ENTRIES)
    body = {k: v for k, v in doc.items() if k != "signature"}
    raw = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()
    import base64

    KEY.public_key().verify(base64.b64decode(doc["signature"]), raw)


def test_apply_delta() -> None:
    checker = Checker.from_document(full(ENTRIES, version=4), KEY.public_key())
    delta = signing.sign(
        {
            "format": FORMAT,
            "kind": "delta",
            "version": 6,
            "since": 4,
            "generated_at": "x",
            "added": [{"key": "example.net/new", "match": "exact", "category": "A"}],
            "removed": [{"key": "example.org/gallery", "match": "prefix"}],
        },
        KEY,
    )
    checker.apply_delta(delta, KEY.public_key())
    assert checker.version == 6
    assert checker.is_blocked("http://example.net/new") == Match("example.net/new", "exact", "A")
    assert checker.is_blocked("http://example.org/gallery/x") is None
    with pytest.raises(Invalid, match="starts at 4"):
        checker.apply_delta(delta, KEY.public_key())


def test_cli_check_on_a_downloaded_list(tmp_path: Path) -> None:
    listed = tmp_path / "list.json"
    listed.write_text(json.dumps(full(ENTRIES)))
    public = signing.public_b64(KEY.public_key())
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "blocklist",
            "check",
            "http://example.org/gallery/1",
            "http://example.com/",
            "ftp://x",
            "--list",
            str(listed),
            "--public-key",
            public,
        ],
    )
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()  # stderr may carry warnings about the environment
    assert lines[0].startswith("blocked\thttp://example.org/gallery/1\tprefix example.org/gallery")
    assert lines[1] == "ok\thttp://example.com/"
    assert lines[2].startswith("invalid\tftp://x")
    clean = runner.invoke(
        app,
        [
            "blocklist",
            "check",
            "http://example.com/",
            "--list",
            str(listed),
            "--public-key",
            public,
        ],
    )
    assert clean.exit_code == 0
    doc = full(ENTRIES)
    doc["version"] = 5
    listed.write_text(json.dumps(doc))
    refused = runner.invoke(
        app,
        [
            "blocklist",
            "check",
            "http://example.com/",
            "--list",
            str(listed),
            "--public-key",
            public,
        ],
    )
    assert refused.exit_code == 2
    assert "does not verify" in refused.output


def test_warning_page_is_static_and_escaped(tmp_path: Path) -> None:
    page = tmp_path / "blocked.html"
    result = CliRunner().invoke(
        app,
        [
            "blocklist",
            "warning-page",
            "--out",
            str(page),
            "--report-url",
            'https://hub.example.org/report?"><script>x</script>',
        ],
    )
    assert result.exit_code == 0, result.output
    html = page.read_text()
    assert "found to contain child sexual abuse material" in html
    assert "<script" not in html
    assert "&lt;script&gt;" in html


def test_add_and_discard_keep_every_lookup_right() -> None:
    deep = Match("example.org/a/b/c", "prefix", "B")
    shallow = Match("example.org/x", "prefix", "B")
    whole = Match("example.net/", "prefix", "C")
    exact = Match("example.org/a/b/page", "exact", "A")
    odd = Match("example.com:443/a", "exact", "A")  # listed from http://example.com:443/a
    checker = Checker([deep, shallow, whole, exact, odd, exact])  # one entry twice
    assert len(checker) == 5
    assert checker.entries() == sorted([deep, shallow, whole, exact, odd])
    assert checker.is_blocked("http://example.org/a/b/c/d.jpg") == deep
    assert checker.is_blocked("http://example.org/a/b/page") == exact
    assert checker.is_blocked("http://example.net/anything?at=all") == whole
    assert checker.is_blocked("http://example.com:443/a") == odd
    assert checker.is_blocked("https://example.com:443/a") is None  # that is example.com/a
    checker.discard(deep.key, "prefix")
    checker.discard(deep.key, "prefix")  # twice: no effect
    checker.discard(whole.key, "prefix")
    checker.discard(odd.key, "exact")
    assert len(checker) == 2
    assert checker.is_blocked("http://example.org/a/b/c/d.jpg") is None
    assert checker.is_blocked("http://example.org/x/y/z") == shallow
    assert checker.is_blocked("http://example.net/anything") is None
    assert checker.is_blocked("http://example.com:443/a") is None
    checker.discard(shallow.key, "prefix")
    checker.discard(exact.key, "exact")
    assert len(checker) == 0
    assert checker.entries() == []
    assert checker.is_blocked("http://example.org/x/y") is None
    checker.add(shallow)
    assert checker.is_blocked("http://example.org/x/y") == shallow


def test_a_key_at_the_length_limit() -> None:
    key = "example.com/a/" + "b" * (4096 - len("http://example.com/a/"))
    checker = Checker([Match(key, "exact", "A")])
    assert checker.is_blocked("http://" + key) == Match(key, "exact", "A")
    with pytest.raises(Invalid, match="at most"):
        checker.is_blocked("https://" + key)  # one character over the parser's limit
    prefixed = Checker([Match("example.com/a", "prefix", "A")])
    assert prefixed.is_blocked("http://" + key) == Match("example.com/a", "prefix", "A")
    with pytest.raises(Invalid, match="at most"):
        prefixed.is_blocked("https://" + key)


def test_warning_page_in_other_languages_and_an_unknown_one(tmp_path: Path) -> None:
    page = tmp_path / "blocked.html"
    runner = CliRunner()
    done = runner.invoke(app, ["blocklist", "warning-page", "--out", str(page), "--lang", "de"])
    assert done.exit_code == 0, done.output
    assert "Diese Seite wurde gesperrt" in page.read_text()
    refused = runner.invoke(app, ["blocklist", "warning-page", "--out", str(page), "--lang", "xx"])
    assert refused.exit_code == 2
    assert "--lang: must be one of en, es, fr, de, nl" in refused.output
