"""Hashes of files: MD5/SHA-1/SHA-256 in one read, PDQ for images, type by content.

Images are whatever Pillow opens, plus HEIC/HEIF through `pillow-heif` (type by content:
`filetype` reads the `ftyp` brand, e.g. image/heic, image/heif).

PDQ follows Meta's reference (`pdqhash`, the C++ PDQ behind Python bindings) fed as
python-threatexchange feeds it: `np.asarray` of the Pillow image, images with alpha or 16-bit
samples converted to RGB first, greyscale repeated into three channels. Hashes are computed by
`pdq_numpy`, the same algorithm as two matrix products, several times faster; the tests hold
both to Meta's published vectors (`tests/vectors/pdq`) and to each other. Triage asks for the
reduced path (`reduced=True`): JPEGs decoded straight to luma at reduced scale, PDQ within a
few bits of the reference for less decoding (a third less at 12 MP; docs/benchmarks.md);
`taskforce hash` keeps the exact one.

Quality is PDQ's own 0-100 measure of how much structure the image has; Meta recommends not
matching hashes below 50 (flat or tiny images make hashes that match everything).
"""

from __future__ import annotations

import hashlib
import io
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import filetype
import numpy as np
import numpy.typing as npt
import pdqhash
import pillow_heif
from PIL import Image

from taskforce.media import letterbox, pdq_numpy, video
from taskforce.media.schemas import FileHashes, VideoCrop, VideoFrameRead

# HEIC/HEIF (phones' default photo format) in Pillow's Image.open: libheif, from the wheel.
# Registered at import, so triage's worker processes have it too.
pillow_heif.register_heif_opener()

MIN_PDQ_QUALITY = 50
CHUNK = 1 << 20
# Files up to this size are read once into memory, the digests and the decoder sharing the bytes;
# larger ones (videos, disk images) are streamed in chunks.
READ_AT_ONCE = 64 << 20
# Reduced decoding (triage): libjpeg's DCT scaling (1/2, 1/4, 1/8) while the short side of the
# decoded image stays at least this long, PDQ's blur weighted as at full size
# (`pdq_numpy._scaled_operator`). Measured against the reference on photo-like JPEGs
# (docs/benchmarks.md): 1/2 of 640x480 (240 px) ~97 % within 4 bits, max 6; 1/4 of 1280x960 and
# 1/8 of 4000x3000 all within 2-4 bits; 1/8 of 1280x960 (120 px) only 90 % within 4.
REDUCED_MIN_SIDE = 240
JPEG_FORMATS = ("JPEG", "MPO")  # MPO: cameras' multi-picture JPEG, decoded as its first picture
# Pillow refuses images over 2x its limit and warns over 1x; refuse anything over the limit
# (89 megapixels: a 30000x30000 "image" is a decompression bomb, not evidence to hash).
MAX_IMAGE_PIXELS = 89_478_485

# Order of `pdqhash.compute_dihedral`: the eight ways a picture can be turned and mirrored.
DIHEDRAL = (
    "original",
    "rotate90",
    "rotate180",
    "rotate270",
    "flip_vertical",
    "flip_horizontal",
    "rotate90_flip_vertical",
    "rotate90_flip_horizontal",
)


class MediaError(Exception):
    """A file that cannot be hashed as it claims to be; the message says why."""


@dataclass(frozen=True)
class Pdq:
    hex: str
    quality: int

    @property
    def usable(self) -> bool:
        return self.quality >= MIN_PDQ_QUALITY


@dataclass(frozen=True)
class Digests:
    size: int
    md5: str
    sha1: str
    sha256: str


def digests_of(data: bytes) -> Digests:
    """MD5, SHA-1 and SHA-256 of bytes already in memory (each one call, outside the GIL)."""
    return Digests(
        len(data),
        hashlib.md5(data, usedforsecurity=False).hexdigest(),
        hashlib.sha1(data, usedforsecurity=False).hexdigest(),
        hashlib.sha256(data).hexdigest(),
    )


def digests(stream: BinaryIO) -> Digests:
    """MD5, SHA-1 and SHA-256 of everything left in `stream`, read once."""
    # MD5 and SHA-1 identify files in every hash list of the field; they protect nothing here
    md5 = hashlib.md5(usedforsecurity=False)
    sha1 = hashlib.sha1(usedforsecurity=False)
    sha256 = hashlib.sha256()
    size = 0
    while chunk := stream.read(CHUNK):
        size += len(chunk)
        md5.update(chunk)
        sha1.update(chunk)
        sha256.update(chunk)
    return Digests(size, md5.hexdigest(), sha1.hexdigest(), sha256.hexdigest())


def media_type(head: bytes) -> str | None:
    """MIME type from the first bytes (magic numbers), or None when unknown."""
    kind = filetype.guess(head)
    return kind.mime if kind is not None else None


def is_image_type(mime: str | None) -> bool:
    return mime is not None and mime.startswith("image/")


