"""Streaming JSON and XML item readers that keep to a `Budget` (see `core.budgets`).

Both read a file as a stream of parser events and build only the items the caller asks for
(the Media objects of a VICS file, the images of an NCMEC file), one at a time, so memory is
one item, not the file:

* JSON goes through ijson's `basic_parse` (yajl, in C), which keeps one byte per nesting
  level; ijson's `items` would keep every level's full path, which made memory grow with the
  square of the nesting (40 kB nested 20,000 deep took 708 MiB).
* XML goes through defusedxml's SAX parser (expat): no tree is built, entities and external
  references are refused, and only the text of elements inside an item is kept.

An item that nests too deep, holds too many values or too long a field is returned as a
`Breach` (a bad item) once the parser has passed its end; what stops a file raises `Exceeded`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import IO, Any
from xml.sax import SAXException
from xml.sax.handler import ContentHandler

import ijson
from defusedxml import DefusedXmlException
from defusedxml.sax import make_parser
from typing_extensions import override

from taskforce.core.budgets import DEFAULT, Breach, Budget, Exceeded, too_long

ITEM = object()  # in a path: any element of an array
CHUNK = 64 * 1024


class Malformed(Exception):
    """The file is not valid JSON or XML from here on (`record`: the item it stopped in)."""

    def __init__(self, message: str, record: int) -> None:
        super().__init__(message)
        self.record = record


class _Metered:
    """A binary stream that refuses to hand the parser more than `limit` bytes past the last
    event it produced: that is a single token (string, number, tag) the parser would buffer."""

    def __init__(self, raw: IO[bytes], limit: int, record: list[int]) -> None:
        self.raw, self.limit, self.record = raw, limit, record
        self.read_bytes = self.mark = 0

    def read(self, size: int = -1) -> bytes:
        if self.read_bytes - self.mark > self.limit:
            raise Exceeded(
                f"has a single token (string, number or tag) {too_long(self.limit, 'bytes')}",
                self.record[0] + 1,
            )
        chunk = self.raw.read(CHUNK if size < 0 else min(size, CHUNK))
        self.read_bytes += len(chunk)
        return chunk


# --- JSON -------------------------------------------------------------------------------------


def json_items(
    stream: IO[bytes], path: Sequence[object], budget: Budget = DEFAULT
) -> Iterator[tuple[int, object | Breach]]:
    """(item number, value or `Breach`) for each value at `path` (map keys, and `ITEM` for
    any array element), e.g. `("value", ITEM)`. Raises `Malformed` for invalid JSON and
    `Exceeded` for a file past the budget; everything yielded before stays good."""
    for _name, number, value in json_paths(stream, {"": path}, budget):
        yield number, value


def json_paths(
    stream: IO[bytes], paths: Mapping[str, Sequence[object]], budget: Budget = DEFAULT
) -> Iterator[tuple[str, int, object | Breach]]:
    """(name of the path, item number, value or `Breach`) for each value at any of `paths`,
    in file order: a reader that needs what surrounds its items (a Telegram chat's `id` and
    `name` before its `messages`) names their paths too, and every match counts as an item.
    Raises as `json_items` does."""
    record = [0]
    metered = _Metered(stream, budget.max_token, record)
    targets = [(name, tuple(path)) for name, path in paths.items()]
    longest = max((len(path) for _name, path in targets), default=0)
    # Per level up to the longest path's: is it an array, and the map's current key.
    levels: list[list[Any]] = []
    walk = _Walk(budget, metered, record)
    events = _numbers_as_python(ijson.basic_parse(metered, buf_size=CHUNK))
    try:
        for event, value in events:
            metered.mark = metered.read_bytes
            if event == "map_key":
                if walk.depth == len(levels):
                    levels[-1][1] = value
                continue
            if event == "end_map" or event == "end_array":
                walk.depth -= 1
                if walk.depth < len(levels):
                    levels.pop()
                continue
            walk.count(1)
            name = _matching(targets, levels) if walk.depth == len(levels) else None
            if name is not None:
                record[0] += 1
                if record[0] > budget.max_records:
                    raise Exceeded(f"has more than {budget.max_records:,} items", record[0])
                yield name, record[0], walk.item(event, value, events)
                continue
            if event == "start_map" or event == "start_array":
                walk.enter(record[0] + 1)
                if walk.depth <= longest:
                    levels.append([event == "start_array", ITEM])
    except ijson.JSONError as exc:  # yajl's text points at the byte over several lines
        said = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
        raise Malformed(f"is not valid JSON: {said or 'cut short'}", record[0] + 1) from None


def _matching(targets: list[tuple[str, tuple[object, ...]]], levels: list[list[Any]]) -> str | None:
    for name, target in targets:
        if len(levels) == len(target) and all(
            want is ITEM if is_array else want == key
            for want, (is_array, key) in zip(target, levels, strict=True)
        ):
            return name
    return None


def _numbers_as_python(events: Iterator[tuple[str, Any]]) -> Iterator[tuple[str, Any]]:
    """Integers of any size stay integers, fractions become floats. (ijson's own `use_float`
    makes yajl refuse an integer past 2^63 as an "integer overflow", which stopped the whole
    file at a number JSON allows.)"""
    for event, value in events:
        yield event, float(value) if isinstance(value, Decimal) else value


class _Walk:
    """The file's nesting and value count, and the building of one item at a time."""

    def __init__(self, budget: Budget, metered: _Metered, record: list[int]) -> None:
        self.budget, self.metered, self.record = budget, metered, record
        self.depth = self.values = 0

    def count(self, values: int) -> None:
        self.values += values
        if self.values > self.budget.max_values:
            raise Exceeded(f"has more than {self.budget.max_values:,} values", self.record[0] + 1)

    def enter(self, record: int) -> None:
        self.depth += 1
        if self.depth > self.budget.max_file_depth:
            raise Exceeded(f"nests deeper than {self.budget.max_file_depth:,} levels", record)

    def item(self, event: str, value: object, events: Iterator[tuple[str, Any]]) -> object | Breach:
        """The item that starts with this event, built from the events up to its end."""
        if event != "start_map" and event != "start_array":
            return value
        self.enter(self.record[0])
        root: dict[Any, Any] | list[Any] = {} if event == "start_map" else []
        stack: list[Any] = [root]
        keys: list[Any] = [None]
        depth, values = 1, 1
        max_depth, max_values = self.budget.max_depth, self.budget.max_item_values
        metered = self.metered
        for event, value in events:
            metered.mark = metered.read_bytes
            if event == "map_key":
                keys[-1] = value
                continue
            if event == "end_map" or event == "end_array":
                stack.pop()
                keys.pop()
                depth -= 1
                self.depth -= 1
                if not depth:
                    self.count(values - 1)
                    return root
                continue
            values += 1
            parent = stack[-1]
            if event == "start_map" or event == "start_array":
                child: Any = {} if event == "start_map" else []
                if type(parent) is list:
                    parent.append(child)
                else:
                    parent[keys[-1]] = child
                stack.append(child)
                keys.append(None)
                depth += 1
                self.enter(self.record[0])
                if depth > max_depth:
                    return self._skip(
                        depth, values, events, f"nests deeper than {max_depth} levels"
                    )
            elif type(parent) is list:
                parent.append(value)
            else:
                parent[keys[-1]] = value
            if values > max_values:
                return self._skip(depth, values, events, f"holds more than {max_values:,} values")
        return root  # the events ended inside the item: ijson has raised already

    def _skip(
        self, depth: int, values: int, events: Iterator[tuple[str, Any]], rule: str
    ) -> Breach:
        """Follow the rest of a bad item without keeping any of it; its breach."""
        metered = self.metered
        for event, _value in events:
            metered.mark = metered.read_bytes
            if event == "end_map" or event == "end_array":
                depth -= 1
                self.depth -= 1
                if not depth:
                    break
            elif event == "start_map" or event == "start_array":
                depth += 1
                values += 1
                self.enter(self.record[0])
            elif event != "map_key":
                values += 1
        self.count(values - 1)
        return Breach("item", rule)


