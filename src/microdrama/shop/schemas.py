"""Shop schemas: what brands, creators and viewers send and receive."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from microdrama.types import Id, Line, Text

SKU_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$"
# A placement's times fall inside an episode; a day is far past any (and fits the column).
MAX_PLACEMENT_MS = 24 * 3600 * 1000


class VariantCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Line = Field(min_length=1, max_length=120)
    sku: str = Field(pattern=SKU_PATTERN)
    stock: int = Field(default=0, ge=0, le=1_000_000)
    price_cents: int | None = Field(default=None, ge=0, le=100_000_000)


class VariantUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Line | None = Field(default=None, min_length=1, max_length=120)
    stock: int | None = Field(default=None, ge=0, le=1_000_000)
    price_cents: int | None = Field(default=None, ge=0, le=100_000_000)


class ProductCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: Line = Field(min_length=1, max_length=200)
    description: Text = Field(default="", max_length=4000)
    image_urls: list[Line] = Field(default_factory=list, max_length=10)
    price_cents: int = Field(ge=0, le=100_000_000)
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    sku: str = Field(pattern=SKU_PATTERN)
    active: bool = True
    variants: list[VariantCreate] = Field(default_factory=list, max_length=50)


class ProductUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: Line | None = Field(default=None, min_length=1, max_length=200)
    description: Text | None = Field(default=None, max_length=4000)
    image_urls: list[Line] | None = Field(default=None, max_length=10)
    price_cents: int | None = Field(default=None, ge=0, le=100_000_000)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    active: bool | None = None


class VariantRead(BaseModel):
    id: int
    name: str
    sku: str
    stock: int
    price_cents: int | None


class ProductRead(BaseModel):
    id: int
    title: str
    description: str
    image_urls: list[str]
    price_cents: int
    currency: str
    sku: str
    active: bool
    variants: list[VariantRead]


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
