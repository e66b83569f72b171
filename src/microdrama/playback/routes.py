"""Playback API: save the position, read history, continue watching."""

from __future__ import annotations

from fastapi import APIRouter

from microdrama.accounts.deps import CurrentViewer, CurrentViewerId
from microdrama.db import DbSession
from microdrama.playback import service
from microdrama.playback.schemas import (
    ContinueWatching,
    ProgressRead,
    ProgressUpdate,
    SeriesProgress,
)
from microdrama.storage import AppStorage
from microdrama.types import PathId

router = APIRouter(prefix="/api", tags=["playback"])


@router.post("/episodes/{episode_id}/progress", response_model=ProgressRead)
def save_progress(
    episode_id: PathId, update: ProgressUpdate, db: DbSession, viewer_id: CurrentViewerId
) -> ProgressRead:
    """Save the viewer's position (the player calls this every few seconds and on page hide)."""
    return service.save_progress(db=db, account_id=viewer_id, episode_id=episode_id, update=update)


@router.get("/series/{series_id}/progress", response_model=SeriesProgress)
def series_progress(series_id: PathId, db: DbSession, viewer: CurrentViewer) -> SeriesProgress:
    """Watched state and saved position of each episode, for the series page's grid."""
    episodes = service.series_progress(db=db, viewer=viewer, series_id=series_id)
    return SeriesProgress(series_id=series_id, episodes=episodes)


@router.get("/me/continue-watching", response_model=ContinueWatching)
def continue_watching(
    db: DbSession, storage: AppStorage, viewer: CurrentViewer
) -> ContinueWatching:
    """Series the viewer started, most recent first, with the episode and second to resume at."""
    items = service.continue_watching(db=db, storage=storage, viewer=viewer)
    return ContinueWatching(items=items)
