"""Known media in memory for one triage run: exact hashes in dicts, PDQ in Hamming indexes.

Exact hits (SHA-256, SHA-1, MD5) are looked up first and skip the perceptual search. A PDQ
query is the file's eight rotations and mirror images; the nearest stored hash within the
threshold wins. Stored hashes of known low quality are left out of the index. A video is
matched by its vPDQ frames against the known videos' frames (`hashsets.videos`: the share of
its frames that match); the best share wins.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from taskforce.core.hamming import HammingIndex, hex_to_bytes
from taskforce.hashsets import videos
from taskforce.hashsets.formats import Frame, parse_vpdq
from taskforce.media.hashing import MIN_PDQ_QUALITY
from taskforce.media.schemas import FileHashes


@dataclass(frozen=True)
class KnownEntry:
    hash_set: str
    md5: str | None
    sha1: str | None
    sha256: str | None
    pdq: str | None
    pdq_quality: int | None
    category_scheme: str | None
    category_code: str | None
    series: str | None
    victim_identified: bool
    hash_set_id: uuid.UUID | None = None  # recorded with the case's results
    vpdq: str | None = None  # a known video's frames (compact vPDQ JSON)


@dataclass(frozen=True)
class Match:
    kind: str  # "exact" | "perceptual"
    distance: int  # videos: the median over the matched frames
    entry: KnownEntry
    video_share: float | None = None  # videos: share of the file's frames that match


class KnownMedia:
    def __init__(
        self,
        entries: Iterable[KnownEntry],
        video_query_share: float = 0.8,
        video_known_share: float = 0.0,
    ) -> None:
        self.entries: list[KnownEntry] = []
        self._exact: dict[str, int] = {}
        self.index = HammingIndex()
        self._frames = HammingIndex()
        self._frame_entry: list[int] = []  # frame number -> entry
        self._frames_per_entry: dict[int, int] = {}
        self._video_shares = (video_query_share, video_known_share)
        pdq_ids: list[int] = []
        pdq_codes: list[bytes] = []
        frame_codes: list[bytes] = []
        for entry in entries:
            i = len(self.entries)
            self.entries.append(entry)
            for digest in (entry.sha256, entry.sha1, entry.md5):
                if digest:
                    self._exact.setdefault(digest, i)
            if entry.pdq and (entry.pdq_quality is None or entry.pdq_quality >= MIN_PDQ_QUALITY):
                pdq_ids.append(i)
                pdq_codes.append(hex_to_bytes(entry.pdq))
            if entry.vpdq:
                frames = videos.usable(parse_vpdq(entry.vpdq))
                self._frames_per_entry[i] = len(frames)
                self._frame_entry.extend([i] * len(frames))
                frame_codes.extend(hex_to_bytes(f.pdq) for f in frames)
        self.index.add(pdq_ids, pdq_codes)
        self._frames.add(list(range(len(frame_codes))), frame_codes)

    def __len__(self) -> int:
        return len(self.entries)

    def match(self, found: FileHashes, threshold: int) -> Match | None:
        for digest in (found.sha256, found.sha1, found.md5):
            if digest and digest in self._exact:
                return Match("exact", 0, self.entries[self._exact[digest]])
        if found.vpdq and self._frame_entry:
            return self._video(found, threshold)
        if not found.pdq_usable or not found.pdq:
            return None
        queries = found.pdq_rotations or [found.pdq]
        best: tuple[int, int] | None = None
        for matches in self.index.query_many([hex_to_bytes(q) for q in queries], threshold):
            for entry_id, distance in matches[:1]:
                if best is None or distance < best[1]:
                    best = (entry_id, distance)
        if best is None:
            return None
        return Match("perceptual", int(best[1]), self.entries[best[0]])  # bits, a whole number

    def _video(self, found: FileHashes, threshold: int) -> Match | None:
        query = videos.usable(Frame(f.pdq, f.quality, f.timestamp) for f in found.vpdq or [])
        if not query:
            return None
        hits = self._frames.query_many([hex_to_bytes(f.pdq) for f in query], threshold)
        pairs = [
            (q, self._frame_entry[frame], frame, distance)
            for q, matches in enumerate(hits)
            for frame, distance in matches
        ]
        matches = videos.shares(len(query), pairs, self._frames_per_entry, *self._video_shares)
        if not matches:
            return None
        best = matches[0]
        return Match("perceptual", best.distance, self.entries[best.entry], best.query_share)
