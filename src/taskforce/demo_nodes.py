"""`taskforce demo`'s network (issue 14): the demo node and two more on this machine.

- the **NL national node**: the demo's own scenario (`demo.py`), served by the demo process;
- the **GB national node**: a few agencies and people of its own;
- the **coordinator's node**: the network's OPRF key holder (`federation key init`), which
  makes the national nodes' tokens and never receives any.

Each has its own data folder (so its own signing key), SQLite file and port; the GB and
coordinator nodes are child `taskforce serve` processes of the demo, stopped with it. The
nodes are peered pairwise the way two admins would (each adds the other's signed peering
document); each national node names the coordinator its key holder and gives the other a
profile (RED and AMBER as blinded tokens of the exact-match types, GREEN as plaintext, details
only after a release). A RED case on each national node holds the same fictional e-mail
address and phone number, so after publishing and syncing each side's investigator has a
cross-node hit; the NL investigator asks for the GB case's details, and the request waits for
the GB investigator's decision.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from taskforce.agencies import service as agency_service
from taskforce.agencies.schemas import AgencyCreate, AgencyKind
from taskforce.cases import additions as case_additions
from taskforce.cases import service as case_service
from taskforce.cases.schemas import CaseCreate, SelectorCreate
from taskforce.cases.selectors import SelectorKind
from taskforce.core.auth import service as auth_service
from taskforce.core.caller import Caller, Role, system_caller
from taskforce.core.db import make_engine, make_sessionmaker, unit_of_work
from taskforce.core.errors import TaskforceError
from taskforce.core.settings import Settings
from taskforce.core.sharing import SharingLevel
from taskforce.demo_scenario import DEMO_PASSWORD, Login
from taskforce.federation import (
    blinding,
    directory,
    identity,
    peering,
    profiles,
    publish,
    release,
    sync,
)
from taskforce.federation import service as federation_service
from taskforce.federation.models import Peer, ReleaseRequest, RemoteHit

# The value both national nodes hold on a RED case: fictional (RFC 2606 domain; Ofcom's drama
# range for Manchester, 0161 496 0xxx), and of a shape the demo's random values never take.
SHARED_EMAIL = "lantern-harbour@example.com"
SHARED_PHONE = "+44 161 496 0457"
# The profile each national node gives the other: RED and AMBER as tokens of every exact-match
# type, GREEN as plaintext, a hit's details only after the owner's release.
EXACT = sorted(kind.value for kind in blinding.EXACT_KINDS)
LEVELS = [SharingLevel.RED.value, SharingLevel.AMBER.value, SharingLevel.GREEN.value]


@dataclass(frozen=True)
class NodeSpec:
    key: str  # its folder under the demo folder ("" for the demo node: the demo folder itself)
    name: str
    country: str
    offset: int  # its port: the demo's port plus this
    role: str
    key_holder: bool = False

    @property
    def code(self) -> str:
        return self.key or self.country.lower()


# Named as a hit names the other side: "an agency on node United Kingdom holds a matching …"
NL = NodeSpec("", "Netherlands", "NL", 0, "the NL national node")
GB = NodeSpec("gb", "United Kingdom", "GB", 1, "the GB national node")
COORDINATOR = NodeSpec(
    "coordinator", "Network coordinator", "FR", 2, "the coordinator's node", key_holder=True
)
NODES = (NL, GB, COORDINATOR)


def ports(port: int) -> list[int]:
    """The ports of the three nodes when the demo node listens on `port`."""
    return [port + spec.offset for spec in NODES]


@dataclass
class DemoNode:
    spec: NodeSpec
    folder: Path
    settings: Settings
    engine: Engine
    logins: list[Login] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None
    callers: dict[str, Caller] = field(default_factory=dict)  # by e-mail

    @property
    def url(self) -> str:
        return self.settings.public_url.rstrip("/")

    @property
    def factory(self) -> sessionmaker[Session]:
        return make_sessionmaker(self.engine)

    @contextlib.contextmanager
    def unit(self) -> Iterator[Session]:
        with unit_of_work(self.factory) as session:
            yield session

    @property
    def log(self) -> Path:
        return self.folder / "serve.log"


@dataclass
class Outcome:
    """What the network shows once connected (printed, and checked by the tests)."""

    hits: dict[str, int] = field(default_factory=dict)  # node code -> cross-node hits
    release_pending: int = 0


def node_settings(base: Settings, spec: NodeSpec, folder: Path, host: str, port: int) -> Settings:
    """A demo node's settings: its folder, its SQLite file, plain http on loopback."""
    return base.model_copy(
        update={
            "data_dir": folder,
            "database_url": f"sqlite:///{folder / 'taskforce.db'}",
            "allow_insecure_defaults": True,
            "secure_cookies": False,
            "public_url": f"http://{host}:{port + spec.offset}",
            "federation_key_holder": spec.key_holder,
            # the demo's NL node holds dozens of PDQ hashes, 16 chunks each, all tokenised at
            # once: more than an hour's default budget of a peer
            "federation_pdq_chunk_values_per_hour": 20_000,
            "node_signing_key": None,  # each node's own key, in its own folder
        }
    )


