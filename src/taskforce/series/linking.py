"""Candidate series from a case's new material: which unmatched images likely belong together,
and the evidence for it, for a victim-identification specialist to accept, split or reject.

The linking rule. Every examined pair of images is tested for five kinds of evidence:

- `pdq` (strong): PDQ hashes at most `Rules.pdq_distance` bits apart, both of quality ≥ 50 —
  the same picture resized, re-encoded or lightly edited.
- `camera_serial` (strong): the same camera make and body serial number (EXIF).
- `camera_burst`: the same camera make and model, taken at most `Rules.burst_seconds` apart,
  and no serial numbers that differ.
- `place`: GPS positions at most `Rules.place_metres` apart (haversine), taken at most
  `Rules.place_seconds` apart.
- `file_name`: the same folder and the same name around a number (IMG_0001.JPG, IMG_0002.HEIC,
  …), the numbers at most `Rules.name_gap` apart.

A pair is *linked* when it has strong evidence, or at least two different kinds of the other
three. One of those alone never links: strangers share a popular phone model and its clock's
minute, tourists share a landmark, and every camera writes IMG_0001. A proposal is a connected
component of the linked pairs (a networkx graph whose edges carry their evidence), so two
images need not be linked directly, only through a chain of linked pairs.

Pairs are not all examined (100k images would be 5·10⁹ pairs). Candidates come from where the
evidence can be: each image's PDQ neighbours from `core.hamming.HammingIndex` (the nearest
`Rules.pdq_neighbours` distinct codes); and its next few images (`Rules.neighbours`) after
sorting by serial number and time, by make and model and time, by folder-and-name pattern and
number, and by position cell and time (cells of twice the radius on 8 shifted 3-D grids, so any
two positions within the radius share a cell of one grid). Every candidate is then tested for
all five kinds at once, so evidence of two kinds found by one sort is never missed. Everything
is sorted or indexed once: near-linear in the number of images.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from taskforce.core.hamming import HammingIndex
from taskforce.media.hashing import MIN_PDQ_QUALITY

if TYPE_CHECKING:
    import networkx as nx  # imported where a graph is built: every `taskforce` command paid ~0.2 s

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]


class Kind(StrEnum):
    PDQ = "pdq"
    SERIAL = "camera_serial"
    BURST = "camera_burst"
    PLACE = "place"
    NAME = "file_name"


KINDS = tuple(Kind)
STRONG = frozenset({Kind.PDQ, Kind.SERIAL})
# How sure one kind alone makes us that two images belong together: only for ranking proposals
# (a linked pair's confidence is 1 − Π(1 − p) over its kinds); linking follows the rule above.
CONFIDENCE = {Kind.PDQ: 0.95, Kind.SERIAL: 0.9, Kind.BURST: 0.6, Kind.PLACE: 0.6, Kind.NAME: 0.4}
LABELS = {
    Kind.PDQ: "near-duplicate PDQ",
    Kind.SERIAL: "same camera serial number",
    Kind.BURST: "same camera model, taken minutes apart",
    Kind.PLACE: "same place and day (GPS)",
    Kind.NAME: "file-name sequence in one folder",
}

EARTH_METRES = 6_371_008.8
_PLACEHOLDER_SERIALS = frozenset({"none", "unknown", "n/a", "na", "null", "serial", "-"})
_NUMBERED = re.compile(r"^(.*?)(\d+)(\D*)$")


@dataclass(frozen=True, slots=True)
class Record:
    """One image as the engine sees it (a triage result's path, PDQ and EXIF)."""

    id: int
    path: str
    pdq: str | None = None
    pdq_quality: int | None = None
    camera_make: str | None = None
    camera_model: str | None = None
    camera_serial: str | None = None
    taken_at: str | datetime | None = None  # EXIF text ("2024:05:01 14:03:22") or a datetime
    gps_lat: float | None = None
    gps_lon: float | None = None


@dataclass(frozen=True)
class Rules:
    pdq_distance: int = 31  # the hub's PDQ match threshold
    min_pdq_quality: int = MIN_PDQ_QUALITY
    burst_seconds: float = 600.0
    place_metres: float = 50.0
    place_seconds: float = 86_400.0
    name_gap: int = 10
    neighbours: int = 4  # candidates per image and sort order
    pdq_neighbours: int = 32  # nearest distinct PDQ codes examined per image
    min_size: int = 2
    examples: int = 3  # example pairs kept per kind of evidence
    # Threads asking the PDQ index: 2 answered 20–27 % faster when the index alone was timed;
    # on busy cores (a hub serving requests) they only compete (docs/benchmarks.md).
    threads: int = 1


@dataclass
class Proposal:
    """A group the engine proposes: members (record ids) and why."""

    members: list[int]
    score: float
    evidence: list[dict[str, Any]] = field(default_factory=list)  # one entry per kind found
    summary: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> list[dict[str, Any]]:
        """What `SeriesProposal.evidence` stores: the kinds, then the summary."""
        return [*self.evidence, {"kind": "summary", **self.summary}]


# --- the engine: pure functions over records ----------------------------------------------------


def parse_taken_at(value: str | datetime | None) -> float:
    """EXIF capture time as seconds (NaN when absent or unreadable). The camera's clock has no
    zone; it is read as UTC, which keeps differences right within one camera or place."""
    if value is None:
        return math.nan
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.timestamp()
    text = value.strip()
    if len(text) < 19:
        return math.nan
    if text[4] == ":" and text[7] == ":":  # EXIF writes the date with colons
        text = f"{text[:4]}-{text[5:7]}-{text[8:10]}T{text[11:19]}"
    try:
        moment = datetime.fromisoformat(text[:19])
    except ValueError:
        return math.nan
    if moment.year < 1990:  # unset camera clocks
        return math.nan
    return moment.replace(tzinfo=UTC).timestamp()


def _norm(value: str | None) -> str | None:
    text = " ".join((value or "").split()).casefold()
    return text or None


def _serial(value: str | None) -> str | None:
    """A body serial number, or None for the placeholders some cameras write."""
    text = _norm(value)
    if text is None or text in _PLACEHOLDER_SERIALS or len(set(text)) == 1:
        return None
    return text


def name_pattern(path: str) -> tuple[str, int] | None:
    """(folder + name around its last number, that number), or None: IMG_0042.JPG in /a/DCIM
    gives ("/a/dcim|img_|", 42). Numbers of more than 9 digits are dates or ids, not a count."""
    folder, _, name = path.replace("\\", "/").rpartition("/")
    stem = name.rpartition(".")[0] or name
    found = _NUMBERED.match(stem)
    if found is None or len(found.group(2)) > 9:
        return None
    prefix, digits, suffix = found.groups()
    return f"{folder.casefold()}|{prefix.casefold()}|{suffix.casefold()}", int(digits)


class _Columns:
    """The records as arrays, one row per record (positions 0…n-1)."""

    def __init__(self, records: Sequence[Record], rules: Rules) -> None:
        n = len(records)
        self.n = n
        self.ids = np.array([r.id for r in records], dtype=np.int64)
        self.paths = [r.path for r in records]
        self.t = np.array([parse_taken_at(r.taken_at) for r in records], dtype=np.float64)
        models: dict[tuple[str | None, str], int] = {}
        serials: dict[tuple[str | None, str], int] = {}
        names: dict[str, int] = {}
        self.model = np.full(n, -1, dtype=np.int64)
        self.serial = np.full(n, -1, dtype=np.int64)
        self.name = np.full(n, -1, dtype=np.int64)
        self.number = np.zeros(n, dtype=np.int64)
        self.lat = np.full(n, math.nan)
        self.lon = np.full(n, math.nan)
        self.has_pdq = np.zeros(n, dtype=np.bool_)
        self.cameras = [camera(r.camera_make, r.camera_model) for r in records]
        self.serial_text = [(r.camera_serial or "").strip() or None for r in records]
        codes: list[bytes] = []
        for i, r in enumerate(records):
            make = _norm(r.camera_make)
            model = _norm(r.camera_model)
            if model is not None:
                self.model[i] = models.setdefault((make, model), len(models))
            serial = _serial(r.camera_serial)
            if serial is not None:
                self.serial[i] = serials.setdefault((make, serial), len(serials))
            pattern = name_pattern(r.path)
            if pattern is not None:
                self.name[i] = names.setdefault(pattern[0], len(names))
                self.number[i] = pattern[1]
            if _usable_position(r.gps_lat, r.gps_lon):
                self.lat[i], self.lon[i] = r.gps_lat, r.gps_lon
            code = _pdq_bytes(r.pdq) if (r.pdq_quality or 0) >= rules.min_pdq_quality else None
            if code is not None:
                self.has_pdq[i] = True
                codes.append(code)
            else:
                codes.append(bytes(32))
        raw = b"".join(codes)
        self.words = (
            np.frombuffer(raw, dtype=">u8").reshape(n, 4).astype(np.uint64)
            if n
            else np.zeros((0, 4), dtype=np.uint64)
        )
        self.codes = codes


def camera(make: str | None, model: str | None) -> str | None:
    """'Canon EOS 80D' from make 'Canon' and model 'Canon EOS 80D' or 'EOS 80D'."""
    make, model = " ".join((make or "").split()), " ".join((model or "").split())
    if model.casefold().startswith(make.casefold()):
        return model or None
    return f"{make} {model}".strip() or None


def _usable_position(lat: float | None, lon: float | None) -> bool:
    if lat is None or lon is None or not (math.isfinite(lat) and math.isfinite(lon)):
        return False
    if lat == 0 and lon == 0:  # "null island": no fix, written as zeros
        return False
    return -90 <= lat <= 90 and -180 <= lon <= 180


def _pdq_bytes(value: str | None) -> bytes | None:
    if not value:
        return None
    try:
        raw = bytes.fromhex(value.strip())
    except ValueError:
        return None
    return raw if len(raw) == 32 else None


_EMPTY = np.empty(0, dtype=np.int64)
_PDQ_BATCH = 5_000


def _next_in_order(valid: Bools, key: Ints, order: Floats | Ints, k: int) -> tuple[Ints, Ints]:
    """Pairs of records with the same key at most k apart once sorted by key, then `order`."""
    pos = np.flatnonzero(valid)
    if len(pos) < 2 or k < 1:
        return _EMPTY, _EMPTY
    ranked = pos[np.lexsort((order[pos], key[pos]))]
    keys = key[ranked]
    firsts, seconds = [], []
    for shift in range(1, min(k, len(ranked) - 1) + 1):
        same = keys[:-shift] == keys[shift:]
        firsts.append(ranked[:-shift][same])
        seconds.append(ranked[shift:][same])
    return np.concatenate(firsts), np.concatenate(seconds)


def _place_cells(cols: _Columns, metres: float) -> list[Ints]:
    """Cell keys of each position on 8 grids of cells 2·metres wide, shifted by `metres` along
    each axis of earth-centred coordinates: two positions within `metres` of each other are no
    more than that apart on any axis, so on one of the grids they share a cell."""
    metres = max(metres, 5.0)  # cells of 21-bit coordinates; larger cells only add candidates
    lat, lon = np.radians(cols.lat), np.radians(cols.lon)
    xyz = np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=1) * (
        EARTH_METRES / metres
    )  # in units of the radius
    keys = []
    for grid in range(8):
        shift = np.array([(grid >> axis) & 1 for axis in range(3)], dtype=np.float64)
        cell = np.floor((np.nan_to_num(xyz) + shift) / 2).astype(np.int64) + (1 << 20)
        keys.append((cell[:, 0] << 42) | (cell[:, 1] << 21) | cell[:, 2])
    return keys


