"""PDQ and file hashes against Meta's published vectors (tests/vectors/pdq).

The conformance rules are the reference's own: rows published for `pdqhash` + Pillow are
reproduced bit for bit; rows of the C++ reference (its own JPEG decoder) with quality >= 80
are within 10 bits.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from taskforce.core.hamming import hamming, hex_to_bytes
from taskforce.media import hashing

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "pdq"
PDQHASH = "pdqhash (PyPI) + Pillow via python-threatexchange"
CPP = "cpp-reference (CImg decoder)"

# Pillow's name for each of python-threatexchange's pixel-space rotations.
TRANSPOSE = {
    "ORIGINAL": None,
    "ROTATE90": Image.Transpose.ROTATE_90,
    "ROTATE180": Image.Transpose.ROTATE_180,
    "ROTATE270": Image.Transpose.ROTATE_270,
    "FLIPX": Image.Transpose.FLIP_TOP_BOTTOM,  # mirrored across the x axis
    "FLIPY": Image.Transpose.FLIP_LEFT_RIGHT,
    "FLIPPLUS1": Image.Transpose.TRANSPOSE,
    "FLIPMINUS1": Image.Transpose.TRANSVERSE,
}


def _rows(implementation: str) -> list[dict[str, str]]:
    with (VECTORS / "expected.csv").open(newline="") as f:
        return [r for r in csv.DictReader(f) if r["implementation"] == implementation]


def _distance(a: str, b: str) -> int:
    return hamming(hex_to_bytes(a), hex_to_bytes(b))


def _plain(row: dict[str, str]) -> bool:
    return "dihedral=" not in row["note"] and "unletterbox" not in row["note"]


@pytest.mark.parametrize(
    "row",
    [r for r in _rows(PDQHASH) if _plain(r)],
    ids=lambda r: r["image"],
)
def test_pdqhash_rows_are_reproduced_bit_for_bit(row: dict[str, str]) -> None:
    result = hashing.hash_file(VECTORS / row["image"])
    assert result.error is None
    assert result.pdq == row["pdq_hex"]
    if row["quality"]:
        assert result.pdq_quality == int(row["quality"])


@pytest.mark.parametrize(
    "row",
    [r for r in _rows(PDQHASH) if "dihedral=" in r["note"]],
    ids=lambda r: r["note"].split()[0],
)
def test_pixel_space_rotations_are_reproduced_bit_for_bit(row: dict[str, str]) -> None:
    name = row["note"].split()[0].removeprefix("dihedral=")
    with Image.open(VECTORS / row["image"]) as image:
        method = TRANSPOSE[name]
        turned = image if method is None else image.transpose(method)
        assert hashing.pdq_of_image(turned).hex == row["pdq_hex"]


@pytest.mark.parametrize(
    "row",
    [r for r in _rows(CPP) if r["quality"] and int(r["quality"]) >= 80],
    ids=lambda r: r["image"],
)
def test_cpp_reference_rows_of_quality_80_are_within_10_bits(row: dict[str, str]) -> None:
    result = hashing.hash_file(VECTORS / row["image"])
    assert result.pdq is not None
    assert _distance(result.pdq, row["pdq_hex"]) <= 10
    assert result.pdq_quality == int(row["quality"])


def _black_threshold(row: dict[str, str]) -> int:
    """The threshold of an unletterbox row: the one given, else the reference CLI's default."""
    given = re.search(r"--black-threshold=(\d+)", row["note"])
    return int(given.group(1)) if given else 15


@pytest.mark.parametrize(
    "row",
    [r for r in _rows(PDQHASH) if "unletterbox" in r["note"]],
    ids=lambda r: f"threshold-{_black_threshold(r)}",
)
def test_unletterbox_rows_are_reproduced_bit_for_bit(row: dict[str, str]) -> None:
    """The reference writes the cropped picture back as a JPEG (Pillow's defaults) and hashes
    that file: doing the same gives its hash bit for bit, which pins the crop box. Hashing the
    crop itself (taskforce's way, without a second lossy encoding) lands within 2 bits."""
    with Image.open(VECTORS / row["image"]) as image:
        cropped = hashing.unletterbox(image, black_threshold=_black_threshold(row))
        assert cropped.size < image.size
        saved = io.BytesIO()
        cropped.save(saved, format=image.format)
    saved.seek(0)
    with Image.open(saved) as as_the_reference_hashes_it:
        assert hashing.pdq_of_image(as_the_reference_hashes_it).hex == row["pdq_hex"]
    assert _distance(hashing.pdq_of_image(cropped).hex, row["pdq_hex"]) <= 2


