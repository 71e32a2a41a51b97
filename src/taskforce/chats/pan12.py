"""PAN-12's XML corpus (the Sexual Predator Identification task, CLEF 2012).

`<conversations><conversation id="…"><message line="1"><author>hash</author><time>03:20
</time><text>…</text></message>…`: read with `core.parsing.xml_items` (defusedxml's SAX), one
message at a time. Authors are PAN-12's hashes (platform "pan12"); times are only hours and
minutes, so `sent_at` is None and the time is kept as written. A DTD with entities (an entity
bomb) or XML that breaks off stops the file with a Problem; the messages before are kept."""

from __future__ import annotations

from collections.abc import Iterator

from taskforce.chats import textlines, timestamps
from taskforce.chats.kinds import Author, Event, Message, Problem, cut, kept_before
from taskforce.core import parsing
from taskforce.core.budgets import Breach, Exceeded

PLATFORM = "pan12"


def read(
    open_stream: textlines.Opener, source: str, conversation: str, options: textlines.Options
) -> Iterator[Event]:
    """Messages of a PAN-12 XML file, conversation by conversation."""
    ordinals: dict[str, int] = {}
    number = 0
    with open_stream() as stream:
        items = parsing.xml_items(
            stream, ["message"], options.budget, attributes=["conversation", "message"]
        )
        try:
            for number, fields in items:
                if isinstance(fields, Breach):
                    yield Problem(source, number, fields.field, fields.rule)
                    continue
                yield from _message(fields, source, number, conversation, ordinals)
        except parsing.Malformed as exc:  # at the message after the last one read
            rule = f"{exc}; {kept_before(number)}"
            yield Problem(source, number + 1, "file", rule, stops=True)
        except Exceeded as exc:
            rule = f"{exc.rule}; {kept_before(number)}"
            yield Problem(source, number + 1, "file", rule, stops=True)
        else:
            if number == 0:
                rule = "holds no PAN-12 message (<conversation><message>…)"
                yield Problem(source, 0, "file", rule, stops=True)


def _message(
    fields: dict[str, str],
    source: str,
    number: int,
    default_conversation: str,
    ordinals: dict[str, int],
) -> Iterator[Event]:
    author = fields.get("author", "").strip()
    if not author:
        yield Problem(source, number, "author", "is missing")
        return
    time_text = fields.get("time", "").strip()
    if time_text:
        try:
            timestamps.clock(time_text)
        except timestamps.BadTime as exc:
            yield Problem(source, number, "time", str(exc))
            return
    text = fields.get("text", "")
    text, problem = cut(text, source, number)
    if problem is not None:
        yield problem
    conversation = fields.get("conversation@id", "").strip() or default_conversation
    ordinal = ordinals.get(conversation, 0)
    ordinals[conversation] = ordinal + 1
    yield Message(
        source=source,
        line=number,
        format="pan12",
        conversation=conversation,
        title=conversation,
        ordinal=ordinal,
        sent_at=None,
        time_text=time_text,
        author=Author(author, PLATFORM),
        text=text,
    )