# --- XML --------------------------------------------------------------------------------------


def _local(name: str) -> str:
    return name.rsplit(":", 1)[-1].lower()


class _Items(ContentHandler):
    """SAX handler: the text of the elements inside each item element, by local name."""

    def __init__(
        self,
        item_tags: frozenset[str],
        budget: Budget,
        metered: _Metered,
        attributes: frozenset[str] = frozenset(),
    ) -> None:
        super().__init__()
        self.item_tags, self.budget, self.metered = item_tags, budget, metered
        self.attributes = attributes
        self.around: dict[str, dict[str, str]] = {}  # attributes of open elements named
        self.depth = self.values = self.count = self.item_values = 0
        self.item_depth = 0  # depth of the open item element, 0 when none
        self.fields: dict[str, str] = {}
        self.text: list[str] = []
        self.text_size = 0
        self.breach: Breach | None = None
        self.ready: list[tuple[int, dict[str, str] | Breach]] = []

    @override
    def startElement(self, name: str, attrs: Any) -> None:
        self.metered.mark = self.metered.read_bytes
        self.depth += 1
        self.values += 1
        if self.depth > self.budget.max_file_depth:
            raise Exceeded(
                f"nests deeper than {self.budget.max_file_depth:,} levels",
                self.count + (self.item_depth == 0),
            )
        if self.values > self.budget.max_values:
            raise Exceeded(f"has more than {self.budget.max_values:,} elements", self.count + 1)
        local = _local(name)
        if not self.item_depth:
            if local in self.attributes:
                self.around[local] = {_local(k): str(v) for k, v in attrs.items()}
            if local in self.item_tags:
                self.count += 1
                if self.count > self.budget.max_records:
                    raise Exceeded(f"has more than {self.budget.max_records:,} items", self.count)
                self.item_depth = self.depth
                self.fields, self.breach, self.item_values = {}, None, 0
                for element, values in self.around.items():
                    for key, value in values.items():
                        self.fields[f"{element}@{key}"] = value
            return
        self.item_values += 1
        inside = self.depth - self.item_depth
        if self.breach is None and inside >= self.budget.max_depth:
            self.breach = Breach(local, f"nests deeper than {self.budget.max_depth} levels")
        elif self.breach is None and self.item_values > self.budget.max_item_values:
            rule = f"holds more than {self.budget.max_item_values:,} elements"
            self.breach = Breach(local, rule)
        if self.breach is not None:
            self.fields = {}
        self.text, self.text_size = [], 0

    def characters(self, content: str) -> None:
        self.metered.mark = self.metered.read_bytes
        if not self.item_depth or self.breach is not None:
            return
        self.text_size += len(content)
        if self.text_size <= self.budget.max_field:
            self.text.append(content)

    def endElement(self, name: str) -> None:  # noqa: N802 - SAX's name
        self.metered.mark = self.metered.read_bytes
        if self.item_depth and self.breach is None and self.depth > self.item_depth:
            local = _local(name)
            if self.text_size > self.budget.max_field:
                self.breach, self.fields = Breach(local, too_long(self.budget.max_field)), {}
            elif self.text:
                self.fields[local] = "".join(self.text)
        self.text, self.text_size = [], 0
        if self.depth == self.item_depth:
            self.ready.append((self.count, self.breach or self.fields))
            self.item_depth, self.fields, self.breach = 0, {}, None
        if not self.item_depth and self.around:
            self.around.pop(_local(name), None)
        self.depth -= 1


