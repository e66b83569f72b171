"""Cart and checkout schemas: what viewers send and receive."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from microdrama.shop.orders.schemas import OrderRead, ShippingAddress
from microdrama.types import Id

MAX_QUANTITY = 20


class CartItemCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    variant_id: Id
    quantity: int = Field(default=1, ge=1, le=MAX_QUANTITY)
    # The placement the viewer added it from (attribution); None from the cart page.
    placement_id: Id | None = None


class CartItemUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quantity: int = Field(ge=1, le=MAX_QUANTITY)


class CartItemRead(BaseModel):
    id: int
    variant_id: int
    product_id: int
    product_title: str
    variant_name: str
    image_url: str | None
    brand_id: int
    brand_name: str
    quantity: int
    unit_price_cents: int
    currency: str
    in_stock: bool
    placement_id: int | None


class CartRead(BaseModel):
    items: list[CartItemRead]
    total_cents: int
    currency: str


class CheckoutCreate(BaseModel):
    """Check out the cart (all of it, or one brand's items when it holds several brands') or,
    for "Buy now", just the given items."""

    model_config = ConfigDict(extra="forbid")

    shipping: ShippingAddress
    items: list[CartItemCreate] | None = Field(default=None, min_length=1, max_length=20)
    brand_id: Id | None = None


class CheckoutStarted(BaseModel):
    order: OrderRead
    checkout_url: str
