"""The demo catalog: four full micro-drama series (series.toml) and the short series that fill
discovery beside them (short_series.toml), their metadata and an episode script each."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from microdrama.catalog.schemas import SeriesCreate

DEMO_CREATOR_NAME = "Microdrama Demo Studio"
SERIES_FILE = Path(__file__).with_name("series.toml")
SHORT_SERIES_FILE = Path(__file__).with_name("short_series.toml")


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
    language: str = "en"
    # The publication is dated this many days back (the full series: now).
    released_days_ago: int = 0
    # How much the simulated audience likes it, 0 to 1 (demo/audience.py).
    appeal: float = 0.5

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
            language=self.language,
            content_warnings=list(self.content_warnings),
            free_episodes=self.free_episodes,
            episode_price_coins=self.episode_price_coins,
            accent_color=self.accent_color,
        )


def _load(path: Path) -> tuple[DemoSeries, ...]:
    records = tomllib.loads(path.read_text(encoding="utf-8"))["series"]
    return tuple(DemoSeries.from_record(record) for record in records)


DEMO_SERIES: tuple[DemoSeries, ...] = _load(SERIES_FILE)
# Seeded after the full series, every episode of its script, short and at one small rung.
DEMO_SHORT_SERIES: tuple[DemoSeries, ...] = _load(SHORT_SERIES_FILE)
