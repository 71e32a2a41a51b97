"""Test data for clue notices: GB-NCA owns series "Blue Room" with one unidentified victim;
ZA-SAPS (South Africa) joins GB, NL and US; pictures are synthetic and benign (colour waves)."""

from __future__ import annotations

import io
from dataclasses import dataclass

from builders import Network, Person, jpeg, make_agency, make_person, picture
from PIL import Image
from sqlalchemy.orm import Session

from taskforce.core.settings import Settings
from taskforce.notices import publishing, reading, service
from taskforce.notices.models import ClueNotice
from taskforce.notices.schemas import ClueCreate, NoticeCreate, PublishImage, PublishRequest
from taskforce.series import service as series_service
from taskforce.series.models import Series, Victim
from taskforce.series.schemas import SeriesCreate, VictimCreate


@dataclass
class Scene:
    net: Network
    za: Person
    series: Series
    victim: Victim


def make_scene(session: Session, network: Network) -> Scene:
    za = make_agency(
        session,
        "ZA-SAPS",
        country="ZA",
        timezone="Africa/Johannesburg",
        contact_phone="+27123456789",
    )
    series = series_service.create_series(
        session, network.gb.caller, SeriesCreate(name="Blue Room")
    )
    victim = series_service.add_victim(
        session, network.gb.caller, series.id, VictimCreate(label="BR-V1", age_band="6-8")
    )
    return Scene(net=network, za=make_person(session, za), series=series, victim=victim)


def gps_exif() -> Image.Exif:
    """EXIF with a camera, a capture time and a GPS position (fictional, in the sea)."""
    exif = Image.Exif()
    exif[0x010F] = "ExampleCam"  # Make
    exif[0x0132] = "2026:01:31 14:05:00"  # DateTime
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (0.0, 1.0, 2.0)
    gps[3] = "E"
    gps[4] = (0.0, 3.0, 4.0)
    return exif


def png_bytes(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def write_notice(
    session: Session,
    settings: Settings,
    scene: Scene,
    targets: list[str] | None = None,
    title: str = "Where is the blue room?",
) -> ClueNotice:
    """GB's notice with two clues, to Sub-Saharan Africa and NL unless told otherwise."""
    return service.create_notice(
        session,
        scene.net.gb.caller,
        settings,
        NoticeCreate(
            series_id=scene.series.id,
            title=title,
            request="Help us place the room: sockets and a cereal box are visible.",
            targets=["Sub-Saharan Africa", "NL"] if targets is None else targets,
            clues=[
                ClueCreate(kind="electrical", description="Wall socket, two round pins"),
                ClueCreate(kind="products_brands", description="Cereal box, red, yellow bird"),
            ],
        ),
    )


def published_notice(session: Session, settings: Settings, network: Network) -> ClueNotice:
    """GB's notice with one published picture: its public trace page is open."""
    scene = make_scene(session, network)
    notice = write_notice(session, settings, scene)
    gb = scene.net.gb.caller
    clue_id = reading.describe(session, gb, settings, notice).clues[0].id
    image = service.add_image(session, gb, notice.id, clue_id, jpeg(picture(11)), attested=True)
    publishing.publish(
        session,
        gb,
        notice.id,
        PublishRequest(images=[PublishImage(id=image.id, caption="A wall socket")]),
    )
    return notice
