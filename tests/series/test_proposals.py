"""Candidate series of a case: proposing from its new images, who may see and decide, accept
into a series by hash, split, reject, and re-proposing that leaves decisions alone."""

from __future__ import annotations

import random
import uuid
from typing import Any

import pytest
from builders import (
    Network,
    Person,
    csrf_field,
    make_case,
    make_triage_run,
    token_for,
    web_login,
)
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.cases.models import Case
from taskforce.core.audit.models import AuditEntry
from taskforce.core.errors import Conflict, Forbidden, Invalid, NotFound
from taskforce.core.settings import Settings
from taskforce.core.sharing import SharingLevel
from taskforce.series import proposals, schemas
from taskforce.series.models import Series, SeriesMedia, SeriesProposal
from taskforce.series.schemas import ProposalAccept, ProposalReject, ProposalSplit, ProposalStatus


def _pdq(seed: int, flips: int = 0) -> str:
    value = random.Random(seed).getrandbits(256)
    for bit in random.Random(seed * 31 + flips).sample(range(256), flips):
        value ^= 1 << bit
    return f"{value:064x}"


def _row(path: str, n: int, **kw: Any) -> dict[str, Any]:
    return {
        "path": path,
        "media_type": "image/jpeg",
        "size": 1000 + n,
        "md5": f"{n:032x}",
        "sha256": f"{n:064x}",
        "pdq": _pdq(500 + n),
        "pdq_quality": 90,
        "match_type": "none",
    } | kw


def seizure_rows() -> list[dict[str, Any]]:
    """A camera's numbered shots (serial), three near-duplicates scattered over the disk, two
    unrelated downloads; and what is never proposed: a video of the same camera, a known
    image, a file that could not be read."""
    camera = {"camera_make": "Canon", "camera_model": "Canon EOS 80D", "camera_serial": "0412345"}
    rows = [
        _row(
            f"/evidence/disk1/DCIM/100CANON/IMG_{n:04d}.JPG",
            n,
            taken_at=f"2021:03:04 10:{n:02d}:00",
            **camera,
        )
        for n in range(1, 5)
    ]
    rows += [
        _row(path, 10 + k, pdq=_pdq(77, flips=k * 4))
        for k, path in enumerate(
            [
                "/evidence/disk1/Downloads/a9f3.jpg",
                "/evidence/disk2/tmp/x.jpg",
                "/evidence/disk2/Pictures/copy of x.jpg",
            ]
        )
    ]
    rows += [
        _row(f"/evidence/disk1/Downloads/{name}.jpg", 20 + k)
        for k, name in enumerate(["holiday", "meme"])
    ]
    rows += [
        _row(
            "/evidence/disk1/DCIM/100CANON/MVI_0005.MP4",
            30,
            media_type="video/mp4",
            taken_at="2021:03:04 10:05:00",
            **camera,
        ),
        _row(
            "/evidence/disk1/DCIM/100CANON/IMG_0006.JPG",
            31,
            match_type="exact",
            taken_at="2021:03:04 10:06:00",
            **camera,
        ),
        _row(
            "/evidence/disk1/DCIM/100CANON/IMG_0007.JPG",
            32,
            error="truncated file",
            taken_at="2021:03:04 10:07:00",
            **camera,
        ),
    ]
    return rows


def _case_with_run(session: Session, person: Person, **kw: Any) -> Case:
    case = make_case(session, person, title="Operation Heron", **kw)
    make_triage_run(session, person, case, seizure_rows())
    return case


def _paths(p: schemas.ProposalRead) -> list[str]:
    return [m.path.rpartition("/")[2] for m in p.members]


def _actions(session: Session, action: str) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_proposes_groups_of_new_images_with_their_evidence(
    session: Session, network: Network
) -> None:
    case = _case_with_run(session, network.gb)
    ran = proposals.propose_for_case(session, network.gb.caller, case.id)
    assert (ran.images, ran.created, ran.kept, ran.removed) == (9, 2, 0, 0)
    camera, copies = ran.proposals
    assert _paths(camera) == ["IMG_0001.JPG", "IMG_0002.JPG", "IMG_0003.JPG", "IMG_0004.JPG"]
    assert {e.kind for e in camera.evidence} == {"camera_serial", "camera_burst", "file_name"}
    assert camera.summary.serials[0].value == "0412345"
    assert camera.summary.first_taken == "2021-03-04 10:01:00"
    assert camera.members[0].md5 == f"{1:032x}"
    assert camera.members[0].camera == "Canon EOS 80D"
    assert sorted(_paths(copies)) == ["a9f3.jpg", "copy of x.jpg", "x.jpg"]
    [pdq] = copies.evidence
    assert pdq.kind == "pdq"
    assert pdq.strong
    assert pdq.examples[0].pdq_distance is not None
    [entry] = _actions(session, "series.propose")
    assert entry.subject_id == case.id
    assert entry.detail["created"] == 2


