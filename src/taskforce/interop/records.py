"""One export recorded, whatever its format: its SHA-256 signed (`interop.signatures`), one
`InteropExport` row and one audit entry (a disclosure: the data leaves the hub). STIX and MISP
exports go through here so that every export is signed, recorded and audited the same way."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.caller import Caller
from taskforce.core.settings import Settings
from taskforce.interop import signatures, stix
from taskforce.interop.models import InteropExport


@dataclass(frozen=True)
class Output:
    """What an export wrote, as the signature and the record name it."""

    sha256: str
    bytes: int  # the export's size, recorded
    signed_bytes: int  # the size the signature document states (the signed file's)
    objects: int


def record_export(
    session: Session,
    caller: Caller,
    settings: Settings,
    *,
    format: str,
    signed_format: str,
    written: Output,
    now: datetime,
    detail: dict[str, Any],
    disclosed: dict[str, Any],
) -> tuple[InteropExport, dict[str, Any]]:
    """Sign, record and audit one export; the row and the signature document.

    `detail` goes in the row (with the signature), `disclosed` in the audit entry (with the
    hash, size and key id); the audit action is `export_<format>`."""
    document = signatures.sign(
        settings,
        format=signed_format,
        sha256=written.sha256,
        size=written.signed_bytes,
        objects=written.objects,
        agency=caller.agency_code,
        exported_at=stix.timestamp(now),
    )
    record = InteropExport(
        agency_id=caller.agency_id,
        user_id=caller.user_id,
        actor_label=caller.label,
        format=format,
        created_at=now,
        object_count=written.objects,
        byte_count=written.bytes,
        sha256=written.sha256,
        key_id=document["key_id"],
        detail={**detail, "signature": document},
    )
    session.add(record)
    session.flush()
    audit.record(
        session,
        caller,
        action=f"export_{format.replace('-', '_')}",
        operation=Operation.DISCLOSURE,
        subject_type="interop_export",
        subject_id=record.id,
        subject_agency_id=caller.agency_id,
        detail={
            "sha256": written.sha256,
            "bytes": written.bytes,
            "key_id": document["key_id"],
            **disclosed,
        },
    )
    return record, document
