"""The hosting service: registry country, longest-prefix lookup, the country rule, the provider
directory and its permissions, the network-table import."""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any

import pytest
from builders import Network
from sqlalchemy import text
from sqlalchemy.orm import Session

from taskforce.core.audit import service as audit_service
from taskforce.core.caller import Caller, Role, system_caller
from taskforce.core.errors import Conflict, Forbidden, Invalid, NotFound
from taskforce.hosting import addresses, networks, service
from taskforce.hosting.models import HostingNetwork, HostingProvider
from taskforce.hosting.schemas import ProviderCreate, ProviderUpdate

MakeProvider = Callable[..., HostingProvider]
ADMIN = system_caller()
PROVIDER_ROLE = Caller(role=Role.PROVIDER, channel="api")

# --- the registry ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ip", "country"),
    [
        ("193.0.6.139", "NL"),  # RIPE NCC
        ("8.8.8.8", "US"),
        ("2001:67c:2e8:22::c100:68b", "NL"),  # RIPE NCC over IPv6
        ("::ffff:8.8.8.8", "US"),  # IPv4-mapped: iptocc alone says None
        (" 8.8.8.8 ", "US"),  # iptocc alone says None for a trailing space
        ("203.0.113.10", None),  # documentation
        ("198.51.100.7", None),
        ("2001:db8::1", None),
        ("10.1.2.3", None),  # private
    ],
)
def test_registry_country_of_well_known_addresses(ip: str, country: str | None) -> None:
    assert addresses.registry_country(ip) == country


@pytest.mark.parametrize("ip", ["not-an-ip", "", "8.8.8", "1.2.3.4/24", "01.2.3.4", "x" * 500])
def test_malformed_address_names_the_field(ip: str) -> None:
    with pytest.raises(Invalid) as caught:
        addresses.registry_country(ip)
    assert (caught.value.field, caught.value.rule) == ("ip", "must be an IPv4 or IPv6 address")


def test_data_source_names_version_and_data_date() -> None:
    assert re.fullmatch(
        r"RIR delegated statistics via iptocc \d+\.\d+\.\d+ \(data of \d{4}-\d{2}-\d{2}\)",
        addresses.DATA_SOURCE,
    ), addresses.DATA_SOURCE

    class NoSbom:
        version = "9.9.9"
        files = (PurePosixPath("iptocc/__init__.py"),)

    assert addresses.describe_data_source(NoSbom()) == (  # type: ignore[arg-type]
        "RIR delegated statistics via iptocc 9.9.9 (data date unknown)"
    )
    assert "version unknown" in addresses.describe_data_source(None)


# --- longest prefix ----------------------------------------------------------------------------


def test_longest_prefix_over_nested_ipv4_and_ipv6_blocks(
    session: Session, make_provider: MakeProvider
) -> None:
    wide = make_provider("Wide Transit", asn=64501, networks=("203.0.113.0/24", "2001:db8::/32"))
    mid = make_provider("Mid Hosting", asn=64502, networks=("203.0.113.0/26", "2001:db8:1::/48"))
    narrow = make_provider(
        "Narrow Reseller",
        asn=64503,
        networks=("203.0.113.32/27", "2001:db8:1:2::/64", "192.0.2.7/32", "2001:db8:9::1/128"),
    )
    expected = {
        "203.0.113.40": ("203.0.113.32/27", narrow),
        "::ffff:203.0.113.40": ("203.0.113.32/27", narrow),
        "203.0.113.32": ("203.0.113.32/27", narrow),  # first of the /27
        "203.0.113.63": ("203.0.113.32/27", narrow),  # last of the /27 and the /26
        "203.0.113.10": ("203.0.113.0/26", mid),  # same first address as the /24
        "203.0.113.0": ("203.0.113.0/26", mid),
        "203.0.113.64": ("203.0.113.0/24", wide),
        "203.0.113.255": ("203.0.113.0/24", wide),
        "192.0.2.7": ("192.0.2.7/32", narrow),
        "2001:db8:1:2::5": ("2001:db8:1:2::/64", narrow),
        "2001:db8:1:3::1": ("2001:db8:1::/48", mid),
        "2001:db8:ffff::1": ("2001:db8::/32", wide),
        "2001:db8:9::1": ("2001:db8:9::1/128", narrow),
        "2001:db8:9::2": ("2001:db8::/32", wide),
    }
    for ip, (cidr, provider) in expected.items():
        found = addresses.find_network(session, ip)
        assert found is not None, ip
        assert (found.cidr, found.provider_id) == (cidr, provider.id), ip
    for ip in ("203.0.112.255", "192.0.2.6", "192.0.2.8", "198.51.100.1", "2001:db9::1", "::1"):
        assert addresses.find_network(session, ip) is None, ip


