"""Series and victims: grouping by hash, identification, and the status that travels with the
hashes to every agency — named for those who may see the series, bare for the others."""

from __future__ import annotations

from datetime import timedelta

import pytest
from builders import Network
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.core.audit.models import AuditEntry
from taskforce.core.db import utcnow
from taskforce.core.errors import Conflict, Invalid, NotFound
from taskforce.core.sharing import SharingLevel
from taskforce.series import service, status
from taskforce.series.models import Series
from taskforce.series.schemas import (
    MediaAdd,
    MediaHashes,
    SeriesCreate,
    VictimCreate,
    VictimIdentify,
)

MD5S = [f"{i:032x}" for i in range(1, 6)]


def _series(session: Session, network: Network, **kw: object) -> Series:
    data = SeriesCreate(name=str(kw.pop("name", "Blue Room")), **kw)
    series = service.create_series(session, network.gb.caller, data)
    media = [MediaHashes(md5=m.upper()) for m in MD5S[:3]]
    service.add_media(session, network.gb.caller, series.id, MediaAdd(media=media))
    return series


def test_status_travels_to_every_agency_without_the_series_details(
    session: Session, network: Network
) -> None:
    series = _series(session, network)  # RED: only GB sees it
    victim = service.add_victim(session, network.gb.caller, series.id, VictimCreate(label="V1"))
    files = [status.Lookup(md5=MD5S[0]), status.Lookup(md5=MD5S[4])]

    [[unidentified], []] = status.status_for_hashes(session, network.us.caller, files)
    assert (unidentified.victims, unidentified.identified, unidentified.series) == (1, 0, None)

    service.identify_victim(
        session, network.gb.caller, victim.id, VictimIdentify(country="gb", agency="NL-NP")
    )
    [[seen_by_us], _] = status.status_for_hashes(session, network.us.caller, files)
    assert seen_by_us.identified == 1
    assert seen_by_us.identified_by == ["NL-NP"]
    assert seen_by_us.contact
    assert seen_by_us.series is None
    [[seen_by_gb], _] = status.status_for_hashes(session, network.gb.caller, files)
    assert seen_by_gb.series == "Blue Room"
    with pytest.raises(NotFound):
        service.read_series(session, network.us.caller, series.id)


def test_an_owner_may_keep_even_the_status_to_itself(session: Session, network: Network) -> None:
    _series(session, network, status_public=False)
    assert status.status_for_hashes(session, network.us.caller, [status.Lookup(md5=MD5S[0])]) == [
        []
    ]


def test_media_are_added_once_and_changes_are_the_owners(
    session: Session, network: Network
) -> None:
    series = _series(session, network, sharing=SharingLevel.GREEN)
    again = service.add_media(
        session,
        network.gb.caller,
        series.id,
        MediaAdd(media=[MediaHashes(md5=m) for m in MD5S]),
    )
    assert (again.added, again.already_present) == (2, 3)
    assert service.read_series(session, network.nl.caller, series.id).media_count == 5
    with pytest.raises(NotFound):  # GREEN lets NL read, not change
        service.add_media(
            session, network.nl.caller, series.id, MediaAdd(media=[MediaHashes(md5=MD5S[0])])
        )
    with pytest.raises(Invalid) as bad:
        service.add_media(
            session, network.gb.caller, series.id, MediaAdd(media=[MediaHashes(md5="xyz")])
        )
    assert bad.value.field == "media[0].md5"


def test_victim_rules(session: Session, network: Network) -> None:
    series = _series(session, network)
    victim = service.add_victim(
        session,
        network.gb.caller,
        series.id,
        VictimCreate(label="V1", age_band="6-8", sex="female"),
    )
    with pytest.raises(Conflict):
        service.add_victim(session, network.gb.caller, series.id, VictimCreate(label="V1"))
    with pytest.raises(Invalid) as bad:
        service.add_victim(
            session, network.gb.caller, series.id, VictimCreate(label="V2", age_band="7")
        )
    assert bad.value.field == "age_band"
    for data, field in (
        (VictimIdentify(country="XX"), "country"),
        (VictimIdentify(country="GB", status="unidentified"), "status"),
        (VictimIdentify(country="GB", identified_at=utcnow() + timedelta(days=2)), "identified_at"),
    ):
        with pytest.raises(Invalid) as caught:
            service.identify_victim(session, network.gb.caller, victim.id, data)
        assert caught.value.field == field
    with pytest.raises(NotFound):  # US cannot see the RED series
        service.identify_victim(session, network.us.caller, victim.id, VictimIdentify(country="US"))


def test_reads_are_audited_and_statistics_count_identifications(
    session: Session, network: Network
) -> None:
    series = _series(session, network, first_seen_at=utcnow() - timedelta(days=40))
    victim = service.add_victim(session, network.gb.caller, series.id, VictimCreate(label="V1"))
    service.identify_victim(
        session, network.gb.caller, victim.id, VictimIdentify(country="PL", agency="GB-NCA")
    )
    service.read_series(session, network.gb.caller, series.id)
    actions = set(session.scalars(select(AuditEntry.action)))
    assert {"series.create", "series.add_media", "victim.identify", "series.read"} <= actions
    stats = service.statistics(session, network.us.caller)
    assert stats["identified"] == 1
    assert stats["by_country"] == [{"country": "PL", "name": "Poland", "identified": 1}]
    assert 39 < stats["days_to_identification"]["median"] < 41
    assert "country,PL,1" in service.statistics_csv(stats)
