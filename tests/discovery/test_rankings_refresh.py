"""Computing a day's charts from stored views and unlocks, on each database: the windows,
what counts, genre charts, the change of rank from the first run, and a day replaced whole."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from microdrama.catalog.models import Series, SeriesStatus
from microdrama.db import utcnow
from microdrama.discovery import rankings
from microdrama.discovery.models import Chart, ChartPeriod, RankingEntry
from tests.support.rankings import genre_series, midnight_after, unlocked, viewers, watched

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@pytest.fixture
def day() -> date:
    """A day well in the past: its windows end at the midnight after it."""
    return utcnow().date() - timedelta(days=3)


def _chart(
    db: Session, day: date, chart: Chart, period: ChartPeriod, genre: str = ""
) -> list[tuple[str, int, int | None]]:
    """(title, rank, previous rank) of a stored chart, best first."""
    rows = db.execute(
        select(Series.title, RankingEntry.rank, RankingEntry.previous_rank)
        .join(Series, Series.id == RankingEntry.series_id)
        .where(
            RankingEntry.day == day,
            RankingEntry.chart == chart.value,
            RankingEntry.period == period.value,
            RankingEntry.genre == genre,
        )
        .order_by(RankingEntry.rank)
    )
    return [(title, rank, previous) for title, rank, previous in rows]


def _titles(
    db: Session, day: date, chart: Chart, period: ChartPeriod, genre: str = ""
) -> list[str]:
    return [title for title, _rank, _previous in _chart(db, day, chart, period, genre)]


def _rows_of(db: Session, day: date) -> int:
    return db.scalar(select(func.count()).select_from(RankingEntry).where(RankingEntry.day == day))


def test_the_daily_chart_sees_the_last_day_and_the_weekly_one_the_last_week(
    db: Session, day: date
) -> None:
    end = midnight_after(day)
    tonight, earlier = genre_series(db, "Tonight"), genre_series(db, "Earlier This Week")
    for viewer in viewers(db, 3):
        watched(db, viewer, tonight, end - 2 * HOUR)
    for viewer in viewers(db, 10):
        watched(db, viewer, earlier, end - 3 * DAY)
    watched(db, viewers(db, 1)[0], earlier, end - 8 * DAY)  # before the week: not counted

    rankings.refresh(db, day=day)

    assert _titles(db, day, Chart.trending, ChartPeriod.daily) == ["Tonight"]
    assert _titles(db, day, Chart.trending, ChartPeriod.weekly) == ["Earlier This Week", "Tonight"]
    assert _titles(db, day, Chart.trending, ChartPeriod.weekly, "romance") == [
        "Earlier This Week",
        "Tonight",
    ]


def test_the_first_run_computes_the_day_before_so_the_change_of_rank_shows(
    db: Session, day: date
) -> None:
    end = midnight_after(day)
    climber, faller = genre_series(db, "Climber"), genre_series(db, "Faller", "revenge")
    for viewer in viewers(db, 2):
        watched(db, viewer, climber, end - DAY - 5 * HOUR)  # the day before
    for viewer in viewers(db, 6):
        watched(db, viewer, faller, end - DAY - 5 * HOUR)
    for viewer in viewers(db, 9):
        watched(db, viewer, climber, end - 3 * HOUR)  # the day itself
    for viewer in viewers(db, 3):
        watched(db, viewer, faller, end - 3 * HOUR)
    newcomer = genre_series(db, "Newcomer")
    watched(db, viewers(db, 1)[0], newcomer, end - 1 * HOUR)

    summary = rankings.refresh(db, day=day)

    assert summary.previous_day_computed
    assert _chart(db, day - DAY, Chart.trending, ChartPeriod.daily) == [
        ("Faller", 1, None),
        ("Climber", 2, None),
    ]
    assert _chart(db, day, Chart.trending, ChartPeriod.daily) == [
        ("Climber", 1, 2),
        ("Faller", 2, 1),
        ("Newcomer", 3, None),
    ]
    # A genre chart's previous rank is the place on that genre's chart.
    assert _chart(db, day, Chart.trending, ChartPeriod.daily, "romance") == [
        ("Climber", 1, 1),
        ("Newcomer", 2, None),
    ]


def test_refreshing_a_day_again_replaces_its_rows_and_never_duplicates_them(
    db: Session, day: date
) -> None:
    end = midnight_after(day)
    first, second = genre_series(db, "First"), genre_series(db, "Second", "thriller")
    audience = viewers(db, 4)
    for viewer in audience[:3]:
        watched(db, viewer, first, end - 4 * HOUR)
    unlocked(db, audience[0], first, end - 4 * HOUR)
    watched(db, audience[3], second, end - DAY - 4 * HOUR)  # the day before has a chart too

    summary = rankings.refresh(db, day=day)
    again = rankings.refresh(db, day=day)

    assert again.entries == summary.entries == _rows_of(db, day)
    assert not again.previous_day_computed  # computed to its end by the first run
    assert _titles(db, day, Chart.trending, ChartPeriod.daily) == ["First"]

    for viewer in viewers(db, 5):
        watched(db, viewer, second, end - 2 * HOUR)
    rankings.refresh(db, day=day)

    assert _titles(db, day, Chart.trending, ChartPeriod.daily) == ["Second", "First"]
    assert _titles(db, day, Chart.trending, ChartPeriod.daily, "thriller") == ["Second"]
    keys = db.execute(
        select(
            RankingEntry.chart, RankingEntry.period, RankingEntry.genre, RankingEntry.series_id
        ).where(RankingEntry.day == day)
    ).all()
    assert len(keys) == len(set(keys)) == _rows_of(db, day)


def test_most_binged_counts_episodes_watched_per_viewer_and_not_early_swipes(
    db: Session, day: date
) -> None:
    end = midnight_after(day)
    deep, wide = genre_series(db, "Deep"), genre_series(db, "Wide")
    for viewer in viewers(db, 4):
        watched(db, viewer, deep, end - 5 * HOUR, episodes=5)
        watched(db, viewer, deep, end - 4 * HOUR, episodes=5)  # watched again: still 5
    for viewer in viewers(db, 8):
        watched(db, viewer, wide, end - 5 * HOUR, episodes=1)
    for viewer in viewers(db, 30):  # swiped away in the first second: not a binge
        watched(db, viewer, wide, end - 5 * HOUR, episodes=6, completed=False, furthest_ms=900)

    rankings.refresh(db, day=day)

    assert _titles(db, day, Chart.binged, ChartPeriod.daily) == ["Deep", "Wide"]
    # Trending counts the swipes as starts: thirty more viewers.
    assert _titles(db, day, Chart.trending, ChartPeriod.daily) == ["Wide", "Deep"]


def test_top_unlocked_leaves_out_refunds_and_older_unlocks(db: Session, day: date) -> None:
    end = midnight_after(day)
    paid, refunded, older = (genre_series(db, t) for t in ("Paid", "Refunded", "Older"))
    audience = viewers(db, 3)
    for viewer in audience[:2]:
        unlocked(db, viewer, paid, end - 6 * HOUR, episodes=2)
    for row in unlocked(db, audience[0], refunded, end - 6 * HOUR, episodes=4):
        row.revoked_at = end - 5 * HOUR
    unlocked(db, audience[2], refunded, end - 6 * HOUR)
    unlocked(db, audience[2], older, end - 3 * DAY, episodes=4)

    rankings.refresh(db, day=day)

    assert _titles(db, day, Chart.unlocked, ChartPeriod.daily) == ["Paid", "Refunded"]
    assert _titles(db, day, Chart.unlocked, ChartPeriod.weekly) == ["Paid", "Older", "Refunded"]


def test_rising_compares_with_the_window_before_with_a_floor(db: Session, day: date) -> None:
    end = midnight_after(day)
    small, big, flat = genre_series(db, "Small"), genre_series(db, "Big"), genre_series(db, "Flat")

    def audience(series: Series, before: int, now: int) -> None:
        for viewer in viewers(db, before):
            watched(db, viewer, series, end - DAY - 6 * HOUR)
        for viewer in viewers(db, now):
            watched(db, viewer, series, end - 6 * HOUR)

    audience(small, before=1, now=3)
    audience(big, before=6, now=14)
    audience(flat, before=5, now=5)

    rankings.refresh(db, day=day)

    assert _titles(db, day, Chart.rising, ChartPeriod.daily) == ["Big", "Small"]


def test_only_series_the_feed_shows_are_ranked(db: Session, day: date) -> None:
    end = midnight_after(day)
    shown, withdrawn = genre_series(db, "Shown"), genre_series(db, "Withdrawn")
    withdrawn.status = SeriesStatus.draft
    for viewer in viewers(db, 2):
        watched(db, viewer, shown, end - HOUR)
        watched(db, viewer, withdrawn, end - HOUR, episodes=3)

    summary = rankings.refresh(db, day=day)

    assert _titles(db, day, Chart.trending, ChartPeriod.weekly) == ["Shown"]
    assert summary.series == 1


def test_a_day_computed_before_it_ended_is_completed_by_the_next_days_run(
    db: Session, day: date
) -> None:
    end = midnight_after(day)
    morning, evening = genre_series(db, "Morning"), genre_series(db, "Evening")
    for viewer in viewers(db, 2):
        watched(db, viewer, morning, end - 16 * HOUR)
    for viewer in viewers(db, 5):
        watched(db, viewer, evening, end - 2 * HOUR)

    at_noon = end - 12 * HOUR
    rankings.refresh(db, day=day, now=at_noon)
    assert _titles(db, day, Chart.trending, ChartPeriod.daily) == ["Morning"]

    summary = rankings.refresh(db, day=day + DAY, now=end + 6 * HOUR)

    assert summary.previous_day_computed
    assert _titles(db, day, Chart.trending, ChartPeriod.daily) == ["Evening", "Morning"]
    assert _chart(db, day + DAY, Chart.trending, ChartPeriod.weekly)[0] == ("Evening", 1, 1)


def test_a_day_that_has_not_begun_is_refused(db: Session) -> None:
    with pytest.raises(ValueError, match="has not begun"):
        rankings.refresh(db, day=utcnow().date() + DAY)


def test_refresh_in_its_own_transaction_commits_todays_charts(
    db: Session, db_factory: sessionmaker[Session]
) -> None:
    series = genre_series(db, "Live")
    watched(db, viewers(db, 1)[0], series, utcnow() - HOUR)
    db.commit()

    today = utcnow().date()
    summary = rankings.refresh_in_own_transaction(db_factory)

    assert summary.day in {today, utcnow().date()}  # (run at midnight, either day)
    with db_factory() as other:
        assert _titles(other, summary.day, Chart.trending, ChartPeriod.daily) == ["Live"]


def test_a_refresh_at_the_end_of_an_empty_history_stores_nothing(db: Session, day: date) -> None:
    summary = rankings.refresh(db, day=day)

    assert (summary.entries, summary.charts, summary.series) == (0, 0, 0)
    assert rankings.latest_day(db) is None


def test_a_chore_refreshes_todays_charts_only_when_they_are_older_than_asked(
    db: Session, db_factory: sessionmaker[Session]
) -> None:
    series = genre_series(db, "Live")
    watched(db, viewers(db, 1)[0], series, utcnow() - HOUR)
    db.commit()

    first = rankings.refresh_if_due(db_factory)
    soon_after = rankings.refresh_if_due(db_factory)
    forced = rankings.refresh_if_due(db_factory, every=timedelta(0))

    assert first is not None and first.entries > 0
    assert soon_after is None
    assert forced is not None and forced.entries == first.entries
