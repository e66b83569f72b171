"""My list as a viewer keeps it: following is idempotent, the series with the newest episode
comes first, a badge appears when a followed series publishes an episode and clears when the
viewer opens the series, and unfollowing takes it off."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from microdrama.catalog.models import Episode, EpisodeState, Series, SeriesStatus
from microdrama.config import Settings
from microdrama.db import utcnow
from microdrama.discovery import my_list
from microdrama.discovery.models import SeriesFollow
from microdrama.errors import NotFound
from microdrama.media.models import AssetStatus, MediaAsset
from microdrama.storage import LocalStorage
from microdrama.studio import review
from tests.support.discovery import make_viewer
from tests.support.factories import make_series
from tests.support.my_list import new_episode


@pytest.fixture
def storage(settings: Settings) -> LocalStorage:
    return LocalStorage(settings.media_dir, settings.media_url_prefix)


def _out_days_ago(db: Session, title: str, days: int) -> Series:
    """A series whose three episodes came out with it, `days` days ago."""
    series = make_series(db, title=title, episodes=3)
    series.published_at = utcnow() - timedelta(days=days)
    for episode in series.episodes:
        episode.created_at = series.published_at - timedelta(hours=1)
        episode.published_at = series.published_at
    db.flush()
    return series


def _titles(db: Session, storage: LocalStorage, account_id: int) -> list[str]:
    return [e.title for e in my_list.entries(db, account_id, storage=storage)]


def test_following_twice_keeps_one_entry(db: Session, storage: LocalStorage) -> None:
    viewer = make_viewer(db)
    series = _out_days_ago(db, "Contract Bride", 2)

    my_list.follow(db, viewer.id, series.id)
    my_list.follow(db, viewer.id, series.id)

    [entry] = my_list.entries(db, viewer.id, storage=storage)
    assert (entry.series_id, entry.title, entry.episodes_out, entry.new_episodes) == (
        series.id,
        "Contract Bride",
        3,
        0,
    )
    assert entry.first_episode_id == series.episodes[0].id
    assert entry.poster_url and entry.poster_url.endswith("poster.jpg")
    assert entry.free_episodes == 2
    assert entry.latest_episode_at == series.published_at
    assert db.query(SeriesFollow).count() == 1
    assert my_list.is_following(db, viewer.id, series.id)


def test_the_series_with_the_newest_episode_comes_first(db: Session, storage: LocalStorage) -> None:
    viewer = make_viewer(db)
    oldest = _out_days_ago(db, "Oldest", 3)
    middle = _out_days_ago(db, "Middle", 2)
    newest = _out_days_ago(db, "Newest", 1)
    for series in (newest, oldest, middle):
        my_list.follow(db, viewer.id, series.id)
    assert _titles(db, storage, viewer.id) == ["Newest", "Middle", "Oldest"]

    new_episode(db, oldest)

    assert _titles(db, storage, viewer.id) == ["Oldest", "Newest", "Middle"]
    assert [e.title for e in my_list.entries(db, viewer.id, storage=storage, limit=1)] == ["Oldest"]


def test_a_new_episode_shows_a_badge_until_the_viewer_opens_the_series(
    db: Session, storage: LocalStorage
) -> None:
    viewer = make_viewer(db)
    followed = _out_days_ago(db, "Followed", 2)
    other = _out_days_ago(db, "Not followed", 2)
    my_list.follow(db, viewer.id, followed.id)
    assert my_list.with_new_episodes(db, viewer.id) == 0

    # Neither an episode waiting for an operator nor one of a series not followed counts.
    waiting = new_episode(db, followed, state=EpisodeState.in_review)
    new_episode(db, other)
    assert my_list.with_new_episodes(db, viewer.id) == 0

    waiting.state = EpisodeState.ready
    new_episode(db, followed)
    db.flush()

    [entry] = my_list.entries(db, viewer.id, storage=storage)
    assert (entry.episodes_out, entry.new_episodes) == (5, 2)
    assert my_list.with_new_episodes(db, viewer.id) == 1

    my_list.mark_seen(db, viewer.id, other.id)  # not followed: nothing happens
    my_list.mark_seen(db, viewer.id, followed.id)

    [entry] = my_list.entries(db, viewer.id, storage=storage)
    assert entry.new_episodes == 0
    assert my_list.with_new_episodes(db, viewer.id) == 0
    assert my_list.followed_ids(db, viewer.id, [followed.id, other.id]) == {followed.id}


def test_unfollowing_takes_the_series_off_once(db: Session, storage: LocalStorage) -> None:
    viewer = make_viewer(db)
    kept = _out_days_ago(db, "Kept", 1)
    dropped = _out_days_ago(db, "Dropped", 2)
    my_list.follow(db, viewer.id, kept.id)
    my_list.follow(db, viewer.id, dropped.id)

    my_list.unfollow(db, viewer.id, dropped.id)
    my_list.unfollow(db, viewer.id, dropped.id)

    assert _titles(db, storage, viewer.id) == ["Kept"]
    assert not my_list.is_following(db, viewer.id, dropped.id)


def test_only_series_viewers_can_watch_can_be_followed(db: Session, storage: LocalStorage) -> None:
    viewer = make_viewer(db)
    draft = make_series(db, title="Draft", published=False)
    scheduled = make_series(db, title="Scheduled")
    scheduled.published_at = utcnow() + timedelta(days=1)
    nothing_ready = make_series(db, title="Transcoding", ready=0)
    db.flush()

    for series_id in (draft.id, scheduled.id, nothing_ready.id, 999_999):
        with pytest.raises(NotFound):
            my_list.follow(db, viewer.id, series_id)
        with pytest.raises(NotFound):
            my_list.unfollow(db, viewer.id, series_id)
    assert my_list.entries(db, viewer.id, storage=storage) == []


def test_a_followed_series_taken_off_the_feed_leaves_the_list(
    db: Session, storage: LocalStorage
) -> None:
    viewer = make_viewer(db)
    series = _out_days_ago(db, "Withdrawn", 1)
    my_list.follow(db, viewer.id, series.id)

    series.status = SeriesStatus.draft
    db.flush()

    assert my_list.entries(db, viewer.id, storage=storage) == []
    assert my_list.with_new_episodes(db, viewer.id) == 0
    my_list.unfollow(db, viewer.id, series.id)  # still on the list: taken off without a 404
    assert not my_list.is_following(db, viewer.id, series.id)


def _uploaded_days_ago(db: Session, series: Series, days: int) -> Episode:
    """A new episode uploaded and transcoded `days` ago, waiting for an operator since."""
    return new_episode(db, series, at=utcnow() - timedelta(days=days), state=EpisodeState.in_review)


def test_an_episode_approved_days_after_its_upload_brings_its_series_to_the_top(
    db: Session, storage: LocalStorage
) -> None:
    viewer = make_viewer(db)
    slow = _out_days_ago(db, "Slow Review", 6)
    waiting = _uploaded_days_ago(db, slow, 5)
    recent = _out_days_ago(db, "Recent", 1)
    for series in (slow, recent):
        my_list.follow(db, viewer.id, series.id)
    assert _titles(db, storage, viewer.id) == ["Recent", "Slow Review"]

    review.approve_episode(db=db, storage=storage, episode_id=waiting.id)

    first, second = my_list.entries(db, viewer.id, storage=storage)
    assert (first.title, first.episodes_out, first.new_episodes) == ("Slow Review", 4, 1)
    assert first.latest_episode_at > recent.published_at  # approved today, uploaded 5 days ago
    assert (second.title, second.new_episodes) == ("Recent", 0)
    assert my_list.with_new_episodes(db, viewer.id) == 1


def test_a_replacement_video_neither_moves_the_series_nor_raises_its_badge(
    db: Session, storage: LocalStorage
) -> None:
    viewer = make_viewer(db)
    older = _out_days_ago(db, "Older", 3)
    newer = _out_days_ago(db, "Newer", 1)
    for series in (older, newer):
        my_list.follow(db, viewer.id, series.id)
    live = older.episodes[0]
    came_out = live.published_at
    live.replacement_asset = MediaAsset(
        owner_id=older.owner_id,
        source_key=f"assets/s{older.id}new/source/in.mp4",
        status=AssetStatus.ready,
        duration_ms=45_000,
        master_playlist_key=f"assets/s{older.id}new/hls/master.m3u8",
    )
    db.flush()

    review.approve_episode(db=db, storage=storage, episode_id=live.id)

    assert (live.duration_ms, live.published_at) == (45_000, came_out)  # the new video plays
    assert _titles(db, storage, viewer.id) == ["Newer", "Older"]
    assert [e.new_episodes for e in my_list.entries(db, viewer.id, storage=storage)] == [0, 0]
    assert my_list.with_new_episodes(db, viewer.id) == 0