def _pdq_pairs(cols: _Columns, rules: Rules) -> tuple[Ints, Ints]:
    """Each usable PDQ code's nearest distinct codes within the distance (identical codes are
    chained to each other), found by the hub's exact Hamming index."""
    pos = np.flatnonzero(cols.has_pdq)
    if len(pos) < 2:
        return _EMPTY, _EMPTY
    distinct, first, inverse = np.unique(
        cols.words[pos], axis=0, return_index=True, return_inverse=True
    )
    inverse = inverse.reshape(-1)
    firsts: list[Ints] = []
    seconds: list[Ints] = []
    # identical codes: each to the first of its kind
    same = pos[first[inverse]] != pos
    firsts.append(pos[first[inverse]][same])
    seconds.append(pos[same])
    representative = pos[first]
    codes = [cols.codes[int(p)] for p in representative]
    index = HammingIndex(tail_limit=1)  # straight into the multi-index: no flat scan of the tail
    index.add(list(range(len(codes))), codes)
    del distinct

    def nearest(start: int) -> tuple[list[int], list[int]]:
        a: list[int] = []
        b: list[int] = []
        found = index.query_many(codes[start : start + _PDQ_BATCH], rules.pdq_distance)
        for offset, near in enumerate(found):
            q = start + offset
            kept = 0
            for other, _distance in near:
                if other == q:
                    continue
                a.append(q)
                b.append(other)
                kept += 1
                if kept >= rules.pdq_neighbours:
                    break
        return a, b

    # The index answers batches on several threads at once (its numpy work releases the GIL).
    with ThreadPoolExecutor(max(1, rules.threads)) as pool:
        batches = list(pool.map(nearest, range(0, len(codes), _PDQ_BATCH)))
    a = [q for batch in batches for q in batch[0]]
    b = [other for batch in batches for other in batch[1]]
    firsts.append(representative[np.asarray(a, dtype=np.int64)])
    seconds.append(representative[np.asarray(b, dtype=np.int64)])
    return np.concatenate(firsts), np.concatenate(seconds)


