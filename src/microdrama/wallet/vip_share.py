"""VIP share in the ledger: a period's net VIP income, and the postings that give each series'
creator their part of the monthly VIP pool (the rule itself is `payouts.vip_share`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, select
from sqlalchemy.orm import Session, aliased

from microdrama.wallet.ledger import K, ledger_account, post, prefetch_accounts
from microdrama.wallet.models import Currency, LedgerAccount, LedgerEntry, LedgerTransaction

KIND = "vip_share"


def share_reference(*, month: str, series_id: int) -> str:
    """The unique reference of a series' share of a month (YYYY-MM): posting it twice fails."""
    return f"{KIND}:{month}:series:{series_id}"


def net_vip_income_cents(*, db: Session, since: datetime, until: datetime) -> int:
    """VIP payments minus VIP refunds posted in [since, until), in USD cents.

    Read from the ledger: `credit_vip_payment` (kind `vip`) moves the price from payment
    clearing into platform cash, and the refund of a VIP purchase (`refund_purchase`, kind
    `refund`, reference `refund:` + the payment's `purchase:<id>`) moves it back; the sum of
    those transactions' platform cash entries is what the platform kept. Only the ledger is
    read: a refund is a VIP refund when the payment it reverses was posted as `vip`."""
    vip_payment = aliased(LedgerTransaction)
    is_vip_refund = exists().where(
        vip_payment.kind == "vip",
        # The reference after "refund:", so the lookup uses the unique index on reference.
        vip_payment.reference == func.substr(LedgerTransaction.reference, len("refund:") + 1),
    )
    total = db.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount), 0))
        .select_from(LedgerEntry)
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.ledger_account_id)
        .where(
            LedgerAccount.kind == K.platform_cash,
            LedgerAccount.currency == Currency.usd,
            LedgerTransaction.created_at >= since,
            LedgerTransaction.created_at < until,
            (LedgerTransaction.kind == "vip")
            | and_(LedgerTransaction.kind == "refund", is_vip_refund),
        )
    )
    return int(total or 0)


def month_shares(*, db: Session, month: str) -> list[LedgerTransaction]:
    """The share postings of a month (YYYY-MM) already in the ledger, by series id."""
    found = db.scalars(
        select(LedgerTransaction).where(
            LedgerTransaction.kind == KIND,
            LedgerTransaction.reference.startswith(f"{KIND}:{month}:", autoescape=True),
        )
    ).all()
    return sorted(found, key=lambda t: int(t.details.get("series_id", 0)))


def is_series_share(series_id: int) -> ColumnElement[bool]:
    """The SQL condition "this ledger transaction is a VIP share of that series" (any month)."""
    return and_(
        LedgerTransaction.kind == KIND,
        LedgerTransaction.reference.endswith(f":series:{series_id}", autoescape=True),
    )


def credit_vip_share(
    *,
    db: Session,
    month: str,
    series_id: int,
    creator_id: int,
    amount_cents: int,
    memo: str,
    details: dict[str, Any],
) -> LedgerTransaction:
    """Move a series' share of the month's VIP pool from platform cash (where VIP payments
    land) to its creator's USD earnings (the account commerce commission goes to, paid out
    the same way)."""
    usd = Currency.usd
    prefetch_accounts(
        db=db, specs=[(K.platform_cash, usd, None), (K.creator_earnings, usd, creator_id)]
    )
    return post(
        db=db,
        kind=KIND,
        legs=[
            (ledger_account(db=db, kind=K.platform_cash, currency=usd), -amount_cents),
            (
                ledger_account(db=db, kind=K.creator_earnings, currency=usd, owner_id=creator_id),
                amount_cents,
            ),
        ],
        reference=share_reference(month=month, series_id=series_id),
        actor_id=creator_id,
        memo=memo[:300],
        details={"month": month, "series_id": series_id, **details},
    )
