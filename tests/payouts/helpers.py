"""Builders for statement and payout tests: earnings that come from real ledger postings."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from microdrama.config import Settings
from microdrama.db import session_scope
from microdrama.wallet import service as wallet
from microdrama.wallet.models import Currency, LedgerAccountKind, LedgerTransaction
from tests.wallet.money import top_up


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
            return wallet.spend_for_unlock(
                db=db,
                settings=settings,
                viewer_id=viewer_id,
                creator_id=creator_id,
                price_coins=price,
                reference=f"test-unlock:{uuid.uuid4().hex}",
                memo=f"Unlocked an episode for {price} coins",
            ).id

        ids.append(wallet.run_money_transaction(factory, spend))
    return ids


def refund(factory: sessionmaker[Session], transaction_id: int) -> None:
    """Refund an unlock: the creator's share is taken back."""

    def apply(db: Session) -> None:
        transaction = db.get(LedgerTransaction, transaction_id)
        assert transaction is not None
        wallet.refund_unlock(db=db, transaction=transaction, reason="Refunded by support")

    wallet.run_money_transaction(factory, apply)


def brand_sale(factory: sessionmaker[Session], *, brand_id: int, cents: int) -> None:
    """A paid order whose revenue goes to the brand (as commerce posts it: through clearing)."""

    def apply(db: Session) -> None:
        wallet.post(
            db=db,
            kind="order",
            legs=[
                (
                    wallet.ledger_account(
                        db=db, kind=LedgerAccountKind.payment_clearing, currency=Currency.usd
                    ),
                    -cents,
                ),
                (
                    wallet.ledger_account(
                        db=db,
                        kind=LedgerAccountKind.brand_revenue,
                        currency=Currency.usd,
                        owner_id=brand_id,
                    ),
                    cents,
                ),
            ],
            reference=f"test-order:{uuid.uuid4().hex}",
            actor_id=brand_id,
            memo="Order paid",
        )

    wallet.run_money_transaction(factory, apply)


def backdate(factory: sessionmaker[Session], transaction_id: int, when: datetime) -> None:
    """Move a ledger transaction to another moment (to build earlier months)."""
    with session_scope(factory) as db:
        db.execute(
            update(LedgerTransaction)
            .where(LedgerTransaction.id == transaction_id)
            .values(created_at=when)
        )