def _candidates(cols: _Columns, rules: Rules) -> tuple[Ints, Ints]:
    """Distinct candidate pairs (i < j) from every blocking order."""
    timed = ~np.isnan(cols.t)
    sources = [
        _pdq_pairs(cols, rules),
        _next_in_order(cols.serial >= 0, cols.serial, cols.t, 1),
        _next_in_order((cols.model >= 0) & timed, cols.model, cols.t, rules.neighbours),
        _next_in_order(cols.name >= 0, cols.name, cols.number, rules.neighbours),
    ]
    placed = ~np.isnan(cols.lat) & timed
    if placed.sum() > 1:
        for cells in _place_cells(cols, rules.place_metres):
            sources.append(_next_in_order(placed, cells, cols.t, rules.neighbours))
    first = np.concatenate([s[0] for s in sources])
    second = np.concatenate([s[1] for s in sources])
    low, high = np.minimum(first, second), np.maximum(first, second)
    keep = low != high
    packed = np.unique(low[keep] * max(cols.n, 1) + high[keep])
    return packed // max(cols.n, 1), packed % max(cols.n, 1)


def haversine_metres(lat1: Floats, lon1: Floats, lat2: Floats, lon2: Floats) -> Floats:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    result: Floats = 2 * EARTH_METRES * np.arcsin(np.sqrt(np.clip(h, 0, 1)))
    return result


