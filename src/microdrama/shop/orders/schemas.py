"""Order schemas: what viewers and brands receive of an order, and its shipping address."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from microdrama.types import Line


class ShippingAddress(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Line = Field(min_length=1, max_length=120)
    line1: Line = Field(min_length=1, max_length=200)
    line2: Line = Field(default="", max_length=200)
    city: Line = Field(min_length=1, max_length=100)
    postal_code: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9 \-]{1,11}$")
    region: Line = Field(default="", max_length=100)
    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2, e.g. US")


class OrderItemRead(BaseModel):
    variant_id: int | None
    product_title: str
    variant_name: str
    quantity: int
    unit_price_cents: int
    placement_id: int | None
    # The product's shown image today (an order keeps no copy): None when it has none.
    image_url: str | None = None


class OrderRead(BaseModel):
    id: int
    status: str
    created_at: datetime
    paid_at: datetime | None
    shipped_at: datetime | None
    delivered_at: datetime | None
    cancelled_at: datetime | None
    refunded_at: datetime | None
    reserved_until: datetime | None
    items: list[OrderItemRead]
    total_cents: int
    currency: str
    shipping: ShippingAddress
    brand_id: int
    brand_name: str
    note: str
