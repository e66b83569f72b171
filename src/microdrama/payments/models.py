"""Payments: what can be bought (coin packs, VIP plans), purchases and provider events."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from microdrama.db import BIG_ID, Base, CreatedAt, IntPk, utcnow


class CoinPack(Base):
    """Operator-configurable: $4.99 = 500 coins (+ bonus coins on larger packs)."""

    __tablename__ = "coin_packs"

    id: Mapped[IntPk]
    code: Mapped[str] = mapped_column(String(40), unique=True)
    price_cents: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    coins: Mapped[int]
    bonus_coins: Mapped[int] = mapped_column(default=0)
    bonus_valid_days: Mapped[int] = mapped_column(default=30)
    active: Mapped[bool] = mapped_column(default=True)
    sort_order: Mapped[int] = mapped_column(default=0)


class VipPlan(Base):
    __tablename__ = "vip_plans"

    id: Mapped[IntPk]
    code: Mapped[str] = mapped_column(String(40), unique=True)  # weekly, monthly, yearly
    name: Mapped[str] = mapped_column(String(80))
    period_days: Mapped[int]
    price_cents: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    active: Mapped[bool] = mapped_column(default=True)
    sort_order: Mapped[int] = mapped_column(default=0)


class PurchaseKind(enum.StrEnum):
    coin_pack = "coin_pack"
    vip = "vip"
    order = "order"  # a shop order (shop.orders)


class PurchaseStatus(enum.StrEnum):
    pending = "pending"
    paid = "paid"
    failed = "failed"
    refunded = "refunded"


class Purchase(Base):
    __tablename__ = "purchases"
    __table_args__ = (UniqueConstraint("provider", "provider_ref"),)

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    kind: Mapped[PurchaseKind]
    coin_pack_id: Mapped[int | None] = mapped_column(ForeignKey("coin_packs.id"))
    vip_plan_id: Mapped[int | None] = mapped_column(ForeignKey("vip_plans.id"))
    # What was promised at checkout, frozen: later price changes don't alter this purchase.
    amount_cents: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    coins: Mapped[int] = mapped_column(default=0)
    bonus_coins: Mapped[int] = mapped_column(default=0)
    provider: Mapped[str] = mapped_column(String(20))  # sandbox, stripe
    provider_ref: Mapped[str | None] = mapped_column(String(255))  # checkout session id
    status: Mapped[PurchaseStatus] = mapped_column(default=PurchaseStatus.pending)
    failure_reason: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[CreatedAt]
    paid_at: Mapped[datetime | None]
    refunded_at: Mapped[datetime | None]


class PaymentEvent(Base):
    """Every provider webhook event ever applied: replays and retries are recognised here."""

    __tablename__ = "payment_events"
    __table_args__ = (UniqueConstraint("provider", "event_id"),)

    id: Mapped[IntPk]
    provider: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(80))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class VipPass(Base):
    """A period of VIP access bought by a purchase; renewals add consecutive passes."""

    __tablename__ = "vip_passes"
    __table_args__ = (Index("ix_vip_passes_account_period", "account_id", "ends_at"),)

    id: Mapped[IntPk]
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    plan_id: Mapped[int] = mapped_column(ForeignKey("vip_plans.id"))
    purchase_id: Mapped[int] = mapped_column(BIG_ID, ForeignKey("purchases.id"), unique=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    auto_renew: Mapped[bool] = mapped_column(default=True)
    revoked_at: Mapped[datetime | None]
