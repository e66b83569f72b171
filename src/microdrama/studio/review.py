"""Moderation: a creator submits a series, an operator approves (now or scheduled) or rejects it;
a published series' new episodes and videos wait for an operator too."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased, selectinload

from microdrama.accounts import service as accounts
from microdrama.catalog import service as catalog_service
from microdrama.catalog import videos
from microdrama.catalog.models import Episode, EpisodeState, Series, SeriesStatus
from microdrama.db import utcnow
from microdrama.errors import DomainError, NotFound
from microdrama.media.models import AssetStatus, MediaAsset
from microdrama.storage import Storage
from microdrama.studio import service
from microdrama.studio.episodes import pending_video
from microdrama.studio.schemas import EpisodeReviewItem, ReviewItem
from microdrama.types import read_row


class NotReadyForReview(DomainError, code="not_ready_for_review", status_code=409): ...


class InvalidSchedule(DomainError, code="invalid_schedule", status_code=422): ...


class WrongReviewState(DomainError, code="wrong_review_state", status_code=409): ...


class EarlierEpisodeNotLive(DomainError, code="earlier_episode_not_live", status_code=409): ...


# Series ------------------------------------------------------------------------------------


def submit_for_review(*, db: Session, series: Series) -> Series:
    """Send a draft (or rejected) series to the moderation queue."""
    if series.status != SeriesStatus.draft:
        raise WrongReviewState(
            f"Only a draft can be submitted; this series is {service.display_status(series)}.",
            status=service.display_status(series),
        )
    ready = sum(e.state == EpisodeState.ready for e in series.episodes)
    if ready == 0:
        raise NotReadyForReview(
            "Upload at least one episode and wait until it is ready before submitting.",
            ready_episodes=0,
        )
    service.check_prices(series=series, for_review=True)
    series.status = SeriesStatus.in_review
    series.submitted_at = utcnow()
    series.review_note = None
    db.flush()
    return series


def moderation_queue(*, db: Session, storage: Storage) -> list[ReviewItem]:
    """Series waiting for review, oldest submission first."""
    rows = db.scalars(
        select(Series)
        .where(Series.status == SeriesStatus.in_review)
        .order_by(Series.submitted_at, Series.id)
        .options(selectinload(Series.episodes).selectinload(Episode.media_asset))
    ).all()
    items = []
    for series in rows:
        owner = accounts.get(db=db, account_id=series.owner_id)
        ready = catalog_service.ready_episodes(series)
        poster = catalog_service.poster_key(series, ready[0] if ready else None)
        items.append(
            read_row(
                ReviewItem,
                series,
                owner_name=owner.display_name if owner else "?",
                ready_episode_count=len(ready),
                total_runtime_ms=sum(e.duration_ms for e in ready),
                poster_url=storage.url(poster) if poster else None,
                first_episode_id=ready[0].id if ready else None,
            )
        )
    return items


def _in_review(db: Session, series_id: int) -> Series:
    series = db.scalar(
        select(Series)
        .where(Series.id == series_id)
        .with_for_update()
        .options(selectinload(Series.episodes))
    )
    if series is None:
        raise NotFound("No such series.", series_id=series_id)
    if series.status != SeriesStatus.in_review:
        raise WrongReviewState(
            f"This series is not waiting for review (it is {service.display_status(series)}).",
            status=service.display_status(series),
        )
    return series


def approve(*, db: Session, series_id: int, publish_at: datetime | None = None) -> Series:
    """Publish now, or schedule: the feed shows the series from publish_at on."""
    series = _in_review(db, series_id)
    now = utcnow()
    if publish_at is not None:
        if publish_at.tzinfo is None:
            raise InvalidSchedule("Give publish_at with its timezone, e.g. 2026-12-01T18:00:00Z.")
        if publish_at <= now:
            publish_at = None  # a time already past means "now"
    series.status = SeriesStatus.published
    series.published_at = publish_at or now
    series.review_note = None
    catalog_service.release_with_series(series)
    db.flush()
    return series


def reject(*, db: Session, series_id: int, reason: str) -> Series:
    """Back to draft with the reason, which the creator sees until they submit again."""
    series = _in_review(db, series_id)
    series.status = SeriesStatus.draft
    series.review_note = reason
    db.flush()
    return series


# Review of a published series' new episodes and videos -------------------------------------


def episode_review_queue(*, db: Session, storage: Storage) -> list[EpisodeReviewItem]:
    """Published series' episodes whose new video waits for an operator, oldest first."""
    replacement = aliased(MediaAsset)
    rows = db.scalars(
        select(Episode)
        .join(Series, Series.id == Episode.series_id)
        .outerjoin(replacement, replacement.id == Episode.replacement_asset_id)
        .where(
            Series.status == SeriesStatus.published,
            or_(Episode.state == EpisodeState.in_review, replacement.status == AssetStatus.ready),
        )
        .order_by(Episode.id)
        .options(
            selectinload(Episode.series),
            selectinload(Episode.media_asset),
            selectinload(Episode.replacement_asset),
        )
    ).all()
    items = []
    for episode in rows:
        video = pending_video(episode)
        assert video is not None
        owner = accounts.get(db=db, account_id=episode.series.owner_id)
        thumbs = video.thumbnails
        thumb = thumbs[len(thumbs) // 2]["key"] if thumbs else video.poster_key
        items.append(
            EpisodeReviewItem(
                episode_id=episode.id,
                number=episode.number,
                title=episode.title or f"Episode {episode.number}",
                kind="new_video" if video is episode.replacement_asset else "new_episode",
                series_id=episode.series_id,
                series_title=episode.series.title,
                owner_name=owner.display_name if owner else "?",
                duration_ms=video.duration_ms,
                thumbnail_url=storage.url(thumb) if thumb else None,
                video_url=f"/api/admin/moderation/episodes/{episode.id}/video",
            )
        )
    return items


def _awaiting_review(
    db: Session, episode_id: int, *, lock: bool = True
) -> tuple[Episode, MediaAsset]:
    query = select(Episode).where(Episode.id == episode_id).options(selectinload(Episode.series))
    episode = db.scalar(query.with_for_update() if lock else query)
    if episode is None:
        raise NotFound("No such episode.", episode_id=episode_id)
    video = pending_video(episode) if episode.series.status == SeriesStatus.published else None
    if video is None:
        raise WrongReviewState(
            "This episode has no new video waiting for review.", status=episode.state.value
        )
    return episode, video


def pending_episode_video(*, db: Session, episode_id: int) -> MediaAsset:
    """The uploaded original of the video an operator is asked to review (no row lock: the
    answer streams a file)."""
    return _awaiting_review(db, episode_id, lock=False)[1]


def approve_episode(*, db: Session, storage: Storage, episode_id: int) -> Episode:
    """The new video goes live: a new episode joins the series, a replacement takes over (and
    the video it replaces is deleted: the episode's key now opens only the new one's segments,
    so a player still on the old playlist reloads either way)."""
    episode, video = _awaiting_review(db, episode_id)
    if video is not episode.replacement_asset:
        # Viewers binge in order: a series never goes live with a hole in its numbering.
        earlier = db.scalar(
            select(func.min(Episode.number)).where(
                Episode.series_id == episode.series_id,
                Episode.number < episode.number,
                Episode.state != EpisodeState.ready,
            )
        )
        if earlier is not None:
            raise EarlierEpisodeNotLive(
                f"Episode {earlier} is not live yet: approve it first, or the creator replaces "
                "or deletes it.",
                episode_number=earlier,
            )
    if video is episode.replacement_asset:
        old = episode.media_asset
        catalog_service.take_replacement(episode)
        db.flush()
        if old is not None:
            videos.delete_if_unused(db=db, storage=storage, asset=old)
    else:
        catalog_service.make_ready(episode)
        episode.review_note = None
    db.flush()
    return episode


def reject_episode(*, db: Session, storage: Storage, episode_id: int, reason: str) -> Episode:
    """Refuse the new video with a reason the creator sees: a refused replacement is deleted
    (the current video keeps playing), a refused new episode stays hidden as `rejected`."""
    episode, video = _awaiting_review(db, episode_id)
    episode.review_note = reason
    if video is episode.replacement_asset:
        episode.replacement_asset = None
        db.flush()
        videos.delete_if_unused(db=db, storage=storage, asset=video)
    else:
        episode.state = EpisodeState.rejected
    db.flush()
    return episode
