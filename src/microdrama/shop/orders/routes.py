"""Orders API: the viewer's orders (and giving up an unpaid one); the brand's orders: ship,
deliver, refund. A refund takes an Idempotency-Key, like every money-moving endpoint."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy.orm import Session

from microdrama import idempotency
from microdrama.accounts import service as accounts
from microdrama.accounts.deps import CurrentBrand, CurrentViewer
from microdrama.config import AppSettings
from microdrama.db import DbSession, MoneyTransaction, MoneyTransactions, utcnow
from microdrama.idempotency import Money
from microdrama.shop.brand_view import BrandInView
from microdrama.shop.catalog import images as product_images
from microdrama.shop.models import Order, OrderStatus
from microdrama.shop.orders import service as orders
from microdrama.shop.orders.schemas import OrderItemRead, OrderRead
from microdrama.types import BigPathId, read_row

router = APIRouter(tags=["shop"])


def order_read(db: Session, order: Order) -> OrderRead:
    """The order as viewers and brands see it."""
    brand = accounts.get(db=db, account_id=order.brand_id)
    images = product_images.first_image_by_variant(
        db=db, variant_ids=[line.variant_id for line in order.lines if line.variant_id]
    )
    items = [
        read_row(
            OrderItemRead, line, image_url=images.get(line.variant_id) if line.variant_id else None
        )
        for line in order.lines
    ]
    return read_row(OrderRead, order, items=items, brand_name=brand.display_name if brand else "")


def release_expired_reservations(
    db: Session, apart: MoneyTransactions, account_id: int | None = None
) -> None:
    """Put back the stock of reservations that ran out (everyone's, or one account's), only
    when a cheap read says there is something to do."""
    if orders.has_expired_reservations(db=db, now=utcnow(), account_id=account_id):
        apart.run(lambda money_db: orders.release_expired(db=money_db, account_id=account_id))
        db.expire_all()


# --- the viewer's orders --------------------------------------------------------------------


@router.get("/api/orders")
def list_orders(db: DbSession, apart: MoneyTransaction, viewer: CurrentViewer) -> list[OrderRead]:
    """The viewer's orders, newest first, with their status."""
    release_expired_reservations(db, apart, viewer.id)
    return [order_read(db, o) for o in orders.list_orders(db=db, viewer=viewer)]


@router.get("/api/orders/{order_id}")
def get_order(
    order_id: BigPathId, db: DbSession, apart: MoneyTransaction, viewer: CurrentViewer
) -> OrderRead:
    """One of the viewer's orders (anyone else's is not found)."""
    release_expired_reservations(db, apart, viewer.id)
    return order_read(db, orders.get_order(db=db, viewer=viewer, order_id=order_id))


@router.post("/api/orders/{order_id}/cancel")
def cancel_order(
    order_id: BigPathId, db: DbSession, apart: MoneyTransaction, viewer: CurrentViewer
) -> OrderRead:
    """Give up an order still waiting for payment; its items go back on sale."""

    def cancel(money_db: Session) -> OrderRead:
        viewer_here = money_db.merge(viewer, load=False)
        order = orders.cancel_order(db=money_db, viewer=viewer_here, order_id=order_id)
        return order_read(money_db, order)

    return apart.run(cancel)


# --- the brand's orders ---------------------------------------------------------------------


@router.get("/api/brand/orders")
def list_brand_orders(db: DbSession, brand: BrandInView) -> list[OrderRead]:
    """Paid (and later) orders of the brand's goods, newest first."""
    return [order_read(db, o) for o in orders.list_brand_orders(db=db, brand=brand)]


@router.post("/api/brand/orders/{order_id}/ship")
def ship_order(order_id: BigPathId, db: DbSession, brand: CurrentBrand) -> OrderRead:
    """Mark a paid order shipped."""
    order = orders.advance(db=db, brand=brand, order_id=order_id, to=OrderStatus.shipped)
    return order_read(db, order)


@router.post("/api/brand/orders/{order_id}/deliver")
def deliver_order(order_id: BigPathId, db: DbSession, brand: CurrentBrand) -> OrderRead:
    """Mark a shipped order delivered."""
    order = orders.advance(db=db, brand=brand, order_id=order_id, to=OrderStatus.delivered)
    return order_read(db, order)


@router.post("/api/brand/orders/{order_id}/refund", **idempotency.answers(OrderRead, 200, 202))
def refund_order(
    order_id: BigPathId, settings: AppSettings, brand: CurrentBrand, money: Money
) -> dict[str, Any]:
    """Refund an order in full through its provider: 200 once applied (the sandbox answers at
    once), 202 while Stripe's refund event is on its way."""

    def effect(money_db: Session) -> idempotency.Outcome:
        brand_here = money_db.merge(brand, load=False)
        order = orders.refund(db=money_db, settings=settings, brand=brand_here, order_id=order_id)
        status = 200 if order.status == OrderStatus.refunded else 202
        return status, order_read(money_db, order).model_dump(mode="json")

    return money.run(brand.id, effect)
