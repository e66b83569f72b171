"""My list builders: a new episode coming out in a series, as the catalog stores a ready one
(no video: the rows a transcoded and approved episode leaves, its time out included)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from microdrama.catalog.models import Episode, EpisodeState, Series
from microdrama.db import utcnow
from microdrama.media.models import AssetStatus, MediaAsset


def new_episode(
    db: Session,
    series: Series,
    *,
    at: datetime | None = None,
    state: EpisodeState = EpisodeState.ready,
) -> Episode:
    """The series' next episode, out at `at` (now by default) when `state` is ready."""
    number = (
        db.scalar(select(func.max(Episode.number)).where(Episode.series_id == series.id)) or 0
    ) + 1
    key = f"assets/s{series.id}e{number}"
    asset = MediaAsset(
        owner_id=series.owner_id,
        source_key=f"{key}/source/in.mp4",
        status=AssetStatus.ready,
        duration_ms=30_000,
        master_playlist_key=f"{key}/hls/master.m3u8",
        poster_key=f"{key}/poster.jpg",
    )
    db.add(asset)
    db.flush()
    episode = Episode(
        series_id=series.id,
        number=number,
        media_asset_id=asset.id,
        duration_ms=30_000,
        state=state,
        created_at=at or utcnow(),
        published_at=(at or utcnow()) if state == EpisodeState.ready else None,
    )
    db.add(episode)
    db.flush()
    return episode
