"""Importing a network table: CSV lines to providers and network blocks, in batches, with the
bad lines reported and the good ones kept; a line that would change a record another agency
keeps is left out as a bad line (`stewardship.py`)."""

from __future__ import annotations

import csv
import hashlib
import uuid
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain
from pathlib import Path
from typing import IO, Any, cast

from sqlalchemy import Table, insert, select, text, update
from sqlalchemy.orm import Session

from taskforce.agencies.models import Agency
from taskforce.cases.schemas import LineError
from taskforce.core import budgets
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.caller import Caller, Permission
from taskforce.core.db import is_postgres, utcnow
from taskforce.core.errors import Invalid
from taskforce.core.proposals import service as proposals
from taskforce.core.text import RULE as UNSTORABLE
from taskforce.core.text import unstorable
from taskforce.hosting.addresses import Bounds, parse_cidr
from taskforce.hosting.models import HostingNetwork, HostingProvider
from taskforce.hosting.schemas import (
    ImportReport,
)
from taskforce.hosting.service import (
    normalise_abuse_email,
    normalise_asn,
    normalise_country,
    normalise_name,
)

BATCH_SIZE = 5000
ANALYZE_AFTER = 1000  # blocks added or moved by one import before PostgreSQL re-reads statistics
MAX_REPORTED_ERRORS = 1000
_PROVIDERS = cast(Table, HostingProvider.__table__)  # Core inserts: no ORM bookkeeping per row
_NETWORKS = cast(Table, HostingNetwork.__table__)
MAX_LINE = budgets.DEFAULT.max_field  # a longer line is one bad line, its rest never held

# Fictional providers on documentation ranges, for the demo and other domains' tests.
DEMO_NETWORKS = Path(__file__).with_name("demo_networks.csv")

# --- importing a network table ---------------------------------------------------------------


def read_lines(
    stream: IO[bytes], *, on_bytes: Callable[[int], None] | None = None
) -> Iterator[str | budgets.Breach]:
    """Text lines of an uploaded file, one at a time: UTF-8 (a byte that is not becomes U+FFFD,
    which the import refuses). A line longer than `MAX_LINE` bytes is a `Breach` (one bad
    line), its rest skipped unread into memory: cut into pieces, its tail would have been read
    as lines of its own. `on_bytes(n)` after each line (progress)."""
    while raw := stream.readline(MAX_LINE + 1):
        size = len(raw)
        if size > MAX_LINE and not raw.endswith(b"\n"):
            while (rest := stream.readline(1 << 20)) and not rest.endswith(b"\n"):
                size += len(rest)
            size += len(rest)
            raw = b""
        if on_bytes is not None:
            on_bytes(size)
        yield (
            raw.decode("utf-8", errors="replace")
            if raw
            else budgets.Breach("line", budgets.too_long(MAX_LINE, "bytes"))
        )


class _Numbered:
    """The lines for `csv.reader`, numbered; the too-long ones (`Breach`) held back to be
    reported, so that the numbers stay those of the file."""

    def __init__(self, lines: Iterable[str | budgets.Breach]) -> None:
        self._lines = iter(lines)
        self.number = 0
        self.held: list[tuple[int, budgets.Breach]] = []

    def __iter__(self) -> _Numbered:
        return self

    def __next__(self) -> str:
        while True:
            line = next(self._lines)
            self.number += 1
            if not isinstance(line, budgets.Breach):
                return line
            self.held.append((self.number, line))

    def report(self, tally: _Tally) -> None:
        for number, breach in self.held:
            tally.lines_read += 1
            tally.reject(number, breach.field, breach.rule, "")
        self.held.clear()


_COLUMNS = ("network", "provider", "asn", "country", "abuse_email", "network_country")
_PROVIDER_FIELDS = {"asn": "AS number", "country": "country", "abuse_email": "abuse e-mail"}


@dataclass
class _Line:
    line: int
    cidr: str
    bounds: Bounds
    provider: str
    asn: int | None
    country: str | None
    abuse_email: str | None
    network_country: str | None


