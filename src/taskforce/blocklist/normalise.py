"""One URL normalisation for the hub, the provider-side checker and (later) hotline dedupe.

Two spellings of the same address must give the same string, or a listed page is missed. The
rules, in order (RFC 3986 section 6 where it applies):

1. Surrounding whitespace is stripped; whitespace or control characters inside are refused.
   At most 4,096 characters.
2. No scheme (``example.com/a``) means ``http``. Only ``http`` and ``https`` are accepted; the
   scheme is lower-cased.
3. User info (``user:pass@``) is dropped: it does not change which page is served.
4. The host is lower-cased, a trailing dot dropped, and an internationalised name (IDN) turned
   into punycode (IDNA 2008 with UTS 46 mapping via the ``idna`` package; Python's IDNA 2003
   codec if it is missing). IPv4 and bracketed IPv6 literals are kept. ``www.`` is **kept**:
   ``www.example.com`` and ``example.com`` can serve different pages, and the field's lists
   (IWF) keep hosts as given; list both if both serve the material.
5. The default port (80 for http, 443 for https) is dropped; other ports are kept.
6. Percent-encoding: escapes of unreserved characters (``A-Z a-z 0-9 - . _ ~``) are decoded,
   other escapes get upper-case hex, a ``%`` not followed by two hex digits becomes ``%25``,
   and characters outside RFC 3986 (non-ASCII, quotes, ``<`` ``>`` ...) are UTF-8 encoded.
   The same applies to the query.
7. Dot segments (``/./``, ``/../``) are resolved after step 6, so ``%2E%2E`` cannot dodge it.
   Repeated slashes are kept: ``/a//b`` may be a different page.
8. An empty path becomes ``/``; a trailing slash is dropped from any other path (``/a/`` is
   ``/a``): both spellings usually reach the same page, and a block list errs towards blocking.
9. The fragment (``#...``) is dropped: it never reaches the server.
10. The query is kept as given, order included, and an empty ``?`` is dropped. It is *not*
    sorted: servers may read parameters in order, and sorting could make two different pages
    one; the field's lists match queries as given.

`normalise()` gives the full URL (``https://example.com/a?b=1``). The block list's key,
`block_key()`, leaves out the scheme (``example.com/a?b=1``): the same material is usually
served over both, and providers see both. Invalid input raises `Invalid` naming the field and
the rule it broke.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple

from taskforce.core.errors import Invalid

try:  # IDNA 2008 + UTS 46 when available, else Python's IDNA 2003 codec
    import idna

    _idna_encode: Callable[..., bytes] | None = idna.encode
except ImportError:  # pragma: no cover - the hub depends on idna; a provider may not have it
    _idna_encode = None

MAX_LENGTH = 4096
DEFAULT_PORTS = {"http": 80, "https": 443}
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# characters left as they are in a path or query (unreserved, sub-delims, ':', '@', '/', '?')
_ALLOWED = _UNRESERVED | frozenset(b"!$&'()*+,;=:@/?")
_HEX = frozenset(b"0123456789abcdefABCDEF")
_BAD_CHARS = re.compile(r"[\x00-\x20\x7f]")
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_HOST_NAME = re.compile(rf"(?:{_LABEL}\.)*{_LABEL}")  # every label valid
_IPV6 = re.compile(r"^\[[0-9a-f:.]+\]$")
_PLAIN = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/?]*")
_PLAIN_OR_ESCAPE = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*")  # _PLAIN and "%"
# rule 6 for each escape: "7e" → "~", "2f" → "%2F"
_ESCAPES = {
    f"{a}{b}": chr(value) if value in _UNRESERVED else f"%{value:02X}"
    for a in "0123456789abcdefABCDEF"
    for b in "0123456789abcdefABCDEF"
    for value in (int(a + b, 16),)
}
_AUTHORITY_END = re.compile(r"[/?\\]")
_OTHER_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:(?![0-9]+(?:[/?#]|$))")


class Parts(NamedTuple):
    scheme: str
    host: str  # lower-case, punycode, with ":port" when not the default
    path: str  # starts with "/"
    query: str  # without "?"; "" when none


def _fix_escapes(text: str) -> str:
    """Rule 6 on a path or query."""
    if _PLAIN.fullmatch(text):  # nothing to decode, escape or upper-case
        return text
    if _PLAIN_OR_ESCAPE.fullmatch(text):  # only "%" to look at: the loop below, one "%" a step
        first, *pieces = text.split("%")
        done = [first]
        for piece in pieces:
            fixed = _ESCAPES.get(piece[:2])
            done.append("%25" + piece if fixed is None else fixed + piece[2:])
        return "".join(done)
    data = text.encode("utf-8")
    out: list[str] = []
    i, n = 0, len(data)
    while i < n:
        byte = data[i]
        if byte == 0x25:  # '%'
            if i + 2 < n and data[i + 1] in _HEX and data[i + 2] in _HEX:
                value = int(data[i + 1 : i + 3], 16)
                out.append(chr(value) if value in _UNRESERVED else f"%{value:02X}")
                i += 3
                continue
            out.append("%25")
        elif byte in _ALLOWED:
            out.append(chr(byte))
        else:
            out.append(f"%{byte:02X}")
        i += 1
    return "".join(out)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 5.2.4, on segments (rule 7)."""
    if "/." not in path:  # `path` starts with "/": no segment is "." or ".."
        return path
    segments = path.split("/")[1:]
    kept: list[str] = []
    for i, segment in enumerate(segments):
        last = i == len(segments) - 1
        if segment == ".":
            if last:
                kept.append("")
        elif segment == "..":
            if kept:
                kept.pop()
            if last:
                kept.append("")
        else:
            kept.append(segment)
    return "/" + "/".join(kept)


