"""Subtitles API shapes: tracks for the player, cues for the studio's editor."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from microdrama.subtitles.service import LANGUAGE_PATTERN, MAX_CUE_MS, MAX_CUES
from microdrama.types import Line, Text


class TrackRead(BaseModel):
    language: str
    label: str
    url: str
    cue_count: int
    draft: bool  # the creator's to review: players are not offered it
    updated_at: datetime


class CueData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start_ms: int = Field(ge=0, le=MAX_CUE_MS)
    end_ms: int = Field(gt=0, le=MAX_CUE_MS)
    text: Text = Field(min_length=1, max_length=500)


class CuesWrite(BaseModel):
    """The whole cue list of one language (PUT replaces it; creates the track if new)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    label: Line | None = Field(default=None, min_length=1, max_length=80)
    cues: list[CueData] = Field(max_length=MAX_CUES)


class CuesRead(BaseModel):
    language: str
    label: str
    url: str
    draft: bool
    cues: list[CueData]


LanguageField = Field(pattern=LANGUAGE_PATTERN, max_length=16)