@dataclass
class _Provider:
    """A provider of the file: what this import's lines said of it (value, line), and once its
    first batch is written, its id and what is stored."""

    given: dict[str, tuple[Any, int]] = field(default_factory=dict)
    id: uuid.UUID | None = None
    stored: dict[str, Any] = field(default_factory=dict)
    keeper: uuid.UUID | None = None  # the agency that keeps its record (stewardship)


@dataclass
class _Keepers:
    """Whose provider records this import may change: the importer's agency's and, for a
    steward, all (stewardship.py). Other lines are left out as bad lines: an import proposes
    nothing."""

    agency_id: uuid.UUID | None
    steward: bool
    codes: dict[uuid.UUID, str] = field(default_factory=dict)

    def foreign(self, keeper: uuid.UUID | None) -> bool:
        return not self.steward and (keeper is None or keeper != self.agency_id)

    def rule(self, session: Session, keeper: uuid.UUID | None, what: str) -> str:
        if keeper is None:
            who = "the network coordinator"
        else:
            if keeper not in self.codes:
                code = session.scalar(select(Agency.code).where(Agency.id == keeper))
                self.codes[keeper] = code or "another agency"
            who = self.codes[keeper]
        return f"{what}, whose record {who} keeps: propose the change on its page instead"


class _Seen:
    """The networks this import met already, 8 bytes each (64-bit digests), in sorted runs
    merged like a binary counter: a file of millions of blocks is never held in memory."""

    def __init__(self) -> None:
        self._runs: list[array[int]] = []

    @staticmethod
    def key(b: Bounds) -> int:
        digest = hashlib.blake2b(f"{b.first}/{b.prefix_length}".encode(), digest_size=8)
        return int.from_bytes(digest.digest(), "big")

    def __contains__(self, key: int) -> bool:
        for run in self._runs:
            i = bisect_left(run, key)
            if i < len(run) and run[i] == key:
                return True
        return False

    def add(self, keys: Iterable[int]) -> None:
        run = array("Q", sorted(set(keys)))
        while self._runs and len(self._runs[-1]) <= len(run):
            run = array("Q", sorted(chain(self._runs.pop(), run)))
        self._runs.append(run)


@dataclass
class _Tally:
    source: str
    lines_read: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    providers_created: int = 0
    updated_providers: set[uuid.UUID] = field(default_factory=set)
    bad_lines: list[LineError] = field(default_factory=list)
    batches: int = 0

    def reject(self, line: int, field_name: str, rule: str, value: str) -> None:
        self.rejected += 1
        if len(self.bad_lines) < MAX_REPORTED_ERRORS:
            self.bad_lines.append(LineError(line=line, field=field_name, rule=rule, value=value))

    def report(self) -> ImportReport:
        return ImportReport(
            source=self.source,
            lines_read=self.lines_read,
            added=self.added,
            updated=self.updated,
            unchanged=self.unchanged,
            rejected=self.rejected,
            providers_created=self.providers_created,
            providers_updated=len(self.updated_providers),
            bad_lines=list(self.bad_lines),
        )


def _header(row: list[str]) -> dict[str, int]:
    names = [c.strip().lstrip("\ufeff").strip().lower().replace(" ", "_") for c in row]
    columns: dict[str, int] = {}
    for index, name in enumerate(names):
        if name in _COLUMNS and name not in columns:
            columns[name] = index
    if "network" not in columns or "provider" not in columns:
        found = ", ".join(n for n in names if n) or "none"
        raise Invalid(
            "header",
            f"the first line must name the columns network and provider (found: {found}); "
            "asn, country, abuse_email and network_country are optional",
        )
    return columns


@lru_cache(maxsize=1 << 14)
def _import_email(raw: str) -> tuple[str | None, str | None]:
    """(address, None) or (None, rule): a file repeats a provider's contact on every line of
    its networks, and checking an address costs far more than reading the line."""
    try:
        return normalise_abuse_email(raw), None
    except Invalid as exc:
        return None, exc.rule


