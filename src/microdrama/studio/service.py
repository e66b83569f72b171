"""Studio service: a creator's series (metadata, prices, poster, episodes) and their review."""

from __future__ import annotations

import io
import secrets
from datetime import datetime

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, aliased, selectinload

from microdrama.accounts import service as accounts
from microdrama.accounts.models import Account, Role
from microdrama.catalog import service as catalog_service
from microdrama.catalog import videos
from microdrama.catalog.models import Episode, EpisodeState, Series, SeriesStatus
from microdrama.db import utcnow
from microdrama.errors import Conflict, DomainError, NotFound
from microdrama.media import service as media_service
from microdrama.media.models import AssetStatus, MediaAsset
from microdrama.storage import Storage
from microdrama.studio.schemas import (
    EpisodeReviewItem,
    ReviewItem,
    SeriesUpdate,
    StudioEpisodeRead,
    StudioSeriesCreate,
    StudioSeriesRead,
)
from microdrama.validation_messages import label as field_label

POSTER_SIZE = (720, 1280)  # 9:16
POSTER_THUMB_SIZE = (180, 320)
MAX_POSTER_BYTES = 15 * 1024 * 1024
MAX_POSTER_PIXELS = 50_000_000


class InvalidPrices(DomainError, code="invalid_prices", status_code=422): ...


class InvalidImage(DomainError, code="invalid_image", status_code=422): ...


class NotReadyForReview(DomainError, code="not_ready_for_review", status_code=409): ...


class EpisodeNotDeletable(DomainError, code="episode_not_deletable", status_code=409): ...


class InvalidSchedule(DomainError, code="invalid_schedule", status_code=422): ...


class WrongReviewState(DomainError, code="wrong_review_state", status_code=409): ...


class EarlierEpisodeNotLive(DomainError, code="earlier_episode_not_live", status_code=409): ...


# Series ------------------------------------------------------------------------------------


def become_creator(*, db: Session, account: Account) -> Account:
    """A signed-in viewer opens a studio: from now on the account is a creator."""
    if account.role == Role.viewer:
        account.role = Role.creator
        db.flush()
    return account


WITH_MEDIA = (
    selectinload(Series.episodes).selectinload(Episode.media_asset).selectinload(MediaAsset.jobs),
    selectinload(Series.episodes)
    .selectinload(Episode.replacement_asset)
    .selectinload(MediaAsset.jobs),
)


def list_own_series(*, db: Session, owner: Account) -> list[Series]:
    """The creator's series, newest first, with their episodes."""
    return list(
        db.scalars(
            select(Series)
            .where(Series.owner_id == owner.id)
            .order_by(Series.created_at.desc(), Series.id.desc())
            .options(*WITH_MEDIA)
        )
    )


def get_own_series(*, db: Session, series_id: int, account: Account, lock: bool = False) -> Series:
    """The creator's own series (any for an admin); another creator's is NotFound, not 403:
    the studio does not confirm that someone else's draft exists."""
    query = select(Series).where(Series.id == series_id)
    if lock:
        query = query.with_for_update()
    series = db.scalar(query.options(*WITH_MEDIA))
    if series is None or (series.owner_id != account.id and account.role != Role.admin):
        raise NotFound("No such series in your studio.", series_id=series_id)
    return series


def max_cap_price(*, series: Series, episode_count: int | None = None) -> int:
    """Every paid episode at the episode price: the most "buy the rest" may cost."""
    count = len(series.episodes) if episode_count is None else episode_count
    return max(0, count - series.free_episodes) * series.episode_price_coins


