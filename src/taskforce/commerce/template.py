"""The fingerprint of a page's template: the shape of its DOM, not its words.

Commercial sites rename themselves (a new brand, a new title, new prices, even on every reload)
while the shop software behind them stays the same. The fingerprint therefore reads only the
elements: tag names, their order, and the *shape* of class names, with every part that holds a
digit (`css-1x9f2k`, `card-37`, `c412`) made `*`. Text, titles, attribute values, scripts and
styles are ignored. What is hashed is the *set* of element shapes and of consecutive pairs of
shapes in document order, so a run of identical product cards (twelve or forty) counts once and
the number of items on sale does not change the fingerprint, while different shop software
(other tags, other nesting, other class vocabularies) does.

Limits: class names generated from letters only (`css-abcdef`) look like words and are kept;
only the first 20,000 elements are read.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import re
from collections.abc import Iterable

from selectolax.lexbor import LexborHTMLParser

SKIPPED = frozenset({"script", "style", "noscript", "template", "-text", "-comment", "!doctype"})
MAX_ELEMENTS = 20_000
_GENERATED = re.compile(r"(?<![a-z0-9_])[a-z_]*\d[a-z0-9_]*")
_SEP = "\x1f"


@functools.lru_cache(maxsize=4096)
def _shape_of(normalised: str) -> str:
    return ".".join(sorted(set(normalised.split()[:32])))


def class_shapes(classes: list[str]) -> list[str]:
    """Each class attribute's shape: lower-cased, parts with digits made `*` (one regular
    expression over all of them, not one per element), tokens sorted and de-duplicated."""
    if not classes:
        return []
    joined = _GENERATED.sub("*", _SEP.join(c[:512] for c in classes).lower())
    return [_shape_of(value) for value in joined.split(_SEP)]


def fingerprint_of(elements: Iterable[tuple[str, str]]) -> str:
    """The fingerprint of (tag, class attribute) pairs in document order."""
    tags: list[str] = []
    classes: list[str] = []
    for tag, cls in elements:
        if len(tags) >= MAX_ELEMENTS:
            break
        tags.append(tag)
        classes.append(cls)
    shapes = [f"{t}.{c}" for t, c in zip(tags, class_shapes(classes), strict=True)]
    seen = set(shapes) | {f"{a}>{b}" for a, b in itertools.pairwise(shapes)}
    return hashlib.sha256("\n".join(sorted(seen)).encode("utf-8")).hexdigest()


def fingerprint(tree: LexborHTMLParser) -> str:
    """The hex SHA-256 of the page's DOM shape (see the module docstring)."""
    root = tree.root
    if root is None:
        return fingerprint_of([])
    return fingerprint_of(
        (node.tag or "", node.attributes.get("class") or "")
        for node in root.traverse()
        if node.tag not in SKIPPED
    )
