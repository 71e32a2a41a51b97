"""What hashing a file tells: exact digests, type by content, PDQ and its quality."""

from __future__ import annotations

from pydantic import BaseModel, Field


class VideoFrameRead(BaseModel):
    frame: int
    quality: int
    pdq: str
    timestamp: float


class VideoCrop(BaseModel):
    """The part of a video's frames that was hashed once its black bars were cut off."""

    left: int
    top: int
    right: int = Field(description="excluded, like Pillow's crop box")
    bottom: int = Field(description="excluded")
    frame_width: int
    frame_height: int


class FileHashes(BaseModel):
    """One file's hashes, as `taskforce hash --json` prints them (one object per line)."""

    path: str
    size: int | None = None
    media_type: str | None = Field(
        default=None, description="MIME type read from the content, not the file name"
    )
    md5: str | None = None
    sha1: str | None = None
    sha256: str | None = None
    pdq: str | None = Field(default=None, description="256-bit PDQ, 64 hex digits (images)")
    pdq_quality: int | None = Field(
        default=None, description="0-100; below the matching cut-off the hash is never matched"
    )
    pdq_usable: bool | None = Field(
        default=None, description="quality at or above the cut-off, so the hash may be matched"
    )
    camera_make: str | None = None
    camera_model: str | None = None
    camera_serial: str | None = None
    taken_at: str | None = Field(default=None, description="EXIF DateTimeOriginal as written")
    gps_lat: float | None = None
    gps_lon: float | None = None
    pdq_rotations: list[str] | None = Field(
        default=None, description="PDQ of the 8 rotations/mirror images (triage queries)"
    )
    vpdq: list[VideoFrameRead] | None = Field(
        default=None, description="videos: PDQ of sampled frames (vPDQ)"
    )
    vpdq_crop: VideoCrop | None = Field(
        default=None, description="videos: where black bars were cut off before hashing"
    )
    error: str | None = None
