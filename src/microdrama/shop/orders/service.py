"""Cart, checkout and orders: stock reservation, payment through the PaymentProvider, the money
split through the ledger, shipping and refunds (see docs/shop.md).

Stock discipline (Saleor's, kept in shop/stock.py, the only code that changes stock): variant rows
are locked in primary-key order before their stock is read. A checkout *takes* the units off
`product_variants.stock` at once (the order's lines are the reservation, held until
`orders.reserved_until`); an order cancelled before payment puts them back. So the stock a viewer
sees is what is still for sale, and the `CHECK stock >= 0` makes overselling impossible even for a
bug. Orders are locked with SKIP LOCKED by everyone but their own payment, so the lock order
(purchase → order → variants → ledger accounts) holds.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from microdrama.accounts import service as accounts
from microdrama.accounts.models import Account, Role
from microdrama.catalog import service as catalog
from microdrama.config import Settings
from microdrama.db import utcnow
from microdrama.errors import Conflict, DomainError, NotFound
from microdrama.payments import purchases, webhooks
from microdrama.payments.models import Purchase, PurchaseKind
from microdrama.payments.providers import PaymentProvider
from microdrama.shop import service as shop
from microdrama.shop import stock
from microdrama.shop.models import (
    Campaign,
    CampaignStatus,
    CartItem,
    Order,
    OrderLine,
    OrderStatus,
    Placement,
    PlacementEvent,
    PlacementEventKind,
    ProductVariant,
)
from microdrama.shop.order_schemas import MAX_QUANTITY, CartItemCreate, CheckoutCreate
from microdrama.wallet import ledger, order_payments

log = logging.getLogger(__name__)

SHOP_CURRENCY = "USD"  # the ledger keeps money in USD cents


class CartEmpty(DomainError, code="cart_empty", status_code=422): ...


class ChooseBrand(DomainError, code="choose_brand", status_code=422): ...


class UnsupportedCurrency(DomainError, code="unsupported_currency", status_code=422): ...


class InvalidOrderStatus(Conflict, code="invalid_order_status"): ...


def _unknown_variant(variant_id: int) -> NotFound:
    return NotFound("This product is not on sale.", variant_id=variant_id)


def _price(variant: ProductVariant) -> int:
    return variant.price_cents if variant.price_cents is not None else variant.product.price_cents


def _on_sale(db: Session, variant_id: int) -> ProductVariant:
    variant = db.get(ProductVariant, variant_id)
    if variant is None or not variant.product.active:
        raise _unknown_variant(variant_id)
    return variant


def _check_placement(db: Session, *, viewer: Account, placement_id: int, product_id: int) -> None:
    placement = db.get(Placement, placement_id)
    campaign = db.get(Campaign, placement.campaign_id) if placement else None
    if (
        placement is None
        or campaign is None
        or placement.product_id != product_id
        or campaign.status != CampaignStatus.accepted
    ):
        raise shop.InvalidPlacement(
            "This product is not shown in that placement.",
            field="placement_id",
            placement_id=placement_id,
        )


# --- the cart -------------------------------------------------------------------------------


def cart_items(*, db: Session, viewer: Account) -> list[CartItem]:
    """The viewer's cart, oldest item first."""
    query = (
        select(CartItem)
        .where(CartItem.account_id == viewer.id)
        .options(selectinload(CartItem.variant).selectinload(ProductVariant.product))
        .order_by(CartItem.id)
    )
    return list(db.scalars(query))


