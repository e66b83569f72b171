"""Orders after checkout: reservations running out, the order's payment and refund (the money
split through the ledger), the viewer's and the brand's orders, shipping (see docs/shop.md).

Orders are locked with SKIP LOCKED by everyone but their own payment, so the lock order
(purchase → order → variants → ledger accounts) holds; their stock goes back through
shop/stock.py, the only code that changes stock.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.orm import Session, joinedload, selectinload

from microdrama.accounts.models import Account, Role
from microdrama.config import Settings
from microdrama.db import utcnow
from microdrama.errors import Conflict, NotFound
from microdrama.payments import purchases, webhooks
from microdrama.payments.models import Purchase, PurchaseKind
from microdrama.shop import stock
from microdrama.shop.models import (
    Order,
    OrderStatus,
    PlacementEvent,
    PlacementEventKind,
)
from microdrama.wallet import ledger, order_payments


class InvalidOrderStatus(Conflict, code="invalid_order_status"): ...


# --- reservations running out ---------------------------------------------------------------


def _expired(now: datetime, account_id: int | None) -> list[ColumnElement[bool]]:
    conditions = [Order.status == OrderStatus.pending_payment, Order.reserved_until <= now]
    if account_id is not None:
        conditions.append(Order.account_id == account_id)
    return conditions


def has_expired_reservations(*, db: Session, now: datetime, account_id: int | None = None) -> bool:
    """Whether some pending order's reservation ran out (a cheap read, no locks)."""
    return bool(db.scalar(select(exists().where(*_expired(now, account_id)))))


def _stock_lines(order: Order) -> list[stock.StockLine]:
    return [stock.StockLine(line.variant_id, line.quantity) for line in order.lines]


