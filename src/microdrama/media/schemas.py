"""Media schemas: what creators see of their uploads and transcode jobs."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class JobRead(BaseModel):
    """A transcode job as the studio's progress bar sees it."""

    id: int
    asset_id: int
    state: str
    progress: float
    attempts: int
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class RenditionRead(BaseModel):
    width: int
    height: int
    bandwidth: int
    playlist_url: str | None


class ThumbnailRead(BaseModel):
    time_ms: int
    url: str


class AssetRead(BaseModel):
    """An uploaded source and, once transcoded, where its renditions are."""

    id: int
    status: str
    error: str | None
    source_filename: str
    source_size_bytes: int
    # The source's size (the row's source_width and source_height).
    width: int = Field(validation_alias="source_width")
    height: int = Field(validation_alias="source_height")
    duration_ms: int
    master_playlist_url: str | None
    poster_url: str | None
    renditions: list[RenditionRead]
    thumbnails: list[ThumbnailRead]
    job: JobRead | None


class EpisodeUploadRead(BaseModel):
    """The answer to an episode upload: the episode exists, its transcode is queued."""

    episode_id: int
    episode_number: int
    asset_id: int
    job_id: int
    state: str
    duration_ms: int
    job_url: str
    asset_url: str
