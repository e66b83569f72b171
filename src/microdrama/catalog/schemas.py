"""Catalog schemas: what viewers and creators send and receive."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from microdrama.types import Line, Text


class SeriesCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: Line = Field(min_length=1, max_length=200)
    synopsis: Text = Field(default="", max_length=4000)
    genre: Line = Field(default="drama", min_length=1, max_length=60)
    tags: list[Line] = Field(default_factory=list, max_length=20)
    language: Line = Field(default="en", min_length=2, max_length=16)
    content_warnings: list[Line] = Field(default_factory=list, max_length=20)
    free_episodes: int = Field(default=5, ge=0, le=500)
    episode_price_coins: int = Field(default=60, ge=0, le=10_000)
    accent_color: str = Field(default="#222222", pattern=r"^#[0-9a-fA-F]{6}$")


class SeriesCard(BaseModel):
    """One screen of the vertical feed."""

    id: int
    title: str
    synopsis: str
    genre: str
    tags: list[str]
    accent_color: str
    episode_count: int
    total_runtime_ms: int
    free_episodes: int
    episode_price_coins: int
    first_episode_id: int | None
    poster_url: str | None
    preview_playlist_url: str | None


class EpisodeRead(BaseModel):
    id: int
    series_id: int
    number: int
    title: str
    duration_ms: int
    # Only a badge until the paywall issue: every ready episode plays.
    locked: bool
    playlist_url: str | None
    poster_url: str | None
    thumbnail_url: str | None
    next_episode_id: int | None = None
    previous_episode_id: int | None = None


class SeriesRead(SeriesCard):
    language: str
    content_warnings: list[str]
    status: str
    episodes: list[EpisodeRead]


class Feed(BaseModel):
    items: list[SeriesCard]
