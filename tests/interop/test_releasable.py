"""The releasability rule: only GREEN, local, exportable, non-noise, non-common material leaves,
paged by (added_at, id) without loss or repetition; who may ask."""

from __future__ import annotations

from datetime import timedelta

import pytest
from builders import Network
from releasable_builders import GREEN_VALUES, T0, build
from sqlalchemy.orm import Session

from taskforce.core.caller import Caller, Role, system_caller
from taskforce.core.errors import Forbidden, Invalid
from taskforce.core.settings import Settings
from taskforce.interop import releasable


def test_only_green_local_exportable_selectors_leave(
    session: Session, settings: Settings, network: Network
) -> None:
    world = build(session, settings, network)
    rows = releasable.selectors(session, network.us.caller, limit=100)
    values = {r.value for r in rows}
    assert set(GREEN_VALUES) | {"nl-shared.example.net"} <= values
    assert not values & set(world.withheld)
    assert {r.case_id for r in rows} == {world.green.id, world.nl_green.id}
    green = next(r for r in rows if r.kind == "username")
    assert (green.platform, green.case_reference, green.agency_code) == (
        "instagram",
        world.green.reference,
        "GB-NCA",
    )
    assert green.offence_types == ("csam-distribution",)
    # the rows carry nothing of the title, summary or notes
    assert not any("Secret" in str(r) for r in rows)


def test_pages_follow_added_at_then_id_without_gaps(
    session: Session, settings: Settings, network: Network
) -> None:
    build(session, settings, network)
    every = releasable.selectors(session, network.gb.caller, limit=1000)
    paged, after = [], None
    while page := releasable.selectors(session, network.gb.caller, after=after, limit=4):
        paged.extend(page)
        after = page[-1].key
    assert [r.selector_id for r in paged] == [r.selector_id for r in every]
    assert [r.key for r in every] == sorted(r.key for r in every)


def test_agency_and_since_filters(session: Session, settings: Settings, network: Network) -> None:
    world = build(session, settings, network)
    nl_only = releasable.selectors(session, network.gb.caller, agency_code="nl-np", limit=100)
    assert {r.case_id for r in nl_only} == {world.nl_green.id}
    recent = releasable.selectors(
        session, network.gb.caller, since=T0 + timedelta(hours=12), limit=100
    )
    assert {r.case_id for r in recent} == {world.nl_green.id}
    one_case = releasable.selectors(
        session, network.gb.caller, case_ids=[world.green.id], limit=100
    )
    assert {r.case_id for r in one_case} == {world.green.id}
    with pytest.raises(Invalid) as error:
        releasable.selectors(session, network.gb.caller, agency_code="XX-NONE", limit=10)
    assert error.value.field == "agency"


def test_only_green_exportable_hash_sets_leave(
    session: Session, settings: Settings, network: Network
) -> None:
    world = build(session, settings, network)
    rows = releasable.hash_entries(session, network.nl.caller, limit=100)
    assert {r.hash_set_id for r in rows} == {world.green_set.id}
    assert len(rows) == 2
    assert (rows[0].pdq, rows[0].agency_code) == ("f0" * 32, "GB-NCA")
    assert rows[0].md5
    assert rows[0].sha256
    page = releasable.hash_entries(session, network.nl.caller, after=rows[0].key, limit=100)
    assert [r.entry_id for r in page] == [rows[1].entry_id]


def test_cases_and_agencies_are_the_releasable_ones(
    session: Session, settings: Settings, network: Network
) -> None:
    world = build(session, settings, network)
    cases = releasable.cases(session, network.us.caller)
    assert [c.case_id for c in cases] == [world.green.id, world.nl_green.id]
    assert {a.code for a in releasable.agencies(session, network.us.caller)} == {"GB-NCA", "NL-NP"}
    assert releasable.is_releasable_case(session, network.us.caller, world.green.id)
    assert not releasable.is_releasable_case(session, network.us.caller, world.amber.id)
    # the owner itself may not pass on its AMBER case either
    assert not releasable.is_releasable_case(session, network.gb.caller, world.amber.id)


def test_a_read_only_service_account_may_export_the_console_may_not(
    session: Session, settings: Settings, network: Network
) -> None:
    build(session, settings, network)
    assert releasable.selectors(session, network.gb_reader.caller, limit=1)
    for outsider in (system_caller(), Caller(role=Role.ANALYST, channel="api")):
        with pytest.raises(Forbidden):
            releasable.selectors(session, outsider, limit=1)
