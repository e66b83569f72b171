"""Cart and checkout API: the viewer's cart, and checkout (with an Idempotency-Key, like every
money-moving endpoint)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy.orm import Session

from microdrama import idempotency
from microdrama.accounts import service as accounts
from microdrama.accounts.deps import CurrentViewer
from microdrama.config import AppSettings
from microdrama.db import DbSession, MoneyTransaction
from microdrama.idempotency import Money
from microdrama.payments.providers import Provider
from microdrama.shop.checkout import service as checkout_service
from microdrama.shop.checkout.schemas import (
    CartItemCreate,
    CartItemRead,
    CartItemUpdate,
    CartRead,
    CheckoutCreate,
    CheckoutStarted,
)
from microdrama.shop.models import CartItem
from microdrama.shop.orders.routes import order_read, release_expired_reservations
from microdrama.types import BigPathId

router = APIRouter(tags=["shop"])


def _cart(db: Session, items: list[CartItem]) -> CartRead:
    rows = []
    for item in items:
        variant, product = item.variant, item.variant.product
        brand = accounts.get(db=db, account_id=product.owner_id)
        rows.append(
            CartItemRead(
                id=item.id,
                variant_id=variant.id,
                product_id=product.id,
                product_title=product.title,
                variant_name=variant.name,
                image_url=product.image_urls[0] if product.image_urls else None,
                brand_id=product.owner_id,
                brand_name=brand.display_name if brand else "",
                quantity=item.quantity,
                unit_price_cents=checkout_service.unit_price(variant),
                currency=product.currency,
                in_stock=variant.stock >= item.quantity,
                placement_id=item.placement_id,
            )
        )
    return CartRead(
        items=rows,
        total_cents=sum(r.quantity * r.unit_price_cents for r in rows),
        currency=checkout_service.SHOP_CURRENCY,
    )


def _viewer_cart(db: Session, viewer: CurrentViewer) -> CartRead:
    return _cart(db, checkout_service.cart_items(db=db, viewer=viewer))


@router.get("/api/cart")
def get_cart(db: DbSession, viewer: CurrentViewer) -> CartRead:
    """What the viewer (guests too) has in the cart."""
    return _viewer_cart(db, viewer)


@router.post("/api/cart/items", status_code=201)
def add_cart_item(data: CartItemCreate, db: DbSession, viewer: CurrentViewer) -> CartRead:
    """Add a variant to the cart (from a placement: that placement gets the attribution)."""
    checkout_service.add_to_cart(db=db, viewer=viewer, data=data)
    return _viewer_cart(db, viewer)


@router.patch("/api/cart/items/{item_id}")
def update_cart_item(
    item_id: BigPathId, data: CartItemUpdate, db: DbSession, viewer: CurrentViewer
) -> CartRead:
    """Change an item's quantity."""
    checkout_service.update_cart_item(db=db, viewer=viewer, item_id=item_id, quantity=data.quantity)
    return _viewer_cart(db, viewer)


@router.delete("/api/cart/items/{item_id}")
def remove_cart_item(item_id: BigPathId, db: DbSession, viewer: CurrentViewer) -> CartRead:
    """Take an item out of the cart."""
    checkout_service.remove_cart_item(db=db, viewer=viewer, item_id=item_id)
    return _viewer_cart(db, viewer)


@router.post("/api/checkout", **idempotency.answers(CheckoutStarted, 201))
def checkout(
    body: CheckoutCreate,
    db: DbSession,
    apart: MoneyTransaction,
    settings: AppSettings,
    provider: Provider,
    viewer: CurrentViewer,
    money: Money,
) -> dict[str, Any]:
    """Reserve the stock of the cart (or the "Buy now" items) for 15 minutes, create the order
    and answer with the payment provider's checkout page; 409 insufficient_stock naming the
    variant when there is not enough."""
    release_expired_reservations(db, apart)

    def effect(money_db: Session) -> idempotency.Outcome:
        order, checkout_url = checkout_service.checkout(
            db=money_db,
            settings=settings,
            provider=provider,
            viewer=money_db.merge(viewer, load=False),
            data=body,
        )
        answer = CheckoutStarted(order=order_read(money_db, order), checkout_url=checkout_url)
        return 201, answer.model_dump(mode="json")

    return money.run(viewer.id, effect)
