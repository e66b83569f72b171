"""Cliffhanger scores: how well each episode's ending carried its viewers to the next episode,
against what is expected at that place in a series.

Per episode N of a series, from the per-view rollup (`episode_views`) and the paywall's unlocks:

* **continuation** — of the viewers who finished N (a `complete`), the share who went on to
  N+1 within 24 hours of finishing: they played it, or unlocked it (a viewer who meets the
  paywall and unlocks continued; one who meets it and leaves did not). A viewer counts once,
  from their first finish, and only when their 24 hours are over (a finish of the last day
  has not had its chance yet).
* **ending drop-off** — of the viewers who reached the last 10 seconds, the share who left
  there without finishing.
* **expected continuation** at N's position: a regression of the log-odds of continuing over
  every episode of the catalog, on log(N), "N+1 is the first locked episode" (the paywall)
  and "N+1 is locked" (past it): continuation falls with the episode number and dips at the
  paywall wherever the ending is. Random effects: each episode weighs 1 / (its sampling
  variance + the spread of endings beyond chance), the spread estimated by Paule-Mandel.
* **score** — the observed log-odds of continuing minus the expected: 0 is what the catalog
  does at that position, +0.4 is odds times 1.5. Its 95 % interval adds the uncertainty of the
  observed share (small counts: 0.5 added to both sides, Haldane-Anscombe) to that of the
  expectation (the fit's covariance).
* **label** — `strong` / `weak` only when the whole interval lies beyond the typical band
  (odds between 0.8 and 1.25 times the expected), else `typical`; fewer than
  MIN_FINISHERS finishers is `not_enough_viewers`, and an episode without a playable next one is
  `no_next_episode`.

The maths are pure functions over counts (`EndingCounts` → `fit_expectation` → `score`); the
counts come from grouped queries (`catalog_counts`, `series_counts`: never a query per
episode) that run the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import enum
import math
import threading
import time
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Boolean, Float, and_, case, exists, func, literal, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from microdrama.analytics.models import EpisodeView
from microdrama.analytics.service import fold_new_events
from microdrama.catalog.models import Episode, EpisodeState, Series
from microdrama.db import utcnow
from microdrama.paywall.models import Unlock

CONTINUE_WITHIN = timedelta(hours=24)
# A next episode started this long before the finish still counts (the clocks of one device
# put `complete` and the next `start` within a second; a second device may drift).
CLOCK_SLACK = timedelta(minutes=1)
ENDING_WINDOW_MS = 10_000
MIN_FINISHERS = 30
# Odds between 0.8 and 1.25 times the expected are typical: a label needs its interval beyond.
TYPICAL_BAND = math.log(1.25)
Z_95 = 1.959964
# Prior precision of the regression's slopes (not the intercept): keeps the fit defined on a
# catalog without a paywall or with one series; negligible against hundreds of viewers.
RIDGE = 1.0
# How long a process keeps the catalog's fit (ExpectationCache).
EXPECTATION_TTL_SECONDS = 600.0


class Label(enum.StrEnum):
    strong = "strong"
    typical = "typical"
    weak = "weak"
    not_enough_viewers = "not_enough_viewers"
    no_next_episode = "no_next_episode"


@dataclass(frozen=True)
class EndingCounts:
    """What viewers did at the end of one episode (the input of the maths)."""

    series_id: int
    number: int
    free_episodes: int
    has_next: bool
    finished: int = 0  # viewers who finished it, their 24 hours over
    continued: int = 0  # of them, went on to the next episode within 24 hours
    reached_end: int = 0  # viewers who reached the last 10 seconds
    left_in_end: int = 0  # of them, left there without finishing

    @property
    def paywall(self) -> bool:
        """The next episode is the first locked one."""
        return self.number == self.free_episodes

    @property
    def locked_next(self) -> bool:
        """The next episode is locked (at or past the paywall)."""
        return self.number >= self.free_episodes


def features(number: int, *, paywall: bool, locked_next: bool) -> NDArray[np.float64]:
    """The regression's row for an episode: intercept, log(number), paywall, past it."""
    return np.array(
        [1.0, math.log(number), float(paywall), float(locked_next and not paywall)],
        dtype=np.float64,
    )


