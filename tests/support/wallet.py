"""Builders for money tests: top a wallet up the way a paid purchase does; read a posting's
entries back."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from microdrama.config import Settings
from microdrama.db import run_money_transaction, utcnow
from microdrama.payments.models import Purchase, PurchaseKind, PurchaseStatus
from microdrama.wallet import viewer_coins
from microdrama.wallet.models import LedgerAccount, LedgerEntry


def top_up(
    factory: sessionmaker[Session],
    settings: Settings,
    account_id: int,
    *,
    coins: int,
    bonus_coins: int = 0,
    amount_cents: int | None = None,
) -> int:
    """A paid coin-pack purchase credited through the ledger; returns the purchase id."""

    def credit(db: Session) -> int:
        purchase = Purchase(
            account_id=account_id,
            kind=PurchaseKind.coin_pack,
            amount_cents=amount_cents if amount_cents is not None else coins,
            coins=coins,
            bonus_coins=bonus_coins,
            provider="test",
            status=PurchaseStatus.paid,
            paid_at=utcnow(),
        )
        db.add(purchase)
        db.flush()
        viewer_coins.credit_coin_purchase(db=db, settings=settings, purchase=purchase)
        return purchase.id

    return run_money_transaction(factory, credit)


def entries_of(db: Session, transaction_id: int) -> list[tuple[Any, int | None, int]]:
    """A ledger transaction's entries (account kind, account owner, amount), in the order
    they were written."""
    rows = db.execute(
        select(LedgerAccount.kind, LedgerAccount.owner_id, LedgerEntry.amount)
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.ledger_account_id)
        .where(LedgerEntry.transaction_id == transaction_id)
        .order_by(LedgerEntry.id)
    ).all()
    return [(kind, owner, amount) for kind, owner, amount in rows]
