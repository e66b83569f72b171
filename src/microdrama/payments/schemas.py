"""Payments API shapes: the store, purchases, VIP status and the admin catalog."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from microdrama.payments.models import PurchaseKind, PurchaseStatus
from microdrama.types import Line

CODE_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,39}$"
# Where a pack or plan sits in the store; any small number (the column is an integer).
SORT_ORDER_MAX = 1_000_000


class StoreItemRead(BaseModel):
    """What every coin pack and VIP plan has: its code, its price and its place in the store."""

    model_config = ConfigDict(from_attributes=True)

    code: str
    price_cents: int
    currency: str
    active: bool
    sort_order: int


class CoinPackRead(StoreItemRead):
    coins: int
    bonus_coins: int
    bonus_valid_days: int


class VipPlanRead(StoreItemRead):
    name: str
    period_days: int


class StoreRead(BaseModel):
    coin_packs: list[CoinPackRead]
    vip_plans: list[VipPlanRead]


class StoreItemWrite(BaseModel):
    """The terms every coin pack and VIP plan is sold on, as the operator sets them (PUT
    creates or replaces)."""

    model_config = ConfigDict(extra="forbid")

    price_cents: int = Field(ge=50, le=100_000_00)
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    active: bool = True
    sort_order: int = Field(default=0, ge=-SORT_ORDER_MAX, le=SORT_ORDER_MAX)


class CoinPackWrite(StoreItemWrite):
    """A coin pack as the operator sets it (PUT creates or replaces)."""

    coins: int = Field(ge=1, le=10_000_000)
    bonus_coins: int = Field(default=0, ge=0, le=10_000_000)
    bonus_valid_days: int = Field(default=30, ge=1, le=3650)


class VipPlanWrite(StoreItemWrite):
    name: Line = Field(min_length=1, max_length=80)
    period_days: int = Field(ge=1, le=3660)


class PurchaseCreate(BaseModel):
    """Buy one coin pack or one VIP plan; come back to `return_to` (a path on this site)."""

    model_config = ConfigDict(extra="forbid")

    coin_pack: Line | None = Field(default=None, max_length=40)
    vip_plan: Line | None = Field(default=None, max_length=40)
    return_to: Line | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _exactly_one_product(self) -> PurchaseCreate:
        if (self.coin_pack is None) == (self.vip_plan is None):
            raise ValueError("give exactly one of coin_pack or vip_plan")
        return self


class PurchaseCreated(BaseModel):
    id: int
    status: PurchaseStatus
    checkout_url: str


class PurchaseRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    status: PurchaseStatus
    kind: PurchaseKind
    amount_cents: int
    currency: str
    coins: int
    bonus_coins: int
    vip_plan: str | None = None
    provider: str
    failure_reason: str | None
    created_at: datetime
    paid_at: datetime | None
    refunded_at: datetime | None


class VipRead(BaseModel):
    active: bool
    plan: str | None
    plan_name: str | None
    ends_at: datetime | None
    auto_renew: bool


class AutoRenewUpdate(BaseModel):
    enabled: bool


class WebhookAnswer(BaseModel):
    received: bool = True
    status: str
    event_id: str
    event_type: str
