"""Orders after checkout: reservations running out, the order's payment and refund (the money
split through the ledger), the viewer's and the brand's orders, shipping (see docs/shop.md).

Orders are locked with SKIP LOCKED by everyone but their own payment, so the lock order
(purchase → order → variants → ledger accounts) holds; their stock goes back through
shop/stock.py, the only code that changes stock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import ColumnElement, Table, bindparam, exists, insert, select, update
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.orm.util import identity_key

from microdrama.accounts.models import Account, Role
from microdrama.config import Settings
from microdrama.db import utcnow
from microdrama.errors import Conflict, NotFound
from microdrama.payments import purchases, webhooks
from microdrama.payments.models import Purchase, PurchaseKind
from microdrama.shop import stock
from microdrama.shop.models import (
    Order,
    OrderLine,
    OrderStatus,
    PlacementEvent,
    PlacementEventKind,
    line_total,
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


@dataclass(frozen=True)
class _LineToPay:
    id: int
    total_cents: int
    placement_id: int | None
    creator_id: int | None
    commission_percent: int
    commission_cents: int


@dataclass(frozen=True)
class _OrderToPay:
    """What booking an order's payment reads of it (the row locked, its lines)."""

    id: int
    account_id: int
    brand_id: int
    total_cents: int
    lines: tuple[_LineToPay, ...]


_orders = cast(Table, Order.__table__)
_lines = cast(Table, OrderLine.__table__)
_placement_events = cast(Table, PlacementEvent.__table__)

# The payment's statements, built once (SQLAlchemy then reuses their compiled form): the
# purchase's order with its lines, the order's row locked, in one read; the order paid, its
# lines' commissions, the placements' order events.
_LOCK_ORDER_TO_PAY = (
    select(
        _orders.c.id,
        _orders.c.status,
        _orders.c.account_id,
        _orders.c.brand_id,
        _orders.c.total_cents,
        _lines.c.id.label("line_id"),
        _lines.c.quantity,
        _lines.c.unit_price_cents,
        _lines.c.placement_id,
        _lines.c.creator_id,
        _lines.c.commission_percent,
        _lines.c.commission_cents,
    )
    .select_from(_orders.outerjoin(_lines, _lines.c.order_id == _orders.c.id))
    .where(_orders.c.purchase_id == bindparam("purchase_id"))
    .order_by(_lines.c.id)
    .with_for_update(of=_orders)
)
_MARK_PAID = (
    update(_orders)
    .where(_orders.c.id == bindparam("order_id"))
    .values(
        status=OrderStatus.paid,
        paid_at=bindparam("now"),
        reserved_until=None,
        brand_revenue_cents=bindparam("brand_cents"),
        commission_cents=bindparam("commissions_cents"),
        platform_fee_cents=bindparam("fee_cents"),
    )
)
_SET_COMMISSION = (
    update(_lines)
    .where(_lines.c.id == bindparam("line_id"))
    .values(commission_cents=bindparam("cents"))
)
_INSERT_PLACEMENT_EVENTS = insert(_placement_events)


def _locked_order_to_pay(db: Session, purchase: Purchase) -> tuple[OrderStatus, _OrderToPay] | None:
    db.flush()  # the Core statements below must see what the session holds
    rows = db.connection().execute(_LOCK_ORDER_TO_PAY, {"purchase_id": purchase.id}).all()
    if not rows:
        return None
    first = rows[0]
    lines = tuple(
        _LineToPay(
            row.line_id,
            line_total(row.quantity, row.unit_price_cents),
            row.placement_id,
            row.creator_id,
            row.commission_percent,
            row.commission_cents,
        )
        for row in rows
        if row.line_id is not None
    )
    order = _OrderToPay(first.id, first.account_id, first.brand_id, first.total_cents, lines)
    return first.status, order


def split(*, settings: Settings, order: _OrderToPay) -> tuple[int, dict[int, int], int, list[int]]:
    """(brand cents, {creator: commission cents}, platform fee cents, each line's commission
    cents), integers that sum to the total: the fee and each attributed line's commission are
    rounded down, the brand gets the rest; commissions never eat into the fee."""
    fee = order.total_cents * settings.shop_platform_fee_percent // 100
    room = order.total_cents - fee
    commissions: dict[int, int] = {}
    per_line: list[int] = []
    for line in order.lines:
        cents = 0
        if line.creator_id is not None:
            cents = min(room, line.total_cents * line.commission_percent // 100)
            room -= cents
            commissions[line.creator_id] = commissions.get(line.creator_id, 0) + cents
        per_line.append(cents)
    brand = order.total_cents - fee - sum(commissions.values())
    return brand, {c: v for c, v in commissions.items() if v}, fee, per_line


def _book(
    db: Session,
    order: Order | _OrderToPay,
    brand_id: int | None,
    split: tuple[int, dict[int, int], int],
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


def _mark_paid(db: Session, settings: Settings, order: _OrderToPay, now: datetime) -> None:
    """The order paid, its lines' commissions set, the split booked, the placements' order
    events recorded: Core statements on the locked order (its ORM copies, if any, reload)."""
    brand_cents, commissions, fee, per_line = split(settings=settings, order=order)
    conn = db.connection()
    conn.execute(
        _MARK_PAID,
        {
            "order_id": order.id,
            "now": now,
            "brand_cents": brand_cents,
            "commissions_cents": sum(commissions.values()),
            "fee_cents": fee,
        },
    )
    changed = [
        {"line_id": line.id, "cents": cents}
        for line, cents in zip(order.lines, per_line, strict=True)
        if cents != line.commission_cents
    ]
    if changed:
        conn.execute(_SET_COMMISSION, changed[0] if len(changed) == 1 else changed)
    _book(db, order, order.brand_id, (brand_cents, commissions, fee))
    events = [
        {
            "placement_id": placement_id,
            "kind": PlacementEventKind.order,
            "account_id": order.account_id,
            "viewer_key": f"a:{order.account_id}",
            "event_id": f"order-{order.id}",
            "created_at": now,
        }
        for placement_id in sorted({line.placement_id for line in order.lines if line.placement_id})
    ]
    if events:
        conn.execute(_INSERT_PLACEMENT_EVENTS, events[0] if len(events) == 1 else events)
    for model, row_id in [(Order, order.id), *((OrderLine, line.id) for line in order.lines)]:
        loaded = db.identity_map.get(identity_key(model, row_id))
        if loaded is not None:
            db.expire(loaded)


def order_paid(*, db: Session, settings: Settings, purchase: Purchase, now: datetime) -> bool:
    """The order's payment succeeded: take its reserved stock, book the split. If the
    reservation had run out and the stock is gone, the money is held for a refund and True
    is returned (the caller refunds through the provider)."""
    locked = _locked_order_to_pay(db, purchase)
    if locked is None:
        raise ledger.LedgerError(f"purchase {purchase.id} has no order")
    status, to_pay = locked
    if status == OrderStatus.pending_payment:
        _mark_paid(db, settings, to_pay, now)  # the reservation becomes the sale
        return False
    if status != OrderStatus.cancelled:
        return False  # already settled
    order = _lock_order_of(db, purchase)  # locked already: the order as objects, to change it
    assert order is not None
    if stock.allocate_if_available(db, _stock_lines(order)):
        _mark_paid(db, settings, to_pay, now)  # read under the same lock: still the order
        order.note = "Paid after the reservation ran out; the items were still in stock."
        db.flush()
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
