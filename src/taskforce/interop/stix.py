"""STIX 2.1 objects as plain JSON-ready dicts: pure, no database, no `stix2` at run time.

`stix2` builds objects by validating every property of every object; at a million indicators
that alone would blow the export's time budget, so the builders here write the dicts directly
and the tests hold each shape to `stix2` (parsed, SCO ids recomputed) and to `stix2-validator`.

Ids are deterministic, so a re-export of unchanged data carries the same ids and a consumer
(MISP, OpenCTI, a TAXII client) updates instead of duplicating:

* SDOs and relationships: UUIDv5 in the hub's namespace over a normalised key
  (an indicator over its selector kind and canonical value, a grouping over the case id, an
  identity over the agency code, a relationship over its two ends and its type);
* SCOs (`file`): exactly as STIX 2.1 §2.9 prescribes, UUIDv5 in the SCO namespace
  00abedb4-aa42-466c-9c01-fed23315a9b7 over the canonical JSON of the id-contributing
  properties (for `hashes`, one hash: MD5, else SHA-1, else SHA-256), so anyone deriving the
  id from the same file gets the same one.

Every object carries `object_marking_refs: [TLP:GREEN]` (TLP 2.0, the OASIS id): only GREEN
material leaves the hub.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

from taskforce.interop.markings import TLP_GREEN

SPEC: Final = "2.1"
# the hub's namespace for its deterministic SDO ids (a constant: changing it re-ids everything)
HUB_NAMESPACE: Final = uuid.UUID("5d1f3c1e-8a61-4c4e-9f0b-7a8b2d3e4f10")
# STIX 2.1 §2.9: the namespace of deterministic SCO ids
SCO_NAMESPACE: Final = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")
# when the hub itself was set up, as far as its identity object is concerned (fixed, so the
# hub's identity object is byte-identical in every export)
HUB_CREATED: Final = "2024-01-01T00:00:00.000Z"
HUB_IDENTITY: Final = "identity--" + str(uuid.uuid5(HUB_NAMESPACE, "identity:hub"))

_MARKINGS: Final = (TLP_GREEN,)

# selector kind → (STIX object path of the pattern, indicator name); kinds absent here have no
# STIX Cyber-observable form (phone, payment_account, imei) and are skipped, and counted
PATTERN_PATHS: Final = {
    "url": "url:value",
    "domain": "domain-name:value",
    "email": "email-addr:value",
    "crypto_wallet": "cryptocurrency-wallet:address",
    "username": "user-account:account_login",
    "md5": "file:hashes.MD5",
    "sha1": "file:hashes.'SHA-1'",
    "sha256": "file:hashes.'SHA-256'",
    "pdq": "file:x_pdq",
}
EXPORTED_KINDS: Final = frozenset({*PATTERN_PATHS, "ip"})


def timestamp(moment: datetime) -> str:
    """STIX timestamps: UTC, millisecond precision, `Z` (naive datetimes are UTC here)."""
    if moment.tzinfo is None:
        return moment.isoformat(timespec="milliseconds") + "Z"
    if moment.utcoffset():
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="milliseconds")[:-6] + "Z"


def uuid5(namespace: uuid.UUID, name: str) -> str:
    """`str(uuid.uuid5(namespace, name))` without building UUID objects (RFC 4122 §4.3: SHA-1
    of namespace and name, version 5, the RFC variant): a million ids per export."""
    digest = bytearray(hashlib.sha1(namespace.bytes + name.encode()).digest()[:16])  # noqa: S324
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def hub_id(kind: str, key: str) -> str:
    """A deterministic SDO id: `kind--uuid5(hub namespace, kind:key)`."""
    return f"{kind}--{uuid5(HUB_NAMESPACE, f'{kind}:{key}')}"


def quote(value: str) -> str:
    """A STIX pattern string literal: single quotes, with `\\` and `'` escaped (§9.2)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def ip_path(value: str) -> str:
    return "ipv6-addr:value" if ":" in value else "ipv4-addr:value"


