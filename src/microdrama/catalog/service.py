"""Catalog service: series and episodes as viewers and creators see them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, Row, and_, bindparam, func, select
from sqlalchemy.orm import Session, aliased, joinedload, selectinload

from microdrama.accounts.models import Account, Role
from microdrama.accounts.ownership import OwnedRows
from microdrama.cache import TTLCache
from microdrama.catalog.models import Episode, EpisodeState, Series, SeriesStatus
from microdrama.catalog.schemas import EpisodeRead, SeriesCard, SeriesCreate, SeriesRead
from microdrama.db import utcnow
from microdrama.errors import NotFound
from microdrama.media.models import MediaAsset
from microdrama.storage import Storage
from microdrama.types import read_row

_OWNED_SERIES = OwnedRows(
    Series,
    "series_id",
    missing="No such series.",
    refused="Only the series' creator may change it.",
)


def _url(storage: Storage, key: str | None) -> str | None:
    return storage.url(key) if key else None


def episode_master_url(episode_id: int) -> str:
    """Where players fetch an episode's master playlist (paywall/hls_routes.py: gated by
    entitlement)."""
    return f"/api/episodes/{episode_id}/hls/master.m3u8"


def _playlist_url(episode: Episode | None) -> str | None:
    # The gated route, never the stored playlist: it checks entitlement and adds the key URL.
    asset = episode.media_asset if episode else None
    if episode is None or asset is None or not asset.master_playlist_key:
        return None
    return episode_master_url(episode.id)


def _episode_read(storage: Storage, series: Series, episode: Episode) -> EpisodeRead:
    asset = episode.media_asset
    thumbs = asset.thumbnails if asset else []
    return EpisodeRead(
        id=episode.id,
        series_id=series.id,
        number=episode.number,
        title=episode.title or f"Episode {episode.number}",
        duration_ms=episode.duration_ms,
        locked=episode.number > series.free_episodes,
        playlist_url=_playlist_url(episode),
        poster_url=_url(storage, asset.poster_key if asset else None),
        thumbnail_url=_url(storage, thumbs[len(thumbs) // 2]["key"] if thumbs else None),
    )


def ready_episodes(series: Series) -> list[Episode]:
    """The episodes viewers can watch, in order."""
    return [e for e in series.episodes if e.state == EpisodeState.ready]


def poster_key(series: Series, first_ready: Episode | None) -> str | None:
    """The series' poster: the creator's, else the first ready episode's frame."""
    first_asset = first_ready.media_asset if first_ready else None
    return series.poster_key or (first_asset.poster_key if first_asset else None)


def _card(storage: Storage, series: Series) -> SeriesCard:
    ready = ready_episodes(series)
    first = ready[0] if ready else None
    return read_row(
        SeriesCard,
        series,
        episode_count=len(ready),
        total_runtime_ms=sum(e.duration_ms for e in ready),
        first_episode_id=first.id if first else None,
        poster_url=_url(storage, poster_key(series, first)),
        preview_playlist_url=_playlist_url(first),
    )


# A series page needs its episodes and their media in two extra queries, not one per episode.
WITH_EPISODES = selectinload(Series.episodes).selectinload(Episode.media_asset)


def in_feed(
    now: datetime | BindParameter[datetime] | None = None,
) -> tuple[ColumnElement[bool], ...]:
    """What may be in the feed, as SQL on `Series`: published, its time come (`now`, a bound
    parameter in a statement built once), something ready."""
    has_ready = (
        select(Episode.id)
        .where(Episode.series_id == Series.id, Episode.state == EpisodeState.ready)
        .exists()
    )
    published = Series.published_at <= (utcnow() if now is None else now)
    return (Series.status == SeriesStatus.published, published, has_ready)


NEWEST_FIRST = (Series.published_at.desc(), Series.id.desc())


def list_feed(
    *, db: Session, storage: Storage, limit: int = 20, offset: int = 0
) -> list[SeriesCard]:
    """Published series whose time has come and that have something to watch, newest first."""
    rows = db.scalars(
        select(Series)
        .where(*in_feed())
        .order_by(*NEWEST_FIRST)
        .limit(limit)
        .offset(offset)
        .options(WITH_EPISODES)
    ).all()
    return [_card(storage, s) for s in rows]


def feed_ids(*, db: Session, limit: int, offset: int = 0) -> list[int]:
    """The ids of `list_feed`'s series, in its order (newest first)."""
    query = select(Series.id).where(*in_feed()).order_by(*NEWEST_FIRST)
    return list(db.scalars(query.limit(limit).offset(offset)))


