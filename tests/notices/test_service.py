"""Clue notices in the service: who receives and may answer, the ranking, closing into the
series, publishing for the public, tips and their limits, and the audit of every read."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from builders import Person, make_person
from notice_builders import Scene, write_notice
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from taskforce.core.audit.models import AuditEntry
from taskforce.core.caller import Role
from taskforce.core.db import utcnow
from taskforce.core.errors import Conflict, Forbidden, Invalid, NotFound, RateLimited
from taskforce.core.outbox.models import OutboxMessage
from taskforce.core.settings import Settings
from taskforce.core.sharing import SharingLevel
from taskforce.notices import publishing, reading, service
from taskforce.notices.models import (
    ClueAnswer,
    ClueNotice,
    NoticeNotification,
    PublicTip,
    TipThrottle,
)
from taskforce.notices.schemas import (
    ATTESTATION,
    AnswerCreate,
    ClueCreate,
    NoticeClose,
    NoticeCreate,
    Outcome,
    PublishImage,
    PublishRequest,
    TipCreate,
)
from taskforce.series import service as series_service
from taskforce.series.models import Victim
from taskforce.series.schemas import SeriesCreate


def _audit_actions(session: Session) -> list[tuple[str, str]]:
    return [
        (a, o)
        for a, o in session.execute(
            select(AuditEntry.action, AuditEntry.outcome).order_by(AuditEntry.seq)
        )
    ]


def _answer(
    session: Session,
    settings: Settings,
    person: Person,
    notice: ClueNotice,
    clue: int,
    countries: list[str],
    confidence: str = "medium",
) -> ClueAnswer:
    view = reading.describe(session, person.caller, settings, notice)
    return service.answer_clue(
        session,
        person.caller,
        settings,
        notice.id,
        view.clues[clue - 1].id,
        AnswerCreate(countries=countries, confidence=confidence),
    )


class TestWriting:
    @pytest.mark.usefixtures("settings")
    def test_notice_reaches_the_target_countries_only(
        self, session: Session, scene: Scene, notice: ClueNotice
    ) -> None:
        s = scene
        assert notice.reference.startswith("GB-NCA-CN-")
        assert notice.reference.endswith("-0001")
        assert notice.targets == ["Sub-Saharan Africa", "NL"]
        assert [a.code for a in service.recipients(session, notice)] == ["NL-NP", "ZA-SAPS"]
        for person in (s.za, s.net.nl, s.net.gb):
            assert reading.get_notice(session, person.caller, notice.id).id == notice.id
        with pytest.raises(NotFound):
            reading.get_notice(session, s.net.us.caller, notice.id)
        listed = reading.list_notices(session, s.net.us.caller)
        assert notice.id not in {n.id for n in listed}
        received = reading.list_notices(session, s.za.caller, scope="received")
        assert [n.reference for n in received] == [notice.reference]

    def test_no_target_reaches_every_member(
        self, session: Session, scene: Scene, settings: Settings
    ) -> None:
        everyone = write_notice(session, settings, scene, targets=[])
        assert {a.code for a in service.recipients(session, everyone)} == {
            "NL-NP",
            "US-HSI",
            "ZA-SAPS",
        }
        assert reading.get_notice(session, scene.net.us.caller, everyone.id)

    def test_recipients_are_told_in_their_inbox(
        self, session: Session, scene: Scene, notice: ClueNotice
    ) -> None:
        inbox = reading.inbox(session, scene.za.caller)
        assert [(m.kind, m.reference) for m in inbox] == [("new", notice.reference)]
        assert reading.inbox(session, scene.net.us.caller) == []
        assert reading.mark_inbox_read(session, scene.za.caller) == 1
        assert reading.unread_count(session, scene.za.caller) == 0

    def test_unknown_region_is_refused(
        self, session: Session, settings: Settings, scene: Scene
    ) -> None:
        with pytest.raises(Invalid) as err:
            write_notice(session, settings, scene, targets=["Western Europe", "Middle Earth"])
        assert err.value.field == "targets"
        assert "Middle Earth" in err.value.rule

    def test_only_the_series_owner_writes_notices(
        self, session: Session, settings: Settings, scene: Scene
    ) -> None:
        s = scene
        data = NoticeCreate(series_id=s.series.id, title="Not mine")
        with pytest.raises(NotFound):  # RED series: NL cannot even see it
            service.create_notice(session, s.net.nl.caller, settings, data)
        green = series_service.create_series(
            session, s.net.gb.caller, SeriesCreate(name="Green Room", sharing=SharingLevel.GREEN)
        )
        with pytest.raises(Forbidden):
            service.create_notice(
                session,
                s.net.nl.caller,
                settings,
                NoticeCreate(series_id=green.id, title="Not mine either"),
            )
        with pytest.raises(Forbidden):  # read-only people write nothing
            service.create_notice(session, s.net.gb_reader.caller, settings, data)

    def test_clues_and_images_are_the_owners(
        self, session: Session, scene: Scene, notice: ClueNotice, gps_jpeg: bytes
    ) -> None:
        s = scene
        clue = service.add_clue(
            session,
            s.net.gb.caller,
            notice.id,
            ClueCreate(kind="vegetation_geology", description="Pine trees, snow"),
        )
        assert clue.number == 3
        with pytest.raises(Forbidden):
            service.add_clue(
                session, s.za.caller, notice.id, ClueCreate(kind="other", description="mine")
            )
        with pytest.raises(Invalid) as err:
            service.add_image(
                session, s.net.gb.caller, notice.id, clue.id, gps_jpeg, attested=False
            )
        assert err.value.field == "attest"
        image = service.add_image(
            session, s.net.gb.caller, notice.id, clue.id, gps_jpeg, attested=True
        )
        assert image.attestation == ATTESTATION
        assert image.attested_by_label == s.net.gb.caller.label
        assert "GPS position" in image.removed
        assert b"ExampleCam" not in image.content
        with pytest.raises(NotFound):  # a clue of another notice
            service.add_image(
                session, s.net.gb.caller, notice.id, uuid.uuid4(), gps_jpeg, attested=True
            )


class TestAnswers:
    def test_non_targeted_agency_cannot_answer(
        self, session: Session, settings: Settings, scene: Scene, notice: ClueNotice
    ) -> None:
        clue_id = reading.describe(session, scene.net.gb.caller, settings, notice).clues[0].id
        with pytest.raises(NotFound):
            service.answer_clue(
                session,
                scene.net.us.caller,
                settings,
                notice.id,
                clue_id,
                AnswerCreate(countries=["US"], confidence="high"),
            )
        with pytest.raises(Forbidden):  # the owner does not answer itself
            _answer(session, settings, scene.net.gb, notice, 1, ["GB"])
        assert ("notice.answer", "not_found") in _audit_actions(session)

    def test_ranking_weights_confidence_and_specificity(
        self, session: Session, settings: Settings, scene: Scene, notice: ClueNotice
    ) -> None:
        s = scene
        _answer(session, settings, s.za, notice, 1, ["ZA", "NA", "LS"], "high")
        _answer(session, settings, s.net.nl, notice, 2, ["PL"], "medium")
        _answer(session, settings, s.net.nl, notice, 1, ["ZA"], "low")
        view = reading.describe(session, s.za.caller, settings, notice)
        ranking = [(r.country, r.score, r.clues, r.agencies) for r in view.ranking]
        # ZA: 3/3 (ZA-SAPS, high, 3 named) + 1/1 (NL-NP, low) = 2; PL: 2/1 = 2; NA, LS: 1 each
        assert ranking == [
            ("ZA", 2.0, 1, 2),
            ("PL", 2.0, 1, 1),
            ("LS", 1.0, 1, 1),
            ("NA", 1.0, 1, 1),
        ]
        assert view.ranking[0].share == 1.0
        assert view.ranking[2].share == 0.5

    def test_a_revised_answer_replaces_the_earlier_one(
        self, session: Session, settings: Settings, scene: Scene, notice: ClueNotice
    ) -> None:
        first = _answer(session, settings, scene.za, notice, 1, ["ZA", "NA"], "low")
        first.created_at = utcnow() - timedelta(minutes=5)
        session.flush()
        _answer(session, settings, scene.za, notice, 1, ["NA"], "high")
        view = reading.describe(session, scene.net.gb.caller, settings, notice)
        assert [(r.country, r.score) for r in view.ranking] == [("NA", 3.0)]
        assert [a.counted for a in view.clues[0].answers] == [False, True]
        assert len([e for e in view.timeline if e.action == "answer"]) == 2

    def test_answers_are_validated_and_the_owner_told(
        self, session: Session, settings: Settings, scene: Scene, notice: ClueNotice
    ) -> None:
        with pytest.raises(Invalid) as err:
            _answer(session, settings, scene.za, notice, 1, ["ZA", "Narnia"])
        assert err.value.field == "countries"
        assert "Narnia" in err.value.rule
        _answer(session, settings, scene.za, notice, 2, ["South Africa"])
        kinds = [m.kind for m in reading.inbox(session, scene.net.gb.caller)]
        assert kinds == ["answer"]


class TestClosing:
    def test_identified_updates_the_series_and_tells_who_answered(
        self, session: Session, settings: Settings, scene: Scene, notice: ClueNotice
    ) -> None:
        s = scene
        _answer(session, settings, s.za, notice, 1, ["ZA"], "high")
        closed = publishing.close_notice(
            session,
            s.net.gb.caller,
            settings,
            notice.id,
            NoticeClose(
                outcome=Outcome.IDENTIFIED,
                victim_id=s.victim.id,
                country="za",
                identified_by="ZA-SAPS",
                victim_status="safeguarded",
            ),
        )
        assert (closed.status, closed.outcome, closed.outcome_country) == (
            "closed",
            "identified",
            "ZA",
        )
        victim = session.get(Victim, s.victim.id)
        assert victim is not None
        assert (victim.status, victim.identified_country) == ("safeguarded", "ZA")
        assert victim.identified_by_agency_id == s.za.user.agency_id
        za_inbox = [m.kind for m in reading.inbox(session, s.za.caller)]
        nl_inbox = [m.kind for m in reading.inbox(session, s.net.nl.caller)]
        assert za_inbox[0] == "closed"
        assert "closed" not in nl_inbox
        mail = session.scalars(
            select(OutboxMessage).where(OutboxMessage.recipient == s.za.user.email)
        ).all()
        assert len(mail) == 1
        assert "identified in South Africa" in mail[0].body
        assert "Blue Room" not in mail[0].body
        assert "socket" not in mail[0].body
        view = reading.describe(session, s.za.caller, settings, closed)
        assert not view.can_answer
        assert view.timeline[-1].summary == "Closed: child identified in ZA"
        with pytest.raises(Conflict):
            _answer(session, settings, s.za, notice, 1, ["NA"])

    def test_identified_needs_a_victim_of_the_series_and_a_country(
        self, session: Session, settings: Settings, scene: Scene, notice: ClueNotice
    ) -> None:
        s = scene
        for data, field in (
            (NoticeClose(outcome=Outcome.IDENTIFIED, country="ZA"), "victim_id"),
            (
                NoticeClose(outcome=Outcome.IDENTIFIED, victim_id=uuid.uuid4(), country="ZA"),
                "victim_id",
            ),
            (NoticeClose(outcome=Outcome.IDENTIFIED, victim_id=s.victim.id), "country"),
            (
                NoticeClose(outcome=Outcome.IDENTIFIED, victim_id=s.victim.id, country="QQ"),
                "country",
            ),
        ):
            with pytest.raises(Invalid) as err:
                publishing.close_notice(session, s.net.gb.caller, settings, notice.id, data)
            assert err.value.field == field
        with pytest.raises(Forbidden):
            publishing.close_notice(
                session,
                s.za.caller,
                settings,
                notice.id,
                NoticeClose(outcome=Outcome.WITHDRAWN),
            )

    def test_withdrawn_leaves_the_series_alone(
        self, session: Session, settings: Settings, scene: Scene, notice: ClueNotice
    ) -> None:
        publishing.close_notice(
            session,
            scene.net.gb.caller,
            settings,
            notice.id,
            NoticeClose(outcome=Outcome.WITHDRAWN, note="duplicate of another notice"),
        )
        victim = session.get(Victim, scene.victim.id)
        assert victim is not None
        assert victim.status == "unidentified"


class TestPublic:
    @pytest.fixture
    def published(
        self,
        session: Session,
        settings: Settings,
        scene: Scene,
        notice: ClueNotice,
        gps_jpeg: bytes,
    ) -> tuple[ClueNotice, uuid.UUID]:
        gb = scene.net.gb.caller
        clue_id = reading.describe(session, gb, settings, notice).clues[0].id
        image = service.add_image(session, gb, notice.id, clue_id, gps_jpeg, attested=True)
        publishing.publish(
            session,
            gb,
            notice.id,
            PublishRequest(images=[PublishImage(id=image.id, caption="A wall socket")]),
        )
        assert notice.public_token
        return notice, image.id

    def test_public_page_shows_only_captions_and_images(
        self, session: Session, published: tuple[ClueNotice, uuid.UUID]
    ) -> None:
        notice, image_id = published
        page = publishing.public_notice(session, notice.public_token or "")
        assert page.open
        assert [(i.id, i.caption) for i in page.images] == [(image_id, "A wall socket")]
        shown = page.model_dump_json()
        assert "Blue Room" not in shown
        assert notice.title not in shown
        assert publishing.public_image(session, notice.public_token or "", image_id).id == image_id
        with pytest.raises(NotFound):
            publishing.public_notice(session, "not-the-token")
        actions = _audit_actions(session)
        assert ("notice.public.read", "ok") in actions
        assert ("notice.public.image", "ok") in actions

    def test_tips_keep_no_address_and_reach_the_owner_only(
        self,
        session: Session,
        settings: Settings,
        scene: Scene,
        published: tuple[ClueNotice, uuid.UUID],
    ) -> None:
        notice, image_id = published
        tip = publishing.submit_tip(
            session,
            settings,
            notice.public_token or "",
            TipCreate(
                seen_where="Corner shop in Example Town",
                country="South Africa",
                message="<script>alert(1)</script>",
                image_id=image_id,
            ),
            address="203.0.113.7",
        )
        assert (tip.country, tip.contact) == ("ZA", None)
        throttle = session.scalars(select(TipThrottle)).all()
        assert len(throttle) == 1
        assert "203.0.113.7" not in throttle[0].key_hash
        owner = reading.describe(session, scene.net.gb.caller, settings, notice)
        assert [(t.clue_number, t.seen_where) for t in owner.tips] == [
            (1, "Corner shop in Example Town")
        ]
        za = reading.describe(session, scene.za.caller, settings, notice)
        assert za.tips == []
        assert all(e.action != "tip" for e in za.timeline)
        assert reading.inbox(session, scene.net.gb.caller)[0].kind == "tip"
        with pytest.raises(Forbidden):
            reading.list_tips(session, scene.za.caller, notice.id)

    def test_tip_floods_are_rate_limited(
        self,
        session: Session,
        settings: Settings,
        published: tuple[ClueNotice, uuid.UUID],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        notice, _ = published
        token = notice.public_token or ""
        tip = TipCreate(seen_where="In a supermarket")
        for _ in range(publishing.TIPS_PER_ADDRESS):
            publishing.submit_tip(session, settings, token, tip, address="203.0.113.8")
        with pytest.raises(RateLimited):
            publishing.submit_tip(session, settings, token, tip, address="203.0.113.8")
        publishing.submit_tip(
            session, settings, token, tip, address="203.0.113.9"
        )  # another sender
        # the window passes: the keyed hashes are deleted, and the sender may send again
        for row in session.scalars(select(TipThrottle)):
            row.at = utcnow() - publishing.TIP_WINDOW - timedelta(seconds=1)
        session.flush()
        publishing.submit_tip(session, settings, token, tip, address="203.0.113.8")
        assert session.scalar(select(func.count()).select_from(TipThrottle)) == 1
        monkeypatch.setattr(publishing, "TIPS_PER_NOTICE_HOUR", 7)  # 7 sent so far
        with pytest.raises(RateLimited, match="many tips"):
            publishing.submit_tip(session, settings, token, tip, address="203.0.113.10")

    def test_bad_tips_and_closed_appeals(
        self,
        session: Session,
        settings: Settings,
        scene: Scene,
        published: tuple[ClueNotice, uuid.UUID],
    ) -> None:
        notice, _ = published
        token = notice.public_token or ""
        with pytest.raises(Invalid) as err:
            publishing.submit_tip(
                session,
                settings,
                token,
                TipCreate(seen_where="shop", country="Mordor"),
                address=None,
            )
        assert err.value.field == "country"
        with pytest.raises(Invalid):
            publishing.submit_tip(
                session,
                settings,
                token,
                TipCreate(seen_where="shop", image_id=uuid.uuid4()),
                address=None,
            )
        publishing.close_notice(
            session,
            scene.net.gb.caller,
            settings,
            notice.id,
            NoticeClose(outcome=Outcome.WITHDRAWN),
        )
        page = publishing.public_notice(session, token)
        assert not page.open
        assert page.images == []
        with pytest.raises(Conflict):
            publishing.submit_tip(
                session, settings, token, TipCreate(seen_where="shop"), address=None
            )
        assert session.scalar(select(func.count()).select_from(PublicTip)) == 0

    def test_unpublish_takes_the_address_down(
        self, session: Session, scene: Scene, published: tuple[ClueNotice, uuid.UUID]
    ) -> None:
        notice, _ = published
        token = notice.public_token or ""
        publishing.unpublish(session, scene.net.gb.caller, notice.id)
        with pytest.raises(NotFound):
            publishing.public_notice(session, token)


def test_every_read_is_audited(
    session: Session, settings: Settings, scene: Scene, notice: ClueNotice, gps_jpeg: bytes
) -> None:
    s = scene
    clue_id = reading.describe(session, s.net.gb.caller, settings, notice).clues[0].id
    image = service.add_image(session, s.net.gb.caller, notice.id, clue_id, gps_jpeg, attested=True)
    reading.get_notice(session, s.za.caller, notice.id)
    reading.read_image(session, s.za.caller, notice.id, image.id)
    reading.list_notices(session, s.za.caller)
    reading.list_tips(session, s.net.gb.caller, notice.id)
    with pytest.raises(NotFound):
        reading.read_image(session, s.net.us.caller, notice.id, image.id)
    actions = _audit_actions(session)
    for expected in (
        ("notice.create", "ok"),
        ("notice.image.add", "ok"),
        ("notice.read", "ok"),
        ("notice.image.read", "ok"),
        ("notice.list", "ok"),
        ("notice.tips.read", "ok"),
        ("notice.image.read", "not_found"),
    ):
        assert expected in actions, expected
    disclosure = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "notice.create")
    ).one()
    assert disclosure.recipients == ["NL-NP", "ZA-SAPS"]


def test_analysts_answer_and_readers_only_read(
    session: Session, settings: Settings, scene: Scene, notice: ClueNotice
) -> None:
    za_agency_id = scene.za.user.agency_id
    from taskforce.agencies.models import Agency

    agency = session.get(Agency, za_agency_id)
    assert agency is not None
    reader = make_person(session, agency, role=Role.READ_ONLY)
    assert reading.get_notice(session, reader.caller, notice.id)
    with pytest.raises(Forbidden):
        _answer(session, settings, reader, notice, 1, ["ZA"])
    analyst = make_person(session, agency, role=Role.ANALYST)
    _answer(session, settings, analyst, notice, 1, ["ZA"])
    assert (session.scalar(select(func.count()).select_from(NoticeNotification)) or 0) >= 3