def test_lookup_can_use_the_index_on_first(session: Session) -> None:
    x = addresses._key(addresses.parse_address("203.0.113.10"))
    starts, bound = addresses._starts(x), addresses._hex(x)
    if session.get_bind().dialect.name == "sqlite":
        marks = ", ".join("?" * len(starts))
        plan = (
            session.connection()
            .exec_driver_sql(
                f"EXPLAIN QUERY PLAN SELECT id FROM hosting_network WHERE first IN ({marks}) "  # noqa: S608
                "AND last >= ? ORDER BY prefix_length DESC LIMIT 1",
                (*starts, bound),
            )
            .all()
        )
    else:  # a table this small is read whole unless the planner is told not to
        session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = session.execute(
            text(
                "EXPLAIN SELECT id FROM hosting_network WHERE first = ANY(:starts) "
                "AND last >= :x ORDER BY prefix_length DESC LIMIT 1"
            ),
            {"starts": starts, "x": bound},
        ).all()
    assert any("ix_hosting_network_first" in str(row) for row in plan), plan


# --- the country rule --------------------------------------------------------------------------


def test_registry_country_wins_over_network_and_provider(
    session: Session,
    make_provider: MakeProvider,
    fake_registry: Callable[[dict[str, str]], None],
) -> None:
    provider = make_provider(country="GB")
    service.add_network(session, ADMIN, provider.id, cidr="203.0.113.0/26", country="DE")
    fake_registry({"203.0.113.10": "NL"})
    where = addresses.locate(session, "203.0.113.10")
    assert (where.country, where.country_source) == ("NL", "registry")
    assert (where.registry_country, where.network_country) == ("NL", "DE")
    assert where.steps[-1] == "the network table says DE; the registry country is used"


def test_network_country_then_provider_country(
    session: Session, make_provider: MakeProvider
) -> None:
    provider = make_provider(country="GB", networks=("203.0.113.64/26",))
    service.add_network(session, ADMIN, provider.id, cidr="203.0.113.0/26", country="DE")
    used_in_de = addresses.locate(session, "203.0.113.10")
    assert (used_in_de.country, used_in_de.country_source) == ("DE", "network table")
    assert used_in_de.registry_country is None
    by_provider = addresses.locate(session, "203.0.113.70")
    assert (by_provider.country, by_provider.country_source) == ("GB", "provider")
    assert by_provider.network_country is None
    assert by_provider.steps[-1] == "hosting country GB, where Fictional Hosting B.V. is registered"
    nowhere = make_provider("Stateless Hosting", asn=None, country=None, networks=("192.0.2.0/27",))
    unknown = addresses.locate(session, "192.0.2.1")
    assert unknown.provider_id == nowhere.id
    assert (unknown.country, unknown.country_source) == (None, None)
    nothing = addresses.locate(session, "198.51.100.1")
    assert (nothing.country, nothing.provider_id, nothing.network) == (None, None, None)


