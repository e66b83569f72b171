"""Answers and requests of the feed experiments' operator API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from microdrama.discovery.experiment_stats import Verdict
from microdrama.discovery.models import FeedOrder
from microdrama.types import Line

MIN_SHARE_PERCENT = 1
MAX_SHARE_PERCENT = 50


class ExperimentStart(BaseModel):
    """Send `share_percent` of viewers to `treatment_order`; the others keep For You."""

    model_config = ConfigDict(extra="forbid")

    name: Line = Field(min_length=1, max_length=120)
    treatment_order: Literal["popularity", "newest"] = Field(
        description="The other arm's feed order: popularity (the Trending order) or newest."
    )
    share_percent: int = Field(
        ge=MIN_SHARE_PERCENT,
        le=MAX_SHARE_PERCENT,
        description="Percent of viewers in the other arm (1-50); the rest are the control.",
    )

    @field_validator("name")
    @classmethod
    def _trimmed(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("Give the experiment a name.")
        return value.strip()


class ExperimentRead(BaseModel):
    id: int
    name: str
    treatment_order: FeedOrder
    share_percent: int
    started_at: datetime
    stopped_at: datetime | None
    running: bool
    started_by: str = Field(description="Who started it (email or name); empty if deleted.")


class Estimate(BaseModel):
    """A value with its 95 % interval (null where there is not enough data yet)."""

    value: float | None
    low: float | None
    high: float | None


class Difference(Estimate):
    """Treatment minus control, with its 95 % interval and what it says."""

    verdict: Verdict
    summary: str = Field(description='A sentence for people: "no clear difference yet".')


Metric = Literal["minutes_per_viewer", "episodes_per_viewer", "continuation", "unlocks_per_viewer"]


class MetricResult(BaseModel):
    metric: Metric
    label: str
    kind: Literal["mean", "proportion"]
    control: Estimate
    treatment: Estimate
    difference: Difference
    # Proportions: the counts behind them (completions, and how many went on).
    control_trials: int | None = None
    treatment_trials: int | None = None


class ArmResult(BaseModel):
    arm: FeedOrder
    role: Literal["control", "treatment"]
    viewers: int


class ExperimentResults(BaseModel):
    experiment: ExperimentRead
    arms: list[ArmResult]
    metrics: list[MetricResult]
    computed_at: datetime
    note: str = Field(description="What to keep in mind when reading the results.")


class ExperimentsPage(BaseModel):
    """The running experiment (if any), the results of the running or latest one, and the
    earlier ones."""

    running: ExperimentRead | None
    results: ExperimentResults | None
    experiments: list[ExperimentRead]