def test_only_the_case_agency_proposes_and_decides_others_get_404(
    session: Session, network: Network
) -> None:
    case = _case_with_run(session, network.gb, sharing=SharingLevel.AMBER, partners=["NL-NP"])
    ran = proposals.propose_for_case(session, network.gb.caller, case.id)
    some = ran.proposals[0].id
    # an unrelated agency: nothing exists
    with pytest.raises(NotFound):
        proposals.propose_for_case(session, network.us.caller, case.id)
    with pytest.raises(NotFound):
        proposals.list_proposals(session, network.us.caller, case.id)
    with pytest.raises(NotFound):
        proposals.get_proposal(session, network.us.caller, some)
    for decide in (
        lambda c: proposals.accept(session, c, some, ProposalAccept(name="Stolen")),
        lambda c: proposals.split(session, c, some, ProposalSplit(members=[1])),
        lambda c: proposals.reject(session, c, some, None),
    ):
        with pytest.raises(NotFound):
            decide(network.us.caller)
        with pytest.raises(NotFound):  # the partner may read the case, not decide for it
            decide(network.nl.caller)
    refused = [e for e in _actions(session, "series.propose") if e.outcome == "not_found"]
    assert [e.actor_agency_id for e in refused] == [network.us.caller.agency_id]
    assert any(e.outcome == "not_found" for e in _actions(session, "series.proposal.accept"))
    # the partner sees the proposals; a read-only user of the owner cannot propose
    _, seen = proposals.list_proposals(session, network.nl.caller, case.id)
    assert [p.id for p in seen] == [p.id for p in ran.proposals]
    with pytest.raises(NotFound):
        proposals.propose_for_case(session, network.nl.caller, case.id)
    with pytest.raises(Forbidden):
        proposals.propose_for_case(session, network.gb_reader.caller, case.id)


def test_accept_makes_a_series_of_the_members_hashes(session: Session, network: Network) -> None:
    case = _case_with_run(session, network.gb)
    camera = proposals.propose_for_case(session, network.gb.caller, case.id).proposals[0]
    accepted = proposals.accept(
        session, network.gb.caller, camera.id, ProposalAccept(name="Canon room")
    )
    assert accepted.status == ProposalStatus.ACCEPTED
    assert accepted.decided_at is not None
    series = session.get(Series, accepted.series_id)
    assert series is not None
    assert series.name == "Canon room"
    assert series.owner_agency_id == network.gb.caller.agency_id
    assert series.sharing == SharingLevel.RED
    media = session.scalars(select(SeriesMedia).where(SeriesMedia.series_id == series.id)).all()
    assert sorted(m.md5 or "" for m in media) == [f"{n:032x}" for n in range(1, 5)]
    assert {m.sha256 for m in media} == {f"{n:064x}" for n in range(1, 5)}
    [entry] = _actions(session, "series.proposal.accept")
    assert entry.detail["added"] == 4
    assert entry.detail["series"] == str(series.id)
    with pytest.raises(Conflict):
        proposals.accept(session, network.gb.caller, camera.id, ProposalAccept(name="Again"))
    with pytest.raises(Conflict):
        proposals.reject(session, network.gb.caller, camera.id)


def test_accept_into_an_existing_series_and_the_name_rule(
    session: Session, network: Network
) -> None:
    case = _case_with_run(session, network.gb)
    camera, copies = proposals.propose_for_case(session, network.gb.caller, case.id).proposals
    first = proposals.accept(session, network.gb.caller, camera.id, ProposalAccept(name="Room"))
    for wrong in (ProposalAccept(), ProposalAccept(name="Room 2", series_id=first.series_id)):
        with pytest.raises(Invalid):
            proposals.accept(session, network.gb.caller, copies.id, wrong)
    both = proposals.accept(
        session, network.gb.caller, copies.id, ProposalAccept(series_id=first.series_id)
    )
    assert both.series_id == first.series_id
    count = session.scalars(
        select(SeriesMedia.id).where(SeriesMedia.series_id == first.series_id)
    ).all()
    assert len(count) == 7