def _parse_line(number: int, row: list[str], columns: dict[str, int]) -> _Line:
    width = len(row)
    cells = {k: (row[i].strip() if i < width else "") for k, i in columns.items()}
    for name, value in cells.items():
        if "\ufffd" in value:
            raise Invalid(name, "is not UTF-8 text")
        if unstorable(value):
            raise Invalid(name, UNSTORABLE)
    raw_network = cells["network"]
    if not raw_network:
        raise Invalid("network", "is required")
    cidr, block = parse_cidr(raw_network)
    raw_provider = cells["provider"]
    if not raw_provider:
        raise Invalid("provider", "is required")
    provider = normalise_name(raw_provider, "provider")
    asn = normalise_asn(cells.get("asn"))
    country = normalise_country(cells.get("country"))
    email, rule = _import_email(cells.get("abuse_email", ""))
    if rule is not None:
        raise Invalid("abuse_email", rule)
    return _Line(
        line=number,
        cidr=cidr,
        bounds=block,
        provider=provider,
        asn=asn,
        country=country,
        abuse_email=email,
        network_country=normalise_country(cells.get("network_country"), "network_country"),
    )


def _raw(row: list[str], columns: dict[str, int], field_name: str) -> str:
    index = columns.get(field_name)
    if index is None:
        return ",".join(row)[:200]
    return row[index].strip()[:200] if index < len(row) else ""


def import_networks(
    session: Session,
    caller: Caller,
    lines: Iterable[str | budgets.Breach],
    *,
    source: str,
    after_batch: Callable[[ImportReport], None] | None = None,
) -> ImportReport:
    """Import a network table: CSV with a header naming at least `network` and `provider`
    (optional: the provider's `asn`, `country` and `abuse_email`, the block's own
    `network_country`; names case-insensitive, other columns ignored).

    The lines are read one at a time and written in batches of `BATCH_SIZE`. A bad line (its
    number, field and rule) is reported and skipped; the good ones are kept. Providers are
    found by exact name or created; the ASN, country and abuse e-mail the file gives replace
    the stored ones, a value the file leaves empty is kept. A block listed a second time, or a
    provider given two different values, is a bad line: so importing the same file again
    changes nothing (everything counts as unchanged). Each batch written leaves one audit
    entry; `after_batch(report so far)` runs after it (commit, progress)."""
    caller.require(Permission.MANAGE_HOSTING)
    source = " ".join(source.split())[:200] or "upload"
    tally = _Tally(source=source)
    keepers = _Keepers(caller.agency_id, proposals.is_steward(session, caller))
    providers: dict[str, _Provider] = {}
    seen = _Seen()
    batch: list[_Line] = []
    batch_keys: dict[int, int] = {}
    numbered = _Numbered(lines)
    reader = csv.reader(numbered)
    columns: dict[str, int] | None = None
    first_line = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            numbered.report(tally)
            break
        except csv.Error as exc:
            numbered.report(tally)
            if columns is None:
                raise Invalid("header", f"is not CSV ({exc})") from None
            tally.lines_read += 1
            tally.reject(numbered.number, "line", f"is not valid CSV ({exc})", "")
            continue
        numbered.report(tally)
        if not any(c.strip() for c in row) or row[0].lstrip().startswith("#"):
            continue
        if columns is None:
            columns = _header(row)
            first_line = numbered.number + 1
            continue
        tally.lines_read += 1
        number = numbered.number
        try:
            item = _parse_line(number, row, columns)
        except Invalid as exc:
            tally.reject(number, exc.field, exc.rule, _raw(row, columns, exc.field))
            continue
        key = _Seen.key(item.bounds)
        if key in batch_keys or key in seen:
            tally.reject(number, "network", "is listed earlier in this file", item.cidr)
            continue
        conflict = _note_provider(providers, item)
        if conflict is not None:
            field_name, earlier = conflict
            label = _PROVIDER_FIELDS[field_name]
            rule = f"differs from line {earlier} for the same provider (one {label} each)"
            tally.reject(number, field_name, rule, str(getattr(item, field_name)))
            continue
        batch_keys[key] = number
        batch.append(item)
        if len(batch) >= BATCH_SIZE:
            _write(session, caller, batch, providers, tally, keepers, lines=(first_line, number))
            seen.add(batch_keys)
            first_line = number + 1
            batch, batch_keys = [], {}
            if after_batch:
                after_batch(tally.report())
    if columns is None:
        raise Invalid("file", "is empty: the first line must name the columns network, provider")
    if batch or tally.batches == 0:  # an import that wrote nothing is recorded too
        span = (first_line, numbered.number)
        _write(session, caller, batch, providers, tally, keepers, lines=span)
    if is_postgres(session) and tally.added + tally.updated >= ANALYZE_AFTER:
        # Without fresh statistics PostgreSQL guesses that a lookup's IN list matches thousands
        # of blocks and scans the table (100 ms instead of 0.3 ms on 300,000 blocks) until
        # autovacuum gets round to it. ANALYZE samples the table; it blocks no reader or writer.
        session.execute(text("ANALYZE hosting_network"))
    _expire(session)
    report = tally.report()
    if after_batch:
        after_batch(report)
    return report


