"""The TAXII 2.1 server's pages over a large collection: a client walking the network's
collection with `next`, 1,000 objects a page (the default `taxii_page_limit`).

Preloads N releasable selectors (GREEN cases of three fictional agencies, domains under
example.org; every 100 share one `added_at`, as a bulk import writes them) straight into the
tables, then times, through `interop.collections` (the service the route calls; HTTP adds a
constant): the first page, every page of the whole walk (median, 95th percentile, slowest) and
the walk's total; and checks that the walk gave every indicator once.

Run: .venv/bin/python benchmarks/taxii.py --sizes 100000 --backends sqlite postgresql
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench_network import database, register_agencies
from sqlalchemy import insert
from sqlalchemy.orm import Session

from taskforce import migrate
from taskforce.cases import service as case_service
from taskforce.cases.models import Selector, SelectorValue
from taskforce.cases.schemas import CaseCreate
from taskforce.core.auth import service as auth_service
from taskforce.core.caller import Role, system_caller
from taskforce.core.db import make_engine, make_sessionmaker
from taskforce.core.settings import Settings
from taskforce.core.sharing import SharingLevel
from taskforce.interop import collections, taxii_query

AGENCIES = [
    ("XA-POL", "GB", "Europe/London", "+442079460101"),
    ("XB-POL", "NL", "Europe/Amsterdam", "+31201234501"),
    ("XC-POL", "DE", "Europe/Berlin", "+49301234501"),
]
PAGE = 1000


def preload(session: Session, n: int) -> Any:
    callers = register_agencies(session, AGENCIES)
    cases = [
        case_service.open_case(
            session, caller, CaseCreate(title="Bench case", sharing=SharingLevel.GREEN)
        ).id
        for caller, _ in callers
    ]
    reader = auth_service.create_user(
        session,
        system_caller(),
        email="taxii@xa-pol.example.com",
        agency_code="XA-POL",
        role=Role.READ_ONLY,
    )
    session.commit()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for first in range(0, n, 10_000):
        values, rows = [], []
        for i in range(first, min(n, first + 10_000)):
            vid = uuid.uuid4()
            value = f"h{i}.example.org"
            values.append(
                {"id": vid, "kind": "domain", "key": value, "case_count": 1, "is_common": False}
            )
            rows.append(
                {
                    "id": uuid.uuid4(),
                    "case_id": cases[i % len(cases)],
                    "value_id": vid,
                    "kind": "domain",
                    "value": value,
                    "platform": None,
                    "raw": value,
                    "note": "",
                    "added_at": start + timedelta(seconds=i // 100),
                }
            )
        session.execute(insert(SelectorValue), values)
        session.execute(insert(Selector), rows)
        session.commit()
    if session.get_bind().dialect.name == "postgresql":
        with session.get_bind().connect() as conn:  # type: ignore[union-attr]
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    return auth_service.caller_for(session, reader, channel="api")


def run(backend: str, n: int) -> None:
    with tempfile.TemporaryDirectory() as folder, database(backend, Path(folder)) as url:
        settings = Settings(data_dir=Path(folder), database_url=url, allow_insecure_defaults=True)
        engine = make_engine(settings)
        migrate.upgrade(settings, engine)
        factory = make_sessionmaker(engine)
        with factory() as session:
            caller = preload(session, n)
        times: list[float] = []
        seen: set[str] = set()
        token: str | None = None
        total = time.perf_counter()
        while True:
            with factory() as session:
                began = time.perf_counter()
                filters = taxii_query.parse_filters(
                    added_after=None, limit=str(PAGE), next_token=token, match={}, page_limit=PAGE
                )
                found = collections.find(session, caller, collections.network_collection_id())
                page = collections.objects(session, caller, found, filters)
                session.commit()
                times.append(time.perf_counter() - began)
            ids = [item.object["id"] for item in page.items]
            assert not seen.intersection(ids), "an object came twice"
            seen.update(ids)
            if not page.more:
                break
            token = page.next
        total = time.perf_counter() - total
        engine.dispose()
        indicators = sum(1 for i in seen if i.startswith("indicator--"))
        assert indicators == n, (indicators, n)
        ordered = sorted(times)
        print(
            f"{backend:10} {n:>9,} selectors: {len(times)} pages of {PAGE}; first "
            f"{times[0] * 1000:.0f} ms, median {statistics.median(times) * 1000:.0f} ms, "
            f"p95 {ordered[int(len(ordered) * 0.95) - 1] * 1000:.0f} ms, slowest "
            f"{ordered[-1] * 1000:.0f} ms; whole walk {total:.1f} s; {len(seen):,} objects once"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    args = parser.parse_args()
    for backend in args.backends:
        for n in args.sizes:
            run(backend, n)


if __name__ == "__main__":
    main()
