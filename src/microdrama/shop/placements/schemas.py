"""Placement schemas: what brands and creators place and change, what the player shows and
reports, and the attribution funnels."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from microdrama.shop.campaigns.schemas import ends_after
from microdrama.types import Id

# A placement's times fall inside an episode; a day is far past any (and fits the column).
MAX_PLACEMENT_MS = 24 * 3600 * 1000


class PlacementCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    episode_id: Id
    product_id: Id
    start_ms: int = Field(ge=0, le=MAX_PLACEMENT_MS)
    end_ms: int = Field(ge=1, le=MAX_PLACEMENT_MS)
    x_permille: int = Field(default=500, ge=0, le=1000)
    y_permille: int = Field(default=500, ge=0, le=1000)

    _ends_after_start = ends_after("start_ms", "end_ms")


class PlacementUpdate(BaseModel):
    """The placement body with every field optional: only the given ones change."""

    model_config = ConfigDict(extra="forbid")

    episode_id: Id | None = None
    product_id: Id | None = None
    start_ms: int | None = Field(default=None, ge=0, le=MAX_PLACEMENT_MS)
    end_ms: int | None = Field(default=None, ge=1, le=MAX_PLACEMENT_MS)
    x_permille: int | None = Field(default=None, ge=0, le=1000)
    y_permille: int | None = Field(default=None, ge=0, le=1000)

    _ends_after_start = ends_after("start_ms", "end_ms")


class PlacementRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

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
