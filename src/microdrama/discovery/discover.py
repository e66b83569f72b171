"""Discover: the rows of posters of the Discover tab, shared ones and a known viewer's own.

The shared rows (Trending now, New releases, Most binged, Free to watch, one per genre) are
the same for everyone: `shared_rows` builds them once for the public cache, from the charts
the rankings job stored and a few indexed reads of the catalog. A known viewer's rows
(Continue watching, My list, For You, Because you watched …) are read per request, and
`for_viewer` then marks every poster with that viewer's progress and what they may play.
Rows without posters are left out.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from urllib.parse import urlencode

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from microdrama.accounts.models import Account, Role
from microdrama.catalog import service as catalog
from microdrama.catalog.models import Episode, EpisodeState, Series
from microdrama.catalog.schemas import SeriesCard
from microdrama.db import utcnow
from microdrama.discovery import for_you, my_list
from microdrama.discovery.discover_schemas import (
    Access,
    DiscoverPage,
    DiscoverRow,
    Poster,
    Resume,
    RowKind,
)
from microdrama.discovery.models import Chart, ChartPeriod, RankingEntry, SimilarSeries
from microdrama.media.models import MediaAsset
from microdrama.paywall.entitlement import has_active_vip
from microdrama.paywall.models import Unlock
from microdrama.playback import service as playback
from microdrama.playback.models import WatchProgress
from microdrama.storage import Storage

ROW_SIZE = 20
# The genres with the most series get a row each, up to this many.
GENRE_ROWS = 12
# "Because you watched …" rows: one for each of the viewer's latest series with neighbours.
BECAUSE_ROWS = 2
# How far back in the viewer's history "Because you watched" looks for those series.
RECENT_PROGRESS = 200


def shared_key(limit: int) -> Hashable:
    """The shared rows' entry in the public cache (the API and the page share it)."""
    return ("discover", "shared", limit)


# -- posters -----------------------------------------------------------------------------------


def _access(free_episodes: int, episode_count: int) -> Access:
    if free_episodes >= episode_count:
        return Access.free
    return Access.some_free if free_episodes > 0 else Access.locked


def poster(card: SeriesCard, *, href: str, resume: Resume | None = None) -> Poster:
    """A series card (Continue watching reads those) as a poster."""
    return Poster(
        series_id=card.id,
        title=card.title,
        genre=card.genre,
        accent_color=card.accent_color,
        poster_url=card.poster_url,
        episode_count=card.episode_count,
        free_episodes=min(card.free_episodes, card.episode_count),
        episode_price_coins=card.episode_price_coins,
        access=_access(card.free_episodes, card.episode_count),
        href=href,
        resume=resume,
    )


def posters(*, db: Session, storage: Storage, series_ids: Sequence[int]) -> dict[int, Poster]:
    """The posters of those series that are in the feed, in one query: the episodes out are
    counted in SQL and only the first one's frame is read (the catalog's cards load every
    episode of every series, too much for a page of rows). The picture is the catalog's
    rule: the creator's poster, else the first ready episode's frame."""
    if not series_ids:
        return {}
    ready = (
        select(
            Episode.series_id,
            func.count().label("out"),
            func.min(Episode.number).label("first"),
        )
        .where(Episode.series_id.in_(series_ids), Episode.state == EpisodeState.ready)
        .group_by(Episode.series_id)
        .subquery()
    )
    first = aliased(Episode)  # in_feed()'s own subquery on episodes must not correlate with it
    rows = db.execute(
        select(
            Series.id,
            Series.title,
            Series.genre,
            Series.accent_color,
            Series.poster_key,
            Series.free_episodes,
            Series.episode_price_coins,
            ready.c.out,
            MediaAsset.poster_key.label("frame"),
        )
        .join(ready, ready.c.series_id == Series.id)
        .join(first, (first.series_id == Series.id) & (first.number == ready.c.first))
        .outerjoin(MediaAsset, MediaAsset.id == first.media_asset_id)
        .where(Series.id.in_(series_ids), *catalog.in_feed())
    ).all()
    found = {}
    for row in rows:
        key = row.poster_key or row.frame
        found[row.id] = Poster(
            series_id=row.id,
            title=row.title,
            genre=row.genre,
            accent_color=row.accent_color,
            poster_url=storage.url(key) if key else None,
            episode_count=row.out,
            free_episodes=min(row.free_episodes, row.out),
            episode_price_coins=row.episode_price_coins,
            access=_access(row.free_episodes, row.out),
            href=f"/series/{row.id}",
        )
    return found


