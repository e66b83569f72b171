"""Shop reports' schemas: a brand's funnel rows and days, a creator's commissions."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict

GroupBy = Literal["placement", "campaign", "series"]

# The reports' answers are built as dicts by the reports' service: `extra="forbid"` makes a key
# added there without a field here fail the tests instead of vanishing from the answer.


class FunnelRow(BaseModel):
    """One placement, campaign or series of a brand's funnel report (or the report's total).
    Rates are integers in per-mille (125 = 12.5 %), money in cents."""

    model_config = ConfigDict(extra="forbid")

    key: str
    label: str
    series_id: int | None
    series_title: str | None
    campaign_id: int | None
    placement_id: int | None
    episode_number: int | None
    product_title: str | None
    impressions: int
    unique_viewers: int
    clicks: int
    add_to_carts: int
    orders: int
    revenue_cents: int
    commission_cents: int
    click_through_permille: int
    add_to_cart_permille: int
    order_permille: int
    roas_permille: int | None  # revenue per commission; null before any commission


class FunnelReport(BaseModel):
    """A brand's funnel rows over a date range, and their totals."""

    model_config = ConfigDict(extra="forbid")

    group_by: GroupBy
    since: date
    until: date
    currency: str
    rows: list[FunnelRow]
    totals: FunnelRow


class FunnelDay(BaseModel):
    model_config = ConfigDict(extra="forbid")

    day: str  # YYYY-MM-DD, UTC
    impressions: int
    clicks: int
    add_to_carts: int
    orders: int
    revenue_cents: int


class FunnelDays(BaseModel):
    """A brand's funnel per day, every day of the range (zeros included)."""

    model_config = ConfigDict(extra="forbid")

    days: list[FunnelDay]


class CommissionRow(BaseModel):
    """A creator's affiliate earnings from one placement on their series."""

    model_config = ConfigDict(extra="forbid")

    placement_id: int
    series_id: int | None
    series_title: str
    episode_id: int
    episode_number: int | None
    product_title: str
    brand_name: str
    orders: int
    revenue_cents: int
    commission_cents: int


class CommissionReport(BaseModel):
    """A creator's commission per placement, and the total the ledger credited them."""

    model_config = ConfigDict(extra="forbid")

    currency: str
    total_commission_cents: int
    rows: list[CommissionRow]