def test_split_moves_members_into_a_child_proposal(session: Session, network: Network) -> None:
    case = _case_with_run(session, network.gb)
    camera = proposals.propose_for_case(session, network.gb.caller, case.id).proposals[0]
    ids = [m.id for m in camera.members]
    with pytest.raises(Invalid):
        proposals.split(session, network.gb.caller, camera.id, ProposalSplit(members=ids))
    with pytest.raises(Invalid):
        proposals.split(session, network.gb.caller, camera.id, ProposalSplit(members=[-1]))
    done = proposals.split(session, network.gb.caller, camera.id, ProposalSplit(members=ids[2:]))
    assert [m.id for m in done.kept.members] == ids[:2]
    assert [m.id for m in done.split_off.members] == ids[2:]
    assert done.split_off.parent_id == camera.id
    assert done.kept.status == done.split_off.status == ProposalStatus.PROPOSED
    assert {e.kind for e in done.split_off.evidence} >= {"camera_serial"}
    assert done.split_off.summary.size == 2
    [entry] = _actions(session, "series.proposal.split")
    assert entry.detail == {
        "case": str(case.id),
        "new": str(done.split_off.id),
        "kept": 2,
        "moved": 2,
    }


def test_reproposing_leaves_decided_and_split_work_alone(
    session: Session, network: Network
) -> None:
    case = _case_with_run(session, network.gb)
    camera, copies = proposals.propose_for_case(session, network.gb.caller, case.id).proposals
    again = proposals.propose_for_case(session, network.gb.caller, case.id)
    assert (again.created, again.kept, again.removed) == (0, 2, 0)  # same groups, same ids
    assert {p.id for p in again.proposals} == {camera.id, copies.id}

    proposals.reject(session, network.gb.caller, copies.id, ProposalReject(reason="memes"))
    [rejected_entry] = _actions(session, "series.proposal.reject")
    assert rejected_entry.subject_id == copies.id
    assert rejected_entry.detail["reason"] == "memes"
    ids = [m.id for m in camera.members]
    proposals.split(session, network.gb.caller, camera.id, ProposalSplit(members=ids[:1]))
    third = proposals.propose_for_case(session, network.gb.caller, case.id)
    assert (third.images, third.excluded, third.created, third.kept) == (2, 7, 0, 0)
    stored = session.scalars(select(SeriesProposal).where(SeriesProposal.case_id == case.id))
    assert sorted((p.status, len(p.members)) for p in stored) == [
        ("proposed", 1),
        ("proposed", 3),
        ("rejected", 3),
    ]
    _, listed = proposals.list_proposals(session, network.gb.caller, case.id)
    assert [p.status for p in listed] == ["proposed", "proposed", "rejected"]
    [listing] = _actions(session, "series.proposals")
    assert listing.operation == "consultation"
    assert listing.detail["proposals"] == 3
    _, rejected = proposals.list_proposals(
        session, network.gb.caller, case.id, ProposalStatus.REJECTED
    )
    assert [p.id for p in rejected] == [copies.id]


def test_open_untouched_proposals_are_replaced_when_groups_change(
    session: Session, network: Network
) -> None:
    case = _case_with_run(session, network.gb)
    first = proposals.propose_for_case(session, network.gb.caller, case.id)
    stricter = schemas.ProposeOptions(pdq_distance=3)  # the copies are 4–8 bits apart
    second = proposals.propose_for_case(session, network.gb.caller, case.id, stricter)
    assert (second.created, second.kept, second.removed) == (0, 1, 1)
    assert [p.id for p in second.proposals] == [first.proposals[0].id]
    assert session.get(SeriesProposal, first.proposals[1].id) is None


# --- API and page ---------------------------------------------------------------------------