def _row(
    kind: RowKind,
    title: str,
    found: dict[int, Poster],
    series_ids: Iterable[int],
    *,
    key: str | None = None,
    see_all_url: str | None = None,
    limit: int = ROW_SIZE,
) -> DiscoverRow:
    items = [found[s] for s in series_ids if s in found][:limit]
    return DiscoverRow(
        key=key or kind.value, kind=kind, title=title, see_all_url=see_all_url, items=items
    )


# -- the shared rows ---------------------------------------------------------------------------


def chart_ids(
    db: Session, chart: Chart, *, period: ChartPeriod = ChartPeriod.weekly, limit: int
) -> list[int]:
    """The series of the latest computed overall chart, best first."""
    latest = db.scalar(
        select(func.max(RankingEntry.day)).where(
            RankingEntry.chart == chart.value,
            RankingEntry.period == period.value,
            RankingEntry.genre == "",
        )
    )
    if latest is None:
        return []
    return list(
        db.scalars(
            select(RankingEntry.series_id)
            .where(
                RankingEntry.day == latest,
                RankingEntry.chart == chart.value,
                RankingEntry.period == period.value,
                RankingEntry.genre == "",
            )
            .order_by(RankingEntry.rank)
            .limit(limit)
        )
    )


def _by_popularity(series_ids: Sequence[int], popular: Sequence[int]) -> list[int]:
    """The series in Trending's order first, then the others in the order given."""
    place = {s: i for i, s in enumerate(popular)}
    return sorted(series_ids, key=lambda s: place.get(s, len(place)))


def shared_rows(*, db: Session, storage: Storage, limit: int = ROW_SIZE) -> list[DiscoverRow]:
    """The rows every visitor gets, best row first, each at most `limit` posters."""
    popular = [s for s, _ in for_you.trending(db=db)]
    catalogue = db.execute(
        select(Series.id, Series.genre, Series.free_episodes)
        .where(*catalog.in_feed())
        .order_by(*catalog.NEWEST_FIRST)
    ).all()
    newest = [r.id for r in catalogue]
    free = _by_popularity([r.id for r in catalogue if r.free_episodes > 0], popular)
    by_genre: dict[str, list[int]] = {}
    for r in catalogue:
        by_genre.setdefault(r.genre, []).append(r.id)
    genres = sorted(by_genre, key=lambda g: (-len(by_genre[g]), g))[:GENRE_ROWS]
    genre_ids = {g: _by_popularity(by_genre[g], popular)[:limit] for g in genres}
    binged = chart_ids(db, Chart.binged, limit=limit)

    shown = [*popular[:limit], *newest[:limit], *binged, *free[:limit]]
    shown += [s for g in genres for s in genre_ids[g]]
    cards = posters(db=db, storage=storage, series_ids=list(dict.fromkeys(shown)))
    rows = [
        _row(
            RowKind.trending,
            "Trending now",
            cards,
            popular,
            see_all_url="/rankings?period=weekly",
            limit=limit,
        ),
        _row(RowKind.new, "New releases", cards, newest, limit=limit),
        _row(
            RowKind.binged,
            "Most binged",
            cards,
            binged,
            see_all_url="/rankings?chart=binged&period=weekly",
            limit=limit,
        ),
        _row(
            RowKind.free, "Free to watch", cards, free, see_all_url="/search?free=true", limit=limit
        ),
    ]
    rows += [
        _row(
            RowKind.genre,
            genre.title(),
            cards,
            genre_ids[genre],
            key=f"genre:{genre}",
            see_all_url="/search?" + urlencode({"genre": genre}),
            limit=limit,
        )
        for genre in genres
    ]
    return [row for row in rows if row.items]


