"""The store's catalog: coin packs and VIP plans, with the defaults a new database gets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from microdrama.payments.models import CoinPack, VipPlan


@dataclass(frozen=True)
class CoinPackDefault:
    code: str
    price_cents: int
    coins: int
    bonus_coins: int


@dataclass(frozen=True)
class VipPlanDefault:
    code: str
    name: str
    period_days: int
    price_cents: int


# Market figures (PRODUCT.md): $4.99 = 500 coins, $19.99 ≈ 2,200 coins, bonus on larger packs.
DEFAULT_COIN_PACKS = (
    CoinPackDefault("coins_100", 99, 100, 0),
    CoinPackDefault("coins_500", 499, 500, 0),
    CoinPackDefault("coins_1000", 999, 1000, 100),
    CoinPackDefault("coins_2000", 1999, 2000, 200),
    CoinPackDefault("coins_5000", 4999, 5000, 1000),
)

DEFAULT_VIP_PLANS = (
    VipPlanDefault("weekly", "VIP Weekly", 7, 1999),
    VipPlanDefault("monthly", "VIP Monthly", 30, 3999),
    VipPlanDefault("yearly", "VIP Yearly", 365, 19999),
)


def _add_missing(
    db: Session,
    model: type[CoinPack | VipPlan],
    defaults: Sequence[CoinPackDefault | VipPlanDefault],
    **fixed: int,
) -> None:
    """Insert the defaults whose codes the table lacks, in the defaults' display order."""
    have = set(db.scalars(select(model.code)))
    for order, default in enumerate(defaults):
        if default.code in have:
            continue
        row = model(**asdict(default), currency="USD", active=True, sort_order=order, **fixed)
        try:
            with db.begin_nested():
                db.add(row)
        except IntegrityError:
            pass  # a concurrent request seeded the same code first


def ensure_default_catalog(*, db: Session) -> None:
    """Add the default coin packs and VIP plans whose codes are missing (operator edits stay)."""
    _add_missing(db, CoinPack, DEFAULT_COIN_PACKS, bonus_valid_days=30)
    _add_missing(db, VipPlan, DEFAULT_VIP_PLANS)
    db.flush()


def catalog(*, db: Session, include_inactive: bool = False) -> tuple[list[CoinPack], list[VipPlan]]:
    """Coin packs and VIP plans in display order (the defaults on a brand-new database)."""
    if db.scalar(select(func.count(CoinPack.id))) == 0 and (
        db.scalar(select(func.count(VipPlan.id))) == 0
    ):
        ensure_default_catalog(db=db)
    packs = select(CoinPack).order_by(CoinPack.sort_order, CoinPack.price_cents, CoinPack.id)
    plans = select(VipPlan).order_by(VipPlan.sort_order, VipPlan.period_days, VipPlan.id)
    if not include_inactive:
        packs, plans = packs.where(CoinPack.active), plans.where(VipPlan.active)
    return list(db.scalars(packs)), list(db.scalars(plans))


def get_vip_plan(*, db: Session, plan_id: int) -> VipPlan | None:
    """A VIP plan by id."""
    return db.get(VipPlan, plan_id)


_Catalogued = TypeVar("_Catalogued", CoinPack, VipPlan)


def _upsert_by_code(
    db: Session, model: type[_Catalogued], code: str, values: dict[str, Any]
) -> _Catalogued:
    item = db.scalar(select(model).where(model.code == code))
    if item is None:
        item = model(code=code)
        db.add(item)
    for name, value in values.items():
        setattr(item, name, value)
    db.flush()
    return item


def upsert_coin_pack(*, db: Session, code: str, values: dict[str, Any]) -> CoinPack:
    """Create or change a coin pack (purchases already made keep their frozen terms)."""
    return _upsert_by_code(db, CoinPack, code, values)


def upsert_vip_plan(*, db: Session, code: str, values: dict[str, Any]) -> VipPlan:
    """Create or change a VIP plan (passes already bought keep their periods)."""
    return _upsert_by_code(db, VipPlan, code, values)