def feed_cards(*, db: Session, storage: Storage, series_ids: Sequence[int]) -> list[SeriesCard]:
    """The feed cards of these series in the order given, leaving out any not in the feed.

    What `_card` makes of a loaded series, read in one prepared query of columns: the feed,
    For You, search and rankings ask for a page of cards on every uncached request, and
    loading each series with its episodes and their media as objects (and building the
    query) took most of a page's time."""
    if not series_ids:
        return []
    rows = db.execute(_FEED_CARDS, {"series_ids": list(series_ids), "now": utcnow()}).all()
    by_id = {row.id: row for row in rows}
    return [_card_of_row(storage, by_id[i]) for i in series_ids if i in by_id]


def feed_card_json(
    *, db: Session, storage: Storage, series_ids: Sequence[int], cache: TTLCache[Any]
) -> list[bytes]:
    """`feed_cards` as JSON, each series' card kept in `cache` for its TTL: a known viewer's
    For You page is rebuilt every few seconds, and mostly shows series whose cards were built
    moments before for other viewers' pages (a quarter of the cards a page showed were
    distinct, over 500 viewers of a 10,000-series catalog)."""
    found: dict[int, bytes | None] = {i: cache.get(("card", i)) for i in series_ids}
    missing = [series_id for series_id, card in found.items() if card is None]
    for built in feed_cards(db=db, storage=storage, series_ids=missing):
        found[built.id] = cache.put(("card", built.id), built.model_dump_json().encode())
    return [card for series_id in series_ids if (card := found[series_id]) is not None]


_CARD_COLUMNS = (
    Series.id,
    Series.title,
    Series.synopsis,
    Series.genre,
    Series.tags,
    Series.accent_color,
    Series.free_episodes,
    Series.episode_price_coins,
    Series.poster_key,
)


_READY = (
    select(
        Episode.series_id,
        func.count().label("episode_count"),
        func.sum(Episode.duration_ms).label("total_runtime_ms"),
        func.min(Episode.number).label("first_number"),
    )
    .where(
        Episode.series_id.in_(bindparam("series_ids", expanding=True)),
        Episode.state == EpisodeState.ready,
    )
    .group_by(Episode.series_id)
    .subquery()
)
_FIRST_READY = aliased(Episode)
# Joined on its ready episodes: a series without any is not in the feed (`in_feed`).
_FEED_CARDS = (
    select(
        *_CARD_COLUMNS,
        _READY.c.episode_count,
        _READY.c.total_runtime_ms,
        _FIRST_READY.id.label("first_episode_id"),
        MediaAsset.poster_key.label("first_poster_key"),
        MediaAsset.master_playlist_key,
    )
    .join(_READY, _READY.c.series_id == Series.id)
    .join(
        _FIRST_READY,
        and_(_FIRST_READY.series_id == Series.id, _FIRST_READY.number == _READY.c.first_number),
    )
    .outerjoin(MediaAsset, MediaAsset.id == _FIRST_READY.media_asset_id)
    .where(
        Series.id.in_(bindparam("series_ids", expanding=True)),
        Series.status == SeriesStatus.published,
        Series.published_at <= bindparam("now"),
    )
)


def _card_of_row(storage: Storage, row: Row[Any]) -> SeriesCard:
    """`_card` of a row of `feed_cards` (the first ready episode's asset already joined)."""
    return SeriesCard(
        id=row.id,
        title=row.title,
        synopsis=row.synopsis,
        genre=row.genre,
        tags=row.tags,
        accent_color=row.accent_color,
        episode_count=row.episode_count,
        total_runtime_ms=int(row.total_runtime_ms),
        free_episodes=row.free_episodes,
        episode_price_coins=row.episode_price_coins,
        first_episode_id=row.first_episode_id,
        poster_url=_url(storage, row.poster_key or row.first_poster_key),
        preview_playlist_url=(
            episode_master_url(row.first_episode_id) if row.master_playlist_key else None
        ),
    )


def get(*, db: Session, series_id: int) -> Series | None:
    return db.get(Series, series_id)


def get_visible(*, db: Session, series_id: int, viewer: Account | None = None) -> Series:
    """A series the viewer may see: published, or their own, or any for an admin."""
    series = db.scalar(select(Series).where(Series.id == series_id).options(WITH_EPISODES))
    if series is None:
        raise NotFound("No such series.", series_id=series_id)
    require_visible(series=series, viewer=viewer)
    return series


def require_visible(*, series: Series, viewer: Account | None = None) -> None:
    """NotFound unless the viewer may see this series (get_visible's check, for a series
    already at hand: an episode's, without loading every episode of it)."""
    if not is_live(series) and not _may_edit(viewer, series):
        raise NotFound("No such series.", series_id=series.id)


def is_live(series: Series) -> bool:
    """Published, and not scheduled for later: what viewers may see."""
    return is_live_as(series.status, series.published_at)


