"""For You: the swipe feed's order for one viewer.

The recommender's precomputed candidates (`recommendations`, written by `microdrama recs
train`), re-ranked on each request: series the viewer has since finished or swiped away in
the first seconds are dropped, no more than two of one genre follow each other where another
is waiting, and a few places go to new series with few views so that they gather signal. A
viewer without candidates (new, or not yet trained on) gets Trending with variety; after
the personal part comes the rest of the feed, newest first, as before, and what was dropped
only at the very end. During a feed experiment (discovery/experiments.py) a share of viewers
gets another order instead.

A request reads a few indexed rows: the viewer's candidates, what the viewer finished and
skipped, and the cards; Trending and the new series are shared by everyone (`SharedPools`,
kept in the public cache), never computed per viewer.
"""

from __future__ import annotations

import functools
import json
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import and_, bindparam, case, func, select, union_all
from sqlalchemy.orm import Session, aliased

from microdrama.analytics.models import EpisodeView
from microdrama.cache import TTLCache
from microdrama.catalog import service as catalog
from microdrama.catalog.models import Episode, EpisodeState, Series
from microdrama.catalog.schemas import SeriesCard
from microdrama.db import utcnow
from microdrama.discovery.models import (
    Chart,
    ChartPeriod,
    FeedOrder,
    RankingEntry,
    Recommendation,
)
from microdrama.playback.models import WatchProgress
from microdrama.storage import Storage

# A swipe away before this second of an episode says "not for me".
EARLY_SWIPE_MS = 3_000
# No more than this many series of one genre in a row, where another genre is waiting.
GENRE_RUN = 2
# Places in the feed (from 0) given to new series, within the personal part.
EXPLORATION_SLOTS = (3, 8)
# A series published in the last days with fewer views than this is still gathering signal.
EXPLORE_UNDER_VIEWS = 100
NEW_FOR_DAYS = 14
NEWEST_CONSIDERED = 40
# Trending: recent distinct viewers and completions, each day back weighing this much less.
TRENDING_DAYS = 7
TRENDING_DECAY_PER_DAY = 0.7
TRENDING_SIZE = 100

POOLS_CACHE_KEY = ("for-you", "pools")
# A known viewer's page is rebuilt every few seconds while they swipe (feed_routes.py). What
# it is rebuilt from that changes more slowly is kept in the app's part cache (cache.py): each
# series' card, shared by every page that shows it, and the viewer's candidates, which only a
# training run changes, for this long.
CANDIDATES_SECONDS = 30.0


@dataclass(frozen=True)
class SharedPools:
    """What every viewer's order draws on besides their own candidates (series id, genre)."""

    trending: list[tuple[int, str]] = field(default_factory=list)
    new: list[tuple[int, str]] = field(default_factory=list)

    def to_json(self) -> bytes:
        return json.dumps({"trending": self.trending, "new": self.new}).encode()

    @classmethod
    def from_json(cls, body: bytes) -> SharedPools:
        """The pools of these bytes, parsed once: every feed request reads the cached bytes
        and parsing them each time was a tenth of a cached For You answer. The result is
        shared: its lists are never changed."""
        return _parsed_pools(body)


@functools.lru_cache(maxsize=4)
def _parsed_pools(body: bytes) -> SharedPools:
    data = json.loads(body)
    return SharedPools(
        trending=[(int(i), str(g)) for i, g in data["trending"]],
        new=[(int(i), str(g)) for i, g in data["new"]],
    )


def vary_genres(
    series_ids: Sequence[int],
    genre_of: Mapping[int, str],
    *,
    limit: int | None = None,
    run: int = GENRE_RUN,
) -> list[int]:
    """The series in their order, except that when `run` of one genre have just been placed
    the next is the best-ranked one of another genre (if any is left)."""
    remaining = list(series_ids)
    placed: list[int] = []
    while remaining and (limit is None or len(placed) < limit):
        last = [genre_of.get(s) for s in placed[-run:]]
        streak = last[0] if len(last) == run and len(set(last)) == 1 else None
        pick = next(
            (i for i, s in enumerate(remaining) if genre_of.get(s) != streak),
            0,  # only that genre is left
        )
        placed.append(remaining.pop(pick))
    return placed


def with_exploration(series_ids: Sequence[int], new_ids: Sequence[int], *, seed: int) -> list[int]:
    """New series put in the exploration places, each viewer (`seed`) getting other ones so
    that every new series is shown to some; only places the personal part reaches are used,
    so an empty part stays the plain newest-first feed."""
    ordered = list(series_ids)
    present = set(ordered)
    choices = [s for s in new_ids if s not in present]
    random.Random(seed).shuffle(choices)
    for slot, series_id in zip(EXPLORATION_SLOTS, choices, strict=False):
        if slot >= len(ordered):
            break
        ordered.insert(slot, series_id)
    return ordered


def _dedupe(series_ids: Iterable[int], drop: set[int]) -> list[int]:
    seen = set(drop)
    kept = []
    for series_id in series_ids:
        if series_id not in seen:
            seen.add(series_id)
            kept.append(series_id)
    return kept


