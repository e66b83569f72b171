"""Search as you type: published series found by title, creator, tags, genre or synopsis,
with prefixes, typos and accents forgiven, filtered, ranked by relevance then popularity.

The database's trigram index retrieves candidates (search_index.py); one scoring function
ranks them (search_text.py), so SQLite and PostgreSQL answer a corpus alike. Among equally
relevant series the one with more distinct viewers in the last 7 days goes first (counted for
the few candidates only). Lists without words (filters alone, and the series suggested when
nothing matches) follow the weekly Trending chart the rankings job computes.

"Complete" can only mean what the catalog knows: a series has no planned episode count, so a
complete series is one whose every episode is out (ready to play), none still transcoding,
in review, failed or refused. An ongoing series between two uploads looks complete too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from math import floor

from sqlalchemy import ColumnElement, and_, distinct, func, select
from sqlalchemy.orm import Session

from microdrama.accounts.models import Account
from microdrama.analytics.models import EpisodeView
from microdrama.catalog import service as catalog
from microdrama.catalog.models import Episode, EpisodeState, Series
from microdrama.db import utcnow
from microdrama.discovery import rankings, search_index
from microdrama.discovery.models import Chart, ChartPeriod, RankingEntry
from microdrama.discovery.search_schemas import SearchAnswer, SearchHit
from microdrama.discovery.search_text import MIN_RELEVANCE, Document, Query
from microdrama.storage import Storage

POPULAR_DAYS = 7
# Series shown instead when nothing matches.
SUGGESTIONS = 6
# Relevance within one step counts as equal: the more popular series goes first.
RELEVANCE_STEP = 0.05


@dataclass(frozen=True)
class Filters:
    genre: str | None = None
    language: str | None = None
    free_only: bool = False
    complete_only: bool = False

    def __bool__(self) -> bool:
        return bool(self.genre or self.language or self.free_only or self.complete_only)


def _conditions(filters: Filters) -> list[ColumnElement[bool]]:
    where = list(catalog.in_feed())
    if filters.genre:
        where.append(func.lower(Series.genre) == filters.genre.lower())
    if filters.language:
        where.append(func.lower(Series.language) == filters.language.lower())
    if filters.free_only:
        where.append(Series.free_episodes > 0)
    if filters.complete_only:
        where.append(_all_out())
    return where


def _all_out() -> ColumnElement[bool]:
    """Every episode of the series is ready: none transcoding, in review, failed or refused."""
    not_out = select(Episode.id).where(
        Episode.series_id == Series.id, Episode.state != EpisodeState.ready
    )
    return ~not_out.exists()


def _since() -> ColumnElement[bool]:
    return and_(
        EpisodeView.started_at >= utcnow() - timedelta(days=POPULAR_DAYS), EpisodeView.played
    )


def viewers_last_week(db: Session, series_ids: list[int]) -> dict[int, int]:
    """Distinct viewers who played an episode of each series in the last 7 days."""
    if not series_ids:
        return {}
    rows = db.execute(
        select(EpisodeView.series_id, func.count(distinct(EpisodeView.account_id)))
        .where(EpisodeView.series_id.in_(series_ids), _since())
        .group_by(EpisodeView.series_id)
    )
    return {series_id: viewers for series_id, viewers in rows}


@dataclass(frozen=True)
class _Found:
    series_id: int
    relevance: float | None
    viewers: int


def _ranked(
    db: Session, query: Query, where: list[ColumnElement[bool]], *, filtered: bool, limit: int
) -> list[_Found]:
    """The `limit` best candidates relevant enough, best first.

    Popularity orders series within one relevance step only, so it is counted just for the
    steps the first `limit` reach: the candidates of lower steps can never be among them
    (counting the viewers of all 200 candidates was a fifth of an uncached search)."""
    scored = []
    for document in search_index.candidates(db, query, where, filtered=filtered):
        relevance = document.relevance(query)
        if relevance >= MIN_RELEVANCE:
            step = floor(relevance / RELEVANCE_STEP + 1e-9)
            scored.append((step, relevance, document))
    scored.sort(key=lambda item: -item[0])
    if len(scored) > limit:
        last_step = scored[limit - 1][0]
        scored = [item for item in scored if item[0] >= last_step]
    viewers = viewers_last_week(db, [d.series_id for _, _, d in scored])

    def order(item: tuple[int, float, Document]) -> tuple[int, int, float, str, int]:
        step, relevance, document = item
        popularity = viewers.get(document.series_id, 0)
        return (-step, -popularity, -relevance, document.title, document.series_id)

    return [
        _Found(d.series_id, relevance, viewers.get(d.series_id, 0))
        for _, relevance, d in sorted(scored, key=order)[:limit]
    ]


def _trending(db: Session, where: list[ColumnElement[bool]], limit: int) -> list[_Found]:
    """Series admitted by `where` in the order of the last weekly Trending chart (computed by
    the rankings job: no scan of the views here), the newest first where it has none."""
    day = rankings.latest_day(db)
    chart = (
        select(RankingEntry.series_id, RankingEntry.rank)
        .where(
            RankingEntry.day == day,
            RankingEntry.chart == Chart.trending.value,
            RankingEntry.period == ChartPeriod.weekly.value,
            RankingEntry.genre == "",
        )
        .subquery()
    )
    series_ids = list(
        db.scalars(
            select(Series.id)
            .outerjoin(chart, chart.c.series_id == Series.id)
            .where(*where)
            .order_by(chart.c.rank.asc().nulls_last(), *catalog.NEWEST_FIRST)
            .limit(limit)
        )
    )
    viewers = viewers_last_week(db, series_ids)
    return [_Found(series_id, None, viewers.get(series_id, 0)) for series_id in series_ids]


def _hits(db: Session, storage: Storage, found: list[_Found]) -> list[SearchHit]:
    """The cards of these series in this order, with what a result shows more."""
    ids = [f.series_id for f in found]
    cards = catalog.feed_cards(db=db, storage=storage, series_ids=ids)
    more = {
        series_id: (language, creator, complete)
        for series_id, language, creator, complete in db.execute(
            select(Series.id, Series.language, Account.display_name, _all_out())
            .join(Account, Account.id == Series.owner_id)
            .where(Series.id.in_(ids))
        )
    }
    by_id = {f.series_id: f for f in found}
    hits = []
    for card in cards:
        language, creator, complete = more[card.id]
        hits.append(
            SearchHit(
                **card.model_dump(),
                language=language,
                creator=creator,
                complete=complete,
                viewers_last_week=by_id[card.id].viewers,
                relevance=by_id[card.id].relevance,
            )
        )
    return hits


def search(
    *, db: Session, storage: Storage, text: str, filters: Filters, limit: int = 20
) -> SearchAnswer:
    """The series answering `text` under `filters`, best first. Without text, the filtered
    catalog as Trending orders it; without text or filters, nothing but suggestions. When
    nothing matches, a few trending series instead and a hint."""
    search_index.refresh_stale(db)
    query = Query.parse(text)
    where = _conditions(filters)
    if query.words:
        found = _ranked(db, query, where, filtered=bool(filters), limit=limit)
    elif filters:
        found = _trending(db, where, limit)
    else:
        found = []
    items = _hits(db, storage, found)
    answer = SearchAnswer(query=text.strip(), items=items)
    if not query.words and not filters:
        answer.message = "Type a title, a creator, a genre or a tag."
    elif not items:
        answer.message = _nothing_found(text.strip(), filters)
    if not items:
        popular = _trending(db, list(catalog.in_feed()), SUGGESTIONS)
        answer.suggestions = _hits(db, storage, popular)
    return answer


def _nothing_found(text: str, filters: Filters) -> str:
    what = f"“{text}”" if text else "these filters"
    message = f"No series match {what}."
    if text and filters:
        return f"{message} Try removing a filter, or check the spelling."
    if filters:
        return f"{message} Try removing a filter."
    return f"{message} Check the spelling, or try a shorter word."


def facets(*, db: Session) -> tuple[list[str], list[str]]:
    """The genres and languages of the series viewers can see, for the filters."""
    where = catalog.in_feed()
    genres = db.scalars(select(Series.genre).where(*where).distinct().order_by(Series.genre))
    languages = db.scalars(
        select(Series.language).where(*where).distinct().order_by(Series.language)
    )
    return list(genres), list(languages)
