"""The one finder of contact identifiers in free text: the messenger handles and links, phone
numbers, e-mail addresses, URLs and crypto wallets a page (commerce) or a chat message (chats)
holds, each normalised by the selectors' own rules (`cases.selectors.normalise`) so that what
is found can become a selector as it is.

Two kinds of reader use it. Commerce's extraction runs the messenger `Rule`s, `TOKEN`,
`SESSION_ID`, `TOX_ID` and `EMAIL_AROUND` over a page's text itself (it keeps offsets into the
HTML); chats call `find(text, region)` on each message and get `Contact`s.

Rules of the finder:

* A username only means something on its platform: a handle is found only where the platform
  is named (a link such as `t.me/name` or `instagram.com/name`, or the platform's name beside
  it: "my snap is lily.rose22", "add me on insta @lily", "discord: name#1234", "@lily on
  tiktok"), or where the caller says which platform the text was written on (a bare `@name` in
  a Telegram chat is a Telegram username).
* A value the selectors' rules refuse is dropped, never kept in a form that cannot match (a
  phone number invalid in its country's plan, a wallet whose checksum fails).
* National phone numbers are read in the agency's country (`region`); without one only
  international (+…, 00…) numbers are found.
* Every regular expression has bounded repetitions and no nested quantifiers, and the number
  of candidates per text is capped, so hostile text (a megabyte of `@a`) costs linear time.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass

import phonenumbers

from taskforce.cases import wallets
from taskforce.cases.selectors import SelectorKind, normalise
from taskforce.core.errors import Invalid


@dataclass(frozen=True)
class Rule:
    """A pattern of a lexicon: what it finds (kind, detail) and why it is there. `hints` are
    lower-case strings one of which a text must contain before the pattern is run at all."""

    kind: str  # the reader's own kind name ("messenger" for commerce's IndicatorKind)
    detail: str
    regex: re.Pattern[str]
    why: str
    hints: tuple[str, ...]
    prefix: str = ""  # value = prefix + the match's group (keeps trackers' ids apart)
    lower: bool = False  # run over the lower-cased text (case-insensitive rules)


# --- messengers -----------------------------------------------------------------------------

_TG_HANDLE = r"(?!joinchat\b|share\b|addstickers\b|proxy\b|iv\b)([a-z][a-z0-9_]{3,31})\b"
MESSENGERS = (
    Rule(
        "messenger",
        "telegram",
        re.compile(r"t\.me/(?:s/)?" + _TG_HANDLE),
        "Telegram user, bot or channel link: where orders and support move",
        ("t.me/",),
        lower=True,
    ),
    Rule(
        "messenger",
        "telegram",
        re.compile(r"telegram\.me/(?:s/)?" + _TG_HANDLE),
        "Telegram link (old host)",
        ("telegram.me/",),
        lower=True,
    ),
    Rule(
        "messenger",
        "telegram",
        re.compile(r"t\.me/(?:joinchat/|\+)([A-Za-z0-9_-]{10,40})"),
        "Telegram invite link to a private group or channel (case matters)",
        ("t.me/",),
        prefix="+",
    ),
    Rule(
        "messenger",
        "telegram",
        re.compile(r"telegram\b[^@<>]{0,30}(?<![\w.%+-])@([a-z][a-z0-9_]{3,31})\b"),
        "an @handle printed next to the word Telegram",
        ("telegram",),
        lower=True,
    ),
    Rule(
        "messenger",
        "threema",
        re.compile(r"threema\.id/([A-Z0-9*]{8})\b|(?i:threema)\b[^<>]{0,20}\b([A-Z0-9*]{8})\b"),
        "Threema id: 8 characters, in a threema.id link or next to the word",
        ("threema",),
    ),
    Rule(
        "messenger",
        "signal",
        re.compile(r"signal\.me/#(?:p|eu)/([A-Za-z0-9+_.%-]{3,100})"),
        "Signal contact link (phone number or username)",
        ("signal.me/",),
    ),
    Rule(
        "messenger",
        "wickr",
        re.compile(r"wickr(?:\s{0,3}me)?(?:\s{0,3}id)?\s{0,3}[:=-]\s{0,3}([a-z0-9_.-]{3,32})"),
        "Wickr Me handle printed as 'Wickr: name' (the service closed in 2023; old pages)",
        ("wickr",),
        lower=True,
    ),
)
_MESSENGER_HINTS = re.compile(
    "|".join(sorted({re.escape(h) for rule in MESSENGERS for h in rule.hints}))
)
# Session ids (05 + 64 hex, the account's public key) and Tox ids (76 hex: key, nospam,
# checksum) are tokens (see TOKEN) of hex digits of exactly that length.
SESSION_ID = re.compile(r"05[0-9a-fA-F]{64}")
TOX_ID = re.compile(r"[0-9A-Fa-f]{76}")

# --- e-mail and wallets: cheap candidates, checked properly by the caller ---------------------

# Around each '@': the local part before it and the domain after it.
EMAIL_AROUND = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,8}")
NOT_EMAIL_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".css", ".js")
# Whole runs of letters and digits as long as an address (or a Session/Tox id) can be, found
# from the character before them so the engine skips through words at C speed (the text it
# runs on starts with a separator); `cases.wallets` decides what a token is.
TOKEN = re.compile(r"[^0-9A-Za-z]([0-9A-Za-z]{25,110})(?![0-9A-Za-z])")

# --- handles with their platform named ------------------------------------------------------

# What people write for a platform -> its canonical name (as `selectors.normalise` keeps it).
# WhatsApp is not here: its accounts are phone numbers, found as such.
PLATFORM_WORDS = {
    "snapchat": "snapchat",
    "snap": "snapchat",
    "sc": "snapchat",
    "instagram": "instagram",
    "insta": "instagram",
    "ig": "instagram",
    "tiktok": "tiktok",
    "tik tok": "tiktok",
    "kik": "kik",
    "discord": "discord",
    "telegram": "telegram",
    "tg": "telegram",
    "twitter": "twitter",
    "skype": "skype",
    "threema": "threema",
    "wickr": "wickr",
}
_PLATFORM_OF = {word.replace(" ", ""): name for word, name in PLATFORM_WORDS.items()}
_WORDS = "|".join(w.replace(" ", r"\s?") for w in sorted(PLATFORM_WORDS, key=len, reverse=True))
# A handle as the big platforms allow it (letters, digits, _ and .), with Discord's old
# `#1234` discriminator; lower-cased text only.
_HANDLE = r"([a-z0-9_][a-z0-9_.]{1,31}(?:#\d{4})?)"
# A platform's name as a word (not the host in `tiktok.com/@…`).
_WORD = re.compile(rf"(?<![a-z0-9])({_WORDS})(?![a-z0-9]|\.[a-z])")
_BEFORE = 30  # "insta @lily", "add me on snap, it's @lily.rose": the name at most this close
# "my snap is lily22", "kik: lily_22", "discord username = name#1234", "mein snap ist lily":
# the platform, an optional noun, a separator (":", "=", "-" or the verb "is" in a few
# languages) and the handle; with no separator at all only a handle with a digit, _ or . counts
# ("add me on snap lily_22"), so "on snap tonight" is not a handle.
_SEPARATOR = r"(?::|=|-|\bis\b|\bist\b|\bes\b|\best\b|c'est|\bè\b|\bär\b|\ber\b|\bjest\b|\bé\b)"
_NAMED_BARE = re.compile(
    rf"(?<![a-z0-9])({_WORDS})(?![a-z0-9])"
    r"(?:\s{0,3}(?:user\s?name|name|id|handle|account|acc|naam|nom|nombre))?"
    rf"\s{{0,3}}({_SEPARATOR}?)\s{{0,3}}@?{_HANDLE}(?![a-z0-9_@])"
)
# An @handle; its platform is the one named just before it, else just after it ("@lily on
# insta", "@lily op snap"), else the platform the text was written on (when the caller knows).
_AT = re.compile(rf"(?<![\w.%+-])@{_HANDLE}(?![a-z0-9_@])")
_AFTER = re.compile(
    rf"\s{{1,3}}(?:on|in|at|auf|op|sur|en|su|na|no)\s{{1,3}}({_WORDS})(?![a-z0-9]|\.[a-z])"
)
# Words that follow "my snap is" without being a handle (English and the languages the
# separator knows); a handle is confirmed by an investigator anyway, but noise costs them time.
NOT_HANDLES = frozenset(
    [
        "a", "an", "the", "my", "your", "his", "her", "our", "their", "me", "you", "it", "its",
        "is", "on", "off", "in", "at", "to", "too", "so", "and", "or", "not", "no", "yes",
        "ok", "okay", "fine", "same", "new", "old", "down", "up", "back", "gone", "dead",
        "private", "public",
        "blocked", "banned", "deleted", "hacked", "broken", "closed", "locked", "full", "here",
        "there", "this", "that", "what", "why", "how", "when", "who", "which", "also", "only",
        "just", "still", "please", "pls", "mine", "yours", "free", "busy", "out", "open", "dm",
        "add", "follow", "bio", "link", "below", "above", "mijn", "jouw", "niet", "geen", "mein",
        "dein", "nicht", "kein", "privat", "privé", "prive", "privado", "privada", "mon", "ton",
        "pas", "mi", "tu", "el", "la", "le", "les", "de", "del", "das", "der", "die", "een", "het",
        "und", "where", "better", "easier", "safer", "best", "good", "great", "cool", "fun",
        "boring", "quiet", "much", "more", "less", "way", "app", "faster",
    ]
)  # fmt: skip

# --- links that name an account ---------------------------------------------------------------

_LINKS = (  # (pattern, platform, a string the text must hold first)
    (re.compile(r"(?<![a-z0-9.-])(?:www\.)?instagram\.com/([a-z0-9_.]{1,30})"), "instagram",
     "instagram.com/"),
    (re.compile(r"(?<![a-z0-9.-])(?:www\.)?tiktok\.com/@([a-z0-9_.]{2,24})"), "tiktok",
     "tiktok.com/@"),
    (re.compile(r"(?<![a-z0-9.-])(?:www\.)?snapchat\.com/add/([a-z0-9_.-]{3,15})"), "snapchat",
     "snapchat.com/add/"),
    (re.compile(r"(?<![a-z0-9.-])kik\.me/([a-z0-9_.]{2,20})"), "kik", "kik.me/"),
    (re.compile(r"(?<![a-z0-9.-])(?:www\.)?(?:twitter|x)\.com/([a-z0-9_]{1,15})"), "twitter",
     "x.com/"),
)  # fmt: skip
# Paths of those hosts that are pages, not accounts.
_NOT_ACCOUNTS = frozenset(
    ["p", "reel", "reels", "explore", "stories", "accounts", "tv", "home", "i", "search",
     "hashtag", "intent", "share", "login", "signup", "about", "legal", "privacy", "tag"]
)  # fmt: skip
_WA_ME = re.compile(r"(?<![a-z0-9.-])(?:wa\.me|api\.whatsapp\.com/send\?phone=)/?\+?(\d{6,15})")
# Hosts whose links are found as the account they name, not as a URL.
_ACCOUNT_HOSTS = (
    "t.me", "telegram.me", "instagram.com", "tiktok.com", "snapchat.com", "kik.me",
    "twitter.com", "x.com", "wa.me", "signal.me", "threema.id",
)  # fmt: skip

# --- URLs -----------------------------------------------------------------------------------

# Whitespace-free runs, each cut at 2,048 characters: a URL is one of them (or starts one).
_RUN = re.compile(r"[^\s<>\"'`]{4,2048}")
_URL_START = re.compile(r"https?://", re.IGNORECASE)
# A bare domain with a path: labels, a letters-only top-level label, a slash.
_BARE_URL = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.){1,8}[a-z]{2,24}/", re.I)
_TRAILING = ".,;:!?)]}'\"*>"

# Six digits with at most two separators between each: the least a phone number has.
_DIGITS = re.compile(r"\d(?:[\s().\-/]{0,2}\d){5}")

MAX_CONTACTS = 1_000  # per text: more is hostile, the rest is not read
_MAX_CANDIDATES = 5_000  # per kind of candidate (each '@', each token, each run)


@dataclass(frozen=True, slots=True)
class Contact:
    """An identifier found in a text, as a selector would hold it: `value` canonical, `key` the
    match key, `platform` for usernames; `start`/`end` where it was written and `raw` how."""

    kind: SelectorKind
    value: str
    platform: str | None
    key: str
    start: int
    end: int
    raw: str


class _Found:
    """The contacts of one text, each (kind, key) once, at its first place."""

    def __init__(self, text: str, region: str | None) -> None:
        self.text = text
        self.region = region
        self.items: dict[tuple[SelectorKind, str], Contact] = {}
        self.claimed: list[tuple[int, int]] = []  # spans an account link or phone took

    def add(
        self, kind: SelectorKind, raw: str, start: int, end: int, platform: str | None = None
    ) -> bool:
        if len(self.items) >= MAX_CONTACTS:
            return False
        try:
            found = normalise(kind, raw, platform=platform, default_region=self.region)
        except Invalid:
            return False
        pair = (kind, found.key)
        if pair not in self.items:
            self.items[pair] = Contact(
                kind, found.value, found.platform, found.key, start, end, self.text[start:end]
            )
        return True

    def taken(self, start: int, end: int) -> bool:
        return any(s < end and start < e for s, e in self.claimed)


def find(text: str, region: str | None = None, *, platform: str | None = None) -> list[Contact]:
    """The identifiers `text` holds, in the order written, each once. `region` is the ISO
    country national phone numbers are read in; `platform` the platform the text was written
    on, when a bare `@name` there names one of its accounts (Telegram, Instagram …)."""
    found = _Found(text, region)
    lower = text.lower()
    if len(lower) != len(text):  # a few characters lower-case to two; keep offsets
        lower = "".join(c.lower()[:1] for c in text)
    _account_links(found, lower)
    _messengers(found, text, lower)
    _named_handles(found, lower, platform)
    _phones(found, text)
    _emails(found, text)
    _urls(found, text)
    _tokens(found, text)
    return sorted(found.items.values(), key=lambda c: (c.start, c.kind, c.key))


def _account_links(found: _Found, lower: str) -> None:
    if "." not in lower:
        return  # every account link has a host
    if "wa.me" in lower or "whatsapp.com" in lower:
        for match in _limited(_WA_ME.finditer(lower)):
            if found.add(SelectorKind.PHONE, "+" + match.group(1), match.start(), match.end()):
                found.claimed.append(match.span())
    for regex, platform, hint in _LINKS:
        if hint not in lower and (platform != "twitter" or "twitter.com/" not in lower):
            continue
        for match in _limited(regex.finditer(lower)):
            handle = match.group(1).rstrip(".")
            if handle in _NOT_ACCOUNTS:
                continue
            if found.add(SelectorKind.USERNAME, handle, match.start(), match.end(), platform):
                found.claimed.append(match.span())


def _messengers(found: _Found, text: str, lower: str) -> None:
    """The messenger rules commerce reads pages with: a Telegram invite link (a group, not an
    account) is left to the URLs; a Signal link to a number is that phone number."""
    if not _MESSENGER_HINTS.search(lower):
        return  # one search for every rule's hints: most texts name no messenger
    for rule in MESSENGERS:
        if not any(h in lower for h in rule.hints) or rule.prefix:
            continue
        subject = lower if rule.lower else text
        for match in _limited(rule.regex.finditer(subject)):
            value = next((g for g in match.groups() if g), "")
            if rule.detail == "signal" and value.startswith(("+", "%2B", "%2b")):
                found.add(SelectorKind.PHONE, "+" + value.lstrip("+%2Bb"), *match.span())
                continue
            if found.add(SelectorKind.USERNAME, value, *match.span(), platform=rule.detail):
                found.claimed.append(match.span())


def _named_handles(found: _Found, lower: str, platform: str | None) -> None:
    if "@" in lower:
        for match in _limited(_AT.finditer(lower)):
            if found.taken(*match.span()):
                continue  # the @ of a link already read (tiktok.com/@name)
            window = max(0, match.start() - _BEFORE)
            window = max(window, lower.rfind("\n", window, match.start()) + 1)
            window = max(window, lower.rfind("@", window, match.start()) + 1)
            names = list(_WORD.finditer(lower, window, match.start()))
            before = names[-1] if names else None  # the nearest name before the handle
            after = _AFTER.match(lower, match.end())
            word = before.group(1) if before else after.group(1) if after else None
            if word is not None or platform:
                _handle(found, match.group(1), *match.span(), word, platform or "")
    for match in _limited(_NAMED_BARE.finditer(lower)):
        separator, handle = match.group(2), match.group(3)
        if not separator and not re.search(r"[0-9_.#]", handle):
            continue
        _handle(found, handle, match.start(3), match.end(), match.group(1))


def _handle(
    found: _Found, handle: str, start: int, end: int, word: str | None, platform: str = ""
) -> None:
    handle = handle.rstrip(".")
    if len(handle) < 2 or handle in NOT_HANDLES or handle.isdigit():
        return
    if word is not None:
        platform = _PLATFORM_OF["".join(word.split())]
    found.add(SelectorKind.USERNAME, handle, start, end, platform)


def _phones(found: _Found, text: str) -> None:
    """Numbers valid in their country's plan (`phonenumbers`' matcher, its own bounded
    search), read in the agency's country; without one only international numbers."""
    if not _DIGITS.search(text):
        return  # no six digits close together: no number to look for (most messages)
    region = found.region.upper() if found.region else "ZZ"
    if not _PLUS.search(text) and len(_ANY_DIGIT.findall(text)) < fewest_digits(region):
        return  # too few digits in all for any valid number read in the region ("age 345678")
    matcher = phonenumbers.PhoneNumberMatcher(text, region, max_tries=_MAX_CANDIDATES)
    for match in matcher:
        if found.taken(match.start, match.end):
            continue
        number = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
        if found.add(SelectorKind.PHONE, number, match.start, match.end):
            found.claimed.append((match.start, match.end))


