"""Builders for statement and payout tests: earnings that come from real ledger postings."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from microdrama.config import Settings
from microdrama.db import run_money_transaction, session_scope
from microdrama.wallet import order_payments, unlocks, viewer_coins
from microdrama.wallet.models import LedgerTransaction
from tests.support.wallet import top_up

_orders = itertools.count(900_001)  # order numbers only in ledger references here


def earn_from_unlocks(
    factory: sessionmaker[Session],
    settings: Settings,
    *,
    creator_id: int,
    viewer_id: int,
    prices: list[int],
) -> list[int]:
    """The viewer buys the coins and spends them on unlocks of the creator's episodes; returns
    the unlock transactions' ids (the creator earns their share of each)."""
    top_up(factory, settings, viewer_id, coins=sum(prices))
    ids = []
    for price in prices:

        def spend(db: Session, price: int = price) -> int:
            return unlocks.spend_for_unlock(
                db=db,
                settings=settings,
                viewer_id=viewer_id,
                charge=unlocks.UnlockCharge(
                    creator_id=creator_id,
                    price_coins=price,
                    reference=f"test-unlock:{uuid.uuid4().hex}",
                    memo=f"Unlocked an episode for {price} coins",
                ),
            ).transaction_id

        ids.append(run_money_transaction(factory, spend))
    return ids


def refund(factory: sessionmaker[Session], transaction_id: int) -> None:
    """Refund an unlock: the creator's share is taken back."""

    def apply(db: Session) -> None:
        transaction = db.get(LedgerTransaction, transaction_id)
        assert transaction is not None
        viewer_coins.refund_unlock(db=db, transaction=transaction, reason="Refunded by support")

    run_money_transaction(factory, apply)


def brand_sale(
    factory: sessionmaker[Session],
    *,
    brand_id: int,
    cents: int,
    creator_id: int | None = None,
    commission_cents: int = 0,
    fee_cents: int = 0,
) -> int:
    """A paid shop order booked as the shop books it: the brand's revenue, the creator's
    commission and the platform's fee out of payment clearing; returns the order number."""
    order_id = next(_orders)

    def apply(db: Session) -> None:
        order_payments.book_order_payment(
            db=db,
            order_id=order_id,
            buyer_id=brand_id,
            amount_cents=cents + commission_cents + fee_cents,
            brand_id=brand_id,
            brand_cents=cents,
            commissions={creator_id: commission_cents} if creator_id else {},
            platform_fee_cents=fee_cents,
        )

    run_money_transaction(factory, apply)
    return order_id


def refund_order(factory: sessionmaker[Session], order_id: int) -> None:
    """The shop refunds an order: every share of it is taken back."""
    run_money_transaction(
        factory, lambda db: order_payments.refund_order_payment(db=db, order_id=order_id)
    )


def backdate(factory: sessionmaker[Session], transaction_id: int, when: datetime) -> None:
    """Move a ledger transaction to another moment (to build earlier months)."""
    with session_scope(factory) as db:
        db.execute(
            update(LedgerTransaction)
            .where(LedgerTransaction.id == transaction_id)
            .values(created_at=when)
        )
