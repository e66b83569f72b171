"""Shop schemas: what brands, creators and viewers send and receive."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from microdrama.types import Id, Line

# A placement's times fall inside an episode; a day is far past any (and fits the column).
MAX_PLACEMENT_MS = 24 * 3600 * 1000


class CampaignCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    series_id: Id
    title: Line = Field(default="", max_length=200)
    # What the brand will pay creators in commission; the placements hide once it is spent.
    budget_cents: int = Field(ge=1, le=1_000_000_000)  # $10M (the column is an integer)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    commission_percent: int = Field(ge=0, le=100)

    @field_validator("ends_at")
    @classmethod
    def _ends_after_start(cls, ends_at: datetime, info: ValidationInfo) -> datetime:
        starts_at = info.data.get("starts_at")
        if starts_at is not None and ends_at <= starts_at:
            raise ValueError("must be after the start")
        return ends_at


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


class PlacementCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    episode_id: Id
    product_id: Id
    start_ms: int = Field(ge=0, le=MAX_PLACEMENT_MS)
    end_ms: int = Field(ge=1, le=MAX_PLACEMENT_MS)
    x_permille: int = Field(default=500, ge=0, le=1000)
    y_permille: int = Field(default=500, ge=0, le=1000)

    @field_validator("end_ms")
    @classmethod
    def _ends_after_start(cls, end_ms: int, info: ValidationInfo) -> int:
        start_ms = info.data.get("start_ms")
        if start_ms is not None and end_ms <= start_ms:
            raise ValueError("must be after the start")
        return end_ms


class PlacementRead(BaseModel):
    id: int
    campaign_id: int
    episode_id: int
    product_id: int
    start_ms: int
    end_ms: int
    x_permille: int
    y_permille: int


class ShownVariant(BaseModel):
    id: int
    name: str
    price_cents: int
    in_stock: bool


class ShownProduct(BaseModel):
    id: int
    title: str
    price_cents: int
    currency: str
    image_url: str | None
    variants: list[ShownVariant]


class ShownPlacement(BaseModel):
    """What the player needs to slide a product card in and out."""

    id: int
    start_ms: int
    end_ms: int
    x_permille: int
    y_permille: int
    product: ShownProduct


class PlacementEventCreate(BaseModel):
    """What the player reports: the card was shown (impression) or opened (click). event_id is
    the player's own id for this event, so a resent event counts once."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["impression", "click"]
    event_id: str = Field(pattern=r"^[A-Za-z0-9._:\-]{1,64}$")


class Funnel(BaseModel):
    """Attribution numbers. Rates are integers in per-mille (125 = 12.5 %), money in cents."""

    impressions: int
    unique_viewers: int
    clicks: int
    click_through_permille: int
    orders: int
    revenue_cents: int


class PlacementFunnel(Funnel):
    placement_id: int
    episode_id: int
    product_id: int


class CampaignFunnel(Funnel):
    campaign_id: int
    placements: list[PlacementFunnel]