def _note_provider(providers: dict[str, _Provider], item: _Line) -> tuple[str, int] | None:
    """Note what the line says of its provider; a value differing from an earlier line's is
    returned as (field, that line) and the line must be refused."""
    known = providers.setdefault(item.provider, _Provider())
    for name in _PROVIDER_FIELDS:
        value = getattr(item, name)
        earlier = known.given.get(name)
        if value is not None and earlier is not None and earlier[0] != value:
            return name, earlier[1]
    for name in _PROVIDER_FIELDS:
        value = getattr(item, name)
        if value is not None and name not in known.given:
            known.given[name] = (value, item.line)
    return None


def _resolve(session: Session, providers: dict[str, _Provider], names: list[str]) -> list[str]:
    """Find the stored providers among `names` (one query); the names still unknown."""
    wanted = [n for n in names if providers[n].id is None]
    if not wanted:
        return []
    rows = session.execute(
        select(
            HostingProvider.id,
            HostingProvider.name,
            HostingProvider.asn,
            HostingProvider.country,
            HostingProvider.abuse_email,
            HostingProvider.owner_agency_id,
        ).where(HostingProvider.name.in_(wanted))
    ).all()
    for row in rows:
        p = providers[row.name]
        p.id = row.id
        p.stored = {"asn": row.asn, "country": row.country, "abuse_email": row.abuse_email}
        p.keeper = row.owner_agency_id
    return [n for n in wanted if providers[n].id is None]