def _bits_to_hex(vector: npt.NDArray[np.integer]) -> str:
    return np.packbits(np.asarray(vector, dtype=np.uint8)).tobytes().hex()


def pixels(image: Image.Image) -> npt.NDArray[np.uint8]:
    """The array Meta's Python tooling hands to PDQ: RGB, or greyscale in three channels."""
    if image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    array = np.asarray(image)
    if array.ndim == 2:
        array = np.repeat(array[:, :, np.newaxis], 3, axis=2)
    return array


def pdq_of_image(image: Image.Image) -> Pdq:
    """PDQ by `pdq_numpy` (5-7x faster than the binding, equal on Meta's vectors)."""
    hex_hash, quality = pdq_numpy.pdq(pixels(image))
    return Pdq(hex_hash, quality)


def pdq_of_image_reference(image: Image.Image) -> Pdq:
    """PDQ by Meta's C++ reference (`pdqhash`): what `pdq_numpy` is held to."""
    vector, quality = pdqhash.compute(pixels(image))
    return Pdq(_bits_to_hex(vector), int(quality))


def pdq_dihedral(image: Image.Image) -> tuple[list[str], int]:
    """The PDQ of all eight rotations and mirror images (one DCT), in `DIHEDRAL` order.

    A query is turned, never the hash set: matching a query's eight hashes finds a stored
    image however it was rotated or mirrored."""
    return pdq_numpy.dihedral(pixels(image))


def unletterbox(
    image: Image.Image, *, black_threshold: int = letterbox.BLACK_THRESHOLD
) -> Image.Image:
    """The image with its black bars cut off (Meta's `unletterbox` rule, `letterbox.py`).

    A copy re-published with bars then hashes near the original. The image itself is
    returned when there is nothing to cut (no bars, or an all-black picture)."""
    rgb = image if image.mode in ("RGB", "L") else image.convert("RGB")
    box = letterbox.crop_for(letterbox.content_box(np.asarray(rgb), black_threshold), *image.size)
    return image if box is None else image.crop(box.as_tuple())


def luma(image: Image.Image) -> npt.NDArray[np.uint8]:
    """The image's luma as one 8-bit channel: JPEG's own Y when decoded so (`open_image` with
    `reduced`), else Pillow's conversion of the RGB that `pixels` would hand to PDQ."""
    if image.mode != "L":
        image = (image if image.mode == "RGB" else image.convert("RGB")).convert("L")
    return np.asarray(image)


def reduced_scale(width: int, height: int, min_side: int = REDUCED_MIN_SIDE) -> int:
    """The largest of libjpeg's DCT scales (8, 4, 2: 1/8 to 1/2) that leaves the short side at
    least `min_side` long, else 1 (full size)."""
    short = min(width, height)
    for scale in (8, 4, 2):
        if short // scale >= min_side:
            return scale
    return 1


def pdq_dihedral_reference(image: Image.Image) -> tuple[list[str], int]:
    vectors, quality = pdqhash.compute_dihedral(pixels(image))
    return [_bits_to_hex(v) for v in vectors], int(quality)


def open_image(stream: BinaryIO, *, reduced: bool = False) -> Image.Image:
    """Open and fully decode an image, refusing decompression bombs and truncated files.

    `reduced` (triage): a JPEG is decoded straight to its luma channel, DCT-scaled down while
    its short side stays `REDUCED_MIN_SIDE` long; PDQ then comes within a few bits of the
    reference instead of equal to it (docs/benchmarks.md), for less decoding."""
    return _decode(stream, reduced=reduced)[0]