def add_to_cart(*, db: Session, viewer: Account, data: CartItemCreate) -> CartItem:
    """Put a variant in the cart (more of it if it is there already). From a placement, the
    placement gets the attribution (its add_to_cart event, and the order later)."""
    variant = _on_sale(db, data.variant_id)
    if data.placement_id is not None:
        _check_placement(
            db, viewer=viewer, placement_id=data.placement_id, product_id=variant.product_id
        )
    item = db.scalar(
        select(CartItem).where(CartItem.account_id == viewer.id, CartItem.variant_id == variant.id)
    )
    quantity = min(MAX_QUANTITY, data.quantity + (item.quantity if item else 0))
    if variant.stock < quantity:
        raise stock.insufficient(variant, wanted=quantity)
    if item is None:
        try:
            with db.begin_nested():
                item = CartItem(account_id=viewer.id, variant_id=variant.id, quantity=quantity)
                db.add(item)
        except IntegrityError:  # the same variant added a moment ago by a concurrent request
            item = db.scalar(
                select(CartItem).where(
                    CartItem.account_id == viewer.id, CartItem.variant_id == variant.id
                )
            )
            if item is None:
                raise
    item.quantity = quantity
    if data.placement_id is not None:
        item.placement_id = data.placement_id
        shop.record_event(
            db=db,
            viewer=viewer,
            placement_id=data.placement_id,
            kind=PlacementEventKind.add_to_cart,
            event_id=f"cart-{uuid.uuid4().hex}",
        )
    db.flush()
    return item


def _own_item(db: Session, viewer: Account, item_id: int) -> CartItem:
    item = db.get(CartItem, item_id)
    if item is None or item.account_id != viewer.id:
        raise NotFound("There is no such item in your cart.", item_id=item_id)
    return item


def update_cart_item(*, db: Session, viewer: Account, item_id: int, quantity: int) -> CartItem:
    """Change how many of an item the viewer wants."""
    item = _own_item(db, viewer, item_id)
    if item.variant.stock < quantity:
        raise stock.insufficient(item.variant, wanted=quantity)
    item.quantity = quantity
    db.flush()
    return item


def remove_cart_item(*, db: Session, viewer: Account, item_id: int) -> None:
    """Take an item out of the cart."""
    db.delete(_own_item(db, viewer, item_id))
    db.flush()


def variant_summary(*, db: Session, variant_id: int) -> dict[str, object] | None:
    """What a page shows of a variant on sale: titles, price, image, stock, brand."""
    variant = db.get(ProductVariant, variant_id)
    if variant is None or not variant.product.active:
        return None
    product = variant.product
    brand = accounts.get(db=db, account_id=product.owner_id)
    return {
        "variant_id": variant.id,
        "product_title": product.title,
        "variant_name": variant.name,
        "image_url": product.image_urls[0] if product.image_urls else None,
        "unit_price_cents": _price(variant),
        "currency": product.currency,
        "stock": variant.stock,
        "brand_id": product.owner_id,
        "brand_name": brand.display_name if brand else "",
    }


# --- checkout -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Wanted:
    variant_id: int
    quantity: int
    placement_id: int | None


def _wanted_items(
    db: Session, viewer: Account, data: CheckoutCreate
) -> tuple[list[_Wanted], list[CartItem]]:
    if data.items is not None:
        merged: dict[int, _Wanted] = {}
        for item in data.items:
            before = merged.get(item.variant_id)
            quantity = item.quantity + (before.quantity if before else 0)
            placement = item.placement_id or (before.placement_id if before else None)
            merged[item.variant_id] = _Wanted(item.variant_id, quantity, placement)
        return list(merged.values()), []
    cart = cart_items(db=db, viewer=viewer)
    if not cart:
        raise CartEmpty("Your cart is empty.")
    return [_Wanted(i.variant_id, i.quantity, i.placement_id) for i in cart], cart


def _attribution(
    db: Session, placement_id: int | None, product_id: int
) -> tuple[int | None, int | None, int]:
    """(placement_id, creator_id, commission_percent) of a line; no placement, no commission."""
    if placement_id is None:
        return None, None, 0
    placement = db.get(Placement, placement_id)
    if placement is None or placement.product_id != product_id:
        return None, None, 0
    campaign = db.get(Campaign, placement.campaign_id)
    series = catalog.get(db=db, series_id=campaign.series_id) if campaign else None
    if campaign is None or series is None or campaign.status != CampaignStatus.accepted:
        return None, None, 0
    return placement.id, series.owner_id, campaign.commission_percent


