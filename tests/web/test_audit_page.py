"""The audit page's seal line: what the newest signed head says about the log, checked on every
view; the network's totals only for the network's administrators."""

from __future__ import annotations

from builders import Network, make_case, make_person, web_login
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from taskforce.agencies import service as agency_service
from taskforce.core.audit import seal
from taskforce.core.audit.models import AuditEntry
from taskforce.core.caller import Role
from taskforce.core.settings import Settings


def _sealed(session: Session, factory: sessionmaker[Session], settings: Settings) -> int:
    session.commit()  # the sealer works in its own transactions (savepoints here)
    result = seal.seal(factory, settings)
    assert result.problem is None
    return result.tree_size


def test_the_seal_line_shows_the_newest_head_and_totals_only_to_the_network(
    client: TestClient,
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    network: Network,
) -> None:
    make_case(session, network.gb, title="Operation Lantern")
    size = _sealed(session, session_factory, settings)
    web_login(client, session, network.gb_admin)
    page = client.get("/ui/audit").text
    assert "verify-ok" in page
    assert "head signed" in page
    assert f"{size:,} entries" not in page  # an agency's admin: not the network's count
    client.cookies.clear()
    admin = make_person(
        session,
        agency_service.get_by_code(session, "GB-NCA"),
        role=Role.NETWORK_ADMIN,
        email="admin@hub.example.org",
    )
    web_login(client, session, admin)
    assert f"Sealed · {size:,} entries" in client.get("/ui/audit").text


def test_a_truncated_log_shows_on_the_page(
    client: TestClient,
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    network: Network,
) -> None:
    make_case(session, network.gb, title="Operation Lantern")
    size = _sealed(session, session_factory, settings)
    session.execute(delete(AuditEntry).where(AuditEntry.leaf_index >= size - 2))
    session.commit()
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == size - 2
    web_login(client, session, network.gb_admin)
    page = client.get("/ui/audit").text
    assert "verify-bad" in page
    assert "truncated" in page
