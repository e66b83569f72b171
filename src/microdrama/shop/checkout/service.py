"""Cart and checkout: the viewer's cart, and a checkout that reserves the stock, creates the
order pending payment and starts the provider's checkout (see docs/shop.md).

Stock discipline (Saleor's, kept in shop/stock.py, the only code that changes stock): variant rows
are locked in primary-key order before their stock is read. A checkout *takes* the units off
`product_variants.stock` at once (the order's lines are the reservation, held until
`orders.reserved_until`); an order cancelled before payment puts them back (shop/orders/). So the
stock a viewer sees is what is still for sale, and the `CHECK stock >= 0` makes overselling
impossible even for a bug.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload

from microdrama.accounts import service as accounts
from microdrama.accounts.models import Account
from microdrama.catalog.models import Series
from microdrama.config import Settings
from microdrama.db import utcnow
from microdrama.errors import DomainError, NotFound
from microdrama.payments import purchases
from microdrama.payments.providers import PaymentProvider
from microdrama.shop import stock
from microdrama.shop.checkout.schemas import MAX_QUANTITY, CartItemCreate, CheckoutCreate
from microdrama.shop.models import (
    Campaign,
    CampaignStatus,
    CartItem,
    Order,
    OrderLine,
    OrderStatus,
    Placement,
    PlacementEventKind,
    ProductVariant,
)
from microdrama.shop.placements import attribution
from microdrama.shop.placements.service import InvalidPlacement

SHOP_CURRENCY = "USD"  # the ledger keeps money in USD cents


class CartEmpty(DomainError, code="cart_empty", status_code=422): ...


class ChooseBrand(DomainError, code="choose_brand", status_code=422): ...


class UnsupportedCurrency(DomainError, code="unsupported_currency", status_code=422): ...


def _unknown_variant(variant_id: int) -> NotFound:
    return NotFound("This product is not on sale.", variant_id=variant_id)


def unit_price(variant: ProductVariant) -> int:
    return variant.price_cents if variant.price_cents is not None else variant.product.price_cents


def _on_sale(db: Session, variant_id: int) -> ProductVariant:
    variant = db.get(ProductVariant, variant_id)
    if variant is None or not variant.product.active:
        raise _unknown_variant(variant_id)
    return variant


def _variants_with_products(db: Session, variant_ids: list[int]) -> dict[int, ProductVariant]:
    """The variants (and their products) in one query, without locks: `stock.allocate` takes
    the units at the end of the checkout."""
    query = (
        select(ProductVariant)
        .where(ProductVariant.id.in_(sorted(set(variant_ids))))
        .options(joinedload(ProductVariant.product))
        .execution_options(populate_existing=True)
    )
    return {variant.id: variant for variant in db.scalars(query)}


def _check_placement(db: Session, *, viewer: Account, placement_id: int, product_id: int) -> None:
    placement = db.get(Placement, placement_id)
    campaign = db.get(Campaign, placement.campaign_id) if placement else None
    if (
        placement is None
        or campaign is None
        or placement.product_id != product_id
        or campaign.status != CampaignStatus.accepted
    ):
        raise InvalidPlacement(
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
        attribution.record_event(
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
        "unit_price_cents": unit_price(variant),
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


_placements = cast(Table, Placement.__table__)
_campaigns = cast(Table, Campaign.__table__)
_series = cast(Table, Series.__table__)
# A placement with its campaign's terms and the series' creator, in one read (a line's
# attribution).
_PLACEMENT_TERMS = (
    select(
        _placements.c.product_id,
        _campaigns.c.status,
        _campaigns.c.commission_percent,
        _series.c.owner_id,
    )
    .join(_campaigns, _campaigns.c.id == _placements.c.campaign_id)
    .join(_series, _series.c.id == _campaigns.c.series_id)
    .where(_placements.c.id == bindparam("placement_id"))
)


def _attribution(
    db: Session, placement_id: int | None, product_id: int
) -> tuple[int | None, int | None, int]:
    """(placement_id, creator_id, commission_percent) of a line; no placement, no commission."""
    if placement_id is None:
        return None, None, 0
    found = db.connection().execute(_PLACEMENT_TERMS, {"placement_id": placement_id}).first()
    if found is None or found.product_id != product_id:
        return None, None, 0
    if found.status != CampaignStatus.accepted:
        return None, None, 0
    return placement_id, found.owner_id, found.commission_percent


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
    variants = _variants_with_products(db, [w.variant_id for w in wanted])
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
    for w in wanted:  # sold out already: say so before writing anything
        if variants[w.variant_id].stock < w.quantity:
            raise stock.insufficient(variants[w.variant_id], wanted=w.quantity)
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
                unit_price_cents=unit_price(variant),
                placement_id=placement_id,
                creator_id=creator_id,
                commission_percent=percent,
            )
        )
    order.total_cents = sum(line.total_cents for line in order.lines)
    db.add(order)
    db.flush()
    brand_name = accounts.display_name(db=db, account_id=brand_id)
    count = sum(line.quantity for line in order.lines)
    created = purchases.create_order_payment(
        db=db,
        provider=provider,
        account_id=viewer.id,
        amount_cents=order.total_cents,
        currency=order.currency,
        description=f"Order #{order.id}: {count} item{'s' if count > 1 else ''}"
        + (f" from {brand_name}" if brand_name is not None else ""),
        return_to=f"/orders/{order.id}",
    )
    order.purchase_id = created.purchase.id
    for item in cart:
        db.delete(item)
    db.flush()
    # Last, so a popular product's row is locked only from here to the commit. A real
    # provider's checkout session is opened above even when the last unit goes to a concurrent
    # buyer here: it is then never shown, nor paid, and expires unused (the order is rolled back).
    stock.allocate(db, [stock.StockLine(w.variant_id, w.quantity) for w in wanted])
    return order, created.checkout_url
