"""The AMBER partner rule, the same for every shareable kind (core.sharing.amber_partners).

An AMBER record names at least one partner agency other than its owner; a RED or GREEN one
names none; an unknown agency code is refused. Every kind is found from the `Shareable`
subclasses, so a new kind without a creator here fails the suite instead of escaping it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from builders import Network, token_for
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

import taskforce.models  # noqa: F401  (every table, so every Shareable subclass is known)
from taskforce.cases import service as case_service
from taskforce.cases.schemas import CaseCreate
from taskforce.core import sharing
from taskforce.core.caller import Caller
from taskforce.core.errors import Invalid
from taskforce.core.settings import Settings
from taskforce.core.sharing import Shareable, SharingLevel
from taskforce.hashsets import service as hashset_service
from taskforce.hashsets.schemas import HashSetCreate
from taskforce.series import service as series_service
from taskforce.series.schemas import SeriesCreate

Create = Callable[[Session, Caller, SharingLevel, list[str]], Shareable]


@dataclass(frozen=True)
class Kind:
    create: Create  # through the service
    path: str  # the API collection it is created at
    body: dict[str, object]  # the rest of a valid API body


def _case(session: Session, caller: Caller, level: SharingLevel, codes: list[str]) -> Shareable:
    data = CaseCreate(title="Operation Partner", sharing=level, partners=codes)
    return case_service.open_case(session, caller, data)


def _hash_set(session: Session, caller: Caller, level: SharingLevel, codes: list[str]) -> Shareable:
    data = HashSetCreate(name=f"set {uuid.uuid4()}", sharing=level, partners=codes)
    return hashset_service.create_hash_set(session, caller, data)


def _series(session: Session, caller: Caller, level: SharingLevel, codes: list[str]) -> Shareable:
    data = SeriesCreate(name=f"series {uuid.uuid4()}", sharing=level, partners=codes)
    return series_service.create_series(session, caller, data)


KINDS: dict[str, Kind] = {
    "case_file": Kind(_case, "/api/v1/cases", {"title": "Operation Partner"}),
    "hash_set": Kind(_hash_set, "/api/v1/hashsets", {"name": "Partner set"}),
    "series": Kind(_series, "/api/v1/series", {"name": "Partner series"}),
}


def _shareable_tables() -> set[str]:
    found: set[str] = set()
    todo = list(Shareable.__subclasses__())
    while todo:
        model = todo.pop()
        todo.extend(model.__subclasses__())
        table = getattr(model, "__tablename__", None)
        if table is not None:
            found.add(table)
    return found


def test_every_shareable_kind_has_a_creator_here() -> None:
    assert _shareable_tables() == set(KINDS), "register the new shareable kind in KINDS"


@pytest.fixture(params=sorted(_shareable_tables()))
def kind(request: pytest.FixtureRequest) -> Kind:
    table = request.param
    if table not in KINDS:
        pytest.fail(f"no creator registered for the shareable kind {table!r}")
    return KINDS[table]


def test_amber_without_a_partner_is_refused(session: Session, network: Network, kind: Kind) -> None:
    with pytest.raises(Invalid) as refused:
        kind.create(session, network.gb.caller, SharingLevel.AMBER, [])
    assert refused.value.field == "partners"


def test_amber_naming_only_its_owner_is_refused(
    session: Session, network: Network, kind: Kind
) -> None:
    with pytest.raises(Invalid) as refused:
        kind.create(session, network.gb.caller, SharingLevel.AMBER, ["GB-NCA"])
    assert refused.value.field == "partners"


@pytest.mark.parametrize("level", [SharingLevel.RED, SharingLevel.GREEN])
def test_partners_on_red_or_green_are_refused_not_dropped(
    session: Session, network: Network, kind: Kind, level: SharingLevel
) -> None:
    with pytest.raises(Invalid) as refused:
        kind.create(session, network.gb.caller, level, ["NL-NP"])
    assert refused.value.field == "partners"


def test_an_unknown_partner_is_refused(session: Session, network: Network, kind: Kind) -> None:
    with pytest.raises(Invalid) as refused:
        kind.create(session, network.gb.caller, SharingLevel.AMBER, ["XX-NOPE"])
    assert refused.value.field == "partners"


def test_amber_is_shared_with_its_partners_only(
    session: Session, network: Network, kind: Kind
) -> None:
    record = kind.create(session, network.gb.caller, SharingLevel.AMBER, ["NL-NP", "GB-NCA"])
    assert sharing.partner_ids(session, record) == {network.nl.caller.agency_id}
    assert sharing.can_see(session, record, network.nl.caller)
    assert not sharing.can_see(session, record, network.us.caller)


@pytest.mark.parametrize(
    ("level", "partners"), [("amber", []), ("red", ["NL-NP"]), ("green", ["NL-NP"])]
)
def test_the_api_answers_422_naming_the_partners_field(
    client: TestClient,
    session: Session,
    settings: Settings,
    network: Network,
    kind: Kind,
    level: str,
    partners: list[str],
) -> None:
    headers = token_for(session, settings, network.gb)
    body = {**kind.body, "sharing": level, "partners": partners}
    response = client.post(kind.path, json=body, headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "partners"
