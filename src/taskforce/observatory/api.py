"""The observatory over the API (members): live figures of a month, the published snapshots,
one snapshot and its verification, and publishing a month (the coordinator). Figures come as
JSON, or as one CSV sheet with `?format=csv`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from taskforce.core.db import utcnow
from taskforce.core.http import CallerDep, SessionDep, SettingsDep
from taskforce.observatory import service
from taskforce.observatory.schemas import Figures, SnapshotRead

router = APIRouter(prefix="/observatory", tags=["observatory"])

PeriodQuery = Annotated[
    str | None,
    Query(max_length=7, description="A month, YYYY-MM; default: the current month"),
]
FormatQuery = Annotated[str, Query(pattern="^(json|csv)$", description="json or csv")]


class PublishBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period: str = Field(max_length=7, description="The month to publish, YYYY-MM (ended)")


class VerificationRead(BaseModel):
    period: str
    ok: bool
    stored: str  # the hash kept with the snapshot
    computed: str  # the hash of the figures as stored now
    audited: str | None  # the hash written into the audit chain at publication


def _csv(figures: Figures, name: str) -> Response:
    return PlainTextResponse(
        service.csv_text(figures),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="observatory-{name}.csv"'},
    )


CSV_TOO: dict[int | str, dict[str, object]] = {
    200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with format=csv"}
}


@router.get("/live", response_model=Figures, responses=CSV_TOO)
def live(
    session: SessionDep,
    caller: CallerDep,
    settings: SettingsDep,
    period: PeriodQuery = None,
    format: FormatQuery = "json",
) -> Figures | Response:
    """A month's figures as they stand now (suppressed below the threshold), audited."""
    figures = service.live(
        session, caller, period, utcnow(), threshold=settings.observatory_threshold
    )
    return _csv(figures, f"live-{figures.period_start:%Y-%m}") if format == "csv" else figures


@router.get("/snapshots", response_model=list[SnapshotRead])
def snapshots(session: SessionDep, caller: CallerDep) -> list[SnapshotRead]:
    """The published months, the newest first."""
    return service.published(session)


@router.post("/snapshots", response_model=SnapshotRead, status_code=201)
def publish(
    data: PublishBody, session: SessionDep, caller: CallerDep, settings: SettingsDep
) -> SnapshotRead:
    """Publish a month that has ended (the coordinator); a month is published once (409)."""
    return service.publish(
        session, caller, data.period, utcnow(), threshold=settings.observatory_threshold
    )


@router.get("/snapshots/{period}", response_model=SnapshotRead, responses=CSV_TOO)
def snapshot(
    period: str, session: SessionDep, caller: CallerDep, format: FormatQuery = "json"
) -> SnapshotRead | Response:
    """One published month (404 when it was not published)."""
    found = service.snapshot(session, period)
    return _csv(found.figures, found.period) if format == "csv" else found


@router.get("/snapshots/{period}/verify", response_model=VerificationRead)
def verify(period: str, session: SessionDep, caller: CallerDep) -> VerificationRead:
    """Recompute the stored figures' hash and compare it with the stored one and the one the
    audit chain recorded."""
    check = service.verify_published(session, period)
    return VerificationRead(
        period=check.period,
        ok=check.ok,
        stored=check.stored,
        computed=check.computed,
        audited=check.audited,
    )
