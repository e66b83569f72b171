"""Writers'-room API schemas: what a creator sends (a new project, edits of a part) and what the
room shows (the plan with its parts' versions)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from microdrama.ai.beats import (
    MAX_EPISODE_SECONDS,
    MAX_EPISODES,
    MIN_EPISODE_SECONDS,
    MIN_EPISODES,
    Trope,
)
from microdrama.ai.plans import Bible, EpisodeCard, Script, ScriptLine, SeasonArc
from microdrama.types import Line, Text


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ProjectCreate(_Request):
    premise: Text = Field(min_length=10, max_length=1000)
    trope: Trope
    tone: Line = Field(default="dramatic", min_length=2, max_length=80)
    episode_count: int = Field(default=30, ge=MIN_EPISODES, le=MAX_EPISODES)
    free_episodes: int = Field(default=8, ge=3, le=MAX_EPISODES - 3)
    episode_seconds: int = Field(default=90, ge=MIN_EPISODE_SECONDS, le=MAX_EPISODE_SECONDS)


class CharacterEdit(_Request):
    name: Line = Field(min_length=1, max_length=60)
    role: Line = Field(min_length=1, max_length=80)
    want: Line = Field(min_length=1, max_length=200)
    secret: Line = Field(min_length=1, max_length=200)
    relationship: Line = Field(min_length=1, max_length=200)
    voice: Line | None = Field(default=None, max_length=80)


class BibleEdit(_Request):
    """Only the fields sent change."""

    title: Line | None = Field(default=None, min_length=1, max_length=120)
    logline: Text | None = Field(default=None, min_length=1, max_length=600)
    tone: Line | None = Field(default=None, min_length=2, max_length=80)
    characters: list[CharacterEdit] | None = Field(default=None, min_length=2, max_length=12)


class BeatSummaryEdit(_Request):
    episode: int = Field(ge=1, le=MAX_EPISODES)
    summary: Text = Field(min_length=1, max_length=600)


class ArcEdit(_Request):
    """New summaries for some beats (the beats themselves, and where they fall, are the
    engine's)."""

    beats: list[BeatSummaryEdit] = Field(min_length=1, max_length=40)


class CardEdit(_Request):
    """Only the fields sent change; the number, beat and cliffhanger kind are the engine's."""

    title: Line | None = Field(default=None, min_length=1, max_length=120)
    hook: Line | None = Field(default=None, min_length=1, max_length=200)
    conflict: Line | None = Field(default=None, min_length=1, max_length=200)
    turn: Line | None = Field(default=None, min_length=1, max_length=200)
    cliffhanger_line: Line | None = Field(default=None, min_length=1, max_length=200)

    @model_validator(mode="after")
    def something_changes(self) -> CardEdit:
        if not self.model_fields_set:
            raise ValueError("Send at least one of title, hook, conflict, turn, cliffhanger_line.")
        return self


class ScriptEdit(_Request):
    lines: list[ScriptLine] = Field(min_length=3, max_length=200)


GenerateWhat = Literal["plan", "bible", "card", "script", "cliffhanger"]


class GenerateRequest(_Request):
    """What to write with the model: the whole plan, the bible, one card, one episode's
    script, or a stronger ending for one card."""

    what: GenerateWhat
    episode: int | None = Field(default=None, ge=1, le=MAX_EPISODES)


class VersionRead(BaseModel):
    number: int
    source: str
    note: str
    created_at: datetime
    content: dict[str, object]


class PartHistory(BaseModel):
    part: str
    current: int
    versions: list[VersionRead]


class ProjectSummary(BaseModel):
    id: int
    title: str
    premise: str
    trope: str
    trope_label: str
    tone: str
    episode_count: int
    free_episodes: int
    episode_seconds: int
    series_id: int | None
    created_at: datetime
    updated_at: datetime
    url: str


class ProjectRead(ProjectSummary):
    paywall_episode: int
    bible: Bible
    arc: SeasonArc
    cards: list[EpisodeCard]
    # Episodes with a script, and each part's current version number (for "history").
    scripts: list[int]
    versions: dict[str, int]
    series_url: str | None


class GenerationStarted(BaseModel):
    job_id: int
    what: GenerateWhat
    episode: int | None


class ScriptRead(BaseModel):
    project_id: int
    episode: int
    version: int
    estimated_seconds: float
    script: Script


class SeriesCreated(BaseModel):
    series_id: int
    url: str
    episodes: int