_PLUS = re.compile("[+\uff0b]")  # the plus signs `phonenumbers` reads
_ANY_DIGIT = re.compile(r"\d")  # any decimal digit, as `phonenumbers` reads them


@functools.cache
def fewest_digits(region: str) -> int:
    """The fewest digits a valid number written without a plus sign can have when read in
    `region` (0: no bound known, always ask the matcher). Without a plus, `phonenumbers`
    reads a number as national (its digits hold at least the shortest number of a region
    sharing the country code: prefixes only add digits) or after the region's international
    prefix (at least that prefix, when it is plain digits, then a country code and that
    country's shortest number). A region whose plan rewrites national prefixes (which may add
    digits) gets no bound. The matcher costs ~30 µs a text even when it finds nothing; a text
    with fewer digits than this in all cannot hold a number it would accept."""
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if meta is None or meta.country_code is None or meta.national_prefix_transform_rule:
        return 0
    sharing = [
        _shortest(phonenumbers.PhoneMetadata.metadata_for_region(r))
        for r in phonenumbers.region_codes_for_country_code(meta.country_code)
    ]
    national = min([*sharing, _shortest(meta)])
    prefix = meta.international_prefix or ""
    abroad = (len(prefix) if prefix.isdigit() else 0) + _fewest_abroad()
    return min(national, abroad)


