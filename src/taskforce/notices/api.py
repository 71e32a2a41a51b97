"""Clue notices over the API: write a notice, add clues and sanitised images, answer clues,
publish objects for the public, close. A notice that does not reach the caller's agency
answers 404, like a missing one."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, File, Form, Query, Response, UploadFile, status

from taskforce.core.errors import Invalid
from taskforce.core.http import CallerDep, SessionDep, SettingsDep
from taskforce.core.pagination import limit_query
from taskforce.notices import images, publishing, reading, service
from taskforce.notices.schemas import (
    CLUE_LABELS,
    AnswerCreate,
    AnswerRead,
    ClueCreate,
    ClueRead,
    ImageRead,
    NoticeClose,
    NoticeCreate,
    NoticeNotificationRead,
    NoticeRead,
    NoticeStatus,
    NoticeSummary,
    PublishRequest,
    RegionRead,
    TipRead,
)

router = APIRouter(tags=["notices"])


def read_upload(upload: UploadFile) -> bytes:
    """The upload's bytes, refusing more than the image limit without reading it all."""
    data = upload.file.read(images.MAX_IMAGE_BYTES + 1)
    if len(data) > images.MAX_IMAGE_BYTES:
        raise Invalid("image", f"must be at most {images.MAX_IMAGE_BYTES // (1024 * 1024)} MB")
    return data


@router.get("/notices/regions", response_model=list[RegionRead])
def list_regions(caller: CallerDep) -> list[RegionRead]:
    """Regions and sub-regions a notice may target (UN M49), with their countries."""
    return [
        RegionRead(name=r.name, parent=r.parent, countries=sorted(r.countries))
        for r in publishing.region_catalogue()
    ]


@router.get("/notices/inbox", response_model=list[NoticeNotificationRead])
def notice_inbox(
    session: SessionDep, caller: CallerDep, unread: bool = False
) -> list[NoticeNotificationRead]:
    return reading.inbox(session, caller, unread_only=unread)


@router.post("/notices/inbox/read")
def read_inbox(session: SessionDep, caller: CallerDep) -> dict[str, int]:
    return {"marked_read": reading.mark_inbox_read(session, caller)}


@router.post("/notices", response_model=NoticeRead, status_code=status.HTTP_201_CREATED)
def create_notice(
    data: NoticeCreate, session: SessionDep, settings: SettingsDep, caller: CallerDep
) -> NoticeRead:
    notice = service.create_notice(session, caller, settings, data)
    return reading.describe(session, caller, settings, notice)


@router.get("/notices", response_model=list[NoticeSummary])
def list_notices(
    session: SessionDep,
    caller: CallerDep,
    scope: str = Query(default="all", pattern="^(all|mine|received)$"),
    status_: NoticeStatus | None = Query(default=None, alias="status"),
    limit: int = limit_query(200, 500),
) -> list[NoticeSummary]:
    return reading.list_notices(session, caller, scope=scope, status=status_, limit=limit)


@router.get("/notices/{notice_id}", response_model=NoticeRead)
def get_notice(
    notice_id: uuid.UUID, session: SessionDep, settings: SettingsDep, caller: CallerDep
) -> NoticeRead:
    notice = reading.get_notice(session, caller, notice_id)
    return reading.describe(session, caller, settings, notice)


@router.post(
    "/notices/{notice_id}/clues", response_model=ClueRead, status_code=status.HTTP_201_CREATED
)
def add_clue(
    notice_id: uuid.UUID, data: ClueCreate, session: SessionDep, caller: CallerDep
) -> ClueRead:
    clue = service.add_clue(session, caller, notice_id, data)
    return ClueRead(
        id=clue.id,
        number=clue.number,
        kind=clue.kind,
        label=CLUE_LABELS[clue.kind],
        description=clue.description,
        images=[],
        answers=[],
    )


@router.post(
    "/notices/{notice_id}/clues/{clue_id}/images",
    response_model=ImageRead,
    status_code=status.HTTP_201_CREATED,
)
def add_image(
    notice_id: uuid.UUID,
    clue_id: uuid.UUID,
    session: SessionDep,
    caller: CallerDep,
    file: UploadFile | None = File(
        default=None, description="JPEG, PNG or WebP of an object or background only"
    ),
    attest: bool = Form(
        default=False,
        description="true: the uploader attests that the image shows no child and no abuse",
    ),
) -> ImageRead:
    """Stored re-encoded, without EXIF/GPS or other metadata; the attestation is recorded."""
    raw = read_upload(file) if file is not None else b""  # the notice is checked first: 404
    image = service.add_image(session, caller, notice_id, clue_id, raw, attested=attest)
    return reading.image_read(image)


@router.get("/notices/{notice_id}/images/{image_id}")
def get_image(
    notice_id: uuid.UUID, image_id: uuid.UUID, session: SessionDep, caller: CallerDep
) -> Response:
    image = reading.read_image(session, caller, notice_id, image_id)
    return Response(
        image.content, media_type=image.media_type, headers={"Cache-Control": "no-store"}
    )


@router.post(
    "/notices/{notice_id}/clues/{clue_id}/answers",
    response_model=AnswerRead,
    status_code=status.HTTP_201_CREATED,
)
def answer_clue(
    notice_id: uuid.UUID,
    clue_id: uuid.UUID,
    data: AnswerCreate,
    session: SessionDep,
    settings: SettingsDep,
    caller: CallerDep,
) -> AnswerRead:
    answer = service.answer_clue(session, caller, settings, notice_id, clue_id, data)
    return reading.answer_read(session, answer)


@router.get("/notices/{notice_id}/tips", response_model=list[TipRead])
def list_tips(notice_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> list[TipRead]:
    return reading.list_tips(session, caller, notice_id)


@router.post("/notices/{notice_id}/publish", response_model=NoticeRead)
def publish(
    notice_id: uuid.UUID,
    data: PublishRequest,
    session: SessionDep,
    settings: SettingsDep,
    caller: CallerDep,
) -> NoticeRead:
    notice = publishing.publish(session, caller, notice_id, data)
    return reading.describe(session, caller, settings, notice)


@router.post("/notices/{notice_id}/unpublish", response_model=NoticeRead)
def unpublish(
    notice_id: uuid.UUID, session: SessionDep, settings: SettingsDep, caller: CallerDep
) -> NoticeRead:
    notice = publishing.unpublish(session, caller, notice_id)
    return reading.describe(session, caller, settings, notice)


@router.post("/notices/{notice_id}/close", response_model=NoticeRead)
def close_notice(
    notice_id: uuid.UUID,
    data: NoticeClose,
    session: SessionDep,
    settings: SettingsDep,
    caller: CallerDep,
) -> NoticeRead:
    notice = publishing.close_notice(session, caller, settings, notice_id, data)
    return reading.describe(session, caller, settings, notice)
