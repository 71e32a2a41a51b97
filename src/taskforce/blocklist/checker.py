"""The provider-side checker: is this URL on the hub's block list?

Importable without the hub's database (it needs only `normalise` and `signing`)::

    checker = Checker.from_document(json.load(open("blocklist.json")), load_public(KEY))
    checker.is_blocked("http://Example.com/gallery/1.jpg")   # Match(...) or None

A URL is blocked when its normalised key is listed exactly, or when the host plus one of its
path prefixes (``/a/b/c`` → ``/``, ``/a``, ``/a/b``, ``/a/b/c``) is a listed prefix entry; an
exact entry comes first, then the shortest prefix. Cost: one dictionary lookup for the exact
key, one for the host, and one per path level (no deeper than the host's deepest prefix entry),
whatever the list's size.

Most URLs skip the full parser (`normalise.split`), on three paths that give its answer:

1. *Listed as written*: ``http(s)://`` + a listed exact key. Every key is in normal form and
   normalises to itself, so the URL without its scheme is looked up before anything else. Keys
   that would not (a port that is the other scheme's default, ``h:80/a`` listed from https; a
   key so long that the URL would pass the parser's length limit) are looked up only after
   parsing.
2. *Host no entry names*: a host of lower-case letters, digits, ``.-_`` without a trailing dot
   is its own normal form; if no entry names it, the URL is not blocked whatever its path.
3. *Listed host, path in normal form*: plain ASCII path and query (no escapes), no dot
   segments, no empty segment, no trailing slash, no empty query; the raw tail is then the
   parser's, and the host's prefix entries are walked on it.

Anything else (upper case, a port on an unlisted host, user info, escapes, ``/./``, IDN, no
path, ...) goes through the parser. The second path does not validate everything the parser
does (label lengths, ``a..b``, anything after the host, the length limit): such a URL may be
answered "not blocked" where the parser would refuse it; never "blocked". The checker trusts
the list's keys to be in normal form, as the hub writes them. tests/blocklist/test_fast_path.py
holds all three paths to the parser on random URLs in odd spellings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, NamedTuple

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from taskforce.blocklist import normalise
from taskforce.core import signing
from taskforce.core.errors import Invalid

FORMAT = "taskforce-blocklist/1"
EXACT, PREFIX = "exact", "prefix"

# path 2: a host already in normal form (no port, user info, upper case or trailing dot)
_PLAIN_HOST = re.compile(r"[a-z0-9_.-]*[a-z0-9_]").fullmatch
# path 3: "/" or "/seg/seg..." where no segment is empty or starts with "." (so no dot
# segments, "//" or trailing "/"), then an optional non-empty query; only characters the parser
# leaves as they are (see normalise._ALLOWED), no "%". Possessive quantifiers (nothing to give
# back: a segment's characters are never "/" or "?") make it a fifth faster.
_PCHAR = r"A-Za-z0-9\-._~!$&'()*+,;=:@"
_FIRST = r"A-Za-z0-9\-_~!$&'()*+,;=:@"
_PLAIN_TAIL = re.compile(
    rf"/(?:[{_FIRST}][{_PCHAR}]*+(?:/[{_FIRST}][{_PCHAR}]*+)*+)?+(?:\?[{_PCHAR}/?]++)?+"
).fullmatch
# room for "https://" in front of a key, within the parser's limit
_LONGEST_RAW_KEY = normalise.MAX_LENGTH - len("https://")


class Match(NamedTuple):
    key: str  # the listed entry that matched
    match: str  # "exact" | "prefix"
    category: str


# a host's prefix entries: (the whole-host entry "h/" or None, the deepest other entry in path
# segments, {path: entry} for all of them); hosts with exact entries only share _NO_PREFIXES
HostPrefixes = tuple[Match | None, int, dict[str, Match]]
_NO_PREFIXES: HostPrefixes = (None, 0, {})  # its dict is never written to


def _odd_host(host: str) -> bool:
    """A host whose raw spelling is not its key under both schemes (see path 1)."""
    return host.endswith((":80", ":443"))


def key_of(url: str) -> str:
    """The block-list key of `url` (= `normalise.block_key`), fast for URLs in normal form.

    The fast path does not check label lengths: a URL the parser would refuse for a 64-letter
    label gets a key here, which no listed entry can equal."""
    if url.startswith("http://"):
        rest = url[7:]
    elif url.startswith("https://"):
        rest = url[8:]
    else:
        rest = ""
    cut = rest.find("/")
    if (
        cut > 0
        and len(url) <= normalise.MAX_LENGTH
        and _PLAIN_HOST(rest, 0, cut) is not None
        and _PLAIN_TAIL(rest, cut) is not None
    ):
        return rest
    parts = normalise.split(url)
    return f"{parts.host}{parts.path}?{parts.query}" if parts.query else parts.host + parts.path


class Checker:
    """Answers `is_blocked(url)` against one version of the list."""

    def __init__(self, entries: Iterable[Match], *, version: int = 0) -> None:
        self.version = version
        # exact keys that may be looked up on the raw URL (path 1), and the others
        self._exact: dict[str, Match] = {}
        self._exact_parsed_only: dict[str, Match] = {}
        # every host an entry names → its prefix entries; hosts with a port that is a
        # scheme's default are in _hosts_parsed_only (only looked up after parsing)
        self._hosts: dict[str, HostPrefixes] = {}
        self._hosts_parsed_only: dict[str, HostPrefixes] = {}
        self._per_host: dict[str, int] = {}  # entries naming each host
        for entry in entries:
            self.add(entry)

    def add(self, entry: Match) -> None:
        key = entry.key
        cut = key.find("/")
        host = key[:cut]
        odd = _odd_host(host)
        hosts = self._hosts_parsed_only if odd else self._hosts
        if entry.match == PREFIX:
            root, depth, paths = hosts.get(host, _NO_PREFIXES)
            path = key[cut:]
            new = path not in paths
            if paths is _NO_PREFIXES[2]:
                paths = {}
            paths[path] = entry
            if path == "/":
                root = entry
            else:
                depth = max(depth, path.count("/"))
            hosts[host] = (root, depth, paths)
        else:
            exact = self._exact_parsed_only if odd or len(key) > _LONGEST_RAW_KEY else self._exact
            new = key not in exact
            exact[key] = entry
            hosts.setdefault(host, _NO_PREFIXES)
        if new:
            self._per_host[host] = self._per_host.get(host, 0) + 1

    def discard(self, key: str, match: str) -> None:
        cut = key.find("/")
        host = key[:cut]
        hosts = self._hosts_parsed_only if _odd_host(host) else self._hosts
        if match == PREFIX:
            root, depth, paths = hosts.get(host, _NO_PREFIXES)
            if paths.pop(key[cut:], None) is None:
                return
            if paths:
                root = paths.get("/")
                depth = max((p.count("/") for p in paths if p != "/"), default=0)
                hosts[host] = (root, depth, paths)
            else:
                hosts[host] = _NO_PREFIXES
        elif self._exact.pop(key, None) is None and self._exact_parsed_only.pop(key, None) is None:
            return
        left = self._per_host[host] - 1
        if left:
            self._per_host[host] = left
        else:
            del self._per_host[host], hosts[host]

    def __len__(self) -> int:
        return sum(self._per_host.values())

    def is_blocked(self, url: str) -> Match | None:
        """The entry that blocks `url`, or None. Raises `Invalid` for a malformed URL.

        This is the provider's hot path: the three fast paths in the module's docstring, each
        a few string operations and dictionary lookups, before the parser. (Slicing where
        `startswith` would do: a few nanoseconds cheaper in CPython 3.11.)"""
        if url[:7] == "http://":
            key = url[7:]
        elif url[:8] == "https://":
            key = url[8:]
        else:
            return self._parsed(url)
        found = self._exact.get(key)  # path 1
        if found is not None:
            return found
        cut = key.find("/")
        if cut <= 0:
            return self._parsed(url)
        listed = self._hosts.get(key[:cut])
        if listed is None:
            if _PLAIN_HOST(key, 0, cut) is not None:  # path 2
                return None
            return self._parsed(url)
        if _PLAIN_TAIL(key, cut) is None or len(key) > _LONGEST_RAW_KEY:
            return self._parsed(url)
        # path 3: the raw key is the parser's, and no exact entry has it
        root, depth, paths = listed
        if root is not None:
            return root
        if not depth:
            return None
        stop = key.find("?", cut)
        if stop < 0:
            stop = len(key)
        # "/a/b/c" → "/a", "/a/b", "/a/b/c", no deeper than the host's deepest prefix entry;
        # the first level written out, as most prefix entries are one level deep
        end = key.find("/", cut + 1, stop)
        if end < 0:
            return paths.get(key[cut:stop])
        found = paths.get(key[cut:end])
        if found is not None or depth == 1:
            return found
        for _ in range(depth - 1):
            end = key.find("/", end + 1, stop)
            if end < 0:
                return paths.get(key[cut:stop])
            found = paths.get(key[cut:end])
            if found is not None:
                return found
        return None

    def _parsed(self, url: str) -> Match | None:
        """`is_blocked` through the full parser."""
        parts = normalise.split(url)
        host, path = parts.host, parts.path
        key = f"{host}{path}?{parts.query}" if parts.query else host + path
        found = self._exact.get(key) or self._exact_parsed_only.get(key)
        if found is not None:
            return found
        listed = self._hosts.get(host) or self._hosts_parsed_only.get(host)
        if listed is None:
            return None
        root, depth, paths = listed
        if root is not None:
            return root
        end = 0
        for _ in range(depth):
            end = path.find("/", end + 1)
            if end < 0:
                return paths.get(path)
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
        listed = [*self._exact.values(), *self._exact_parsed_only.values()]
        for hosts in (self._hosts, self._hosts_parsed_only):
            for _, _, paths in hosts.values():
                listed.extend(paths.values())
        return sorted(listed)


def _entries(items: Iterable[dict[str, Any]]) -> Iterable[Match]:
    for item in items:
        yield Match(str(item["key"]), str(item["match"]), str(item.get("category", "")))
