"""Text the databases can store: the one rule every input goes through.

PostgreSQL refuses the NUL character in `text` and `jsonb` ("A string literal cannot contain
NUL (0x00) characters"), and neither database driver can encode an unpaired UTF-16 surrogate
(U+D800–U+DFFF, which JSON's `\\ud800` escape produces) as UTF-8. Text holding either would
reach the database and fail there, a 500 for a client's mistake; so it is refused where it
comes in, naming the field. No legitimate identifier, name or note contains them.

`core.http.refuse_unstorable` applies this to every request (path, query, form fields and JSON
bodies at any depth); forms a route parses itself call `first_unstorable` on what they read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

RULE = "must not contain NUL (U+0000) or unpaired surrogates (U+D800–U+DFFF)"

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

# In a JSON document a NUL or a lone surrogate can only be written as a `\u` escape (raw control
# characters are invalid JSON), or as the bytes of a surrogate encoded like UTF-8 (CESU-8),
# which Python's JSON decoder accepts: a body without any of these needs no walk.
_SUSPECT_JSON = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])|\xed[\xa0-\xbf]")


def unstorable(text: str) -> bool:
    """True if the text holds a character no database of the hub can store."""
    return _UNSTORABLE.search(text) is not None


def may_hold_unstorable(raw_json: bytes) -> bool:
    """Whether a JSON body could decode to unstorable text (a cheap scan of its bytes)."""
    return _SUSPECT_JSON.search(raw_json) is not None


def first_unstorable(value: Any, path: str = "") -> str | None:
    """The dotted path of the first string (value or key) holding unstorable text ("" for the
    value itself), or None.

    Lists are walked with their indexes (`hashes.3.md5`); a bad key is named by its parent.
    Iterative, so a deeply nested document cannot exhaust the stack."""
    pending: list[tuple[Any, str]] = [(value, path)]
    while pending:
        item, where = pending.pop()
        if isinstance(item, str):
            if unstorable(item):
                return where
        elif isinstance(item, Mapping):
            children = []
            for key, child in item.items():
                if isinstance(key, str) and unstorable(key):
                    return where or "body"
                children.append((child, f"{where}.{key}" if where else str(key)))
            pending.extend(reversed(children))
        elif isinstance(item, list | tuple):
            pending.extend(
                (child, f"{where}.{i}" if where else str(i))
                for i, child in reversed(list(enumerate(item)))
            )
    return None
