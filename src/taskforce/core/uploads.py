"""Large uploads written straight to a spool file as they arrive, never held in memory and
never copied through /tmp: a raw request body, or the one file part of a multipart form.

A route calls these only after it has checked that the caller may put the upload where it is
going (the hash set, the network table); the byte limit of the address is enforced while the
body streams, before it gets here (`core.limits.BodyGate`). Multipart is parsed with
python-multipart, the parser Starlette's own `request.form()` uses; Starlette's form would
spool the file to an anonymous temporary file first, and the import would copy it again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from taskforce.core.errors import Invalid

FIELD_BYTES = 64 << 10  # a form field beside the file (a token, a name, a format)
MAX_FIELDS = 16


async def body_to_file(request: Request, path: Path) -> int:
    """The request body, written to `path`; how many bytes it had."""
    size = 0
    with path.open("wb") as out:
        async for chunk in request.stream():
            size += len(chunk)
            out.write(chunk)
    return size


@dataclass
class FormUpload:
    """What a multipart form carried beside its file."""

    fields: dict[str, str] = field(default_factory=dict)
    filename: str | None = None
    size: int = 0
    received: bool = False  # a part named like the file field, with a file name, arrived

    def text(self, name: str) -> str:
        return self.fields.get(name, "")


def is_multipart(request: Request) -> bool:
    return request.headers.get("content-type", "").lower().startswith("multipart/form-data")


async def form_to_file(request: Request, path: Path, *, file_field: str = "file") -> FormUpload:
    """A multipart form whose part `file_field` is a file: the file written to `path`, the
    other fields returned (at most `MAX_FIELDS`, each at most `FIELD_BYTES`). Another file part
    is refused before a byte of it is kept."""
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise Invalid("content-type", "must be multipart/form-data with a boundary")
    result = FormUpload()
    headers: list[tuple[bytes, bytes]] = []
    header_name = bytearray()
    header_value = bytearray()
    state: dict[str, object] = {"name": "", "value": None, "file": False, "ended": False}

    def on_part_begin() -> None:
        headers.clear()
        state.update(name="", value=bytearray(), file=False)

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header_name.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header_value.extend(data[start:end])

    def on_header_end() -> None:
        headers.append((bytes(header_name).lower(), bytes(header_value)))
        header_name.clear()
        header_value.clear()

    def on_headers_finished() -> None:
        disposition = next((v for k, v in headers if k == b"content-disposition"), b"")
        _, params = parse_options_header(disposition)
        name = params.get(b"name", b"").decode("utf-8", "replace")
        state["name"] = name
        if b"filename" not in params:
            if len(result.fields) >= MAX_FIELDS:
                raise Invalid("form", f"at most {MAX_FIELDS} fields")
            return
        if name != file_field or result.received:
            raise Invalid(file_field, f"send one file, in the form's '{file_field}' field")
        result.received = True
        result.filename = params[b"filename"].decode("utf-8", "replace")
        state["file"] = True

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if state["file"]:
            out.write(data[start:end])
            result.size += end - start
            return
        value = state["value"]
        assert isinstance(value, bytearray)
        if len(value) + (end - start) > FIELD_BYTES:
            raise Invalid(str(state["name"]) or "form", f"at most {FIELD_BYTES:,} bytes")
        value.extend(data[start:end])

    def on_part_end() -> None:
        value = state["value"]
        if not state["file"] and isinstance(value, bytearray):
            result.fields[str(state["name"])] = value.decode("utf-8", "replace")

    def on_end() -> None:
        state["ended"] = True

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
            "on_end": on_end,
        },
    )
    with path.open("wb") as out:
        try:
            async for chunk in request.stream():
                parser.write(chunk)
            parser.finalize()
        except FormParserError as exc:
            raise Invalid("body", "must be a well-formed multipart form") from exc
    if not state["ended"]:  # cut short: a part of a file must not be imported as the file
        raise Invalid("body", "must be a whole multipart form (it ended before its last part)")
    return result
