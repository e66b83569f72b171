"""The rankings API: one chart of the last day computed (discovery/rankings.py).

Every visitor gets the same answer until the job runs again, so it is built once per process
every few seconds (the public cache) and shared caches may keep it a minute: most of its cost
is the series cards (`catalog.feed_cards` loads each series' episodes)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from microdrama.cache import public_cache
from microdrama.db import session_factory, session_scope
from microdrama.discovery import rankings
from microdrama.discovery.models import Chart, ChartPeriod
from microdrama.discovery.ranking_schemas import RankingChartRead
from microdrama.storage import app_storage
from microdrama.types import Line

router = APIRouter(prefix="/api", tags=["discovery"])

PUBLIC_CACHE = "public, max-age=60"

Genre = Annotated[
    Line, Query(max_length=60, description='A genre\'s chart; "" (the default) is overall.')
]


@router.get("/rankings", response_model=RankingChartRead)
async def get_rankings(
    request: Request,
    chart: Chart = Chart.trending,
    period: ChartPeriod = ChartPeriod.daily,
    genre: Genre = "",
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Response:
    """A chart (trending, binged, unlocked, rising), daily or weekly, overall or of a genre,
    best first, with each series' change of rank since the day before."""
    factory, storage = session_factory(request), app_storage(request)  # no thread hops
    genre = genre.strip()

    def build() -> bytes:
        with session_scope(factory) as db:
            return rankings.chart_json(
                db=db, storage=storage, chart=chart, period=period, genre=genre, limit=limit
            )

    body = await public_cache(request).get_or_build(
        rankings.chart_key(chart, period, genre, limit), build
    )
    return Response(body, media_type="application/json", headers={"Cache-Control": PUBLIC_CACHE})