def fresh_folder(folder: Path) -> Path:
    """A node's folder, emptied (a demo starts from nothing)."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def open_node(spec: NodeSpec, settings: Settings) -> DemoNode:
    from taskforce import migrate

    engine = make_engine(settings)
    migrate.upgrade(settings, engine)
    return DemoNode(spec, settings.data_dir, settings, engine)


# --- building ---------------------------------------------------------------------------------


def _user(
    node: DemoNode, session: Session, actor: Caller, email: str, agency: str, role: Role
) -> Caller:
    user = auth_service.create_user(
        session,
        actor,
        email=email,
        agency_code=agency,
        role=role,
        password=DEMO_PASSWORD,
        display_name=f"Demo {role.value.replace('_', ' ')} ({agency})",
    )
    caller = auth_service.caller_for(session, user, channel="cli")
    node.callers[email] = caller
    node.logins.append(Login(email, DEMO_PASSWORD, agency, role.value))
    return caller


@dataclass(frozen=True)
class DemoAgency:
    code: str
    name: str
    country: str
    timezone: str
    kind: str
    phone: str  # Ofcom's drama ranges (0113/0131/0161 496 0xxx), Paris 01 99 00 xx xx
    email: str


GB_AGENCIES = (
    DemoAgency("GB-CEOP", "Demo Online Child Protection Command (fictional)", "GB",
               "Europe/London", "law_enforcement", "+441614960100", "desk@ceop.example.com"),
    DemoAgency("GB-SCO", "Demo Scottish Police Cyber Unit (fictional)", "GB", "Europe/London",
               "law_enforcement", "+441314960200", "desk@scotland-police.example.com"),
    DemoAgency("GB-HOT", "Demo UK Hotline (fictional)", "GB", "Europe/London", "hotline",
               "+441134960300", "desk@uk-hotline.example.org"),
)  # fmt: skip
COORDINATOR_AGENCY = DemoAgency(
    "INT-COORD", "Demo Network Coordinator (fictional)", "FR", "Europe/Paris", "coordinator",
    "+33199001235", "desk@coordinator.example.org",
)  # fmt: skip


def _agency(session: Session, actor: Caller, spec: DemoAgency) -> None:
    agency_service.register_agency(
        session,
        actor,
        AgencyCreate(
            code=spec.code,
            name=spec.name,
            country=spec.country,
            timezone=spec.timezone,
            kind=AgencyKind(spec.kind),
            contact_desk=f"{spec.name.removesuffix(' (fictional)')} 24/7 desk",
            contact_phone=spec.phone,
            contact_email=spec.email,
        ),
    )


GB_INVESTIGATOR = "investigator@ceop.example.com"
GB_ADMIN = "admin@gb-node.example.com"
COORDINATOR_ADMIN = "admin@coordinator.example.org"


def build_gb(node: DemoNode) -> None:
    """The GB node's agencies and people, and a few cases of their own."""
    bootstrap = system_caller()
    with node.unit() as session:
        for spec in GB_AGENCIES:
            _agency(session, bootstrap, spec)
        agency_service.add_partnership(session, bootstrap, code="GB-CEOP", partner_code="GB-SCO")
        admin = _user(node, session, bootstrap, GB_ADMIN, "GB-CEOP", Role.NETWORK_ADMIN)
        _user(node, session, admin, GB_INVESTIGATOR, "GB-CEOP", Role.INVESTIGATOR)
        _user(node, session, admin, "analyst@ceop.example.com", "GB-CEOP", Role.ANALYST)
        _user(node, session, admin, "investigator@scotland-police.example.com", "GB-SCO",
              Role.INVESTIGATOR)  # fmt: skip
        _user(node, session, admin, "analyst@uk-hotline.example.org", "GB-HOT", Role.ANALYST)
        scot = node.callers["investigator@scotland-police.example.com"]
        _case(
            session, node.settings, scot, "Operation Heather — livestream payments",
            SharingLevel.AMBER, [(SelectorKind.PAYMENT_ACCOUNT, "merchant:DEMO-GB0001")],
            partners=["GB-CEOP"],
        )  # fmt: skip
        _case(
            session, node.settings, node.callers[GB_INVESTIGATOR],
            "Operation Thistle — forum moderator", SharingLevel.GREEN,
            [(SelectorKind.DOMAIN, "thistle-board.example.net")],
        )  # fmt: skip


