"""The viewer's shop pages: cart, checkout, orders and one order. The pages are shells that
js/shop_pages.js fills from the cart and orders API; the checkout page gets its item list
server-side (the cart, or the one "Buy now" variant) so the form shows at once."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from microdrama.db import DbSession
from microdrama.errors import DomainError
from microdrama.payments.purchases import check_return_to
from microdrama.shop.checkout import service as checkout
from microdrama.templating import templates
from microdrama.types import BigPathId, Id
from microdrama.web.routes import _known_viewer, _render
from microdrama.wording import money

router = APIRouter(include_in_schema=False)


templates.env.filters["cents"] = money  # the one money format (microdrama.wording)


def _back(back: str | None) -> str:
    try:
        return check_return_to(back)
    except DomainError:
        return "/"


@router.get("/cart", response_class=HTMLResponse)
def cart_page(request: Request) -> Response:
    """What the viewer put in the cart, with quantities and checkout."""
    return _render(request, "shop_cart.html", {"page": "cart"})


@router.get("/checkout", response_class=HTMLResponse)
def checkout_page(
    request: Request,
    db: DbSession,
    variant: Id | None = None,
    placement: Id | None = None,
    brand: Id | None = None,
    back: str | None = None,
) -> Response:
    """The shipping form for the cart (one brand's part of it with ?brand=) or for one variant
    bought at once (?variant=&placement=), then on to the payment provider's page."""
    items: list[dict[str, Any]] = []
    if variant is not None:
        found = checkout.variant_summary(db=db, variant_id=variant)
        if found is not None:
            items = [found]
    else:
        viewer = _known_viewer(request, db)
        if viewer is not None:
            for item in checkout.cart_items(db=db, viewer=viewer):
                summary = checkout.variant_summary(db=db, variant_id=item.variant_id)
                if summary and (brand is None or summary["brand_id"] == brand):
                    items.append({**summary, "quantity": item.quantity})
    context = {
        "page": "checkout",
        "items": items,
        "total_cents": sum(i["unit_price_cents"] * i.get("quantity", 1) for i in items),
        "buy_now": {"variant_id": variant, "placement_id": placement} if variant else None,
        "brand_id": brand,
        "back": _back(back),
    }
    return _render(request, "shop_checkout.html", context)


@router.get("/orders", response_class=HTMLResponse)
def orders_page(request: Request) -> Response:
    """The viewer's orders and their status."""
    return _render(request, "shop_orders.html", {"page": "orders"})


@router.get("/orders/{order_id}", response_class=HTMLResponse)
def order_page(order_id: BigPathId, request: Request) -> Response:
    """One order: its status (waiting for the payment's confirmation right after checkout),
    items and address."""
    context = {"page": "order", "order_id": order_id, "back": "/orders"}
    return _render(request, "shop_order.html", context)
