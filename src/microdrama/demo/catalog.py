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
class SpokenLine:
    speaker: str
    text: str


@dataclass(frozen=True)
class DemoEpisode:
    title: str
    scene: str
    dialogue: str
    # Who says the dialogue (none: the clip is not voiced), and the lines said before it.
    speaker: str = ""
    before: tuple[SpokenLine, ...] = ()

    @classmethod
    def from_record(cls, record: list[str]) -> DemoEpisode:
        """[title, scene, dialogue] or [title, scene, dialogue, speaker, "Who: line", ...]."""
        title, scene, dialogue, *spoken = record
        speaker, *before = spoken or [""]
        lines = []
        for line in before:
            who, _, text = line.partition(":")
            lines.append(SpokenLine(who.strip(), text.strip()))
        return cls(title, scene, dialogue, speaker, tuple(lines))

    @property
    def spoken(self) -> tuple[SpokenLine, ...]:
        """What is said on the clip, in order (the dialogue last)."""
        if not self.speaker:
            return ()
        return (*self.before, SpokenLine(self.speaker, self.dialogue))


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
    # Each speaking character's voice (ai/voices.py's VOICES), so it is the same in every
    # episode.
    voices: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> DemoSeries:
        """One `[[series]]` table of series.toml (an episode: see DemoEpisode.from_record)."""
        return cls(
            **{
                **record,
                "tags": tuple(record["tags"]),
                "content_warnings": tuple(record["content_warnings"]),
                "episodes": tuple(DemoEpisode.from_record(e) for e in record["episodes"]),
                "voices": tuple(record.get("voices", {}).items()),
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
