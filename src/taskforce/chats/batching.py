"""What an import does to a batch of messages without the database: the digest that tells a
message already imported from a new one, and the tagging of the batch — in a worker process
while the importer writes the batch before it, so reading, writing and tagging share the
cores instead of taking turns."""

from __future__ import annotations

import functools
import hashlib
import multiprocessing
import os
import threading
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any

from taskforce.chats import mentions, tactics, tagging
from taskforce.chats.kinds import Message
from taskforce.chats.risk import ScoredMessage
from taskforce.chats.tactics import Tactic

REPEAT_WINDOW = 250_000  # see `Repeats`

# a message's tactics bits, score, tags as the JSON text stored (`tagging.tags_json_text`),
# its probabilities over the floor as (tactic value, probability) pairs, and the identifiers
# written in its text: plain values, cheap to send back from the worker process
Tagged = tuple[int, float, str, tuple[tuple[str, float], ...], list[mentions.Candidate]]


def conversation_key(message: Message) -> str:
    """A conversation's key in its case: the format and the export's own id (or file name)."""
    return f"{message.format}:{message.conversation}"[:600]


def participant_key(platform: str, handle: str) -> str:
    """A participant's key in its case: one person per platform and handle, case ignored."""
    return f"{platform}:{handle}".lower()[:420]


class Repeats:
    """Numbers identical messages (same conversation, time as written, author and text) in the
    order the file holds them, so "ok" sent twice in a minute is two messages and a re-import
    matches each to its own digest.

    Only the last `REPEAT_WINDOW` distinct messages are remembered (memory stays bounded on a
    file of millions): two identical messages further apart than that in one file count as
    one. Exports that write the date with each time never come near it; an export without
    dates (PAN-12 writes HH:MM only) would need a quarter of a million messages between two
    identical ones in one conversation."""

    def __init__(self, window: int = REPEAT_WINDOW) -> None:
        self.window = window
        self._seen: dict[bytes, int] = {}
        self.forgot = False  # a message left the window: a later twin may repeat its digest

    def digest(self, key: str, message: Message) -> str:
        """16 bytes of BLAKE2b (hex) of the conversation key, the time as written, the author's
        handle, the text and the message's number among identical ones before it."""
        handle = message.author.handle if message.author else ""
        fields = "\x1f".join((key, message.time_text, handle, message.text))
        base = hashlib.blake2b(fields.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        nth = self._seen.pop(base, -1) + 1  # re-inserted last: the window keeps recent ones
        self._seen[base] = nth
        if len(self._seen) > self.window:
            del self._seen[next(iter(self._seen))]
            self.forgot = True
        if nth == 0:
            return base.hex()
        return hashlib.blake2b(base + nth.to_bytes(8, "big"), digest_size=16).hexdigest()


def tag_texts(texts: Sequence[tuple[str, str | None]], region: str | None) -> list[Tagged]:
    """The shipped tagger's verdict on each (text, platform), as stored, and the identifiers
    written in it (`mentions.in_text`, `region` for phone numbers without a country code).
    Module level: a worker process calls it by name."""
    verdicts = tagging.shipped().tag([text for text, _ in texts])
    values = _VALUES
    return [
        (
            tactics.bits(t.tactics) if t.tactics else 0,
            t.score,
            tagging.tags_json_text(t),
            tuple((values[k], p) for k, p in t.probabilities.items()),
            mentions.in_text(text, region, platform=platform),
        )
        for t, (text, platform) in zip(verdicts, texts, strict=True)
    ]


def scored(seq: int, author: str | None, tagged: Tagged) -> ScoredMessage:
    """A stored message as the risk model reads it, as `scoring` reads one back."""
    bits, _score, _data, pairs, _written = tagged
    by_value = _BY_VALUE
    probabilities = {by_value[k]: p for k, p in pairs} if pairs else {}
    return ScoredMessage(seq, author, _tactics_of(bits), probabilities)


_VALUES = {t: t.value for t in Tactic}
_BY_VALUE = {t.value: t for t in Tactic}
_NONE: frozenset[Tactic] = frozenset()


@functools.cache
def _tactics_of(bits: int) -> frozenset[Tactic]:
    return frozenset(tactics.from_bits(bits)) if bits else _NONE


class Tagging:
    """Tags an import's batches: in one worker process when the import runs in a process's
    main thread (the console, a benchmark) on two cores or more, else in the calling thread
    (a server's request thread never forks). The worker is forked after the tagger is built,
    so it starts at once and shares the model's memory."""

    def __init__(self, workers: int | None = None) -> None:
        if workers is None:
            main = threading.current_thread() is threading.main_thread()
            workers = 1 if main and (os.cpu_count() or 1) >= 2 else 0
        self.workers = workers
        self._pool: Any = None

    def __enter__(self) -> Tagging:
        if self.workers:
            tagging.shipped()  # built once, here, before the fork
            self._pool = multiprocessing.get_context("fork").Pool(self.workers)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None

    def submit(
        self, texts: list[tuple[str, str | None]], region: str | None
    ) -> Callable[[], list[Tagged]]:
        """Start tagging `texts` (text, platform); the returned call gives their tags
        (waiting if need be)."""
        if not texts:
            return list
        if self._pool is None:
            done = tag_texts(texts, region)
            return lambda: done
        pending = self._pool.apply_async(tag_texts, (texts, region))
        return lambda: list(pending.get())