def test_location_steps_in_plain_words(session: Session, make_provider: MakeProvider) -> None:
    make_provider(networks=("203.0.113.0/26",))
    where = addresses.locate(session, "203.0.113.10")
    assert where == addresses.Location(
        ip="203.0.113.10",
        registry_country=None,
        network="203.0.113.0/26",
        network_country=None,
        provider_id=where.provider_id,
        provider_name="Fictional Hosting B.V.",
        asn=64500,
        abuse_email="abuse@hosting.example.net",
        country="NL",
        country_source="provider",
        steps=(
            "203.0.113.10: no registry country (address reserved for documentation)",
            "network table: 203.0.113.0/26 belongs to Fictional Hosting B.V. (AS64500), "
            "abuse contact abuse@hosting.example.net",
            "hosting country NL, where Fictional Hosting B.V. is registered",
        ),
    )
    ripe = addresses.locate(session, "::ffff:193.0.6.139")
    assert ripe.ip == "193.0.6.139"
    assert ripe.steps[0] == f"{addresses.DATA_SOURCE}: 193.0.6.139 is registered in NL"
    assert ripe.steps[1] == (
        "network table: no block holds 193.0.6.139; the hosting provider is not known"
    )
    assert (ripe.country, ripe.country_source) == ("NL", "registry")
    assert addresses.locate(session, "10.1.2.3").steps[0] == (
        "10.1.2.3: no registry country (private network address)"
    )


def test_provider_without_abuse_contact_is_said_so(
    session: Session, make_provider: MakeProvider
) -> None:
    make_provider("Quiet Harbour VPS", abuse_email=None, networks=("192.0.2.0/27",))
    where = addresses.locate(session, "192.0.2.5")
    assert where.abuse_email is None
    assert "no abuse contact on record, so no takedown notice can be sent to it" in where.steps[1]


def test_locate_needs_read_and_a_well_formed_address(session: Session, network: Network) -> None:
    assert addresses.locate_address(session, network.gb_reader.caller, "8.8.8.8").country == "US"
    with pytest.raises(Forbidden):
        addresses.locate_address(session, PROVIDER_ROLE, "8.8.8.8")
    with pytest.raises(Invalid):
        addresses.locate(session, "8.8.8.8.8")


# --- providers and networks --------------------------------------------------------------------


def test_provider_fields_are_normalised_and_checked(session: Session) -> None:
    provider = service.create_provider(
        session,
        ADMIN,
        ProviderCreate(
            name="  Fictional   Hosting B.V. ",
            asn=4_294_967_294,
            country="nl",
            abuse_email="Abuse@Hosting.Example.NET",
        ),
    )
    session.expire_all()
    stored = session.get(HostingProvider, provider.id)
    assert stored is not None
    assert (stored.name, stored.asn, stored.country, stored.abuse_email) == (
        "Fictional Hosting B.V.",
        4_294_967_294,  # a 32-bit AS number: beyond PostgreSQL's INTEGER
        "NL",
        "abuse@hosting.example.net",
    )
    with pytest.raises(Conflict, match="already exists"):
        service.create_provider(session, ADMIN, ProviderCreate(name="Fictional Hosting B.V."))
    bad: list[tuple[dict[str, Any], str]] = [
        ({"country": "XX"}, "country"),
        ({"abuse_email": "not an address"}, "abuse_email"),
        ({"name": " x "}, "name"),
    ]
    for fields, field_name in bad:
        data = ProviderCreate.model_validate({"name": "Other Hosting", **fields})
        with pytest.raises(Invalid) as caught:
            service.create_provider(session, ADMIN, data)
        assert caught.value.field == field_name
    for raw in ("AS0", "0", "4294967296", "ASX", "-1"):
        with pytest.raises(Invalid) as caught:
            service.normalise_asn(raw)
        assert caught.value.field == "asn"
    assert service.normalise_asn("as64500") == service.normalise_asn(" 64500 ") == 64500


def test_update_changes_only_what_is_sent_and_clears_with_none(
    session: Session, make_provider: MakeProvider, audit_actions: Callable[[], list[str]]
) -> None:
    provider = make_provider()
    make_provider("Other Hosting", asn=64501)
    service.update_provider(session, ADMIN, provider.id, ProviderUpdate(notes="Answers fast."))
    assert provider.abuse_email == "abuse@hosting.example.net"
    assert provider.notes == "Answers fast."
    service.update_provider(session, ADMIN, provider.id, ProviderUpdate(abuse_email=None))
    provider = session.get_one(HostingProvider, provider.id)  # not narrowed by the assert above
    assert provider.abuse_email is None
    assert provider.asn == 64500
    service.update_provider(
        session, ADMIN, provider.id, ProviderUpdate(abuse_email="noc@hosting.example.net")
    )
    provider = session.get_one(HostingProvider, provider.id)
    assert provider.abuse_email == "noc@hosting.example.net"
    with pytest.raises(Conflict):
        service.update_provider(session, ADMIN, provider.id, ProviderUpdate(name="Other Hosting"))
    with pytest.raises(NotFound):
        service.update_provider(session, ADMIN, uuid.uuid4(), ProviderUpdate())
    entries = audit_service.list_entries(session, ADMIN, action="hosting.provider.update")
    assert [e.detail["changes"] for e in reversed(entries)] == [
        ["notes"],
        ["abuse_email"],
        ["abuse_email"],
    ]
    assert audit_actions().count("hosting.provider.create") == 2


