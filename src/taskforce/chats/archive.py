"""Zipped exports: WhatsApp's "Export chat … with media", Telegram's folder zipped, a
platform's disclosure.

Members are read from the zip stream one at a time and never extracted anywhere: a member
whose name climbs out (`../`), is absolute, or is a link is refused by name, before anything
is read from it; so is one that is encrypted, or whose size or compression ratio is absurd
(a zip bomb). The files that are not chats (photos, voice notes, documents) are hashed while
read (MD5, SHA-1, SHA-256, and PDQ for images, through `media.hashing`), yielded as
`AttachmentFile`s and dropped: **all of a zip's attachments come before its messages**, so an
import knows each file's hashes when it meets the message that names it. A zip inside the
zip is read (after the outer attachments, before the outer chats); one deeper is refused."""

from __future__ import annotations

import stat
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import PurePosixPath
from typing import IO

from taskforce.chats import textlines
from taskforce.chats.kinds import AttachmentFile, Event, Problem
from taskforce.core.budgets import MIB
from taskforce.media import hashing

MAX_MEMBER = 4 << 30
"""Bytes of one member once uncompressed: a chat export's longest text file is far below."""
MAX_TOTAL = 32 << 30
"""Bytes of all members together once uncompressed."""
MAX_RATIO = 200
"""Uncompressed / compressed size of a member over 1 MiB: text compresses about 10:1, a
zip bomb's members 1000:1 and more."""
MAX_MEMBERS = 1_000_000

Detect = Callable[[bytes, str], str | None]
"""The format of a member from its first bytes and name (None: not a chat, an attachment)."""
MemberReader = Callable[[textlines.Opener, str, str], Iterator[Event]]
"""The events of a chat member: (opener, source, member name)."""


def refusal(info: zipfile.ZipInfo) -> str | None:
    """Why a member is not read at all, or None."""
    name = info.filename.replace("\\", "/")
    parts = PurePosixPath(name).parts
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return "has an absolute path; refused"
    if ".." in parts:
        return "climbs out of the archive (../); refused"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "is a symbolic link; refused"
    if info.flag_bits & 0x1:
        return "is encrypted; give the export without a password"
    if info.file_size > MAX_MEMBER:
        return f"is {info.file_size:,} bytes uncompressed, over {MAX_MEMBER:,}; refused"
    if info.file_size > MIB and info.file_size > MAX_RATIO * max(info.compress_size, 1):
        ratio = info.file_size // max(info.compress_size, 1)
        return f"expands {ratio:,} times ({info.file_size:,} bytes), a zip bomb; refused"
    return None


def read(
    open_stream: textlines.Opener,
    source: str,
    detect: Detect,
    read_member: MemberReader,
) -> Iterator[Event]:
    """Attachments first, then the chats of nested zips, then this zip's chats."""
    with open_stream() as raw:
        try:
            archive = zipfile.ZipFile(raw)
        except (zipfile.BadZipFile, zlib.error, EOFError, ValueError) as exc:
            yield Problem(source, 0, "file", f"is not a readable zip ({exc})", stops=True)
            return
        with archive:
            members = archive.infolist()
            if len(members) > MAX_MEMBERS:
                rule = f"holds {len(members):,} members, over {MAX_MEMBERS:,}; refused"
                yield Problem(source, 0, "file", rule, stops=True)
                return
            total = sum(m.file_size for m in members)
            if total > MAX_TOTAL:
                rule = f"expands to {total:,} bytes, over {MAX_TOTAL:,}; refused"
                yield Problem(source, 0, "file", rule, stops=True)
                return
            chats: list[tuple[zipfile.ZipInfo, str]] = []
            for info in members:
                if info.is_dir():
                    continue
                where = f"{source}!{info.filename}"
                why = refusal(info)
                if why is not None:
                    yield Problem(where, 0, "member", why)
                    continue
                try:
                    with archive.open(info) as member:
                        head = member.read(8192)
                    kind = detect(head, info.filename)
                    if kind is None:
                        yield _attachment(archive, info, where)
                    else:
                        chats.append((info, kind))
                except (
                    zipfile.BadZipFile,
                    zlib.error,
                    EOFError,
                    OSError,
                    NotImplementedError,
                ) as exc:
                    yield Problem(where, 0, "member", f"cannot be read ({exc})")
            chats.sort(key=lambda pair: pair[1] != "zip")  # nested zips first (stable)
            for info, _kind in chats:
                where = f"{source}!{info.filename}"
                try:
                    yield from read_member(_opener(archive, info), where, info.filename)
                except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
                    yield Problem(where, 0, "member", f"cannot be read ({exc})", stops=True)


def _opener(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> textlines.Opener:
    def open_member() -> IO[bytes]:
        return archive.open(info)

    return open_member


def _attachment(archive: zipfile.ZipFile, info: zipfile.ZipInfo, where: str) -> AttachmentFile:
    """The member hashed (its bytes dropped once hashed)."""
    with archive.open(info) as member:
        found = hashing.hash_stream(member, where, reduced=True)  # type: ignore[arg-type]
    return AttachmentFile(
        source=where,
        name=PurePosixPath(info.filename.replace("\\", "/")).name,
        size=found.size if found.size is not None else info.file_size,
        md5=found.md5,
        sha1=found.sha1,
        sha256=found.sha256,
        pdq=found.pdq,
        pdq_quality=found.pdq_quality,
        media_type=found.media_type,
        error=found.error or "",
    )
