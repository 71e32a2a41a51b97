"""Which identifiers in a case's chats could become its selectors: the authors' own accounts
and the handles, numbers, addresses, links and wallets written in the messages. Pure: the
finder is `cases.contacts`, shared with commerce; `participants.note_mentions` stores them.

What an investigator wants from an author, and what is left out:

* A WhatsApp author is a phone number (→ PHONE, read in the agency's country when national)
  or the name the seized phone saved the contact under ("Mum", "Coach Dave"): a name from
  someone's address book is no account, so it is not proposed.
* A Telegram author's handle is the export's `from_id` (`user123456789`): the account's
  numeric id, which survives a change of @username and is what the platform answers legal
  requests on; it is proposed as a USERNAME on `telegram`.
* PAN-12 author ids are pseudonyms (hashes) made for the corpus, and a CSV or plain log names
  its authors however its maker chose: neither is proposed unless the import named the
  platform (`ReadOptions.platform`, a CSV `platform` column), when the author is that
  platform's account — a phone number on WhatsApp/Signal/SMS, an e-mail address as such,
  otherwise a USERNAME there.
"""

from __future__ import annotations

from dataclasses import dataclass

from taskforce.cases import contacts
from taskforce.cases.selectors import SelectorKind, normalise
from taskforce.chats.kinds import Author
from taskforce.core.errors import Invalid

# Authors of these "platforms" are pseudonymous ids of a corpus or a file, not accounts.
PSEUDONYMOUS = frozenset({"", "pan12", "csv", "plain"})
# Platforms whose accounts are phone numbers.
PHONE_PLATFORMS = frozenset({"whatsapp", "signal", "sms", "imessage", "viber"})
# Platforms where a bare @name in a message is one of their accounts (mentions, as Telegram
# and Instagram write them); WhatsApp's @mentions are contact names or numbers.
AT_PLATFORMS = frozenset(
    {"telegram", "instagram", "tiktok", "twitter", "x", "discord", "kik", "snapchat"}
)


@dataclass(frozen=True, slots=True)
class Candidate:
    """An identifier that could become a selector, normalised as one: `key` is the selector's
    match key (a mention is stored once per case, kind and key)."""

    kind: SelectorKind
    value: str
    platform: str | None
    key: str
    origin: str  # author | text


def of_author(author: Author, default_region: str | None) -> list[Candidate]:
    """The author's own account, when it is one (see the module's notes)."""
    platform = author.platform.strip().lower()
    handle = author.handle.strip()
    if platform in PSEUDONYMOUS or not handle:
        return []
    if platform in PHONE_PLATFORMS:
        kind = SelectorKind.PHONE
    elif "@" in handle.lstrip("@"):
        kind = SelectorKind.EMAIL
    else:
        kind = SelectorKind.USERNAME
    try:
        found = normalise(kind, handle, platform=platform, default_region=default_region)
    except Invalid:
        return []  # a WhatsApp contact name, a handle with spaces: no account to propose
    return [Candidate(kind, found.value, found.platform, found.key, "author")]


def in_text(
    text: str, default_region: str | None, *, platform: str | None = None
) -> list[Candidate]:
    """The identifiers written in a message, in the order written, each once. `platform` is the
    conversation's platform: a bare `@name` there is one of its accounts (Telegram, Instagram
    …; not WhatsApp, whose @mentions are address-book names)."""
    known = (platform or "").strip().lower()
    return [
        Candidate(c.kind, c.value, c.platform, c.key, "text")
        for c in contacts.find(
            text, default_region, platform=known if known in AT_PLATFORMS else None
        )
    ]
