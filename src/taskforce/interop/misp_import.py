"""Reading MISP events into selector lines: what another tool's MISP event says about urls,
domains, addresses, wallets and hashes, as `type,value` lines for the cases domain's one bulk
path (`cases.additions.bulk_add_selectors`), which normalises, deconflicts and reports each.

A file is `{"Event": {...}}`, a bare event, a list of either, or `{"response": [...]}` (MISP's
restSearch answer and `taskforce export misp`); MISP's event downloads and feed files are the
first. PyMISP's `MISPEvent` parses each event, as MISP itself reads it.
Attribute types with no selector kind (a `comment`, a `filename`, a `yara` rule) are skipped
and counted by type, never silently dropped; a value the selector rules refuse is a reported
line, the rest are kept. A file that is not JSON or holds no event is refused whole, naming it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from pymisp import MISPAttribute, MISPEvent
from pymisp.exceptions import PyMISPError

from taskforce.cases.selectors import SelectorKind
from taskforce.core.errors import Invalid

MAX_BYTES = 32 << 20
"""Largest MISP file read (the API's body class `MISP_EVENT_API` is the same): PyMISP holds an
event in memory, about 40 times its JSON; 32 MiB is some 200,000 attributes."""
MAX_ATTRIBUTES = 250_000
"""Attributes of one file, in objects and out; past it the file is refused whole."""

# MISP attribute type -> the selector kind its value is (for `a|b` types: which part).
KINDS: dict[str, SelectorKind] = {
    "url": SelectorKind.URL,
    "domain": SelectorKind.DOMAIN,
    "hostname": SelectorKind.DOMAIN,
    "hostname|port": SelectorKind.DOMAIN,
    "email": SelectorKind.EMAIL,
    "email-src": SelectorKind.EMAIL,
    "email-dst": SelectorKind.EMAIL,
    "email-reply-to": SelectorKind.EMAIL,
    "whois-registrant-email": SelectorKind.EMAIL,
    "ip-src": SelectorKind.IP,
    "ip-dst": SelectorKind.IP,
    "ip-src|port": SelectorKind.IP,
    "ip-dst|port": SelectorKind.IP,
    "btc": SelectorKind.CRYPTO_WALLET,
    "xmr": SelectorKind.CRYPTO_WALLET,
    "dash": SelectorKind.CRYPTO_WALLET,
    "phone-number": SelectorKind.PHONE,
    "whois-registrant-phone": SelectorKind.PHONE,
    "iban": SelectorKind.PAYMENT_ACCOUNT,
    "cc-number": SelectorKind.PAYMENT_ACCOUNT,
    "md5": SelectorKind.MD5,
    "sha1": SelectorKind.SHA1,
    "sha256": SelectorKind.SHA256,
    "filename|md5": SelectorKind.MD5,
    "filename|sha1": SelectorKind.SHA1,
    "filename|sha256": SelectorKind.SHA256,
}
# `domain|ip` carries two selectors.
PAIRS: dict[str, tuple[SelectorKind, SelectorKind]] = {
    "domain|ip": (SelectorKind.DOMAIN, SelectorKind.IP),
}
# The part of an `a|b` value that is the selector: the host before a port, the hash after a
# file name.
_SECOND_PART = frozenset({"filename|md5", "filename|sha1", "filename|sha256"})

PDQ_COMMENT = "PDQ"
"""MISP has no PDQ type: taskforce writes a PDQ as a `text` attribute (object relation `text`
of a `file` object) whose comment starts with "PDQ"; such an attribute is read back as a PDQ."""


class MispLine(BaseModel):
    """An attribute the selector rules refused: where it was and why."""

    line: int  # the selector's place among those read from the file, counting from 1
    misp_type: str
    field: str
    rule: str
    value: str


class MispImportSummary(BaseModel):
    """What an import of a MISP file did to the case."""

    case: str
    events: int
    attributes: int
    added: int
    already_there: int
    hits: int
    invalid: list[MispLine]
    skipped: dict[str, int]  # attribute type -> how many were skipped (no selector kind)


@dataclass
class Reading:
    """A MISP file read: selector lines for the bulk path, what was skipped, the events."""

    lines: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    misp_types: dict[int, str] = field(default_factory=dict)
    skipped: Counter[str] = field(default_factory=Counter)
    events: int = 0
    attributes: int = 0
    uuids: list[str] = field(default_factory=list)


def _load(data: bytes | str) -> Any:
    if len(data) > MAX_BYTES:
        raise Invalid("file", f"a MISP file of at most {MAX_BYTES:,} bytes")
    try:
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data.lstrip("\ufeff")
        return json.loads(text)
    except UnicodeDecodeError:
        raise Invalid("file", "must be UTF-8 JSON (a MISP event)") from None
    except json.JSONDecodeError as exc:
        raise Invalid("file", f"is not JSON ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:
        raise Invalid("file", "nests too deeply to be a MISP event") from None


def _events(document: Any) -> Iterator[tuple[int, Mapping[str, Any]]]:
    """Each event of the document, numbered from 1, as a plain mapping."""
    if isinstance(document, dict) and isinstance(document.get("response"), list):
        document = document["response"]  # MISP's restSearch answer (and `taskforce export misp`)
    items = document if isinstance(document, list) else [document]
    if not items:
        raise Invalid("file", "holds no MISP event (an empty list)")
    for number, item in enumerate(items, 1):
        event = item.get("Event", item) if isinstance(item, dict) else None
        if not isinstance(event, dict) or not (
            "Attribute" in event or "Object" in event or "info" in event
        ):
            raise Invalid("file", f"item {number} is not a MISP event (no Event, info, Attribute)")
        for key in ("Attribute", "Object"):
            if not isinstance(event.get(key, []), list):
                raise Invalid("file", f"event {number}: {key} must be a list")
        for obj in event.get("Object", []):
            if not isinstance(obj, dict) or not isinstance(obj.get("Attribute", []), list):
                raise Invalid("file", f"event {number}: each Object must hold an Attribute list")
        yield number, event


def _well_formed(raw: Any) -> bool:
    return (
        isinstance(raw, dict)
        and isinstance(raw.get("type"), str)
        and isinstance(raw.get("value"), str | int | float)
    )


def _parse(number: int, event: Mapping[str, Any]) -> MISPEvent:
    """PyMISP's reading of one event; attributes with no type or value are kept out (counted by
    the caller as skipped `(malformed)`), so one bad attribute does not refuse the event."""
    cleaned = dict(event)
    cleaned.setdefault("info", f"event {number}")
    cleaned["Attribute"] = [a for a in event.get("Attribute", []) if _well_formed(a)]
    cleaned["Object"] = [
        {**o, "Attribute": [a for a in o.get("Attribute", []) if _well_formed(a)]}
        for o in event.get("Object", [])
    ]
    parsed = MISPEvent()
    try:
        parsed.from_dict(**cleaned)
    except (PyMISPError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise Invalid("file", f"event {number} is not a MISP event PyMISP reads ({exc})") from None
    return parsed


def _kinds(attribute: MISPAttribute) -> list[tuple[SelectorKind, str]]:
    """The selectors one attribute carries (none: skipped)."""
    misp_type = str(attribute.type)
    value = str(attribute.value)
    if misp_type == "text" and str(getattr(attribute, "comment", "") or "").upper().startswith(
        PDQ_COMMENT
    ):
        return [(SelectorKind.PDQ, value)]
    if misp_type in PAIRS:
        first, second = PAIRS[misp_type]
        left, _, right = value.partition("|")
        return [(first, left), (second, right)]
    kind = KINDS.get(misp_type)
    if kind is None:
        return []
    if "|" in misp_type:
        left, _, right = value.partition("|")
        value = right if misp_type in _SECOND_PART else left
    return [(kind, value)]


def read(data: bytes | str) -> Reading:
    """The selector lines of a MISP file (see the module's docstring); `Invalid("file", ...)`
    when it is not JSON, not a MISP event, or over `MAX_BYTES` / `MAX_ATTRIBUTES`."""
    reading = Reading()
    for number, event in _events(_load(data)):
        raw_count = len(event.get("Attribute", [])) + sum(
            len(o.get("Attribute", [])) for o in event.get("Object", [])
        )
        if reading.attributes + raw_count > MAX_ATTRIBUTES:
            raise Invalid("file", f"at most {MAX_ATTRIBUTES:,} attributes in one MISP file")
        parsed = _parse(number, event)
        reading.events += 1
        reading.uuids.append(str(getattr(parsed, "uuid", "")))
        malformed = (
            raw_count - len(parsed.attributes) - sum(len(o.attributes) for o in parsed.objects)
        )
        if malformed:
            reading.skipped["(no type or value)"] += malformed
        reading.attributes += raw_count
        attributes = [*parsed.attributes, *(a for o in parsed.objects for a in o.attributes)]
        for attribute in attributes:
            selectors = _kinds(attribute)
            if not selectors:
                reading.skipped[str(attribute.type)] += 1
                continue
            for kind, value in selectors:
                line = len(reading.lines) + 1
                reading.misp_types[line] = str(attribute.type)
                reading.lines.append(
                    (
                        line,
                        {
                            "type": kind.value,
                            "value": value,
                            "note": f"MISP {attribute.type} in event {parsed.uuid}"[:500],
                        },
                    )
                )
    return reading