def personal_head(
    candidates: Sequence[tuple[int, str]], pools: SharedPools, drop: set[int], *, seed: int
) -> list[int]:
    """The personal part of the feed: candidates (or, without any, Trending) re-ranked."""
    genre_of = dict(pools.trending) | dict(pools.new) | dict(candidates)
    source = candidates or pools.trending
    varied = vary_genres(_dedupe((s for s, _ in source), drop), genre_of)
    return with_exploration(varied, [s for s, _ in pools.new if s not in drop], seed=seed)


# -- reads -------------------------------------------------------------------------------


def _live_genres(db: Session, series_ids: Sequence[int]) -> list[tuple[int, str]]:
    """(id, genre) of those series that are in the feed, in the order given."""
    if not series_ids:
        return []
    rows = db.execute(
        select(Series.id, Series.genre).where(Series.id.in_(series_ids), *catalog.in_feed())
    ).all()
    genre_of = {r.id: r.genre for r in rows}
    return [(s, genre_of[s]) for s in series_ids if s in genre_of]


def trending(*, db: Session, size: int = TRENDING_SIZE) -> list[tuple[int, str]]:
    """The series most watched lately (the rankings' weekly Trending chart when it has been
    computed; else the last days' viewers and completions, decayed by age)."""
    latest = db.scalar(
        select(func.max(RankingEntry.day)).where(
            RankingEntry.chart == Chart.trending.value,
            RankingEntry.period == ChartPeriod.weekly.value,
            RankingEntry.genre == "",
        )
    )
    if latest is not None:
        ids = db.scalars(
            select(RankingEntry.series_id)
            .where(
                RankingEntry.day == latest,
                RankingEntry.chart == Chart.trending.value,
                RankingEntry.period == ChartPeriod.weekly.value,
                RankingEntry.genre == "",
            )
            .order_by(RankingEntry.rank)
            .limit(size)
        ).all()
        return _live_genres(db, list(ids))
    now = utcnow()
    days_ago = case(
        *[(EpisodeView.started_at >= now - timedelta(days=d + 1), d) for d in range(TRENDING_DAYS)],
        else_=TRENDING_DAYS,
    )
    rows = db.execute(
        select(
            EpisodeView.series_id,
            days_ago.label("days_ago"),
            func.count(func.distinct(EpisodeView.account_id)).label("viewers"),
            func.sum(case((EpisodeView.completed, 1), else_=0)).label("completions"),
        )
        .where(EpisodeView.started_at >= now - timedelta(days=TRENDING_DAYS), EpisodeView.played)
        .group_by(EpisodeView.series_id, days_ago)
    ).all()
    score: dict[int, float] = {}
    for row in rows:
        weight = TRENDING_DECAY_PER_DAY ** int(row.days_ago)
        score[row.series_id] = score.get(row.series_id, 0.0) + weight * (
            int(row.viewers) + int(row.completions or 0)
        )
    ranked = sorted(score, key=lambda s: (-score[s], s))[: size * 2]
    return _live_genres(db, ranked)[:size]


def new_series(*, db: Session) -> list[tuple[int, str]]:
    """Series out for less than `NEW_FOR_DAYS` (the newest few) with fewer than
    `EXPLORE_UNDER_VIEWS` views."""
    newest = (
        select(Series.id, Series.genre)
        .where(*catalog.in_feed(), Series.published_at >= utcnow() - timedelta(days=NEW_FOR_DAYS))
        .order_by(*catalog.NEWEST_FIRST)
        .limit(NEWEST_CONSIDERED)
        .subquery()
    )
    # The view ranked EXPLORE_UNDER_VIEWS, if there is one: at most that many index entries
    # are read per series, however much it is watched.
    enough_views = (
        select(EpisodeView.started_at)
        .where(EpisodeView.series_id == newest.c.id)
        .order_by(EpisodeView.started_at)
        .limit(1)
        .offset(EXPLORE_UNDER_VIEWS - 1)
        .scalar_subquery()
    )
    rows = db.execute(
        select(newest.c.id, newest.c.genre)
        .where(enough_views.is_(None))
        .order_by(newest.c.id.desc())
    ).all()
    return [(r.id, r.genre) for r in rows]


def shared_pools(*, db: Session) -> SharedPools:
    return SharedPools(trending=trending(db=db), new=new_series(db=db))


def cached_pools(*, db: Session, cache: TTLCache[bytes]) -> SharedPools:
    """The shared pools from the public cache, computed here when it has none fresh (pages
    are synchronous; the API builds them single-flight with `TTLCache.get_or_build`)."""
    body = cache.get(POOLS_CACHE_KEY)
    if body is None:
        body = cache.put(POOLS_CACHE_KEY, shared_pools(db=db).to_json())
    return SharedPools.from_json(body)


