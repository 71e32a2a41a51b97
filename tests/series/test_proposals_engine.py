"""The grouping engine on synthetic records: each kind of evidence links what it should, one
weak kind alone never links, decoys stay apart, and the candidate search finds what testing
every pair finds."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

import pytest

from taskforce.series.linking import (
    Kind,
    Record,
    Rules,
    describe,
    link_graph,
    name_pattern,
    parse_taken_at,
    propose,
)

T0 = datetime(2023, 4, 5, 14, 0, 0, tzinfo=UTC)


def pdq(seed: int, flips: int = 0) -> str:
    """A random 256-bit code, with `flips` of its bits changed (a near-duplicate)."""
    value = random.Random(seed).getrandbits(256)
    for bit in random.Random(seed * 7919 + flips).sample(range(256), flips):
        value ^= 1 << bit
    return f"{value:064x}"


def exif(moment: datetime) -> str:
    return moment.strftime("%Y:%m:%d %H:%M:%S")


class Maker:
    """Records with increasing ids; every one has its own random PDQ unless told otherwise."""

    def __init__(self) -> None:
        self.records: list[Record] = []

    def add(self, path: str, **kw: object) -> int:
        n = len(self.records) + 1
        fields: dict[str, object] = {"pdq": pdq(10_000 + n), "pdq_quality": 90} | kw
        self.records.append(Record(id=n, path=path, **fields))  # type: ignore[arg-type]
        return n


def groups(records: list[Record], rules: Rules | None = None) -> list[set[int]]:
    return sorted((set(p.members) for p in propose(records, rules)), key=min)


def test_near_duplicate_pdq_links_alone_and_low_quality_never() -> None:
    m = Maker()
    a = m.add("/e/x/a.jpg", pdq=pdq(1))
    b = m.add("/e/y/b.jpg", pdq=pdq(1, flips=20))
    c = m.add("/e/z/c.jpg", pdq=pdq(1, flips=12), pdq_quality=30)  # unusable: never matched
    far = m.add("/e/z/d.jpg", pdq=pdq(2))
    assert groups(m.records) == [{a, b}]
    assert c not in set().union(*groups(m.records))
    assert far
    assert groups(m.records, Rules(pdq_distance=15)) == []
    [proposal] = propose(m.records)
    [evidence] = proposal.evidence
    assert evidence["kind"] == Kind.PDQ
    assert evidence["examples"][0]["pdq_distance"] == 20


def test_one_camera_serial_links_across_years_but_not_other_cameras() -> None:
    m = Maker()
    first = m.add(
        "/e/a/1.jpg",
        camera_make="Canon",
        camera_model="Canon EOS 80D",
        camera_serial="0412345678",
        taken_at=exif(T0),
    )
    later = m.add(
        "/e/b/2.jpg",
        camera_make="Canon",
        camera_model="Canon EOS 80D",
        camera_serial="0412345678",
        taken_at=exif(T0 + timedelta(days=700)),
    )
    other = m.add(
        "/e/c/3.jpg",
        camera_make="Canon",
        camera_model="Canon EOS 80D",
        camera_serial="0499999999",
        taken_at=exif(T0 + timedelta(minutes=1)),
    )
    placeholder = [
        m.add(
            f"/e/d/{i}.jpg",
            camera_make="Canon",
            camera_model="EOS R",
            camera_serial="0000000",
            taken_at=exif(T0 + timedelta(days=30 * i)),
        )
        for i in range(3)
    ]
    assert groups(m.records) == [{first, later}]
    assert other
    assert placeholder


def test_one_weak_kind_alone_never_links() -> None:
    m = Maker()
    # the same popular phone model a minute apart, elsewhere on the disk: strangers
    m.add("/e/dl/f3a9c1.jpg", camera_make="Apple", camera_model="iPhone 13", taken_at=exif(T0))
    m.add(
        "/e/dl/b7e2d4.jpg",
        camera_make="Apple",
        camera_model="iPhone 13",
        taken_at=exif(T0 + timedelta(minutes=1)),
    )
    # a landmark the same afternoon, different phones
    m.add(
        "/e/dl/eiffel.jpg",
        camera_model="Pixel 7",
        taken_at=exif(T0),
        gps_lat=48.8584,
        gps_lon=2.2945,
    )
    m.add(
        "/e/dl/tower.jpg",
        camera_model="SM-G991B",
        taken_at=exif(T0 + timedelta(hours=2)),
        gps_lat=48.8585,
        gps_lon=2.2946,
    )
    # messenger files numbered in one folder, no EXIF
    for i in range(1, 6):
        m.add(f"/e/WhatsApp Images/IMG-20240501-WA{i:04d}.jpg")
    assert groups(m.records) == []
    graph = link_graph(m.records)
    assert graph.number_of_edges() == 0


def test_two_weak_kinds_on_the_same_pair_link() -> None:
    m = Maker()
    burst_and_name = [
        m.add(
            f"/e/DCIM/100APPLE/IMG_{n:04d}.JPG",
            camera_make="Apple",
            camera_model="iPhone 13",
            taken_at=exif(T0 + timedelta(seconds=40 * n)),
        )
        for n in range(1, 5)
    ]
    home = (52.37021, 4.89517)
    burst_and_place = [
        m.add(
            f"/e/dl/{random.Random(n).getrandbits(48):012x}.jpg",
            camera_make="samsung",
            camera_model="SM-A525F",
            taken_at=exif(T0 + timedelta(days=3, minutes=2 * n)),
            gps_lat=home[0] + n * 1e-5,
            gps_lon=home[1],
        )
        for n in range(4)
    ]
    found = groups(m.records)
    assert found == [set(burst_and_name), set(burst_and_place)]
    graph = link_graph(m.records)
    u, v = burst_and_name[:2]
    assert set(graph.edges[u, v]["kinds"]) == {Kind.BURST, Kind.NAME}
    assert 0.7 < graph.edges[u, v]["confidence"] < 0.8


def test_burst_window_is_respected() -> None:
    m = Maker()
    ids = [
        m.add(
            f"/e/DCIM/IMG_{n:04d}.JPG",
            camera_model="iPhone 12",
            taken_at=exif(T0 + timedelta(minutes=minutes)),
        )
        for n, minutes in enumerate([0, 9, 30, 39])
    ]
    assert groups(m.records) == [{ids[0], ids[1]}, {ids[2], ids[3]}]
    assert groups(m.records, Rules(burst_seconds=25 * 60)) == [set(ids)]
    assert groups(m.records, Rules(burst_seconds=5 * 60)) == []


def test_place_needs_the_radius_and_the_time_window() -> None:
    m = Maker()
    near = [
        m.add(
            f"/e/p/IMG_{n:04d}.JPG",
            taken_at=exif(T0 + timedelta(hours=n)),
            gps_lat=51.5007 + n * 2e-4,
            gps_lon=-0.1246,
        )
        for n in range(2)
    ]  # ~22 m apart, an hour apart, names in sequence: place + name
    m.add(
        "/e/p/IMG_0005.JPG", taken_at=exif(T0 + timedelta(days=3)), gps_lat=51.5007, gps_lon=-0.1246
    )  # same place, three days later
    m.add(
        "/e/p/IMG_0006.JPG",
        taken_at=exif(T0 + timedelta(days=3, minutes=5)),
        gps_lat=51.5107,
        gps_lon=-0.1246,
    )  # 1.1 km away
    assert groups(m.records) == [set(near)]
    [proposal] = propose(m.records)
    assert proposal.summary["place"] == {"lat": 51.501, "lon": -0.125, "spread_metres": 10}
    assert proposal.summary["with_gps"] == 2


def test_popular_model_decoys_stay_apart_and_chains_join() -> None:
    """Two phones of one model in the same folders at different times are two groups; a
    chain of close shots is one group although its ends are far apart."""
    m = Maker()
    morning = [
        m.add(
            f"/e/DCIM/IMG_{n:04d}.JPG",
            camera_make="Apple",
            camera_model="iPhone 14",
            taken_at=exif(T0 + timedelta(minutes=8 * n)),
        )
        for n in range(1, 8)
    ]  # 48 minutes end to end, 8 minutes per step
    evening = [
        m.add(
            f"/e/DCIM/IMG_{n:04d}.JPG",
            camera_make="Apple",
            camera_model="iPhone 14",
            taken_at=exif(T0 + timedelta(hours=9, minutes=8 * n)),
        )
        for n in range(30, 35)
    ]
    assert groups(m.records) == [set(morning), set(evening)]


def test_serials_that_differ_cancel_the_burst() -> None:
    m = Maker()
    m.add(
        "/e/a/DSC_0001.JPG",
        camera_make="NIKON",
        camera_model="D7500",
        camera_serial="3001",
        taken_at=exif(T0),
    )
    m.add(
        "/e/a/DSC_0002.JPG",
        camera_make="NIKON",
        camera_model="D7500",
        camera_serial="3002",
        taken_at=exif(T0 + timedelta(seconds=30)),
    )
    assert groups(m.records) == []  # names in sequence, same model, but two bodies


def test_proposal_carries_members_in_time_order_and_its_evidence() -> None:
    m = Maker()
    ids = [
        m.add(
            f"/e/cam/DSC_{n:04d}.JPG",
            camera_make="SONY",
            camera_model="ILCE-7M3",
            camera_serial="5512345",
            taken_at=exif(T0 - timedelta(minutes=n)),
        )
        for n in range(4)
    ]
    [proposal] = propose(m.records)
    assert proposal.members == list(reversed(ids))
    kinds = {e["kind"]: e for e in proposal.evidence}
    assert set(kinds) == {Kind.SERIAL, Kind.BURST, Kind.NAME}
    assert kinds[Kind.SERIAL]["strong"]
    assert not kinds[Kind.NAME]["strong"]
    assert kinds[Kind.SERIAL]["pairs"] >= 3
    assert len(kinds[Kind.SERIAL]["examples"]) <= 3
    summary = proposal.summary
    assert summary["cameras"] == [{"value": "SONY ILCE-7M3", "count": 4}]
    assert summary["serials"] == [{"value": "5512345", "count": 4}]
    assert summary["first_taken"] == "2023-04-05 13:57:00"
    assert summary["last_taken"] == "2023-04-05 14:00:00"
    assert summary["folders"] == [{"value": "/e/cam", "count": 4}]
    assert 0.9 < proposal.score <= 1
    assert proposal.as_json()[-1]["kind"] == "summary"


def test_describe_gives_the_evidence_of_a_fixed_group() -> None:
    m = Maker()
    a = m.add("/e/x/a.jpg", pdq=pdq(5))
    b = m.add("/e/x/b.jpg", pdq=pdq(5, flips=3))
    c = m.add("/e/x/c.jpg")
    fixed = describe([r for r in m.records if r.id in {a, b, c}])
    assert fixed.members == sorted([a, b, c], key=lambda i: m.records[i - 1].path)
    assert [e["kind"] for e in fixed.evidence] == [Kind.PDQ]
    assert fixed.score == 0.95


def test_candidate_search_finds_what_every_pair_finds() -> None:
    """A few hundred random records with planted groups: the blocked search and the O(n²)
    test of every pair give the same groups."""
    rng = random.Random(7)
    m = Maker()
    for g in range(25):
        model = rng.choice(["iPhone 12", "iPhone 13", "SM-G991B", "Pixel 7"])
        serial = str(rng.randrange(10**8)) if g % 4 == 0 else None
        start = T0 + timedelta(days=rng.randrange(2000))
        home = (rng.uniform(-40, 60), rng.uniform(-100, 100))
        folder = f"/e/g{g}" if g % 3 else "/e/Downloads"
        seed = 1000 + g
        for n in range(rng.randrange(3, 12)):
            m.add(
                f"{folder}/IMG_{n + 10 * g:04d}.JPG",
                pdq=pdq(seed, rng.randrange(0, 20)) if n % 3 == 0 else pdq(rng.randrange(10**9)),
                camera_model=model,
                camera_serial=serial,
                taken_at=exif(start + timedelta(seconds=rng.randrange(0, 200) * (n + 1))),
                gps_lat=home[0] + rng.uniform(-2e-4, 2e-4) if g % 2 else None,
                gps_lon=home[1] if g % 2 else None,
            )
    for _ in range(200):
        m.add(
            f"/e/Downloads/IMG_{rng.randrange(10000):04d}.JPG",
            camera_model=rng.choice(["iPhone 12", "iPhone 13", None]),
            taken_at=exif(T0 + timedelta(minutes=rng.randrange(3_000_000))),
        )
    blocked = sorted(sorted(p.members) for p in propose(m.records))
    every = sorted(sorted(p.members) for p in propose(m.records, every_pair=True))
    assert blocked == every
    assert len(blocked) >= 15


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023:04:05 14:00:00", datetime(2023, 4, 5, 14, tzinfo=UTC)),
        ("2023-04-05T14:00:00+02:00", datetime(2023, 4, 5, 14, tzinfo=UTC)),  # the clock's time
        (T0.replace(tzinfo=None), T0),  # a naive datetime: the camera's clock
        ("0000:00:00 00:00:00", None),
        ("1970:01:01 00:00:00", None),  # an unset clock
        ("garbage", None),
        (None, None),
    ],
)
def test_exif_times(text: str | datetime | None, expected: datetime | None) -> None:
    found = parse_taken_at(text)
    if expected is None:
        assert math.isnan(found)
    else:
        assert found == expected.timestamp()


def test_name_patterns() -> None:
    assert name_pattern("/a/DCIM/IMG_0042.JPG") == ("/a/dcim|img_|", 42)
    assert name_pattern("/a/W/IMG-20240501-WA0007.jpg") == ("/a/w|img-20240501-wa|", 7)
    assert name_pattern("C:\\Users\\x\\photo (3).jpg") == ("c:/users/x|photo (|)", 3)
    assert name_pattern("/a/1714563321000.jpg") is None  # a timestamp, not a count
    assert name_pattern("/a/holiday.jpg") is None
