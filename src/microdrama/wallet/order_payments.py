"""Shop orders' money (USD cents) in the ledger: an order's payment split and its refund."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from microdrama.wallet.ledger import (
    K,
    LedgerError,
    ledger_account,
    post,
    prefetch_accounts,
    reverse,
)
from microdrama.wallet.models import Currency, LedgerAccount, LedgerTransaction


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
) -> LedgerTransaction:
    """A paid shop order: the money leaves payment clearing for the brand's revenue, each
    creator's affiliate commission and the platform's fee (all in one transaction). With no
    brand (an order paid too late to be filled) the money waits in platform cash until the
    provider's refund arrives."""
    if brand_cents + sum(commissions.values()) + platform_fee_cents != amount_cents:
        raise LedgerError(f"order {order_id}: the split does not add up to {amount_cents}")
    usd = Currency.usd
    prefetch_accounts(
        db=db,
        specs=[
            (K.payment_clearing, usd, None),
            (K.platform_revenue, usd, None),
            (K.platform_cash, usd, None) if brand_id is None else (K.brand_revenue, usd, brand_id),
            *[(K.creator_earnings, usd, creator_id) for creator_id in commissions],
        ],
    )
    legs: list[tuple[LedgerAccount, int]] = [
        (ledger_account(db=db, kind=K.payment_clearing, currency=usd), -amount_cents),
        (ledger_account(db=db, kind=K.platform_revenue, currency=usd), platform_fee_cents),
    ]
    if brand_id is None:
        legs.append((ledger_account(db=db, kind=K.platform_cash, currency=usd), brand_cents))
    else:
        brand = ledger_account(db=db, kind=K.brand_revenue, currency=usd, owner_id=brand_id)
        legs.append((brand, brand_cents))
    for creator_id, cents in sorted(commissions.items()):
        creator = ledger_account(db=db, kind=K.creator_earnings, currency=usd, owner_id=creator_id)
        legs.append((creator, cents))
    return post(
        db=db,
        kind="order_payment",
        legs=legs,
        reference=f"order:{order_id}",
        actor_id=buyer_id,
        memo=f"Shop order #{order_id}",
        details={
            "order_id": order_id,
            "amount_cents": amount_cents,
            "brand_cents": brand_cents,
            "commission_cents": sum(commissions.values()),
            "platform_fee_cents": platform_fee_cents,
        },
    )


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