def xml_items(
    stream: IO[bytes],
    item_tags: Sequence[str],
    budget: Budget = DEFAULT,
    *,
    attributes: Sequence[str] = (),
) -> Iterator[tuple[int, dict[str, str] | Breach]]:
    """(item number, {local element name: text} or `Breach`) for each element named in
    `item_tags`, whatever its parents. The text of the last element of a name wins. The
    attributes of the item and of its enclosing elements named in `attributes` come as
    `"element@attribute"` (PAN-12's `conversation@id`, `message@line`). Raises `Malformed` for
    invalid XML or a DTD's entities, `Exceeded` for a file past the budget."""
    record = [0]
    metered = _Metered(stream, budget.max_token, record)
    named = frozenset(a.lower() for a in attributes)
    handler = _Items(frozenset(t.lower() for t in item_tags), budget, metered, named)
    parser = make_parser()
    parser.setContentHandler(handler)
    try:
        while chunk := metered.read(CHUNK):
            parser.feed(chunk)
            record[0] = handler.count
            yield from handler.ready
            handler.ready.clear()
        parser.close()
    except DefusedXmlException:
        raise Malformed(
            "declares XML entities or a DTD, which are refused", handler.count + 1
        ) from None
    except SAXException as exc:
        raise Malformed(f"is not valid XML: {exc.getMessage()}", handler.count + 1) from None
    yield from handler.ready
