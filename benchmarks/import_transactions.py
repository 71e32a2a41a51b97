"""How long one hash-set import holds SQLite's write lock, and how long other writers wait.

On SQLite every transaction of taskforce starts with `BEGIN IMMEDIATE`, so a transaction holds
the database's one write lock from its first statement to its commit: while it runs, every
other agency's write (and the audit entry of every read) waits, and after the 30 s busy
timeout fails. This script imports a plain hash list of N random MD5s into a new hash set on a
fresh SQLite database, the way the API does, and measures:

* the longest transaction (SQLAlchemy `begin` to `commit`/`rollback`, on the import's engine);
* the longest wait of a probe writer: a second connection that, every 50 ms, runs
  `BEGIN IMMEDIATE; COMMIT` and records how long it waited for the lock.

`--single-transaction` runs the import as the API and the page did before issue 11 (one
transaction for the whole file); the default commits after each batch
(`hashsets.service.BATCH_SIZE` entries), as the API, the page and the CLI do now.

Run: .venv/bin/python benchmarks/import_transactions.py --lines 1000000 [--single-transaction]
"""

from __future__ import annotations

import argparse
import secrets
import sqlite3
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import sessionmaker

from taskforce import migrate
from taskforce.agencies import service as agency_service
from taskforce.agencies.schemas import AgencyCreate
from taskforce.core.caller import agency_operator, system_caller
from taskforce.core.db import make_engine
from taskforce.core.settings import Settings
from taskforce.hashsets import service
from taskforce.hashsets.schemas import HashSetCreate


class Probe(threading.Thread):
    """Another writer: how long it waits for the write lock, every 50 ms."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path, self.longest, self.tries, self.stop = path, 0.0, 0, threading.Event()

    def run(self) -> None:
        db = sqlite3.connect(self.path, timeout=600, isolation_level=None)
        while not self.stop.is_set():
            started = time.perf_counter()
            db.execute("BEGIN IMMEDIATE")
            db.execute("COMMIT")
            self.longest = max(self.longest, time.perf_counter() - started)
            self.tries += 1
            time.sleep(0.05)
        db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--single-transaction", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="taskforce-bench-") as folder:
        data = Path(folder)
        settings = Settings(data_dir=data, allow_insecure_defaults=True, worker="external")
        engine = make_engine(settings)
        migrate.upgrade(settings, engine)
        longest = [0.0]
        started: dict[int, float] = {}

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            started[id(conn)] = time.perf_counter()

        def _end(conn: Any) -> None:
            begun = started.pop(id(conn), None)
            if begun is not None:
                longest[0] = max(longest[0], time.perf_counter() - begun)

        event.listen(engine, "commit", _end)
        event.listen(engine, "rollback", _end)

        hashes = data / "hashes.txt"
        with hashes.open("w") as f:
            for _ in range(args.lines):
                f.write(secrets.token_hex(16) + "\n")
        factory = sessionmaker(bind=engine, expire_on_commit=False)
        with factory() as session:
            agency = agency_service.register_agency(
                session,
                system_caller(),
                AgencyCreate(
                    code="GB-NCA",
                    name="GB-NCA (fictional)",
                    country="GB",
                    timezone="Europe/London",
                    contact_desk="desk",
                    contact_phone="+442079460001",
                    contact_email="desk@example.com",
                ),
            )
            caller = agency_operator(agency.id, agency.code, agency.country)
            service.create_hash_set(session, caller, HashSetCreate(name="bench"))
            session.commit()
        longest[0] = 0.0
        probe = Probe(data / "taskforce.db")
        probe.start()
        begun = time.perf_counter()
        with factory() as session:
            commit = None if args.single_transaction else (lambda _read: session.commit())
            report = service.import_file(
                session, caller, name="bench", path=hashes, fmt="lines", after_batch=commit
            )
            session.commit()
        elapsed = time.perf_counter() - begun
        probe.stop.set()
        probe.join()
        engine.dispose()
    mode = "one transaction" if args.single_transaction else f"a commit per {service.BATCH_SIZE:,}"
    print(
        f"| {args.lines:,} lines, {mode} | {report.added:,} added | {elapsed:.1f} s | "
        f"{longest[0]:.2f} s | {probe.longest:.2f} s ({probe.tries} probes) |"
    )


if __name__ == "__main__":
    main()