def _shortest(meta: phonenumbers.PhoneMetadata | None) -> int:
    """The shortest number of a plan (0 when unknown)."""
    lengths = meta.general_desc.possible_length if meta and meta.general_desc else None
    return min(lengths) if lengths else 0


@functools.cache
def _fewest_abroad() -> int:
    """The fewest digits of a country code and a number of its plan, over every plan."""
    plans = [
        *(
            phonenumbers.PhoneMetadata.metadata_for_region(r)
            for r in phonenumbers.SUPPORTED_REGIONS
        ),
        *(
            phonenumbers.PhoneMetadata.metadata_for_nongeo_region(c)
            for c in phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS
        ),
    ]
    return min(len(str(m.country_code)) + _shortest(m) if m else 0 for m in plans)


def _emails(found: _Found, text: str) -> None:
    at = text.find("@")
    count = 0
    while at >= 0 and count < _MAX_CANDIDATES:
        count += 1
        match = EMAIL_AROUND.search(text, max(0, at - 64), at + 320)
        while match and match.end() <= at:
            match = EMAIL_AROUND.search(text, match.end(), at + 320)
        if match and match.start() < at:
            start = match.start()
            if start == 0 or not (text[start - 1].isalnum() or text[start - 1] in "_.%+-"):
                raw = match.group().rstrip(".-")
                if not raw.lower().endswith(NOT_EMAIL_SUFFIXES):
                    found.add(SelectorKind.EMAIL, raw, start, start + len(raw))
                at = text.find("@", match.end())
                continue
        at = text.find("@", at + 1)