@dataclass
class _Pairs:
    """Candidate pairs with the evidence each has (one boolean column per kind)."""

    i: Ints
    j: Ints
    kinds: Bools  # (pairs, 5) in KINDS order
    distance: Ints  # PDQ bits apart (-1: no two usable codes)
    seconds: Floats  # |Δ taken_at| (NaN)
    metres: Floats  # GPS distance (NaN)

    @property
    def linked(self) -> Bools:
        strong = self.kinds[:, 0] | self.kinds[:, 1]
        result: Bools = strong | (self.kinds[:, 2:].sum(axis=1) >= 2)
        return result

    def confidence(self) -> Floats:
        doubt = np.ones(len(self.i))
        for column, kind in enumerate(KINDS):
            doubt *= np.where(self.kinds[:, column], 1 - CONFIDENCE[kind], 1.0)
        result: Floats = 1 - doubt
        return result

    def subset(self, keep: Bools) -> _Pairs:
        return _Pairs(
            self.i[keep],
            self.j[keep],
            self.kinds[keep],
            self.distance[keep],
            self.seconds[keep],
            self.metres[keep],
        )


def _evaluate(cols: _Columns, rules: Rules, every_pair: bool = False) -> _Pairs:
    if every_pair:
        first, second = np.triu_indices(cols.n, 1)
        i, j = first.astype(np.int64), second.astype(np.int64)
    else:
        i, j = _candidates(cols, rules)
    both_pdq = cols.has_pdq[i] & cols.has_pdq[j]
    distance = np.zeros(len(i), dtype=np.int64)
    for w in range(4):
        distance += np.bitwise_count(cols.words[i, w] ^ cols.words[j, w]).astype(np.int64)
    distance = np.where(both_pdq, distance, -1)
    seconds = np.abs(cols.t[i] - cols.t[j])
    metres = haversine_metres(cols.lat[i], cols.lon[i], cols.lat[j], cols.lon[j])
    with np.errstate(invalid="ignore"):
        serial_conflict = (cols.serial[i] >= 0) & (cols.serial[j] >= 0)
        serial_conflict &= cols.serial[i] != cols.serial[j]
        kinds = np.stack(
            [
                both_pdq & (distance <= rules.pdq_distance),
                (cols.serial[i] >= 0) & (cols.serial[i] == cols.serial[j]),
                (cols.model[i] >= 0)
                & (cols.model[i] == cols.model[j])
                & ~serial_conflict
                & (seconds <= rules.burst_seconds),
                (metres <= rules.place_metres) & (seconds <= rules.place_seconds),
                (cols.name[i] >= 0)
                & (cols.name[i] == cols.name[j])
                & (np.abs(cols.number[i] - cols.number[j]) <= rules.name_gap),
            ],
            axis=1,
        )
    pairs = _Pairs(i, j, kinds, distance, seconds, metres)
    evident = np.asarray(kinds.any(axis=1), dtype=np.bool_)
    return pairs.subset(evident)