def _write(
    session: Session,
    caller: Caller,
    batch: list[_Line],
    providers: dict[str, _Provider],
    tally: _Tally,
    keepers: _Keepers,
    *,
    lines: tuple[int, int],
) -> None:
    """Write one batch: new providers, providers' changed fields, new and moved networks; a
    line that would change a record the importer does not keep is a bad line."""
    before = (tally.added, tally.updated, tally.unchanged, tally.providers_created)
    updated_before = len(tally.updated_providers)
    names = list(dict.fromkeys(item.provider for item in batch))
    missing = set(_resolve(session, providers, names))
    existing = {}
    if batch:
        found = session.execute(
            select(
                HostingNetwork.id,
                HostingNetwork.cidr,
                HostingNetwork.provider_id,
                HostingNetwork.country,
                HostingProvider.name.label("holder"),
                HostingProvider.owner_agency_id.label("keeper"),
            )
            .join(HostingProvider, HostingProvider.id == HostingNetwork.provider_id)
            .where(HostingNetwork.cidr.in_([item.cidr for item in batch]))
        )
        existing = {row.cidr: row for row in found}
    accepted = []
    for item in batch:
        p = providers[item.provider]
        refused = _not_kept(session, keepers, item, p, existing.get(item.cidr))
        if refused is None:
            accepted.append(item)
            continue
        tally.reject(item.line, *refused)  # nothing of the line is written
        p.given = {k: given for k, given in p.given.items() if given[1] != item.line}
    batch = accepted
    names = list(dict.fromkeys(item.provider for item in batch))
    new_rows: list[dict[str, Any]] = []
    for name in names:
        p = providers[name]
        wanted = {k: v[0] for k, v in p.given.items()}
        if name in missing:
            p.id = uuid.uuid4()
            p.keeper = caller.agency_id
            p.stored = {"asn": None, "country": None, "abuse_email": None, **wanted}
            row = {"id": p.id, "name": name, "notes": "", "owner_agency_id": p.keeper}
            new_rows.append({**row, **p.stored})
            tally.providers_created += 1
            continue
        if keepers.foreign(p.keeper):
            continue  # not changed by this import: its lines are judged one by one below
        diff = {k: v for k, v in wanted.items() if p.stored.get(k) != v}
        if diff:
            assert p.id is not None
            session.execute(
                update(HostingProvider)
                .where(HostingProvider.id == p.id)
                .values(updated_at=utcnow(), **diff)
            )
            p.stored.update(diff)
            tally.updated_providers.add(p.id)
    if new_rows:
        session.execute(insert(_PROVIDERS), new_rows)

    inserts: list[dict[str, Any]] = []
    moves: list[dict[str, Any]] = []
    for item in batch:
        provider_id = providers[item.provider].id
        old = existing.get(item.cidr)
        if old is None:
            inserts.append(
                {
                    "id": uuid.uuid4(),
                    "provider_id": provider_id,
                    "cidr": item.cidr,
                    "first": item.bounds.first,
                    "last": item.bounds.last,
                    "prefix_length": item.bounds.prefix_length,
                    "country": item.network_country,
                }
            )
            continue
        country = item.network_country or old.country
        if old.provider_id != provider_id or old.country != country:
            moves.append({"id": old.id, "provider_id": provider_id, "country": country})
        else:
            tally.unchanged += 1
    if inserts:
        session.execute(insert(_NETWORKS), inserts)
        tally.added += len(inserts)
    if moves:
        session.execute(update(HostingNetwork), moves)
        tally.updated += len(moves)
    session.flush()
    tally.batches += 1
    audit.record(
        session,
        caller,
        action="hosting.import",
        operation=Operation.COLLECTION,
        subject_type="hosting_network",
        detail={
            "source": tally.source,
            "lines": list(lines),
            "added": tally.added - before[0],
            "updated": tally.updated - before[1],
            "unchanged": tally.unchanged - before[2],
            "providers_created": tally.providers_created - before[3],
            "providers_updated": len(tally.updated_providers) - updated_before,
            "rejected_so_far": tally.rejected,
        },
    )


def _not_kept(
    session: Session, keepers: _Keepers, item: _Line, p: _Provider, old: Any
) -> tuple[str, str, str] | None:
    """(field, rule, value) when the line would change a provider record the importer does not
    keep: its provider's fields, its networks, or a network recorded for it. A provider the
    import creates (no id yet) is the importer's."""
    if p.id is not None and keepers.foreign(p.keeper):
        for name in _PROVIDER_FIELDS:
            value = getattr(item, name)
            if value is not None and p.stored.get(name) != value:
                rule = keepers.rule(session, p.keeper, f"would change {item.provider}")
                return name, rule, str(value)
        country = item.network_country or (old.country if old is not None else None)
        if old is None or old.provider_id != p.id or old.country != country:
            rule = keepers.rule(session, p.keeper, f"would add a network to {item.provider}")
            return "network", rule, item.cidr
    if old is not None and old.provider_id != p.id and keepers.foreign(old.keeper):
        rule = keepers.rule(session, old.keeper, f"is recorded for {old.holder}")
        return "network", rule, item.cidr
    return None


def _expire(session: Session) -> None:
    """The import wrote with bulk statements: loaded providers and networks are stale."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, HostingProvider | HostingNetwork):
            session.expire(obj)