def _urls(found: _Found, text: str) -> None:
    """http(s) links and bare domains with a path (`example.com/page`); links to a messenger
    account were found as that account."""
    if "/" not in text:
        return
    for match in _limited(_RUN.finditer(text)):
        run = match.group()
        if "/" not in run or "." not in run:
            continue
        begin = _URL_START.search(run)
        if begin is None:
            bare = _BARE_URL.search(run)
            if bare is None or (bare.start() and run[bare.start() - 1] in "@.-_"):
                continue
            begin = bare
        raw = run[begin.start() :].rstrip(_TRAILING)
        if raw.endswith("(") or raw.count(")") < raw.count("("):
            raw = raw.rstrip("(")
        start = match.start() + begin.start()
        host = re.sub(r"^https?://", "", raw, flags=re.I).split("/", 1)[0].lower()
        host = host.rpartition("@")[2].removeprefix("www.")
        invite = host in ("t.me", "telegram.me") and ("/joinchat/" in raw or "/+" in raw)
        if host in _ACCOUNT_HOSTS and not invite:
            continue  # found as the account (an invite names a group: kept as its URL)
        found.add(SelectorKind.URL, raw, start, start + len(raw))


def _tokens(found: _Found, text: str) -> None:
    """Crypto wallets (checksums checked: one that fails is dropped) and Session/Tox ids."""
    for match in _limited(TOKEN.finditer(" " + text)):
        raw = match.group(1)
        start = match.start(1) - 1
        end = start + len(raw)
        if SESSION_ID.fullmatch(raw):
            found.add(SelectorKind.USERNAME, raw.lower(), start, end, "session")
        elif TOX_ID.fullmatch(raw):
            found.add(SelectorKind.USERNAME, raw.lower(), start, end, "tox")
        elif wallets.looks_like_wallet(raw):
            found.add(SelectorKind.CRYPTO_WALLET, raw, start, end)


def _limited(matches: Iterator[re.Match[str]]) -> Iterator[re.Match[str]]:
    """At most `_MAX_CANDIDATES` matches of one pattern."""
    return itertools.islice(matches, _MAX_CANDIDATES)