def build_coordinator(node: DemoNode) -> None:
    """The coordinator's node: one agency, its admin, and the network's first OPRF key."""
    bootstrap = system_caller()
    with node.unit() as session:
        _agency(session, bootstrap, COORDINATOR_AGENCY)
        _user(node, session, bootstrap, COORDINATOR_ADMIN, "INT-COORD", Role.NETWORK_ADMIN)
        federation_service.init_key(session, bootstrap, node.settings)


def _case(
    session: Session,
    settings: Settings,
    caller: Caller,
    title: str,
    level: SharingLevel,
    selectors: list[tuple[SelectorKind, str]],
    partners: list[str] | None = None,
) -> None:
    case = case_service.open_case(
        session,
        caller,
        CaseCreate(
            title=title,
            summary="Fictional demo case of the federation demo.",
            offence_types=["grooming"],
            sharing=level,
            partners=partners or [],
        ),
    )
    for kind, value in selectors:
        case_additions.add_selector(
            session,
            caller,
            settings,
            case_id=case.id,
            data=SelectorCreate(type=kind.value, value=value, note="federation demo"),
        )


def red_case(node: DemoNode, investigator: str, title: str) -> None:
    """A RED case holding the e-mail address and phone number both national nodes hold."""
    shared = [(SelectorKind.EMAIL, SHARED_EMAIL), (SelectorKind.PHONE, SHARED_PHONE)]
    with node.unit() as session:
        user = auth_service.find_user(session, investigator)
        assert user is not None, investigator
        caller = auth_service.caller_for(session, user, channel="cli")
        _case(session, node.settings, caller, title, SharingLevel.RED, shared)


# --- peering ----------------------------------------------------------------------------------


def identify(node: DemoNode) -> dict[str, object]:
    """Name the node (its key is made in its folder) and hand back its peering document."""
    with node.unit() as session:
        peering.init_node(
            session, node.settings, system_caller(),
            name=node.spec.name, country=node.spec.country, url=node.url,
        )  # fmt: skip
        return peering.peering_document(session, node.settings)


def peer_all(nodes: list[DemoNode]) -> None:
    """Every pair peered both ways; each national node names the coordinator its key holder
    and gives the other national node its profile."""
    documents = {node.spec.key: identify(node) for node in nodes}
    admin = system_caller()
    for node in nodes:
        with node.unit() as session:
            for other in nodes:
                if other is node:
                    continue
                peer = peering.add_peer(
                    session, admin, identity.read_document(documents[other.spec.key])
                )
                if other.spec.key_holder:
                    peering.set_key_holder(session, admin, peer, True)
                elif not node.spec.key_holder:
                    profiles.set_profile(
                        session, admin, peer,
                        kinds=EXACT, levels=LEVELS, green_plaintext=True, release_required=True,
                    )  # fmt: skip


# --- connecting -------------------------------------------------------------------------------


def exchange_directories(nodes: list[DemoNode]) -> None:
    """Each node keeps every peer's agency directory (so a hit can name the other agency's
    24/7 desk), over signed requests, as `taskforce peer sync-directory` does."""
    admin = system_caller()
    for node in nodes:
        for other in nodes:
            if other is node:
                continue
            with node.unit() as session:
                target = peering.target(session, admin, other.spec.name)
            received = directory.fetch_directory(node.settings, target)
            with node.unit() as session:
                peer = session.get(Peer, target.peer_id)
                assert peer is not None
                peering.store_directory(session, admin, peer, received)


