"""When an episode comes out (`Episode.published_at`): with its series when the series is
published (now or scheduled), when an operator approves it in a published series, never when
it is only transcoded in a draft nor when a live episode's video is replaced; and the migration
dates the episodes viewers could already play."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.orm import Session

from microdrama.catalog import videos
from microdrama.catalog.models import Episode, EpisodeState, Series, SeriesStatus
from microdrama.config import Settings
from microdrama.db import make_engine, utcnow
from microdrama.media.models import AssetStatus
from microdrama.storage import LocalStorage
from microdrama.studio import review
from tests.support.factories import make_series
from tests.support.my_list import new_episode
from tests.test_migrations import alembic_config, fresh_database

BEFORE_PUBLISHED_AT = "e7f1a2b3c401"


@pytest.fixture
def storage(settings: Settings) -> LocalStorage:
    return LocalStorage(settings.media_dir, settings.media_url_prefix)


def _in_review(db: Session, *, episodes: int = 2, ready: int | None = None) -> Series:
    series = make_series(db, published=False, episodes=episodes, ready=ready)
    series.status = SeriesStatus.in_review
    db.flush()
    return series


def _transcoded(db: Session, episode: Episode) -> None:
    """The episode's video finished transcoding (the worker's outcome hook)."""
    asset = episode.media_asset
    assert asset is not None
    asset.status = AssetStatus.ready
    asset.duration_ms = 30_000
    db.flush()
    videos.sync_episodes_with_asset(db=db, asset=asset)
    db.flush()


def test_a_drafts_episodes_come_out_with_the_series(db: Session) -> None:
    series = _in_review(db, episodes=2, ready=1)
    first, second = series.episodes
    _transcoded(db, second)  # a draft's episode is ready at once, but nobody can play it
    assert (second.state, second.published_at) == (EpisodeState.ready, None)

    approved = review.approve(db=db, series_id=series.id)

    assert approved.published_at is not None
    assert first.published_at == second.published_at == approved.published_at


def test_a_scheduled_series_episodes_come_out_at_its_time_even_if_approved_before(
    db: Session, storage: LocalStorage
) -> None:
    series = _in_review(db, episodes=1)
    at = (utcnow() + timedelta(days=2)).replace(microsecond=0)
    review.approve(db=db, series_id=series.id, publish_at=at)
    [first] = series.episodes
    assert first.published_at == at

    early = new_episode(db, series, state=EpisodeState.in_review)
    review.approve_episode(db=db, storage=storage, episode_id=early.id)

    assert (early.state, early.published_at) == (EpisodeState.ready, at)


def test_an_episode_comes_out_when_approved_not_when_uploaded_or_transcoded(
    db: Session, storage: LocalStorage
) -> None:
    series = make_series(db, episodes=2, ready=1)
    waiting = series.episodes[1]

    _transcoded(db, waiting)  # a published series' new episode waits for an operator
    assert (waiting.state, waiting.published_at) == (EpisodeState.in_review, None)
    before = utcnow()
    review.approve_episode(db=db, storage=storage, episode_id=waiting.id)

    assert waiting.state == EpisodeState.ready
    assert waiting.published_at is not None and waiting.published_at >= before


def test_a_refused_episode_comes_out_when_its_new_video_is_approved(
    db: Session, storage: LocalStorage
) -> None:
    series = make_series(db, episodes=1)
    refused = new_episode(db, series, state=EpisodeState.in_review)
    review.reject_episode(db=db, storage=storage, episode_id=refused.id, reason="Too dark.")
    assert (refused.state, refused.published_at) == (EpisodeState.rejected, None)
    fresh = new_episode(db, series, state=EpisodeState.processing).media_asset
    refused.replacement_asset = fresh
    db.flush()

    before = utcnow()
    review.approve_episode(db=db, storage=storage, episode_id=refused.id)

    assert refused.state == EpisodeState.ready
    assert refused.published_at is not None and refused.published_at >= before


def test_the_migration_dates_the_episodes_viewers_can_play(
    database_url: str, tmp_path: Path
) -> None:
    long_ago, yesterday = "2026-11-01 10:00:00", "2026-12-04 09:30:00"
    with fresh_database(database_url, tmp_path) as url:
        scratch = make_engine(url)
        config = alembic_config()
        with scratch.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, BEFORE_PUBLISHED_AT)
            connection.execute(
                text("INSERT INTO accounts (id, display_name, role, is_guest, created_at) "
                     "VALUES (1, 'Nova', 'creator', false, :t)"),
                {"t": long_ago},
            )  # fmt: skip
            for series_id, status, published in (
                (1, "published", long_ago),
                (2, "draft", None),
            ):
                connection.execute(
                    text("INSERT INTO series (id, title, synopsis, genre, tags, language, "
                         "content_warnings, owner_id, status, free_episodes, "
                         "episode_price_coins, accent_color, created_at, published_at) "
                         "VALUES (:id, 'S', '', 'drama', '[]', 'en', '[]', 1, :status, 1, 60, "
                         "'#222222', :t, :published)"),
                    {"id": series_id, "status": status, "t": long_ago, "published": published},
                )  # fmt: skip
            for episode_id, series_id, number, state, created in (
                (1, 1, 1, "ready", long_ago),  # out with the series
                (2, 1, 2, "ready", yesterday),  # uploaded after it: out then
                (3, 1, 3, "in_review", yesterday),
                (4, 2, 1, "ready", yesterday),  # a draft's
            ):
                connection.execute(
                    text("INSERT INTO episodes (id, series_id, number, title, duration_ms, "
                         "state, created_at) VALUES (:id, :series, :number, '', 1000, :state, "
                         ":t)"),
                    {"id": episode_id, "series": series_id, "number": number, "state": state,
                     "t": created},
                )  # fmt: skip
        with scratch.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
        with Session(scratch) as db:
            dated = {e.id: e.published_at for e in db.query(Episode).order_by(Episode.id)}
            created = {e.id: e.created_at for e in db.query(Episode)}
            series = db.get(Series, 1)
            assert series is not None
            assert dated == {1: series.published_at, 2: created[2], 3: None, 4: None}
        scratch.dispose()
