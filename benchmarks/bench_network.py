"""What several benchmarks share: a throwaway database per run, and a fictional network of
agencies with one investigator each, registered through the services.

Imported by the scripts beside it (`python benchmarks/<script>.py` puts this folder on the
path)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.agencies.schemas import AgencyCreate
from taskforce.core.auth import service as auth_service
from taskforce.core.auth.models import User
from taskforce.core.caller import Caller, Role, system_caller

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"

# (code, country, IANA zone, 24/7 phone): fictional agencies, codes only look like real ones.
Agency = tuple[str, str, str, str]


@contextmanager
def database(backend: str, folder: Path, prefix: str = "taskforce_bench") -> Iterator[str]:
    """The URL of an empty database: a file in `folder` (SQLite), or a PostgreSQL database
    created for the run and dropped after it."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'bench.db'}"
        return
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def register_agencies(
    session: Session, agencies: Sequence[Agency], *, password: str | None = None
) -> list[tuple[Caller, User]]:
    """Each agency with an investigator: their API caller and user, in the given order."""
    found: list[tuple[Caller, User]] = []
    for code, country, zone, phone in agencies:
        agency_service.register_agency(
            session,
            system_caller(),
            AgencyCreate(
                code=code,
                name=f"{code} (fictional)",
                country=country,
                timezone=zone,
                contact_desk=f"{code} 24/7 desk",
                contact_phone=phone,
                contact_email=f"desk@{code.lower()}.example.com",
            ),
        )
        user = auth_service.create_user(
            session,
            system_caller(),
            email=f"investigator@{code.lower()}.example.com",
            agency_code=code,
            role=Role.INVESTIGATOR,
            password=password,
        )
        found.append((auth_service.caller_for(session, user, channel="api"), user))
    return found