def connect(nodes: list[DemoNode]) -> Outcome:
    """Once every node answers: directories exchanged; each national node publishes (its
    selectors tokenised through the coordinator) and pulls the other's feed, as its worker
    would on its schedule; the NL investigator asks for the GB case's details. Returns what
    each node shows."""
    exchange_directories(nodes)
    national = [node for node in nodes if not node.spec.key_holder]
    for node in national:
        report = publish.publish(node.factory, node.settings, nudge=False)
        if report.token_error:
            raise NetworkFailed(f"{node.spec.name} could not tokenise: {report.token_error}")
    for node in national:
        for other in national:
            if other is node:
                continue
            with node.unit() as session:
                peer_id = peering.peer_by_name(session, other.spec.name).id
            synced = sync.sync_peer(node.factory, node.settings, peer_id)
            if synced.error:
                raise NetworkFailed(f"{node.spec.name} could not sync: {synced.error}")
    nl, gb = national
    ask_release(nl)
    release.deliver_due(nl.factory, nl.settings)
    outcome = Outcome()
    for node in national:
        with node.unit() as session:
            outcome.hits[node.spec.code] = _count(session, RemoteHit)
    with gb.unit() as session:
        outcome.release_pending = (
            session.scalar(
                select(func.count())
                .select_from(ReleaseRequest)
                .where(ReleaseRequest.direction == "incoming", ReleaseRequest.state == "pending")
            )
            or 0
        )
    return outcome


RELEASE_REASON = (
    "Our suspect in Operation Lantern used this address to extort a child in Rotterdam; we need "
    "to know whether your case is the same person before we act (fictional demo request)."
)


def ask_release(nl: DemoNode) -> None:
    """The NL investigator asks for the details behind the e-mail hit (GB decides)."""
    with nl.unit() as session:
        user = auth_service.find_user(session, NL_INVESTIGATOR)
        assert user is not None
        caller = auth_service.caller_for(session, user, channel="cli")
        hit = session.scalars(
            select(RemoteHit).where(RemoteHit.kind == SelectorKind.EMAIL.value)
        ).first()
        if hit is None:
            raise NetworkFailed("the NL node has no cross-node hit on the shared e-mail address")
        release.request_release(session, caller, hit.id, reason=RELEASE_REASON)


def _count(session: Session, model: type[Any]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


# --- the whole network ------------------------------------------------------------------------


NL_INVESTIGATOR = "investigator@np.example.net"  # the demo scenario's NL-NP investigator
NL_ADMIN = "admin@hub.example.org"  # the demo scenario's network admin


@dataclass
class Network:
    nodes: list[DemoNode]
    host: str

    @property
    def children(self) -> list[DemoNode]:
        return [node for node in self.nodes if node.spec is not NL]

    def node(self, spec: NodeSpec) -> DemoNode:
        return next(node for node in self.nodes if node.spec is spec)


def forget_federation(folder: Path) -> None:
    """What a node keeps of an earlier demo's network in its folder: its key, the key
    holder's pinned keys (a new coordinator's key would be refused as swapped)."""
    (folder / identity.KEY_FILE).unlink(missing_ok=True)
    shutil.rmtree(folder / "federation", ignore_errors=True)


def prepare(
    base: Settings, nl_settings: Settings, nl_engine: Engine, host: str, port: int
) -> Network:
    """The GB and coordinator nodes built beside the NL node (whose database is migrated but
    whose scenario is not built yet: the two can start while it is), all three peered, the
    profiles set, GB's RED case opened."""
    demo_folder = nl_settings.data_dir
    nl = DemoNode(NL, demo_folder, nl_settings, nl_engine)
    nodes = [nl]
    for spec in (GB, COORDINATOR):
        folder = fresh_folder(demo_folder / spec.key)
        nodes.append(open_node(spec, node_settings(base, spec, folder, host, port)))
    network = Network(nodes, host)
    build_gb(network.node(GB))
    build_coordinator(network.node(COORDINATOR))
    peer_all(nodes)
    red_case(network.node(GB), GB_INVESTIGATOR, "Operation Harbour — sextortion of teenagers")
    return network


def finish(network: Network) -> None:
    """Once the NL scenario is built: the NL investigator's RED case with the shared values."""
    red_case(network.node(NL), NL_INVESTIGATOR, "Operation Lantern — sextortion ring")


class NetworkFailed(TaskforceError):
    """A demo node did not start or the nodes could not be connected: said, never a traceback."""

    exit_code = 75
