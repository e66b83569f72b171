"""My list: the series a viewer follows, newest episode first, with a "new episode" badge.

A follow remembers how many episodes were out when the viewer followed the series or last
opened it (`seen_episodes`); more out now is the badge. "Out" is the catalog's notion: the
series is in the feed (published, its time come) and the episode is `ready`, so episodes
still transcoding or waiting for an operator count once viewers can play them. The list is
sorted on when the newest one came out (`Episode.published_at`: the day an operator approved
it, not the day it was uploaded). Guests follow too: sign-up turns the guest's account into
the full one in place, so the list stays.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import ColumnElement, ScalarSelect, Select, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased, selectinload

from microdrama.catalog import service as catalog
from microdrama.catalog.models import Episode, EpisodeState, Series
from microdrama.db import utcnow
from microdrama.discovery.models import SeriesFollow
from microdrama.discovery.my_list_schemas import MyListEntry
from microdrama.errors import NotFound
from microdrama.storage import Storage

__all__ = [
    "MyListEntry",
    "entries",
    "follow",
    "followed_ids",
    "is_following",
    "mark_seen",
    "unfollow",
    "with_new_episodes",
]


def _out(series_id: ColumnElement[int] | InstrumentedAttribute[int] | int) -> ScalarSelect[int]:
    """How many episodes of the series viewers can play, as a scalar subquery."""
    return _count_out(series_id).scalar_subquery()


def _count_out(
    series_id: ColumnElement[int] | InstrumentedAttribute[int] | int,
) -> Select[int]:
    return select(func.count(Episode.id)).where(
        Episode.series_id == series_id, Episode.state == EpisodeState.ready
    )


def _require_live(db: Session, series_id: int) -> None:
    if db.scalar(select(Series.id).where(Series.id == series_id, *catalog.in_feed())) is None:
        raise NotFound("No such series.", series_id=series_id)


def follow(
    db: Session, account_id: int, series_id: int, *, at: datetime | None = None
) -> SeriesFollow:
    """Put a series viewers can watch on the viewer's list, once (following again changes
    nothing); the episodes out now count as seen. NotFound for a series not out."""
    existing = db.get(SeriesFollow, (account_id, series_id))
    if existing is not None:
        return existing
    _require_live(db, series_id)
    seen = db.scalar(_count_out(series_id)) or 0
    try:
        with db.begin_nested():
            row = SeriesFollow(
                account_id=account_id,
                series_id=series_id,
                followed_at=at or utcnow(),
                seen_episodes=seen,
            )
            db.add(row)
        return row
    except IntegrityError:  # the same viewer's other request followed it meanwhile
        raced = db.get(SeriesFollow, (account_id, series_id))
        assert raced is not None
        return raced


def unfollow(db: Session, account_id: int, series_id: int) -> None:
    """Take the series off the viewer's list (nothing to do when it is not on it). NotFound
    only for a series that is neither on the list nor out."""
    removed = db.execute(
        delete(SeriesFollow).where(
            SeriesFollow.account_id == account_id, SeriesFollow.series_id == series_id
        ),
        execution_options={"synchronize_session": "fetch"},
    )
    if getattr(removed, "rowcount", 0) == 0:
        _require_live(db, series_id)


def mark_seen(db: Session, account_id: int, series_id: int) -> None:
    """The viewer opened the series (its page or the player): its episodes out are seen, so
    its badge clears. Writes nothing when the series is not followed or nothing is new."""
    out = _out(series_id)
    db.execute(
        update(SeriesFollow)
        .where(
            SeriesFollow.account_id == account_id,
            SeriesFollow.series_id == series_id,
            SeriesFollow.seen_episodes != out,
        )
        .values(seen_episodes=out),
        execution_options={"synchronize_session": "fetch"},
    )


def is_following(db: Session, account_id: int, series_id: int) -> bool:
    return db.get(SeriesFollow, (account_id, series_id)) is not None


def followed_ids(db: Session, account_id: int, series_ids: Iterable[int]) -> set[int]:
    """Which of these series are on the viewer's list (for the follow buttons of a page)."""
    ids = list(series_ids)
    if not ids:
        return set()
    query = select(SeriesFollow.series_id).where(
        SeriesFollow.account_id == account_id, SeriesFollow.series_id.in_(ids)
    )
    return set(db.scalars(query))


def with_new_episodes(db: Session, account_id: int) -> int:
    """How many followed series have episodes out that the viewer has not seen (the badge)."""
    query = (
        select(func.count())
        .select_from(SeriesFollow)
        .join(Series, Series.id == SeriesFollow.series_id)
        .where(
            SeriesFollow.account_id == account_id,
            *catalog.in_feed(),
            _out(SeriesFollow.series_id) > SeriesFollow.seen_episodes,
        )
    )
    return db.scalar(query) or 0


def entries(
    db: Session, account_id: int, *, storage: Storage, limit: int | None = None
) -> list[MyListEntry]:
    """The viewer's list: followed series viewers can watch, the one with the newest episode
    first, each with its poster, episodes out and how many are new to the viewer."""
    # An alias: in_feed()'s own subquery on episodes must not correlate with this join.
    out = aliased(Episode)
    rows = db.execute(
        select(SeriesFollow, Series, func.count(out.id), func.max(out.published_at))
        .join(Series, Series.id == SeriesFollow.series_id)
        .join(out, (out.series_id == Series.id) & (out.state == EpisodeState.ready))
        .where(SeriesFollow.account_id == account_id, *catalog.in_feed())
        .group_by(SeriesFollow.account_id, SeriesFollow.series_id, Series.id)
    ).all()
    firsts = _first_episodes(db, [series.id for _f, series, _n, _at in rows])
    items = []
    for followed, series, count, newest_at in rows:
        first = firsts.get(series.id)
        poster = catalog.poster_key(series, first)
        assert series.published_at is not None  # in the feed
        items.append(
            MyListEntry(
                series_id=series.id,
                title=series.title,
                genre=series.genre,
                accent_color=series.accent_color,
                poster_url=storage.url(poster) if poster else None,
                first_episode_id=first.id if first else None,
                episodes_out=count,
                free_episodes=min(series.free_episodes, count),
                # Never before the series itself came out.
                latest_episode_at=max(newest_at or series.published_at, series.published_at),
                followed_at=followed.followed_at,
                new_episodes=max(0, count - followed.seen_episodes),
            )
        )
    items.sort(key=lambda e: (e.latest_episode_at, e.series_id), reverse=True)
    return items[:limit] if limit is not None else items


def _first_episodes(db: Session, series_ids: list[int]) -> dict[int, Episode]:
    """Each series' first ready episode with its video, for posters and play."""
    if not series_ids:
        return {}
    other = aliased(Episode)
    lowest = (
        select(func.min(other.number))
        .where(other.series_id == Episode.series_id, other.state == EpisodeState.ready)
        .scalar_subquery()
    )
    episodes = db.scalars(
        select(Episode)
        .where(
            Episode.series_id.in_(series_ids),
            Episode.state == EpisodeState.ready,
            Episode.number == lowest,
        )
        .options(selectinload(Episode.media_asset))
    )
    return {e.series_id: e for e in episodes}
