"""Studio service: a creator's series (metadata, prices, poster) and how the studio shows them
(episodes.py changes episodes, review.py is moderation)."""

from __future__ import annotations

import io
import secrets
from datetime import datetime

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from microdrama.accounts.models import Account, Role
from microdrama.catalog.models import Episode, EpisodeState, Series, SeriesStatus
from microdrama.db import utcnow
from microdrama.errors import DomainError, NotFound
from microdrama.media import service as media_service
from microdrama.media.models import MediaAsset
from microdrama.storage import Storage
from microdrama.studio.episodes import deletable, held_replacement, pending_video
from microdrama.studio.schemas import (
    SeriesUpdate,
    StudioEpisodeRead,
    StudioSeriesCreate,
    StudioSeriesRead,
)
from microdrama.types import read_row
from microdrama.validation_messages import label as field_label

POSTER_SIZE = (720, 1280)  # 9:16
POSTER_THUMB_SIZE = (180, 320)
MAX_POSTER_BYTES = 15 * 1024 * 1024
MAX_POSTER_PIXELS = 50_000_000


class InvalidPrices(DomainError, code="invalid_prices", status_code=422): ...


class InvalidImage(DomainError, code="invalid_image", status_code=422): ...


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
    if series is None or not account.manages(series.owner_id):
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


def _latest_job_state(asset: MediaAsset | None) -> tuple[str | None, float, str | None]:
    if asset is None:
        return None, 0.0, None
    job = asset.jobs[-1] if asset.jobs else None
    if job is None:
        return None, 0.0, asset.error
    return job.state.value, round(job.progress, 4), media_service.public_job_error(job)


def _episode_read(storage: Storage, series: Series, episode: Episode) -> StudioEpisodeRead:
    asset = episode.media_asset
    # A held replacement waits for review, not for the transcoder.
    replacement = None if held_replacement(episode) else episode.replacement_asset
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
        deletable=deletable(series, episode),
        awaiting_review=pending_video(episode) is not None,
        review_note=episode.review_note,
    )


def series_read(*, storage: Storage, series: Series) -> StudioSeriesRead:
    """The studio's view of a series: every episode in every state, prices, review status."""
    episodes = sorted(series.episodes, key=lambda e: e.number)
    return read_row(
        StudioSeriesRead,
        series,
        max_cap_price_coins=max_cap_price(series=series),
        status=display_status(series),
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