def check_prices(*, series: Series, for_review: bool = False) -> None:
    """The cap price never exceeds the sum of the paid episodes; paid episodes cost coins."""
    count = len(series.episodes)
    paid = max(0, count - series.free_episodes)
    if for_review and paid > 0 and series.episode_price_coins < 1:
        raise InvalidPrices(
            f"{paid} episodes are paid, so the episode price must be at least 1 coin "
            "(or make every episode free).",
            field="episode_price_coins",
        )
    cap = series.series_cap_price_coins
    if cap is None or (count == 0 and not for_review):
        return  # checked again once episodes exist
    ceiling = max_cap_price(series=series)
    if cap > ceiling:
        raise InvalidPrices(
            f"The series cap price ({cap} coins) is more than buying every paid episode one by "
            f"one ({paid} x {series.episode_price_coins} = {ceiling} coins). Lower it to at "
            f"most {ceiling} coins, or leave it empty for the default discount.",
            field="series_cap_price_coins",
            max_cap_price_coins=ceiling,
        )


def create_series(*, db: Session, owner: Account, data: StudioSeriesCreate) -> Series:
    """A new draft series owned by the creator."""
    series = Series(owner_id=owner.id, **data.model_dump())
    db.add(series)
    db.flush()
    return series


def update_series(*, db: Session, series: Series, data: SeriesUpdate) -> Series:
    """Change the fields sent; prices are checked against the episodes the series has."""
    for name, value in data.changes().items():
        if value is None and name != "series_cap_price_coins":
            raise InvalidPrices(f"{field_label(name)} can't be empty.", field=name)
        setattr(series, name, value)
    check_prices(series=series)
    db.flush()
    return series


def save_poster(*, db: Session, storage: Storage, series: Series, data: bytes) -> Series:
    """Resize an uploaded image to a 9:16 poster and a thumbnail (JPEG), centre-cropped."""
    if len(data) > MAX_POSTER_BYTES:
        raise InvalidImage(
            f"The poster is larger than {MAX_POSTER_BYTES // 1024 // 1024} MB.",
            max_bytes=MAX_POSTER_BYTES,
        )
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.width * probe.height > MAX_POSTER_PIXELS:
                raise InvalidImage("The poster has too many pixels; send at most 50 megapixels.")
            probe.verify()  # truncated or corrupt files fail here, before decoding
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            picture = ImageOps.exif_transpose(image).convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InvalidImage(
            "The poster is not an image we can read; send a JPEG, PNG or WebP picture."
        ) from exc
    if picture.width < 90 or picture.height < 160:
        raise InvalidImage("The poster is too small; send at least 90 x 160 pixels.")
    # A new key for every upload: poster URLs are cached as immutable.
    token = secrets.token_hex(6)
    keys = []
    for name, size in (("poster", POSTER_SIZE), ("poster-thumb", POSTER_THUMB_SIZE)):
        resized = ImageOps.fit(picture, size, method=Image.Resampling.LANCZOS)
        out = io.BytesIO()
        resized.save(out, format="JPEG", quality=85, optimize=True, progressive=True)
        out.seek(0)
        key = f"series/{series.id}/{name}-{token}.jpg"
        storage.save(key, out)
        keys.append(key)
    old = [k for k in (series.poster_key, series.poster_thumb_key) if k]
    series.poster_key, series.poster_thumb_key = keys
    db.flush()
    for key in old:
        storage.delete_prefix(key)
    return series


def display_status(series: Series, now: datetime | None = None) -> str:
    """What the studio badge says: draft, rejected, in_review, scheduled or published."""
    if series.status == SeriesStatus.published:
        now = now or utcnow()
        if series.published_at is not None and series.published_at > now:
            return "scheduled"
        return "published"
    if series.status == SeriesStatus.draft and series.review_note:
        return "rejected"
    return series.status.value


# Episodes ----------------------------------------------------------------------------------


def _latest_job_state(asset: MediaAsset | None) -> tuple[str | None, float, str | None]:
    if asset is None:
        return None, 0.0, None
    job = asset.jobs[-1] if asset.jobs else None
    if job is None:
        return None, 0.0, asset.error
    return job.state.value, round(job.progress, 4), media_service.public_job_error(job)


def _deletable(series: Series, episode: Episode) -> bool:
    # Viewers may have unlocked or be watching a published series' episodes: those stay.
    return series.status == SeriesStatus.draft or episode.state != EpisodeState.ready