def shared_json(*, db: Session, storage: Storage, limit: int = ROW_SIZE) -> bytes:
    page = DiscoverPage(personal=False, rows=shared_rows(db=db, storage=storage, limit=limit))
    return page.model_dump_json().encode()


# -- a known viewer's rows ---------------------------------------------------------------------


def _continue_row(db: Session, storage: Storage, viewer: Account, limit: int) -> DiscoverRow:
    items = [
        poster(
            item.series,
            href=f"/watch/{item.episode_id}?t={round(item.position_ms / 1000, 1):g}",
            resume=Resume(
                episode_id=item.episode_id,
                episode_number=item.episode_number,
                position_ms=item.position_ms,
                duration_ms=item.duration_ms,
            ),
        )
        for item in playback.continue_watching(db=db, storage=storage, viewer=viewer, limit=limit)
    ]
    return DiscoverRow(
        key="continue",
        kind=RowKind.continue_watching,
        title="Continue watching",
        see_all_url=None,
        items=items,
    )


def _for_you_ids(
    db: Session, viewer: Account, pools: for_you.SharedPools, drop: set[int]
) -> list[int]:
    """The viewer's recommendations re-ranked as the feed does; none without any (Trending,
    their cold start, has its own row)."""
    mine = for_you.candidates(db=db, account_id=viewer.id)
    if not mine:
        return []
    return for_you.personal_head(mine, pools, drop, seed=viewer.id)


def _recent_series(db: Session, viewer: Account) -> list[int]:
    """The series the viewer watched, the latest first."""
    ids = db.scalars(
        select(WatchProgress.series_id)
        .where(WatchProgress.account_id == viewer.id)
        .order_by(WatchProgress.updated_at.desc())
        .limit(RECENT_PROGRESS)
    )
    return list(dict.fromkeys(ids))


def _neighbours(db: Session, series_ids: Sequence[int]) -> dict[int, list[int]]:
    """Each series' neighbours from co-watching (written by the training), best first."""
    if not series_ids:
        return {}
    rows = db.execute(
        select(SimilarSeries.series_id, SimilarSeries.other_series_id)
        .where(SimilarSeries.series_id.in_(series_ids))
        .order_by(SimilarSeries.series_id, SimilarSeries.rank)
    ).all()
    found: dict[int, list[int]] = {}
    for series_id, other in rows:
        found.setdefault(series_id, []).append(other)
    return found


def _my_list_row(entries: Sequence[my_list.MyListEntry], found: dict[int, Poster]) -> DiscoverRow:
    """The viewer's My list, newest episode first, with the new episodes on each poster."""
    items = [
        found[e.series_id].model_copy(update={"new_episodes": e.new_episodes})
        for e in entries
        if e.series_id in found
    ]
    return DiscoverRow(
        key="my_list", kind=RowKind.my_list, title="My list", see_all_url="/my-list", items=items
    )


