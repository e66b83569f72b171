"""My list's answers: each followed series as a poster with its latest episode and its badge."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class MyListEntry(BaseModel):
    series_id: int
    title: str
    genre: str
    accent_color: str
    poster_url: str | None
    first_episode_id: int | None = Field(description="Where 'play' starts: the first episode out.")
    episodes_out: int = Field(description="Episodes viewers can play now.")
    free_episodes: int = Field(description="How many of the episodes out are free to watch.")
    latest_episode_at: datetime = Field(
        description="When the newest episode out came out (the series' publication when it "
        "came out with the series); the list is sorted on it, newest first."
    )
    followed_at: datetime
    new_episodes: int = Field(
        description="Episodes out since the viewer followed or last opened the series: the "
        "'new episode' badge when above 0."
    )


class MyList(BaseModel):
    items: list[MyListEntry] = Field(description="Newest episode first.")
    with_new_episodes: int = Field(
        description="How many followed series have new episodes (the My list link's badge)."
    )


class FollowState(BaseModel):
    series_id: int
    following: bool
    with_new_episodes: int = Field(
        description="How many followed series have new episodes, after this change."
    )