def has_expired_reservations(*, db: Session, now: datetime, account_id: int | None = None) -> bool:
    """Whether some pending order's reservation ran out (a cheap read, no locks)."""
    conditions = [Order.status == OrderStatus.pending_payment, Order.reserved_until <= now]
    if account_id is not None:
        conditions.append(Order.account_id == account_id)
    return bool(db.scalar(select(exists().where(*conditions))))


def checkout(
    *,
    db: Session,
    settings: Settings,
    provider: PaymentProvider,
    viewer: Account,
    data: CheckoutCreate,
    now: datetime | None = None,
) -> tuple[Order, str]:
    """Reserve the stock of the cart (or the "Buy now" items), create the order pending payment
    and the provider's checkout; returns the order and the checkout page's URL."""
    now = now or utcnow()
    wanted, cart = _wanted_items(db, viewer, data)
    variants = stock.lock_variants(db, (w.variant_id for w in wanted))
    for w in wanted:
        variant = variants.get(w.variant_id)
        if variant is None or not variant.product.active:
            raise _unknown_variant(w.variant_id)
    brand_ids = sorted({variants[w.variant_id].product.owner_id for w in wanted})
    if data.brand_id is not None:
        wanted = [w for w in wanted if variants[w.variant_id].product.owner_id == data.brand_id]
        cart = [i for i in cart if variants[i.variant_id].product.owner_id == data.brand_id]
        if not wanted:
            raise CartEmpty("Nothing in your cart is from this brand.", brand_id=data.brand_id)
    elif len(brand_ids) > 1:
        raise ChooseBrand(
            "Your cart holds several brands' products: check out one brand at a time.",
            brands=[
                {"id": b, "name": getattr(accounts.get(db=db, account_id=b), "display_name", "")}
                for b in brand_ids
            ],
        )
    for w in wanted:
        product = variants[w.variant_id].product
        if product.currency != SHOP_CURRENCY:
            raise UnsupportedCurrency(
                f"{product.title} is priced in {product.currency}; checkout takes USD only.",
                variant_id=w.variant_id,
            )
    stock.allocate(db, [stock.StockLine(w.variant_id, w.quantity) for w in wanted])
    brand_id = variants[wanted[0].variant_id].product.owner_id
    order = Order(
        account_id=viewer.id,
        brand_id=brand_id,
        status=OrderStatus.pending_payment,
        total_cents=0,
        currency=SHOP_CURRENCY,
        shipping=data.shipping.model_dump(),
        reserved_until=now + timedelta(minutes=settings.shop_reservation_minutes),
        created_at=now,
    )
    for w in wanted:
        variant = variants[w.variant_id]
        placement_id, creator_id, percent = _attribution(db, w.placement_id, variant.product_id)
        order.lines.append(
            OrderLine(
                variant_id=variant.id,
                product_title=variant.product.title,
                variant_name=variant.name,
                quantity=w.quantity,
                unit_price_cents=_price(variant),
                placement_id=placement_id,
                creator_id=creator_id,
                commission_percent=percent,
            )
        )
    order.total_cents = sum(line.total_cents for line in order.lines)
    db.add(order)
    db.flush()
    brand = accounts.get(db=db, account_id=brand_id)
    count = sum(line.quantity for line in order.lines)
    created = purchases.create_order_payment(
        db=db,
        provider=provider,
        account_id=viewer.id,
        amount_cents=order.total_cents,
        currency=order.currency,
        description=f"Order #{order.id}: {count} item{'s' if count > 1 else ''}"
        + (f" from {brand.display_name}" if brand else ""),
        return_to=f"/orders/{order.id}",
    )
    order.purchase_id = created.purchase.id
    for item in cart:
        db.delete(item)
    db.flush()
    return order, created.checkout_url


# --- reservations running out ---------------------------------------------------------------


def _stock_lines(order: Order) -> list[stock.StockLine]:
    return [stock.StockLine(line.variant_id, line.quantity) for line in order.lines]


def _return_stock(db: Session, order: Order) -> None:
    stock.release(db, _stock_lines(order))


