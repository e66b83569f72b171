"""Writers'-room schemas: the plan a creator edits (bible, season arc, episode cards, scripts),
and the small schemas the model fills (one card, one character, a block of dialogue).

Structural fields (episode numbers, beat kinds, cliffhanger kinds, the paywall) come from the
beat engine and are never in a schema the model answers; the model's schemas hold only text,
every field with a default so that an answer cut short by the token limit still validates
(writers_room.py then fills what is missing from the template's wording).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from microdrama.ai.beats import BeatKind, CliffhangerKind, Trope

# Dialogue is spoken at about 150 words a minute; a scene or action line takes a beat on screen.
WORDS_PER_MINUTE = 150
SECONDS_PER_DIRECTION = 2.0
# A script is sized to its episode's length within this fraction.
LENGTH_TOLERANCE = 0.15

ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
LineText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=600)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]


class _Plan(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Character(_Plan):
    name: Name
    role: ShortText
    want: LineText
    secret: LineText
    relationship: LineText
    voice: ShortText | None = None


class Bible(_Plan):
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    logline: LongText
    trope: Trope
    tone: ShortText
    characters: list[Character] = Field(min_length=2, max_length=12)


class ArcBeat(_Plan):
    kind: BeatKind
    episode: int = Field(ge=1, le=80)
    label: ShortText
    summary: LongText


class SeasonArc(_Plan):
    episode_count: int = Field(ge=20, le=80)
    free_episodes: int = Field(ge=3, le=77)
    episode_seconds: int = Field(ge=60, le=120)
    beats: list[ArcBeat] = Field(min_length=6, max_length=40)

    @property
    def paywall_episode(self) -> int:
        return self.free_episodes


class EpisodeCard(_Plan):
    number: int = Field(ge=1, le=80)
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    hook: LineText  # what grabs the viewer in the first 3 seconds
    conflict: LineText
    turn: LineText
    cliffhanger_line: LineText
    cliffhanger_kind: CliffhangerKind
    beat: BeatKind | None = None
    intensity: int = Field(default=2, ge=1, le=5)


class ScriptLine(_Plan):
    kind: Literal["scene", "action", "dialogue"]
    character: Name | None = None  # the speaker of a dialogue line
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=400)]


class Script(_Plan):
    episode: int = Field(ge=1, le=80)
    target_seconds: int = Field(ge=60, le=120)
    lines: list[ScriptLine] = Field(min_length=3, max_length=200)

    @property
    def estimated_seconds(self) -> float:
        return estimated_seconds(self.lines)


def word_count(text: str) -> int:
    return len(re.findall(r"[\w'\u2019-]+", text))


def estimated_seconds(lines: list[ScriptLine]) -> float:
    """How long the lines play: dialogue at the speaking rate, a beat per direction."""
    words = sum(word_count(line.text) for line in lines if line.kind == "dialogue")
    directions = sum(1 for line in lines if line.kind != "dialogue")
    return words * 60 / WORDS_PER_MINUTE + directions * SECONDS_PER_DIRECTION


# What the model fills -----------------------------------------------------------------------
# Short bounds keep a 135M model's answers (and the grammar's work) small; each field has a
# default so that a truncated answer is still valid and only its missing fields fall back.


class _ModelText(BaseModel):
    """A schema the model fills: every field is required in the JSON schema the grammar is
    made from (else a small model answers `{}`), yet has a default, so that an answer cut
    short by the token limit still validates."""

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        schema = super().model_json_schema(*args, **kwargs)
        schema["required"] = list(cls.model_fields)
        return schema


class BibleText(_ModelText):
    title: str = Field(default="", min_length=2, max_length=48)
    logline: str = Field(default="", min_length=2, max_length=160)


class CharacterText(_ModelText):
    want: str = Field(default="", min_length=2, max_length=90)
    secret: str = Field(default="", min_length=2, max_length=90)


class CardText(_ModelText):
    title: str = Field(default="", min_length=2, max_length=40)
    hook: str = Field(default="", min_length=2, max_length=80)
    conflict: str = Field(default="", min_length=2, max_length=80)
    cliffhanger_line: str = Field(default="", min_length=2, max_length=80)


class CliffhangerText(_ModelText):
    cliffhanger_line: str = Field(default="", min_length=2, max_length=100)


class DialogueBlock(_ModelText):
    """Four lines of dialogue, the speakers given in the prompt."""

    first: str = Field(default="", min_length=2, max_length=110)
    second: str = Field(default="", min_length=2, max_length=110)
    third: str = Field(default="", min_length=2, max_length=110)
    fourth: str = Field(default="", min_length=2, max_length=110)

    def lines(self) -> list[str]:
        return [self.first, self.second, self.third, self.fourth]


DIALOGUE_BLOCK_LINES = 4