def _host(raw: str, scheme: str) -> str:
    host, port = raw, ""
    if raw.startswith("["):
        end = raw.find("]")
        if end < 0:
            raise Invalid("url", "an IPv6 host must be closed with ']'")
        host, rest = raw[: end + 1].lower(), raw[end + 1 :]
        if rest and not rest.startswith(":"):
            raise Invalid("url", "nothing may follow an IPv6 host but ':port'")
        port = rest[1:]
        if not _IPV6.match(host):
            raise Invalid("url", "must have a valid IPv6 host")
    elif ":" in raw:
        host, _, port = raw.rpartition(":")
    if port:
        number = int(port) if port.isascii() and port.isdigit() else 0
        if not 0 < number < 65536:
            raise Invalid("url", "the port must be a number from 1 to 65535")
        port = "" if number == DEFAULT_PORTS[scheme] else str(number)
    if not host.startswith("["):
        host = host[:-1] if host.endswith(".") else host
        if not host:
            raise Invalid("url", "must name a host")
        if "%" in host:
            raise Invalid("url", "the host must not be percent-encoded")
        if not host.isascii():
            host = _to_punycode(host)
        host = host.lower()
        if len(host) > 253 or not _HOST_NAME.fullmatch(host):
            raise Invalid("url", "must have a valid host name (letters, digits, '-' and '.')")
    return f"{host}:{port}" if port else host


def _to_punycode(host: str) -> str:
    try:
        if _idna_encode is not None:
            return _idna_encode(host, uts46=True).decode("ascii")
        return host.encode("idna").decode("ascii")  # pragma: no cover
    except (UnicodeError, ValueError) as error:  # idna.IDNAError is a UnicodeError
        raise Invalid("url", "must have a valid internationalised host name") from error


def split(url: str) -> Parts:
    """Parse and normalise `url` into its parts (rules 1-10)."""
    url = url.strip()
    if not url:
        raise Invalid("url", "is required")
    if len(url) > MAX_LENGTH:
        raise Invalid("url", f"at most {MAX_LENGTH:,} characters")
    if _BAD_CHARS.search(url):
        raise Invalid("url", "must not contain spaces or control characters")
    url = url.partition("#")[0]
    scheme, sep, rest = url.partition("://")
    if not sep:
        if _OTHER_SCHEME.match(url):  # javascript:..., mailto:..., but not host:port
            raise Invalid("url", "the scheme must be http or https")
        if url.startswith("//"):
            scheme, rest = "http", url[2:]
        else:
            scheme, rest = "http", url
    scheme = scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise Invalid("url", "the scheme must be http or https")
    end = _AUTHORITY_END.search(rest)
    cut = end.start() if end is not None else len(rest)
    authority, tail = rest[:cut], rest[cut:]
    if tail.startswith("\\"):
        raise Invalid("url", "must not use '\\' as a path separator")
    authority = authority.rpartition("@")[2]
    host = _host(authority, scheme)
    path, _, query = tail.partition("?")
    path = _remove_dot_segments(_fix_escapes(path or "/"))
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    return Parts(scheme, host, path, _fix_escapes(query) if query else "")


def normalise(url: str) -> str:
    """The full normalised URL, e.g. ``https://xn--bcher-kva.example/a?b=1``."""
    parts = split(url)
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.scheme}://{parts.host}{parts.path}{query}"


def block_key(url: str) -> str:
    """The block list's key: the normalised URL without its scheme, e.g. ``example.com/a``."""
    parts = split(url)
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.host}{parts.path}{query}"


def prefix_key(url: str) -> str:
    """A path-prefix entry's key: host and path, no query (a prefix covers every query)."""
    parts = split(url)
    if parts.query:
        raise Invalid("url", "a prefix entry must not have a query")
    return f"{parts.host}{parts.path}"
