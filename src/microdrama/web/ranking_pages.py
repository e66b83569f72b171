"""The rankings page: one chart as a numbered list, with links for the other charts, periods
and genres (plain links: the page needs no script)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from microdrama.cache import PublicCache
from microdrama.db import DbSession
from microdrama.discovery import rankings
from microdrama.discovery.models import Chart, ChartPeriod
from microdrama.storage import AppStorage
from microdrama.types import Line
from microdrama.web.routes import _known_viewer, _render, _viewer_summary

router = APIRouter(include_in_schema=False)

PAGE_LIMIT = 50
CHART_NAMES = {
    Chart.trending: "Trending",
    Chart.binged: "Most binged",
    Chart.unlocked: "Top unlocked",
    Chart.rising: "Rising",
}
CHART_HINTS = {
    Chart.trending: "What people started and finished lately, the latest counting most.",
    Chart.binged: "Episodes watched per viewer who started the series.",
    Chart.unlocked: "Episodes unlocked with coins or ads.",
    Chart.rising: "Audience growing fastest against the period before.",
}
PERIOD_NAMES = {ChartPeriod.daily: "Today", ChartPeriod.weekly: "This week"}


def rankings_url(chart: Chart, period: ChartPeriod, genre: str) -> str:
    """The page of one chart; the defaults are left out of the address."""
    query = {"chart": chart.value, "period": period.value, "genre": genre}
    if chart == Chart.trending:
        del query["chart"]
    if period == ChartPeriod.daily:
        del query["period"]
    if not genre:
        del query["genre"]
    return "/rankings" + (f"?{urlencode(query)}" if query else "")


def _when(at: datetime | None) -> str | None:
    return None if at is None else f"{at:%b} {at.day}, {at:%H:%M} UTC"


@router.get("/rankings", response_class=HTMLResponse)
def rankings_page(
    request: Request,
    db: DbSession,
    storage: AppStorage,
    cache: PublicCache,
    chart: Chart = Chart.trending,
    period: ChartPeriod = ChartPeriod.daily,
    genre: Annotated[Line, Query(max_length=60)] = "",
) -> Response:
    """Trending, Most binged, Top unlocked and Rising, daily or weekly, overall or by genre."""
    genre = genre.strip()
    ranking = rankings.cached_chart(
        cache=cache,
        db=db,
        storage=storage,
        chart=chart,
        period=period,
        genre=genre,
        limit=PAGE_LIMIT,
    )
    genres = ranking.genres if not genre or genre in ranking.genres else [*ranking.genres, genre]
    context = {
        "ranking": ranking,
        "chart_tabs": [(CHART_NAMES[c], rankings_url(c, period, genre), c == chart) for c in Chart],
        "period_tabs": [
            (PERIOD_NAMES[p], rankings_url(chart, p, genre), p == period) for p in ChartPeriod
        ],
        "genre_tabs": [("All genres", rankings_url(chart, period, ""), not genre)]
        + [(g.title(), rankings_url(chart, period, g), g == genre) for g in genres],
        "chart_name": CHART_NAMES[chart],
        "chart_hint": CHART_HINTS[chart],
        "period_name": PERIOD_NAMES[period],
        "updated": _when(ranking.computed_at),
        "viewer": _viewer_summary(db, _known_viewer(request, db)),
    }
    return _render(request, "rankings.html", context)
