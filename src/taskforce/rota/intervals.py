"""Interval arithmetic for the rota engine: a desk's duty as labelled pieces of time, and the
union, subtraction, intersection and priority flattening the layers are built from. Pure."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Protocol


# What the timeline and the iCal feed draw: the engine's results, or the service's reads of them.
class ShiftLike(Protocol):
    @property
    def desk_id(self) -> uuid.UUID: ...
    @property
    def starts_at(self) -> datetime: ...
    @property
    def ends_at(self) -> datetime: ...
    @property
    def source(self) -> str: ...


class OffDutyLike(Protocol):
    @property
    def desk_id(self) -> uuid.UUID: ...
    @property
    def starts_at(self) -> datetime: ...
    @property
    def ends_at(self) -> datetime: ...
    @property
    def reason(self) -> str: ...


class GapLike(Protocol):
    @property
    def requirement_id(self) -> uuid.UUID: ...
    @property
    def starts_at(self) -> datetime: ...
    @property
    def ends_at(self) -> datetime: ...


# A piece of a desk's duty: (starts, ends, priority, source, source id).
Piece = tuple[datetime, datetime, int, str, uuid.UUID | None]


def union(spans: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Sorted, merged (touching spans join)."""
    out: list[tuple[datetime, datetime]] = []
    for lo, hi in sorted(spans):
        if out and lo <= out[-1][1]:
            if hi > out[-1][1]:
                out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return out


def cut(pieces: list[Piece], holes: list[tuple[datetime, datetime]]) -> list[Piece]:
    """`pieces` less the merged, sorted `holes`."""
    if not holes:
        return pieces
    out: list[Piece] = []
    for lo, hi, prio, source, sid in pieces:
        for h_lo, h_hi in holes:
            if h_hi <= lo:
                continue
            if h_lo >= hi:
                break
            if h_lo > lo:
                out.append((lo, h_lo, prio, source, sid))
            lo = max(lo, h_hi)
            if lo >= hi:
                break
        if lo < hi:
            out.append((lo, hi, prio, source, sid))
    return out


def intersect(
    spans: list[tuple[datetime, datetime]], lo: datetime, hi: datetime
) -> list[tuple[datetime, datetime]]:
    return [(max(a, lo), min(b, hi)) for a, b in spans if a < hi and b > lo]


def normalise(pieces: list[Piece]) -> list[Piece]:
    """One desk's pieces as non-overlapping time, each stretch labelled by the highest
    priority piece covering it; touching stretches of one label merge into one shift."""
    pieces.sort(key=lambda p: (p[0], p[1]))
    if all(pieces[i][0] >= pieces[i - 1][1] for i in range(1, len(pieces))):
        flat = pieces
    else:
        points = sorted({p[0] for p in pieces} | {p[1] for p in pieces})
        flat, active, nxt = [], [], 0
        for a, b in itertools.pairwise(points):
            while nxt < len(pieces) and pieces[nxt][0] <= a:
                active.append(pieces[nxt])
                nxt += 1
            active = [p for p in active if p[1] > a]
            if active:
                best = max(active, key=lambda p: (p[2], str(p[4])))
                flat.append((a, b, best[2], best[3], best[4]))
    out: list[Piece] = []
    for piece in flat:
        if out and out[-1][1] == piece[0] and out[-1][3:] == piece[3:]:
            out[-1] = (out[-1][0], piece[1], *out[-1][2:])
        else:
            out.append(piece)
    return out
