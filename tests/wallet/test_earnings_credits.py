"""Credits to earnings: a brand or creator who owes the platform after a refund (earnings
already paid out) is still credited for the next sale, and the debt shrinks by it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from microdrama.accounts.models import Account, Role
from microdrama.wallet import ledger, order_payments, payouts
from microdrama.wallet.models import Currency


@dataclass
class _Payout:
    id: int
    account_id: int
    currency: Currency
    amount: int
    amount_cents: int


def test_a_brand_that_owes_after_a_refund_is_credited_its_next_order(db: Session) -> None:
    buyer = Account(display_name="buyer")
    brand = Account(display_name="Luma", role=Role.brand)
    db.add_all([buyer, brand])
    db.flush()

    def pay(order_id: int, cents: int) -> None:
        order_payments.book_order_payment(
            db=db,
            order_id=order_id,
            buyer_id=buyer.id,
            amount_cents=cents,
            brand_id=brand.id,
            brand_cents=cents * 7 // 10,
            commissions={},
            platform_fee_cents=cents - cents * 7 // 10,
        )
        db.commit()

    pay(1, 1_000)
    earnings = payouts.earnings_account(
        db=db, kind=ledger.K.brand_revenue, currency=Currency.usd, owner_id=brand.id
    )
    assert ledger.account_balance(db=db, account=earnings) == 700
    payouts.approve(
        db=db,
        payout=_Payout(1, brand.id, Currency.usd, amount=700, amount_cents=700),
        earnings=earnings,
    )
    db.commit()
    order_payments.refund_order_payment(db=db, order_id=1)  # after the payout: the brand owes
    db.commit()
    assert ledger.account_balance(db=db, account=earnings) == -700

    pay(2, 500)  # refused as "would go negative" before credits were told from debits

    assert ledger.account_balance(db=db, account=earnings) == -350
    assert ledger.verify(db=db) == []
