"""The rankings' maths on plain rows: a score per series for each chart, places on the overall
and the genre charts, and the change of rank. No database here: rankings.py aggregates the
stored views and unlocks into these rows, one grouped query per window, and stores the places.

- **Trending**: viewers who started an episode plus viewers who completed one, counted per
  hour (so one binger counts once an hour, however many episodes they play), each hour
  weighing half as much every half-life back from the end of the window: 6 hours on the daily
  chart, 2 days on the weekly one.
- **Most binged**: episodes watched (completed, or played past the first seconds) per viewer
  who watched the series, as a Bayesian average: as if `BINGE_PRIOR_VIEWERS` more viewers had
  watched the average depth, so one viewer's 50 episodes do not outrank a hundred viewers' 8.
- **Top unlocked**: episodes unlocked (coins, rewarded ads, the rest of a series; refunded
  unlocks left out).
- **Rising**: viewers this window against the window before, as growth over at least
  `RISING_FLOOR_VIEWERS` viewers: (now - before) / max(before, floor). 1 → 3 is +0.4, 20 → 60
  is +2: a handful of views cannot top the chart. Only series that grew are on it.

Ties fall to the larger audience (viewers, or unlocks), then to the lower series id, so the
same rows always give the same order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from microdrama.discovery.models import ChartPeriod

# How far back each period looks from the end of its window, and the trending half-life.
PERIOD_HOURS = {ChartPeriod.daily: 24, ChartPeriod.weekly: 7 * 24}
TRENDING_HALF_LIFE_HOURS = {ChartPeriod.daily: 6.0, ChartPeriod.weekly: 48.0}
BINGE_PRIOR_VIEWERS = 20
RISING_FLOOR_VIEWERS = 5
# Places kept per chart (the overall chart and each genre's).
CHART_SIZE = 100
# Scores are compared and stored at this many decimals: sums of the same rows added in
# another order (another database's row order) then rank the same.
SCORE_DECIMALS = 6


@dataclass(frozen=True)
class HourActivity:
    """Trending's row: one series' viewers in one hour of the window."""

    series_id: int
    hours_ago: int  # whole hours before the end of the window (0: the last hour)
    viewers: int  # viewers who started an episode in that hour
    completers: int  # viewers who completed one


@dataclass(frozen=True)
class Binge:
    """Most binged's row: one series' viewers in a window and the episodes they watched."""

    series_id: int
    viewers: int
    episodes: int  # the sum over its viewers of the distinct episodes each watched


@dataclass(frozen=True)
class Growth:
    """Rising's row: one series' viewers in a window and in the window before it."""

    series_id: int
    now: int
    before: int


@dataclass(frozen=True)
class Tally:
    """Top unlocked's row: one series' unlocks in a window."""

    series_id: int
    count: int


@dataclass(frozen=True)
class Score:
    series_id: int
    score: float
    volume: int  # the first tie-break: the audience (viewers, or unlocks) behind the score


@dataclass(frozen=True)
class Place:
    """A series' place on one chart: `genre` "" is the overall chart."""

    genre: str
    series_id: int
    rank: int
    score: float


def _score(series_id: int, score: float, volume: int) -> Score:
    return Score(series_id, round(score, SCORE_DECIMALS), volume)


def decay(hours_ago: int, period: ChartPeriod) -> float:
    """The weight of an hour `hours_ago` whole hours before the end (taken at its middle)."""
    return float(0.5 ** ((hours_ago + 0.5) / TRENDING_HALF_LIFE_HOURS[period]))


def trending(rows: Iterable[HourActivity], period: ChartPeriod) -> list[Score]:
    """Starts and completions decayed by age, over the period's hours of `rows`."""
    points: dict[int, float] = defaultdict(float)
    viewers: dict[int, int] = defaultdict(int)
    for row in rows:
        if 0 <= row.hours_ago < PERIOD_HOURS[period] and row.viewers + row.completers > 0:
            points[row.series_id] += decay(row.hours_ago, period) * (row.viewers + row.completers)
            viewers[row.series_id] += row.viewers
    return [_score(s, points[s], viewers[s]) for s in points]


def binged(rows: Iterable[Binge]) -> list[Score]:
    """Episodes per viewer, pulled towards the average depth of all `rows` by the prior."""
    watched = [r for r in rows if r.viewers > 0]
    total_viewers = sum(r.viewers for r in watched)
    if not total_viewers:
        return []
    average = sum(r.episodes for r in watched) / total_viewers
    prior = BINGE_PRIOR_VIEWERS
    return [
        _score(r.series_id, (r.episodes + prior * average) / (r.viewers + prior), r.viewers)
        for r in watched
    ]


def rising(rows: Iterable[Growth]) -> list[Score]:
    """Growth of the audience over the window before, floored; series that grew only."""
    return [
        _score(r.series_id, (r.now - r.before) / max(r.before, RISING_FLOOR_VIEWERS), r.now)
        for r in rows
        if r.now > r.before
    ]


def unlocked(rows: Iterable[Tally]) -> list[Score]:
    return [_score(r.series_id, r.count, r.count) for r in rows if r.count > 0]


def places(
    scores: Iterable[Score], genre_of: Mapping[int, str], *, size: int = CHART_SIZE
) -> list[Place]:
    """The overall chart and one chart per genre, best first, `size` places each. Only the
    series in `genre_of` (those the feed shows) are placed."""
    ordered = sorted(
        (s for s in scores if s.series_id in genre_of),
        key=lambda s: (-s.score, -s.volume, s.series_id),
    )
    placed: list[Place] = []
    taken: dict[str, int] = defaultdict(int)
    for score in ordered:
        genre = genre_of[score.series_id]
        for chart_genre in ("", genre) if genre else ("",):
            if taken[chart_genre] < size:
                taken[chart_genre] += 1
                placed.append(Place(chart_genre, score.series_id, taken[chart_genre], score.score))
    return placed


class Move(StrEnum):
    up = "up"
    down = "down"
    same = "same"
    new = "new"  # not on the same chart the day before


def move(rank: int, previous_rank: int | None) -> tuple[Move, int]:
    """Which way a series moved since the day before, and by how many places."""
    if previous_rank is None:
        return Move.new, 0
    if rank < previous_rank:
        return Move.up, previous_rank - rank
    if rank > previous_rank:
        return Move.down, rank - previous_rank
    return Move.same, 0
