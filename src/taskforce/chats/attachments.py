"""The files an export held, for the import that reads it: their names and hashes (the reader
hashed each member and dropped its bytes), which known media they match, and the rows each
message's attachment names become.

Known media is matched through `hashsets.matching.match`, the hub's matching of hashes
computed elsewhere (the API's `/match`): exact digests through the hash sets' indexes, PDQ
through the shared Hamming index, only against the hash sets the importer may see. Triage's
`KnownMedia` loads every visible entry into memory first, which pays for a seizure of
hundreds of thousands of files, not for the few photos of a chat export.

New media (an image or video that matches no known set) becomes MD5 and PDQ selectors of the
case, as triage feeds its case (`case_additions.add_computed_selectors`), so deconfliction
finds the same file in another agency's seizure. One call per file read, after its messages.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from taskforce.cases import additions as case_additions
from taskforce.cases.deconfliction import NewSelector
from taskforce.cases.selectors import SelectorKind, normalise
from taskforce.chats.kinds import AttachmentFile
from taskforce.core.caller import Caller
from taskforce.core.settings import Settings
from taskforce.hashsets import matching
from taskforce.hashsets.schemas import MatchQuery, MatchRequest
from taskforce.media.hashing import MIN_PDQ_QUALITY

MATCH_CHUNK = 10_000  # hashes per match request (MatchRequest's own limit)


def _usable_pdq(found: AttachmentFile) -> str | None:
    if found.pdq and (found.pdq_quality is None or found.pdq_quality >= MIN_PDQ_QUALITY):
        return found.pdq
    return None


def _hit(hit: Any) -> dict[str, Any]:
    return {
        "hash_set": hit.hash_set,
        "agency": hit.agency,
        "match_type": hit.match_type,
        "distance": hit.distance,
        "category": hit.category,
    }


class Held:
    """The files of the source being read, by the name its messages use (bounded by the
    export's own file count, and dropped when the next file is read)."""

    def __init__(self) -> None:
        self.files: dict[str, AttachmentFile] = {}
        self.matches: dict[str, list[dict[str, Any]]] = {}
        self._unmatched: list[str] = []

    def add(self, found: AttachmentFile) -> None:
        self.files[found.name] = found
        self._unmatched.append(found.name)

    def match(self, session: Session, caller: Caller, settings: Settings) -> None:
        """Match the files added since the last call against the known media the caller may
        see (an empty file is in many lists by accident: it is never known)."""
        names = [
            n
            for n in self._unmatched
            if (f := self.files[n]).size and (f.md5 or f.sha1 or f.sha256 or _usable_pdq(f))
        ]
        self._unmatched = []
        for start in range(0, len(names), MATCH_CHUNK):
            chunk = names[start : start + MATCH_CHUNK]
            queries = [
                MatchQuery(
                    md5=self.files[n].md5,
                    sha1=self.files[n].sha1,
                    sha256=self.files[n].sha256,
                    pdq=_usable_pdq(self.files[n]),
                )
                for n in chunk
            ]
            results = matching.match(session, caller, settings, MatchRequest(hashes=queries))
            for result in results:
                if result.matches:
                    self.matches[chunk[result.index]] = [_hit(h) for h in result.matches]

    def rows(
        self,
        *,
        conversation_id: uuid.UUID,
        message_id: uuid.UUID,
        import_id: uuid.UUID,
        names: Sequence[str],
    ) -> list[dict[str, Any]]:
        """`chat_attachment` rows of one message: hashes when the export held the file, the
        bare name when it did not (a photo the phone had already deleted)."""
        out = []
        for name in names:
            found = self.files.get(name)
            matches = self.matches.get(name, [])
            out.append(
                {
                    "id": uuid.uuid4(),
                    "conversation_id": conversation_id,
                    "message_id": message_id,
                    "import_id": import_id,
                    "name": name[:500],
                    "present": found is not None,
                    "size": found.size if found else None,
                    "media_type": found.media_type if found else None,
                    "md5": found.md5 if found else None,
                    "sha1": found.sha1 if found else None,
                    "sha256": found.sha256 if found else None,
                    "pdq": found.pdq if found else None,
                    "matches": matches,
                    "known": bool(matches),
                    "error": (found.error if found else "")[:300],
                }
            )
        return out

    def known_count(self, names: Sequence[str]) -> int:
        return sum(1 for n in names if n in self.matches)

    def new_media(self, source: str) -> list[NewSelector]:
        """Images and videos of the export that matched no known set, as MD5 (and PDQ, when
        the picture has enough detail) selectors."""
        wanted = []
        for name, found in self.files.items():
            kind = (found.media_type or "").split("/")[0]
            if name in self.matches or kind not in ("image", "video") or not found.md5:
                continue
            if not found.size:
                continue
            note = f"chat export: {source} {name}"[:500]
            wanted.append(NewSelector(normalise(SelectorKind.MD5, found.md5), found.md5, note=note))
            if (pdq := _usable_pdq(found)) is not None:
                wanted.append(NewSelector(normalise(SelectorKind.PDQ, pdq), pdq, note=note))
        return wanted


def feed_case(
    session: Session,
    caller: Caller,
    settings: Settings,
    case_id: uuid.UUID,
    held: Held,
    source: str,
) -> int:
    """The export's new media as selectors of the case (deconflicted); how many were new."""
    wanted = held.new_media(source)
    if not wanted:
        return 0
    report = case_additions.add_computed_selectors(
        session, caller, settings, case_id=case_id, selectors=wanted
    )
    return report.accepted
