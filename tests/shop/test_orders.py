"""Viewers buy what they saw: cart, checkout with stock held, payment, the money split, and
what brands do with orders afterwards."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts.models import Role
from microdrama.config import Settings
from microdrama.db import utcnow
from microdrama.housekeeping import run_once
from microdrama.shop.models import Order
from microdrama.wallet.models import LedgerAccountKind as K
from tests.support.accounts import signed_in
from tests.support.orders import (
    ADDRESS,
    books_are_clean,
    buy,
    pay,
    start_checkout,
    stock,
    usd_balance,
)
from tests.support.shop import placed_campaign


def _shop(client: TestClient, db_factory: sessionmaker[Session], settings: Settings) -> Any:
    shop = placed_campaign(client, db_factory, settings, brand_name="Maison")
    shop["variant_id"] = shop["product"]["variants"][0]["id"]  # M / Red, 5 in stock, $49.00
    shop["sold_out_id"] = shop["product"]["variants"][1]["id"]
    return shop


def _expire(db_factory: sessionmaker[Session], order_id: int) -> None:
    with db_factory() as db:
        db.execute(
            update(Order)
            .where(Order.id == order_id)
            .values(reserved_until=utcnow() - timedelta(minutes=1))
        )
        db.commit()


def test_a_guest_buys_from_a_placement_and_the_money_is_split_through_the_ledger(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    shop = _shop(client, db_factory, settings)
    placement = shop["placements"][0]
    viewer = TestClient(client.app)

    cart = viewer.post(
        "/api/cart/items",
        json={"variant_id": shop["variant_id"], "quantity": 1, "placement_id": placement["id"]},
    )
    assert cart.status_code == 201, cart.text
    assert cart.json()["total_cents"] == 4_900
    assert cart.json()["items"][0]["brand_name"] == "Maison"

    order = buy(viewer)

    assert order["status"] == "paid"
    assert order["total_cents"] == 4_900
    assert order["items"][0]["placement_id"] == placement["id"]
    assert order["shipping"]["city"] == "Portland"
    assert viewer.get("/api/cart").json()["items"] == []
    assert stock(db_factory, shop["variant_id"]) == 4
    # $49.00: 10 % platform fee ($4.90), 12 % commission to the creator ($5.88), brand the rest.
    assert usd_balance(db_factory, K.brand_revenue, shop["brand_id"]) == 3_822
    assert usd_balance(db_factory, K.creator_earnings, shop["creator_id"]) == 588
    assert usd_balance(db_factory, K.platform_revenue, None) == 490
    assert books_are_clean(db_factory)

    funnel = client.get("/api/brand/funnels", headers=shop["brand"]).json()
    row = next(r for r in funnel["rows"] if r["placement_id"] == placement["id"])
    assert (row["add_to_carts"], row["orders"]) == (1, 1)
    assert (row["revenue_cents"], row["commission_cents"]) == (4_900, 588)
    assert row["roas_permille"] == 4_900 * 1000 // 588
    single = client.get(f"/api/brand/placements/{placement['id']}/funnel", headers=shop["brand"])
    assert (single.json()["orders"], single.json()["revenue_cents"]) == (1, 4_900)
    days = client.get("/api/brand/funnels/daily", headers=shop["brand"]).json()["days"]
    assert (days[-1]["orders"], days[-1]["revenue_cents"]) == (1, 4_900)
    earnings = client.get("/api/studio/commissions", headers=shop["creator"]).json()
    assert earnings["total_commission_cents"] == 588
    first = next(r for r in earnings["rows"] if r["placement_id"] == placement["id"])
    assert (first["orders"], first["revenue_cents"], first["commission_cents"]) == (1, 4_900, 588)
    assert [o["id"] for o in client.get("/api/brand/orders", headers=shop["brand"]).json()] == [
        order["id"]
    ]


def test_buy_now_without_a_placement_earns_no_commission(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    shop = _shop(client, db_factory, settings)
    viewer = TestClient(client.app)

    order = buy(viewer, items=[{"variant_id": shop["variant_id"], "quantity": 2}])

    assert (order["status"], order["total_cents"]) == ("paid", 9_800)
    assert usd_balance(db_factory, K.brand_revenue, shop["brand_id"]) == 9_800 - 980
    assert usd_balance(db_factory, K.creator_earnings, shop["creator_id"]) == 0
    assert stock(db_factory, shop["variant_id"]) == 3


def test_not_enough_stock_is_a_clear_409_naming_the_variant_and_reserves_nothing(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    shop = _shop(client, db_factory, settings)
    viewer = TestClient(client.app)

    sold_out = viewer.post("/api/cart/items", json={"variant_id": shop["sold_out_id"]})
    assert (sold_out.status_code, sold_out.json()["error"]) == (409, "insufficient_stock")
    status, answer = start_checkout(
        viewer, items=[{"variant_id": shop["variant_id"], "quantity": 6}]
    )

    assert (status, answer["error"]) == (409, "insufficient_stock")
    assert answer["variant_id"] == shop["variant_id"]
    assert (answer["available"], answer["variant_name"]) == (5, "M / Red")
    assert stock(db_factory, shop["variant_id"]) == 5
    assert viewer.get("/api/orders").json() == []


def test_checkout_is_idempotent_and_validates_the_address(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    shop = _shop(client, db_factory, settings)
    viewer = TestClient(client.app)
    items = [{"variant_id": shop["variant_id"], "quantity": 1}]
    key = uuid.uuid4().hex

    first = start_checkout(viewer, key=key, items=items)
    again = start_checkout(viewer, key=key, items=items)

    assert first[0] == again[0] == 201
    assert first[1] == again[1]
    assert stock(db_factory, shop["variant_id"]) == 4
    assert len(viewer.get("/api/orders").json()) == 1

    no_key = viewer.post("/api/checkout", json={"shipping": ADDRESS, "items": items})
    assert (no_key.status_code, no_key.json()["error"]) == (400, "idempotency_key_required")
    bad = viewer.post(
        "/api/checkout",
        json={"shipping": {**ADDRESS, "country": "USA", "name": ""}, "items": items},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert bad.status_code == 422
    assert {p["field"] for p in bad.json()["problems"]} == {"shipping.country", "shipping.name"}
    assert start_checkout(viewer)[1]["error"] == "cart_empty"
    unknown = start_checkout(viewer, items=[{"variant_id": 999_999}])
    assert unknown[0] == 404


def test_an_unpaid_reservation_runs_out_and_its_stock_goes_back(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    shop = _shop(client, db_factory, settings)
    viewer = TestClient(client.app)
    _, started = start_checkout(viewer, items=[{"variant_id": shop["variant_id"], "quantity": 2}])
    order_id = started["order"]["id"]
    assert started["order"]["status"] == "pending_payment"
    assert stock(db_factory, shop["variant_id"]) == 3

    _expire(db_factory, order_id)
    order = viewer.get(f"/api/orders/{order_id}").json()  # noticed lazily, on read

    assert order["status"] == "cancelled"
    assert stock(db_factory, shop["variant_id"]) == 5

    _, other = start_checkout(viewer, items=[{"variant_id": shop["variant_id"], "quantity": 1}])
    _expire(db_factory, other["order"]["id"])
    assert run_once(factory=db_factory, settings=settings).shop_reservations_released == 1
    assert stock(db_factory, shop["variant_id"]) == 5


def test_a_payment_after_the_reservation_ran_out_sells_only_what_is_left(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    shop = _shop(client, db_factory, settings)
    late, quick = TestClient(client.app), TestClient(client.app)
    _, lucky = start_checkout(late, items=[{"variant_id": shop["variant_id"], "quantity": 1}])
    _, unlucky = start_checkout(late, items=[{"variant_id": shop["variant_id"], "quantity": 5}])
    assert unlucky["error"] == "insufficient_stock"
    _expire(db_factory, lucky["order"]["id"])
    late.get("/api/orders")  # the reservation runs out: 5 on sale again

    # Still in stock when the late payment arrives: the order is filled.
    assert pay(late, lucky["checkout_url"], lucky["order"]["id"]).status_code == 303
    filled = late.get(f"/api/orders/{lucky['order']['id']}").json()
    assert filled["status"] == "paid"
    assert "still in stock" in filled["note"]
    assert stock(db_factory, shop["variant_id"]) == 4

    _, slow = start_checkout(late, items=[{"variant_id": shop["variant_id"], "quantity": 1}])
    _expire(db_factory, slow["order"]["id"])
    late.get("/api/orders")
    buy(quick, items=[{"variant_id": shop["variant_id"], "quantity": 4}])  # sells out
    assert stock(db_factory, shop["variant_id"]) == 0

    # Sold out meanwhile: refunded in full, never oversold.
    pay(late, slow["checkout_url"], slow["order"]["id"])
    refunded = late.get(f"/api/orders/{slow['order']['id']}").json()
    assert refunded["status"] == "refunded"
    assert "refunded" in refunded["note"]
    assert stock(db_factory, shop["variant_id"]) == 0
    assert usd_balance(db_factory, K.platform_cash, None) == 0
    assert books_are_clean(db_factory)


def test_the_brand_ships_delivers_and_refunds_and_a_refund_reverses_every_leg(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    shop = _shop(client, db_factory, settings)
    viewer = TestClient(client.app)
    viewer.post(
        "/api/cart/items",
        json={"variant_id": shop["variant_id"], "placement_id": shop["placements"][0]["id"]},
    )
    shipped_one = buy(viewer)
    unshipped = buy(viewer, items=[{"variant_id": shop["variant_id"]}])
    brand = shop["brand"]
    assert stock(db_factory, shop["variant_id"]) == 3

    too_early = client.post(f"/api/brand/orders/{shipped_one['id']}/deliver", headers=brand)
    assert (too_early.status_code, too_early.json()["error"]) == (409, "invalid_order_status")
    assert (
        client.post(f"/api/brand/orders/{shipped_one['id']}/ship", headers=brand).json()["status"]
        == "shipped"
    )
    delivered = client.post(f"/api/brand/orders/{shipped_one['id']}/deliver", headers=brand)
    assert delivered.json()["status"] == "delivered"
    assert viewer.get(f"/api/orders/{shipped_one['id']}").json()["status"] == "delivered"

    refund_url = f"/api/brand/orders/{unshipped['id']}/refund"
    assert client.post(refund_url, headers=brand).status_code == 400  # no Idempotency-Key
    key = {"Idempotency-Key": uuid.uuid4().hex}
    refunded = client.post(refund_url, headers={**brand, **key})
    assert (refunded.status_code, refunded.json()["status"]) == (200, "refunded")
    replay = client.post(refund_url, headers={**brand, **key})
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert stock(db_factory, shop["variant_id"]) == 4  # unshipped goods back on sale
    again = client.post(refund_url, headers={**brand, "Idempotency-Key": uuid.uuid4().hex})
    assert (again.status_code, again.json()["error"]) == (409, "not_refundable")

    client.post(
        f"/api/brand/orders/{shipped_one['id']}/refund",
        headers={**brand, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert usd_balance(db_factory, K.brand_revenue, shop["brand_id"]) == 0
    assert usd_balance(db_factory, K.creator_earnings, shop["creator_id"]) == 0
    assert usd_balance(db_factory, K.platform_revenue, None) == 0
    assert stock(db_factory, shop["variant_id"]) == 4  # delivered goods are not restocked
    assert books_are_clean(db_factory)
    funnel = client.get("/api/brand/funnels", headers=brand).json()
    assert funnel["totals"]["revenue_cents"] == 0


def test_viewers_brands_and_creators_see_only_their_own_orders_and_carts(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    shop = _shop(client, db_factory, settings)
    buyer, stranger = TestClient(client.app), TestClient(client.app)
    added = buyer.post("/api/cart/items", json={"variant_id": shop["variant_id"]}).json()
    item_id = added["items"][0]["id"]
    order = buy(buyer, items=[{"variant_id": shop["variant_id"]}])
    rival, _ = signed_in(db_factory, settings, role=Role.brand, name="Rival")

    assert stranger.get(f"/api/orders/{order['id']}").status_code == 404
    assert stranger.get("/api/orders").json() == []
    assert stranger.get("/api/cart").json()["items"] == []
    patch = stranger.patch(f"/api/cart/items/{item_id}", json={"quantity": 2})
    assert patch.status_code == 404
    assert stranger.delete(f"/api/cart/items/{item_id}").status_code == 404
    assert buyer.get("/api/cart").json()["items"][0]["quantity"] == 1

    assert client.get("/api/brand/orders", headers=rival).json() == []
    for action in ("ship", "deliver"):
        answer = client.post(f"/api/brand/orders/{order['id']}/{action}", headers=rival)
        assert answer.status_code == 404
    stolen = client.post(
        f"/api/brand/orders/{order['id']}/refund",
        headers={**rival, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert stolen.status_code == 404
    assert client.get("/api/brand/orders", headers=shop["creator"]).status_code == 403
    assert buyer.get("/api/brand/orders").status_code == 401
    assert buyer.get("/api/studio/commissions").status_code == 401
    assert client.get("/api/brand/funnels", headers=rival).json()["totals"]["orders"] == 0


def test_a_cart_with_two_brands_is_checked_out_one_brand_at_a_time(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    shop = _shop(client, db_factory, settings)
    other = placed_campaign(client, db_factory, settings, brand_name="Atelier")
    viewer = TestClient(client.app)
    viewer.post("/api/cart/items", json={"variant_id": shop["variant_id"]})
    viewer.post("/api/cart/items", json={"variant_id": other["product"]["variants"][0]["id"]})
    too_many = viewer.patch(
        f"/api/cart/items/{viewer.get('/api/cart').json()['items'][0]['id']}",
        json={"quantity": 6},
    )
    assert (too_many.status_code, too_many.json()["available"]) == (409, 5)

    status, mixed = start_checkout(viewer)
    assert (status, mixed["error"]) == (422, "choose_brand")
    assert {b["name"] for b in mixed["brands"]} == {"Maison", "Atelier"}

    order = buy(viewer, brand_id=other["brand_id"])
    assert (order["brand_name"], order["status"]) == ("Atelier", "paid")
    [left] = viewer.get("/api/cart").json()["items"]
    assert left["brand_name"] == "Maison"
    assert client.get("/api/brand/orders", headers=shop["brand"]).json() == []
