"""Cliffhanger scores API: each episode's ending scored by what viewers did next
(analytics.cliffhangers), beside its cliffhanger line from the writers' room."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from microdrama.accounts.deps import CurrentCreator
from microdrama.ai.writers_room import CliffhangerLine, cliffhanger_lines
from microdrama.analytics import cliffhangers
from microdrama.catalog import service as catalog
from microdrama.db import DbSession
from microdrama.types import PathId

router = APIRouter(tags=["ai"])

LabelName = Literal["strong", "typical", "weak", "not_enough_viewers", "no_next_episode"]


class Interval(BaseModel):
    low: float
    high: float


class WritersRoomLine(BaseModel):
    line: str
    kind: str = Field(description="reveal, threat, decision or arrival")
    rewrite_url: str = Field(description="the writers' room, on this episode's ending")


class EpisodeCliffhangerRead(BaseModel):
    episode_id: int
    number: int
    title: str
    label: LabelName = Field(
        description="strong / weak only when the interval lies beyond the typical band"
    )
    viewers: int = Field(description="viewers who finished the episode over 24 hours ago")
    continued: int = Field(description="of them, who played or unlocked the next within 24 h")
    continuation: float | None = Field(description="continued / viewers")
    expected: float | None = Field(description="the catalog's continuation at this position")
    interval: Interval | None = Field(description="95 % interval of the continuation")
    typical: Interval | None = Field(description="the typical band around the expected")
    score: float | None = Field(description="observed minus expected log-odds of continuing")
    score_interval: Interval | None
    reached_end: int = Field(description="viewers who reached the last 10 seconds")
    drop_off: float | None = Field(description="of them, the share who left there")
    drop_off_interval: Interval | None
    cliffhanger: WritersRoomLine | None


class SeriesCliffhangersRead(BaseModel):
    series_id: int
    min_viewers: int = Field(description="finishers an episode needs before it is labelled")
    episodes: list[EpisodeCliffhangerRead]


def _interval(low: float | None, high: float | None) -> Interval | None:
    if low is None or high is None:
        return None
    return Interval(low=round(low, 4), high=round(high, 4))


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _read(
    item: cliffhangers.EpisodeCliffhanger, line: CliffhangerLine | None
) -> EpisodeCliffhangerRead:
    s = item.score
    return EpisodeCliffhangerRead(
        episode_id=item.episode_id,
        number=s.number,
        title=item.title,
        label=s.label.value,
        viewers=s.finished,
        continued=s.continued,
        continuation=_rounded(s.continuation),
        expected=_rounded(s.expected),
        interval=_interval(s.continuation_low, s.continuation_high),
        typical=_interval(s.typical_low, s.typical_high),
        score=_rounded(s.score),
        score_interval=_interval(s.score_low, s.score_high),
        reached_end=s.reached_end,
        drop_off=_rounded(s.drop_off),
        drop_off_interval=_interval(s.drop_off_low, s.drop_off_high),
        cliffhanger=None
        if line is None
        else WritersRoomLine(
            line=line.line,
            kind=line.kind,
            rewrite_url=f"/studio/writers-room/{line.project_id}"
            f"?episode={s.number}&rewrite=cliffhanger",
        ),
    )


@router.get("/api/studio/series/{series_id}/cliffhangers", response_model=SeriesCliffhangersRead)
def series_cliffhangers(
    series_id: PathId, db: DbSession, creator: CurrentCreator
) -> SeriesCliffhangersRead:
    """Each episode's cliffhanger score (continuation to the next episode against the
    catalog's expectation at its position) and its writers'-room line; only the series'
    creator (or an admin) may read it."""
    series = catalog.require_owner(db=db, series_id=series_id, account=creator)
    lines = cliffhanger_lines(db, series_id=series.id)
    scores = cliffhangers.series_cliffhangers(
        db=db, series_id=series.id, expectations=cliffhangers.expectations_of(db)
    )
    return SeriesCliffhangersRead(
        series_id=series.id,
        min_viewers=cliffhangers.MIN_FINISHERS,
        episodes=[_read(item, lines.get(item.score.number)) for item in scores],
    )
