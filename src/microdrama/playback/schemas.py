"""Playback schemas: saved positions and the continue-watching row."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from microdrama.catalog.schemas import SeriesCard


class ProgressUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Two hours is far beyond any episode; it only stops absurd values.
    position_ms: int = Field(ge=0, le=7_200_000)
    completed: bool = False


class ProgressRead(BaseModel):
    episode_id: int
    position_ms: int
    completed: bool


class SeriesProgress(BaseModel):
    series_id: int
    episodes: list[ProgressRead]


class ContinueItem(BaseModel):
    series: SeriesCard
    episode_id: int
    episode_number: int
    position_ms: int
    duration_ms: int


class ContinueWatching(BaseModel):
    items: list[ContinueItem]
