"""Rankings: the charts computed for a day from the stored episode views and unlocks (a job:
`refresh`), and one chart read back for the page and the API (`read_chart`).

A day's charts look back from the end of that day, or from now for today: the daily window
is the last 24 hours, the weekly one the last 7 days, and Rising compares each with the
window just before it. Each window is one grouped query (ranking_maths.py holds the maths on
its rows). `refresh` replaces the day's rows in the caller's transaction, so readers see the
old charts or the new ones, never a mix; `previous_rank` comes from the day before, which is
computed first if it never was (or was computed before it ended), so the change of rank shows
from the first run. A request reads a few indexed rows and never scans the events.
"""

from __future__ import annotations

import time
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    Engine,
    Integer,
    case,
    cast,
    delete,
    func,
    insert,
    or_,
    select,
    text,
)
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

from microdrama.analytics.models import EpisodeView
from microdrama.analytics.service import fold_new_events
from microdrama.cache import TTLCache
from microdrama.catalog import service as catalog
from microdrama.catalog.models import Series
from microdrama.catalog.schemas import SeriesCard
from microdrama.db import begin_immediate, session_scope, utcnow
from microdrama.discovery import ranking_maths as maths
from microdrama.discovery.for_you import EARLY_SWIPE_MS
from microdrama.discovery.models import Chart, ChartPeriod, RankingEntry
from microdrama.discovery.ranking_schemas import RankedSeries, RankingChartRead
from microdrama.paywall.models import Unlock
from microdrama.rate_limits import RateLimiter, one_at_a_time
from microdrama.storage import Storage

# Two refreshes at once (housekeeping in several processes) take turns on PostgreSQL; SQLite
# has one writer anyway.
_REFRESH_LOCK = 0x7A2C_0014
# Housekeeping's refresh runs in one process at a time; a dead holder's lease lapses after this.
REFRESH_LEASE_SECONDS = 15 * 60
DAY = timedelta(days=1)
WEEK = timedelta(days=7)

# (chart, period) -> the chart's places, overall and per genre.
Charts = dict[tuple[Chart, ChartPeriod], list[maths.Place]]
# (chart, period, genre, series id) -> rank, as stored for one day.
Ranks = dict[tuple[str, str, str, int], int]


@dataclass(frozen=True)
class RefreshSummary:
    day: date
    entries: int  # rows stored for the day
    charts: int  # charts (chart, period, genre) with at least one series
    series: int  # distinct series placed
    previous_day_computed: bool  # the day before was (re)computed first
    seconds: float


def end_of(day: date, now: datetime) -> datetime:
    """Where a day's windows end: midnight after it (UTC), or now while it lasts."""
    return min(datetime.combine(day + DAY, datetime.min.time(), tzinfo=UTC), now)


# -- the aggregation: one grouped query per window --------------------------------------------


def _epoch_seconds(db: Session, column: InstrumentedAttribute[datetime]) -> ColumnElement[int]:
    if db.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", column)
    return cast(func.strftime("%s", column), Integer)


def hourly_activity(db: Session, *, end: datetime) -> list[maths.HourActivity]:
    """Trending's rows over the week before `end` (the daily chart uses its last 24 hours)."""
    hours_ago = (int(end.timestamp()) - _epoch_seconds(db, EpisodeView.started_at)) // 3600
    views = (
        select(
            EpisodeView.series_id,
            EpisodeView.account_id,
            EpisodeView.completed,
            cast(hours_ago, Integer).label("hours_ago"),
        )
        .where(EpisodeView.played, EpisodeView.started_at >= end - WEEK)
        .where(EpisodeView.started_at < end)
        .subquery()
    )
    completer = case((views.c.completed, views.c.account_id))
    rows = db.execute(
        select(
            views.c.series_id,
            views.c.hours_ago,
            func.count(func.distinct(views.c.account_id)),
            func.count(func.distinct(completer)),
        ).group_by(views.c.series_id, views.c.hours_ago)
    )
    return [maths.HourActivity(s, int(h), int(v), int(c)) for s, h, v, c in rows]


