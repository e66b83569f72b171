"""Playback service: save positions, read a viewer's history, build "continue watching"."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from microdrama.accounts.models import Account
from microdrama.catalog import service as catalog
from microdrama.catalog.models import EpisodeState
from microdrama.db import utcnow
from microdrama.errors import NotFound
from microdrama.media.storage import Storage
from microdrama.playback.models import WatchProgress
from microdrama.playback.schemas import ContinueItem, ProgressRead, ProgressUpdate

# Within this much of the end an episode counts as watched (end cards, rounding).
COMPLETE_WITHIN_MS = 1500


def save_progress(
    *, db: Session, viewer: Account, episode_id: int, update: ProgressUpdate
) -> ProgressRead:
    """Remember where the viewer is in an episode (clamped to its length)."""
    episode = catalog.get_episode(db=db, episode_id=episode_id)
    if episode is None or episode.state != EpisodeState.ready:
        raise NotFound("No such episode.", episode_id=episode_id)
    position_ms = min(update.position_ms, episode.duration_ms)
    completed = update.completed or position_ms >= episode.duration_ms - COMPLETE_WITHIN_MS
    for _attempt in range(2):
        row = db.get(WatchProgress, (viewer.id, episode.id))
        if row is None:
            try:
                with db.begin_nested():
                    row = WatchProgress(
                        account_id=viewer.id, episode_id=episode.id, series_id=episode.series_id
                    )
                    db.add(row)
            except IntegrityError:  # a concurrent save created it first
                continue
        # Re-watching a finished episode keeps it marked watched.
        row.completed = row.completed or completed
        row.position_ms = position_ms
        row.updated_at = utcnow()
        db.flush()
        return ProgressRead(
            episode_id=episode.id, position_ms=row.position_ms, completed=row.completed
        )
    raise RuntimeError("unreachable: progress row vanished twice")


def series_progress(*, db: Session, viewer: Account, series_id: int) -> list[ProgressRead]:
    """The viewer's position and watched state in each episode of a series."""
    rows = db.scalars(
        select(WatchProgress).where(
            WatchProgress.account_id == viewer.id, WatchProgress.series_id == series_id
        )
    ).all()
    return [
        ProgressRead(episode_id=r.episode_id, position_ms=r.position_ms, completed=r.completed)
        for r in rows
    ]


def continue_watching(
    *, db: Session, storage: Storage, viewer: Account, limit: int = 10
) -> list[ContinueItem]:
    """Per series, where to pick up: the last episode touched, or the one after it if finished."""
    rows = db.scalars(
        select(WatchProgress)
        .where(WatchProgress.account_id == viewer.id)
        .order_by(WatchProgress.updated_at.desc())
        .limit(200)
    ).all()
    items: list[ContinueItem] = []
    seen: set[int] = set()
    for row in rows:
        if row.series_id in seen or len(items) >= limit:
            continue
        seen.add(row.series_id)
        try:
            series = catalog.get_visible(db=db, series_id=row.series_id, viewer=viewer)
        except NotFound:
            continue
        read = catalog.series_read(storage=storage, series=series)
        current = next((e for e in read.episodes if e.id == row.episode_id), None)
        if current is None:
            continue
        position_ms = row.position_ms
        if row.completed:
            following = next((e for e in read.episodes if e.id == current.next_episode_id), None)
            if following is None:
                continue  # finished the whole series
            current, position_ms = following, 0
        items.append(
            ContinueItem(
                series=read,
                episode_id=current.id,
                episode_number=current.number,
                position_ms=position_ms,
                duration_ms=current.duration_ms,
            )
        )
    return items