def is_live_as(
    status: SeriesStatus, published_at: datetime | None, now: datetime | None = None
) -> bool:
    """`is_live` on a series' columns (for a query that read them without the object)."""
    return (
        status == SeriesStatus.published
        and published_at is not None
        and published_at <= (now or utcnow())
    )


def series_read(*, storage: Storage, series: Series) -> SeriesRead:
    """The series page: card, metadata and the grid of ready episodes in order."""
    ready = ready_episodes(series)
    episodes = [_episode_read(storage, series, e) for e in ready]
    for i, ep in enumerate(episodes):
        ep.previous_episode_id = episodes[i - 1].id if i > 0 else None
        ep.next_episode_id = episodes[i + 1].id if i + 1 < len(episodes) else None
    return SeriesRead(
        **_card(storage, series).model_dump(),
        language=series.language,
        content_warnings=list(series.content_warnings),
        status=series.status.value,
        episodes=episodes,
    )


def get_episode(*, db: Session, episode_id: int) -> Episode | None:
    return db.get(Episode, episode_id)


_TO_PLAY = (joinedload(Episode.series), joinedload(Episode.media_asset))


def get_episode_to_play(*, db: Session, episode_id: int) -> Episode | None:
    """The episode with its series and video in one query (every playlist and key asks for
    all three: two lazy loads were two more queries)."""
    return db.get(Episode, episode_id, options=_TO_PLAY)


def episode_read(
    *, db: Session, storage: Storage, episode_id: int, viewer: Account | None = None
) -> EpisodeRead:
    """One playable episode with its neighbours, for opening the player on it directly."""
    episode = db.get(Episode, episode_id)
    if episode is None or episode.state != EpisodeState.ready:
        raise NotFound("No such episode.", episode_id=episode_id)
    series = get_visible(db=db, series_id=episode.series_id, viewer=viewer)
    read = series_read(storage=storage, series=series)
    return next(e for e in read.episodes if e.id == episode_id)


def _may_edit(account: Account | None, series: Series) -> bool:
    return account is not None and account.manages(series.owner_id)


def require_owner(*, db: Session, series_id: int, account: Account) -> Series:
    """The series if the account may edit it; NotFound/Forbidden otherwise."""
    return _OWNED_SERIES.get(db=db, row_id=series_id, account=account)


def create_series(*, db: Session, owner: Account, data: SeriesCreate) -> Series:
    """A new draft series owned by the account (who becomes a creator)."""
    if owner.role == Role.viewer:
        owner.role = Role.creator
    series = Series(owner_id=owner.id, **data.model_dump())
    db.add(series)
    db.flush()
    return series


def publish(*, db: Session, series: Series, at: datetime | None = None) -> Series:
    """Make the series visible in the feed (moderation arrives with the studio issue); `at`
    dates the publication (the demo seed orders its series in the feed with it)."""
    series.status = SeriesStatus.published
    series.published_at = series.published_at or at or utcnow()
    release_with_series(series)
    db.flush()
    return series


def release_with_series(series: Series) -> None:
    """The series was just published (now or scheduled): its ready episodes come out with it,
    at its publication time."""
    assert series.published_at is not None
    for episode in series.episodes:
        if episode.state == EpisodeState.ready and episode.published_at is None:
            episode.published_at = series.published_at


def make_ready(episode: Episode) -> None:
    """Viewers may play the episode once its series is out: in a published series it comes
    out now (or with the series, if that is scheduled later), the first time only; a draft's
    episodes come out with the series (`release_with_series`)."""
    episode.state = EpisodeState.ready
    series = episode.series
    if episode.published_at is None and series.status == SeriesStatus.published:
        assert series.published_at is not None
        episode.published_at = max(utcnow(), series.published_at)


def add_episode(
    *, db: Session, series: Series, media_asset_id: int, title: str = "", number: int | None = None
) -> Episode:
    """Attach an uploaded asset as the series' next (or given) episode; it plays once ready."""
    if number is None:
        number = (
            db.scalar(select(func.max(Episode.number)).where(Episode.series_id == series.id)) or 0
        ) + 1
    episode = Episode(
        series_id=series.id, number=number, title=title, media_asset_id=media_asset_id
    )
    db.add(episode)
    db.flush()
    return episode


def take_replacement(episode: Episode) -> None:
    """The episode's ready replacement becomes its video (the old asset is left unused)."""
    replacement = episode.replacement_asset
    assert replacement is not None
    episode.media_asset = replacement
    episode.replacement_asset = None
    # A rejected new episode's replacement brings it out; a live episode keeps its time.
    make_ready(episode)
    episode.duration_ms = replacement.duration_ms
    episode.review_note = None


def owned_series_ids(*, db: Session, owner: Account) -> list[int]:
    """The ids of every series the account owns, drafts included."""
    return list(db.scalars(select(Series.id).where(Series.owner_id == owner.id)))
