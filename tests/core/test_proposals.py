"""The proposal mechanism itself (`core.proposals`): who proposes, who sees, who decides, what a
stale proposal does, the console and the hosting page's proposal forms."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from builders import Network, csrf_field, make_agency, make_person, web_login
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from taskforce.agencies import service as agency_service
from taskforce.agencies.schemas import AgencyUpdate
from taskforce.cli import app as cli
from taskforce.core.caller import Caller, Role, system_caller
from taskforce.core.db import make_engine, make_sessionmaker, unit_of_work
from taskforce.core.errors import Conflict, Forbidden, NotFound
from taskforce.core.proposals import service as proposals
from taskforce.core.proposals.models import ChangeProposal
from taskforce.core.settings import Settings
from taskforce.hosting import service as hosting
from taskforce.hosting.models import HostingProvider
from taskforce.hosting.schemas import ProviderCreate, ProviderUpdate

CONTACT = "abuse@hosting.example.net"


def _gb_provider(session: Session, network: Network) -> HostingProvider:
    return hosting.create_provider(
        session,
        network.gb_analyst.caller,
        ProviderCreate(name="Fictional Hosting B.V.", abuse_email=CONTACT),
    )


def _propose(
    session: Session, caller: Caller, provider: HostingProvider, email: str
) -> ChangeProposal:
    made = hosting.update_provider(session, caller, provider.id, ProviderUpdate(abuse_email=email))
    assert isinstance(made, ChangeProposal)
    return made


def test_the_same_change_asked_twice_is_one_proposal(session: Session, network: Network) -> None:
    provider = _gb_provider(session, network)
    first = _propose(session, network.us.caller, provider, "abuse@a.example.org")
    again = _propose(session, network.us.caller, provider, "abuse@a.example.org")
    other = _propose(session, network.us.caller, provider, "abuse@b.example.org")
    assert again.id == first.id
    assert other.id != first.id
    unchanged = hosting.update_provider(
        session, network.us.caller, provider.id, ProviderUpdate(abuse_email=CONTACT)
    )
    assert unchanged is provider  # nothing to propose


def test_who_sees_and_who_decides(session: Session, network: Network) -> None:
    provider = _gb_provider(session, network)
    proposal = _propose(session, network.us.caller, provider, "abuse@a.example.org")
    seen = {
        who: proposals.list_proposals(session, person.caller).total
        for who, person in {
            "gb": network.gb,
            "us": network.us,
            "nl": network.nl,
            "gb_reader": network.gb_reader,
        }.items()
    }
    assert seen == {"gb": 1, "us": 1, "nl": 0, "gb_reader": 0}
    assert proposals.list_proposals(session, system_caller()).total == 1  # a network admin
    with pytest.raises(NotFound):
        proposals.get_proposal(session, network.nl.caller, proposal.id)
    with pytest.raises(Forbidden):  # read-only: no permission to propose
        hosting.update_provider(
            session, network.gb_reader.caller, provider.id, ProviderUpdate(abuse_email="x@y.org")
        )
    with pytest.raises(Forbidden, match="someone else than its proposer"):
        proposals.decide(session, network.us.caller, proposal.id, approve=True)
    assert proposals.get_proposal(session, network.gb.caller, proposal.id).can_decide
    assert not proposals.get_proposal(session, network.us.caller, proposal.id).can_decide


def test_a_change_that_no_longer_applies_stays_pending(session: Session, network: Network) -> None:
    provider = _gb_provider(session, network)
    other = hosting.create_provider(
        session, network.us.caller, ProviderCreate(name="Other Hosting Ltd")
    )
    proposal = hosting.add_network(
        session, network.us.caller, provider.id, cidr="198.51.100.0/24", reason="seen in BGP"
    )
    assert isinstance(proposal, ChangeProposal)
    hosting.add_network(session, network.us.caller, other.id, cidr="198.51.100.0/24")
    with session.begin_nested(), pytest.raises(Conflict, match="already recorded, for Other"):
        proposals.decide(session, network.gb.caller, proposal.id, approve=True)
    session.refresh(proposal)
    assert proposal.state == "pending"
    assert proposals.describe(session, network.gb.caller, proposal).now == (
        "198.51.100.0/24 is recorded for Other Hosting Ltd"
    )
    rejected = proposals.decide(
        session, network.gb.caller, proposal.id, approve=False, reason="belongs to Other"
    )
    assert rejected.state == "rejected"
    assert rejected.decided_by == network.gb.caller.label


def test_the_coordinator_is_a_steward_only_while_active(session: Session, network: Network) -> None:
    coordinator = make_agency(session, "INT-COORD", name="Network coordinator")
    agency_service.update_agency(
        session, system_caller(), code="INT-COORD", data=AgencyUpdate(kind="coordinator")
    )
    person = make_person(session, coordinator, role=Role.ANALYST)
    assert proposals.is_steward(session, person.caller)
    assert not proposals.is_steward(session, network.gb_admin.caller)
    coordinator.is_active = False
    session.flush()
    assert not proposals.is_steward(session, person.caller)


def test_the_provider_page_proposes_for_a_member_that_does_not_keep_it(
    client: TestClient, session: Session, network: Network
) -> None:
    provider = _gb_provider(session, network)
    hosting.add_network(session, network.gb_analyst.caller, provider.id, cidr="203.0.113.0/26")
    csrf = web_login(client, session, network.us)
    page = client.get(f"/ui/hosting/{provider.id}")
    assert "GB-NCA keeps this record." in page.text
    assert "Propose the change" in page.text
    assert "Propose removal…" in page.text
    r = client.post(
        f"/ui/hosting/{provider.id}",
        data={
            "csrf_token": csrf,
            "name": provider.name,
            "abuse_email": "abuse@b.example.org",
            "reason": "their site says so",
        },
        follow_redirects=True,
    )
    assert r.status_code == 200
    assert "Proposed." in r.text
    session.refresh(provider)
    assert provider.abuse_email == CONTACT
    [waiting] = proposals.list_proposals(session, network.gb.caller).items
    assert waiting.summary == f"abuse e-mail: {CONTACT} → abuse@b.example.org"
    assert waiting.reason == "their site says so"

    client.cookies.clear()
    web_login(client, session, network.gb)
    page = client.get(f"/ui/hosting/{provider.id}")
    assert "keeps this record" not in page.text
    assert ">Save<" in page.text
    assert "Proposed changes" in page.text  # the tab to the proposals page
    listing = client.get("/ui/proposals")
    assert "Fictional Hosting B.V." in listing.text
    assert csrf_field(listing.text)


def test_the_console_lists_approves_and_rejects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TASKFORCE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("TASKFORCE_DATABASE_URL", raising=False)
    run = CliRunner()
    assert run.invoke(cli, ["db", "upgrade"]).exit_code == 0
    settings = Settings(data_dir=tmp_path)
    engine = make_engine(settings)
    with unit_of_work(make_sessionmaker(engine)) as session:
        gb = make_agency(session, "GB-NCA")
        analyst = make_person(session, gb, role=Role.ANALYST)
        operators = hosting.create_provider(
            session, system_caller(), ProviderCreate(name="Operator Hosting", abuse_email=CONTACT)
        )
        first = _propose(session, analyst.caller, operators, "abuse@a.example.org")
        second = hosting.update_provider(
            session, analyst.caller, operators.id, ProviderUpdate(notes="call first")
        )
        assert isinstance(second, ChangeProposal)
        ids = (str(first.id), str(second.id))
    engine.dispose()

    listed = run.invoke(cli, ["proposal", "list"])
    assert listed.exit_code == 0, listed.output
    assert f"{CONTACT} → abuse@a.example.org" in listed.output
    assert "2 of 2 pending" in listed.output
    approved = run.invoke(cli, ["proposal", "approve", ids[0]])
    assert approved.exit_code == 0, approved.output
    assert "approved" in approved.output
    assert run.invoke(cli, ["proposal", "reject", ids[1]]).exit_code == 2  # --reason required
    rejected = run.invoke(cli, ["proposal", "reject", ids[1], "--reason", "not needed"])
    assert rejected.exit_code == 0
    assert "rejected" in rejected.output
    again = run.invoke(cli, ["proposal", "approve", ids[1]])
    assert again.exit_code == 1
    assert "already rejected" in again.output
    missing = run.invoke(cli, ["proposal", "approve", str(uuid.uuid4())])
    assert missing.exit_code == 1
    assert "proposal not found" in missing.output
    shown = run.invoke(cli, ["hosting", "provider", "show", "Operator Hosting"])
    assert "abuse@a.example.org" in shown.output
    assert "call first" not in shown.output
