"""STIX 2.1 exports as a workflow: write the bundle (streamed), sign its SHA-256, record the
export (`InteropExport`) and disclose it in the audit chain with its hash and counts.

The interface owns the transaction and the output: the CLI writes a file and its
`.sig.json`, the API streams the body from a spooled temporary file (the signature and hash go
in headers, so they must be known before the first byte is sent).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.core import sharing, signing
from taskforce.core.caller import Caller
from taskforce.core.errors import Invalid, NotFound
from taskforce.core.settings import Settings
from taskforce.interop import bundle, records, releasable, signatures
from taskforce.interop.models import InteropExport

STIX_FORMAT = "stix"
SIGNED_FORMAT = "stix-2.1"


@dataclass(frozen=True)
class ExportResult:
    export_id: uuid.UUID
    bundle_id: str
    sha256: str
    bytes: int
    objects: int
    counts: dict[str, Any]
    signature: dict[str, Any]  # the detached signature document


def export_stix(
    session: Session,
    caller: Caller,
    settings: Settings,
    out: IO[bytes],
    *,
    agency_code: str | None = None,
    since: datetime | None = None,
    now: datetime,
    progress: Callable[[bundle.Counts], None] | None = None,
) -> ExportResult:
    """Write what the caller may pass on as a STIX 2.1 bundle into `out`, sign it, record it.

    `agency_code`: only that agency's material; `since`: only rows added at or after it."""
    releasable.require_exporter(caller)
    if agency_code is not None:
        agency_code = releasable.agency_by_code(session, agency_code).code
    written = bundle.write_bundle(
        session, caller, out, now=now, agency_code=agency_code, since=since, progress=progress
    )
    counts = written.counts.as_dict()
    asked = {"agency": agency_code, "since": since.isoformat() if since else None}
    output = records.Output(written.sha256, written.bytes, written.bytes, written.counts.total)
    record, document = records.record_export(
        session,
        caller,
        settings,
        format=STIX_FORMAT,
        signed_format=SIGNED_FORMAT,
        written=output,
        now=now,
        detail={**asked, "bundle": written.bundle_id, "counts": counts},
        disclosed={
            **asked,
            "objects": written.counts.total,
            "selectors": written.counts.selectors,
            "hash_entries": written.counts.hash_entries,
            "skipped": counts["skipped"],
        },
    )
    return ExportResult(
        export_id=record.id,
        bundle_id=written.bundle_id,
        sha256=written.sha256,
        bytes=written.bytes,
        objects=written.counts.total,
        counts=counts,
        signature=document,
    )


def public_key(settings: Settings) -> tuple[str, str]:
    """The export key's public half (base64 of its raw 32 bytes) and its key id."""
    key = signatures.public_key(settings)
    return signing.public_b64(key), signing.key_id(key)


def parse_since(text: str | None) -> datetime | None:
    """`--since` / `?since=`: an ISO 8601 date or date-time; without a zone it is UTC."""
    if text is None or not text.strip():
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise Invalid(
            "since", "must be an ISO 8601 date or time, e.g. 2026-03-01T12:00:00Z"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def signature_of(session: Session, caller: Caller, export_id: uuid.UUID) -> dict[str, Any]:
    """The signature document of one of the caller's agency's STIX exports; another agency's
    export, or none, is missing (404)."""
    releasable.require_exporter(caller)
    row = session.scalar(
        select(InteropExport).where(
            InteropExport.id == export_id, sharing.owned_by(InteropExport.agency_id, caller)
        )
    )
    if row is None or "signature" not in (row.detail or {}):
        raise NotFound("export")
    signature: dict[str, Any] = row.detail["signature"]
    return signature