def link_graph(records: Sequence[Record], rules: Rules | None = None) -> nx.Graph[int]:
    """The linked pairs as a graph over record ids; each edge carries its evidence kinds and
    confidence."""
    rules = rules or Rules()
    cols = _Columns(records, rules)
    pairs = _evaluate(cols, rules)
    return _graph(cols, pairs.subset(pairs.linked))


def _graph(cols: _Columns, linked: _Pairs) -> nx.Graph[int]:
    import networkx as nx

    graph: nx.Graph[int] = nx.Graph()
    masks = linked.kinds.astype(np.int64) @ (1 << np.arange(len(KINDS), dtype=np.int64))
    named = [
        tuple(k.value for bit, k in enumerate(KINDS) if mask >> bit & 1)
        for mask in range(1 << len(KINDS))
    ]
    graph.add_edges_from(
        (int(a), int(b), {"kinds": named[mask], "confidence": c})
        for a, b, mask, c in zip(
            cols.ids[linked.i].tolist(),
            cols.ids[linked.j].tolist(),
            masks.tolist(),
            linked.confidence().tolist(),
            strict=True,
        )
    )
    return graph


def propose(
    records: Sequence[Record], rules: Rules | None = None, *, every_pair: bool = False
) -> list[Proposal]:
    """Groups of records that likely belong together, best first (score, then size).

    `every_pair` tests all n·(n−1)/2 pairs instead of the candidates: quadratic, the reference
    that tests and the benchmark hold the candidate search to."""
    rules = rules or Rules()
    cols = _Columns(records, rules)
    pairs = _evaluate(cols, rules, every_pair)
    graph = _graph(cols, pairs.subset(pairs.linked))
    position = {int(record_id): p for p, record_id in enumerate(cols.ids.tolist())}
    group = np.full(cols.n, -1, dtype=np.int64)
    import networkx as nx

    components = [c for c in nx.connected_components(graph) if len(c) >= rules.min_size]
    for number, members in enumerate(components):
        group[[position[m] for m in members]] = number
    proposals = _describe(cols, pairs, group, len(components), rules)
    proposals.sort(key=lambda p: (-p.score, -len(p.members), p.members[0]))
    return proposals


def describe(records: Sequence[Record], rules: Rules | None = None) -> Proposal:
    """The evidence for a group the specialist fixed (after a split): every pair inside it,
    linked or not, as if the engine had proposed it."""
    rules = rules or Rules()
    cols = _Columns(records, rules)
    pairs = _evaluate(cols, rules)
    return _describe(cols, pairs, np.zeros(cols.n, dtype=np.int64), 1, rules)[0]


def _describe(
    cols: _Columns, pairs: _Pairs, group: Ints, groups: int, rules: Rules
) -> list[Proposal]:
    inside = (group[pairs.i] >= 0) & (group[pairs.i] == group[pairs.j])
    pairs = pairs.subset(inside)
    of_pair = group[pairs.i]
    linked = pairs.linked
    confidence = pairs.confidence()
    total = np.bincount(of_pair[linked], weights=confidence[linked], minlength=groups)
    count = np.bincount(of_pair[linked], minlength=groups)
    evidence: list[list[dict[str, Any]]] = [[] for _ in range(groups)]
    for column, kind in enumerate(KINDS):
        has = pairs.kinds[:, column]
        found = np.bincount(of_pair[has], minlength=groups)
        linking = np.bincount(of_pair[has & linked], minlength=groups)
        examples = _examples(cols, pairs.subset(has), of_pair[has], kind, rules.examples)
        for g in np.flatnonzero(found).tolist():
            evidence[g].append(
                {
                    "kind": kind.value,
                    "label": LABELS[kind],
                    "strong": kind in STRONG,
                    "pairs": int(found[g]),
                    "linking_pairs": int(linking[g]),
                    "examples": examples.get(g, []),
                }
            )
    members: list[list[int]] = [[] for _ in range(groups)]
    by_time = np.lexsort((np.array(cols.paths), np.nan_to_num(cols.t, nan=np.inf)))
    for p in by_time[group[by_time] >= 0].tolist():  # each group's members by time, then path
        members[int(group[p])].append(p)
    proposals = []
    for g in range(groups):
        positions = members[g]
        score = float(total[g] / count[g]) if count[g] else 0.0
        proposals.append(
            Proposal(
                members=[int(cols.ids[p]) for p in positions],
                score=round(score, 3),
                evidence=evidence[g],
                summary=_summary(cols, positions),
            )
        )
    return proposals


