"""Studio episodes: their order, titles and deletion, and which new video waits for review."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from microdrama.catalog import videos
from microdrama.catalog.models import Episode, EpisodeState, Series, SeriesStatus
from microdrama.errors import Conflict, DomainError, NotFound
from microdrama.media.models import AssetStatus, MediaAsset
from microdrama.storage import Storage


class EpisodeNotDeletable(DomainError, code="episode_not_deletable", status_code=409): ...


def deletable(series: Series, episode: Episode) -> bool:
    """Whether the creator may delete the episode: viewers may have unlocked or be watching a
    published series' ready episodes, so those stay."""
    return series.status == SeriesStatus.draft or episode.state != EpisodeState.ready


def held_replacement(episode: Episode) -> MediaAsset | None:
    """A transcoded replacement still beside the current video: one of a published series'
    episode, waiting for an operator (a draft's takes over when it is ready)."""
    replacement = episode.replacement_asset
    if replacement is not None and replacement.status == AssetStatus.ready:
        return replacement
    return None


def pending_video(episode: Episode) -> MediaAsset | None:
    """The episode's new video waiting for an operator, if any: a held replacement, else the
    video of an episode `in_review`."""
    if (held := held_replacement(episode)) is not None:
        return held
    return episode.media_asset if episode.state == EpisodeState.in_review else None


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
    if not deletable(series, episode):
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
