"""PDQ robustness: do edited copies of a picture still match it, and do unrelated pictures not?

For a set of benign synthetic pictures (smooth shapes, gradients and texture made here), each
picture is edited in the ways material is re-shared (resize, JPEG quality 50, 5 % crop, mirror,
rotation by 90 degrees, brightness +/-20 %, a text overlay, greyscale) and hashed with
taskforce's PDQ. A copy matches when one of the original's eight rotation/mirror hashes is
within the threshold (31) of the copy's hash, as triage matches. False matches are counted
between every pair of different originals.

The last columns save each copy as a JPEG (quality 90) and hash it both ways from its bytes:
the exact path (`taskforce hash`) and triage's reduced path (luma straight from the JPEG,
DCT-scaled), so a change in match rate from the reduced path shows beside the exact one.

Run: .venv/bin/python benchmarks/robustness.py --pictures 100
"""

from __future__ import annotations

import argparse
import io
import itertools
from collections.abc import Callable

import numpy as np
import threadpoolctl
from PIL import Image, ImageDraw, ImageEnhance, ImageOps
from rich.console import Console
from rich.table import Table

from taskforce.media import hashing

console = Console(stderr=True)
THRESHOLD = 31


def picture(rng: np.random.Generator, size: tuple[int, int] = (800, 600)) -> Image.Image:
    """Gradients, ellipses and noise texture: structure like a photo, content like nothing."""
    w, h = size
    x = np.linspace(0, 1, w, dtype=np.float32)
    y = np.linspace(0, 1, h, dtype=np.float32)[:, None]
    channels = []
    for _ in range(3):
        a, b, c = rng.uniform(1, 9, 3)
        channels.append((np.sin(x * a + c) * np.cos(y * b) + 1) * 100)
    rgb = np.clip(np.stack(channels, axis=2) + rng.normal(0, 8, (h, w, 3)), 0, 255)
    image = Image.fromarray(rgb.astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(3, 9))):
        x0, y0 = int(rng.integers(0, w - 50)), int(rng.integers(0, h - 50))
        x1, y1 = x0 + int(rng.integers(30, w // 2)), y0 + int(rng.integers(30, h // 2))
        colour = tuple(int(v) for v in rng.integers(0, 255, 3))
        draw.ellipse((x0, y0, x1, y1), fill=colour)
    return image


def _jpeg(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


def _crop(image: Image.Image) -> Image.Image:
    w, h = image.size
    dx, dy = int(w * 0.025), int(h * 0.025)
    return image.crop((dx, dy, w - dx, h - dy))


def _text(image: Image.Image) -> Image.Image:
    copy = image.copy()
    draw = ImageDraw.Draw(copy)
    for row in range(3):
        draw.text((20, 20 + 40 * row), "shared via example.com  #repost", fill=(255, 255, 255))
    return copy


EDITS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "resize to 50 %": lambda im: im.resize((im.width // 2, im.height // 2)),
    "JPEG quality 50": lambda im: _jpeg(im, 50),
    "crop 5 %": _crop,
    "mirror": ImageOps.mirror,
    "rotate 90 degrees": lambda im: im.transpose(Image.Transpose.ROTATE_90),
    "brightness +20 %": lambda im: ImageEnhance.Brightness(im).enhance(1.2),
    "brightness -20 %": lambda im: ImageEnhance.Brightness(im).enhance(0.8),
    "text overlay": _text,
    "greyscale": lambda im: ImageOps.grayscale(im).convert("RGB"),
}


def _as_jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _hashed(data: bytes, *, reduced: bool) -> str:
    found = hashing.hash_stream(io.BytesIO(data), "copy.jpg", reduced=reduced)
    assert found.pdq is not None, found.error
    return found.pdq


def _distance(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--pictures", type=int, default=100)
    parser.add_argument("--seed", type=int, default=20261123)
    args = parser.parse_args(argv)
    # one BLAS thread: the products are small, and on a busy machine OpenBLAS's spinning
    # threads made a 3-picture run take minutes instead of seconds
    threadpoolctl.threadpool_limits(1)
    rng = np.random.default_rng(args.seed)
    originals = [picture(rng) for _ in range(args.pictures)]
    eights = [hashing.pdq_dihedral(im)[0] for im in originals]
    table = Table(title=f"PDQ robustness, {args.pictures} pictures, threshold {THRESHOLD}")
    columns = ("edit", "matched", "rate", "median bits", "max bits")
    for column in (*columns, "JPEG exact rate", "JPEG triage rate", "triage max bits"):
        table.add_column(column)
    rows = []
    for name, edit in EDITS.items():
        distances, exact, reduced = [], [], []
        for image, eight in zip(originals, eights, strict=True):
            copy = edit(image)
            distances.append(min(_distance(hashing.pdq_of_image(copy).hex, h) for h in eight))
            data = _as_jpeg(copy)
            exact.append(min(_distance(_hashed(data, reduced=False), h) for h in eight))
            reduced.append(min(_distance(_hashed(data, reduced=True), h) for h in eight))
        matched = sum(d <= THRESHOLD for d in distances)
        rows.append(
            (
                name,
                matched,
                matched / len(distances),
                int(np.median(distances)),
                max(distances),
                sum(d <= THRESHOLD for d in exact) / len(exact),
                sum(d <= THRESHOLD for d in reduced) / len(reduced),
                max(reduced),
            )
        )
    for name, matched, rate, median, worst, jpeg, fast, fast_worst in rows:
        table.add_row(
            name,
            f"{matched}/{args.pictures}",
            f"{rate:.0%}",
            str(median),
            str(worst),
            f"{jpeg:.0%}",
            f"{fast:.0%}",
            str(fast_worst),
        )
    pairs = list(itertools.combinations(range(args.pictures), 2))
    false = [
        (i, j) for i, j in pairs if min(_distance(eights[i][0], h) for h in eights[j]) <= THRESHOLD
    ]
    console.print(table)
    console.print(
        f"false matches between unrelated pictures: {len(false)} of {len(pairs):,} "
        "pairs (any of 8 orientations)"
    )
    print(
        "| edit | matched | rate | median bits | max bits | JPEG exact rate | JPEG triage rate "
        "| triage max bits |\n|---|---|---|---|---|---|---|---|"
    )
    for name, matched, rate, median, worst, jpeg, fast, fast_worst in rows:
        print(
            f"| {name} | {matched}/{args.pictures} | {rate:.0%} | {median} | {worst} "
            f"| {jpeg:.0%} | {fast:.0%} | {fast_worst} |"
        )
    print(f"\nFalse matches between unrelated pictures: {len(false)} of {len(pairs):,} pairs.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