def _decode(stream: BinaryIO, *, reduced: bool) -> tuple[Image.Image, tuple[int, int]]:
    """`open_image`, and the picture's full (width, height) before any reduced decoding."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(stream)
        width, height = image.size
        if width * height > MAX_IMAGE_PIXELS:
            raise MediaError(
                f"image of {width}x{height} pixels is over the limit of "
                f"{MAX_IMAGE_PIXELS:,} pixels (decompression bomb?)"
            )
        if reduced and image.format in JPEG_FORMATS:
            scale = reduced_scale(width, height)
            image.draft("L", (max(width // scale, 1), max(height // scale, 1)))
        image.load()
    except MediaError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise MediaError(f"decompression bomb refused: {exc}") from None
    except (OSError, SyntaxError, ValueError) as exc:  # libheif: ValueError, with a newline
        raise MediaError(f"cannot decode image: {str(exc).strip()}") from None
    return image, (width, height)


def hash_file(
    path: Path,
    *,
    display: str | None = None,
    rotations: bool = False,
    reduced: bool = False,
    seconds_per_frame: float = 1.0,
) -> FileHashes:
    """Every hash of one file; problems go into `error`, never raised.

    Videos get vPDQ, one frame every `seconds_per_frame` (0: every frame), black bars cut
    off first (`vpdq_crop` says where). `reduced`: see `hash_stream`."""
    try:
        with path.open("rb") as stream:
            result = hash_stream(stream, display or str(path), rotations=rotations, reduced=reduced)
    except OSError as exc:
        return FileHashes(path=display or str(path), error=f"cannot read: {exc.strerror or exc}")
    if (result.media_type or "").startswith("video/") and not result.error:
        try:
            found = video.hash_video(path, seconds_per_hash=seconds_per_frame)
        except video.VideoError as exc:
            result.error = str(exc)
        except (RuntimeError, ValueError, OSError) as exc:
            result.error = f"cannot decode video: {exc}"
        else:
            result.vpdq = [VideoFrameRead(**vars(f)) for f in found.frames]
            if found.crop is not None:
                result.vpdq_crop = VideoCrop(
                    **vars(found.crop), frame_width=found.width, frame_height=found.height
                )
            if not found.frames:
                result.error = "cannot decode video: no frame could be read"
    return result


def hash_stream(
    stream: BinaryIO, display: str, *, rotations: bool = False, reduced: bool = False
) -> FileHashes:
    """Hashes of a seekable stream (a file, or an archive member read into memory).

    Images get their camera metadata (make, model, serial, capture time, GPS) from EXIF, read
    here once for `taskforce hash` and triage alike; with `rotations` also the PDQ of their
    eight rotations and mirror images (triage's queries). With `reduced` (triage) JPEGs are
    decoded straight to luma at reduced scale (`open_image`) and other images converted to
    luma: PDQ within a few bits of Meta's reference; without it (`taskforce hash`), equal.
    MD5, SHA-1 and SHA-256 are of the file's bytes either way."""
    result = FileHashes(path=display)
    try:
        data = stream.read(READ_AT_ONCE + 1)
        result.media_type = media_type(data[:8192])
        if len(data) <= READ_AT_ONCE:  # read once: the digests and the decoder share the bytes
            found = digests_of(data)
            source: BinaryIO = io.BytesIO(data)
        else:
            stream.seek(0)
            found = digests(stream)
            source = stream
        del data
        result.size, result.md5, result.sha1, result.sha256 = (
            found.size,
            found.md5,
            found.sha1,
            found.sha256,
        )
        if found.size == 0:
            result.error = "empty file (0 bytes)"
        elif is_image_type(result.media_type):
            source.seek(0)
            image, (width, height) = _decode(source, reduced=reduced)
            if reduced:
                y, full = luma(image), (height, width)
                if rotations:
                    eight, quality = pdq_numpy.dihedral_luma(y, full)
                    result.pdq, result.pdq_quality, result.pdq_rotations = eight[0], quality, eight
                else:
                    result.pdq, result.pdq_quality = pdq_numpy.pdq_luma(y, full)
            elif rotations:
                eight, quality = pdq_dihedral(image)
                result.pdq, result.pdq_quality, result.pdq_rotations = eight[0], quality, eight
            else:
                pdq = pdq_of_image(image)
                result.pdq, result.pdq_quality = pdq.hex, pdq.quality
            result.pdq_usable = result.pdq_quality is not None and (
                result.pdq_quality >= MIN_PDQ_QUALITY
            )
            _camera(image, result)
    except MediaError as exc:
        result.error = str(exc)
    except OSError as exc:
        result.error = f"cannot read: {exc.strerror or exc}"
    return result


_EXIF_IFD = 0x8769
_GPS_IFD = 0x8825
_MAKE, _MODEL, _DATETIME = 0x010F, 0x0110, 0x0132
_DATETIME_ORIGINAL, _BODY_SERIAL = 0x9003, 0xA431


def _camera(image: Image.Image, result: FileHashes) -> None:
    """Camera make, model, serial number, capture time and GPS position from EXIF, if any."""
    try:
        exif = image.getexif()
        details = exif.get_ifd(_EXIF_IFD)
        gps = exif.get_ifd(_GPS_IFD)
    except Exception:
        return
    result.camera_make = _text(exif.get(_MAKE))
    result.camera_model = _text(exif.get(_MODEL))
    result.camera_serial = _text(details.get(_BODY_SERIAL))
    result.taken_at = _text(details.get(_DATETIME_ORIGINAL) or exif.get(_DATETIME))
    result.gps_lat = _degrees(gps.get(2), gps.get(1), "S")
    result.gps_lon = _degrees(gps.get(4), gps.get(3), "W")


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = value.decode(errors="replace") if isinstance(value, bytes) else str(value)
    text = text.strip("\x00 ").strip()
    return text[:200] or None


def _degrees(dms: object, ref: object, negative: str) -> float | None:
    try:
        d, m, s = (float(x) for x in dms)  # type: ignore[attr-defined]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    value = d + m / 60 + s / 3600
    return round(-value if str(ref).strip().upper() == negative else value, 6)


def walk(paths: Iterable[Path]) -> Iterable[Path]:
    """Files under the given paths, in a stable order; symlinked folders are not followed."""
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            for child in sorted(path.rglob("*")):
                if child.is_file() and not child.is_symlink():
                    yield child
        else:
            yield path