def test_unletterbox_brings_a_letterboxed_copy_back_to_the_original() -> None:
    original = hashing.hash_file(VECTORS / "dih" / "bridge-1-original.jpg").pdq
    assert original is not None
    with Image.open(VECTORS / "pytx-resources" / "letterboxed_sample-b.jpg") as image:
        barred = hashing.pdq_of_image(image).hex
        cropped = hashing.pdq_of_image(hashing.unletterbox(image)).hex
    assert _distance(barred, original) > 31  # the bars alone defeat matching
    assert _distance(cropped, original) <= 20


@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA", "P"])
def test_unletterbox_cuts_exactly_the_black_bars(mode: str) -> None:
    picture = _synthetic(3).resize((200, 120)).point(lambda v: 40 + v * 0.8)  # no black pixel
    framed = Image.new("RGB", (260, 200))
    framed.paste(picture, (25, 50))
    framed.putpixel((0, 199), (15, 15, 15))  # "near-black" noise in a bar stays a bar
    cropped = hashing.unletterbox(framed.convert(mode))
    assert cropped.mode == mode
    assert cropped.size == picture.size
    # one pixel above the threshold keeps its row and column: 0..225 across, 50..200 down
    assert hashing.unletterbox(framed, black_threshold=14).size == (225, 150)
    if mode == "RGB":
        assert cropped.tobytes() == picture.tobytes()


def test_unletterbox_leaves_pictures_without_bars_alone() -> None:
    with Image.open(VECTORS / "dih" / "bridge-1-original.jpg") as image:
        assert hashing.unletterbox(image) is image
    black = Image.new("RGB", (64, 64))
    assert hashing.unletterbox(black) is black  # all bar: nothing sensible to keep
    dot = Image.new("RGB", (64, 64))
    dot.putpixel((30, 30), (255, 255, 255))
    assert hashing.unletterbox(dot) is dot  # 1x1 left: too small to hash, not cut


def test_low_quality_hashes_are_kept_but_not_usable() -> None:
    result = hashing.hash_file(VECTORS / "labelme-subset" / "q0003.jpg")
    assert result.pdq is not None
    assert result.pdq_quality is not None
    assert result.pdq_quality < hashing.MIN_PDQ_QUALITY
    assert result.pdq_usable is False
    good = hashing.hash_file(VECTORS / "dih" / "bridge-1-original.jpg")
    assert good.pdq_usable is True


def test_one_dct_gives_the_hashes_of_rotated_and_mirrored_copies() -> None:
    """Each rotated file of the bridge is near one of the original's eight hashes."""
    with Image.open(VECTORS / "dih" / "bridge-1-original.jpg") as image:
        eight, quality = hashing.pdq_dihedral(image)
    assert quality == 100
    assert len(set(eight)) == 8
    for path in sorted((VECTORS / "dih").glob("bridge-*.jpg")):
        turned = hashing.hash_file(path).pdq
        assert turned is not None
        assert min(_distance(turned, h) for h in eight) <= 10, path.name


def test_exact_digests_match_hashlib(tmp_path: Path) -> None:
    data = b"taskforce test file\n" * 1000
    path = tmp_path / "notes.txt"
    path.write_bytes(data)
    result = hashing.hash_file(path)
    assert (result.md5, result.sha1, result.sha256) == (
        hashlib.md5(data, usedforsecurity=False).hexdigest(),
        hashlib.sha1(data, usedforsecurity=False).hexdigest(),
        hashlib.sha256(data).hexdigest(),
    )
    assert result.size == len(data)
    assert result.pdq is None
    assert result.error is None


