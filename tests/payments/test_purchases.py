"""A viewer buys coins through the sandbox checkout: paid, declined, replayed, refused."""

from __future__ import annotations

import uuid

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from microdrama.config import Settings
from microdrama.db import session_scope
from microdrama.payments import catalog as store_catalog
from microdrama.payments.models import PaymentEvent, Purchase
from microdrama.wallet import ledger
from tests.support.payments import (
    DECLINED,
    NO_FUNDS,
    admin_headers,
    balance,
    pay,
    start_purchase,
    viewer,
)


def test_store_lists_default_packs_with_bonus_and_vip_plans(app: FastAPI) -> None:
    client, _ = viewer(app)
    store = client.get("/api/store").json()
    packs = {
        p["code"]: (p["price_cents"], p["coins"], p["bonus_coins"]) for p in store["coin_packs"]
    }
    assert packs == {
        "coins_100": (99, 100, 0),
        "coins_500": (499, 500, 0),
        "coins_1000": (999, 1000, 100),
        "coins_2000": (1999, 2000, 200),
        "coins_5000": (4999, 5000, 1000),
    }
    plans = {p["code"]: (p["price_cents"], p["period_days"]) for p in store["vip_plans"]}
    assert plans == {"weekly": (1999, 7), "monthly": (3999, 30), "yearly": (19999, 365)}


def test_ensure_default_catalog_keeps_operator_changes(db: Session) -> None:
    store_catalog.ensure_default_catalog(db=db)
    store_catalog.upsert_coin_pack(
        db=db,
        code="coins_500",
        values={"price_cents": 399, "coins": 500, "bonus_coins": 50},
    )
    store_catalog.ensure_default_catalog(db=db)
    packs, _ = store_catalog.catalog(db=db)
    assert [(p.code, p.price_cents, p.bonus_coins) for p in packs][1] == ("coins_500", 399, 50)


def test_viewer_buys_a_pack_with_the_test_card_and_returns_to_the_episode(
    app: FastAPI, db_factory: sessionmaker[Session]
) -> None:
    client, _ = viewer(app)
    created = start_purchase(client, coin_pack="coins_1000", return_to="/watch/1/3?t=5")
    assert created["status"] == "pending"
    assert created["checkout_url"].startswith("/sandbox/checkout/cs_sbx_")

    page = client.get(created["checkout_url"])
    assert "$9.99" in page.text and "1,000 coins" in page.text and "100 bonus" in page.text

    answer = pay(client, created["checkout_url"], return_to="/watch/1/3?t=5")
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/watch/1/3?t=5&purchase={created['id']}"
    assert balance(client) == (1000, 100)
    purchase = client.get(f"/api/purchases/{created['id']}").json()
    assert purchase["status"] == "paid" and purchase["coins"] == 1000
    assert purchase["bonus_coins"] == 100 and purchase["amount_cents"] == 999

    history = client.get("/api/wallet/history").json()["items"]
    assert history[0]["kind"] == "purchase" and history[0]["amount_cents"] == 999
    with session_scope(db_factory) as db:
        assert ledger.verify(db=db) == []


def test_declined_card_fails_the_purchase_and_leaves_the_balance_alone(app: FastAPI) -> None:
    client, _ = viewer(app)
    created = start_purchase(client, coin_pack="coins_500")

    answer = pay(client, created["checkout_url"], card=DECLINED)
    assert answer.status_code == 402
    assert "Your card was declined." in answer.text and "Try again" in answer.text
    purchase = client.get(f"/api/purchases/{created['id']}").json()
    assert purchase["status"] == "failed"
    assert purchase["failure_reason"] == "Your card was declined."
    assert balance(client) == (0, 0)

    poor = pay(client, created["checkout_url"], card=NO_FUNDS)
    assert "insufficient funds" in poor.text
    assert balance(client) == (0, 0)

    # Trying again with a good card on the same page pays.
    assert pay(client, created["checkout_url"]).status_code == 303
    assert client.get(f"/api/purchases/{created['id']}").json()["status"] == "paid"
    assert balance(client) == (500, 0)


def test_malformed_card_is_refused_on_the_page_without_a_payment_attempt(
    app: FastAPI, db_factory: sessionmaker[Session]
) -> None:
    client, _ = viewer(app)
    created = start_purchase(client, coin_pack="coins_500")
    answer = pay(client, created["checkout_url"], card="4242 4242 4242 4241")
    assert answer.status_code == 422 and "card number is invalid" in answer.text
    expired = pay(client, created["checkout_url"], expiry="01/20")
    assert expired.status_code == 422 and "in the past" in expired.text
    assert client.get(f"/api/purchases/{created['id']}").json()["status"] == "pending"
    with session_scope(db_factory) as db:
        assert db.scalars(select(PaymentEvent)).all() == []


