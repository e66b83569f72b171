"""Shop tables: brand-owned products and variants, campaigns, in-episode placements, and the
viewer's cart and orders."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from microdrama.db import BIG_ID, Base, CreatedAt, IntPk


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (
        UniqueConstraint("owner_id", "sku", name="uq_products_owner_sku"),
        CheckConstraint("price_cents >= 0", name="price_not_negative"),
    )

    id: Mapped[IntPk]
    owner_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # Absolute URLs or storage keys of the product's pictures, first one is the card's.
    image_urls: Mapped[list[str]] = mapped_column(JSON, default=list)
    price_cents: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    sku: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[CreatedAt]

    variants: Mapped[list[ProductVariant]] = relationship(
        back_populates="product", order_by="ProductVariant.id", cascade="all, delete-orphan"
    )


class ProductVariant(Base):
    __tablename__ = "product_variants"
    __table_args__ = (
        UniqueConstraint("product_id", "sku", name="uq_product_variants_product_sku"),
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        CheckConstraint("price_cents IS NULL OR price_cents >= 0", name="price_not_negative"),
    )

    id: Mapped[IntPk]
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    sku: Mapped[str] = mapped_column(String(64))
    stock: Mapped[int] = mapped_column(default=0)
    # None: the product's price.
    price_cents: Mapped[int | None] = mapped_column()

    product: Mapped[Product] = relationship(back_populates="variants")


class CampaignStatus(enum.StrEnum):
    requested = "requested"
    accepted = "accepted"
    declined = "declined"


class Campaign(Base):
    """A brand's request to place products in one series; the series' creator decides."""

    __tablename__ = "campaigns"
    __table_args__ = (
        CheckConstraint("budget_cents >= 0", name="budget_not_negative"),
        CheckConstraint(
            "commission_percent >= 0 AND commission_percent <= 100", name="commission_range"
        ),
    )

    id: Mapped[IntPk]
    brand_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    budget_cents: Mapped[int]
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    # The creator's affiliate commission on orders from this campaign's placements.
    commission_percent: Mapped[int]
    status: Mapped[CampaignStatus] = mapped_column(default=CampaignStatus.requested)
    created_at: Mapped[CreatedAt]
    decided_at: Mapped[datetime | None]


class Placement(Base):
    """A product shown in an episode from start_ms to end_ms at a point of the screen."""

    __tablename__ = "placements"
    __table_args__ = (
        CheckConstraint("start_ms >= 0 AND start_ms < end_ms", name="time_range"),
        CheckConstraint("x_permille >= 0 AND x_permille <= 1000", name="x_range"),
        CheckConstraint("y_permille >= 0 AND y_permille <= 1000", name="y_range"),
    )

    id: Mapped[IntPk]
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    episode_id: Mapped[int] = mapped_column(
        ForeignKey("episodes.id", ondelete="CASCADE"), index=True
    )
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    start_ms: Mapped[int]
    end_ms: Mapped[int]
    # Where the card points, in thousandths of the frame's width and height (0,0 = top left).
    x_permille: Mapped[int] = mapped_column(default=500)
    y_permille: Mapped[int] = mapped_column(default=500)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    created_at: Mapped[CreatedAt]
    # Set when a brand or creator deletes it: no longer shown, its attribution history kept.
    removed_at: Mapped[datetime | None]

    product: Mapped[Product] = relationship()


class PlacementEventKind(enum.StrEnum):
    impression = "impression"  # the card was shown
    click = "click"  # the sheet was opened
    add_to_cart = "add_to_cart"  # a variant went into the cart from this placement
    order = "order"  # an order with a line attributed to this placement was paid


class PlacementEvent(Base):
    """One attribution event a player reported for a placement. The player gives each event an
    id of its own; (placement, viewer, event id) is unique so a resent event counts once."""

    __tablename__ = "placement_events"
    __table_args__ = (
        UniqueConstraint(
            "placement_id", "viewer_key", "event_id", name="uq_placement_events_viewer_event"
        ),
    )

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    placement_id: Mapped[int] = mapped_column(
        ForeignKey("placements.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[PlacementEventKind]
    # The viewer (a guest account for a device without sign-in); null once the account is gone.
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    # "a:<account id>" (or "d:<device>" for events without an account): who counts as one viewer.
    viewer_key: Mapped[str] = mapped_column(String(80))
    event_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[CreatedAt]


class CartItem(Base):
    """A variant in a viewer's cart (guests too: their device account), with the placement it
    was added from (attribution: the last placement wins)."""

    __tablename__ = "cart_items"
    __table_args__ = (
        UniqueConstraint("account_id", "variant_id", name="uq_cart_items_account_variant"),
        CheckConstraint("quantity >= 1", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    variant_id: Mapped[int] = mapped_column(
        ForeignKey("product_variants.id", ondelete="CASCADE"), index=True
    )
    quantity: Mapped[int] = mapped_column(default=1)
    placement_id: Mapped[int | None] = mapped_column(
        ForeignKey("placements.id", ondelete="SET NULL")
    )
    created_at: Mapped[CreatedAt]

    variant: Mapped[ProductVariant] = relationship()


class OrderStatus(enum.StrEnum):
    pending_payment = "pending_payment"  # stock reserved until reserved_until
    paid = "paid"
    shipped = "shipped"
    delivered = "delivered"
    cancelled = "cancelled"  # never paid (reservation expired) or paid too late and refunded
    refunded = "refunded"


# Orders whose money stays where the payment put it: they count as sales and earn commissions.
EARNING_STATUSES = (OrderStatus.paid, OrderStatus.shipped, OrderStatus.delivered)


class Order(Base):
    """One brand's goods bought by a viewer in one checkout. Stock is reserved by taking it off
    the variants at checkout; an order cancelled before payment puts it back."""

    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint("total_cents >= 0", name="total_not_negative"),
        Index("ix_orders_status_reserved_until", "status", "reserved_until"),
    )

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    brand_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    status: Mapped[OrderStatus] = mapped_column(
        Enum(OrderStatus, native_enum=False, length=20), default=OrderStatus.pending_payment
    )
    total_cents: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    # {name, line1, line2, city, postal_code, region, country}
    shipping: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    purchase_id: Mapped[int | None] = mapped_column(BIG_ID, ForeignKey("purchases.id"), unique=True)
    # While pending_payment: the reserved stock goes back after this moment.
    reserved_until: Mapped[datetime | None]
    # The split, frozen when the payment is booked (sums to total_cents).
    brand_revenue_cents: Mapped[int] = mapped_column(default=0)
    commission_cents: Mapped[int] = mapped_column(default=0)
    platform_fee_cents: Mapped[int] = mapped_column(default=0)
    note: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[CreatedAt] = mapped_column(index=True)
    paid_at: Mapped[datetime | None]
    shipped_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    refunded_at: Mapped[datetime | None]

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", order_by="OrderLine.id", cascade="all, delete-orphan"
    )


def line_total(quantity: int, unit_price_cents: int) -> int:
    """An order line's amount (also for lines read as rows, without the object)."""
    return quantity * unit_price_cents


class OrderLine(Base):
    """A variant bought, its price and the campaign's commission rate frozen at checkout."""

    __tablename__ = "order_lines"
    __table_args__ = (
        CheckConstraint("quantity >= 1", name="quantity_positive"),
        CheckConstraint("unit_price_cents >= 0", name="price_not_negative"),
    )

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    order_id: Mapped[int] = mapped_column(
        BIG_ID, ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    variant_id: Mapped[int | None] = mapped_column(
        ForeignKey("product_variants.id", ondelete="SET NULL"), index=True
    )
    product_title: Mapped[str] = mapped_column(String(200))
    variant_name: Mapped[str] = mapped_column(String(120))
    quantity: Mapped[int]
    unit_price_cents: Mapped[int]
    # The placement the item was added from; its creator earns commission_percent of the line.
    placement_id: Mapped[int | None] = mapped_column(
        ForeignKey("placements.id", ondelete="SET NULL"), index=True
    )
    creator_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    commission_percent: Mapped[int] = mapped_column(default=0)
    commission_cents: Mapped[int] = mapped_column(default=0)  # set when paid

    order: Mapped[Order] = relationship(back_populates="lines")

    @property
    def total_cents(self) -> int:
        return line_total(self.quantity, self.unit_price_cents)
