"""The provider-side checker: is this URL on the hub's block list?

Importable without the hub's database (it needs only `normalise` and `signing`)::

    checker = Checker.from_document(json.load(open("blocklist.json")), load_public(KEY))
    checker.is_blocked("http://Example.com/gallery/1.jpg")   # Match(...) or None

A URL is blocked when its normalised key is listed exactly, or when the host plus one of its
path prefixes (``/a/b/c`` → ``/a/b/c``, ``/a/b``, ``/a``, ``/``) is a listed prefix entry: one
dictionary lookup for the exact key and one per path level (no deeper than the host's deepest
prefix entry), whatever the list's size. URLs
already in normal form (lower-case http(s), plain ASCII, no escapes, ports or dot segments)
skip the full parser; anything else goes through `normalise.split`, so both give the same key.
A URL in normal form whose host no entry names is answered without looking at its path. The
fast paths do not validate everything the parser does (label lengths, odd characters in an
unlisted host): such a URL may be answered "not blocked" where the parser would refuse it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, NamedTuple

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from taskforce.blocklist import normalise, signing
from taskforce.core.errors import Invalid

FORMAT = "taskforce-blocklist/1"
EXACT, PREFIX = "exact", "prefix"

# After "http://" or "https://": a lower-case host of plain labels (no port, user info or
# trailing dot) and a path and query without escapes or characters that need them. `key_of`
# also requires no "/." (dot segments), no "//", no trailing "/" and no empty "?"; such a URL is
# already in normal form (see normalise.py's rules), so it is its own key.
_NORMAL = re.compile(r"[a-z0-9.-]*[a-z0-9]/[A-Za-z0-9\-._~!$&'()*+,;=:@/?]*")
_NORMAL_MATCH = _NORMAL.fullmatch


class Match(NamedTuple):
    key: str  # the listed entry that matched
    match: str  # "exact" | "prefix"
    category: str


def _rest(url: str) -> str | None:
    if url.startswith("http://"):
        return url[7:]
    if url.startswith("https://"):
        return url[8:]
    return None


def key_of(url: str, rest: str | None = None) -> str:
    """The block-list key of `url` (= `normalise.block_key`), fast for URLs in normal form.

    The fast path does not check label lengths: a URL the parser would refuse for a 64-letter
    label gets a key here, which no listed entry can equal."""
    rest = rest or _rest(url)
    if (
        rest is not None
        and _NORMAL.fullmatch(rest) is not None
        and "/." not in rest
        and "//" not in rest
        and "/?" not in rest
        and rest[-1] != "?"
        and (rest[-1] != "/" or rest.find("/") == len(rest) - 1)
    ):
        return rest
    parts = normalise.split(url)
    return f"{parts.host}{parts.path}?{parts.query}" if parts.query else parts.host + parts.path


class Checker:
    """Answers `is_blocked(url)` against one version of the list."""

    def __init__(self, entries: Iterable[Match], *, version: int = 0) -> None:
        self.version = version
        self._exact: dict[str, Match] = {}
        # exact keys whose port is the other scheme's default (https://h:80/a is h:80/a, but
        # http://h:80/a is h/a): found only after parsing, never on the raw URL
        self._exact_odd_port: dict[str, Match] = {}
        self._hosts: set[str] = set()  # every host an entry names
        # host → (deepest prefix entry in path segments, {path: entry})
        self._prefixes: dict[str, tuple[int, dict[str, Match]]] = {}
        for entry in entries:
            self.add(entry)

    def add(self, entry: Match) -> None:
        self._hosts.add(entry.key[: entry.key.find("/")])
        if entry.match == PREFIX:
            host, _, path = entry.key.partition("/")
            depth, paths = self._prefixes.get(host, (0, {}))
            paths["/" + path] = entry
            self._prefixes[host] = (max(depth, path.count("/") + 1 if path else 0), paths)
        elif entry.key[: entry.key.find("/")].endswith((":80", ":443")):
            self._exact_odd_port[entry.key] = entry
        else:
            self._exact[entry.key] = entry

    def discard(self, key: str, match: str) -> None:
        if match == PREFIX:
            host, _, path = key.partition("/")
            self._prefixes.get(host, (0, {}))[1].pop("/" + path, None)
        else:
            self._exact.pop(key, None)
            self._exact_odd_port.pop(key, None)

    def __len__(self) -> int:
        prefixes = sum(len(paths) for _, paths in self._prefixes.values())
        return len(self._exact) + len(self._exact_odd_port) + prefixes

    def is_blocked(self, url: str) -> Match | None:
        """The entry that blocks `url`, or None. Raises `Invalid` for a malformed URL.

        `key_of` inlined: this is the provider's hot path."""
        if url.startswith("http://"):
            key = url[7:]
        elif url.startswith("https://"):
            key = url[8:]
        else:
            key = ""
        if key:
            # every listed key is in normal form, and "http(s)://" + a normal key normalises
            # to itself: a hit on the raw URL needs no parsing
            found = self._exact.get(key)
            if found is not None:
                return found
            # a host already in normal form that no entry names cannot be blocked, whatever
            # its path: most of a provider's traffic ends here
            cut = key.find("/")
            host = key[:cut]
            if (
                cut > 0
                and host not in self._hosts
                and host.islower()
                and host.isascii()
                and host[-1] != "."
                and ":" not in host
                and "@" not in host
                and "%" not in host
                and "?" not in host
                and "#" not in host
                and "\\" not in host
            ):
                return None
        if not (
            key
            and _NORMAL_MATCH(key) is not None
            and "/." not in key
            and "//" not in key
            and "/?" not in key
            and key[-1] != "?"
            and (key[-1] != "/" or key.find("/") == len(key) - 1)
        ):
            parts = normalise.split(url)
            query = f"?{parts.query}" if parts.query else ""
            key = f"{parts.host}{parts.path}{query}"
            found = self._exact.get(key) or self._exact_odd_port.get(key)
            if found is not None:
                return found
        if not self._prefixes:
            return None
        cut = key.find("/")
        listed = self._prefixes.get(key[:cut])
        if listed is None:
            return None
        depth, paths = listed
        path = key[cut:]
        qmark = path.find("?")
        if qmark >= 0:
            path = path[:qmark]
        found = paths.get("/")
        if found is not None:
            return found
        # "/a/b/c" → "/a", "/a/b", "/a/b/c", no deeper than the host's deepest prefix entry
        end = 0
        for _ in range(depth):
            end = path.find("/", end + 1)
            if end < 0:
                return paths.get(path) if len(path) > 1 else None
            found = paths.get(path[:end])
            if found is not None:
                return found
        return None

    @classmethod
    def from_document(cls, document: dict[str, Any], public: Ed25519PublicKey) -> Checker:
        """A checker for a downloaded full list; refuses one whose signature does not verify."""
        signing.verify(document, public)
        if document.get("format") != FORMAT or document.get("kind") != "full":
            raise Invalid("list", f"must be a full list in format {FORMAT}")
        return cls(_entries(document["entries"]), version=int(document["version"]))

    def apply_delta(self, document: dict[str, Any], public: Ed25519PublicKey) -> None:
        """Bring the list up to date with a signed delta that starts at this version."""
        signing.verify(document, public)
        if document.get("format") != FORMAT or document.get("kind") != "delta":
            raise Invalid("list", f"must be a delta in format {FORMAT}")
        if int(document["since"]) != self.version:
            raise Invalid("since", f"the delta starts at {document['since']}, not {self.version}")
        for item in document["removed"]:
            self.discard(str(item["key"]), str(item["match"]))
        for entry in _entries(document["added"]):
            self.add(entry)
        self.version = int(document["version"])

    def entries(self) -> list[Match]:
        listed = [*self._exact.values(), *self._exact_odd_port.values()]
        for _, paths in self._prefixes.values():
            listed.extend(paths.values())
        return sorted(listed)


def _entries(items: Iterable[dict[str, Any]]) -> Iterable[Match]:
    for item in items:
        yield Match(str(item["key"]), str(item["match"]), str(item.get("category", "")))