def pattern(kind: str, value: str, platform: str | None = None) -> str | None:
    """The STIX pattern matching one selector, or None for a kind STIX cannot express."""
    if kind == "ip":
        return f"[{ip_path(value)} = {quote(value)}]"
    path = PATTERN_PATHS.get(kind)
    if path is None:
        return None
    if kind == "username" and platform:
        # the platform travels as the account type (an open vocabulary: twitter, skype, ...)
        return f"[{path} = {quote(value)} AND user-account:account_type = {quote(platform)}]"
    return f"[{path} = {quote(value)}]"


def indicator_id(kind: str, value: str, platform: str | None = None) -> str:
    """One indicator per distinct (kind, canonical value) across the whole network."""
    key = f"{kind}:{platform}:{value}" if kind == "username" and platform else f"{kind}:{value}"
    return hub_id("indicator", key)


# a JSON string literal, as json.dumps(ensure_ascii=False) writes it (the C encoder)
_string = json.encoder.encode_basestring


def _canonical(value: Any) -> str:
    # RFC 8785 for what SCO ids are made of here (strings and string maps): sorted keys,
    # no whitespace, strings as JSON writes them without ASCII escaping
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def file_hashes(
    *, md5: str | None = None, sha1: str | None = None, sha256: str | None = None
) -> dict[str, str]:
    """A `hashes` dictionary with STIX's hash-algorithm names."""
    found = {"MD5": md5, "SHA-1": sha1, "SHA-256": sha256}
    return {name: digest for name, digest in found.items() if digest}


def file_id(hashes: dict[str, str]) -> str:
    """The STIX 2.1 deterministic id of a `file` known by its hashes (§2.9, §6.7: one hash,
    MD5 first, then SHA-1, then SHA-256)."""
    for name in ("MD5", "SHA-1", "SHA-256"):
        if name in hashes:
            chosen = {name: hashes[name]}
            break
    else:
        raise ValueError("a file needs at least one of MD5, SHA-1, SHA-256")
    return f"file--{uuid5(SCO_NAMESPACE, _canonical({'hashes': chosen}))}"


# --- identities ---------------------------------------------------------------------------------


def hub_identity(name: str = "taskforce hub") -> dict[str, Any]:
    """The hub: it creates the agencies' identity objects."""
    return {
        "type": "identity",
        "spec_version": SPEC,
        "id": HUB_IDENTITY,
        "created": HUB_CREATED,
        "modified": HUB_CREATED,
        "name": name,
        "description": "The taskforce hub that passes its members' releasable indicators on",
        "identity_class": "organization",
        "object_marking_refs": list(_MARKINGS),
    }


def agency_identity_id(code: str) -> str:
    return hub_id("identity", f"agency:{code}")


def agency_identity(
    *, code: str, name: str, country: str | None, created: datetime
) -> dict[str, Any]:
    """A member agency: the creator of its cases' indicators and groupings."""
    moment = timestamp(created)
    identity: dict[str, Any] = {
        "type": "identity",
        "spec_version": SPEC,
        "id": agency_identity_id(code),
        "created_by_ref": HUB_IDENTITY,
        "created": moment,
        "modified": moment,
        "name": name,
        "identity_class": "organization",
        "description": f"Member agency {code}" + (f" ({country})" if country else ""),
        "sectors": ["government-national"],
        "external_references": [{"source_name": "taskforce-agency", "external_id": code}],
        "object_marking_refs": list(_MARKINGS),
    }
    return identity


# --- indicators, files, relationships, groupings ------------------------------------------------