def _examples(
    cols: _Columns, pairs: _Pairs, of_pair: Ints, kind: Kind, limit: int
) -> dict[int, list[dict[str, Any]]]:
    """The first `limit` pairs of each group showing this kind: paths and what was measured."""
    order = np.argsort(of_pair, kind="stable")
    sorted_groups = of_pair[order]
    starts = np.searchsorted(sorted_groups, sorted_groups, side="left")
    chosen = order[(np.arange(len(order)) - starts) < limit]
    found: dict[int, list[dict[str, Any]]] = {}
    for p in chosen.tolist():
        a, b = int(pairs.i[p]), int(pairs.j[p])
        example: dict[str, Any] = {"a": cols.paths[a], "b": cols.paths[b]}
        if kind == Kind.PDQ:
            example["pdq_distance"] = int(pairs.distance[p])
        if kind in (Kind.BURST, Kind.PLACE) and not math.isnan(pairs.seconds[p]):
            example["seconds"] = round(float(pairs.seconds[p]))
        if kind == Kind.PLACE:
            example["metres"] = round(float(pairs.metres[p]), 1)
        found.setdefault(int(of_pair[p]), []).append(example)
    return found


def _summary(cols: _Columns, positions: Sequence[int]) -> dict[str, Any]:
    """What a specialist reads first: cameras, time span, place (rounded), folders."""
    return {
        "size": len(positions),
        "with_pdq": int(cols.has_pdq[list(positions)].sum()) if positions else 0,
        "cameras": _top(c for p in positions if (c := cols.cameras[p])),
        "serials": _top(s for p in positions if (s := cols.serial_text[p]) and _serial(s)),
        **_time_span(cols, positions),
        **_place(cols, positions),
        "folders": _top(p.replace("\\", "/").rpartition("/")[0] for p in _paths(cols, positions)),
    }


def _paths(cols: _Columns, positions: Iterable[int]) -> list[str]:
    return [cols.paths[p] for p in positions]


def _top(values: Iterable[str], limit: int = 3) -> list[dict[str, Any]]:
    return [{"value": v, "count": n} for v, n in Counter(values).most_common(limit)]


def _time_span(cols: _Columns, positions: Sequence[int]) -> dict[str, Any]:
    times = cols.t[list(positions)] if positions else np.empty(0)
    times = times[~np.isnan(times)]
    if not len(times):
        return {"with_time": 0, "first_taken": None, "last_taken": None}

    def text(seconds: float) -> str:
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S")

    return {
        "with_time": len(times),
        "first_taken": text(float(times.min())),
        "last_taken": text(float(times.max())),
    }


def _place(cols: _Columns, positions: Sequence[int]) -> dict[str, Any]:
    """Where the group's GPS positions are, rounded to about 100 m: enough to say "one place"
    without repeating exact coordinates, which stay in the triage results."""
    index = list(positions)
    lat, lon = cols.lat[index], cols.lon[index]
    has = ~np.isnan(lat)
    if not has.any():
        return {"with_gps": 0, "place": None}
    lat, lon = lat[has], lon[has]
    centre_lat, centre_lon = float(lat.mean()), float(lon.mean())
    spread = haversine_metres(
        np.full(len(lat), centre_lat), np.full(len(lat), centre_lon), lat, lon
    )
    return {
        "with_gps": int(has.sum()),
        "place": {
            "lat": round(centre_lat, 3),
            "lon": round(centre_lon, 3),
            "spread_metres": round(float(spread.max()) / 10) * 10,
        },
    }