@dataclass(frozen=True)
class Expectation:
    """The catalog's continuation by position: log-odds coefficients on `features`, their
    covariance, and how much endings differ beyond chance (`spread`, on the log-odds)."""

    coefficients: NDArray[np.float64]
    covariance: NDArray[np.float64]
    episodes: int  # episodes the fit saw
    spread: float

    def log_odds(self, counts: EndingCounts) -> tuple[float, float]:
        """Expected log-odds of continuing at the episode's position, and its variance."""
        x = features(counts.number, paywall=counts.paywall, locked_next=counts.locked_next)
        return float(x @ self.coefficients), float(x @ self.covariance @ x)


def logistic(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, x))))


def observed_log_odds(continued: int, finished: int) -> tuple[float, float]:
    """The log-odds of continuing and its sampling variance, with 0.5 added to both sides
    (Haldane-Anscombe), so that 0 or all of a few viewers still give a finite, wide answer."""
    went_on, stopped = continued + 0.5, finished - continued + 0.5
    return math.log(went_on / stopped), 1.0 / went_on + 1.0 / stopped


def _weighted_fit(
    x: NDArray[np.float64], y: NDArray[np.float64], weights: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    penalty = np.diag([0.0] + [RIDGE] * (x.shape[1] - 1))
    information = (x * weights[:, None]).T @ x + penalty
    beta = np.linalg.solve(information, (x * weights[:, None]).T @ y)
    return np.asarray(beta, dtype=np.float64), information


def fit_expectation(counts: Iterable[EndingCounts]) -> Expectation | None:
    """Fit the catalog's log-odds of continuing on `features` (a random-effects regression:
    each episode's observed log-odds weighted by 1 / (its sampling variance + the spread of
    endings), the spread found by Paule-Mandel); None without any finisher.

    Why not a plain binomial GLM: endings really differ, by the same amount on the log-odds
    whatever the number of viewers, so a GLM lets the few episodes with the most viewers (the
    first ones) fix the curve as if their endings were average, and its interval is too
    narrow exactly there."""
    rows = [c for c in counts if c.has_next and c.finished > 0]
    if not rows:
        return None
    x = np.stack([features(c.number, paywall=c.paywall, locked_next=c.locked_next) for c in rows])
    observed = [observed_log_odds(c.continued, c.finished) for c in rows]
    y = np.array([o[0] for o in observed])
    variance = np.array([o[1] for o in observed])
    free = len(rows) - x.shape[1]

    def excess(spread2: float) -> float:
        """Generalised Q minus its expectation: decreasing in spread², 0 at the estimate."""
        weights = 1.0 / (variance + spread2)
        beta, _ = _weighted_fit(x, y, weights)
        return float(np.sum(weights * (y - x @ beta) ** 2)) - free

    spread2 = 0.0
    if free > 0 and excess(0.0) > 0:
        low, high = 0.0, 1.0
        while excess(high) > 0 and high < 100.0:
            low, high = high, high * 4
        for _ in range(60):
            middle = (low + high) / 2
            low, high = (middle, high) if excess(middle) > 0 else (low, middle)
        spread2 = (low + high) / 2
    beta, information = _weighted_fit(x, y, 1.0 / (variance + spread2))
    covariance = np.asarray(np.linalg.inv(information), dtype=np.float64)
    return Expectation(beta, covariance, len(rows), math.sqrt(spread2))


def wilson(part: int, whole: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval of a share (0..1 both ends; (0, 1) when nothing was counted)."""
    if whole <= 0:
        return 0.0, 1.0
    p = part / whole
    denominator = 1.0 + z * z / whole
    centre = (p + z * z / (2 * whole)) / denominator
    half = z * math.sqrt(p * (1 - p) / whole + z * z / (4 * whole * whole)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class CliffhangerScore:
    number: int
    finished: int
    continued: int
    continuation: float | None  # observed share; None without finishers or a next episode
    expected: float | None  # the catalog's continuation at this position
    score: float | None  # observed minus expected log-odds
    score_low: float | None
    score_high: float | None
    continuation_low: float | None  # the interval as continuation shares
    continuation_high: float | None
    typical_low: float | None  # the typical band as continuation shares
    typical_high: float | None
    reached_end: int
    left_in_end: int
    drop_off: float | None  # share of those who reached the last 10 s who left there
    drop_off_low: float | None
    drop_off_high: float | None
    label: Label


def score(counts: EndingCounts, expectation: Expectation | None) -> CliffhangerScore:
    """One episode's continuation against the expectation at its position, and its label."""
    drop_off = counts.left_in_end / counts.reached_end if counts.reached_end else None
    drop_low, drop_high = wilson(counts.left_in_end, counts.reached_end)
    blank: dict[str, Any] = dict.fromkeys(
        ("continuation", "expected", "score", "score_low", "score_high", "continuation_low",
         "continuation_high", "typical_low", "typical_high"),
    )  # fmt: skip
    common: dict[str, Any] = {
        "number": counts.number,
        "finished": counts.finished,
        "continued": counts.continued,
        "reached_end": counts.reached_end,
        "left_in_end": counts.left_in_end,
        "drop_off": drop_off,
        "drop_off_low": drop_low if counts.reached_end else None,
        "drop_off_high": drop_high if counts.reached_end else None,
    }
    if not counts.has_next:
        return CliffhangerScore(**common, **blank, label=Label.no_next_episode)
    if expectation is None or counts.finished == 0:
        return CliffhangerScore(**common, **blank, label=Label.not_enough_viewers)
    n, k = counts.finished, counts.continued
    observed, observed_variance = observed_log_odds(k, n)
    expected, expected_variance = expectation.log_odds(counts)
    half = Z_95 * math.sqrt(observed_variance + expected_variance)
    difference = observed - expected
    low, high = difference - half, difference + half
    if n < MIN_FINISHERS:
        label = Label.not_enough_viewers
    elif low > TYPICAL_BAND:
        label = Label.strong
    elif high < -TYPICAL_BAND:
        label = Label.weak
    else:
        label = Label.typical
    return CliffhangerScore(
        **common,
        continuation=k / n,
        expected=logistic(expected),
        score=difference,
        score_low=low,
        score_high=high,
        continuation_low=logistic(expected + low),
        continuation_high=logistic(expected + high),
        typical_low=logistic(expected - TYPICAL_BAND),
        typical_high=logistic(expected + TYPICAL_BAND),
        label=label,
    )


def score_catalog(counts: Sequence[EndingCounts]) -> list[CliffhangerScore]:
    """Every episode's score, the expectation fitted on these counts (tests, benches)."""
    expectation = fit_expectation(counts)
    return [score(c, expectation) for c in counts]


# ---- The counts, from the database -------------------------------------------------------


class _Within(FunctionElement[bool]):
    """`_Within(time, anchor, low_s, high_s)`: time lies from low_s to high_s seconds after
    anchor. PostgreSQL compares the interval between them (a range on the time itself would
    lead the planner to the episode's index, every viewer of it); SQLite, which stores times
    as text, compares their julian days."""

    type = Boolean()
    inherit_cache = True


@compiles(_Within)
def _within_postgresql(element: _Within, compiler: SQLCompiler, **kw: Any) -> str:
    at, anchor, low, high = (compiler.process(c, **kw) for c in element.clauses)
    between = f"make_interval(secs => {low}) AND make_interval(secs => {high})"
    return f"(({at} - {anchor}) BETWEEN {between})"


@compiles(_Within, "sqlite")
def _within_sqlite(element: _Within, compiler: SQLCompiler, **kw: Any) -> str:
    at, anchor, low, high = (compiler.process(c, **kw) for c in element.clauses)
    return f"((julianday({at}) - julianday({anchor})) * 86400.0 BETWEEN {low} AND {high})"


def _within(at: Any, anchor: Any, low: timedelta, high: timedelta) -> _Within:
    seconds = (literal(low.total_seconds(), Float()), literal(high.total_seconds(), Float()))
    return _Within(at, anchor, *seconds)


def _continuation_counts(
    db: Session, series_ids: Sequence[int] | None, now: datetime
) -> dict[tuple[int, int], tuple[int, int, int]]:
    """(series, number) → (the series' free episodes, finishers whose 24 h are over, of them
    who went on), for the episodes that have a next one and a finisher. One query."""
    v = EpisodeView
    finishers = select(v.account_id, v.episode_id, func.min(v.last_at).label("finished_at")).where(
        v.completed.is_(True)
    )
    if series_ids is not None:
        finishers = finishers.where(v.series_id.in_(series_ids))
    fin = (
        finishers.group_by(v.account_id, v.episode_id)
        .having(func.min(v.last_at) <= now - CONTINUE_WITHIN)
        .subquery()
    )
    this, after = aliased(Episode), aliased(Episode)
    w = aliased(EpisodeView)
    played_next = exists().where(
        # By the viewer's views of the series (an index on both), not by all of the next
        # episode's: SQLite otherwise picks the episode's index and reads every viewer's.
        w.account_id == fin.c.account_id,
        w.series_id == after.series_id,
        w.episode_id == after.id,
        or_(w.played.is_(True), w.unlocked.is_(True)),
        _within(w.started_at, fin.c.finished_at, -CLOCK_SLACK, CONTINUE_WITHIN),
    )
    unlocked_next = exists().where(
        Unlock.account_id == fin.c.account_id,
        Unlock.episode_id == after.id,
        _within(Unlock.created_at, fin.c.finished_at, -CLOCK_SLACK, CONTINUE_WITHIN),
    )
    went_on = case((or_(played_next, unlocked_next), 1), else_=0)
    rows = db.execute(
        select(this.series_id, this.number, Series.free_episodes, func.count(), func.sum(went_on))
        .select_from(fin)
        .join(this, this.id == fin.c.episode_id)
        .join(
            after,
            and_(
                after.series_id == this.series_id,
                after.number == this.number + 1,
                after.state == EpisodeState.ready,
            ),
        )
        .join(Series, Series.id == this.series_id)
        .group_by(this.series_id, this.number, Series.free_episodes)
    )
    return {(s, number): (int(free), int(n), int(k or 0)) for s, number, free, n, k in rows}


def _ending_counts(db: Session, series_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
    """Episode id → (viewers who reached its last 10 s, of them who left without finishing)."""
    v = EpisodeView
    per_viewer = (
        select(
            v.account_id,
            v.episode_id,
            func.max(v.furthest_ms).label("furthest_ms"),
            func.max(case((v.completed.is_(True), 1), else_=0)).label("finished"),
        )
        .where(v.series_id.in_(series_ids), v.played.is_(True))
        .group_by(v.account_id, v.episode_id)
        .subquery()
    )
    window_start = case(
        (Episode.duration_ms > ENDING_WINDOW_MS, Episode.duration_ms - ENDING_WINDOW_MS), else_=0
    )
    reached = or_(per_viewer.c.finished == 1, per_viewer.c.furthest_ms >= window_start)
    rows = db.execute(
        select(
            per_viewer.c.episode_id,
            func.count(),
            func.sum(case((per_viewer.c.finished == 0, 1), else_=0)),
        )
        .join(Episode, Episode.id == per_viewer.c.episode_id)
        .where(Episode.duration_ms > 0, reached)
        .group_by(per_viewer.c.episode_id)
    )
    return {episode_id: (int(n), int(left or 0)) for episode_id, n, left in rows}


def catalog_counts(db: Session, *, now: datetime) -> list[EndingCounts]:
    """The continuation counts of every episode of the catalog that has a finisher and a next
    episode (what the expectation is fitted on)."""
    return [
        EndingCounts(
            series_id=series_id,
            number=number,
            free_episodes=free,
            has_next=True,
            finished=finished,
            continued=continued,
        )
        for (series_id, number), (free, finished, continued) in sorted(
            _continuation_counts(db, None, now).items()
        )
    ]


@dataclass(frozen=True)
class EpisodeCliffhanger:
    episode_id: int
    title: str
    score: CliffhangerScore


def series_counts(db: Session, *, series_id: int, now: datetime) -> list[tuple[Any, EndingCounts]]:
    """Each episode of the series (id, number, title) with its counts, in episode order."""
    series = db.get(Series, series_id)
    free_episodes = series.free_episodes if series else 0
    episodes = list(
        db.execute(
            select(Episode.id, Episode.number, Episode.title, Episode.state)
            .where(Episode.series_id == series_id)
            .order_by(Episode.number)
        )
    )
    continuation = _continuation_counts(db, [series_id], now)
    endings = _ending_counts(db, [series_id])
    # An episode viewers cannot play yet (processing, in review) carries nobody on: the one
    # before it is the series' last for now.
    playable = {e.number for e in episodes if e.state == EpisodeState.ready}
    result: list[tuple[Any, EndingCounts]] = []
    for e in episodes:
        _, finished, continued = continuation.get((series_id, e.number), (0, 0, 0))
        reached, left = endings.get(e.id, (0, 0))
        counts = EndingCounts(
            series_id=series_id,
            number=e.number,
            free_episodes=free_episodes,
            has_next=e.number + 1 in playable,
            finished=finished,
            continued=continued,
            reached_end=reached,
            left_in_end=left,
        )
        result.append((e, counts))
    return result


class ExpectationCache:
    """The catalog's expectation, refitted at most every `ttl_seconds` in a process: the fit
    reads every finisher of the catalog (about a second at 300,000 views on either database),
    and the catalog's curve moves slowly; a series' own counts are always read fresh."""

    def __init__(self, ttl_seconds: float = EXPECTATION_TTL_SECONDS) -> None:
        self.ttl_seconds = ttl_seconds
        self._lock = threading.Lock()
        self._fitted: tuple[float, Expectation | None] | None = None  # (fresh until, fit)

    def get(self, db: Session, *, now: datetime) -> Expectation | None:
        with self._lock:
            if self._fitted is not None and time.monotonic() < self._fitted[0]:
                return self._fitted[1]
        expectation = fit_expectation(catalog_counts(db, now=now))
        with self._lock:
            self._fitted = (time.monotonic() + self.ttl_seconds, expectation)
        return expectation


_EXPECTATIONS: weakref.WeakKeyDictionary[object, ExpectationCache] = weakref.WeakKeyDictionary()
_EXPECTATIONS_LOCK = threading.Lock()


def expectations_of(db: Session) -> ExpectationCache:
    """The process's cache of the catalog's fit for the database `db` is bound to (one per
    engine, forgotten with it)."""
    engine = db.get_bind()
    with _EXPECTATIONS_LOCK:
        cache = _EXPECTATIONS.get(engine)
        if cache is None:
            cache = _EXPECTATIONS[engine] = ExpectationCache()
        return cache


def series_cliffhangers(
    *,
    db: Session,
    series_id: int,
    now: datetime | None = None,
    expectations: ExpectationCache | None = None,
) -> list[EpisodeCliffhanger]:
    """A series' cliffhanger scores, each episode against the whole catalog's expectation
    (fitted now, or kept by `expectations`), the rollup first brought up to date with every
    stored event. A few grouped queries, whatever the number of episodes."""
    fold_new_events(db.get_bind())  # type: ignore[arg-type]
    now = now or utcnow()
    if expectations is None:
        expectation = fit_expectation(catalog_counts(db, now=now))
    else:
        expectation = expectations.get(db, now=now)
    return [
        EpisodeCliffhanger(episode_id=e.id, title=e.title, score=score(counts, expectation))
        for e, counts in series_counts(db, series_id=series_id, now=now)
    ]
