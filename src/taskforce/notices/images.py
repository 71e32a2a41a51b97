"""Sanitising a clue image: only pixels leave this module.

A clue image shows an object or a background (a socket, a cereal box, a curtain), never a
child. The upload is decoded and drawn again into a new JPEG (or PNG when it has transparency):
the new file carries no EXIF (so no GPS position, camera serial or capture time), no XMP, no
ICC profile, no comment and no PNG text, whatever the original held. Orientation from EXIF is
applied to the pixels first, so the picture still looks the right way up. Very large pictures
are scaled down: a clue needs detail, not the sensor's full resolution.

Limits stop a hostile upload before it costs memory: bytes before decoding, pixels before the
pixels are decoded (a small PNG can declare 100,000 x 100,000 pixels).
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from taskforce.core.errors import Invalid

MAX_IMAGE_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
MAX_SIDE = 2560  # longest side kept after re-encoding
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")
_GPS_IFD = 0x8825
_EXIF_IFD = 0x8769


@dataclass(frozen=True)
class SanitisedImage:
    content: bytes
    media_type: str  # image/jpeg | image/png
    sha256: str
    width: int
    height: int
    original_sha256: str  # of the upload, to recognise the same upload later; never stored raw
    removed: tuple[str, ...]  # what metadata the upload carried and the stored file does not


def _metadata_found(image: Image.Image) -> list[str]:
    found: list[str] = []
    exif = image.getexif()
    if len(exif) or exif.get_ifd(_EXIF_IFD):
        found.append("EXIF")
    if exif.get_ifd(_GPS_IFD):
        found.append("GPS position")
    info = image.info
    if "xmp" in info or "XML:com.adobe.xmp" in info:
        found.append("XMP")
    if "icc_profile" in info:
        found.append("ICC profile")
    if "comment" in info:
        found.append("comment")
    text = getattr(image, "text", None)
    if image.format == "PNG" and text:
        found.append("PNG text")
    return found


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )


def sanitise(raw: bytes) -> SanitisedImage:
    """Decode, check and re-encode an upload; `Invalid(field="image")` on anything else."""
    if not raw:
        raise Invalid("image", "is empty")
    if len(raw) > MAX_IMAGE_BYTES:
        raise Invalid("image", f"must be at most {MAX_IMAGE_BYTES // (1024 * 1024)} MB")
    not_a_picture = Invalid("image", "must be a JPEG, PNG or WebP picture")
    image: Image.Image
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(raw), formats=ACCEPTED_FORMATS)
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise Invalid(
                    "image", f"must have at most {MAX_PIXELS // 1_000_000} million pixels"
                )
            removed = _metadata_found(image)
            image.load()
            image = ImageOps.exif_transpose(image) or image
    except Invalid:
        raise
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        OSError,
        ValueError,
        SyntaxError,
        EOFError,
    ):
        raise not_a_picture from None
    alpha = _has_alpha(image)
    # A fresh image from the pixels alone: nothing of the original's info travels with it.
    pixels = image.convert("RGBA" if alpha else "RGB")
    clean = Image.new(pixels.mode, pixels.size)
    clean.paste(pixels)
    if max(clean.size) > MAX_SIDE:
        clean.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if alpha:
        clean.save(out, "PNG", optimize=True)
        media_type = "image/png"
    else:
        clean.save(out, "JPEG", quality=88, optimize=True)
        media_type = "image/jpeg"
    content = out.getvalue()
    return SanitisedImage(
        content=content,
        media_type=media_type,
        sha256=hashlib.sha256(content).hexdigest(),
        width=clean.width,
        height=clean.height,
        original_sha256=hashlib.sha256(raw).hexdigest(),
        removed=tuple(removed),
    )