def test_networks_strict_cidr_overlap_allowed_same_block_conflicts(
    session: Session, make_provider: MakeProvider, audit_actions: Callable[[], list[str]]
) -> None:
    a = make_provider("Alpha Hosting", asn=64510)
    b = make_provider("Beta Hosting", asn=64511)
    row = service.add_network(session, ADMIN, a.id, cidr=" 203.0.113.0/24 ", country="nl")
    assert isinstance(row, HostingNetwork)  # an admin's change applies at once
    assert (row.cidr, row.prefix_length, row.country) == ("203.0.113.0/24", 120, "NL")
    assert (row.first, row.last) == (
        "00000000000000000000ffffcb007100",
        "00000000000000000000ffffcb0071ff",
    )
    inner = service.add_network(session, ADMIN, b.id, cidr="203.0.113.64/26")  # overlap: fine
    v6 = service.add_network(session, ADMIN, b.id, cidr="2001:DB8:0::/32")
    assert isinstance(v6, HostingNetwork)
    assert (v6.cidr, v6.prefix_length) == ("2001:db8::/32", 32)
    mapped = service.add_network(session, ADMIN, b.id, cidr="::ffff:198.51.100.0/120")
    assert isinstance(mapped, HostingNetwork)
    assert mapped.cidr == "198.51.100.0/24"
    with pytest.raises(Conflict, match=r"203\.0\.113\.0/24 is already recorded, for Alpha"):
        service.add_network(session, ADMIN, b.id, cidr="203.0.113.0/24")
    with pytest.raises(Conflict, match="for Beta Hosting"):
        service.add_network(session, ADMIN, a.id, cidr="::ffff:203.0.113.64/122")
    for cidr, rule in [
        ("203.0.113.5/24", "has host bits set: the block is 203.0.113.0/24"),
        ("2001:db8::1/32", "has host bits set: the block is 2001:db8::/32"),
        ("203.0.113.0", "must give a prefix length, like 203.0.113.0/24"),
        ("203.0.113.0/33", addresses._NETWORK_RULE),
        ("example.net/24", addresses._NETWORK_RULE),
    ]:
        with pytest.raises(Invalid) as caught:
            service.add_network(session, ADMIN, a.id, cidr=cidr)
        assert (caught.value.field, caught.value.rule) == ("network", rule), cidr
    with pytest.raises(Invalid) as country:
        service.add_network(session, ADMIN, a.id, cidr="192.0.2.0/24", country="QQ")
    assert country.value.field == "country"
    with pytest.raises(NotFound):
        service.add_network(session, ADMIN, inner.id, cidr="192.0.2.0/24")  # not a provider id
    service.remove_network(session, ADMIN, inner.id)
    assert addresses.find_network(session, "203.0.113.70") == row
    with pytest.raises(NotFound):
        service.remove_network(session, ADMIN, inner.id)
    assert audit_actions() == [
        "hosting.provider.create",
        "hosting.provider.create",
        *["hosting.network.add"] * 4,
        "hosting.network.remove",
    ]


