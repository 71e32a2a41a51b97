"""The notice pages as people use them, and the public "trace an object" page."""

from __future__ import annotations

import re

import pytest
from builders import csrf_field, jpeg, picture, web_login
from fastapi.testclient import TestClient
from notice_builders import Scene
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.notices.models import ClueImage, ClueNotice
from taskforce.series.models import Victim


def _create(client: TestClient, scene: Scene, image: bytes, **extra: object) -> str:
    """Fill in the new-notice form with one clue and its image; the notice page's address."""
    page = client.get(f"/ui/notices/new?series={scene.series.id}")
    assert page.status_code == 200
    assert "Blue Room" in page.text
    data: dict[str, object] = {
        "csrf_token": csrf_field(page.text),
        "series_id": str(scene.series.id),
        "title": "Where is this bedroom?",
        "request": "Sockets and a cereal box are visible.",
        "targets": ["Sub-Saharan Africa"],
        "countries": "NL",
        "kind": ["electrical", "products_brands", "other"],
        "description": ["Wall socket, two round pins", "", ""],
        "attest": ["0"],
        **extra,
    }
    files = [
        ("image", ("socket.jpg", image, "image/jpeg")),
        ("image", ("", b"", "application/octet-stream")),
        ("image", ("", b"", "application/octet-stream")),
    ]
    r = client.post("/ui/notices/new", data=data, files=files, follow_redirects=False)
    assert r.status_code == 303, r.text[:2000]
    return str(r.headers["location"])


