"""Discovery builders: viewers, series of a genre, and what a viewer did with a series, written
as the rows the app keeps (episode views, watch progress), without going through the player."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy.orm import Session

from microdrama.accounts.models import Account
from microdrama.analytics.models import EpisodeView
from microdrama.catalog.models import Series
from microdrama.db import utcnow
from microdrama.playback.models import WatchProgress
from tests.support.factories import make_series


def make_viewer(db: Session, name: str = "Viewer") -> Account:
    viewer = Account(display_name=name)
    db.add(viewer)
    db.flush()
    return viewer


def series_of(
    db: Session, genre: str, title: str, *, episodes: int = 3, days_old: int = 0
) -> Series:
    """A published series of this genre, published `days_old` days ago."""
    series = make_series(db, title=title, episodes=episodes)
    series.genre = genre
    series.published_at = utcnow() - timedelta(days=days_old)
    for episode in series.episodes:
        episode.published_at = series.published_at
    db.flush()
    return series


def _view(db: Session, viewer: Account, episode_id: int, series: Series, **facts: object) -> None:
    now = utcnow() - timedelta(hours=1)
    db.add(
        EpisodeView(
            account_id=viewer.id,
            session_id=uuid.uuid4().hex,
            episode_id=episode_id,
            series_id=series.id,
            started_at=now,
            last_at=now,
            played=True,
            **facts,
        )
    )


def binged(db: Session, viewer: Account, series: Series, episodes: int | None = None) -> None:
    """The viewer watched the first `episodes` episodes (default: all) to the end."""
    for episode in series.episodes[: episodes if episodes is not None else len(series.episodes)]:
        _view(db, viewer, episode.id, series, furthest_ms=episode.duration_ms, completed=True)
        db.add(
            WatchProgress(
                account_id=viewer.id,
                episode_id=episode.id,
                series_id=series.id,
                position_ms=episode.duration_ms,
                completed=True,
            )
        )
    db.flush()


def swiped_away(db: Session, viewer: Account, series: Series, at_ms: int = 1_200) -> None:
    """The viewer swiped the first episode away after `at_ms`."""
    _view(db, viewer, series.episodes[0].id, series, furthest_ms=at_ms, swiped_away=True)
    db.flush()