def test_type_is_read_from_the_content_not_the_name(tmp_path: Path) -> None:
    fake = tmp_path / "holiday.jpg"
    with Image.open(VECTORS / "misc-images" / "c.png") as image:
        image.save(fake, format="PNG")
    result = hashing.hash_file(fake)
    assert result.media_type == "image/png"
    assert result.pdq is not None


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (b"", "empty file"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 20, "cannot decode image"),
    ],
    ids=["zero-bytes", "truncated-jpeg"],
)
def test_bad_files_get_a_reason(tmp_path: Path, content: bytes, error: str) -> None:
    path = tmp_path / "bad.jpg"
    path.write_bytes(content)
    result = hashing.hash_file(path)
    assert result.error is not None
    assert error in result.error
    assert result.pdq is None


def _photo() -> Image.Image:
    """A benign synthetic 'photo': soft waves with a bright square and a dark disc."""
    y, x = np.mgrid[0:480, 0:640].astype(np.float32)
    wave = 120 + 70 * np.sin(x / 37) * np.cos(y / 29)
    rgb = np.stack([wave, wave[::-1], np.roll(wave, 90, axis=1)], axis=2)
    rgb[100:220, 380:520] = (240, 200, 60)
    rgb[(x - 180) ** 2 + (y - 330) ** 2 < 70**2] = (30, 40, 110)
    return Image.fromarray(rgb.astype(np.uint8))


def _heic(picture: Image.Image, **options: object) -> bytes:
    saved = io.BytesIO()
    picture.save(saved, format="HEIF", quality=85, **options)  # pillow-heif's x265 encoder
    return saved.getvalue()


def test_heic_photo_hashes_like_the_same_picture_as_png(tmp_path: Path) -> None:
    picture = _photo()
    heic, png = tmp_path / "IMG_0001.HEIC", tmp_path / "IMG_0001.png"
    heic.write_bytes(_heic(picture))
    picture.save(png)
    from_heic, from_png = hashing.hash_file(heic), hashing.hash_file(png)
    assert from_heic.error is None
    assert from_heic.media_type == "image/heic"
    assert from_heic.pdq is not None
    assert from_png.pdq is not None
    assert from_heic.pdq_usable
    assert from_heic.pdq_quality == from_png.pdq_quality
    assert _distance(from_heic.pdq, from_png.pdq) <= 8  # lossy HEVC: a few bits, not 31


def test_triage_reads_heic_from_memory_with_rotations_and_camera() -> None:
    """Archive members reach `hash_stream` as bytes: HEIC works there too, EXIF included."""
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Synthetic Camera Co", "Model T"
    found = hashing.hash_stream(
        io.BytesIO(_heic(_photo(), exif=exif.tobytes())),
        "photos.zip/IMG_0002.HEIC",
        rotations=True,
    )
    assert found.error is None
    assert found.pdq_rotations is not None
    assert len(set(found.pdq_rotations)) == 8
    assert (found.camera_make, found.camera_model) == ("Synthetic Camera Co", "Model T")


@pytest.mark.parametrize("keep", [0.5, 100], ids=["half", "100-bytes"])
def test_truncated_heic_gets_a_reason(tmp_path: Path, keep: float) -> None:
    data = _heic(_photo())
    path = tmp_path / "cut.heic"
    path.write_bytes(data[: int(len(data) * keep) if keep < 1 else int(keep)])
    result = hashing.hash_file(path)
    assert result.media_type == "image/heic"
    assert result.sha256 is not None
    assert result.error is not None
    assert result.error.startswith("cannot decode image")
    assert result.pdq is None


