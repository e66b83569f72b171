"""Playback service: save positions, read a viewer's history, build "continue watching"."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from microdrama.accounts.models import Account
from microdrama.catalog import service as catalog
from microdrama.catalog.models import EpisodeState
from microdrama.catalog.schemas import SeriesRead
from microdrama.db import utcnow
from microdrama.errors import NotFound
from microdrama.playback.models import WatchProgress
from microdrama.playback.schemas import ContinueItem, ProgressRead, ProgressUpdate
from microdrama.storage import Storage

# Within this much of the end an episode counts as watched (end cards, rounding).
COMPLETE_WITHIN_MS = 1500


def save_progress(
    *, db: Session, account_id: int, episode_id: int, update: ProgressUpdate
) -> ProgressRead:
    """Remember where the viewer (`account_id`) is in an episode (clamped to its length)."""
    episode = catalog.get_episode(db=db, episode_id=episode_id)
    if episode is None or episode.state != EpisodeState.ready:
        raise NotFound("No such episode.", episode_id=episode_id)
    position_ms = min(update.position_ms, episode.duration_ms)
    completed = update.completed or position_ms >= episode.duration_ms - COMPLETE_WITHIN_MS
    for _attempt in range(2):
        row = db.get(WatchProgress, (account_id, episode.id))
        if row is None:
            try:
                with db.begin_nested():
                    row = WatchProgress(
                        account_id=account_id, episode_id=episode.id, series_id=episode.series_id
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
    """Per series, most recent first, where the binge stopped (not where it was last touched)."""
    rows = db.scalars(
        select(WatchProgress)
        .where(WatchProgress.account_id == viewer.id)
        .order_by(WatchProgress.updated_at.desc())
        .limit(200)
    ).all()
    by_series: dict[int, list[WatchProgress]] = {}
    for row in rows:  # dicts keep insertion order: the most recently watched series first
        by_series.setdefault(row.series_id, []).append(row)
    items: list[ContinueItem] = []
    for series_id, series_rows in by_series.items():
        if len(items) >= limit:
            break
        try:
            series = catalog.get_visible(db=db, series_id=series_id, viewer=viewer)
        except NotFound:
            continue
        read = catalog.series_read(storage=storage, series=series)
        item = _resume_point(read, series_rows)
        if item is not None:
            items.append(item)
    return items


def _resume_point(read: SeriesRead, rows: list[WatchProgress]) -> ContinueItem | None:
    """The furthest episode with progress, or the one after it when that one is finished.

    Rewatching an early episode must not pull the row back to it: a viewer who stopped at
    episode 6 and looked at episode 1 again still wants episode 6 offered.
    """
    order = {e.id: i for i, e in enumerate(read.episodes)}
    watched = [r for r in rows if r.episode_id in order]
    if not watched:
        return None
    furthest = max(watched, key=lambda r: order[r.episode_id])
    index, position_ms = order[furthest.episode_id], furthest.position_ms
    if furthest.completed:
        index, position_ms = index + 1, 0
        if index >= len(read.episodes):
            return None  # finished the whole series
    episode = read.episodes[index]
    return ContinueItem(
        series=read,
        episode_id=episode.id,
        episode_number=episode.number,
        position_ms=position_ms,
        duration_ms=episode.duration_ms,
    )