def test_directory_search_and_pages(session: Session, make_provider: MakeProvider) -> None:
    make_provider("Polder Hosting B.V.", asn=64512, networks=("203.0.113.0/26",))
    make_provider("Rheinwerk GmbH", asn=64520, country="DE", abuse_email="abuse@rw.example.net")
    make_provider("Quiet Harbour VPS", asn=64570, country="US", abuse_email=None)
    make_provider("100%_Uptime Ltd", asn=64530, country="GB")

    def names(**kw: Any) -> list[str]:
        return [p.name for p in service.list_providers(session, ADMIN, **kw).items]

    everyone = ["100%_Uptime Ltd", "Polder Hosting B.V.", "Quiet Harbour VPS", "Rheinwerk GmbH"]
    assert names() == everyone
    assert names(query="polder") == ["Polder Hosting B.V."]
    assert names(query="AS64520") == names(query="64520") == ["Rheinwerk GmbH"]
    assert names(query="gb") == ["100%_Uptime Ltd"]  # the country code
    assert names(query="rw.example") == ["Rheinwerk GmbH"]
    assert names(query="203.0.113.10") == ["Polder Hosting B.V."]  # who holds the address
    assert names(query="203.0.113.0/26") == ["Polder Hosting B.V."]
    assert names(query="%") == ["100%_Uptime Ltd"]  # wildcards are literal
    assert names(query="_") == ["100%_Uptime Ltd"]
    assert names(without_contact=True) == ["Quiet Harbour VPS"]
    page = service.list_providers(session, ADMIN, limit=2, offset=2)
    assert (page.total, page.limit, page.offset, len(page.items)) == (4, 2, 2, 2)
    polder = service.list_providers(session, ADMIN, query="polder").items[0]
    assert polder.network_count == 1
    detail = service.get_provider(session, ADMIN, polder.id)
    assert [n.cidr for n in detail.networks] == ["203.0.113.0/26"]
    assert service.find_provider(session, ADMIN, "polder hosting b.v.").id == polder.id
    assert service.find_provider(session, ADMIN, str(polder.id)).id == polder.id
    with pytest.raises(NotFound):
        service.find_provider(session, ADMIN, "nobody")


def test_permissions(session: Session, network: Network, make_provider: MakeProvider) -> None:
    provider = make_provider(networks=("203.0.113.0/26",))
    reader = network.gb_reader.caller
    assert service.list_providers(session, reader).total == 1
    assert service.get_provider(session, reader, provider.id).name == provider.name
    changes: list[Callable[[Caller], object]] = [
        lambda c: service.create_provider(session, c, ProviderCreate(name="Probe Hosting")),
        lambda c: service.update_provider(session, c, provider.id, ProviderUpdate(notes="x")),
        lambda c: service.add_network(session, c, provider.id, cidr="192.0.2.0/24"),
        lambda c: service.remove_network(session, c, provider.id),
        lambda c: networks.import_networks(session, c, ["network,provider\n"], source="x"),
    ]
    for change in changes:
        with pytest.raises(Forbidden):
            change(reader)
        with pytest.raises(Forbidden):
            change(PROVIDER_ROLE)
    with pytest.raises(Forbidden):
        service.list_providers(session, PROVIDER_ROLE)
    for person in (network.gb, network.gb_analyst, network.gb_admin):
        service.update_provider(session, person.caller, provider.id, ProviderUpdate(notes="ok"))


@pytest.mark.usefixtures("audit_actions")
def test_reads_are_not_audited(session: Session, make_provider: MakeProvider) -> None:
    provider = make_provider(networks=("203.0.113.0/26",))
    before = audit_service.count(session)
    service.list_providers(session, ADMIN, query="fictional")
    service.get_provider(session, ADMIN, provider.id)
    addresses.locate(session, "203.0.113.1")
    assert audit_service.count(session) == before


# --- import ------------------------------------------------------------------------------------

GOOD_AND_BAD = """\ufeffNetwork,PROVIDER,Asn,Country,Abuse_Email,Comment
203.0.113.0/26,Polder Hosting B.V.,AS64512,nl,Abuse@PolderHosting.example.net,first
203.0.113.64/26,Polder Hosting B.V.,,,,
2001:db8:10::/48,Polder Hosting B.V.,64512,NL,abuse@polderhosting.example.net,
not-a-network,Polder Hosting B.V.,,,,
203.0.113.130/26,Rheinwerk GmbH,,,,
198.51.100.0/26,Rheinwerk GmbH,AS99999999999,,,
198.51.100.64/26,Rheinwerk GmbH,,XX,,

198.51.100.128/26,Rheinwerk GmbH,,,not-an-email,
198.51.100.192/26,,,,,
,Rheinwerk GmbH,,,,
203.0.113.0/26,Other Hosting,,,,
192.0.2.0/27,Polder Hosting B.V.,AS64513,,,
192.0.2.32/27,Quiet Harbour VPS,64570,US,,
# a comment line
192.0.2.64/26,Rheinwerk GmbH,AS64520,DE,abuse@rheinwerk.example.net,
"""


