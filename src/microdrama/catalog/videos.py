"""Episodes and their videos: upload an episode, carry a transcode's outcome onto the episodes
that use the asset, show an asset with its episode's URLs, delete videos no episode uses.

The catalog sits above media: media stores and transcodes assets and knows no episode; this
module is where the two meet (media calls `sync_episodes_with_asset` through the listener
registered at the bottom).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from microdrama.accounts.models import Account
from microdrama.catalog.models import Episode, EpisodeState, Series, SeriesStatus
from microdrama.catalog.service import (
    add_episode,
    episode_master_url,
    make_ready,
    take_replacement,
)
from microdrama.config import Settings
from microdrama.db import after_commit, utcnow
from microdrama.errors import Conflict
from microdrama.media import service as media
from microdrama.media.models import AssetStatus, MediaAsset, TranscodeJob
from microdrama.media.protection import episode_rendition_url
from microdrama.media.schemas import AssetRead, RenditionRead, ThumbnailRead
from microdrama.storage import Storage
from microdrama.types import read_row


def upload_episode(
    *,
    db: Session,
    storage: Storage,
    settings: Settings,
    series: Series,
    owner: Account,
    filename: str,
    source: Path | BinaryIO,
    title: str = "",
    number: int | None = None,
    replaces: Episode | None = None,
) -> tuple[Episode, MediaAsset, TranscodeJob]:
    """Ingest a source as the series' next (or given) episode, or as the new video of the
    series' episode it `replaces` (which keeps its title and number); it plays once transcoded.
    """
    asset, job = media.ingest_upload(
        db=db, storage=storage, settings=settings, owner=owner, filename=filename, source=source
    )
    if replaces is not None:
        # The current video plays on until this one is ready (and, in a published series,
        # approved): see sync_episodes_with_asset.
        replaces.replacement_asset_id = asset.id
        db.flush()
        return replaces, asset, job
    try:
        with db.begin_nested():
            episode = add_episode(
                db=db, series=series, media_asset_id=asset.id, title=title, number=number
            )
    except IntegrityError as exc:
        media.discard_asset_files(storage=storage, asset_id=asset.id)
        raise Conflict(
            f"Episode {number} already exists in this series.", episode_number=number
        ) from exc
    except BaseException:
        media.discard_asset_files(storage=storage, asset_id=asset.id)
        raise
    return episode, asset, job


def delete_if_unused(*, db: Session, storage: Storage, asset: MediaAsset) -> bool:
    """Delete an asset no episode uses (as its video or as a replacement) any more: its jobs and
    its row now, its files once that is committed."""
    uses = (Episode.media_asset_id == asset.id) | (Episode.replacement_asset_id == asset.id)
    if db.scalar(select(func.count()).select_from(Episode).where(uses)):
        return False
    # Its jobs go first (a worker holding one gives it up when it finds it gone).
    db.execute(delete(TranscodeJob).where(TranscodeJob.asset_id == asset.id))
    db.expire(asset, ["jobs"])
    db.delete(asset)
    db.flush()
    after_commit(db, partial(media.discard_asset_files, storage=storage, asset_id=asset.id))
    return True


# A replaced video is kept this long after it was made before housekeeping deletes it: room for
# a transaction in flight that is about to use it.
UNUSED_ASSET_GRACE = timedelta(days=1)


def purge_unused_assets(*, db: Session, storage: Storage, now: datetime | None = None) -> int:
    """Delete the videos no episode uses any more (a draft's video replaced when its
    replacement finished transcoding, leftovers of a crash), older than a day: housekeeping."""
    cutoff = (now or utcnow()) - UNUSED_ASSET_GRACE
    in_use = select(Episode.id).where(
        (Episode.media_asset_id == MediaAsset.id) | (Episode.replacement_asset_id == MediaAsset.id)
    )
    unused = db.scalars(
        select(MediaAsset).where(MediaAsset.created_at < cutoff, ~in_use.exists())
    ).all()
    return sum(delete_if_unused(db=db, storage=storage, asset=asset) for asset in unused)


def asset_read(*, db: Session, storage: Storage, asset: MediaAsset) -> AssetRead:
    """The asset as the API shows it, with URLs instead of storage keys.

    Playlists are only served through an episode's gated routes, so their URLs are those of
    the (first) episode that uses the asset; an asset on no episode has none.
    """
    latest_job = asset.jobs[-1] if asset.jobs else None
    episode_id = db.scalar(
        select(Episode.id).where(Episode.media_asset_id == asset.id).order_by(Episode.id).limit(1)
    )
    playable = episode_id is not None and asset.master_playlist_key is not None
    return read_row(
        AssetRead,
        asset,
        master_playlist_url=episode_master_url(episode_id) if playable and episode_id else None,
        poster_url=storage.url(asset.poster_key) if asset.poster_key else None,
        renditions=[
            RenditionRead(
                width=r["width"],
                height=r["height"],
                bandwidth=r["bandwidth"],
                playlist_url=(
                    episode_rendition_url(episode_id, PurePosixPath(r["playlist_key"]).parent.name)
                    if playable and episode_id
                    else None
                ),
            )
            for r in asset.renditions
        ],
        thumbnails=[
            ThumbnailRead(time_ms=t["time_ms"], url=storage.url(t["key"])) for t in asset.thumbnails
        ],
        job=media.job_read(job=latest_job) if latest_job else None,
    )


def sync_episodes_with_asset(*, db: Session, asset: MediaAsset) -> None:
    """Carry an asset's outcome (ready + duration, or failed) onto the episodes that use it.

    A published series' episodes are reviewed one by one: a new episode's video, once ready,
    waits `in_review`, and a replacement video waits beside the current one (which keeps
    playing) until an operator approves it (`studio.review.approve_episode`). Drafts and
    series in review are reviewed whole, when they are submitted."""
    episodes = db.scalars(select(Episode).where(Episode.media_asset_id == asset.id)).all()
    for episode in episodes:
        if asset.status == AssetStatus.ready:
            episode.duration_ms = asset.duration_ms
            if episode.state in (EpisodeState.processing, EpisodeState.failed):
                if _reviewed_alone(episode):
                    episode.state = EpisodeState.in_review
                else:
                    make_ready(episode)
        elif asset.status == AssetStatus.failed:
            episode.state = EpisodeState.failed
        else:
            episode.state = EpisodeState.processing
    # A replacement video takes over only once it is ready; until then the old one plays,
    # and a failed replacement leaves it playing (the studio shows why).
    if asset.status == AssetStatus.ready:
        replaced = db.scalars(select(Episode).where(Episode.replacement_asset_id == asset.id))
        for episode in replaced.all():
            if not _reviewed_alone(episode):
                take_replacement(episode)


def _reviewed_alone(episode: Episode) -> bool:
    return episode.series.status == SeriesStatus.published


media.on_asset_outcome(sync_episodes_with_asset)