def test_api_routes(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    case = _case_with_run(session, network.gb)
    gb = token_for(session, settings, network.gb)
    us = token_for(session, settings, network.us)
    url = f"/api/v1/cases/{case.id}/series-proposals"
    assert client.post(url, headers=us).status_code == 404
    ran = client.post(url, headers=gb, json={"pdq_distance": 31, "burst_minutes": 10})
    assert ran.status_code == 201, ran.text
    assert ran.json()["created"] == 2
    assert client.post(url, headers=gb, json={"pdq_distance": 300}).status_code == 422
    listed = client.get(url, headers=gb).json()
    assert [p["size"] for p in listed] == [4, 3]
    camera, copies = (p["id"] for p in listed)
    assert client.get(f"/api/v1/series-proposals/{camera}", headers=us).status_code == 404
    one = client.get(f"/api/v1/series-proposals/{camera}", headers=gb).json()
    assert one["summary"]["cameras"] == [{"value": "Canon EOS 80D", "count": 4}]
    split = client.post(
        f"/api/v1/series-proposals/{camera}/split",
        headers=gb,
        json={"members": [one["members"][0]["id"]]},
    )
    assert split.status_code == 200
    assert split.json()["split_off"]["parent_id"] == camera
    accepted = client.post(
        f"/api/v1/series-proposals/{camera}/accept", headers=gb, json={"name": "Canon room"}
    )
    assert accepted.status_code == 200
    assert accepted.json()["series_id"]
    again = client.post(
        f"/api/v1/series-proposals/{camera}/accept", headers=gb, json={"name": "Other"}
    )
    assert again.status_code == 409
    rejected = client.post(
        f"/api/v1/series-proposals/{copies}/reject", headers=gb, json={"reason": "not a series"}
    )
    assert rejected.json()["status"] == "rejected"
    no_body = client.post(
        f"/api/v1/series-proposals/{split.json()['split_off']['id']}/reject", headers=gb
    )
    assert no_body.status_code == 200
    assert client.get(f"{url}?status=accepted", headers=gb).json()[0]["id"] == camera


def test_page_lists_evidence_and_decides_by_form(
    client: TestClient, session: Session, network: Network
) -> None:
    case = _case_with_run(session, network.gb)
    token = web_login(client, session, network.gb)
    triage = client.get(f"/ui/cases/{case.id}/triage")
    assert f"/ui/cases/{case.id}/proposals" in triage.text
    empty = client.get(f"/ui/cases/{case.id}/proposals")
    assert empty.status_code == 200
    assert "No open proposal" in empty.text
    ran = client.post(f"/ui/cases/{case.id}/proposals", data={"csrf_token": token})
    assert ran.status_code == 200, ran.text
    assert "9 new images examined" in ran.text
    page = ran.text
    for shown in (
        "same camera serial number",
        "Canon EOS 80D",
        "IMG_0001.JPG",
        "0412345",
        "near-duplicate PDQ",
        "copy of x.jpg",
        "2021-03-04 10:01:00",
    ):
        assert shown in page, shown
    assert "<img" not in page
    assert client.post(f"/ui/cases/{case.id}/proposals", data={}).status_code == 403
    _, listed = proposals.list_proposals(session, network.gb.caller, case.id)
    camera, copies = listed
    token = csrf_field(page)
    split = client.post(
        f"/ui/series-proposals/{camera.id}/split",
        data={"csrf_token": token, "members": [str(camera.members[0].id)]},
        follow_redirects=False,
    )
    assert split.status_code == 303
    nothing = client.post(f"/ui/series-proposals/{copies.id}/split", data={"csrf_token": token})
    assert nothing.status_code == 422
    assert "Members" in nothing.text
    accepted = client.post(
        f"/ui/series-proposals/{camera.id}/accept",
        data={"csrf_token": token, "name": "Canon room", "sharing": "red"},
        follow_redirects=False,
    )
    assert accepted.status_code == 303
    assert accepted.headers["location"].startswith("/ui/series/")
    assert client.get(accepted.headers["location"]).status_code == 200
    rejected = client.post(
        f"/ui/series-proposals/{copies.id}/reject",
        data={"csrf_token": token, "reason": "memes"},
        follow_redirects=False,
    )
    assert rejected.headers["location"] == f"/ui/cases/{case.id}/proposals"
    decided = client.get(f"/ui/cases/{case.id}/proposals").text
    assert "Decided" in decided
    assert "Rejected" in decided
    assert "open series" in decided


def test_page_is_404_for_an_agency_that_cannot_see_the_case(
    client: TestClient, session: Session, network: Network
) -> None:
    case = _case_with_run(session, network.gb)
    proposals.propose_for_case(session, network.gb.caller, case.id)
    token = web_login(client, session, network.us)
    assert client.get(f"/ui/cases/{case.id}/proposals").status_code == 404
    assert client.get(f"/ui/cases/{uuid.uuid4()}/proposals").status_code == 404
    ran = client.post(f"/ui/cases/{case.id}/proposals", data={"csrf_token": token})
    assert ran.status_code == 404
    assert "Operation Heron" not in ran.text
