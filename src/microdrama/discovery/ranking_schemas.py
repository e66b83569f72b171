"""The rankings' answers: one chart's places with their series and change of rank."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from microdrama.catalog.schemas import SeriesCard
from microdrama.discovery.models import Chart, ChartPeriod
from microdrama.discovery.ranking_maths import Move


class RankedSeries(BaseModel):
    rank: int
    previous_rank: int | None = Field(description="Its rank on the same chart the day before.")
    move: Move = Field(description="Since the day before: up, down, same, or new on the chart.")
    places: int = Field(description="How many places up or down (0 when the same or new).")
    score: float
    series: SeriesCard


class RankingChartRead(BaseModel):
    chart: Chart
    period: ChartPeriod
    genre: str = Field(description='The genre of the chart; "" is the overall chart.')
    day: date | None = Field(description="The day the charts were computed for; None: never.")
    computed_at: datetime | None
    genres: list[str] = Field(description="The genres that have charts on that day.")
    entries: list[RankedSeries]
