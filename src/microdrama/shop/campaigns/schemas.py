"""Campaign schemas: what a brand sends, what brands and creators receive."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from microdrama.types import Id, Line


def ends_after(start: str, end: str) -> Any:
    """A validator of the field `end`: after the field `start` when both are given."""

    def _ends_after_start(cls: type[BaseModel], value: Any, info: ValidationInfo) -> Any:
        begins = info.data.get(start)
        if begins is not None and value is not None and value <= begins:
            raise ValueError("must be after the start")
        return value

    return field_validator(end)(_ends_after_start)


class CampaignCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    series_id: Id
    title: Line = Field(default="", max_length=200)
    # What the brand will pay creators in commission; the placements hide once it is spent.
    budget_cents: int = Field(ge=1, le=1_000_000_000)  # $10M (the column is an integer)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    commission_percent: int = Field(ge=0, le=100)

    _ends_after_start = ends_after("starts_at", "ends_at")


class CampaignRead(BaseModel):
    id: int
    brand_id: int
    series_id: int
    title: str
    budget_cents: int
    starts_at: datetime
    ends_at: datetime
    commission_percent: int
    status: str
    decided_at: datetime | None
    # Commissions its orders earned so far, and whether its placements show now: requested,
    # declined, scheduled, live, ended or budget_spent.
    spent_cents: int
    delivery: str