def test_paying_twice_on_the_same_page_credits_once(app: FastAPI) -> None:
    client, _ = viewer(app)
    created = start_purchase(client, coin_pack="coins_500")
    assert pay(client, created["checkout_url"]).status_code == 303
    again = pay(client, created["checkout_url"])
    assert again.status_code == 303
    assert balance(client) == (500, 0)


def test_same_idempotency_key_replays_the_purchase_and_another_body_conflicts(
    app: FastAPI, db_factory: sessionmaker[Session]
) -> None:
    client, _ = viewer(app)
    key = uuid.uuid4().hex
    first = start_purchase(client, coin_pack="coins_500", key=key)
    second = client.post(
        "/api/purchases",
        json={"coin_pack": "coins_500", "return_to": "/watch/1/3"},
        headers={"Idempotency-Key": key},
    )
    assert second.status_code == 201 and second.json() == first
    assert second.headers["Idempotent-Replayed"] == "true"
    other = client.post(
        "/api/purchases", json={"coin_pack": "coins_100"}, headers={"Idempotency-Key": key}
    )
    assert other.status_code == 409 and other.json()["error"] == "idempotency_conflict"
    with session_scope(db_factory) as db:
        assert len(db.scalars(select(Purchase)).all()) == 1


def test_purchase_needs_a_key_a_known_product_and_a_same_site_return_path(app: FastAPI) -> None:
    client, _ = viewer(app)
    no_key = client.post("/api/purchases", json={"coin_pack": "coins_500"})
    assert no_key.status_code == 400 and no_key.json()["error"] == "idempotency_key_required"
    for body, error in [
        ({"coin_pack": "coins_7"}, "unknown_product"),
        ({"vip_plan": "daily"}, "unknown_product"),
        ({"coin_pack": "coins_500", "return_to": "https://evil.example/"}, "invalid_return_to"),
        ({"coin_pack": "coins_500", "return_to": "//evil.example/x"}, "invalid_return_to"),
        ({"coin_pack": "coins_500", "return_to": "/\\evil.example"}, "invalid_return_to"),
        ({"coin_pack": "coins_500", "vip_plan": "weekly"}, "invalid_request"),
    ]:
        answer = client.post(
            "/api/purchases", json=body, headers={"Idempotency-Key": uuid.uuid4().hex}
        )
        assert answer.status_code in (404, 422), answer.text
        assert answer.json()["error"] == error


def test_a_purchase_is_visible_to_its_buyer_only(app: FastAPI) -> None:
    buyer, _ = viewer(app)
    created = start_purchase(buyer, coin_pack="coins_500")
    stranger, _ = viewer(app)
    assert stranger.get(f"/api/purchases/{created['id']}").status_code == 404
    assert buyer.get(f"/api/purchases/{created['id']}").status_code == 200


def test_price_change_does_not_alter_a_pending_purchase(
    app: FastAPI, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    client, _ = viewer(app)
    created = start_purchase(client, coin_pack="coins_500")
    admin = admin_headers(db_factory, settings)
    changed = client.put(
        "/api/admin/coin-packs/coins_500",
        json={"price_cents": 599, "coins": 400},
        headers=admin,
    )
    assert changed.status_code == 200 and changed.json()["price_cents"] == 599
    assert pay(client, created["checkout_url"]).status_code == 303
    assert balance(client) == (500, 0)
    assert client.get(f"/api/purchases/{created['id']}").json()["amount_cents"] == 499


def test_only_admins_edit_the_catalog(
    app: FastAPI, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    client, _ = viewer(app)
    body = {"price_cents": 12999, "coins": 15000, "bonus_coins": 3000}
    assert client.put("/api/admin/coin-packs/coins_15000", json=body).status_code in (401, 403)
    admin = admin_headers(db_factory, settings)
    created = client.put("/api/admin/coin-packs/coins_15000", json=body, headers=admin)
    assert created.status_code == 200
    hidden = client.put(
        "/api/admin/vip-plans/weekly",
        json={"name": "VIP Weekly", "period_days": 7, "price_cents": 1999, "active": False},
        headers=admin,
    )
    assert hidden.status_code == 200
    store = client.get("/api/store").json()
    assert "coins_15000" in [p["code"] for p in store["coin_packs"]]
    assert "weekly" not in [p["code"] for p in store["vip_plans"]]
    everything = client.get("/api/admin/store", headers=admin).json()
    assert "weekly" in [p["code"] for p in everything["vip_plans"]]