def binges(db: Session, *, end: datetime) -> dict[ChartPeriod, list[maths.Binge]]:
    """Most binged's rows: per series, its viewers and the episodes each watched, for the day
    and the week before `end`."""
    # A swipe away in the first seconds is no watched episode (For You counts it against).
    watched = or_(EpisodeView.completed, EpisodeView.furthest_ms >= EARLY_SWIPE_MS)
    today = EpisodeView.started_at >= end - DAY
    per_viewer = (
        select(
            EpisodeView.series_id,
            func.count(func.distinct(EpisodeView.episode_id)).label("week"),
            func.count(func.distinct(case((today, EpisodeView.episode_id)))).label("day"),
        )
        .where(EpisodeView.played, watched, EpisodeView.started_at >= end - WEEK)
        .where(EpisodeView.started_at < end)
        .group_by(EpisodeView.series_id, EpisodeView.account_id)
        .subquery()
    )
    rows = db.execute(
        select(
            per_viewer.c.series_id,
            func.count(case((per_viewer.c.day > 0, 1))),
            func.sum(per_viewer.c.day),
            func.count(),
            func.sum(per_viewer.c.week),
        ).group_by(per_viewer.c.series_id)
    ).all()
    return {
        ChartPeriod.daily: [maths.Binge(r[0], int(r[1]), int(r[2] or 0)) for r in rows],
        ChartPeriod.weekly: [maths.Binge(r[0], int(r[3]), int(r[4] or 0)) for r in rows],
    }


def audiences(db: Session, *, end: datetime) -> dict[ChartPeriod, list[maths.Growth]]:
    """Rising's rows: per series, its viewers in each window and in the window before it."""
    started = EpisodeView.started_at

    def viewers(since: datetime, until: datetime) -> ColumnElement[int]:
        return func.count(
            func.distinct(case(((started >= since) & (started < until), EpisodeView.account_id)))
        )

    rows = db.execute(
        select(
            EpisodeView.series_id,
            viewers(end - DAY, end),
            viewers(end - 2 * DAY, end - DAY),
            viewers(end - WEEK, end),
            viewers(end - 2 * WEEK, end - WEEK),
        )
        .where(EpisodeView.played, started >= end - 2 * WEEK, started < end)
        .group_by(EpisodeView.series_id)
    ).all()
    return {
        ChartPeriod.daily: [maths.Growth(r[0], int(r[1]), int(r[2])) for r in rows],
        ChartPeriod.weekly: [maths.Growth(r[0], int(r[3]), int(r[4])) for r in rows],
    }


def unlock_tallies(db: Session, *, end: datetime) -> dict[ChartPeriod, list[maths.Tally]]:
    """Top unlocked's rows: per series, the episodes unlocked in the day and the week before
    `end` (refunded unlocks left out)."""
    rows = db.execute(
        select(
            Unlock.series_id,
            func.count(case((Unlock.created_at >= end - DAY, 1))),
            func.count(),
        )
        .where(Unlock.created_at >= end - WEEK, Unlock.created_at < end)
        .where(Unlock.revoked_at.is_(None))
        .group_by(Unlock.series_id)
    ).all()
    return {
        ChartPeriod.daily: [maths.Tally(r[0], int(r[1])) for r in rows],
        ChartPeriod.weekly: [maths.Tally(r[0], int(r[2])) for r in rows],
    }


def feed_genres(db: Session) -> dict[int, str]:
    """The series the feed shows (the only ones ranked), with their genre."""
    rows = db.execute(select(Series.id, Series.genre).where(*catalog.in_feed()))
    return {series_id: genre for series_id, genre in rows}


def compute(db: Session, *, end: datetime, genre_of: dict[int, str]) -> Charts:
    """Every chart's places for the windows that end at `end`."""
    activity = hourly_activity(db, end=end)
    binge, growth, unlocks = (
        binges(db, end=end),
        audiences(db, end=end),
        unlock_tallies(db, end=end),
    )
    charts: Charts = {}
    for period in ChartPeriod:
        scores = {
            Chart.trending: maths.trending(activity, period),
            Chart.binged: maths.binged(binge[period]),
            Chart.unlocked: maths.unlocked(unlocks[period]),
            Chart.rising: maths.rising(growth[period]),
        }
        for chart, scored in scores.items():
            charts[chart, period] = maths.places(scored, genre_of)
    return charts


# -- the job ----------------------------------------------------------------------------------


