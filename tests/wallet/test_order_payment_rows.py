"""An order's payment writes exactly the rows `ledger.post` writes for the same split (the
booking is Core statements, docs/performance.md), on an order that creates the accounts on
first use and on one that finds them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from microdrama.accounts.models import Account, Role
from microdrama.wallet import ledger, order_payments
from microdrama.wallet.models import (
    Currency,
    LedgerAccountKind,
    LedgerTransaction,
)
from tests.support.wallet import entries_of

K = LedgerAccountKind
USD = Currency.usd


def _posting(db: Session, order_id: int) -> tuple[Any, ...]:
    """The order's ledger transaction (kind, actor, memo, details) and its entries (account
    kind and owner, amount) in the order they were written."""
    transaction = db.scalar(
        select(LedgerTransaction).where(LedgerTransaction.reference == f"order:{order_id}")
    )
    assert transaction is not None
    entries = entries_of(db, transaction.id)
    details = {k: v for k, v in transaction.details.items() if k != "order_id"}
    return transaction.kind, transaction.actor_id, details, entries


def _post_as_the_ledger_does(
    db: Session, order_id: int, buyer: Account, brand: Account | None, creator: Account
) -> None:
    receiver = (
        ledger.ledger_account(db=db, kind=K.brand_revenue, currency=USD, owner_id=brand.id)
        if brand is not None
        else ledger.ledger_account(db=db, kind=K.platform_cash, currency=USD)
    )
    ledger.post(
        db=db,
        kind="order_payment",
        legs=[
            (ledger.ledger_account(db=db, kind=K.payment_clearing, currency=USD), -1_000),
            (ledger.ledger_account(db=db, kind=K.platform_revenue, currency=USD), 100),
            (receiver, 750),
            (
                ledger.ledger_account(
                    db=db, kind=K.creator_earnings, currency=USD, owner_id=creator.id
                ),
                150,
            ),
        ],
        reference=f"order:{order_id}",
        actor_id=buyer.id,
        memo=f"Shop order #{order_id}",
        details={
            "order_id": order_id,
            "amount_cents": 1_000,
            "brand_cents": 750,
            "commission_cents": 150,
            "platform_fee_cents": 100,
        },
    )


def _book(
    db: Session, order_id: int, buyer: Account, brand: Account | None, creator: Account
) -> None:
    order_payments.book_order_payment(
        db=db,
        order_id=order_id,
        buyer_id=buyer.id,
        amount_cents=1_000,
        brand_id=brand.id if brand is not None else None,
        brand_cents=750,
        commissions={creator.id: 150},
        platform_fee_cents=100,
    )


def test_an_order_payment_writes_the_rows_the_ledger_posting_writes(db: Session) -> None:
    buyer = Account(display_name="buyer")
    brand = Account(display_name="Luma", role=Role.brand)
    creator = Account(display_name="creator", role=Role.creator)
    db.add_all([buyer, brand, creator])
    db.commit()

    _book(db, 1, buyer, brand, creator)  # every account made on first use
    db.commit()
    _post_as_the_ledger_does(db, 2, buyer, brand, creator)
    db.commit()
    _book(db, 3, buyer, brand, creator)  # every account there already
    db.commit()

    first, posted, again = (_posting(db, order_id) for order_id in (1, 2, 3))
    assert first == posted == again
    assert posted[3] == [
        (K.payment_clearing, None, -1_000),
        (K.platform_revenue, None, 100),
        (K.brand_revenue, brand.id, 750),
        (K.creator_earnings, creator.id, 150),
    ]
    earnings = ledger.ledger_account(db=db, kind=K.brand_revenue, currency=USD, owner_id=brand.id)
    db.refresh(earnings)
    assert earnings.balance == 3 * 750
    assert ledger.verify(db=db) == []


def test_an_order_paid_too_late_is_held_in_platform_cash_as_the_ledger_would(
    db: Session,
) -> None:
    buyer = Account(display_name="buyer")
    creator = Account(display_name="creator", role=Role.creator)
    db.add_all([buyer, creator])
    db.commit()

    _book(db, 1, buyer, None, creator)
    db.commit()
    _post_as_the_ledger_does(db, 2, buyer, None, creator)
    db.commit()

    assert _posting(db, 1) == _posting(db, 2)
    assert ledger.verify(db=db) == []