def test_import_keeps_good_lines_and_reports_bad_ones(
    session: Session, audit_actions: Callable[[], list[str]]
) -> None:
    report = networks.import_networks(session, ADMIN, io.StringIO(GOOD_AND_BAD), source="table.csv")
    bad = [(b.line, b.field, b.rule) for b in report.bad_lines]
    assert bad == [
        (5, "network", addresses._NETWORK_RULE),
        (6, "network", "has host bits set: the block is 203.0.113.128/26"),
        (7, "asn", service._ASN_RULE),
        (8, "country", service._COUNTRY_RULE),
        (10, "abuse_email", "must be an e-mail address like desk@example.com"),
        (11, "provider", "is required"),
        (12, "network", "is required"),
        (13, "network", "is listed earlier in this file"),
        (14, "asn", "differs from line 2 for the same provider (one AS number each)"),
    ]
    assert report.bad_lines[0].value == "not-a-network"
    assert (report.lines_read, report.rejected) == (14, 9)
    assert (report.added, report.updated, report.unchanged) == (5, 0, 0)
    assert (report.providers_created, report.providers_updated) == (3, 0)
    polder = service.find_provider(session, ADMIN, "Polder Hosting B.V.")
    assert (polder.asn, polder.country, polder.abuse_email) == (
        64512,
        "NL",
        "abuse@polderhosting.example.net",
    )
    quiet = service.find_provider(session, ADMIN, "Quiet Harbour VPS")
    assert quiet.abuse_email is None
    where = addresses.locate(session, "192.0.2.70")
    assert (where.provider_name, where.abuse_email) == (
        "Rheinwerk GmbH",
        "abuse@rheinwerk.example.net",
    )
    assert audit_actions() == ["hosting.import"]


def test_reimport_changes_nothing_and_changes_are_counted(session: Session) -> None:
    first = networks.import_networks(session, ADMIN, GOOD_AND_BAD.splitlines(True), source="a")
    again = networks.import_networks(session, ADMIN, GOOD_AND_BAD.splitlines(True), source="a")
    assert (again.added, again.updated, again.unchanged) == (0, 0, first.added)
    assert (again.providers_created, again.providers_updated) == (0, 0)
    assert again.rejected == first.rejected
    changed = (
        "network,provider,asn,country,abuse_email,network_country\n"
        "203.0.113.0/26,Rheinwerk GmbH,,,,\n"  # moves to another provider
        "203.0.113.64/26,Polder Hosting B.V.,AS64514,,,DE\n"  # provider's ASN; block's country
        "2001:db8:10::/48,Polder Hosting B.V.,,,,\n"  # empty: keeps what is stored
        "198.51.100.0/27,New Hosting Ltd,,GB,abuse@new.example.net,\n"
    )
    report = networks.import_networks(session, ADMIN, changed.splitlines(True), source="b")
    assert (report.added, report.updated, report.unchanged, report.rejected) == (1, 2, 1, 0)
    assert (report.providers_created, report.providers_updated) == (1, 1)
    assert service.find_provider(session, ADMIN, "Polder Hosting B.V.").asn == 64514
    assert service.find_provider(session, ADMIN, "Polder Hosting B.V.").country == "NL"
    moved = addresses.locate(session, "203.0.113.1")
    assert moved.provider_name == "Rheinwerk GmbH"
    used = addresses.locate(session, "203.0.113.65")
    assert (used.network_country, used.country, used.asn) == ("DE", "DE", 64514)
    twice = networks.import_networks(session, ADMIN, changed.splitlines(True), source="b")
    assert (twice.added, twice.updated, twice.unchanged, twice.providers_updated) == (0, 0, 4, 0)