def refresh(db: Session, *, day: date | None = None, now: datetime | None = None) -> RefreshSummary:
    """Compute every chart for `day` (default: today, UTC) and replace that day's rows, in the
    caller's transaction (the caller commits). On SQLite, fold the new events into the rollup
    first (`refresh_in_own_transaction` does)."""
    started = time.perf_counter()
    now = now or utcnow()
    day = day or now.date()
    if day > now.date():
        raise ValueError(f"{day} has not begun: rankings are computed from what happened")
    genre_of = feed_genres(db)
    before = day - DAY
    redo_before = not _computed_to_its_end(db, before, now)
    charts_before = compute(db, end=end_of(before, now), genre_of=genre_of) if redo_before else None
    charts = compute(db, end=end_of(day, now), genre_of=genre_of)

    _take_turns(db)
    if charts_before is not None:
        _replace(db, before, charts_before, _ranks_of(db, before - DAY), now)
        ranks_before = _ranks_in(charts_before)
    else:
        ranks_before = _ranks_of(db, before)
    entries = _replace(db, day, charts, ranks_before, now)
    return RefreshSummary(
        day=day,
        entries=entries,
        charts=len({(c, p, place.genre) for (c, p), placed in charts.items() for place in placed}),
        series=len({place.series_id for placed in charts.values() for place in placed}),
        previous_day_computed=redo_before,
        seconds=round(time.perf_counter() - started, 3),
    )


def refresh_in_own_transaction(
    factory: sessionmaker[Session], *, day: date | None = None
) -> RefreshSummary:
    """`refresh` for a command or a chore: the rollup brought up to date, then one committed
    transaction."""
    with factory() as db:
        engine = db.get_bind()
    assert isinstance(engine, Engine)
    fold_new_events(engine)
    with session_scope(factory) as db:
        return refresh(db, day=day)


def refresh_if_due(
    factory: sessionmaker[Session],
    *,
    every: timedelta = timedelta(hours=1),
    limiter: RateLimiter | None = None,
) -> RefreshSummary | None:
    """`refresh_in_own_transaction` of today when its charts are older than `every` (or
    missing): for a chore that runs every few minutes (a refresh at a million views takes
    seconds, so not every round). With a `limiter`, one process refreshes while the others'
    chores skip it (a lease of REFRESH_LEASE_SECONDS, should that process die)."""
    if not _refresh_due(factory, every):
        return None
    if limiter is None:
        return refresh_in_own_transaction(factory)
    with one_at_a_time(limiter, "rankings-refresh", lease_seconds=REFRESH_LEASE_SECONDS) as mine:
        # Another process may have refreshed between the first look and the lease.
        if not mine or not _refresh_due(factory, every):
            return None
        return refresh_in_own_transaction(factory)


def _refresh_due(factory: sessionmaker[Session], every: timedelta) -> bool:
    with factory() as db:
        computed_at = db.scalar(
            select(func.max(RankingEntry.computed_at)).where(RankingEntry.day == utcnow().date())
        )
    return computed_at is None or utcnow() - computed_at >= every


def forget_before(db: Session, *, day: date) -> int:
    """Delete the charts computed for days before `day` (housekeeping keeps a few months);
    answers how many rows went."""
    result = db.execute(delete(RankingEntry).where(RankingEntry.day < day))
    return int(result.rowcount)  # type: ignore[attr-defined]


def _computed_to_its_end(db: Session, day: date, now: datetime) -> bool:
    computed_at = db.scalar(
        select(func.max(RankingEntry.computed_at)).where(RankingEntry.day == day)
    )
    return computed_at is not None and computed_at >= end_of(day, now)


def _take_turns(db: Session) -> None:
    """The writer's lock before replacing rows: SQLite's write lock (the reads above ran
    without it, so event ingestion was never held up by the aggregation), PostgreSQL's
    advisory lock."""
    connection = db.connection()
    if connection.dialect.name == "postgresql":
        db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _REFRESH_LOCK})
    else:
        begin_immediate(connection)


def _ranks_of(db: Session, day: date) -> Ranks:
    rows = db.execute(
        select(
            RankingEntry.chart,
            RankingEntry.period,
            RankingEntry.genre,
            RankingEntry.series_id,
            RankingEntry.rank,
        ).where(RankingEntry.day == day)
    )
    return {(c, p, g, s): r for c, p, g, s, r in rows}


