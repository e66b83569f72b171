"""Shop orders API: the viewer's cart, checkout and orders; the brand's orders (ship, deliver,
refund). Checkout and refund take an Idempotency-Key, like every money-moving endpoint."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from microdrama import idempotency
from microdrama.accounts import service as accounts
from microdrama.accounts.deps import CurrentBrand, CurrentViewer
from microdrama.accounts.models import Account
from microdrama.config import Settings
from microdrama.db import DbSession, run_money_transaction, utcnow
from microdrama.payments.providers import PaymentProvider, get_provider
from microdrama.shop import orders
from microdrama.shop.brand_view import BrandInView
from microdrama.shop.catalog import images as product_images
from microdrama.shop.models import CartItem, Order, OrderStatus
from microdrama.shop.order_schemas import (
    CartItemCreate,
    CartItemRead,
    CartItemUpdate,
    CartRead,
    CheckoutCreate,
    CheckoutStarted,
    OrderItemRead,
    OrderRead,
    ShippingAddress,
)
from microdrama.types import BigPathId

router = APIRouter(tags=["shop"])


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _provider(request: Request) -> PaymentProvider:
    # Tests may put a provider with a fake HTTP client on app.state.payment_provider.
    override: PaymentProvider | None = getattr(request.app.state, "payment_provider", None)
    return override or get_provider(_settings(request))


def _account(db: Session, account_id: int) -> Account:
    account = accounts.get(db=db, account_id=account_id)
    assert account is not None  # it signed this very request in
    return account


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
                unit_price_cents=orders._price(variant),
                currency=product.currency,
                in_stock=variant.stock >= item.quantity,
                placement_id=item.placement_id,
            )
        )
    return CartRead(
        items=rows,
        total_cents=sum(r.quantity * r.unit_price_cents for r in rows),
        currency=orders.SHOP_CURRENCY,
    )


def order_read(db: Session, order: Order) -> OrderRead:
    brand = accounts.get(db=db, account_id=order.brand_id)
    images = product_images.first_image_by_variant(
        db=db, variant_ids=[line.variant_id for line in order.lines if line.variant_id]
    )
    return OrderRead(
        id=order.id,
        status=order.status.value,
        created_at=order.created_at,
        paid_at=order.paid_at,
        shipped_at=order.shipped_at,
        delivered_at=order.delivered_at,
        cancelled_at=order.cancelled_at,
        refunded_at=order.refunded_at,
        reserved_until=order.reserved_until,
        items=[
            OrderItemRead(
                variant_id=line.variant_id,
                product_title=line.product_title,
                variant_name=line.variant_name,
                quantity=line.quantity,
                unit_price_cents=line.unit_price_cents,
                placement_id=line.placement_id,
                image_url=images.get(line.variant_id) if line.variant_id else None,
            )
            for line in order.lines
        ],
        total_cents=order.total_cents,
        currency=order.currency,
        shipping=ShippingAddress.model_validate(order.shipping),
        brand_id=order.brand_id,
        brand_name=brand.display_name if brand else "",
        note=order.note,
    )


def _release_expired(request: Request, db: Session, account_id: int | None = None) -> None:
    """Put back the stock of reservations that ran out (its own short transaction, and only
    when a cheap read says there is something to do)."""
    if orders.has_expired_reservations(db=db, now=utcnow(), account_id=account_id):
        db.commit()
        run_money_transaction(
            request.app.state.sessionmaker,
            lambda money_db: orders.release_expired(db=money_db, account_id=account_id),
        )
        db.expire_all()


# --- the viewer's cart ----------------------------------------------------------------------


@router.get("/api/cart")
def get_cart(db: DbSession, viewer: CurrentViewer) -> CartRead:
    """What the viewer (guests too) has in the cart."""
    return _cart(db, orders.cart_items(db=db, viewer=viewer))


@router.post("/api/cart/items", status_code=201)
def add_cart_item(data: CartItemCreate, db: DbSession, viewer: CurrentViewer) -> CartRead:
    """Add a variant to the cart (from a placement: that placement gets the attribution)."""
    orders.add_to_cart(db=db, viewer=viewer, data=data)
    return _cart(db, orders.cart_items(db=db, viewer=viewer))


@router.patch("/api/cart/items/{item_id}")
def update_cart_item(
    item_id: BigPathId, data: CartItemUpdate, db: DbSession, viewer: CurrentViewer
) -> CartRead:
    """Change an item's quantity."""
    orders.update_cart_item(db=db, viewer=viewer, item_id=item_id, quantity=data.quantity)
    return _cart(db, orders.cart_items(db=db, viewer=viewer))


