"""A TAXII 2.1 request's query, parsed before any row is read: where an object sits in its
collection's stream (`Position`, and the opaque `next` token naming it) and the filters
(`added_after`, `limit`, `match[...]`). Pure: no database, so every refusal (400) is decided
here, naming the parameter.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, NamedTuple

from taskforce.core.errors import Invalid

QUERY_PARAMETERS: Final = frozenset(
    {
        "added_after",
        "limit",
        "next",
        "match[id]",
        "match[type]",
        "match[version]",
        "match[spec_version]",
    }
)

# the sources of a collection's stream, in their order within one moment
HEAD, HASHES, SELECTORS, WALLETS = 0, 1, 2, 3
PAST = 4  # a position after every row of its moment (`added_after`)
MAX_ENTRY = (1 << 63) - 1


def timestamp(moment: datetime) -> str:
    """A TAXII timestamp: UTC, microseconds (a `date_added` must keep rows apart), `Z`."""
    moment = moment.astimezone(UTC) if moment.tzinfo is not None else moment
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def version(obj: dict[str, Any]) -> str:
    """An object's version: its `modified`, else its `created` (SCOs have neither: their
    date added stands in, as TAXII 2.1 says for objects without one)."""
    return str(obj.get("modified") or obj.get("created") or "")


# --- positions and page tokens -----------------------------------------------------------------


class Position(NamedTuple):
    """Where an object sits in its collection's stream: its row (date added, source, id) and
    its place among the row's objects. Ordered as the stream is."""

    added_at: datetime
    source: int
    row: str  # a selector's uuid (hex), a hash entry's number (zero-padded), "" for the head
    place: int


def row_of_selector(selector_id: uuid.UUID) -> str:
    return selector_id.hex


def row_of_entry(entry_id: int) -> str:
    return f"{entry_id:020d}"


def encode_next(position: Position) -> str:
    raw = json.dumps(
        [timestamp(position.added_at), position.source, position.row, position.place],
        separators=(",", ":"),
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


_ROW: Final = {
    HEAD: re.compile(r"^$"),
    HASHES: re.compile(r"^\d{20}$"),
    SELECTORS: re.compile(r"^[0-9a-f]{32}$"),
    WALLETS: re.compile(r"^[0-9a-f]{32}$"),
}


def parse_next(token: str) -> Position:
    """A `next` token this server gave; anything else is refused (400), never guessed at."""
    bad = Invalid("next", "must be a page token this server gave (from a previous page)")
    if len(token) > 200:
        raise bad
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        at, source, row, place = json.loads(raw)
        added_at = datetime.fromisoformat(at)
    except (ValueError, TypeError, binascii.Error, RecursionError):
        raise bad from None
    if (
        added_at.tzinfo is None
        or not isinstance(source, int)
        or isinstance(source, bool)
        or source not in _ROW
        or not isinstance(row, str)
        or not _ROW[source].match(row)
        or (source == HASHES and not 0 < int(row) <= MAX_ENTRY)
        or not isinstance(place, int)
        or isinstance(place, bool)
        or not -1 <= place < 1000
    ):
        raise bad
    return Position(added_at.astimezone(UTC), source, row, place)


# --- filters ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    limit: int
    added_after: datetime | None = None
    after: Position | None = None  # from `next`
    ids: frozenset[str] = frozenset()
    types: frozenset[str] = frozenset()
    versions: frozenset[str] = frozenset()  # "last", "first", "all" or timestamps
    spec_versions: frozenset[str] = frozenset()

    def keeps(self, obj: dict[str, Any], date_added: datetime) -> bool:
        if self.ids and obj["id"] not in self.ids:
            return False
        if self.types and obj["type"] not in self.types:
            return False
        if self.spec_versions and obj.get("spec_version", "2.1") not in self.spec_versions:
            return False
        stamps = self.versions - {"last", "first", "all"}
        if stamps and not self.versions & {"last", "first", "all"}:
            # each object here has one version: it matches when its own is named
            return _same_moment(version(obj) or timestamp(date_added), stamps)
        return True


def _same_moment(stamp: str, wanted: frozenset[str]) -> bool:
    mine = datetime.fromisoformat(stamp)
    return any(datetime.fromisoformat(w) == mine for w in wanted)


def parse_timestamp(field: str, text: str) -> datetime:
    """An RFC 3339 timestamp (a missing zone is UTC); anything else is a 400."""
    value = text.strip()
    if not value or len(value) > 64:
        raise Invalid(field, "must be a timestamp such as 2024-05-01T12:00:00.000Z")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise Invalid(field, "must be a timestamp such as 2024-05-01T12:00:00.000Z") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _split(values: Sequence[str]) -> frozenset[str]:
    """`match[x]=a,b` and `match[x]=a&match[x]=b` alike."""
    return frozenset(v.strip() for value in values for v in value.split(",") if v.strip())


def parse_filters(
    *,
    added_after: str | None,
    limit: str | None,
    next_token: str | None,
    match: dict[str, list[str]],
    page_limit: int,
) -> Filters:
    """The query of an objects or manifest request. A `limit` above the hub's page size is
    lowered to it (TAXII lets a server do so); zero, negative or not a number is a 400."""
    most = page_limit
    if limit is not None:
        text = limit.strip()
        if not text.isascii() or not text.isdigit() or len(text) > 100:
            raise Invalid("limit", "must be a positive whole number")
        if int(text) < 1:
            raise Invalid("limit", "must be a positive whole number")
        most = min(int(text), page_limit)
    versions = _split(match.get("version", []))
    for stamp in versions - {"last", "first", "all"}:
        parse_timestamp("match[version]", stamp)
    return Filters(
        limit=most,
        added_after=None if added_after is None else parse_timestamp("added_after", added_after),
        after=None if next_token is None else parse_next(next_token.strip()),
        ids=_split(match.get("id", [])),
        types=_split(match.get("type", [])),
        versions=frozenset(
            v if v in ("last", "first", "all") else parse_timestamp("v", v).isoformat()
            for v in versions
        ),
        spec_versions=_split(match.get("spec_version", [])),
    )