def test_decompression_bomb_is_refused_without_decoding(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    # a 30000x30000 one-bit PNG is tiny on disk and 900 megapixels once decoded
    Image.new("1", (30000, 30000)).save(path)
    result = hashing.hash_file(path)
    assert result.error is not None
    assert "decompression bomb" in result.error
    assert result.sha256 is not None  # the exact hashes are still there to match


def test_cli_prints_json_lines() -> None:
    from taskforce.cli import app

    runner = CliRunner()
    target = VECTORS / "dih" / "bridge-1-original.jpg"
    result = runner.invoke(app, ["hash", "--json", str(target)])
    assert result.exit_code == 0, result.output
    line = json.loads(result.stdout.splitlines()[0])
    assert line["pdq"] == "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
    assert line["md5"] == hashlib.md5(target.read_bytes(), usedforsecurity=False).hexdigest()


def test_cli_refuses_a_missing_path(tmp_path: Path) -> None:
    from taskforce.cli import app

    result = CliRunner().invoke(app, ["hash", str(tmp_path / "nope.jpg")])
    assert result.exit_code == 2
    assert "no such file" in result.output


def _synthetic(seed: int) -> Image.Image:
    r = np.random.default_rng(seed)
    w, h = int(r.integers(8, 1400)), int(r.integers(8, 1400))
    x = np.linspace(0, 1, w, dtype=np.float32)
    y = np.linspace(0, 1, h, dtype=np.float32)[:, None]
    wave = (np.sin(x * r.uniform(2, 20)) * np.cos(y * r.uniform(2, 20)) + 1) * 110
    base = wave + r.normal(0, r.uniform(0, 30), (h, w))
    rgb = np.stack([base, base[::-1], np.roll(base, 7, axis=1)], axis=2)
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))


VECTOR_IMAGES = sorted(p for p in VECTORS.rglob("*") if p.suffix in (".jpg", ".jpeg", ".png"))


@pytest.mark.parametrize("path", VECTOR_IMAGES, ids=lambda p: p.name)
def test_numpy_pdq_equals_meta_reference_on_every_vector_image(path: Path) -> None:
    with Image.open(path) as image:
        ours, reference = hashing.pdq_of_image(image), hashing.pdq_of_image_reference(image)
        assert ours == reference
        eight, quality = hashing.pdq_dihedral(image)
        eight_ref, quality_ref = hashing.pdq_dihedral_reference(image)
    assert quality == quality_ref
    if quality >= hashing.MIN_PDQ_QUALITY:  # hashes that are ever matched: identical
        assert eight == eight_ref
    else:  # near-flat images: coefficients tie at the median; never matched anyway
        assert all(_distance(a, b) <= 4 for a, b in zip(eight, eight_ref, strict=True))


def test_numpy_pdq_equals_meta_reference_on_synthetic_images() -> None:
    differing = 0
    for seed in range(60):
        image = _synthetic(seed)
        assert hashing.pdq_of_image(image).quality == hashing.pdq_of_image_reference(image).quality
        eight, _ = hashing.pdq_dihedral(image)
        eight_ref, _ = hashing.pdq_dihedral_reference(image)
        worst = max(_distance(a, b) for a, b in zip(eight, eight_ref, strict=True))
        assert worst <= 2  # a coefficient within rounding of the median, at most
        differing += worst > 0
    assert differing <= 3


def _photo_with_exif(path: Path) -> None:
    """A generated JPEG whose EXIF names a camera and a GPS position (48°51'30"N 2°17'40"E)."""
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Synthetic Camera Co", "Model T"
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 30.0), 3: "E", 4: (2.0, 17.0, 40.0)}
    _photo().save(path, "JPEG", exif=exif.tobytes())


def test_cli_json_fills_the_camera_and_gps_that_triage_reads(tmp_path: Path) -> None:
    """`taskforce hash --json` prints the EXIF fields it names, the same values triage records."""
    from taskforce.cli import app

    target = tmp_path / "IMG_0001.jpg"
    _photo_with_exif(target)
    result = CliRunner().invoke(app, ["hash", "--json", str(target)])
    assert result.exit_code == 0, result.output
    line = json.loads(result.stdout.splitlines()[0])
    assert (line["camera_make"], line["camera_model"]) == ("Synthetic Camera Co", "Model T")
    assert (line["gps_lat"], line["gps_lon"]) == (48.858333, 2.294444)
    triage = hashing.hash_file(target, rotations=True)  # what triage records for the file
    assert (triage.camera_make, triage.camera_model, triage.gps_lat, triage.gps_lon) == (
        line["camera_make"],
        line["camera_model"],
        line["gps_lat"],
        line["gps_lon"],
    )
    shown = CliRunner().invoke(app, ["hash", str(target)])
    assert "Synthetic Camera Co Model T" in shown.stdout
    assert "48.858333, 2.294444" in shown.stdout
