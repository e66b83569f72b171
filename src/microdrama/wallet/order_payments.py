"""Shop orders' money (USD cents) in the ledger: an order's payment split and its refund."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, and_, bindparam, insert, or_, select
from sqlalchemy.orm import Session

from microdrama.db import utcnow
from microdrama.wallet.commit_hooks import credit_at_commit
from microdrama.wallet.ledger import (
    EARNINGS_KINDS,
    AccountSpec,
    K,
    LedgerError,
    ledger_account,
    reverse,
)
from microdrama.wallet.models import Currency, LedgerAccount, LedgerEntry, LedgerTransaction

_accounts = cast(Table, LedgerAccount.__table__)
_transactions = cast(Table, LedgerTransaction.__table__)
_entries = cast(Table, LedgerEntry.__table__)

# Every account an order's payment may touch, in one read (built once).
_ORDER_ACCOUNTS = select(_accounts.c.id, _accounts.c.kind, _accounts.c.owner_id).where(
    _accounts.c.currency == Currency.usd,
    or_(
        and_(
            _accounts.c.owner_id.is_(None),
            _accounts.c.kind.in_([K.payment_clearing, K.platform_revenue, K.platform_cash]),
        ),
        and_(_accounts.c.kind == K.brand_revenue, _accounts.c.owner_id == bindparam("brand_id")),
        and_(
            _accounts.c.kind == K.creator_earnings,
            _accounts.c.owner_id.in_(bindparam("creator_ids", expanding=True)),
        ),
    ),
)
_INSERT_TRANSACTION = insert(_transactions).returning(_transactions.c.id)
_INSERT_ENTRIES = insert(_entries)


def _account_ids(db: Session, wanted: list[AccountSpec]) -> dict[AccountSpec, int]:
    """The ids of the wanted USD accounts: one read, and each missing one created on first use
    (the platform's first sale, a brand's or a creator's first order)."""
    brand_ids = [owner for kind, _c, owner in wanted if kind == K.brand_revenue]
    creator_ids = [owner for kind, _c, owner in wanted if kind == K.creator_earnings]
    rows = db.connection().execute(
        _ORDER_ACCOUNTS,
        {"brand_id": brand_ids[0] if brand_ids else None, "creator_ids": creator_ids},
    )
    found = {(kind, Currency.usd, owner): account_id for account_id, kind, owner in rows}
    for spec in wanted:
        if spec not in found:
            kind, currency, owner = spec
            found[spec] = ledger_account(db=db, kind=kind, currency=currency, owner_id=owner).id
    return found


def book_order_payment(
    *,
    db: Session,
    order_id: int,
    buyer_id: int,
    amount_cents: int,
    brand_id: int | None,
    brand_cents: int,
    commissions: dict[int, int],
    platform_fee_cents: int,
) -> int:
    """A paid shop order: the money leaves payment clearing for the brand's revenue, each
    creator's affiliate commission and the platform's fee (all in one transaction). With no
    brand (an order paid too late to be filled) the money waits in platform cash until the
    provider's refund arrives. Returns the ledger transaction's id.

    The rows are `ledger.post`'s, written with Core statements (a posting's ORM objects cost
    more than the statements, docs/performance.md): nothing here is locked nor checked by
    `post` either, since the only debit is payment clearing (a platform account) and the
    credits go to the platform's accounts (their balance is the sum of their entries) or to
    earnings (their stored balance moves at commit, `credit_at_commit`)."""
    if brand_cents + sum(commissions.values()) + platform_fee_cents != amount_cents:
        raise LedgerError(f"order {order_id}: the split does not add up to {amount_cents}")
    usd = Currency.usd
    receiver: AccountSpec = (
        (K.platform_cash, usd, None) if brand_id is None else (K.brand_revenue, usd, brand_id)
    )
    planned: list[tuple[AccountSpec, int]] = [
        ((K.payment_clearing, usd, None), -amount_cents),
        ((K.platform_revenue, usd, None), platform_fee_cents),
        (receiver, brand_cents),
        *(
            ((K.creator_earnings, usd, creator_id), cents)
            for creator_id, cents in sorted(commissions.items())
        ),
    ]
    legs = [(spec, amount) for spec, amount in planned if amount != 0]
    if not legs:
        raise LedgerError("a transaction needs at least one non-zero entry")
    ids = _account_ids(db, [spec for spec, _amount in legs])
    conn = db.connection()
    transaction_id: int = conn.execute(
        _INSERT_TRANSACTION,
        {
            "kind": "order_payment",
            "reference": f"order:{order_id}",
            "actor_id": buyer_id,
            "memo": f"Shop order #{order_id}",
            "details": {
                "order_id": order_id,
                "amount_cents": amount_cents,
                "brand_cents": brand_cents,
                "commission_cents": sum(commissions.values()),
                "platform_fee_cents": platform_fee_cents,
            },
            "created_at": utcnow(),
        },
    ).scalar_one()
    conn.execute(
        _INSERT_ENTRIES,
        [
            {"transaction_id": transaction_id, "ledger_account_id": ids[spec], "amount": amount}
            for spec, amount in legs
        ],
    )
    for spec, amount in legs:
        if amount > 0 and spec[0] in EARNINGS_KINDS:
            credit_at_commit(db, ids[spec], amount)
    return transaction_id


def refund_order_payment(*, db: Session, order_id: int) -> LedgerTransaction:
    """Reverse every leg of an order's payment (brand, creators, platform) back to clearing."""
    payment = db.scalar(
        select(LedgerTransaction).where(
            LedgerTransaction.kind == "order_payment",
            LedgerTransaction.reference == f"order:{order_id}",
        )
    )
    if payment is None:
        raise LedgerError(f"order {order_id} has no payment to refund")
    return reverse(
        db=db,
        transaction=payment,
        kind="order_refund",
        memo=f"Refund of shop order #{order_id}",
        details={"order_id": order_id, "amount_cents": -int(payment.details["amount_cents"])},
    )
