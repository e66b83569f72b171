"""Checkout throughput on PostgreSQL (checkout started + payment webhook applied) against
pgbench's TPC-B in the same run, then the books and the stock are checked.

    .venv/bin/python bench/checkouts.py [--seconds 10] [--clients 32] [--products 8]
        [--database postgresql+psycopg://postgres@127.0.0.1:5432/test]

Both workloads get a schema of their own in the given database (dropped afterwards).
Baseline: `pgbench -c N -j 2 -T S` (TPC-B-like: 3 updates, a select and an insert per
transaction). Ours: N threads (in `--processes` worker processes, as API workers run) each
buying one unit of a random one of `--products` placed products, again and again, through
exactly what the routes run: `POST /api/checkout`'s idempotent transaction (variant rows
locked in primary-key order, stock taken, order, lines and the sandbox payment created), then
the sandbox card page's payment (its signed checkout.session.completed event verified,
deduplicated and applied: order paid, brand/creator/platform split posted to the ledger, the
placement's order event). One "checkout" below is both transactions. Buyers share the few
products, so row locks on hot variants are part of what is measured. Afterwards `ledger
verify` must report 0 violations and the stock sold must equal the paid orders.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import threading
import time
import uuid
from datetime import timedelta

from common import add_database_option, emit_json, require_tool, seed_catalog_rows
from sqlalchemy import create_engine, text
from unlocks import _schema_url, pgbench_tps

STOCK_EACH = 10**6


def _client_process(
    url: str, viewer_ids: list[int], variant_ids: list[int], placement_ids: list[int], seconds: int
) -> tuple[int, int, float]:
    """One worker process: a thread per buyer checking out and paying until time is up."""
    from microdrama import idempotency
    from microdrama.accounts import service as accounts
    from microdrama.config import Settings
    from microdrama.db import make_engine, make_sessionmaker
    from microdrama.payments import sandbox
    from microdrama.payments.providers import Card, SandboxProvider
    from microdrama.shop.checkout import service as checkout
    from microdrama.shop.checkout.schemas import CartItemCreate, CheckoutCreate
    from microdrama.shop.orders import service as _orders  # noqa: F401 (registers paying for an order)
    from microdrama.shop.orders.schemas import ShippingAddress

    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    settings = Settings(database_url=url, environment="test")
    provider = SandboxProvider(settings)
    address = ShippingAddress(
        name="Bench Buyer", line1="1 Main St", city="Portland", postal_code="97201", country="US"
    )
    done = [0] * len(viewer_ids)
    refused = [0] * len(viewer_ids)
    deadline = time.monotonic() + seconds

    def client(slot: int) -> None:
        viewer_id = viewer_ids[slot]
        rng = random.Random(viewer_id)
        while time.monotonic() < deadline:
            pick = rng.randrange(len(variant_ids))
            data = CheckoutCreate(
                shipping=address,
                items=[
                    CartItemCreate(variant_id=variant_ids[pick], placement_id=placement_ids[pick])
                ],
            )

            def effect(db, data=data):  # type: ignore[no-untyped-def]
                viewer = accounts.get(db=db, account_id=viewer_id)
                order, url = checkout.checkout(
                    db=db, settings=settings, provider=provider, viewer=viewer, data=data
                )
                return 201, {"order_id": order.id, "checkout_url": url}

            (status, body), _ = idempotency.run_idempotent(
                factory=factory,
                account_id=viewer_id,
                key=uuid.uuid4().hex,
                request_hash=f"checkout {pick}",
                keep_hours=24,
                effect=effect,
            )
            if status != 201:
                refused[slot] += 1
                continue
            session_id = body["checkout_url"].split("/sandbox/checkout/")[1].split("?")[0]
            paid = sandbox.pay_sandbox_checkout(
                sessionmaker=factory,
                settings=settings,
                session_id=session_id,
                card=Card(number="4242424242424242", expiry="12/39", cvc="123"),
            )
            if paid.paid:
                done[slot] += 1
            else:
                refused[slot] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(len(viewer_ids))]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    engine.dispose()
    return sum(done), sum(refused), elapsed


def _seed(url: str, clients: int, products: int) -> tuple[list[int], list[int], list[int]]:
    from microdrama.accounts import service as accounts
    from microdrama.accounts.models import Account, Role
    from microdrama.catalog import service as catalog
    from microdrama.db import (
        make_engine,
        make_sessionmaker,
        session_scope,
        upgrade_database,
        utcnow,
    )
    from microdrama.shop.campaigns import service as shop
    from microdrama.shop.campaigns.schemas import CampaignCreate
    from microdrama.shop.catalog import service as shop_catalog
    from microdrama.shop.catalog.schemas import ProductCreate, VariantCreate
    from microdrama.shop.placements import service as placements
    from microdrama.shop.placements.schemas import PlacementCreate

    engine = make_engine(url)
    upgrade_database(engine)
    [series_id] = seed_catalog_rows(url, series=1, episodes=1, duration_ms=60_000)
    try:
        with session_scope(make_sessionmaker(engine)) as db:
            series = catalog.get(db=db, series_id=series_id)
            assert series is not None
            creator = accounts.get(db=db, account_id=series.owner_id)
            assert creator is not None
            brand = accounts.create_account(db=db, display_name="Bench Brand", role=Role.brand)
            campaign = shop.create_campaign(
                db=db,
                brand=brand,
                data=CampaignCreate(
                    series_id=series.id,
                    budget_cents=1_000_000,
                    starts_at=utcnow() - timedelta(days=1),
                    ends_at=utcnow() + timedelta(days=365),
                    commission_percent=15,
                ),
            )
            shop.decide_campaign(db=db, creator=creator, campaign_id=campaign.id, accept=True)
            variant_ids, placement_ids = [], []
            for n in range(products):
                product = shop_catalog.create_product(
                    db=db,
                    brand=brand,
                    data=ProductCreate(
                        title=f"Bench product {n}",
                        price_cents=1_999 + n,
                        sku=f"BENCH-{n}",
                        variants=[VariantCreate(name="One", sku=f"B-{n}", stock=STOCK_EACH)],
                    ),
                )
                placement = placements.create_placement(
                    db=db,
                    author=brand,
                    campaign=campaign,
                    data=PlacementCreate(
                        episode_id=series.episodes[0].id,
                        product_id=product.id,
                        start_ms=n * 1_000,
                        end_ms=n * 1_000 + 500,
                    ),
                )
                variant_ids.append(product.variants[0].id)
                placement_ids.append(placement.id)
            viewers = [Account(display_name=f"bench buyer {n}") for n in range(clients)]
            db.add_all(viewers)
            db.flush()
            return [v.id for v in viewers], variant_ids, placement_ids
    finally:
        engine.dispose()


def checkouts_per_second(
    url: str, clients: int, seconds: int, processes: int, products: int
) -> tuple[float, int, int, int]:
    from microdrama.db import make_engine, make_sessionmaker
    from microdrama.wallet import ledger

    viewer_ids, variant_ids, placement_ids = _seed(url, clients, products)
    processes = max(1, min(processes, clients))
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(processes) as pool:
        shares = [viewer_ids[n::processes] for n in range(processes)]
        results = pool.starmap(
            _client_process,
            [(url, share, variant_ids, placement_ids, seconds) for share in shares],
        )
    rate = sum(done / elapsed for done, _refused, elapsed in results)
    done = sum(r[0] for r in results)
    refused = sum(r[1] for r in results)
    engine = make_engine(url)
    with make_sessionmaker(engine)() as db:
        violations = len(ledger.verify(db=db))
        paid = db.scalar(text("select count(*) from orders where status = 'paid'"))
        sold = db.scalar(
            text("select :total - sum(stock) from product_variants"),
            {"total": STOCK_EACH * products},
        )
        assert paid == done == sold, (paid, done, sold)
    engine.dispose()
    return rate, violations, refused, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--processes", type=int, default=2, help="client processes")
    parser.add_argument("--products", type=int, default=8, help="products the buyers share")
    add_database_option(parser)
    args = parser.parse_args()
    require_tool("pgbench", "sudo apt-get install postgresql-client")
    admin = create_engine(args.database, isolation_level="AUTOCOMMIT")
    suffix = uuid.uuid4().hex[:8]
    ours, theirs = f"bench_checkouts_{suffix}", f"bench_pgbench_{suffix}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{ours}"'))
        conn.execute(text(f'CREATE SCHEMA "{theirs}"'))
    try:
        print(f"pgbench TPC-B: {args.clients} clients, {args.seconds} s ...")
        tps = pgbench_tps(args.database, theirs, args.clients, args.seconds, init=True)
        print(f"checkouts: {args.clients} clients, {args.products} products, {args.seconds} s ...")
        rate, violations, refused, done = checkouts_per_second(
            _schema_url(args.database, ours),
            args.clients,
            args.seconds,
            args.processes,
            args.products,
        )
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{ours}" CASCADE'))
            conn.execute(text(f'DROP SCHEMA "{theirs}" CASCADE'))
        admin.dispose()
    ratio = rate / tps
    print(f"{'pgbench TPC-B':<24}{tps:>10.0f} tps")
    print(f"{'checkouts (start+paid)':<24}{rate:>10.0f} /s   ratio {ratio:.2f} x pgbench tps")
    print(f"{'paid orders':<24}{done:>10d}      refused: {refused}")
    print(f"{'ledger violations':<24}{violations:>10d}      (must be 0)")
    emit_json(
        "checkouts",
        pgbench_tps=round(tps, 1),
        checkouts_per_s=round(rate, 1),
        ratio=round(ratio, 3),
        paid_orders=done,
        refused=refused,
        ledger_violations=violations,
        clients=args.clients,
        products=args.products,
        seconds=args.seconds,
    )


if __name__ == "__main__":
    main()