def _ranks_in(charts: Charts) -> Ranks:
    return {
        (chart.value, period.value, place.genre, place.series_id): place.rank
        for (chart, period), placed in charts.items()
        for place in placed
    }


def _replace(db: Session, day: date, charts: Charts, ranks_before: Ranks, now: datetime) -> int:
    rows = [
        {
            "day": day,
            "chart": chart.value,
            "period": period.value,
            "genre": place.genre,
            "series_id": place.series_id,
            "rank": place.rank,
            "score": place.score,
            "previous_rank": ranks_before.get(
                (chart.value, period.value, place.genre, place.series_id)
            ),
            "computed_at": now,
        }
        for (chart, period), placed in charts.items()
        for place in placed
    ]
    db.execute(delete(RankingEntry).where(RankingEntry.day == day))
    if rows:
        db.execute(insert(RankingEntry), rows)
    return len(rows)


# -- reading ----------------------------------------------------------------------------------


def latest_day(db: Session) -> date | None:
    """The last day computed: the page and the API show its charts."""
    return db.scalar(select(func.max(RankingEntry.day)))


def read_chart(
    *,
    db: Session,
    storage: Storage,
    chart: Chart,
    period: ChartPeriod,
    genre: str = "",
    limit: int = 20,
) -> RankingChartRead:
    """One chart of the last day computed, best first, with each series' card and its change
    of rank since the day before (series no longer in the feed left out)."""
    day = latest_day(db)
    empty = RankingChartRead(
        chart=chart, period=period, genre=genre, day=day, computed_at=None, genres=[], entries=[]
    )
    if day is None:
        return empty
    entries = db.scalars(
        select(RankingEntry)
        .where(
            RankingEntry.day == day,
            RankingEntry.chart == chart.value,
            RankingEntry.period == period.value,
            RankingEntry.genre == genre,
        )
        .order_by(RankingEntry.rank)
        .limit(limit)
    ).all()
    cards = {
        card.id: card
        for card in catalog.feed_cards(
            db=db, storage=storage, series_ids=[e.series_id for e in entries]
        )
    }
    return empty.model_copy(
        update={
            "computed_at": db.scalar(
                select(func.max(RankingEntry.computed_at)).where(RankingEntry.day == day)
            ),
            "genres": _genres_on(db, day),
            "entries": [_ranked(e, cards[e.series_id]) for e in entries if e.series_id in cards],
        }
    )


def chart_key(chart: Chart, period: ChartPeriod, genre: str, limit: int) -> Hashable:
    """The chart's entry in the public cache (the API and the page share it)."""
    return ("rankings", chart.value, period.value, genre, limit)


def chart_json(
    *, db: Session, storage: Storage, chart: Chart, period: ChartPeriod, genre: str, limit: int
) -> bytes:
    found = read_chart(db=db, storage=storage, chart=chart, period=period, genre=genre, limit=limit)
    return found.model_dump_json().encode()


def cached_chart(
    *,
    cache: TTLCache[bytes],
    db: Session,
    storage: Storage,
    chart: Chart,
    period: ChartPeriod,
    genre: str,
    limit: int,
) -> RankingChartRead:
    """`read_chart` through the public cache: every visitor gets the same chart until the job
    runs again, and most of its cost is the series cards (each series' episodes loaded)."""
    key = chart_key(chart, period, genre, limit)
    body = cache.get(key) or cache.put(
        key,
        chart_json(db=db, storage=storage, chart=chart, period=period, genre=genre, limit=limit),
    )
    return RankingChartRead.model_validate_json(body)


def _genres_on(db: Session, day: date) -> list[str]:
    return list(
        db.scalars(
            select(RankingEntry.genre)
            .where(RankingEntry.day == day, RankingEntry.genre != "")
            .distinct()
            .order_by(RankingEntry.genre)
        )
    )


def _ranked(entry: RankingEntry, card: SeriesCard) -> RankedSeries:
    move, places = maths.move(entry.rank, entry.previous_rank)
    return RankedSeries(
        rank=entry.rank,
        previous_rank=entry.previous_rank,
        move=move,
        places=places,
        score=entry.score,
        series=card,
    )
