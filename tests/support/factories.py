"""Small builders for catalog rows (API tests that need no real video use these)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from microdrama.accounts.models import Account, Role
from microdrama.catalog.models import Episode, EpisodeState, Series, SeriesStatus
from microdrama.db import utcnow
from microdrama.media.models import AssetStatus, MediaAsset


def make_creator(db: Session, name: str = "Studio Nova") -> Account:
    account = Account(display_name=name, role=Role.creator, is_guest=False)
    db.add(account)
    db.flush()
    return account


def make_series(
    db: Session,
    *,
    title: str = "Contract Bride",
    episodes: int = 3,
    duration_ms: int = 30_000,
    published: bool = True,
    free_episodes: int = 2,
    owner: Account | None = None,
    ready: int | None = None,
) -> Series:
    """A series whose first `ready` episodes (default: all) are transcoded and playable."""
    owner = owner or make_creator(db)
    series = Series(
        title=title,
        owner_id=owner.id,
        genre="romance",
        free_episodes=free_episodes,
        status=SeriesStatus.published if published else SeriesStatus.draft,
        published_at=utcnow() if published else None,
    )
    db.add(series)
    db.flush()
    ready = episodes if ready is None else ready
    for number in range(1, episodes + 1):
        is_ready = number <= ready
        asset = MediaAsset(
            owner_id=owner.id,
            source_key=f"assets/s{series.id}e{number}/source/in.mp4",
            status=AssetStatus.ready if is_ready else AssetStatus.processing,
            duration_ms=duration_ms if is_ready else 0,
            master_playlist_key=f"assets/s{series.id}e{number}/hls/master.m3u8"
            if is_ready
            else None,
            poster_key=f"assets/s{series.id}e{number}/poster.jpg" if is_ready else None,
        )
        db.add(asset)
        db.flush()
        db.add(
            Episode(
                series_id=series.id,
                number=number,
                media_asset_id=asset.id,
                duration_ms=duration_ms if is_ready else 0,
                state=EpisodeState.ready if is_ready else EpisodeState.processing,
                # Out with the series (catalog.service.release_with_series).
                published_at=series.published_at if is_ready else None,
            )
        )
    db.flush()
    return series