def _lock_orders(db: Session, *conditions: ColumnElement[bool]) -> list[Order]:
    # SKIP LOCKED: an order its payment is working on right now is that payment's to settle.
    return list(
        db.scalars(
            select(Order)
            .where(*conditions)
            .order_by(Order.id)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
    )


def _cancel(db: Session, order: Order, now: datetime, note: str) -> None:
    """An unpaid order is cancelled: its stock goes back on sale."""
    stock.release(db, _stock_lines(order))
    order.status = OrderStatus.cancelled
    order.cancelled_at = now
    order.reserved_until = None
    order.note = note


def release_expired(
    *, db: Session, now: datetime | None = None, account_id: int | None = None
) -> int:
    """Cancel orders still unpaid when their reservation ran out and put their stock back;
    returns how many were cancelled (housekeeping, and lazily on read)."""
    now = now or utcnow()
    expired = _lock_orders(db, *_expired(now, account_id))
    for order in expired:
        _cancel(
            db, order, now, "Not paid within the reservation time; the items went back on sale."
        )
    db.flush()
    return len(expired)


def cancel_order(*, db: Session, viewer: Account, order_id: int) -> Order:
    """The viewer gives up an unpaid order; its stock goes back on sale."""
    get_order(db=db, viewer=viewer, order_id=order_id)
    locked = _lock_orders(db, Order.id == order_id)
    order = locked[0] if locked else None
    if order is None or order.status != OrderStatus.pending_payment:
        raise InvalidOrderStatus("Only an order waiting for payment can be cancelled.")
    _cancel(db, order, utcnow(), "Cancelled before payment.")
    db.flush()
    return order


# --- payment and refund (called by payments.webhooks inside the webhook's transaction) ------


def _lock_order_of(db: Session, purchase: Purchase) -> Order | None:
    """The purchase's order, its row locked, read with its lines (one statement)."""
    return (
        db.scalars(
            select(Order)
            .where(Order.purchase_id == purchase.id)
            .options(joinedload(Order.lines))
            .with_for_update(of=Order)
            .execution_options(populate_existing=True)
        )
        .unique()
        .first()
    )


def split(*, settings: Settings, order: Order) -> tuple[int, dict[int, int], int]:
    """(brand cents, {creator: commission cents}, platform fee cents), integers that sum to
    the total: the fee and each attributed line's commission are rounded down, the brand
    gets the rest; commissions never eat into the fee."""
    fee = order.total_cents * settings.shop_platform_fee_percent // 100
    room = order.total_cents - fee
    commissions: dict[int, int] = {}
    for line in order.lines:
        cents = 0
        if line.creator_id is not None:
            cents = min(room, line.total_cents * line.commission_percent // 100)
            room -= cents
            commissions[line.creator_id] = commissions.get(line.creator_id, 0) + cents
        line.commission_cents = cents
    brand = order.total_cents - fee - sum(commissions.values())
    return brand, {c: v for c, v in commissions.items() if v}, fee


def _book(
    db: Session, order: Order, brand_id: int | None, split: tuple[int, dict[int, int], int]
) -> None:
    """The order's payment in the ledger: (brand cents, commissions, fee) as `split` returns
    them; with no brand, the money is held in platform cash."""
    brand_cents, commissions, fee = split
    order_payments.book_order_payment(
        db=db,
        order_id=order.id,
        buyer_id=order.account_id,
        amount_cents=order.total_cents,
        brand_id=brand_id,
        brand_cents=brand_cents,
        commissions=commissions,
        platform_fee_cents=fee,
    )


def _mark_paid(db: Session, settings: Settings, order: Order, now: datetime) -> None:
    brand_cents, commissions, fee = split(settings=settings, order=order)
    order.status = OrderStatus.paid
    order.paid_at = now
    order.reserved_until = None
    order.brand_revenue_cents = brand_cents
    order.commission_cents = sum(commissions.values())
    order.platform_fee_cents = fee
    _book(db, order, order.brand_id, (brand_cents, commissions, fee))
    for placement_id in sorted({line.placement_id for line in order.lines if line.placement_id}):
        db.add(
            PlacementEvent(
                placement_id=placement_id,
                kind=PlacementEventKind.order,
                account_id=order.account_id,
                viewer_key=f"a:{order.account_id}",
                event_id=f"order-{order.id}",
                created_at=now,
            )
        )
    db.flush()


def order_paid(*, db: Session, settings: Settings, purchase: Purchase, now: datetime) -> bool:
    """The order's payment succeeded: take its reserved stock, book the split. If the
    reservation had run out and the stock is gone, the money is held for a refund and True
    is returned (the caller refunds through the provider)."""
    order = _lock_order_of(db, purchase)
    if order is None:
        raise ledger.LedgerError(f"purchase {purchase.id} has no order")
    if order.status == OrderStatus.pending_payment:
        _mark_paid(db, settings, order, now)  # the reservation becomes the sale
        return False
    if order.status != OrderStatus.cancelled:
        return False  # already settled
    if stock.allocate_if_available(db, _stock_lines(order)):
        _mark_paid(db, settings, order, now)
        order.note = "Paid after the reservation ran out; the items were still in stock."
        return False
    _book(db, order, None, (order.total_cents, {}, 0))  # all of it held, for the refund
    order.paid_at = now
    order.note = "Paid after the reservation ran out and the items sold out: refunded in full."
    db.flush()
    return True


def order_refunded(*, db: Session, purchase: Purchase, now: datetime) -> None:
    """The provider refunded the order's payment: reverse all of its ledger legs; unshipped
    goods go back on sale."""
    order = _lock_order_of(db, purchase)
    if order is None:
        raise ledger.LedgerError(f"purchase {purchase.id} has no order")
    order_payments.refund_order_payment(db=db, order_id=order.id)
    if order.status == OrderStatus.paid:
        stock.release(db, _stock_lines(order))
    order.status = OrderStatus.refunded
    order.refunded_at = now
    db.flush()


# --- reading orders and moving them along ---------------------------------------------------


def _newest_first(db: Session, *conditions: ColumnElement[bool]) -> list[Order]:
    query = select(Order).where(*conditions).options(selectinload(Order.lines))
    return list(db.scalars(query.order_by(Order.id.desc())))


def list_orders(*, db: Session, viewer: Account) -> list[Order]:
    """The viewer's orders, newest first."""
    return _newest_first(db, Order.account_id == viewer.id)


def get_order(*, db: Session, viewer: Account, order_id: int) -> Order:
    """One of the viewer's orders; anyone else's is not found."""
    order = db.get(Order, order_id)
    if order is None or order.account_id != viewer.id:
        raise NotFound("There is no such order.", order_id=order_id)
    return order


def list_brand_orders(*, db: Session, brand: Account) -> list[Order]:
    """Orders of the brand's goods (admins: all), newest first; never-paid ones are left out."""
    paid = Order.paid_at.is_not(None)
    if brand.role == Role.admin:
        return _newest_first(db, paid)
    return _newest_first(db, paid, Order.brand_id == brand.id)


def get_brand_order(*, db: Session, brand: Account, order_id: int, lock: bool = False) -> Order:
    """One order of the brand's goods (admins: any); anyone else's is not found."""
    query = select(Order).where(Order.id == order_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    order = db.scalar(query)
    if order is None or (order.brand_id != brand.id and brand.role != Role.admin):
        raise NotFound("There is no such order.", order_id=order_id)
    return order


_NEXT = {
    OrderStatus.shipped: (OrderStatus.paid, "shipped_at"),
    OrderStatus.delivered: (OrderStatus.shipped, "delivered_at"),
}


def advance(*, db: Session, brand: Account, order_id: int, to: OrderStatus) -> Order:
    """paid → shipped → delivered, by the brand."""
    order = get_brand_order(db=db, brand=brand, order_id=order_id, lock=True)
    required, stamp = _NEXT[to]
    if order.status != required:
        raise InvalidOrderStatus(
            f"Only a {required.value} order can be marked {to.value}; this one is "
            f"{order.status.value}.",
            status=order.status.value,
        )
    order.status = to
    setattr(order, stamp, utcnow())
    db.flush()
    return order


def refund(*, db: Session, settings: Settings, brand: Account, order_id: int) -> Order:
    """Refund a paid order in full through its provider; the reversal comes with the provider's
    refund event (at once with the sandbox, by webhook with Stripe)."""
    order = get_brand_order(db=db, brand=brand, order_id=order_id)
    refundable = (OrderStatus.paid, OrderStatus.shipped, OrderStatus.delivered)
    if order.status not in refundable or order.purchase_id is None:
        raise webhooks.NotRefundable(
            f"Only a paid order can be refunded; this one is {order.status.value}.",
            status=order.status.value,
        )
    webhooks.request_refund(db=db, settings=settings, purchase_id=order.purchase_id)
    db.refresh(order)
    return order


# Shop orders are a kind of purchase: payments calls these when an order's payment is paid or
# refunded (payments never imports the shop).
purchases.register_purchase_kind(PurchaseKind.order, on_paid=order_paid, on_refunded=order_refunded)
