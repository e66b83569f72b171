"""Discovery's jobs from the command line and from housekeeping: `microdrama rankings refresh`
(with a day, validated), today's charts refreshed by a round when they are an hour old, charts
of long ago forgotten, and For You retrained when its last training is older than the setting."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from microdrama.cli import app as cli
from microdrama.config import Settings
from microdrama.db import utcnow
from microdrama.discovery.models import RankingEntry, RecsRun
from microdrama.housekeeping import run_once
from tests.support.rankings import genre_series, viewers, watched

HOUR = timedelta(hours=1)


def _watched_yesterday_and_today(db: Session) -> None:
    series = genre_series(db, "Midnight Heir", "revenge")
    for viewer in viewers(db, 3):
        watched(db, viewer, series, utcnow() - 50 * HOUR)
        watched(db, viewer, series, utcnow() - HOUR)
    db.commit()


def _days_stored(db: Session) -> list[date]:
    return list(db.scalars(select(RankingEntry.day).distinct().order_by(RankingEntry.day)))


def _count(db: Session, table: type) -> int:
    return db.scalar(select(func.count()).select_from(table)) or 0


# -- the command ------------------------------------------------------------------------------


@pytest.mark.usefixtures("cli_env")
def test_rankings_refresh_on_the_command_line_computes_the_day_asked(db: Session) -> None:
    _watched_yesterday_and_today(db)
    yesterday = utcnow().date() - timedelta(days=1)

    result = CliRunner().invoke(cli, ["rankings", "refresh", "--day", yesterday.isoformat()])

    assert result.exit_code == 0, result.output
    assert f"rankings of {yesterday} (and the day before, first)" in result.output
    assert _days_stored(db) == [yesterday - timedelta(days=1), yesterday]


@pytest.mark.usefixtures("cli_env")
def test_rankings_refresh_without_a_day_computes_today(db: Session) -> None:
    _watched_yesterday_and_today(db)

    result = CliRunner().invoke(cli, ["rankings", "refresh"])

    assert result.exit_code == 0, result.output
    assert f"rankings of {utcnow().date()}" in result.output
    assert utcnow().date() in _days_stored(db)


@pytest.mark.usefixtures("cli_env")
@pytest.mark.parametrize(
    ("day", "says"),
    [
        ("yesterday", "'yesterday' is not a day (YYYY-MM-DD)"),
        ("2026-02-30", "is not a day"),
        ((utcnow().date() + timedelta(days=2)).isoformat(), "has not begun"),
    ],
)
def test_rankings_refresh_refuses_a_day_that_is_not_one_or_has_not_begun(
    db: Session, day: str, says: str
) -> None:
    result = CliRunner().invoke(cli, ["rankings", "refresh", "--day", day])

    assert result.exit_code == 2
    assert says in result.output
    assert "Traceback" not in result.output
    assert _days_stored(db) == []


# -- housekeeping -----------------------------------------------------------------------------


def test_a_round_refreshes_todays_charts_when_missing_and_not_again_within_the_hour(
    db: Session, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    _watched_yesterday_and_today(db)

    first = run_once(factory=db_factory, settings=settings)
    second = run_once(factory=db_factory, settings=settings)

    assert first.rankings_refreshed and not second.rankings_refreshed
    assert utcnow().date() in _days_stored(db)


def test_a_round_refreshes_charts_computed_more_than_an_hour_ago(
    db: Session, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    _watched_yesterday_and_today(db)
    run_once(factory=db_factory, settings=settings)
    db.execute(update(RankingEntry).values(computed_at=utcnow() - 2 * HOUR))
    db.commit()

    chores = run_once(factory=db_factory, settings=settings)

    assert chores.rankings_refreshed
    latest = db.scalar(select(func.max(RankingEntry.computed_at)))
    assert latest is not None and utcnow() - latest < HOUR


def test_a_round_forgets_charts_older_than_the_days_kept(
    db: Session, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    series = genre_series(db, "Midnight Heir", "revenge")
    today = utcnow().date()
    kept_from = today - timedelta(days=settings.rankings_keep_days)
    for day in (kept_from - timedelta(days=30), kept_from - timedelta(days=1), kept_from):
        db.add(
            RankingEntry(
                day=day, chart="trending", period="daily", genre="", series_id=series.id,
                rank=1, score=1.0, computed_at=utcnow(),
            )
        )  # fmt: skip
    db.commit()

    chores = run_once(factory=db_factory, settings=settings)

    assert chores.ranking_entries_forgotten == 2
    assert _days_stored(db)[0] == kept_from


def test_a_round_trains_for_you_when_it_never_was_and_not_again_the_same_day(
    db: Session, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    _watched_yesterday_and_today(db)

    first = run_once(factory=db_factory, settings=settings)
    second = run_once(factory=db_factory, settings=settings)

    assert first.recs_trained and not second.recs_trained
    run = db.scalars(select(RecsRun)).one()
    assert (run.viewers, run.series) == (3, 1)


def test_a_round_retrains_for_you_once_its_last_training_is_older_than_the_setting(
    db: Session, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    settings.recs_retrain_hours = 6
    run_once(factory=db_factory, settings=settings)
    db.execute(update(RecsRun).values(trained_at=utcnow() - 5 * HOUR))
    db.commit()

    assert not run_once(factory=db_factory, settings=settings).recs_trained

    db.execute(update(RecsRun).values(trained_at=utcnow() - 7 * HOUR))
    db.commit()

    assert run_once(factory=db_factory, settings=settings).recs_trained
    assert _count(db, RecsRun) == 2
