"""Sanitising clue images (metadata gone, limits, non-images) and resolving target regions."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from builders import jpeg, picture
from PIL import Image

from taskforce.core.errors import Invalid
from taskforce.notices import images, regions


def _open(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


class TestSanitise:
    def test_gps_and_camera_exif_are_gone_and_named(self, gps_jpeg: bytes) -> None:
        assert _open(gps_jpeg).getexif().get_ifd(0x8825)  # the upload does carry a position
        clean = images.sanitise(gps_jpeg)
        stored = _open(clean.content)
        assert clean.media_type == "image/jpeg"
        assert stored.format == "JPEG"
        assert len(stored.getexif()) == 0
        assert not stored.getexif().get_ifd(0x8825)
        assert b"ExampleCam" not in clean.content
        assert b"Exif" not in clean.content
        assert "GPS position" in clean.removed
        assert "EXIF" in clean.removed
        assert clean.sha256 != clean.original_sha256
        assert len(clean.sha256) == 64
        assert (clean.width, clean.height) == (640, 480)

    def test_orientation_is_applied_to_the_pixels_before_the_exif_goes(self) -> None:
        exif = Image.Exif()
        exif[0x0112] = 6  # rotate 90° clockwise to display
        clean = images.sanitise(jpeg(picture(3), exif=exif))
        assert (clean.width, clean.height) == (480, 640)
        assert len(_open(clean.content).getexif()) == 0

    def test_png_text_and_transparency(self) -> None:
        from PIL import PngImagePlugin

        rgba = picture(4).convert("RGBA")
        rgba.putpixel((0, 0), (0, 0, 0, 0))
        info = PngImagePlugin.PngInfo()
        info.add_text("Comment", "taken at 12 Example Street")
        out = io.BytesIO()
        rgba.save(out, "PNG", pnginfo=info)
        clean = images.sanitise(out.getvalue())
        assert clean.media_type == "image/png"
        assert b"Example Street" not in clean.content
        assert "PNG text" in clean.removed
        assert _open(clean.content).mode == "RGBA"

    def test_large_pictures_are_scaled_down(self) -> None:
        clean = images.sanitise(jpeg(picture(5, size=(4000, 1000)), quality=60))
        assert max(clean.width, clean.height) == images.MAX_SIDE

    @pytest.mark.parametrize(
        ("data", "rule"),
        [
            (b"", "is empty"),
            (b"%PDF-1.7 not a picture", "must be a JPEG, PNG or WebP picture"),
            (b"GIF89a" + b"\0" * 100, "must be a JPEG, PNG or WebP picture"),
            (jpeg(picture(1))[:300], "must be a JPEG, PNG or WebP picture"),
        ],
    )
    def test_non_images_are_refused(self, data: bytes, rule: str) -> None:
        with pytest.raises(Invalid) as err:
            images.sanitise(data)
        assert err.value.field == "image"
        assert err.value.rule == rule

    def test_size_limit(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(images, "MAX_IMAGE_BYTES", 1000)
        with pytest.raises(Invalid, match="at most"):
            images.sanitise(jpeg(picture(2)))

    def test_decompression_bomb_is_refused_before_decoding(self) -> None:
        """A tiny PNG that declares 50,000 x 50,000 pixels."""

        def chunk(kind: bytes, body: bytes) -> bytes:
            return (
                struct.pack(">I", len(body))
                + kind
                + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
            )

        header = struct.pack(">IIBBBBB", 50_000, 50_000, 8, 2, 0, 0, 0)
        bomb = (
            b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\0" * 1000))
            + chunk(b"IEND", b"")
        )
        with pytest.raises(Invalid) as err:
            images.sanitise(bomb)
        assert err.value.field == "image"


class TestRegions:
    def test_regions_and_sub_regions_follow_m49(self) -> None:
        cat = regions.catalogue()
        assert {"Africa", "Americas", "Asia", "Europe", "Oceania"} <= set(cat)
        assert cat["Sub-Saharan Africa"].parent == "Africa"
        assert {"ZA", "NA", "LS"} <= cat["Sub-Saharan Africa"].countries
        assert "NL" in cat["Western Europe"].countries
        assert "GB" in cat["Northern Europe"].countries

    def test_resolve_regions_codes_and_names(self) -> None:
        names, countries = regions.resolve(["sub-saharan africa", "nl", "Poland", " "])
        assert names == ["Sub-Saharan Africa", "NL", "PL"]
        assert {"ZA", "NL", "PL"} <= countries
        assert "GB" not in countries

    def test_no_target_means_every_member(self) -> None:
        assert regions.resolve([]) == ([], frozenset())

    def test_unknown_region_names_the_field_and_the_rule(self) -> None:
        with pytest.raises(Invalid) as err:
            regions.resolve(["Europe", "Atlantis"])
        assert err.value.field == "targets"
        assert "UN M49 region" in err.value.rule
        assert "'Atlantis'" in err.value.rule

    def test_parse_country(self) -> None:
        assert regions.parse_country("za", "countries") == "ZA"
        assert regions.parse_country("South Africa", "countries") == "ZA"
        assert regions.parse_country("POL", "countries") == "PL"
        with pytest.raises(Invalid) as err:
            regions.parse_country("XX", "countries")
        assert err.value.field == "countries"