def test_import_streams_in_batches(
    session: Session, monkeypatch: pytest.MonkeyPatch, audit_actions: Callable[[], list[str]]
) -> None:
    monkeypatch.setattr(networks, "BATCH_SIZE", 3)
    consumed: list[int] = []

    def lines() -> Any:
        yield "network,provider\n"
        for i in range(10):
            consumed.append(i)
            yield f"192.0.2.{i * 8}/29,Batch Hosting {i % 2}\n"
        yield "192.0.2.0/29,Batch Hosting 0\n"  # the first block again, batches later

    reports: list[tuple[int, int]] = []

    def after_batch(r: Any) -> None:
        reports.append((r.lines_read, r.added))
        assert len(consumed) <= r.lines_read  # the file was not read ahead

    report = networks.import_networks(
        session, ADMIN, lines(), source="gen", after_batch=after_batch
    )
    assert (report.added, report.rejected) == (10, 1)
    assert report.bad_lines[0].line == 12
    assert reports == [(3, 3), (6, 6), (9, 9), (11, 10)]
    assert audit_actions() == ["hosting.import"] * 4
    entries = audit_service.list_entries(session, ADMIN, action="hosting.import")
    assert [e.detail["lines"] for e in reversed(entries)] == [[2, 4], [5, 7], [8, 10], [11, 12]]


def test_header_and_encoding_problems(session: Session) -> None:
    with pytest.raises(Invalid) as header:
        networks.import_networks(session, ADMIN, ["cidr,name\n", "192.0.2.0/24,X\n"], source="x")
    assert header.value.field == "header"
    assert "network and provider (found: cidr, name)" in header.value.rule
    with pytest.raises(Invalid) as empty:
        networks.import_networks(session, ADMIN, [], source="x")
    assert empty.value.field == "file"
    raw = b"network,provider\n192.0.2.0/24,Caf\xe9 Hosting\n198.51.100.0/24,Good Hosting\n"
    report = networks.import_networks(
        session, ADMIN, networks.read_lines(io.BytesIO(raw)), source="latin-1.csv"
    )
    assert [(b.line, b.field, b.rule) for b in report.bad_lines] == [
        (2, "provider", "is not UTF-8 text")
    ]
    assert report.added == 1
    nothing = networks.import_networks(session, ADMIN, ["network,provider\n"], source="x")
    assert (nothing.lines_read, nothing.added) == (0, 0)


def test_demo_networks_import_cleanly(session: Session) -> None:
    with networks.DEMO_NETWORKS.open("rb") as stream:
        report = networks.import_networks(
            session, ADMIN, networks.read_lines(stream), source="demo"
        )
    assert (report.rejected, report.added, report.providers_created) == (0, 20, 9)
    page = service.list_providers(session, ADMIN, limit=100)
    countries = {p.country for p in page.items}
    assert {"NL", "DE", "GB", "US", "ES", "PH"} <= countries
    assert [p.name for p in page.items if p.abuse_email is None] == ["Quiet Harbour VPS"]
    assert all(64512 <= (p.asn or 0) <= 65534 for p in page.items)
    nested = addresses.locate(session, "203.0.113.40")
    assert nested.provider_name == "Tulip Webspace"


def test_seen_set_holds_what_was_added() -> None:
    seen = networks._Seen()
    blocks = (addresses.parse_network(f"10.{i // 256}.{i % 256}.0/24") for i in range(20_000))
    keys = [networks._Seen.key(addresses.bounds(b)) for b in blocks]
    for start in range(0, len(keys), 1000):
        seen.add(keys[start : start + 1000])
    assert all(k in seen for k in keys)
    other = networks._Seen.key(addresses.bounds(addresses.parse_network("192.0.2.0/24")))
    assert other not in seen
    assert len(seen._runs) <= 6


def test_big_import_refreshes_postgresql_statistics(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite finds the index without statistics")
    monkeypatch.setattr(networks, "ANALYZE_AFTER", 5)
    lines = ["network,provider\n"] + [f"198.51.100.{i * 4}/30,Stats Hosting\n" for i in range(7)]
    networks.import_networks(session, ADMIN, lines, source="x")
    reltuples = session.scalar(
        text("SELECT reltuples FROM pg_class WHERE relname = 'hosting_network'")
    )
    assert reltuples == 7  # ANALYZE counted the rows this transaction wrote
