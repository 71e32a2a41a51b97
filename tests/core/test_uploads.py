"""`core.uploads.form_to_file`: a multipart form's file goes to the spool file byte for byte
however the body is cut into chunks on the wire; the fields beside it are kept, bounded; a
second file part or too many fields are refused with the field and the rule."""

from __future__ import annotations

import asyncio
import itertools
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.requests import Request

from taskforce.core import uploads
from taskforce.core.errors import Invalid

BOUNDARY = "----tfBoundary7MA4YWxk"


def _form(fields: dict[str, str], files: list[tuple[str, str, bytes]]) -> bytes:
    out = b""
    for name, value in fields.items():
        out += f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        out += value.encode() + b"\r\n"
    for name, filename, content in files:
        out += (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: text/plain\r\n\r\n'
        ).encode()
        out += content + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


def _receive(body: bytes, cuts: list[int]) -> Any:
    points = sorted({c % (len(body) + 1) for c in cuts} | {0, len(body)})
    pieces = [body[a:b] for a, b in itertools.pairwise(points)] or [b""]
    messages = [
        {"type": "http.request", "body": p, "more_body": i < len(pieces) - 1}
        for i, p in enumerate(pieces)
    ]

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    return receive


def _read(body: bytes, cuts: list[int], path: Path) -> uploads.FormUpload:
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/x",
        "headers": [(b"content-type", f"multipart/form-data; boundary={BOUNDARY}".encode())],
    }
    request = Request(scope, _receive(body, cuts))
    # A thread of its own: the browser tests' Playwright keeps an event loop in the main one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, uploads.form_to_file(request, path)).result(timeout=60)


@settings(max_examples=40, deadline=None)
@given(
    content=st.binary(max_size=5000),
    cuts=st.lists(st.integers(min_value=0, max_value=20_000), max_size=40),
    source=st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=50),
)
def test_the_file_arrives_byte_for_byte_however_it_is_chunked(
    content: bytes, cuts: list[int], source: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("up") / "spooled"
    body = _form({"csrf_token": "abc", "source": source}, [("file", "networks.csv", content)])
    form = _read(body, cuts, path)
    assert path.read_bytes() == content
    assert form.filename == "networks.csv"
    assert form.size == len(content)
    assert form.text("csrf_token") == "abc"
    assert form.text("source") == source


def test_a_second_file_or_a_file_in_another_field_is_refused(tmp_path: Path) -> None:
    for files in (
        [("file", "a.txt", b"1"), ("file", "b.txt", b"2")],
        [("other", "a.txt", b"1")],
    ):
        with pytest.raises(Invalid) as refused:
            _read(_form({}, files), [7, 100], tmp_path / "f")
        assert refused.value.field == "file"


def test_fields_are_bounded(tmp_path: Path) -> None:
    many = {f"f{i}": "x" for i in range(uploads.MAX_FIELDS + 1)}
    with pytest.raises(Invalid, match="at most 16 fields"):
        _read(_form(many, []), [], tmp_path / "f")
    with pytest.raises(Invalid) as long:
        _read(_form({"source": "x" * (uploads.FIELD_BYTES + 1)}, []), [3], tmp_path / "f")
    assert long.value.field == "source"
    for cut_short in (_form({}, [("file", "a.txt", b"1" * 100)])[:-40], b"garbage"):
        with pytest.raises(Invalid) as broken:
            _read(cut_short, [], tmp_path / "f")
        assert broken.value.field == "body"
