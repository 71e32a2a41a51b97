"""Triage's reduced path (`reduced=True`): JPEGs decoded straight to luma, DCT-scaled when
large; PDQ held within a few bits of Meta's reference, everything else equal to the exact path.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pdqhash
import pytest
from PIL import Image, ImageDraw

from taskforce.media import hashing

# The bound per picture; the benchmark holds the corpus to >= 95 % within 4 bits, none over 12.
BOUND = 6


def _photo(width: int, height: int, seed: int) -> Image.Image:
    """Gradient, filled shapes with soft edges and mild noise: photo-like structure."""
    rng = np.random.default_rng(seed)
    w2, h2 = width // 2, height // 2
    ramp = (
        np.linspace(0, 1, w2, dtype=np.float32)[None, :] * 0.6
        + np.linspace(0, 1, h2, dtype=np.float32)[:, None] * 0.4
    )
    c0, c1 = rng.uniform(30, 220, 3), rng.uniform(30, 220, 3)
    image = Image.fromarray((c0 * (1 - ramp[..., None]) + c1 * ramp[..., None]).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    side = min(w2, h2)
    for _ in range(10):
        cx, cy, r = rng.uniform(0, w2), rng.uniform(0, h2), rng.uniform(0.05, 0.35) * side
        colour = tuple(int(v) for v in rng.uniform(0, 255, 3))
        draw.ellipse((cx - r, cy - r * 0.7, cx + r, cy + r * 1.2), fill=colour)
    image = image.resize((width, height), Image.Resampling.BILINEAR)
    noise = rng.standard_normal((height, width, 1), dtype=np.float32) * 6
    return Image.fromarray(np.clip(np.asarray(image) + noise, 0, 255).astype(np.uint8))


def _encoded(image: Image.Image, fmt: str, **kw: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kw)
    return buffer.getvalue()


def _reference(data: bytes) -> tuple[list[str], int]:
    """Meta's C++ PDQ of the full RGB decode: the eight hashes and the quality."""
    with Image.open(io.BytesIO(data)) as image:
        return hashing.pdq_dihedral_reference(image)