def personal_rows(
    *,
    db: Session,
    storage: Storage,
    viewer: Account,
    pools: for_you.SharedPools,
    limit: int = ROW_SIZE,
) -> list[DiscoverRow]:
    """The viewer's own rows, best row first: Continue watching, My list, For You, Because
    you watched … (empty ones included; `for_viewer` leaves them out)."""
    drop = for_you.seen_off(db=db, account_id=viewer.id)
    recommended = _for_you_ids(db, viewer, pools, drop)
    recent = _recent_series(db, viewer)
    neighbours = _neighbours(db, recent[: BECAUSE_ROWS * 4])
    because = [s for s in recent if neighbours.get(s)][:BECAUSE_ROWS]
    because_ids = {
        s: [n for n in neighbours[s] if n not in drop and n not in recent] for s in because
    }
    listed = my_list.entries(db, viewer.id, storage=storage, limit=limit)
    wanted = [*(e.series_id for e in listed), *recommended[:limit], *because]
    wanted += [n for s in because for n in because_ids[s][:limit]]
    cards = posters(db=db, storage=storage, series_ids=list(dict.fromkeys(wanted)))
    rows = [
        _continue_row(db, storage, viewer, limit),
        _my_list_row(listed, cards),
        _row(RowKind.for_you, "For You", cards, recommended, limit=limit),
    ]
    rows += [
        _row(
            RowKind.because,
            f"Because you watched {cards[s].title}",
            cards,
            because_ids[s],
            key=f"because:{s}",
            limit=limit,
        )
        for s in because
        if s in cards
    ]
    return rows


# -- the viewer's marks on every poster --------------------------------------------------------


def _watched_counts(db: Session, viewer: Account, series_ids: Sequence[int]) -> dict[int, int]:
    rows = db.execute(
        select(WatchProgress.series_id, func.count())
        .where(
            WatchProgress.account_id == viewer.id,
            WatchProgress.completed,
            WatchProgress.series_id.in_(series_ids),
        )
        .group_by(WatchProgress.series_id)
    ).all()
    return {series_id: int(count) for series_id, count in rows}


def _unlocked_counts(db: Session, viewer: Account, series_ids: Sequence[int]) -> dict[int, int]:
    rows = db.execute(
        select(Unlock.series_id, func.count(func.distinct(Unlock.episode_id)))
        .where(
            Unlock.account_id == viewer.id,
            Unlock.revoked_at.is_(None),
            Unlock.series_id.in_(series_ids),
        )
        .group_by(Unlock.series_id)
    ).all()
    return {series_id: int(count) for series_id, count in rows}


def mark_for(db: Session, viewer: Account, rows: Sequence[DiscoverRow]) -> list[DiscoverRow]:
    """The rows with each poster's episodes watched by the viewer and, where every episode is
    theirs to play (unlocked, VIP), `unlocked`: two grouped reads over the page's series."""
    series_ids = sorted({item.series_id for row in rows for item in row.items})
    if not series_ids:
        return list(rows)
    watched = _watched_counts(db, viewer, series_ids)
    plays_all = viewer.role == Role.admin or has_active_vip(
        db=db, account_id=viewer.id, now=utcnow()
    )
    unlocked = {} if plays_all else _unlocked_counts(db, viewer, series_ids)

    def marked(item: Poster) -> Poster:
        paid = item.episode_count - item.free_episodes
        access = item.access
        if paid > 0 and (plays_all or unlocked.get(item.series_id, 0) >= paid):
            access = Access.unlocked
        return item.model_copy(
            update={
                "episodes_watched": min(watched.get(item.series_id, 0), item.episode_count),
                "access": access,
            }
        )

    return [row.model_copy(update={"items": [marked(i) for i in row.items]}) for row in rows]


def for_viewer(
    *,
    db: Session,
    storage: Storage,
    viewer: Account | None,
    shared: Sequence[DiscoverRow],
    pools: for_you.SharedPools,
    limit: int = ROW_SIZE,
) -> DiscoverPage:
    """The page for this viewer (None: a visitor, who gets the shared rows): their rows, then
    the shared ones, every poster marked with their progress."""
    if viewer is None:
        return DiscoverPage(personal=False, rows=list(shared))
    mine = personal_rows(db=db, storage=storage, viewer=viewer, pools=pools, limit=limit)
    # For You and Because you watched first, Trending after them; continue watching on top.
    rows = [r for r in [*mine, *shared] if r.items]
    return DiscoverPage(personal=True, rows=mark_for(db, viewer, rows))
