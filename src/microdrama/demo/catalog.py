"""The demo catalog: four micro-drama series, their metadata and an episode script each
(the records are in series.toml beside this module)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from microdrama.catalog.schemas import SeriesCreate

DEMO_CREATOR_NAME = "Microdrama Demo Studio"
SERIES_FILE = Path(__file__).with_name("series.toml")


@dataclass(frozen=True)
class DemoEpisode:
    title: str
    scene: str
    dialogue: str


@dataclass(frozen=True)
class DemoSeries:
    """A series as the seeder creates it: catalog fields, a look (see clips.LOOKS), a script."""

    title: str
    synopsis: str
    genre: str
    tags: tuple[str, ...]
    content_warnings: tuple[str, ...]
    free_episodes: int
    episode_price_coins: int
    accent_color: str
    look: str
    episodes: tuple[DemoEpisode, ...]

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> DemoSeries:
        """One `[[series]]` table of series.toml (an episode is [title, scene, dialogue])."""
        return cls(
            **{
                **record,
                "tags": tuple(record["tags"]),
                "content_warnings": tuple(record["content_warnings"]),
                "episodes": tuple(DemoEpisode(*episode) for episode in record["episodes"]),
            }
        )

    def create_data(self) -> SeriesCreate:
        return SeriesCreate(
            title=self.title,
            synopsis=self.synopsis,
            genre=self.genre,
            tags=list(self.tags),
            language="en",
            content_warnings=list(self.content_warnings),
            free_episodes=self.free_episodes,
            episode_price_coins=self.episode_price_coins,
            accent_color=self.accent_color,
        )


DEMO_SERIES: tuple[DemoSeries, ...] = tuple(
    DemoSeries.from_record(record)
    for record in tomllib.loads(SERIES_FILE.read_text(encoding="utf-8"))["series"]
)