@pytest.mark.usefixtures("settings")
def test_write_answer_rank_publish_and_close(
    client: TestClient, session: Session, scene: Scene, gps_jpeg: bytes
) -> None:
    web_login(client, session, scene.net.gb)
    url = _create(client, scene, gps_jpeg)
    page = client.get(url)
    assert page.status_code == 200
    assert "Where is this bedroom?" in page.text
    assert "Sub-Saharan Africa, NL" in page.text
    assert "removed EXIF, GPS position" in page.text
    assert "Sanitised" in page.text
    image_src = re.search(r'src="(/ui/notices/[^"]+/images/[^"]+)"', page.text)
    assert image_src is not None
    picture_response = client.get(image_src.group(1))
    assert picture_response.headers["content-type"] == "image/jpeg"
    assert b"ExampleCam" not in picture_response.content
    stored = session.scalars(select(ClueImage)).one()
    assert stored.attestation.startswith("I attest that this image shows no child and no abuse")

    # ZA answers; the ranking shows it
    client.cookies.clear()
    web_login(client, session, scene.za)
    listed = client.get("/ui/notices")
    assert "Where is this bedroom?" in listed.text
    assert "New notice" in listed.text
    page = client.get(url)
    assert "Answer clue 1" in page.text
    assert "Contact GB-NCA" in page.text
    action = re.search(r'action="(/ui/notices/[^"]+/answers)"', page.text)
    assert action is not None
    bad = client.post(
        action.group(1),
        data={"csrf_token": csrf_field(page.text), "countries": "ZA, Gondor", "confidence": "high"},
    )
    assert bad.status_code == 422
    assert "Gondor" in bad.text
    r = client.post(
        action.group(1),
        data={
            "csrf_token": csrf_field(page.text),
            "countries": "ZA, NA, LS",
            "confidence": "high",
            "note": "Type M sockets",
        },
    )
    assert r.status_code == 200
    assert "Candidate countries" in r.text
    ranking = r.text.split('id="ranking"')[1].split("</table>")[0]
    assert "South Africa" in ranking
    assert "1.00" in ranking

    # GB publishes the image, a member of the public sends a tip, GB closes: identified
    client.cookies.clear()
    web_login(client, session, scene.net.gb)
    page = client.get(url)
    image_id = str(stored.id)
    r = client.post(
        f"{url}/publish",
        data={
            "csrf_token": csrf_field(page.text),
            "image": [image_id],
            "caption": ["A white wall socket"],
            "publish": [image_id],
        },
    )
    assert r.status_code == 200
    assert "/trace/" in r.text
    notice = session.scalars(select(ClueNotice)).one()
    session.refresh(notice)
    token = notice.public_token
    assert token

    public = TestClient(client.app)  # a stranger: no session cookie
    r = public.post(
        f"/trace/{token}",
        data={
            "seen_where": "<script>alert('x')</script> corner shop",
            "country": "ZA",
            "image_id": image_id,
            "message": "<img src=x onerror=alert(1)>",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303

    page = client.get(url)
    tips = page.text.split('id="tips"')[1]
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; corner shop" in tips
    assert "<img src=x" not in page.text
    r = client.post(
        f"{url}/close",
        data={
            "csrf_token": csrf_field(page.text),
            "outcome": "identified",
            "victim_id": str(scene.victim.id),
            "country": "ZA",
            "identified_by": "ZA-SAPS",
            "victim_status": "identified",
        },
    )
    assert r.status_code == 200
    assert "Child identified in South Africa" in r.text
    assert "Identified" in r.text
    victim = session.get(Victim, scene.victim.id)
    assert victim is not None
    session.refresh(victim)
    assert victim.status == "identified"
    assert victim.identified_country == "ZA"
    series_page = client.get(f"/ui/series/{scene.series.id}")
    assert "Clue notices for this series" in series_page.text
    assert "ZA-SAPS" in series_page.text


def test_form_errors_are_explained(
    client: TestClient, session: Session, scene: Scene, gps_jpeg: bytes
) -> None:
    web_login(client, session, scene.net.gb)
    page = client.get("/ui/notices/new")
    token = csrf_field(page.text)
    base = {"csrf_token": token, "series_id": str(scene.series.id), "title": "A notice"}
    r = client.post(
        "/ui/notices/new", data={**base, "targets": ["Atlantis"], "description": ["A socket"]}
    )
    assert r.status_code == 422
    assert "Atlantis" in r.text
    assert "UN M49" in r.text
    r = client.post("/ui/notices/new", data={**base, "description": ["", ""]})
    assert r.status_code == 422
    assert "describe at least one clue" in r.text
    no_attest = client.post(
        "/ui/notices/new",
        data={**base, "description": ["A socket"]},
        files=[("image", ("s.jpg", gps_jpeg, "image/jpeg"))],
    )
    assert no_attest.status_code == 422
    assert "tick the attestation" in no_attest.text
    not_image = client.post(
        "/ui/notices/new",
        data={**base, "description": ["A socket"], "attest": ["0"]},
        files=[("image", ("s.jpg", b"MZ\x90\x00 an executable", "image/jpeg"))],
    )
    assert not_image.status_code == 422
    assert "must be a JPEG, PNG or WebP picture" in not_image.text
    assert session.scalars(select(ClueNotice)).all() == []
    forged = client.post("/ui/notices/new", data={**base, "csrf_token": "forged"})
    assert forged.status_code == 403


def test_agencies_outside_the_targets_see_nothing(
    client: TestClient, session: Session, scene: Scene, gps_jpeg: bytes
) -> None:
    web_login(client, session, scene.net.gb)
    url = _create(client, scene, gps_jpeg)
    client.cookies.clear()
    web_login(client, session, scene.net.us)
    assert client.get(url).status_code == 404
    assert "Where is this bedroom?" not in client.get("/ui/notices").text
    clue_action = url + "/clues/00000000-0000-0000-0000-000000000000/answers"
    page = client.get("/ui/notices")
    r = client.post(clue_action, data={"csrf_token": csrf_field(page.text), "countries": "US"})
    assert r.status_code == 404


def test_public_page_needs_no_login_sets_no_cookie_and_limits_tips(
    client: TestClient, session: Session, scene: Scene, gps_jpeg: bytes
) -> None:
    web_login(client, session, scene.net.gb)
    url = _create(client, scene, gps_jpeg)
    stored = session.scalars(select(ClueImage)).one()
    page = client.get(url)
    client.post(
        f"{url}/publish",
        data={
            "csrf_token": csrf_field(page.text),
            "image": [str(stored.id)],
            "caption": ["A white wall socket"],
            "publish": [str(stored.id)],
        },
    )
    notice = session.scalars(select(ClueNotice)).one()
    session.refresh(notice)
    public = TestClient(client.app)
    r = public.get(f"/trace/{notice.public_token}")
    assert r.status_code == 200
    assert "Have you seen these objects?" in r.text
    assert "A white wall socket" in r.text
    for hidden in ("Blue Room", "Where is this bedroom?", "Wall socket, two round pins", "csrf"):
        assert hidden not in r.text
    assert "set-cookie" not in r.headers
    assert "<script" not in r.text
    assert "default-src 'none'" in r.headers["content-security-policy"]
    image = public.get(f"/trace/{notice.public_token}/images/{stored.id}")
    assert image.status_code == 200
    assert image.content == stored.content
    assert public.get(f"/trace/{notice.public_token}/images/not-an-id").status_code == 404
    assert public.get("/trace/no-such-token").status_code == 404

    bad = public.post(f"/trace/{notice.public_token}", data={"seen_where": "x"})
    assert bad.status_code == 422
    assert "Where you saw it" in bad.text
    statuses = [
        public.post(
            f"/trace/{notice.public_token}",
            data={"seen_where": "In a hardware shop"},
            follow_redirects=False,
        ).status_code
        for _ in range(7)
    ]
    assert statuses[:5] == [303] * 5
    assert statuses[5:] == [429, 429]
    limited = public.post(f"/trace/{notice.public_token}", data={"seen_where": "Shop"})
    assert "Too many tips from your connection" in limited.text
    thanks = public.get(f"/trace/{notice.public_token}?thanks=1")
    assert "Thank you" in thanks.text

    page = client.get(url)
    client.post(f"{url}/unpublish", data={"csrf_token": csrf_field(page.text)})
    assert public.get(f"/trace/{notice.public_token}").status_code == 404


def test_add_clue_and_image_on_the_notice_page(
    client: TestClient, session: Session, scene: Scene
) -> None:
    web_login(client, session, scene.net.gb)
    url = _create(client, scene, jpeg(picture(21)))
    page = client.get(url)
    r = client.post(
        f"{url}/clues",
        data={
            "csrf_token": csrf_field(page.text),
            "kind": "vegetation_geology",
            "description": "Pine trees outside, snow on the ground",
        },
        files=[("image", ("trees.jpg", jpeg(picture(22)), "image/jpeg"))],
    )
    assert r.status_code == 422
    assert "Attest" in r.text
    r = client.post(
        f"{url}/clues",
        data={
            "csrf_token": csrf_field(page.text),
            "kind": "vegetation_geology",
            "description": "Pine trees outside, snow on the ground",
            "attest": "1",
        },
        files=[("image", ("trees.jpg", jpeg(picture(22)), "image/jpeg"))],
    )
    assert r.status_code == 200
    assert "Pine trees outside" in r.text
    assert len(session.scalars(select(ClueImage)).all()) == 2