def indicator(
    *,
    kind: str,
    value: str,
    platform: str | None,
    created: datetime,
    created_by: str,
    stix_pattern: str | None = None,
    object_id: str | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    """An indicator with a STIX pattern for one selector (or one known file's hashes)."""
    text = stix_pattern or pattern(kind, value, platform)
    if text is None:
        raise ValueError(f"selector kind {kind!r} has no STIX pattern")
    moment = timestamp(created)
    return {
        "type": "indicator",
        "spec_version": SPEC,
        "id": object_id or indicator_id(kind, value, platform),
        "created_by_ref": created_by,
        "created": moment,
        "modified": moment,
        "name": _indicator_name(kind, value),
        "description": description or _indicator_description(kind),
        "indicator_types": ["malicious-activity"],
        "pattern": text,
        "pattern_type": "stix",
        "pattern_version": SPEC,
        "valid_from": moment,
        "object_marking_refs": list(_MARKINGS),
    }


def _indicator_name(kind: str, value: str) -> str:
    return f"{kind}: {value}" if len(value) <= 200 else f"{kind}: {value[:200]}…"


_KIND_PHRASES: Final = {
    "url": "A URL",
    "domain": "A domain name",
    "email": "An e-mail address",
    "ip": "An IP address",
    "md5": "An MD5 hash",
    "sha1": "A SHA-1 hash",
    "sha256": "A SHA-256 hash",
    "pdq": "A PDQ perceptual hash",
    "username": "A username",
    "crypto_wallet": "A cryptocurrency wallet",
}


def _indicator_description(kind: str) -> str:
    """What an analyst reads in their tool: "An e-mail address seen in ...", not "A email"."""
    what = _KIND_PHRASES.get(kind) or f"A {kind.replace('_', ' ')}"
    return f"{what} seen in a GREEN case of a member agency"


def indicator_text(
    *, kind: str, value: str, platform: str | None, created: datetime, created_by: str
) -> tuple[str, str]:
    """`(id, JSON text)` of exactly `indicator(...)` as the bundle writer encodes it, written
    without building and encoding a dict (the export's hot path; tested equal)."""
    text = pattern(kind, value, platform)
    if text is None:
        raise ValueError(f"selector kind {kind!r} has no STIX pattern")
    moment = timestamp(created)
    object_id = indicator_id(kind, value, platform)
    return object_id, "".join(
        (
            '{"type":"indicator","spec_version":"2.1","id":"',
            object_id,
            '","created_by_ref":',
            _string(created_by),
            ',"created":"',
            moment,
            '","modified":"',
            moment,
            '","name":',
            _string(_indicator_name(kind, value)),
            ',"description":',
            _string(_indicator_description(kind)),
            ',"indicator_types":["malicious-activity"],"pattern":',
            _string(text),
            ',"pattern_type":"stix","pattern_version":"2.1","valid_from":"',
            moment,
            '","object_marking_refs":["',
            TLP_GREEN,
            '"]}',
        )
    )


def file_object(*, hashes: dict[str, str], pdq: str | None = None) -> dict[str, Any]:
    """A `file` SCO known by its hashes; a PDQ perceptual hash as the custom `x_pdq` (STIX's
    `hashes` vocabulary has no PDQ, and a custom hash name fails strict validation)."""
    sco: dict[str, Any] = {
        "type": "file",
        "spec_version": SPEC,
        "id": file_id(hashes),
        "hashes": hashes,
        "object_marking_refs": list(_MARKINGS),
    }
    if pdq:
        sco["x_pdq"] = pdq
    return sco


def file_pattern(hashes: dict[str, str]) -> str:
    """Match the file by any of its exact hashes."""
    paths = {
        "MD5": "file:hashes.MD5",
        "SHA-1": "file:hashes.'SHA-1'",
        "SHA-256": "file:hashes.'SHA-256'",
    }
    return "[" + " OR ".join(f"{paths[k]} = {quote(v)}" for k, v in hashes.items()) + "]"


def relationship(
    *, source: str, kind: str, target: str, created: datetime, created_by: str
) -> dict[str, Any]:
    moment = timestamp(created)
    return {
        "type": "relationship",
        "spec_version": SPEC,
        "id": hub_id("relationship", f"{source}|{kind}|{target}"),
        "created_by_ref": created_by,
        "created": moment,
        "modified": moment,
        "relationship_type": kind,
        "source_ref": source,
        "target_ref": target,
        "object_marking_refs": list(_MARKINGS),
    }


def grouping_id(key: str) -> str:
    return hub_id("grouping", key)


def grouping(
    *,
    key: str,
    name: str,
    created: datetime,
    created_by: str,
    object_refs: Sequence[str],
    labels: Sequence[str] = (),
) -> dict[str, Any]:
    """A case (by its reference only: titles and summaries never leave) and what it holds."""
    moment = timestamp(created)
    group: dict[str, Any] = {
        "type": "grouping",
        "spec_version": SPEC,
        "id": grouping_id(key),
        "created_by_ref": created_by,
        "created": moment,
        "modified": moment,
        "name": name,
        "context": "suspicious-activity",
        "object_refs": list(object_refs),
        "object_marking_refs": list(_MARKINGS),
    }
    if labels:
        group["labels"] = list(labels)
    return group