def _held_replacement(episode: Episode) -> MediaAsset | None:
    """A transcoded replacement still beside the current video: one of a published series'
    episode, waiting for an operator (a draft's takes over when it is ready)."""
    replacement = episode.replacement_asset
    if replacement is not None and replacement.status == AssetStatus.ready:
        return replacement
    return None


def _pending_video(episode: Episode) -> MediaAsset | None:
    """The episode's new video waiting for an operator, if any: a held replacement, else the
    video of an episode `in_review`."""
    if (held := _held_replacement(episode)) is not None:
        return held
    return episode.media_asset if episode.state == EpisodeState.in_review else None


def _episode_read(storage: Storage, series: Series, episode: Episode) -> StudioEpisodeRead:
    asset = episode.media_asset
    # A held replacement waits for review, not for the transcoder.
    replacement = None if _held_replacement(episode) else episode.replacement_asset
    job_state, progress, error = _latest_job_state(replacement or asset)
    if replacement is not None:
        _, _, current_error = _latest_job_state(asset)
    thumbs = asset.thumbnails if asset else []
    thumb = thumbs[len(thumbs) // 2]["key"] if thumbs else None
    return StudioEpisodeRead(
        id=episode.id,
        number=episode.number,
        title=episode.title or f"Episode {episode.number}",
        state=episode.state.value,
        duration_ms=episode.duration_ms,
        thumbnail_url=storage.url(thumb) if thumb else None,
        job_state=job_state,
        progress=progress,
        error=(current_error if replacement is not None else error),
        replacing=replacement is not None,
        replacement_state=replacement.status.value if replacement else None,
        replacement_error=replacement.error if replacement else None,
        deletable=_deletable(series, episode),
        awaiting_review=_pending_video(episode) is not None,
        review_note=episode.review_note,
    )


def series_read(*, storage: Storage, series: Series) -> StudioSeriesRead:
    """The studio's view of a series: every episode in every state, prices, review status."""
    episodes = sorted(series.episodes, key=lambda e: e.number)
    return StudioSeriesRead(
        id=series.id,
        title=series.title,
        synopsis=series.synopsis,
        genre=series.genre,
        tags=list(series.tags),
        language=series.language,
        content_warnings=list(series.content_warnings),
        accent_color=series.accent_color,
        free_episodes=series.free_episodes,
        episode_price_coins=series.episode_price_coins,
        series_cap_price_coins=series.series_cap_price_coins,
        max_cap_price_coins=max_cap_price(series=series),
        status=display_status(series),
        review_note=series.review_note,
        submitted_at=series.submitted_at,
        published_at=series.published_at,
        poster_url=storage.url(series.poster_key) if series.poster_key else None,
        poster_thumb_url=_poster_thumb_url(storage, series, episodes),
        episode_count=len(episodes),
        ready_episode_count=sum(e.state == EpisodeState.ready for e in episodes),
        episodes=[_episode_read(storage, series, e) for e in episodes],
        analytics_url=f"/studio/series/{series.id}/analytics",
    )


def _poster_thumb_url(storage: Storage, series: Series, episodes: list[Episode]) -> str | None:
    """The series' own poster thumbnail, else its first episode's poster frame (as the feed
    shows a series without a poster), so the studio's list never shows an empty box for it."""
    if series.poster_thumb_key:
        return storage.url(series.poster_thumb_key)
    frames = [e.media_asset.poster_key for e in episodes if e.media_asset is not None]
    first_frame = next((key for key in frames if key), None)
    return storage.url(first_frame) if first_frame else None


def _renumber(db: Session, series: Series, ordered: list[Episode]) -> None:
    """Give the episodes the numbers 1..n in this order without breaking (series, number)
    uniqueness half-way: first out of the way (negative numbers), then into place."""
    ids = [e.id for e in ordered]
    if not ids:
        return
    db.execute(
        update(Episode)
        .where(Episode.series_id == series.id, Episode.id.in_(ids))
        .values(number=-Episode.number - 1_000_000)
        .execution_options(synchronize_session=False)
    )
    for number, episode in enumerate(ordered, start=1):
        db.execute(
            update(Episode)
            .where(Episode.id == episode.id)
            .values(number=number)
            .execution_options(synchronize_session=False)
        )
    db.flush()
    for episode in ordered:
        db.refresh(episode, attribute_names=["number"])


def reorder_episodes(*, db: Session, series: Series, episode_ids: list[int]) -> Series:
    """Put the series' episodes in this order (every episode, once); numbers stay 1..n."""
    current = {e.id: e for e in series.episodes}
    if len(episode_ids) != len(set(episode_ids)) or set(episode_ids) != set(current):
        raise Conflict(
            "Send every episode of the series exactly once, in the new order.",
            expected_episode_ids=sorted(current),
        )
    _renumber(db, series, [current[i] for i in episode_ids])
    db.expire(series, ["episodes"])
    return series


def rename_episode(*, db: Session, series: Series, episode_id: int, title: str) -> Episode:
    episode = _own_episode(series, episode_id)
    episode.title = title
    db.flush()
    return episode


def _own_episode(series: Series, episode_id: int) -> Episode:
    for episode in series.episodes:
        if episode.id == episode_id:
            return episode
    raise NotFound("No such episode in this series.", episode_id=episode_id)


def delete_episode(*, db: Session, storage: Storage, series: Series, episode_id: int) -> Series:
    """Delete a draft episode (or one that never became ready); the rest close the gap."""
    episode = _own_episode(series, episode_id)
    if not _deletable(series, episode):
        raise EpisodeNotDeletable(
            "This episode is live in a published series; viewers may have unlocked it. "
            "Replace its video instead.",
            episode_id=episode_id,
        )
    assets = [a for a in (episode.media_asset, episode.replacement_asset) if a is not None]
    remaining = [e for e in sorted(series.episodes, key=lambda e: e.number) if e is not episode]
    series.episodes.remove(episode)
    db.delete(episode)
    db.flush()
    for asset in assets:
        videos.delete_if_unused(db=db, storage=storage, asset=asset)
    _renumber(db, series, remaining)
    return series


def episode_for_replacement(*, series: Series, episode_id: int) -> Episode:
    """The episode whose video a new upload will replace."""
    return _own_episode(series, episode_id)


# Review ------------------------------------------------------------------------------------


def submit_for_review(*, db: Session, series: Series) -> Series:
    """Send a draft (or rejected) series to the moderation queue."""
    if series.status != SeriesStatus.draft:
        raise WrongReviewState(
            f"Only a draft can be submitted; this series is {display_status(series)}.",
            status=display_status(series),
        )
    ready = sum(e.state == EpisodeState.ready for e in series.episodes)
    if ready == 0:
        raise NotReadyForReview(
            "Upload at least one episode and wait until it is ready before submitting.",
            ready_episodes=0,
        )
    check_prices(series=series, for_review=True)
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
        ready = [e for e in sorted(series.episodes, key=lambda e: e.number) if e.state == "ready"]
        first_asset = ready[0].media_asset if ready else None
        poster = series.poster_key or (first_asset.poster_key if first_asset else None)
        items.append(
            ReviewItem(
                id=series.id,
                title=series.title,
                synopsis=series.synopsis,
                genre=series.genre,
                tags=list(series.tags),
                content_warnings=list(series.content_warnings),
                language=series.language,
                owner_id=series.owner_id,
                owner_name=owner.display_name if owner else "?",
                submitted_at=series.submitted_at,
                ready_episode_count=len(ready),
                total_runtime_ms=sum(e.duration_ms for e in ready),
                episode_price_coins=series.episode_price_coins,
                free_episodes=series.free_episodes,
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
            f"This series is not waiting for review (it is {display_status(series)}).",
            status=display_status(series),
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
        video = _pending_video(episode)
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
    video = _pending_video(episode) if episode.series.status == SeriesStatus.published else None
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
        episode.state = EpisodeState.ready
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
