"""Events at scale: on PostgreSQL a partition per day, made ahead and dropped once rolled up."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts.models import Account
from microdrama.analytics import partitions, service
from microdrama.analytics.dashboard import DateRange, series_dashboard
from microdrama.analytics.models import PlaybackEvent
from microdrama.catalog.models import Series
from microdrama.config import Settings
from microdrama.housekeeping import run_once
from tests.support.analytics import event
from tests.support.factories import make_series


def on_postgresql(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite keeps one table (test_sqlite_keeps_every_event_in_one_table)")


def ingest_on(db: Session, series: Series, day: date, viewer: str) -> None:
    """A viewer's view of episode 1 on `day`, sent as the player sends it (folded as stored)."""
    account = Account(display_name=viewer)
    db.add(account)
    db.flush()
    noon = datetime.combine(day, time(12), UTC)
    episode = series.episodes[0].id
    batch = [
        event(episode, "start", 0, occurred_at=noon.isoformat(), session_id=viewer),
        event(episode, "progress", 5_000, occurred_at=(noon + timedelta(seconds=5)).isoformat()),
        event(episode, "complete", 0, occurred_at=(noon + timedelta(seconds=30)).isoformat()),
    ]
    for sent in batch[1:]:
        sent["session_id"] = viewer
    prepared = service.prepare(db=db, account_id=account.id, raw_events=batch, now=noon)
    with service.batch_writer(db):
        service.store(db=db, batch=prepared)
        db.commit()


def import_without_rollup(db: Session, series: Series, day: date) -> None:
    """An event put straight into the table (a bulk import whose rollup is not rebuilt yet)."""
    account = Account(display_name="imported")
    db.add(account)
    db.flush()
    at = datetime.combine(day, time(9), UTC)
    db.add(
        PlaybackEvent(
            account_id=account.id, event_id="imported-1", kind="start", series_id=series.id,
            episode_id=series.episodes[0].id, session_id="import", position_ms=0,
            occurred_at=at, received_at=at,
        )
    )  # fmt: skip
    db.commit()


def partition_days(engine: Engine) -> set[date]:
    with engine.connect() as connection:
        return set(partitions.day_partitions(connection))


def events_on(db: Session, day: date) -> int:
    start = datetime.combine(day, time(), UTC)
    in_day = PlaybackEvent.occurred_at.between(start, start + timedelta(days=1))
    return db.scalar(select(func.count()).where(in_day)) or 0


def test_housekeeping_makes_the_coming_days_partitions_and_todays_events_land_in_today(
    engine: Engine, db: Session, db_factory: sessionmaker[Session], settings: Settings,
    client: TestClient,
) -> None:  # fmt: skip
    on_postgresql(engine)
    settings.events_partition_days_ahead = 10
    series = make_series(db, episodes=1)
    db.commit()

    run_once(factory=db_factory, settings=settings)

    today = datetime.now(UTC).date()
    coming = {today + timedelta(days=n) for n in range(11)}
    assert coming <= partition_days(engine)
    answer = client.post("/api/events", json={"events": [event(series.episodes[0].id, "start")]})
    assert answer.json()["accepted"] == 1
    where = db.scalar(text("SELECT tableoid::regclass::text FROM playback_events"))
    assert where == f"playback_events_{today:%Y%m%d}"


def test_a_rolled_up_day_past_retention_is_dropped_and_the_dashboard_shows_the_same(
    engine: Engine, db: Session
) -> None:
    on_postgresql(engine)
    series = make_series(db, episodes=2)
    db.commit()
    today = datetime.now(UTC).date()
    rolled_up, unrolled, recent = (today - timedelta(days=n) for n in (120, 100, 30))
    ingest_on(db, series, rolled_up, "ann")
    ingest_on(db, series, rolled_up, "bob")
    import_without_rollup(db, series, unrolled)
    ingest_on(db, series, recent, "cat")
    before = series_dashboard(db=db, series=series).model_dump()
    window = DateRange(first_day=rolled_up, last_day=rolled_up)
    day_before = series_dashboard(db=db, series=series, period=window).model_dump()

    chores = partitions.maintain(engine, days_ahead=7, retention_days=90)

    # The old days had no partition: the default one took their events, and they were moved.
    assert {rolled_up, unrolled, recent} - set(chores.created) == set()
    assert chores.dropped == [rolled_up] and chores.events_dropped == 6
    assert chores.kept_unrolled == [unrolled]
    assert rolled_up not in partition_days(engine)
    assert (events_on(db, rolled_up), events_on(db, unrolled), events_on(db, recent)) == (0, 1, 3)
    assert db.scalar(text("SELECT count(*) FROM playback_events_default")) == 0
    assert series_dashboard(db=db, series=series).model_dump() == before
    assert series_dashboard(db=db, series=series, period=window).model_dump() == day_before

    # Rebuilding the rollup keeps the dropped day's views, and rolls up the imported day...
    service.rebuild_views(db=db)
    db.commit()
    after = series_dashboard(db=db, series=series, period=window).model_dump()
    assert after == day_before
    assert series_dashboard(db=db, series=series).model_dump()["views"] == before["views"] + 1
    # ...which the next round can then drop.
    assert partitions.maintain(engine, days_ahead=7, retention_days=90).dropped == [unrolled]


def test_two_housekeepers_at_once_share_the_work(engine: Engine, db: Session) -> None:
    on_postgresql(engine)
    series = make_series(db, episodes=1)
    db.commit()
    today = datetime.now(UTC).date()
    old = today - timedelta(days=200)
    ingest_on(db, series, old, "dee")
    start = threading.Barrier(2)
    results: list[partitions.PartitionChores] = []
    errors: list[BaseException] = []

    def housekeeper() -> None:
        start.wait()
        try:
            results.append(partitions.maintain(engine, days_ahead=40, retention_days=90))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=housekeeper) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    first, second = results
    assert set(first.created).isdisjoint(second.created)
    assert first.dropped + second.dropped == [old]
    assert {today + timedelta(days=n) for n in range(41)} <= partition_days(engine)
    assert old not in partition_days(engine)


def test_sqlite_keeps_every_event_in_one_table(
    engine: Engine, db: Session, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL partitions the events (the tests above)")
    series = make_series(db, episodes=1)
    db.commit()
    long_ago = datetime.now(UTC).date() - timedelta(days=200)
    ingest_on(db, series, long_ago, "eve")

    chores = run_once(factory=db_factory, settings=settings)

    assert (chores.event_partitions_made, chores.event_days_dropped) == (0, 0)
    assert events_on(db, long_ago) == 3
    assert series_dashboard(db=db, series=series).views == 1
