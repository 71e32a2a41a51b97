"""A graph drawn on the server as SVG: no script, nothing fetched, every value escaped, the
same drawing for the same graph. Sites and indicators are nodes, shaped and coloured by kind
(shape and colour both, so the legend reads in greyscale and for colour-blind readers: the
Okabe–Ito palette), laid out by networkx (Fruchterman–Reingold, fixed seed), turned so its
long axis lies along the width, and scaled into a `viewBox` with no fixed size, so the drawing
fits a phone's width as well as a screen's.

Readable at 200 nodes: over `COLLAPSE_OVER` nodes the indicators only one site carries fold
into a "+n" node beside that site, edges are thin, and only hubs (sites, and indicators on
three sites or more) are labelled; every node keeps its full label in a `<title>` tooltip.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

import networkx as nx
import numpy as np

COLLAPSE_OVER = 80  # nodes: above this, leaf indicators fold into counts
LABEL_ALL_UNDER = 40  # nodes: below this, every node is labelled
MAX_LABEL = 22  # characters shown; the tooltip has the rest
FORCE_UNDER = 500  # nodes: networkx lays out fewer with numpy alone
SPREAD = 2.0  # the layout's ideal edge length, in units of 1/sqrt(nodes)
WIDTH = 1000.0
SEED = 18
INK = "#1f2933"
EDGE = "#8a939c"

# kind → (shape, fill, legend): Okabe & Ito's colour-blind-safe palette, and a shape each
STYLE: dict[str, tuple[str, str, str]] = {
    "site": ("circle", "#0072B2", "site"),
    "wallet": ("diamond", "#E69F00", "wallet"),
    "merchant": ("square", "#D55E00", "merchant account"),
    "template": ("hexagon", "#CC79A7", "page template"),
    "processor": ("square", "#999999", "processor"),
    "affiliate": ("triangle", "#009E73", "affiliate id"),
    "email": ("triangle", "#56B4E9", "e-mail"),
    "messenger": ("triangle", "#F0E442", "messenger"),
    "analytics": ("dot", "#999999", "analytics id"),
    "ip": ("dot", "#000000", "IP address"),
    "more": ("circle", "#ffffff", "indicators of one site"),
}
RADIUS = {"site": 9.0, "more": 8.0, "dot": 5.0}


@dataclass(frozen=True)
class Node:
    id: str
    kind: str  # "site" or an indicator kind
    label: str
    title: str = ""  # the tooltip: the full label by default


@dataclass(frozen=True)
class Edge:
    a: str
    b: str
    weight: float = 1.0


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


def _collapse(nodes: list[Node], edges: list[Edge]) -> tuple[list[Node], list[Edge]]:
    """Indicators on one site only fold into one "+n" node per site."""
    degree: Counter[str] = Counter()
    for e in edges:
        degree[e.a] += 1
        degree[e.b] += 1
    kinds = {n.id: n.kind for n in nodes}
    leaves = {n.id for n in nodes if n.kind != "site" and degree[n.id] <= 1}
    folded: dict[str, list[str]] = defaultdict(list)
    kept_edges: list[Edge] = []
    for e in edges:
        if e.b in leaves and kinds.get(e.a) == "site":
            folded[e.a].append(kinds[e.b])
        elif e.a in leaves and kinds.get(e.b) == "site":
            folded[e.b].append(kinds[e.a])
        else:
            kept_edges.append(e)
    kept = [n for n in nodes if n.id not in leaves]
    for site, found in sorted(folded.items()):
        count = Counter(found)
        detail = ", ".join(f"{c} {k}" for k, c in sorted(count.items()))
        more = Node(f"{site}#more", "more", f"+{len(found)}", f"{len(found)} more: {detail}")
        kept.append(more)
        kept_edges.append(Edge(site, more.id))
    return kept, kept_edges


def _level(positions: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
    """Turn the layout so its long axis lies along the width (a layout's spread is often
    diagonal: a page is wide and short)."""
    if len(positions) < 3:
        return positions
    points = np.asarray(list(positions.values()), dtype=float)
    points -= points.mean(axis=0)
    _, vectors = np.linalg.eigh(np.cov(points.T))
    axis = vectors[:, -1]  # the direction of greatest spread
    if axis[int(np.argmax(np.abs(axis)))] < 0:  # the same turn whatever sign numpy picks
        axis = -axis
    cos, sin = float(axis[0]), float(axis[1])
    return {
        key: (float(x * cos + y * sin), float(-x * sin + y * cos))
        for key, (x, y) in zip(positions, points.tolist(), strict=True)
    }


def _shape(shape: str, x: float, y: float, r: float, fill: str) -> str:
    stroke = f'fill="{fill}" stroke="{INK}" stroke-width="1"'
    if shape == "circle" or shape == "dot":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" {stroke}/>'
    if shape == "square":
        side = f'width="{2 * r:.1f}" height="{2 * r:.1f}"'
        return f'<rect x="{x - r:.1f}" y="{y - r:.1f}" {side} {stroke}/>'
    if shape == "diamond":
        points = [(x, y - r * 1.3), (x + r * 1.3, y), (x, y + r * 1.3), (x - r * 1.3, y)]
    elif shape == "triangle":
        points = [(x, y - r * 1.2), (x + r * 1.1, y + r * 0.8), (x - r * 1.1, y + r * 0.8)]
    else:  # hexagon
        points = [
            (x + r * 1.15 * math.cos(a), y + r * 1.15 * math.sin(a))
            for a in (math.pi / 3 * k for k in range(6))
        ]
    joined = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
    return f'<polygon points="{joined}" {stroke}/>'


def svg(nodes: Sequence[Node], edges: Sequence[Edge], *, title: str = "graph") -> str:
    """The drawing, as an `<svg>` element to put in a page (or save as a file)."""
    node_list = sorted({n.id: n for n in nodes}.values(), key=lambda n: (n.kind != "site", n.id))
    known = {n.id for n in node_list}
    edge_list = sorted(
        {
            (min(e.a, e.b), max(e.a, e.b)): e for e in edges if e.a in known and e.b in known
        }.values(),
        key=lambda e: (min(e.a, e.b), max(e.a, e.b)),
    )
    if len(node_list) > COLLAPSE_OVER:
        node_list, edge_list = _collapse(node_list, edge_list)
    g: nx.Graph[str] = nx.Graph()
    g.add_nodes_from(n.id for n in node_list)
    g.add_edges_from((e.a, e.b) for e in edge_list)
    big = len(node_list) > COLLAPSE_OVER
    positions: dict[str, tuple[float, float]] = {n.id: (0.0, 0.0) for n in node_list}
    if 2 <= len(node_list) < FORCE_UNDER:
        spread = SPREAD / math.sqrt(len(node_list))  # wider than networkx's 1/sqrt(n): labels
        laid = nx.spring_layout(g, k=spread, seed=SEED, iterations=150, method="force")
        positions = {k: (float(v[0]), float(v[1])) for k, v in laid.items()}
    elif len(node_list) >= FORCE_UNDER:  # networkx needs scipy for a force layout this big
        positions = {k: (float(v[0]), float(v[1])) for k, v in nx.circular_layout(g).items()}
    positions = _level(positions)
    legend_height = 30.0
    margin = 40.0
    xs = [float(p[0]) for p in positions.values()] or [0.0]
    ys = [float(p[1]) for p in positions.values()] or [0.0]
    span_x = (max(xs) - min(xs)) or 1.0
    span_y = (max(ys) - min(ys)) or 1.0
    inner = WIDTH - 2 * margin
    # at least 0.6 of the width high: a long, flat layout is stretched rather than squashed
    height = max(0.6 * inner, min(inner, inner * span_y / span_x)) + 2 * margin + legend_height

    def place(node_id: str) -> tuple[float, float]:
        px, py = positions[node_id]
        x = margin + (float(px) - min(xs)) / span_x * inner
        y = (
            legend_height
            + margin
            + (float(py) - min(ys)) / span_y * (height - legend_height - 2 * margin)
        )
        return x, y

    where = {n.id: place(n.id) for n in node_list}
    degree = dict(g.degree())
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH:.0f} {height:.0f}" '
        f'role="img" aria-labelledby="graph-title" class="commerce-graph">',
        f'<title id="graph-title">{escape(title)}</title>',
        f'<g class="edges" stroke="{EDGE}" stroke-width="{0.6 if big else 1.2}" fill="none">',
    ]
    for e in edge_list:
        (x1, y1), (x2, y2) = where[e.a], where[e.b]
        out.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}"/>')
    out.append("</g>")
    out.append(f'<g class="nodes" font-family="sans-serif" font-size="11" fill="{INK}">')
    for n in node_list:
        shape, fill, _ = STYLE.get(n.kind, ("dot", "#999999", n.kind))
        r = RADIUS.get(n.kind, RADIUS["dot"] if shape == "dot" else 6.5)
        x, y = where[n.id]
        tooltip = n.title or n.label
        out.append(f"<g><title>{escape(tooltip)}</title>{_shape(shape, x, y, r, fill)}")
        if n.kind == "more":
            out.append(
                f'<text x="{x:.1f}" y="{y + 3.5:.1f}" text-anchor="middle" font-size="8">'
                f"{escape(n.label)}</text>"
            )
        elif len(node_list) < LABEL_ALL_UNDER or n.kind == "site" or degree.get(n.id, 0) >= 3:
            # labels of the right third go to the node's left, so none runs off the edge
            left = x > WIDTH * 2 / 3
            at = f'x="{x - r - 3:.1f}" text-anchor="end"' if left else f'x="{x + r + 3:.1f}"'
            out.append(f'<text {at} y="{y + 4:.1f}">{escape(_short(n.label))}</text>')
        out.append("</g>")
    out.append("</g>")
    out.append(_legend([k for k in STYLE if any(n.kind == k for n in node_list)]))
    out.append("</svg>")
    return "\n".join(out)


def _legend(kinds: list[str]) -> str:
    """One row of shapes and names at the top, in the order of STYLE."""
    parts = ['<g class="legend" font-family="sans-serif" font-size="11" fill="' + INK + '">']
    x = 12.0
    for kind in kinds:
        shape, fill, name = STYLE[kind]
        parts.append(_shape(shape, x, 16.0, 5.0, fill))
        parts.append(f'<text x={quoteattr(f"{x + 9:.1f}")} y="20">{escape(name)}</text>')
        x += 18 + 6.2 * len(name)
    parts.append("</g>")
    return "".join(parts)
