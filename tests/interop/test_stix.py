"""The STIX builders: every shape parsed by `stix2`, a bundle of all of them valid for OASIS's
`stix2-validator`, patterns escaped, SCO ids equal to stix2's own, ids stable."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import stix2
from stix2validator import ValidationOptions, validate_instance, validate_string

from taskforce.interop import markings, stix

NOW = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)
MD5 = "d41d8cd98f00b204e9800998ecf8427e"
SHA1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709"
SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
PDQ = "f0" * 32
SELECTORS: list[tuple[str, str, str | None]] = [
    ("url", "http://example.com/it's/a\\path", None),
    ("domain", "example.org", None),
    ("email", "someone@example.com", None),
    ("ip", "203.0.113.7", None),
    ("ip", "2001:db8::7", None),
    ("crypto_wallet", "0x" + "ab" * 20, None),
    ("username", "o'brien", "instagram"),
    ("username", "no_platform", None),
    ("md5", MD5, None),
    ("sha1", SHA1, None),
    ("sha256", SHA256, None),
    ("pdq", PDQ, None),
]
# what strict mode needs switched off, each by design (docs/interop.md): 101 custom property
# names without a source prefix (the issue asks for `x_pdq`), 103 ids that are not UUIDv4
# (deterministic UUIDv5 ids are the point), 401 a custom property outside an extension
STRICT_EXCEPTIONS = "101,103,401"


def _objects() -> list[dict[str, Any]]:
    agency = stix.agency_identity(
        code="GB-NCA", name="GB-NCA (fictional)", country="GB", created=NOW
    )
    made: list[dict[str, Any]] = [stix.hub_identity(), agency]
    for kind, value, platform in SELECTORS:
        made.append(
            stix.indicator(
                kind=kind, value=value, platform=platform, created=NOW, created_by=agency["id"]
            )
        )
    hashes = stix.file_hashes(md5=MD5, sha1=SHA1, sha256=SHA256)
    sco = stix.file_object(hashes=hashes, pdq=PDQ)
    by_file = stix.indicator(
        kind="file",
        value=sco["id"],
        platform=None,
        created=NOW,
        created_by=agency["id"],
        stix_pattern=stix.file_pattern(hashes),
        object_id=stix.hub_id("indicator", sco["id"]),
    )
    link = stix.relationship(
        source=by_file["id"],
        kind="related-to",
        target=sco["id"],
        created=NOW,
        created_by=agency["id"],
    )
    made += [sco, by_file, link]
    made.append(
        stix.grouping(
            key="case-1",
            name="GB-2026-0001",
            created=NOW,
            created_by=agency["id"],
            object_refs=[o["id"] for o in made[2:]],
            labels=["csam-distribution"],
        )
    )
    return made


def _errors(result: Any) -> list[str]:
    """The errors of a validation result (a file's per-object results, or one object's)."""
    parts = getattr(result, "object_results", None) or [result]
    return [str(e) for part in parts for e in (part.errors or [])]


def _bundle(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "type": "bundle",
        "id": f"bundle--{uuid.uuid4()}",
        "objects": markings.definitions() + objects,
    }


def test_every_object_parses_with_stix2() -> None:
    for obj in _objects():
        parsed = stix2.parse(json.dumps(obj), allow_custom=True)
        assert parsed.id == obj["id"]
        assert parsed.object_marking_refs == [markings.TLP_GREEN]


def test_a_bundle_of_them_validates_without_errors() -> None:
    bundle = _bundle(_objects())
    default = validate_string(json.dumps(bundle), ValidationOptions(version="2.1"))
    assert default.is_valid, _errors(default)
    # strict mode, with the by-design exceptions off; the wallet pattern aside, whose object
    # type comes from the OASIS common-objects extension, not the core spec
    spec_only = {
        **bundle,
        "objects": [o for o in bundle["objects"] if "wallet" not in o.get("pattern", "")],
    }
    strict = validate_instance(
        spec_only, ValidationOptions(version="2.1", strict=True, disabled=STRICT_EXCEPTIONS)
    )
    assert strict.is_valid, _errors(strict)


def test_strict_mode_complains_only_of_what_is_by_design() -> None:
    bundle = _bundle(_objects())
    strict = validate_instance(bundle, ValidationOptions(version="2.1", strict=True))
    messages = _errors(strict)
    assert messages
    expected = [f"{{{code}}}" for code in STRICT_EXCEPTIONS.split(",")]
    expected.append("'cryptocurrency-wallet' should start with 'x-'")
    assert all(any(e in m for e in expected) for m in messages), messages


@pytest.mark.parametrize(
    "hashes",
    [
        {"MD5": MD5, "SHA-1": SHA1, "SHA-256": SHA256},
        {"SHA-1": SHA1, "SHA-256": SHA256},
        {"SHA-256": SHA256},
    ],
)
def test_file_ids_are_stix2s_own(hashes: dict[str, str]) -> None:
    ours = stix.file_object(hashes=hashes, pdq=PDQ)
    theirs = stix2.File(hashes=hashes, x_pdq=PDQ, allow_custom=True)
    assert ours["id"] == theirs.id
    # the PDQ is not an id-contributing property: the same file, with or without it
    assert stix.file_object(hashes=hashes)["id"] == ours["id"]


def test_patterns_escape_quotes_and_backslashes() -> None:
    assert stix.pattern("url", "http://example.com/it's/a\\b") == (
        "[url:value = 'http://example.com/it\\'s/a\\\\b']"
    )
    assert stix.pattern("ip", "2001:db8::7") == "[ipv6-addr:value = '2001:db8::7']"
    assert stix.pattern("ip", "203.0.113.7") == "[ipv4-addr:value = '203.0.113.7']"
    assert stix.pattern("sha1", SHA1) == f"[file:hashes.'SHA-1' = '{SHA1}']"
    assert stix.pattern("username", "o'brien", "instagram") == (
        "[user-account:account_login = 'o\\'brien' AND user-account:account_type = 'instagram']"
    )
    for kind in ("phone", "payment_account", "imei"):
        assert stix.pattern(kind, "x") is None
    # stix2's own pattern parser reads them back to the same value
    from stix2.pattern_visitor import create_pattern_object

    parsed = create_pattern_object(stix.pattern("url", "http://example.com/it's/a\\b"))
    assert "it\\'s" in str(parsed)


def test_ids_are_deterministic_and_depend_on_the_value() -> None:
    first, again = _objects(), _objects()
    assert [o["id"] for o in first] == [o["id"] for o in again]
    assert stix.indicator_id("domain", "example.org") != stix.indicator_id("domain", "example.net")
    assert stix.indicator_id("md5", MD5) != stix.indicator_id("sha1", MD5)
    assert stix.indicator_id("username", "a", "instagram") != stix.indicator_id(
        "username", "a", "x"
    )
    assert stix.agency_identity_id("GB-NCA") == first[1]["id"]


def test_timestamps_are_utc_milliseconds() -> None:
    assert stix.timestamp(NOW) == "2026-03-01T12:30:15.123Z"
    plus_two = NOW.astimezone(timezone(timedelta(hours=2)))
    assert stix.timestamp(plus_two) == "2026-03-01T12:30:15.123Z"


def test_a_kind_without_a_stix_form_is_refused_not_guessed() -> None:
    with pytest.raises(ValueError, match="phone"):
        stix.indicator(
            kind="phone", value="+442079460958", platform=None, created=NOW, created_by="x"
        )


@pytest.mark.parametrize("name", ["identity:hub", "indicator:url:http://example.com/é", ""])
def test_the_fast_uuid5_is_rfc_4122s(name: str) -> None:
    assert stix.uuid5(stix.HUB_NAMESPACE, name) == str(uuid.uuid5(stix.HUB_NAMESPACE, name))
    assert stix.uuid5(stix.SCO_NAMESPACE, name) == str(uuid.uuid5(stix.SCO_NAMESPACE, name))


@pytest.mark.parametrize(("kind", "value", "platform"), SELECTORS)
def test_the_fast_indicator_text_is_the_indicator(
    kind: str, value: str, platform: str | None
) -> None:
    made = stix.indicator(
        kind=kind, value=value, platform=platform, created=NOW, created_by="identity--x"
    )
    object_id, text = stix.indicator_text(
        kind=kind, value=value, platform=platform, created=NOW, created_by="identity--x"
    )
    assert object_id == made["id"]
    assert text == json.dumps(made, ensure_ascii=False, separators=(",", ":"))


def test_an_indicator_says_what_it_is_in_words() -> None:
    """What an analyst reads in OpenCTI or MISP: "An e-mail address", not "A email"."""

    def said(kind: str, value: str) -> str:
        made = stix.indicator(
            kind=kind, value=value, platform=None, created=NOW, created_by="identity--x"
        )
        return str(made["description"])

    assert said("email", "a@example.com").startswith("An e-mail address seen in a GREEN case")
    assert said("ip", "203.0.113.7").startswith("An IP address ")
    assert said("crypto_wallet", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2").startswith(
        "A cryptocurrency wallet "
    )
    for kind in stix.EXPORTED_KINDS:  # every exported kind has its phrase, none a bare code
        assert "_" not in stix._indicator_description(kind)
