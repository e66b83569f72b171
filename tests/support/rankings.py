"""Rankings builders: series of a genre, viewers, and what they watched and unlocked at a
given time, written as the rows the rankings read (episode views, unlocks)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from microdrama.accounts.models import Account
from microdrama.analytics.models import EpisodeView
from microdrama.catalog.models import Series
from microdrama.paywall.models import Unlock, UnlockMethod
from tests.support.factories import make_series


def midnight_after(day: date) -> datetime:
    """Where the windows of a past day's charts end."""
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=UTC)


def genre_series(db: Session, title: str, genre: str = "romance", *, episodes: int = 6) -> Series:
    series = make_series(db, title=title, episodes=episodes, free_episodes=2)
    series.genre = genre
    db.flush()
    return series


def viewers(db: Session, count: int) -> list[Account]:
    accounts = [Account(display_name=f"Viewer {n}") for n in range(count)]
    db.add_all(accounts)
    db.flush()
    return accounts


def watched(
    db: Session,
    viewer: Account,
    series: Series,
    at: datetime,
    *,
    episodes: int = 1,
    completed: bool = True,
    furthest_ms: int = 30_000,
) -> None:
    """The viewer played the first `episodes` episodes at `at`, in one playback session."""
    session_id = uuid.uuid4().hex
    for episode in series.episodes[:episodes]:
        db.add(
            EpisodeView(
                account_id=viewer.id,
                session_id=session_id,
                episode_id=episode.id,
                series_id=series.id,
                started_at=at,
                last_at=at,
                played=True,
                furthest_ms=furthest_ms,
                completed=completed,
            )
        )
    db.flush()


def unlocked(
    db: Session, viewer: Account, series: Series, at: datetime, *, episodes: int = 1
) -> list[Unlock]:
    """The viewer unlocked the first `episodes` locked episodes at `at`."""
    locked = [e for e in series.episodes if e.number > series.free_episodes][:episodes]
    rows = [
        Unlock(
            account_id=viewer.id,
            episode_id=e.id,
            series_id=series.id,
            method=UnlockMethod.coins,
            price_coins=series.episode_price_coins,
            created_at=at,
        )
        for e in locked
    ]
    db.add_all(rows)
    db.flush()
    return rows
