"""Builders for money tests: top a wallet up the way a paid purchase does."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from microdrama.config import Settings
from microdrama.db import run_money_transaction, utcnow
from microdrama.payments.models import Purchase, PurchaseKind, PurchaseStatus
from microdrama.wallet import viewer_coins


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