def candidates(
    *, db: Session, account_id: int, cache: TTLCache[Any] | None = None
) -> list[tuple[int, str]]:
    """The viewer's precomputed candidates that are in the feed, best first, with genres
    (kept in `cache` if given; the list is shared then, never to be changed)."""
    key = ("for-you candidates", account_id)
    if cache is not None and (kept := cache.get(key)) is not None:
        return cast("list[tuple[int, str]]", kept)
    rows = db.execute(_CANDIDATES, {"account_id": account_id, "now": utcnow()}).all()
    found = [(r.series_id, r.genre) for r in rows]
    return found if cache is None else cache.put(key, found, ttl_seconds=CANDIDATES_SECONDS)


def seen_off(*, db: Session, account_id: int) -> set[int]:
    """Series the viewer has finished (the last ready episode completed) or skipped (every
    look at it a swipe away in the first seconds)."""
    return set(db.scalars(_SEEN_OFF, {"account_id": account_id}))


# The per-request reads, built once: building a statement cost more than running it.
_CANDIDATES = (
    select(Recommendation.series_id, Series.genre)
    .join(Series, Series.id == Recommendation.series_id)
    .where(
        Recommendation.account_id == bindparam("account_id"),
        *catalog.in_feed(now=bindparam("now")),
    )
    .order_by(Recommendation.rank)
)
_READY = aliased(Episode)
_LAST_READY = (
    select(func.max(_READY.number))
    .where(_READY.series_id == WatchProgress.series_id, _READY.state == EpisodeState.ready)
    .correlate(WatchProgress)
    .scalar_subquery()
)
_FINISHED = (
    select(WatchProgress.series_id)
    .join(Episode, Episode.id == WatchProgress.episode_id)
    .where(
        WatchProgress.account_id == bindparam("account_id"),
        WatchProgress.completed,
        Episode.number == _LAST_READY,
    )
)
_EARLY = and_(
    EpisodeView.swiped_away,
    ~EpisodeView.completed,
    EpisodeView.furthest_ms < EARLY_SWIPE_MS,
)
_SKIPPED = (
    select(EpisodeView.series_id)
    .where(EpisodeView.account_id == bindparam("account_id"))
    .group_by(EpisodeView.series_id)
    .having(func.min(case((_EARLY, 1), else_=0)) == 1)
)
_SEEN_OFF = union_all(_FINISHED, _SKIPPED)


def feed_order(
    *,
    db: Session,
    account_id: int | None,
    pools: SharedPools,
    upto: int,
    order: FeedOrder = FeedOrder.for_you,
    cache: TTLCache[Any] | None = None,
) -> list[int]:
    """The first `upto` series of the viewer's feed (None: a visitor without an account), in
    For You's order or, for an experiment's other arm, popularity's (the Trending order, the
    same for everyone) or the newest first."""
    drop: set[int] = set()
    if order == FeedOrder.newest:
        head: list[int] = []
    elif order == FeedOrder.popularity:
        head = [s for s, _ in pools.trending]
    else:
        mine: list[tuple[int, str]] = []
        if account_id is not None:
            mine = candidates(db=db, account_id=account_id, cache=cache)
            drop = seen_off(db=db, account_id=account_id)
        head = personal_head(mine, pools, drop, seed=account_id or 0)
    if len(head) < upto:
        # Then the rest of the feed, newest first, without what is already above or dropped.
        excluded = set(head) | drop
        wanted = upto - len(head)
        asked = wanted + len(excluded)
        rest = catalog.feed_ids(db=db, limit=asked)
        head += [s for s in rest if s not in excluded][:wanted]
        if len(rest) < asked:
            # The whole catalog is above: what the viewer finished or skipped comes last
            # rather than not at all, so a small catalog's feed never runs dry (one series
            # sampled for two seconds emptied a first-run feed).
            head += [s for s in rest if s in drop and s not in head]
    return head[:upto]


def feed_page(
    *,
    db: Session,
    storage: Storage,
    account_id: int | None,
    pools: SharedPools,
    limit: int,
    offset: int = 0,
    order: FeedOrder = FeedOrder.for_you,
) -> list[SeriesCard]:
    """One page of the viewer's feed, as cards, in `order` (For You unless an experiment
    serves this viewer another)."""
    ids = feed_order(db=db, account_id=account_id, pools=pools, upto=offset + limit, order=order)
    return catalog.feed_cards(db=db, storage=storage, series_ids=ids[offset : offset + limit])


def feed_page_json(
    *,
    db: Session,
    storage: Storage,
    account_id: int | None,
    pools: SharedPools,
    limit: int,
    offset: int = 0,
    order: FeedOrder = FeedOrder.for_you,
    cache: TTLCache[Any],
) -> bytes:
    """`feed_page` as the feed API's JSON (catalog.schemas.Feed), built from the parts kept
    in `cache` where it has them: a known viewer's page, rebuilt every few seconds."""
    upto = offset + limit
    ids = feed_order(db=db, account_id=account_id, pools=pools, upto=upto, order=order, cache=cache)
    cards = catalog.feed_card_json(db=db, storage=storage, series_ids=ids[offset:upto], cache=cache)
    return b'{"items":[' + b",".join(cards) + b"]}"
