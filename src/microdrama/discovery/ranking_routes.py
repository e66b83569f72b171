"""The rankings API: one chart of the last day computed (discovery/rankings.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from microdrama.db import DbSession
from microdrama.discovery import rankings
from microdrama.discovery.models import Chart, ChartPeriod
from microdrama.discovery.ranking_schemas import RankingChartRead
from microdrama.storage import AppStorage
from microdrama.types import Line

router = APIRouter(prefix="/api", tags=["discovery"])

# The same answer for everyone, recomputed by a job: shared caches may keep it a minute.
PUBLIC_CACHE = "public, max-age=60"

Genre = Annotated[
    Line, Query(max_length=60, description='A genre\'s chart; "" (the default) is overall.')
]


@router.get("/rankings", response_model=RankingChartRead)
def get_rankings(
    db: DbSession,
    storage: AppStorage,
    response: Response,
    chart: Chart = Chart.trending,
    period: ChartPeriod = ChartPeriod.daily,
    genre: Genre = "",
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> RankingChartRead:
    """A chart (trending, binged, unlocked, rising), daily or weekly, overall or of a genre,
    best first, with each series' change of rank since the day before."""
    response.headers["Cache-Control"] = PUBLIC_CACHE
    return rankings.read_chart(
        db=db, storage=storage, chart=chart, period=period, genre=genre.strip(), limit=limit
    )