@router.delete("/api/cart/items/{item_id}")
def remove_cart_item(item_id: BigPathId, db: DbSession, viewer: CurrentViewer) -> CartRead:
    """Take an item out of the cart."""
    orders.remove_cart_item(db=db, viewer=viewer, item_id=item_id)
    return _cart(db, orders.cart_items(db=db, viewer=viewer))


# --- checkout -------------------------------------------------------------------------------


@router.post(
    "/api/checkout",
    status_code=201,
    response_model=None,
    responses={201: {"model": CheckoutStarted}},
)
def checkout(
    request: Request,
    response: Response,
    body: CheckoutCreate,
    db: DbSession,
    viewer: CurrentViewer,
) -> dict[str, Any]:
    """Reserve the stock of the cart (or the "Buy now" items) for 15 minutes, create the order
    and answer with the payment provider's checkout page; 409 insufficient_stock naming the
    variant when there is not enough."""
    key = idempotency.require_key(request)
    _release_expired(request, db)
    viewer_id = viewer.id
    db.commit()  # the viewer row must be visible to the money transaction's own session
    settings, provider = _settings(request), _provider(request)

    def effect(money_db: Session) -> idempotency.Outcome:
        viewer_here = _account(money_db, viewer_id)
        order, checkout_url = orders.checkout(
            db=money_db, settings=settings, provider=provider, viewer=viewer_here, data=body
        )
        answer = CheckoutStarted(order=order_read(money_db, order), checkout_url=checkout_url)
        return 201, answer.model_dump(mode="json")

    outcome, replayed = idempotency.run_idempotent(
        factory=request.app.state.sessionmaker,
        account_id=viewer_id,
        key=key,
        request_hash=idempotency.fingerprint(
            method="POST", path=request.url.path, body=body.model_dump_json().encode()
        ),
        keep_hours=settings.idempotency_keep_hours,
        effect=effect,
    )
    return idempotency.respond(outcome, replayed, response)


# --- the viewer's orders --------------------------------------------------------------------


@router.get("/api/orders")
def list_orders(request: Request, db: DbSession, viewer: CurrentViewer) -> list[OrderRead]:
    """The viewer's orders, newest first, with their status."""
    _release_expired(request, db, viewer.id)
    return [order_read(db, o) for o in orders.list_orders(db=db, viewer=viewer)]


@router.get("/api/orders/{order_id}")
def get_order(
    order_id: BigPathId, request: Request, db: DbSession, viewer: CurrentViewer
) -> OrderRead:
    """One of the viewer's orders (anyone else's is not found)."""
    _release_expired(request, db, viewer.id)
    return order_read(db, orders.get_order(db=db, viewer=viewer, order_id=order_id))


@router.post("/api/orders/{order_id}/cancel")
def cancel_order(
    order_id: BigPathId, request: Request, db: DbSession, viewer: CurrentViewer
) -> OrderRead:
    """Give up an order still waiting for payment; its items go back on sale."""
    viewer_id = viewer.id
    db.commit()

    def cancel(money_db: Session) -> OrderRead:
        viewer_here = _account(money_db, viewer_id)
        return order_read(
            money_db, orders.cancel_order(db=money_db, viewer=viewer_here, order_id=order_id)
        )

    return run_money_transaction(request.app.state.sessionmaker, cancel)


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


@router.post(
    "/api/brand/orders/{order_id}/refund",
    response_model=None,
    responses={200: {"model": OrderRead}, 202: {"model": OrderRead}},
)
def refund_order(
    order_id: BigPathId, request: Request, response: Response, db: DbSession, brand: CurrentBrand
) -> dict[str, Any]:
    """Refund an order in full through its provider: 200 once applied (the sandbox answers at
    once), 202 while Stripe's refund event is on its way."""
    key = idempotency.require_key(request)
    brand_id = brand.id
    db.commit()
    settings = _settings(request)

    def effect(money_db: Session) -> idempotency.Outcome:
        brand_here = _account(money_db, brand_id)
        order = orders.refund(db=money_db, settings=settings, brand=brand_here, order_id=order_id)
        status = 200 if order.status == OrderStatus.refunded else 202
        return status, order_read(money_db, order).model_dump(mode="json")

    outcome, replayed = idempotency.run_idempotent(
        factory=request.app.state.sessionmaker,
        account_id=brand_id,
        key=key,
        request_hash=idempotency.fingerprint(method="POST", path=request.url.path, body=b""),
        keep_hours=settings.idempotency_keep_hours,
        effect=effect,
    )
    return idempotency.respond(outcome, replayed, response)