def _distance(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


SIZES = {"0.3 MP": (640, 480), "1.2 MP": (1280, 960), "12 MP": (4000, 3000)}


@pytest.mark.parametrize("portrait", [False, True], ids=["landscape", "portrait"])
@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_reduced_jpeg_pdq_stays_within_the_bound(size: tuple[int, int], portrait: bool) -> None:
    width, height = (size[1], size[0]) if portrait else size
    data = _encoded(_photo(width, height, seed=width + 7 * portrait), "JPEG", quality=90)
    reduced = hashing.hash_stream(io.BytesIO(data), "x.jpg", rotations=True, reduced=True)
    exact = hashing.hash_stream(io.BytesIO(data), "x.jpg", rotations=True)
    eight, _quality = _reference(data)
    assert reduced.error is None
    assert reduced.pdq_rotations is not None
    assert len(reduced.pdq_rotations) == 8
    for ours, theirs in zip(reduced.pdq_rotations, eight, strict=True):
        assert _distance(ours, theirs) <= BOUND
    assert (reduced.md5, reduced.sha1, reduced.sha256, reduced.size) == (
        exact.md5,
        exact.sha1,
        exact.sha256,
        len(data),
    )
    assert reduced.media_type == "image/jpeg"


def test_large_jpegs_are_decoded_to_luma_at_reduced_scale() -> None:
    data = _encoded(_photo(4000, 3000, seed=1), "JPEG", quality=90)
    image = hashing.open_image(io.BytesIO(data), reduced=True)
    assert (image.mode, image.size) == ("L", (500, 375))  # 1/8
    small = _encoded(_photo(1280, 960, seed=2), "JPEG", quality=90)
    image = hashing.open_image(io.BytesIO(small), reduced=True)
    assert (image.mode, image.size) == ("L", (320, 240))  # 1/4; 1/8 would leave 120 px
    assert hashing.open_image(io.BytesIO(data)).mode == "RGB"  # the exact path is unchanged


@pytest.mark.parametrize(
    ("width", "height", "scale"),
    [(200, 100, 1), (479, 479, 1), (480, 480, 2), (640, 480, 2), (1280, 960, 4), (4000, 3000, 8)],
)
def test_reduced_scale_keeps_the_short_side(width: int, height: int, scale: int) -> None:
    assert hashing.reduced_scale(width, height) == scale
    assert min(width, height) // scale >= min(hashing.REDUCED_MIN_SIDE, min(width, height))


FORMATS: dict[str, tuple[str, str, dict[str, object]]] = {
    "png": ("PNG", "RGB", {}),
    "png-rgba": ("PNG", "RGBA", {}),
    "png-grey": ("PNG", "L", {}),
    "gif": ("GIF", "P", {}),
    "webp": ("WEBP", "RGB", {"lossless": True}),
    "tiff-cmyk": ("TIFF", "CMYK", {}),
    "jpeg-cmyk": ("JPEG", "CMYK", {"quality": 95}),
}


@pytest.mark.parametrize("name", FORMATS)
def test_other_formats_are_decoded_in_full_and_hashed_as_luma(name: str) -> None:
    fmt, mode, kw = FORMATS[name]
    data = _encoded(_photo(800, 600, seed=3).convert(mode), fmt, **kw)
    reduced = hashing.hash_stream(io.BytesIO(data), f"x.{name}", rotations=True, reduced=True)
    exact = hashing.hash_stream(io.BytesIO(data), f"x.{name}", rotations=True)
    assert reduced.error is None, reduced.error
    assert exact.pdq is not None
    assert reduced.pdq is not None
    assert _distance(reduced.pdq, exact.pdq) <= BOUND
    assert reduced.md5 == exact.md5
    assert reduced.media_type == exact.media_type


def test_heic_is_hashed_on_the_reduced_path() -> None:
    data = _encoded(_photo(800, 600, seed=4), "HEIF", quality=90)  # pillow-heif's x265
    reduced = hashing.hash_stream(io.BytesIO(data), "x.heic", reduced=True)
    exact = hashing.hash_stream(io.BytesIO(data), "x.heic")
    assert reduced.media_type in ("image/heic", "image/heif")
    assert reduced.pdq is not None
    assert exact.pdq is not None
    assert _distance(reduced.pdq, exact.pdq) <= BOUND


def test_camera_data_is_read_on_the_reduced_path() -> None:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "ExampleCam", "Model 7"
    exif.get_ifd(0x8769)[0x9003] = "2026:01:02 03:04:05"
    data = _encoded(_photo(4000, 3000, seed=5), "JPEG", quality=85, exif=exif)
    found = hashing.hash_stream(io.BytesIO(data), "x.jpg", rotations=True, reduced=True)
    assert (found.camera_make, found.camera_model) == ("ExampleCam", "Model 7")
    assert found.taken_at == "2026:01:02 03:04:05"


def test_a_file_larger_than_one_read_is_streamed_with_the_same_hashes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "big.jpg"
    path.write_bytes(_encoded(_photo(1280, 960, seed=6), "JPEG", quality=90))
    whole = hashing.hash_file(path, rotations=True, reduced=True)
    monkeypatch.setattr(hashing, "READ_AT_ONCE", 10_000)
    streamed = hashing.hash_file(path, rotations=True, reduced=True)
    assert streamed == whole
    assert streamed.size == path.stat().st_size


def test_the_exact_path_still_equals_meta_on_a_luma_jpeg() -> None:
    """`taskforce hash` (no `reduced`) feeds Meta's array, not JPEG's own luma."""
    data = _encoded(_photo(1280, 960, seed=8), "JPEG", quality=90)
    with Image.open(io.BytesIO(data)) as image:
        vector, quality = pdqhash.compute(np.asarray(image.convert("RGB")))
    expected = np.packbits(vector.astype(np.uint8)).tobytes().hex()
    found = hashing.hash_stream(io.BytesIO(data), "x.jpg")
    assert _distance(found.pdq or "", expected) <= 2  # pdq_numpy: equal but for rounding ties
    assert found.pdq_quality == int(quality)
