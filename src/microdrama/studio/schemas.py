"""Studio schemas: what creators send to shape a series, and what the studio shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from microdrama.catalog.schemas import SeriesCreate
from microdrama.types import Id, Line, Text


class StudioSeriesCreate(SeriesCreate):
    """A new draft series; the cap price may be set now and is checked against episodes."""

    series_cap_price_coins: int | None = Field(default=None, ge=1, le=10_000_000)


class SeriesUpdate(BaseModel):
    """Only the fields sent change; `series_cap_price_coins: null` returns to the default."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: Line | None = Field(default=None, min_length=1, max_length=200)
    synopsis: Text | None = Field(default=None, max_length=4000)
    genre: Line | None = Field(default=None, min_length=1, max_length=60)
    tags: list[Line] | None = Field(default=None, max_length=20)
    language: Line | None = Field(default=None, min_length=2, max_length=16)
    content_warnings: list[Line] | None = Field(default=None, max_length=20)
    free_episodes: int | None = Field(default=None, ge=0, le=500)
    episode_price_coins: int | None = Field(default=None, ge=0, le=10_000)
    series_cap_price_coins: int | None = Field(default=None, ge=1, le=10_000_000)
    accent_color: str | None = Field(default=None, pattern=r"^#[0-9a-fA-F]{6}$")

    def changes(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.model_fields_set}


class StudioEpisodeRead(BaseModel):
    id: int
    number: int
    title: str
    state: str  # processing / ready / failed
    duration_ms: int
    thumbnail_url: str | None
    # The transcode of the current video (or of its replacement while one is running).
    job_state: str | None
    progress: float
    error: str | None
    replacing: bool  # a replacement video is being transcoded (or failed)
    replacement_state: str | None
    replacement_error: str | None
    deletable: bool
    # Its new video (a new episode of a published series, or a replacement) waits for an
    # operator; review_note: why the last one was refused.
    awaiting_review: bool = False
    review_note: str | None = None


class StudioSeriesRead(BaseModel):
    id: int
    title: str
    synopsis: str
    genre: str
    tags: list[str]
    language: str
    content_warnings: list[str]
    accent_color: str
    free_episodes: int
    episode_price_coins: int
    series_cap_price_coins: int | None
    # The most the cap price may be now: every paid episode at the episode price.
    max_cap_price_coins: int
    status: str  # draft / rejected / in_review / scheduled / published
    review_note: str | None
    submitted_at: datetime | None
    published_at: datetime | None
    poster_url: str | None
    poster_thumb_url: str | None
    episode_count: int
    ready_episode_count: int
    episodes: list[StudioEpisodeRead]
    analytics_url: str


class EpisodeOrder(BaseModel):
    model_config = ConfigDict(extra="forbid")

    episode_ids: list[Id] = Field(min_length=1, max_length=10_000)


class EpisodeUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: Line = Field(max_length=200)


class Approval(BaseModel):
    """Approve now, or at `publish_at` (a future time, with its timezone)."""

    model_config = ConfigDict(extra="forbid")

    publish_at: datetime | None = None


class Rejection(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: Text = Field(min_length=3, max_length=2000)


class ReviewItem(BaseModel):
    """One series waiting in the moderation queue."""

    id: int
    title: str
    synopsis: str
    genre: str
    tags: list[str]
    content_warnings: list[str]
    language: str
    owner_id: int
    owner_name: str
    submitted_at: datetime | None
    ready_episode_count: int
    total_runtime_ms: int
    episode_price_coins: int
    free_episodes: int
    poster_url: str | None
    first_episode_id: int | None


class EpisodeReviewItem(BaseModel):
    """A published series' episode whose new video waits for an operator: a new episode
    (`kind` "new_episode") or a new video for a live one ("new_video")."""

    episode_id: int
    number: int
    title: str
    kind: Literal["new_episode", "new_video"]
    series_id: int
    series_title: str
    owner_name: str
    duration_ms: int
    thumbnail_url: str | None
    video_url: str  # the uploaded original, for operators only


class UploadRead(BaseModel):
    """A tus upload as the studio sees it (resumable ones are listed on the series page)."""

    id: str
    url: str
    filename: str
    title: str
    length_bytes: int
    offset_bytes: int
    received_bytes: int
    state: str
    error: str | None
    episode_id: int | None
    replaces_episode_id: int | None
