"""Many checkouts at once against two server processes: stock never goes below zero, the first
payments win, the rest get insufficient_stock, and locks never deadlock unhandled."""

from __future__ import annotations

import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts import service as accounts
from microdrama.accounts.models import Role
from microdrama.db import utcnow
from microdrama.shop.campaigns import service as shop
from microdrama.shop.campaigns.schemas import CampaignCreate
from microdrama.shop.catalog import service as shop_catalog
from microdrama.shop.catalog.schemas import ProductCreate, VariantCreate
from microdrama.shop.models import Order, OrderStatus, ProductVariant
from microdrama.shop.placements import service as placements
from microdrama.shop.placements.schemas import PlacementCreate
from microdrama.wallet import ledger
from tests.support.factories import make_series
from tests.support.orders import ADDRESS
from tests.support.servers import running_servers, server_env


def _two_servers(stack: ExitStack, database_url: str, tmp_path: Path) -> list[str]:
    env = server_env(database_url=database_url, data_dir=tmp_path / "data")
    logs = [tmp_path / f"server{n}.log" for n in (1, 2)]
    return stack.enter_context(running_servers(env, logs))


def _products(db: Session, stocks: list[int]) -> tuple[list[int], int]:
    """A brand's products (one variant each, $25.00) placed in an accepted campaign; returns
    the variant ids and the placement of the first product."""
    brand = accounts.create_account(db=db, display_name="Rush Brand", role=Role.brand)
    creator = accounts.create_account(db=db, display_name="Rush Studio", role=Role.creator)
    series = make_series(db, owner=creator, episodes=1, duration_ms=30_000)
    variant_ids, product_ids = [], []
    for n, units in enumerate(stocks):
        product = shop_catalog.create_product(
            db=db,
            brand=brand,
            data=ProductCreate(
                title=f"Limited drop {n}",
                price_cents=2_500,
                sku=f"DROP-{n}",
                variants=[VariantCreate(name="One size", sku=f"DROP-{n}-OS", stock=units)],
            ),
        )
        variant_ids.append(product.variants[0].id)
        product_ids.append(product.id)
    campaign = shop.create_campaign(
        db=db,
        brand=brand,
        data=CampaignCreate(
            series_id=series.id,
            budget_cents=1_000_000,
            starts_at=utcnow() - timedelta(days=1),
            ends_at=utcnow() + timedelta(days=365),
            commission_percent=20,
        ),
    )
    shop.decide_campaign(db=db, creator=creator, campaign_id=campaign.id, accept=True)
    placement = placements.create_placement(
        db=db,
        author=brand,
        campaign=campaign,
        data=PlacementCreate(
            episode_id=series.episodes[0].id, product_id=product_ids[0], start_ms=0, end_ms=5_000
        ),
    )
    db.commit()
    return variant_ids, placement.id


def _checkout_and_pay(base_url: str, items: list[dict[str, Any]]) -> str:
    """One viewer's whole purchase; returns "paid", or the error code of a refused checkout."""
    with httpx.Client(base_url=base_url, timeout=120) as http:
        started = http.post(
            "/api/checkout",
            json={"shipping": ADDRESS, "items": items},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        if started.status_code != 201:
            assert started.status_code < 500, started.text
            return str(started.json()["error"])
        order_id = started.json()["order"]["id"]
        paid = http.post(
            started.json()["checkout_url"],
            data={
                "card_number": "4242424242424242",
                "expiry": "12/39",
                "cvc": "123",
                "return_to": f"/orders/{order_id}",
            },
        )
        assert paid.status_code == 303, paid.text
        return str(http.get(f"/api/orders/{order_id}").json()["status"])


def test_fifty_buyers_of_five_units_make_exactly_five_paid_orders(
    database_url: str, tmp_path: Path, db: Session, db_factory: sessionmaker[Session]
) -> None:
    [variant_id], placement_id = _products(db, [5])
    items = [{"variant_id": variant_id, "quantity": 1, "placement_id": placement_id}]

    with ExitStack() as stack:
        servers = _two_servers(stack, database_url, tmp_path)
        with ThreadPoolExecutor(max_workers=25) as pool:
            outcomes = Counter(
                pool.map(lambda i: _checkout_and_pay(servers[i % 2], items), range(50))
            )

    assert outcomes == {"paid": 5, "insufficient_stock": 45}
    with db_factory() as session:
        assert session.get(ProductVariant, variant_id).stock == 0  # type: ignore[union-attr]
        paid = session.scalar(select(func.count(Order.id)).where(Order.status == OrderStatus.paid))
        assert paid == 5
        assert ledger.verify(db=session) == []


def test_orders_listing_the_same_products_in_opposite_order_never_deadlock(
    database_url: str, tmp_path: Path, db: Session, db_factory: sessionmaker[Session]
) -> None:
    (first, second), _ = _products(db, [100, 100])
    forwards = [{"variant_id": first}, {"variant_id": second}]
    backwards = [{"variant_id": second}, {"variant_id": first}]

    with ExitStack() as stack:
        servers = _two_servers(stack, database_url, tmp_path)

        def buy(i: int) -> str:
            return _checkout_and_pay(servers[i % 2], forwards if i % 2 else backwards)

        with ThreadPoolExecutor(max_workers=20) as pool:
            outcomes = Counter(pool.map(buy, range(20)))

    assert outcomes == {"paid": 20}
    with db_factory() as session:
        stocks = [session.get(ProductVariant, v).stock for v in (first, second)]  # type: ignore[union-attr]
        assert stocks == [80, 80]
        assert ledger.verify(db=session) == []
