"""A web process SIGKILLed in the middle of concurrent checkouts (PostgreSQL): every order is
whole or absent (paid with its stock and its ledger rows, or a reservation not paid yet), no
unit of stock is lost, the books balance; a new process then answers the buyers' retries with
the same idempotency keys without charging anyone twice."""

from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from microdrama.config import Settings
from microdrama.idempotency import IdempotencyRecord
from microdrama.payments.models import Purchase, PurchaseStatus
from microdrama.shop.models import Order, OrderStatus, ProductVariant
from microdrama.wallet import ledger
from microdrama.wallet.models import LedgerTransaction
from tests.faults.conftest import Drop, buyers, limited_drop
from tests.support.accounts import Headers
from tests.support.orders import ADDRESS
from tests.support.servers import server_env, server_process

BUYERS = 12
PURCHASES_EACH = 8
KILL_AFTER_PAID = 8  # paid orders in the database when the process is killed
CARD = {"card_number": "4242424242424242", "expiry": "12/39", "cvc": "123"}


def _buy(http: httpx.Client, key: str, drop: Drop) -> int:
    """Checkout ("Buy now", one unit) with this Idempotency-Key, then pay; the order's id."""
    item = {"variant_id": drop.variant_id, "quantity": 1, "placement_id": drop.placement_id}
    started = http.post(
        "/api/checkout",
        json={"shipping": ADDRESS, "items": [item]},
        headers={"Idempotency-Key": key},
    )
    assert started.status_code == 201, started.text
    order_id = int(started.json()["order"]["id"])
    paid = http.post(
        started.json()["checkout_url"], data={**CARD, "return_to": f"/orders/{order_id}"}
    )
    assert paid.status_code == 303, paid.text
    return order_id


def _paid_orders(factory: sessionmaker[Session]) -> int:
    with factory() as db:
        return db.scalar(select(func.count(Order.id)).where(Order.status == OrderStatus.paid)) or 0


def _books(db: Session, drop: Drop) -> dict[str, Any]:
    """What the database holds of the orders: each whole (paid: its payment paid and its
    ledger transaction posted; pending: a reservation with neither), and the stock."""
    orders = db.scalars(select(Order).order_by(Order.id)).all()
    for order in orders:
        assert order.lines, f"order {order.id} has no lines"
        purchase = db.get(Purchase, order.purchase_id) if order.purchase_id else None
        assert purchase is not None, f"order {order.id} has no payment"
        posted = db.scalar(
            select(func.count(LedgerTransaction.id)).where(
                LedgerTransaction.reference == f"order:{order.id}"
            )
        )
        if order.status == OrderStatus.paid:
            assert (purchase.status, posted) == (PurchaseStatus.paid, 1), order.id
        else:
            assert order.status == OrderStatus.pending_payment, order.id
            assert (purchase.status != PurchaseStatus.paid, posted) == (True, 0), order.id
    variant = db.get(ProductVariant, drop.variant_id)
    assert variant is not None
    held = sum(line.quantity for order in orders for line in order.lines)
    return {
        "paid": sum(o.status == OrderStatus.paid for o in orders),
        "pending": sum(o.status == OrderStatus.pending_payment for o in orders),
        "stock": variant.stock,
        "units_in_orders": held,
        "violations": ledger.verify(db=db),
    }


def test_a_web_process_killed_mid_checkouts_leaves_whole_orders_and_retries_pay_once(
    pg_url: str, tmp_path: Path, settings: Settings, db_factory: sessionmaker[Session]
) -> None:
    drop = limited_drop(db_factory, stock=1_000)
    people = buyers(db_factory, settings, BUYERS)
    env = server_env(database_url=pg_url, data_dir=settings.data_dir)
    log = tmp_path / "server.log"
    attempts: list[tuple[int, str]] = []  # (buyer, Idempotency-Key), noted before sending
    cut = threading.Event()

    def shop(buyer: int, base_url: str, headers: Headers) -> str:
        with httpx.Client(base_url=base_url, headers=headers, timeout=30) as http:
            for n in range(PURCHASES_EACH):
                key = f"buyer{buyer}-purchase{n}"
                attempts.append((buyer, key))
                try:
                    _buy(http, key, drop)
                except httpx.TransportError:
                    assert cut.is_set(), "a request failed before the process was killed"
                    return "cut"
        return "finished"

    with server_process(env, log) as server, ThreadPoolExecutor(BUYERS) as pool:
        running = [pool.submit(shop, b, server.base_url, h) for b, h in enumerate(people)]
        deadline = time.monotonic() + 60
        while _paid_orders(db_factory) < KILL_AFTER_PAID and time.monotonic() < deadline:
            time.sleep(0.02)
        cut.set()
        os.kill(server.process.pid, signal.SIGKILL)
        assert server.process.wait(timeout=10) == -signal.SIGKILL
        outcomes = [r.result() for r in running]

    assert outcomes.count("cut") >= BUYERS // 2  # killed in the middle, not after the rush
    with db_factory() as db:
        after_kill = _books(db, drop)
    # Whole orders only (checked order by order above), every unit accounted for, books clean.
    assert after_kill["stock"] + after_kill["units_in_orders"] == drop.stock
    assert after_kill["violations"] == []
    assert after_kill["paid"] >= KILL_AFTER_PAID

    # The buyers' apps retry what they had sent, with the same keys, against a new process.
    with server_process(env, log) as server, ThreadPoolExecutor(BUYERS) as pool:

        def retry(buyer: int) -> list[int]:
            with httpx.Client(base_url=server.base_url, headers=people[buyer], timeout=30) as http:
                return [_buy(http, key, drop) for b, key in attempts if b == buyer]

        order_ids = [o for ids in pool.map(retry, range(BUYERS)) for o in ids]

    with db_factory() as db:
        after_retries = _books(db, drop)
        keys = db.scalar(select(func.count()).select_from(IdempotencyRecord))
    # One order per key, each paid once: nobody charged twice, nothing sold twice.
    assert len(set(order_ids)) == len(order_ids) == len(attempts) == keys
    assert (after_retries["paid"], after_retries["pending"]) == (len(attempts), 0)
    assert after_retries["stock"] == drop.stock - len(attempts)
    assert after_retries["violations"] == []
    print(
        f"\nkilled after {after_kill['paid']} paid orders: {after_kill['pending']} reservations "
        f"not yet paid, {outcomes.count('cut')} of {BUYERS} buyers cut mid-request, "
        f"{len(attempts) - after_kill['paid'] - after_kill['pending']} checkouts never stored; "
        f"after the retries {after_retries['paid']} orders paid for {len(attempts)} keys"
    )
