"""The server-side drawing: well-formed SVG (parsed with defusedxml), one node per site and
indicator, hostile labels escaped, the same bytes for the same graph, and readable at 200
nodes (leaf indicators folded into counts, only hubs labelled)."""

from __future__ import annotations

from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET

from taskforce.commerce import drawing
from taskforce.commerce.drawing import Edge, Node

SVG = "{http://www.w3.org/2000/svg}"


def parse(text: str) -> Element:
    root: Element = SafeET.fromstring(text)
    return root


def node_groups(root: Element) -> list[Element]:
    nodes = root.find(f"{SVG}g[@class='nodes']")
    assert nodes is not None
    return nodes.findall(f"{SVG}g")


def small() -> tuple[list[Node], list[Edge]]:
    nodes = [Node(f"s{n}", "site", f"shop-{n}.example") for n in range(3)]
    nodes += [
        Node("w", "wallet", "bc1qexamplewallet"),
        Node("m", "merchant", "MID-0001"),
        Node("t", "template", "ab" * 32),
    ]
    edges = [Edge(f"s{n}", k) for n in range(3) for k in ("w", "m")] + [Edge("s0", "t")]
    return nodes, edges


def test_well_formed_with_one_node_each_and_a_legend() -> None:
    nodes, edges = small()
    root = parse(drawing.svg(nodes, edges, title="Group north"))
    assert root.tag == f"{SVG}svg"
    assert root.get("viewBox", "").startswith("0 0 1000 ")
    assert root.get("width") is None  # scales to its container: a phone's width too
    assert len(node_groups(root)) == 6
    edges_g = root.find(f"{SVG}g[@class='edges']")
    assert edges_g is not None
    assert len(edges_g.findall(f"{SVG}line")) == 7
    legend = "".join(root.find(f"{SVG}g[@class='legend']").itertext())  # type: ignore[union-attr]
    for name in ("site", "wallet", "merchant account", "page template"):
        assert name in legend
    assert root.findtext(f"{SVG}title") == "Group north"


def test_a_hostile_label_is_escaped_never_injected() -> None:
    hostile = '<script>alert("x")</script>&"\''
    nodes = [Node("s", "site", hostile, title=hostile), Node("e", "email", hostile)]
    text = drawing.svg(nodes, [Edge("s", "e")], title=hostile)
    assert "<script>" not in text
    root = parse(text)
    assert not list(root.iter("script"))
    assert not list(root.iter(f"{SVG}script"))
    titles = [t.text for t in root.iter(f"{SVG}title")]
    assert hostile in titles  # the tooltip holds the value, as text


def test_the_same_graph_draws_the_same_bytes() -> None:
    nodes, edges = small()
    assert drawing.svg(nodes, edges) == drawing.svg(list(reversed(nodes)), list(reversed(edges)))


def test_readable_at_two_hundred_nodes() -> None:
    """40 sites sharing 10 wallets (4 sites each) and 5 analytics ids (2 sites each), each
    site with 4 indicators of its own: 215 nodes given; the 160 leaves fold into one "+4"
    per site, and only hubs (sites, indicators on 3 sites or more) carry a label."""
    nodes = [Node(f"site{n:02d}", "site", f"shop-{n:02d}.example") for n in range(40)]
    nodes += [Node(f"w{k}", "wallet", f"bc1qwallet{k}") for k in range(10)]
    nodes += [Node(f"a{k}", "analytics", f"UA-00000{k}-1") for k in range(5)]
    edges = [Edge(f"site{n:02d}", f"w{n % 10}") for n in range(40)]
    edges += [Edge(f"site{n:02d}", f"a{n // 2}") for n in range(10)]
    for n in range(40):
        for k in range(4):
            nodes.append(Node(f"e{n}-{k}", "email", f"own{k}@shop-{n}.example"))
            edges.append(Edge(f"site{n:02d}", f"e{n}-{k}"))
    assert len(nodes) == 215
    root = parse(drawing.svg(nodes, edges))
    groups = node_groups(root)
    assert len(groups) == 40 + 10 + 5 + 40  # sites, wallets, analytics ids, one "+4" each
    more = [g for g in groups if g.findtext(f"{SVG}text") == "+4"]
    assert len(more) == 40
    assert "4 email" in (more[0].findtext(f"{SVG}title") or "")
    labelled = [g for g in groups if g.find(f"{SVG}text") is not None]
    assert len(labelled) == 40 + 10 + 40  # sites, wallets and counts; not the analytics ids
    edges_g = root.find(f"{SVG}g[@class='edges']")
    assert edges_g is not None
    assert edges_g.get("stroke-width") == "0.6"


def test_empty_and_single_node() -> None:
    assert len(node_groups(parse(drawing.svg([], [])))) == 0
    assert len(node_groups(parse(drawing.svg([Node("a", "site", "a.example")], [])))) == 1
