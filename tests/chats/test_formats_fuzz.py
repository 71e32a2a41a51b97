"""Whatever bytes arrive, a reader yields events and never raises: hostile input is a
Problem with a line, never a traceback for the investigator."""

from __future__ import annotations

import io
import json
import zipfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taskforce.chats.kinds import Message, Problem
from taskforce.chats.reading import FORMATS, ReadOptions, read_stream

PREFIXES = (
    b"",
    b"10/02/2024, 10:00 - Alice: ",
    b"[31.12.20, 21:41:05] Bob: ",
    b"time,author,text\n",
    b"[2020-12-31 21:41:05] Alice: ",
    b'{"name": "x", "id": 1, "messages": [{"id": 1, "date": "',
    b'<?xml version="1.0"?><conversations><conversation id="c"><message line="1"><author>',
    b"PK\x03\x04",
)
LINES = st.sampled_from(
    [
        "13/02/2024, 10:00 - Alice: hi",
        "0/0/0000, 99:99 - x: y",
        "[2/30/21, 12:00\u202fAM] Bob: \u200e<attached: a.jpg>",
        "9999-99-99 10:00 <a> b",
        "[0000-01-01 00:00:00] c: d",
        "2021-01-01T00:00:00+99:99,a,b",
        "\u200eIMG-1.jpg (file attached)",
        '"unterminated,quote',
        "¹²³/⁴/⁵, 1:00 - a: b",
    ]
)


def read_all(data: bytes, name: str, fmt: str | None) -> list[object]:
    def opener() -> io.BytesIO:
        return io.BytesIO(data)

    options = ReadOptions(format=fmt, timezone="Europe/Berlin")
    return list(read_stream(opener, name, name, options))


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    prefix=st.sampled_from(PREFIXES),
    body=st.binary(max_size=400),
    lines=st.lists(LINES, max_size=6),
    fmt=st.sampled_from((None, *FORMATS)),
)
def test_any_bytes_give_events_not_exceptions(
    prefix: bytes, body: bytes, lines: list[str], fmt: str | None
) -> None:
    data = prefix + "\n".join(lines).encode() + body
    for event in read_all(data, "upload.txt", fmt):
        assert isinstance(event, Message | Problem)
        if isinstance(event, Problem):
            assert event.rule
            assert event.line >= 0


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    value=st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False)
        | st.text(max_size=20),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(
                st.sampled_from(
                    [
                        "id",
                        "name",
                        "messages",
                        "text",
                        "date",
                        "date_unixtime",
                        "from",
                        "from_id",
                        "photo",
                        "file",
                        "type",
                        "chats",
                        "list",
                        "action",
                    ]
                ),
                children,
                max_size=6,
            )
        ),
        max_leaves=30,
    )
)
def test_any_json_gives_events_not_exceptions(value: object) -> None:
    data = json.dumps({"name": "x", "id": 1, "messages": [value, {"text": value}]}).encode()
    events = read_all(data, "result.json", "telegram")
    assert all(isinstance(e, Message | Problem) for e in events)


@settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    names=st.lists(
        st.text(alphabet="ab./\\:_ -\u200e", min_size=1, max_size=12).filter(
            lambda name: zipfile.ZipInfo(name).filename.strip("/") != ""
        ),
        max_size=4,
        unique_by=lambda name: zipfile.ZipInfo(name).filename,
    ),
    body=st.binary(max_size=200),
)
def test_any_zip_gives_events_not_exceptions(names: list[str], body: bytes) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, b"13/02/2024, 10:00 - Alice: " + body)
    data = buffer.getvalue()
    for cut in (len(data), len(data) // 2):
        events = read_all(data[:cut], "x.zip", None)
        assert all(e.__class__.__name__ in ("Message", "Problem", "AttachmentFile") for e in events)
