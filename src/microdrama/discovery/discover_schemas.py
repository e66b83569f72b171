"""Discover's answer: rows of posters, each poster with its free or locked state and the
viewer's progress."""

from __future__ import annotations

import enum

from pydantic import BaseModel, Field


class Access(enum.StrEnum):
    free = "free"  # every episode out is free
    some_free = "some_free"  # the first `free_episodes` are free, the rest locked
    locked = "locked"  # no free episode: each is unlocked
    unlocked = "unlocked"  # the viewer may play every episode (unlocked, VIP, their own)


class RowKind(enum.StrEnum):
    continue_watching = "continue_watching"
    my_list = "my_list"
    for_you = "for_you"
    because = "because"
    trending = "trending"
    new = "new"
    binged = "binged"
    free = "free"
    genre = "genre"


class Resume(BaseModel):
    """Where the viewer's binge of the series stopped (Continue watching)."""

    episode_id: int
    episode_number: int
    position_ms: int
    duration_ms: int


class Poster(BaseModel):
    series_id: int
    title: str
    genre: str
    accent_color: str
    poster_url: str | None
    episode_count: int = Field(description="Episodes out.")
    free_episodes: int = Field(description="Free episodes out (the first ones).")
    episode_price_coins: int
    access: Access
    episodes_watched: int | None = Field(
        default=None, description="Episodes the viewer watched to the end; None: no viewer."
    )
    new_episodes: int = Field(default=0, description="Episodes out since the viewer last looked.")
    href: str = Field(description="Where a tap goes: the series page, or the resume point.")
    resume: Resume | None = None


class DiscoverRow(BaseModel):
    key: str = Field(description="Stable per row: 'trending', 'genre:romance', 'because:12'...")
    kind: RowKind
    title: str
    see_all_url: str | None = Field(description="The full list (rankings, search), if any.")
    items: list[Poster]


class DiscoverPage(BaseModel):
    personal: bool = Field(description="Whether the rows were made for a known viewer.")
    rows: list[DiscoverRow] = Field(description="Rows with at least one poster, in page order.")