def _lock_orders(db: Session, *conditions: object) -> list[Order]:
    # SKIP LOCKED: an order its payment is working on right now is that payment's to settle.
    return list(
        db.scalars(
            select(Order)
            .where(*conditions)  # type: ignore[arg-type]
            .order_by(Order.id)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
    )


def release_expired(
    *, db: Session, now: datetime | None = None, account_id: int | None = None
) -> int:
    """Cancel orders still unpaid when their reservation ran out and put their stock back;
    returns how many were cancelled (housekeeping, and lazily on read)."""
    now = now or utcnow()
    conditions = [Order.status == OrderStatus.pending_payment, Order.reserved_until <= now]
    if account_id is not None:
        conditions.append(Order.account_id == account_id)
    expired = _lock_orders(db, *conditions)
    for order in expired:
        _return_stock(db, order)
        order.status = OrderStatus.cancelled
        order.cancelled_at = now
        order.reserved_until = None
        order.note = "Not paid within the reservation time; the items went back on sale."
    db.flush()
    return len(expired)


def cancel_order(*, db: Session, viewer: Account, order_id: int) -> Order:
    """The viewer gives up an unpaid order; its stock goes back on sale."""
    get_order(db=db, viewer=viewer, order_id=order_id)
    locked = _lock_orders(db, Order.id == order_id)
    order = locked[0] if locked else None
    if order is None or order.status != OrderStatus.pending_payment:
        raise InvalidOrderStatus("Only an order waiting for payment can be cancelled.")
    _return_stock(db, order)
    order.status = OrderStatus.cancelled
    order.cancelled_at = utcnow()
    order.reserved_until = None
    order.note = "Cancelled before payment."
    db.flush()
    return order


# --- payment and refund (called by payments.webhooks inside the webhook's transaction) ------


def _lock_order_of(db: Session, purchase: Purchase) -> Order | None:
    return db.scalar(
        select(Order)
        .where(Order.purchase_id == purchase.id)
        .with_for_update()
        .execution_options(populate_existing=True)
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


def _mark_paid(db: Session, settings: Settings, order: Order, now: datetime) -> None:
    brand_cents, commissions, fee = split(settings=settings, order=order)
    order.status = OrderStatus.paid
    order.paid_at = now
    order.reserved_until = None
    order.brand_revenue_cents = brand_cents
    order.commission_cents = sum(commissions.values())
    order.platform_fee_cents = fee
    order_payments.book_order_payment(
        db=db,
        order_id=order.id,
        buyer_id=order.account_id,
        amount_cents=order.total_cents,
        brand_id=order.brand_id,
        brand_cents=brand_cents,
        commissions=commissions,
        platform_fee_cents=fee,
    )
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
    order_payments.book_order_payment(
        db=db,
        order_id=order.id,
        buyer_id=order.account_id,
        amount_cents=order.total_cents,
        brand_id=None,
        brand_cents=order.total_cents,
        commissions={},
        platform_fee_cents=0,
    )
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
        _return_stock(db, order)
    order.status = OrderStatus.refunded
    order.refunded_at = now
    db.flush()


# --- reading orders and moving them along ---------------------------------------------------


def list_orders(*, db: Session, viewer: Account) -> list[Order]:
    """The viewer's orders, newest first."""
    query = (
        select(Order)
        .where(Order.account_id == viewer.id)
        .options(selectinload(Order.lines))
        .order_by(Order.id.desc())
    )
    return list(db.scalars(query))


def get_order(*, db: Session, viewer: Account, order_id: int) -> Order:
    """One of the viewer's orders; anyone else's is not found."""
    order = db.get(Order, order_id)
    if order is None or order.account_id != viewer.id:
        raise NotFound("There is no such order.", order_id=order_id)
    return order


def list_brand_orders(*, db: Session, brand: Account) -> list[Order]:
    """Orders of the brand's goods (admins: all), newest first; never-paid ones are left out."""
    query = (
        select(Order)
        .where(Order.paid_at.is_not(None))
        .options(selectinload(Order.lines))
        .order_by(Order.id.desc())
    )
    if brand.role != Role.admin:
        query = query.where(Order.brand_id == brand.id)
    return list(db.scalars(query))


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
